// The dashboard's server side: the rolling traffic window (what falls out of it and when, rates, error rates and
// percentiles), its bounded memory, endpoint health from HAProxy's counters, the strict query grammar, and search
// and paging over 10,000 Ingresses (a page is a page, whatever the model's size).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifestText } from '../../src/sources/manifests/parse.js';
import { snapshotFromFiles } from '../../src/store/store.js';
import { translate } from '../../src/translate/translate.js';
import type { TranslateOptions } from '../../src/translate/translate.js';
import type { TranslateResult } from '../../src/model/types.js';
import { NO_TRAFFIC, TrafficWindow } from '../../src/admin/dashboard/traffic-window.js';
import { EndpointHealth, endpointKey } from '../../src/admin/dashboard/endpoint-health.js';
import { CATCH_ALL_HOST, MAX_LIMIT, QueryError, pageOf, parseQuery } from '../../src/admin/dashboard/data.js';
import { Dashboard } from '../../src/admin/dashboard/index.js';
import type { EndpointState } from '../../src/admin/backend-metrics.js';
import type { RequestRecord } from '../../src/accesslog/index.js';
import { lookupRoute } from '../../src/explain/lookup.js';
import { FlagError, parseFlags } from '../../src/cli/flags.js';

const OPTIONS: TranslateOptions = { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true };

function translated(yaml: string): TranslateResult {
  const parsed = parseManifestText(yaml);
  if (!parsed.ok) throw new Error(parsed.error);
  return translate(snapshotFromFiles(new Map([['in.yaml', parsed.objects]])).snapshot, OPTIONS);
}

describe('TrafficWindow: the last minute per key', () => {
  const clock = { t: 1_000_000 };
  const w = (maxKeys = 100): TrafficWindow => new TrafficWindow({ bucketMs: 10_000, buckets: 6, maxKeys, now: () => clock.t });

  test('rate, error rate, mean and p95 over what the window holds', () => {
    clock.t = 1_000_000;
    const win = w();
    for (let i = 0; i < 90; i++) win.record('a', 200, 3);
    for (let i = 0; i < 10; i++) win.record('a', 503, 700);
    clock.t += 10_000;
    const s = win.summary('a');
    assert.equal(s.requests, 100);
    assert.equal(s.errorRate, 0.1);
    assert.equal(s.latencyMeanMs, (90 * 3 + 10 * 700) / 100);
    // 95th of 100 is one of the slow ten: the bin up to 1000 ms holds it.
    assert.equal(s.latencyP95Ms, 1000);
    // The window began with the first bucket (1,000,000 is its start): 10 s so far.
    assert.equal(s.rate, 10);
    assert.deepEqual(win.summary('never'), NO_TRAFFIC);
  });

  test('requests leave the window once their bucket is older than a minute; 4xx is not an error', () => {
    clock.t = 2_000_000;
    const win = w();
    win.record('a', 404, 1);
    clock.t += 30_000;
    win.record('a', 200, 1);
    assert.equal(win.summary('a').requests, 2);
    assert.equal(win.summary('a').errorRate, 0);
    clock.t += 30_000;
    assert.equal(win.summary('a').requests, 1, 'the first request is 60 s old: out');
    clock.t += 30_000;
    assert.deepEqual(win.summary('a'), NO_TRAFFIC);
    // A slot reused a full turn later starts from zero, not from what it held.
    win.record('a', 500, 1);
    assert.equal(win.summary('a').requests, 1);
    assert.equal(win.summary('a').errorRate, 1);
  });

  test('memory is bounded: at most maxKeys keys, the least recently seen dropped first', () => {
    clock.t = 3_000_000;
    const win = w(100);
    win.record('busy', 200, 1);
    for (let i = 0; i < 10_000; i++) {
      win.record(`k${i}`, 200, 1);
      if (i % 50 === 0) win.record('busy', 200, 1);
    }
    assert.equal(win.size, 100);
    assert.ok(win.summary('busy').requests > 0, 'a key seen lately survives');
    assert.deepEqual(win.summary('k0'), NO_TRAFFIC);
    assert.equal(win.summary('k9999').requests, 1);
  });

  test('prune drops the keys with nothing in the window', () => {
    clock.t = 4_000_000;
    const win = w();
    win.record('old', 200, 1);
    clock.t += 50_000;
    win.record('new', 200, 1);
    clock.t += 20_000;
    win.prune();
    assert.equal(win.size, 1);
    assert.equal(win.summary('new').requests, 1);
  });

  test('slower than the last bound: p95 says so, without a made-up value', () => {
    clock.t = 5_000_000;
    const win = w();
    win.record('slow', 200, 60_000);
    assert.equal(win.summary('slow').latencyP95Ms, 10_000);
    win.record('unknown-time', 200, -1);
    assert.equal(win.summary('unknown-time').latencyP95Ms, -1);
    assert.equal(win.summary('unknown-time').requests, 1);
  });
});

