// The /metrics exposition as a dashboard reads it: names, types and labels that ingress-nginx's dashboards and alerts
// select on, HAProxy's sections and servers relabelled to Services and endpoints, counters that never go backwards,
// and the number of series at 10,000 Ingresses.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { X509Certificate } from 'node:crypto';
import { Metrics } from '../../src/admin/metrics.js';
import { BackendMetrics } from '../../src/admin/backend-metrics.js';
import { CertificateMetrics } from '../../src/admin/certificate-metrics.js';
import { COUNTERS, parseShowStat, parseShowStatYielding } from '../../src/admin/haproxy-stats.js';
import { SectionNames } from '../../src/admin/section-names.js';
import { countByKind, RELOAD_REASONS, reloadReasonClass } from '../../src/admin/reasons.js';
import type { Backend, RoutingModel } from '../../src/model/types.js';
import { FlagError, parseFlags } from '../../src/cli/flags.js';
import type { RuntimeState } from '../../src/haproxy/runtime/plan.js';
import { DIR, DEFAULT_PEM, model, ops, reloadedWith, svc } from './plan-fixtures.js';

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition, parsed: every sample with its labels, and every family's type. */
function parseExposition(text: string): { types: Map<string, string>; series: Series[] } {
  const types = new Map<string, string>();
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1]!, t[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `exposition line ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = JSON.parse(`"${l[2]!}"`) as string;
    series.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, series };
}

/** An instant-vector selector as PromQL has it (`name{a="x",b=~"re",c!="y"}`), evaluated against an exposition. */
function select(text: string, selector: string): Series[] {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}$/.exec(selector);
  assert.ok(m, selector);
  const matchers = [...m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map((x) => ({ label: x[1]!, op: x[2]!, value: JSON.parse(`"${x[3]!}"`) as string }));
  return parseExposition(text).series.filter(
    (s) =>
      s.name === m[1] &&
      matchers.every(({ label, op, value }) => {
        const v = s.labels[label] ?? '';
        const re = new RegExp(`^(?:${value})$`);
        return op === '=' ? v === value : op === '!=' ? v !== value : op === '=~' ? re.test(v) : !re.test(v);
      }),
  );
}

const IDENTITY = { namespace: 'ingress', controllerClass: 'portico.dev/ingress-controller', pod: 'portico-7d9f-abcde' };

const STAT_COLUMNS = ['pxname', 'svname', 'qcur', 'scur', 'status', ...COUNTERS];

/** `show stat` text as HAProxy prints it: a `# ` header naming the columns, then one line per row. */
function showStat(rows: { section: string; server: string; status?: string; scur?: number; qcur?: number; counts?: Partial<Record<(typeof COUNTERS)[number], number>> }[]): string {
  const lines = rows.map((r) => STAT_COLUMNS.map((c) => (c === 'pxname' ? r.section : c === 'svname' ? r.server : c === 'status' ? (r.status ?? (r.server === 'BACKEND' ? 'UP' : 'no check')) : c === 'scur' ? (r.scur ?? 0) : c === 'qcur' ? (r.qcur ?? 0) : (r.counts?.[c as (typeof COUNTERS)[number]] ?? 0))).join(','));
  return `# ${STAT_COLUMNS.join(',')}\n${lines.join('\n')}\n\n`;
}

async function exposition(m: Metrics): Promise<string> {
  return m.exposition();
}

describe('ingress-nginx controller series', () => {
  test('the selectors of ingress-nginx dashboards and alerts find the reload series, with the constant labels', async () => {
    const m = new Metrics({ identity: IDENTITY, version: '1.2.3' });
    m.reloaded('start', 123456789, 0.05, true);
    m.reloaded('new-feature', 987654321, 0.07, false);
    let text = await exposition(m);
    const { types } = parseExposition(text);
    // From ingress-nginx's Grafana dashboard (deploy/grafana/dashboards/nginx.json) and its PrometheusRule examples.
    const ok = select(text, 'nginx_ingress_controller_config_last_reload_successful{controller_pod=~"portico-.*",controller_class=~"portico.dev/ingress-controller",controller_namespace=~"ingress"}');
    assert.deepEqual(ok.map((s) => s.value), [1]);
    assert.equal(types.get('nginx_ingress_controller_config_last_reload_successful'), 'gauge');
    const success = select(text, 'nginx_ingress_controller_success{controller_pod=~".*",controller_class=~".*",controller_namespace=~"ingress"}');
    assert.deepEqual(success.map((s) => s.value), [2], 'the first configuration counts as a reload, as nginx is reloaded with it');
    assert.equal(types.get('nginx_ingress_controller_success'), 'counter');
    const at = select(text, 'nginx_ingress_controller_config_last_reload_successful_timestamp_seconds{controller_namespace="ingress"}');
    assert.ok(Math.abs(at[0]!.value - Date.now() / 1000) < 5, 'a Unix timestamp in seconds');
    assert.deepEqual(select(text, 'nginx_ingress_controller_config_hash{controller_class="portico.dev/ingress-controller"}').map((s) => s.value), [987654321]);
    assert.deepEqual(select(text, 'portico_haproxy_reloads_total{}').map((s) => s.value), [1], 'a start is not a reload');
    assert.deepEqual(select(text, 'portico_haproxy_reload_reasons_total{reason=~"start|new-feature"}').map((s) => s.value), [1, 1]);
    assert.deepEqual(select(text, 'nginx_ingress_controller_build_info{controller_pod="portico-7d9f-abcde",release="1.2.3"}').map((s) => s.value), [1]);

    m.reloadFailed();
    text = await exposition(m);
    // The alert ingress-nginx documents: `nginx_ingress_controller_config_last_reload_successful == 0`.
    assert.deepEqual(select(text, 'nginx_ingress_controller_config_last_reload_successful{controller_namespace="ingress"}').map((s) => s.value), [0]);
    assert.deepEqual(select(text, 'nginx_ingress_controller_errors{controller_namespace="ingress"}').map((s) => s.value), [1]);
    assert.deepEqual(select(text, 'nginx_ingress_controller_config_hash{}').map((s) => s.value), [0], 'as ingress-nginx: no hash runs after a failure');
  });

  test('leader election status carries the lease name', async () => {
    const m = new Metrics({ identity: IDENTITY });
    m.leading('portico-leader', true);
    let text = await exposition(m);
    assert.deepEqual(select(text, 'nginx_ingress_controller_leader_election_status{name="portico-leader",controller_pod="portico-7d9f-abcde"}').map((s) => s.value), [1]);
    m.leading('portico-leader', false);
    text = await exposition(m);
    assert.deepEqual(select(text, 'portico_leader{}').map((s) => s.value), [0]);
  });

  test('certificate expiry: one series per host, equal to notAfter, with ingress-nginx identifier (issuer serial - serial)', async () => {
    const leaf = readFileSync(fileURLToPath(new URL('../../../test/unit/fixtures/tls/leaf.crt.pem', import.meta.url)), 'utf8');
    const key = readFileSync(fileURLToPath(new URL('../../../test/unit/fixtures/tls/leaf.key.pem', import.meta.url)), 'utf8');
    const x = new X509Certificate(leaf);
    const m = new Metrics({ identity: IDENTITY });
    const notAfter = new Date(x.validTo);
    const cert = { id: 'shop_tls', secret: 'shop/tls', pem: `${leaf}${key}`, dnsNames: ['a.example', 'b.example'], notBefore: new Date(x.validFrom).toISOString(), notAfter: notAfter.toISOString(), sha256: 'x' };
    const base = model('');
    const certs = new CertificateMetrics(m);
    certs.update({ ...base, certificates: [cert], sni: [{ host: 'a.example', certificate: 'shop_tls' }, { host: 'b.example', certificate: 'shop_tls' }] });
    const text = await exposition(m);
    const expected = Math.floor(notAfter.getTime() / 1000);
    // The alert of ingress-nginx's help text: `nginx_ingress_controller_ssl_expire_time_seconds < (time() + (10 * 24 * 3600))`.
    const nginx = select(text, 'nginx_ingress_controller_ssl_expire_time_seconds{namespace="shop",secret_name="tls",host=~"a.example|b.example",class="portico.dev/ingress-controller"}');
    assert.deepEqual(nginx.map((s) => s.value), [expected, expected]);
    assert.equal(x.serialNumber, '02');
    assert.deepEqual(nginx.map((s) => s.labels.identifier), ['-2', '-2'], 'no issuer serialNumber attribute, then the serial in decimal');
    assert.deepEqual(select(text, 'portico_ssl_certificate_expiry_timestamp_seconds{namespace="shop",secret="tls",host="a.example"}').map((s) => s.value), [expected]);
    // Gone from the model, gone from the series.
    certs.update(base);
    assert.deepEqual(select(await exposition(m), 'portico_ssl_certificate_expiry_timestamp_seconds{}'), []);
  });

  test('diagnostics are counted by level and rule; a rule id that is not a code constant is counted as other', async () => {
    const m = new Metrics();
    m.setDiagnostics([
      { level: 'error', object: 'Ingress a/b', field: 'spec', rule: 'V6', message: '' },
      { level: 'error', object: 'Ingress a/c', field: 'spec', rule: 'V6', message: '' },
      { level: 'warning', object: 'Ingress a/c', field: 'spec', rule: 'A1', message: '' },
      { level: 'warning', object: 'Ingress a/c', field: 'spec', rule: 'x"\n{evil}', message: '' },
    ]);
    const text = await exposition(m);
    assert.deepEqual(select(text, 'portico_diagnostics{level="error",rule="V6"}').map((s) => s.value), [2]);
    assert.deepEqual(select(text, 'portico_diagnostics{level="warning",rule=~"A1|other"}').map((s) => s.value), [1, 1]);
    m.setDiagnostics([]);
    assert.deepEqual(select(await exposition(m), 'portico_diagnostics{}'), [], 'a rule with no diagnostic left has no series');
  });
});

describe('reload reasons and runtime operations', () => {
  test("every reason plan.ts and apply.ts give for a reload has a class of its own (none falls to 'other')", () => {
    const root = fileURLToPath(new URL('../../../src/haproxy/', import.meta.url));
    const reasons: string[] = ['start', 'runtime API failed earlier: HAProxy closed the runtime API connection'];
    for (const line of readFileSync(`${root}runtime/plan.ts`, 'utf8').split('\n')) {
      const m = /return \{ reload: (['`])(.*)\1 \};/.exec(line);
      if (!m) continue;
      let text = m[2]!;
      while (text.includes('${')) text = text.replace(/\$\{[^{}]*\}/g, 'x');
      reasons.push(text);
    }
    assert.ok(reasons.length >= 10, `found the reasons in plan.ts: ${reasons.length}`);
    for (const r of reasons) assert.notEqual(reloadReasonClass(r), 'other', r);
    assert.equal(new Set(reasons.map(reloadReasonClass)).size, RELOAD_REASONS.length - 1, 'every class but other is reachable');
  });

  test('runtime operations are counted by kind', () => {
    const start = reloadedWith(model(WEB(['10.0.0.1', '10.0.0.2'])));
    const p = ops(start, model(WEB(['10.0.0.1', '10.0.0.2', '10.0.0.3'])));
    assert.deepEqual([...countByKind(p.ops)], [['server', 1]]);
    const q = ops(start, model(WEB(['10.0.0.1', '10.0.0.2']) + API(['10.0.0.9'])));
    assert.deepEqual(Object.fromEntries(countByKind(q.ops)), { server: 2, map: 2 }, 'the twin, the host and the path');
  });
});

/** A Service `name` on `ips` and an Ingress routing `name.test` to it. */
const site =
  (name: string) =>
  (ips: string[]): string => `${svc(name, ips)}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}}
spec:
  rules: [{host: ${name}.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: ${name}, port: {number: 80}}}}]}}]
---`;
const WEB = site('web');
const API = site('api');

function backendMetrics(state: () => RuntimeState, stat: () => string): { m: Metrics; b: BackendMetrics } {
  const m = new Metrics();
  const b = new BackendMetrics({ live: state, read: () => Promise.resolve(parseShowStat(stat())) }, 0);
  m.addText(() => b.exposition());
  return { m, b };
}

describe('Services and endpoints from show stat', () => {
  test('a spare section bound at runtime reports its Service, never spare_N; a lone endpoint and its twin are one endpoint', async () => {
    const live = reloadedWith(model(WEB(['10.0.0.1'])));
    const withApi = ops(live, model(WEB(['10.0.0.1']) + API(['10.0.0.9']))).next;
    assert.equal(withApi.bound.get('be_default_api_80'), 'spare_0', 'the api Service went to a spare section');
    const stat = showStat([
      { section: 'be_default_web_80', server: 'ep_10_0_0_1_3000', scur: 1, counts: { hrsp_2xx: 3 } },
      { section: 'be_default_web_80', server: 'ep_10_0_0_1_3000_twin', scur: 1, counts: { hrsp_2xx: 2 } },
      { section: 'be_default_web_80', server: 'BACKEND', scur: 2, counts: { hrsp_2xx: 5, hrsp_5xx: 1 } },
      { section: 'spare_0', server: 'ep_10_0_0_9_3000', counts: { econ: 4 } },
      { section: 'spare_0', server: 'ep_10_0_0_9_3000_twin', status: 'MAINT' },
      { section: 'spare_0', server: 'BACKEND', qcur: 3, counts: { hrsp_5xx: 1, econ: 4, wretr: 6 } },
      { section: 'spare_1', server: 'BACKEND' },
      { section: 'portico_gate', server: 'BACKEND' },
    ]);
    const { m } = backendMetrics(() => withApi, () => stat);
    const text = await exposition(m);
    assert.doesNotMatch(text, /spare_|portico_gate|ep_10_/, 'no HAProxy section or server name reaches a label');
    for (const s of parseExposition(text).series.filter((x) => /^portico_(service|endpoint)_/.test(x.name))) {
      const expected = [...(s.name.startsWith('portico_endpoint_') ? ['endpoint'] : []), 'namespace', 'port', 'service', ...(s.name === 'portico_service_endpoints' ? ['state'] : s.name === 'portico_service_responses_total' ? ['code_class'] : [])];
      assert.deepEqual(Object.keys(s.labels).sort(), expected.sort(), `${s.name}${JSON.stringify(s.labels)}`);
    }
    assert.equal(select(text, 'portico_service_endpoints{state="up"}').length, 2, 'one series per Service port');
    assert.deepEqual(select(text, 'portico_service_responses_total{namespace="default",service="web",port="80",code_class=~"2xx|5xx"}').map((s) => s.value), [5, 1]);
    assert.deepEqual(select(text, 'portico_service_endpoints{service="api",state="up"}').map((s) => s.value), [1], 'up while either entry of the twin is');
    assert.deepEqual(select(text, 'portico_service_queued_requests{service="api"}').map((s) => s.value), [3]);
    assert.deepEqual(select(text, 'portico_service_retries_total{service="api"}').map((s) => s.value), [6]);
    assert.deepEqual(select(text, 'portico_endpoint_failed_attempts_total{service="api",endpoint="10.0.0.9:3000"}').map((s) => s.value), [4]);
    assert.deepEqual(select(text, 'portico_endpoint_active_connections{service="web",endpoint="10.0.0.1:3000"}').map((s) => s.value), [2]);
    assert.equal(parseExposition(text).types.get('portico_service_responses_total'), 'counter');
  });

  test("counters never go backwards: a reload restarts HAProxy's at 0, a spare bound again keeps the old Service's counts", async () => {
    let state = ops(reloadedWith(model(WEB(['10.0.0.1'])), 1), model(WEB(['10.0.0.1']) + API(['10.0.0.9']))).next;
    let spare = 10;
    let named = 7;
    const stat = (): string =>
      showStat([
        { section: 'be_default_web_80', server: 'BACKEND', counts: { hrsp_2xx: named } },
        { section: 'be_default_web_80', server: 'ep_10_0_0_1_3000' },
        { section: 'spare_0', server: 'BACKEND', counts: { hrsp_2xx: spare } },
        { section: 'spare_0', server: 'ep_10_0_0_9_3000' },
        { section: 'spare_0', server: 'ep_10_0_0_9_3000_twin' },
      ]);
    const { m } = backendMetrics(() => state, stat);
    const value = async (service: string): Promise<number | undefined> => select(await exposition(m), `portico_service_responses_total{service="${service}",code_class="2xx"}`)[0]?.value;
    assert.equal(await value('api'), 10);
    spare = 15;
    assert.equal(await value('api'), 15);
    // A reload: a new worker and a new generation directory; HAProxy's counters start again.
    state = { ...state, layout: { ...state.layout, filesDir: '/state/gen/2' } };
    named = 2;
    assert.equal(await value('web'), 9, '7 before the reload, 2 since');
    // The api Service leaves, another takes its spare section: the section's counters still hold api's 15.
    const other = `${svc('other', ['10.0.0.9'])}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: other}
spec:
  rules: [{host: other.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: other, port: {number: 80}}}}]}}]
---`;
    const withoutApi = ops(state, model(WEB(['10.0.0.1']))).next;
    state = ops(withoutApi, model(WEB(['10.0.0.1']) + other)).next;
    assert.equal(state.bound.get('be_default_other_80'), 'spare_0');
    spare = 16;
    assert.equal(await value('other'), 1, 'only what grew since the section changed hands');
    assert.equal(await value('api'), undefined, 'a Service gone has no series');
  });

  test('an endpoint removed from the EndpointSlice leaves the series; one HAProxy holds in maintenance is down', async () => {
    let state = reloadedWith(model(WEB(['10.0.0.1', '10.0.0.2'])));
    const { m } = backendMetrics(
      () => state,
      () =>
        showStat([
          { section: 'be_default_web_80', server: 'BACKEND' },
          { section: 'be_default_web_80', server: 'ep_10_0_0_1_3000' },
          { section: 'be_default_web_80', server: 'ep_10_0_0_2_3000', status: 'MAINT' },
        ]),
    );
    let text = await exposition(m);
    assert.deepEqual(select(text, 'portico_endpoint_up{service="web"}').map((s) => [s.labels.endpoint, s.value]), [['10.0.0.1:3000', 1], ['10.0.0.2:3000', 0]]);
    assert.deepEqual(select(text, 'portico_service_endpoints{service="web"}').map((s) => [s.labels.state, s.value]), [['up', 1], ['down', 1]]);
    state = ops(state, model(WEB(['10.0.0.1']))).next;
    text = await exposition(m);
    assert.deepEqual(select(text, 'portico_endpoint_up{service="web"}').map((s) => s.labels.endpoint), ['10.0.0.1:3000'], 'the deleted server, waiting in maintenance, is not an endpoint any more');
  });

  test('a failed read counts an error and keeps the last values; scrapes within the cache time share one read', async () => {
    const state = reloadedWith(model(WEB(['10.0.0.1'])));
    let reads = 0;
    let fail = false;
    const m = new Metrics();
    let now = 0;
    const b = new BackendMetrics(
      {
        live: () => state,
        read: () => {
          reads++;
          return fail ? Promise.reject(new Error('no socket')) : Promise.resolve(parseShowStat(showStat([{ section: 'be_default_web_80', server: 'BACKEND', counts: { hrsp_2xx: 1 } }])));
        },
      },
      1000,
      () => now,
    );
    m.addText(() => b.exposition());
    await Promise.all([exposition(m), exposition(m)]);
    assert.equal(reads, 1);
    now = 500;
    await exposition(m);
    assert.equal(reads, 1, 'within the cache time');
    now = 1500;
    fail = true;
    const text = await exposition(m);
    assert.equal(reads, 2);
    assert.deepEqual(select(text, 'portico_haproxy_stats_errors_total{}').map((s) => s.value), [1]);
    assert.deepEqual(select(text, 'portico_service_responses_total{code_class="2xx"}').map((s) => s.value), [1]);
  });

  test('the show stat header of HAProxy 2.6 is read by column name', () => {
    const header =
      '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail';
    const row = 'b,ep_127_0_0_1_1,0,0,0,1,,4,82,217,,0,,1,0,3,0,no check,1,1,0,,,3,,,1,3,1,,1,,2,1,,1,,,,0,7,0,0,2,0,';
    const [r] = parseShowStat(`${header}\n${row}\n\n`);
    const c = (name: (typeof COUNTERS)[number]): number => r!.counters[COUNTERS.indexOf(name)]!;
    assert.deepEqual({ section: r!.section, server: r!.server, status: r!.status, econ: c('econ'), wretr: c('wretr'), ok: c('hrsp_2xx'), err: c('hrsp_5xx') }, { section: 'b', server: 'ep_127_0_0_1_1', status: 'no check', econ: 1, wretr: 3, ok: 7, err: 2 });
    assert.throws(() => parseShowStat('Unknown command\n'), /no header/);
  });
});

describe('cardinality', () => {
  test('10,000 Ingresses with a Service of 3 endpoints each: the series count, and the time to scrape them', async () => {
    const n = 10_000;
    const backends: Backend[] = [];
    const rows: string[] = [];
    for (let i = 0; i < n; i++) {
      const name = `be_ns${i % 100}_app${i}_80`;
      const servers = [1, 2, 3].map((k) => ({ name: `ep_10_${i >> 8}_${i & 255}_${k}_8080`, address: `10.${i >> 8}.${i & 255}.${k}`, port: 8080, ready: true }));
      backends.push({ name, ref: { namespace: `ns${i % 100}`, service: `app${i}`, port: 80 }, servers });
      rows.push({ section: name, server: 'BACKEND' } as never, ...servers.map((s) => ({ section: name, server: s.name }) as never));
    }
    backends.sort((a, b) => (a.name < b.name ? -1 : 1));
    const m0: RoutingModel = { hostGroups: [], backends, certificates: [], sni: [], ingresses: [] };
    const state: RuntimeState = { layout: { filesDir: DIR, named: new Map(backends.map((b) => [b.name, ''])), features: new Set() }, model: m0, bound: new Map(), free: [], defaultCertPem: DEFAULT_PEM };
    const stat = showStat(rows as never);
    const metrics = new Metrics();
    const b = new BackendMetrics({ live: () => state, read: () => parseShowStatYielding(stat) }, 0);
    metrics.addText(() => b.exposition());
    // The longest the event loop waited for a turn during the scrape: what a sync or a probe behind it waits.
    let last = performance.now();
    let longestTurn = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestTurn = Math.max(longestTurn, now - last);
      last = now;
    }, 1);
    const began = performance.now();
    const text = await exposition(metrics);
    const ms = performance.now() - began;
    clearInterval(ticker);
    const series = parseExposition(text).series;
    const perService = series.filter((s) => s.name.startsWith('portico_service_')).length;
    const perEndpoint = series.filter((s) => s.name.startsWith('portico_endpoint_')).length;
    assert.equal(perService, n * 14, '14 series per Service port: 2 endpoint states, 2 gauges, 6 status classes, 4 error counters');
    assert.equal(perEndpoint, n * 3 * 3, '3 series per endpoint: up, active connections, failed attempts');
    const others = series.length - perService - perEndpoint;
    assert.ok(others < 400, `the controller's own series do not grow with Ingresses: ${others}`);
    process.stdout.write(`# cardinality at ${n} Ingresses x 3 endpoints: ${series.length} series (${perService} per-Service, ${perEndpoint} per-endpoint, ${others} other); ${(text.length / 1e6).toFixed(1)} MB; scrape ${Math.round(ms)} ms, the event loop's longest wait ${Math.round(longestTurn)} ms; show stat ${(stat.length / 1e6).toFixed(1)} MB\n`);
  });
});

test('SectionNames resolves what an access-log line names (%b, %s) to Kubernetes names', () => {
  const live = reloadedWith(model(WEB(['10.0.0.1'])));
  const state = ops(live, model(WEB(['10.0.0.1']) + API(['10.0.0.9', '10.0.0.8']))).next;
  const names = SectionNames.of(state);
  assert.deepEqual(names.service('spare_0'), { namespace: 'default', service: 'api', port: '80' });
  assert.deepEqual(names.endpoint('spare_0', 'ep_10_0_0_8_3000'), { namespace: 'default', service: 'api', port: '80', endpoint: '10.0.0.8:3000' });
  assert.deepEqual(names.endpoint('be_default_web_80', 'ep_10_0_0_1_3000_twin'), { namespace: 'default', service: 'web', port: '80', endpoint: '10.0.0.1:3000' });
  assert.equal(names.service('spare_1'), undefined);
  assert.equal(names.endpoint('spare_0', 'ep_10_0_0_1_3000'), undefined);
});

test('--metrics-per-host: true by default and given bare, as ingress-nginx; false turns it off; anything else is refused', () => {
  const serve = (...args: string[]): boolean => parseFlags('serve', ['--manifests', 'm', ...args]).metricsPerHost;
  assert.equal(serve(), true);
  assert.equal(serve('--metrics-per-host'), true);
  assert.equal(serve('--metrics-per-host=false'), false);
  assert.throws(() => serve('--metrics-per-host=maybe'), FlagError);
  assert.equal(new Metrics({ perHost: false }).perHost, false);
});

test('a label value that is not a plain name (none reaches here today: translate validates names) still leaves the exposition parseable', async () => {
  const m0 = model(WEB(['10.0.0.1']));
  const odd = 'we"ird\\na\nme';
  const state = reloadedWith({ ...m0, backends: m0.backends.map((b) => ({ ...b, ref: { ...b.ref, namespace: odd } })) });
  const { m } = backendMetrics(() => state, () => showStat([{ section: 'be_default_web_80', server: 'BACKEND' }, { section: 'be_default_web_80', server: 'ep_10_0_0_1_3000' }]));
  const text = await exposition(m);
  assert.deepEqual(parseExposition(text).series.filter((x) => x.name === 'portico_endpoint_up').map((x) => x.labels.namespace), [odd]);
});