describe('EndpointHealth: red while in maintenance or while failures grow', () => {
  const state = (endpoint: string, up: boolean, failedAttempts: number): EndpointState => ({ name: { namespace: 'ns', service: 'web', port: '80', endpoint }, up, failedAttempts });
  const key = (e: string): string => endpointKey('ns', 'web', '80', e);

  test('unknown, up, failing for a while after its failures grew, down in maintenance', () => {
    const h = new EndpointHealth(60_000);
    assert.equal(h.of(key('10.0.0.1:80'), 0).health, 'unknown');
    h.update([state('10.0.0.1:80', true, 5), state('10.0.0.2:80', false, 0)], 1000);
    assert.equal(h.of(key('10.0.0.1:80'), 1000).health, 'up', 'failures counted before Portico looked are history, not news');
    assert.equal(h.of(key('10.0.0.2:80'), 1000).health, 'down');
    h.update([state('10.0.0.1:80', true, 6), state('10.0.0.2:80', true, 0)], 2000);
    assert.deepEqual(h.of(key('10.0.0.1:80'), 2000), { health: 'failing', failedAttempts: 6 });
    assert.equal(h.of(key('10.0.0.1:80'), 61_999).health, 'failing');
    assert.equal(h.of(key('10.0.0.1:80'), 62_000).health, 'up');
    assert.equal(h.of(key('10.0.0.2:80'), 2000).health, 'up');
    h.update([], 3000);
    assert.equal(h.of(key('10.0.0.1:80'), 3000).health, 'unknown', 'an endpoint HAProxy no longer has is forgotten');
  });
});

describe('the query grammar', () => {
  const q = (s: string) => parseQuery(new URLSearchParams(s));
  test('defaults, limits capped, case-insensitive search', () => {
    assert.deepEqual(q(''), { view: 'hosts', sort: 'name', q: '', page: 1, limit: 25 });
    assert.deepEqual(q('view=problems&sort=rate&q=%20Shop.Example%20&page=3&limit=100000'), { view: 'problems', sort: 'rate', q: 'shop.example', page: 3, limit: MAX_LIMIT });
  });
  test('anything else is refused, not guessed', () => {
    for (const bad of ['view=all', 'view=__proto__', 'sort=host', 'sort=', 'page=0', 'page=-1', 'page=1e3', 'page=abc', 'limit=0', 'limit=2.5', 'page=99999999', `q=${'x'.repeat(257)}`]) assert.throws(() => q(bad), QueryError, bad);
  });
});

describe('search and paging at 10,000 Ingresses', () => {
  const docs: string[] = [];
  for (let i = 0; i < 10_000; i++)
    docs.push(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop-${i}, namespace: ns${i % 20}}
spec:
  rules:
  - host: h${i}.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s${i % 100}, port: {number: 80}}}}`);
  docs.push(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: broken, namespace: ns0}
spec:
  rules:
  - host: "bad host <script>"
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s1, port: {number: 80}}}}`);
  docs.push(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: huge, namespace: ns0}
spec:
  rules:
  - host: "${'a'.repeat(1_000_000)}"
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s1, port: {number: 80}}}}`);
  const result = translated(docs.join('\n---\n'));
  const model = result.model;
  const dash = new Dashboard({ live: () => result, endpoints: () => Promise.resolve([]), route: (host, path) => lookupRoute(model, host, path), now: () => 7_000_000 });
  const get = async (query: string): Promise<{ status: number; json: Record<string, unknown>; bytes: number }> => {
    const a = await dash.json(new URLSearchParams(query));
    return { status: a.status, json: a.status === 200 ? (JSON.parse(a.body) as Record<string, unknown>) : {}, bytes: a.body.length };
  };

  test('a page holds `limit` rows and says how many matched', async () => {
    const a = await get('view=hosts&limit=25');
    assert.equal(a.json.total, 10_000);
    assert.equal(a.json.pages, 400);
    assert.equal((a.json.items as unknown[]).length, 25);
    assert.ok(a.bytes < 40_000, `a page is ${a.bytes} bytes`);
    const last = await get('view=hosts&limit=25&page=400');
    assert.equal((last.json.items as unknown[]).length, 25);
    const beyond = await get('view=hosts&limit=25&page=9999');
    assert.equal(beyond.json.page, 400, 'a page past the end is the last one');
  });

  test('search narrows every view on the server', async () => {
    const a = await get('view=hosts&q=H1234.Example');
    assert.deepEqual(
      (a.json.items as { host: string }[]).map((h) => h.host),
      ['h1234.example.com'],
    );
    const byService = await get('view=hosts&q=ns0/s20&limit=200');
    assert.ok((byService.json.total as number) > 0);
    const ing = await get('view=ingresses&q=ns3/shop-1003');
    assert.deepEqual((ing.json.items as { ingress: string }[]).map((i) => i.ingress), ['ns3/shop-1003']);
    const problems = await get('view=problems&q=broken');
    assert.ok((problems.json.total as number) >= 1);
    const d = (problems.json.items as { object: string; rule: string; message: string }[])[0]!;
    assert.equal(d.object, 'Ingress ns0/broken');
    assert.ok(d.rule !== '' && d.message !== '');
    const invalid = await get('view=ingresses&q=invalid');
    assert.deepEqual((invalid.json.items as { ingress: string; status: string }[]).map((i) => [i.ingress, i.status]), [
      ['ns0/broken', 'invalid'],
      ['ns0/huge', 'invalid'],
    ]);
  });

  test('a diagnostic quoting a megabyte value is clipped: a page stays small', async () => {
    const a = await get('view=problems&q=ns0/huge');
    const d = (a.json.items as { message: string }[])[0]!;
    assert.ok(d.message.length < 1100, `${d.message.length} characters`);
    assert.match(d.message, /… \(\d+ more characters\)$/);
    assert.ok(a.bytes < 10_000, `${a.bytes} bytes`);
    const i = await get('view=ingresses&q=ns0/huge');
    assert.ok((i.json.items as { reason: string }[])[0]!.reason.length < 1100);
  });

  test('a bad query is a 400 with its reason', async () => {
    const a = await dash.json(new URLSearchParams('view=nope'));
    assert.equal(a.status, 400);
    assert.match(a.body, /view= must be one of/);
  });

  test('traffic per host and per Ingress from records; a request no route served counts only in the total', async () => {
    const record = (host: string, path: string, status: number): RequestRecord => ({ host, path, status, totalMs: 12 }) as RequestRecord;
    for (let i = 0; i < 4; i++) dash.observe(record('h7.example.com', '/x', 200));
    dash.observe(record('h7.example.com', '/x', 502));
    dash.observe(record('nowhere.example.com', '/', 404));
    const hosts = await get('view=hosts&q=h7.example.com');
    const h = (hosts.json.items as { host: string; traffic: { requests: number; errorRate: number } }[])[0]!;
    assert.equal(h.host, 'h7.example.com');
    assert.equal(h.traffic.requests, 5);
    assert.equal(h.traffic.errorRate, 0.2);
    const ing = await get('view=ingresses&q=ns7/shop-7');
    assert.equal((ing.json.items as { traffic: { requests: number } }[])[0]!.traffic.requests, 5);
    assert.equal(((hosts.json.summary as { traffic: { requests: number } }).traffic).requests, 6);
    dash.observe(record('h9000.example.com', '/', 503));
    dash.observe(record('h9000.example.com', '/', 503));
    const busiest = await get('view=hosts&sort=rate&limit=3');
    assert.deepEqual((busiest.json.items as { host: string }[]).map((x) => x.host), ['h7.example.com', 'h9000.example.com', 'h0.example.com']);
    const failing = await get('view=ingresses&sort=errors&limit=2');
    assert.deepEqual((failing.json.items as { ingress: string }[]).map((x) => x.ingress), ['ns0/shop-9000', 'ns7/shop-7']);
  });
});

describe('rows of the model', () => {
  test('endpoints carry their health, a Service without endpoints says so, the catch-all is a row', async () => {
    const result = translated(`apiVersion: v1
kind: Service
metadata: {name: web, namespace: ns}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: ns, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 8080}]
endpoints: [{addresses: [10.0.0.1]}, {addresses: [10.0.0.2]}]
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: ns}
spec: {ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: site, namespace: ns}
spec:
  rules:
  - host: www.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: fallback, namespace: ns}
spec:
  defaultBackend: {service: {name: empty, port: {number: 80}}}`);
    const states: EndpointState[] = [
      { name: { namespace: 'ns', service: 'web', port: '80', endpoint: '10.0.0.1:8080' }, up: true, failedAttempts: 0 },
      { name: { namespace: 'ns', service: 'web', port: '80', endpoint: '10.0.0.2:8080' }, up: false, failedAttempts: 0 },
    ];
    const dash = new Dashboard({ live: () => result, endpoints: () => Promise.resolve(states), route: () => undefined });
    const a = JSON.parse((await dash.json(new URLSearchParams(''))).body) as { items: { host: string; routes: { service: { unavailable?: string; endpoints: { endpoint: string; health: string }[] } }[] }[] };
    const www = a.items.find((h) => h.host === 'www.example.com')!;
    assert.deepEqual(www.routes[0]!.service.endpoints, [
      { endpoint: '10.0.0.2:8080', health: 'down', failedAttempts: 0 },
      { endpoint: '10.0.0.1:8080', health: 'up', failedAttempts: 0 },
    ]);
    const catchAll = a.items.find((h) => h.host === CATCH_ALL_HOST);
    assert.ok(catchAll, JSON.stringify(a.items.map((h) => h.host)));
    assert.ok(catchAll.routes[0]!.service.unavailable, JSON.stringify(catchAll));
  });

  test('a host with 120 paths and a Service with 80 endpoints: a page shows 50 of each, the unhealthy first, and counts the rest', async () => {
    const paths = Array.from({ length: 120 }, (_, i) => `      - {path: /p${i}, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}`).join('\n');
    const endpoints = Array.from({ length: 80 }, (_, i) => `{addresses: [10.1.0.${i + 1}]}`).join(', ');
    const result = translated(`apiVersion: v1
kind: Service
metadata: {name: web, namespace: ns}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: ns, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 8080}]
endpoints: [${endpoints}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: big, namespace: ns}
spec:
  rules:
  - host: big.example.com
    http:
      paths:
${paths}`);
    const states: EndpointState[] = Array.from({ length: 80 }, (_, i) => ({ name: { namespace: 'ns', service: 'web', port: '80', endpoint: `10.1.0.${i + 1}:8080` }, up: i !== 79, failedAttempts: 0 }));
    const dash = new Dashboard({ live: () => result, endpoints: () => Promise.resolve(states), route: () => undefined });
    type Host = { moreRoutes: number; routes: { path: string; service: { endpoints: { endpoint: string; health: string }[]; moreEndpoints: number; moreHealthy: number } }[] };
    const all = JSON.parse((await dash.json(new URLSearchParams('q=big.example.com'))).body) as { items: Host[] };
    const h = all.items[0]!;
    assert.equal(h.routes.length, 50);
    assert.equal(h.moreRoutes, 70);
    const svc = h.routes[0]!.service;
    assert.equal(svc.endpoints.length, 50);
    assert.deepEqual(svc.endpoints[0], { endpoint: '10.1.0.80:8080', health: 'down', failedAttempts: 0 });
    assert.equal(svc.moreEndpoints, 30);
    assert.equal(svc.moreHealthy, 30);
    const one = JSON.parse((await dash.json(new URLSearchParams('q=/p117'))).body) as { items: Host[] };
    assert.deepEqual(one.items[0]!.routes.map((r) => r.path), ['/p117']);
    assert.equal(one.items[0]!.moreRoutes, 0);
  });

  test('pageOf: filters before paging', () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({ search: i % 3 === 0 ? `x${i}` : `y${i}` }));
    const p = pageOf(rows, { view: 'hosts', sort: 'name', q: 'x', page: 2, limit: 4 });
    assert.deepEqual(p, { total: 10, page: 2, pages: 3, rows: [{ search: 'x12' }, { search: 'x15' }, { search: 'x18' }, { search: 'x21' }] });
  });
});

describe('--dashboard', () => {
  const dashboardOn = (...args: string[]): boolean => parseFlags('serve', ['--manifests', 'm', ...args]).dashboard;
  test('on by default, off with --dashboard=false, off with the rest of /debug/*', () => {
    assert.equal(dashboardOn(), true);
    assert.equal(dashboardOn('--dashboard=false'), false);
    assert.equal(dashboardOn('--debug-endpoints=false'), false);
    assert.equal(dashboardOn('--dashboard', '--debug-endpoints=false'), false);
    assert.throws(() => dashboardOn('--dashboard=maybe'), FlagError);
  });

  test('auto: on with --manifests, off when reading the Kubernetes API (its admin port is open to every pod)', () => {
    const api = (...args: string[]): { dashboard: boolean; debugEndpoints: boolean } => parseFlags('serve', ['--kubeconfig', '/nonexistent/kubeconfig', ...args]);
    assert.equal(api().dashboard, false);
    assert.equal(api().debugEndpoints, false);
    assert.equal(api('--debug-endpoints=true').debugEndpoints, true);
    assert.equal(api('--debug-endpoints=true').dashboard, false);
    assert.equal(api('--debug-endpoints=true', '--dashboard=true').dashboard, true);
    assert.equal(parseFlags('serve', ['--manifests', 'm']).debugEndpoints, true);
  });
});
