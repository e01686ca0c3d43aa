// The rate limits (limit-rps, limit-rpm, limit-connections, limit-burst-multiplier, limit-allowlist): grammars and
// their hostile values, the route policy (one zone per Ingress, defaults, the alias), the numbers each bucket's map
// line holds, a model of the rules' arithmetic held to nginx's leaky bucket, the exact rules, and the runtime
// operations a change takes. The e2e test shows what a client gets; these pin what decides it.
import { statusCodes } from '../../src/haproxy/render/global-settings.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIngressAnnotations, routePolicy } from '../../src/translate/annotations/index.js';
import { Findings } from '../../src/translate/diagnostics.js';
import type { RoutePolicy } from '../../src/model/types.js';
import { RATE_LIMIT_FAMILY, bucketValue, exemptLines, rateLimitData, zoneKey } from '../../src/haproxy/render/policy/rate-limit.js';
import { DEFAULT_PEM, model, opSummary, ops, reloadedWith, svc } from './plan-fixtures.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { renderConfig, routeId } from '../../src/haproxy/render/render.js';
import { testRenderOptions } from '../render-options.js';

const N = 'nginx.ingress.kubernetes.io/';
const policyOf = (annotations: Record<string, string>, ingress = 'shop/web'): { policy: RoutePolicy; warnings: string[] } => {
  const f = new Findings('Ingress shop/web');
  const policy = routePolicy(parseIngressAnnotations(annotations, f, ingress), false, { sslRedirect: false, forceSslRedirect: false });
  return { policy, warnings: f.list.map((d) => `${d.rule} ${d.field}: ${d.message}`) };
};

void describe('the rate-limit annotations', () => {
  test('limits become the route policy, zoned by the Ingress; the multiplier defaults to 5', () => {
    assert.deepEqual(policyOf({ [`${N}limit-rps`]: '10' }).policy.rateLimit, { zone: 'shop/web', rps: 10, burstMultiplier: 5, allowlist: [] });
    assert.deepEqual(policyOf({ [`${N}limit-rpm`]: '+30', [`${N}limit-burst-multiplier`]: '0', [`${N}limit-allowlist`]: '10.0.0.1, ::1' }).policy.rateLimit, {
      zone: 'shop/web',
      rpm: 30,
      burstMultiplier: 0,
      allowlist: ['10.0.0.1/32', '::1/128'],
    });
    // A connection limit alone has no burst.
    assert.deepEqual(policyOf({ [`${N}limit-connections`]: '3' }).policy.rateLimit, { zone: 'shop/web', connections: 3, allowlist: [] });
    assert.equal(policyOf({ [`${N}limit-rps`]: '1' }, 'other/web').policy.rateLimit?.zone, 'other/web');
  });

  test('no limit above 0: no policy at all, whatever else is set (ingress-nginx makes no zone)', () => {
    for (const a of [{} as Record<string, string>, { [`${N}limit-rps`]: '0' }, { [`${N}limit-allowlist`]: '10.0.0.0/8', [`${N}limit-burst-multiplier`]: '3' }, { [`${N}limit-connections`]: '0', [`${N}limit-rpm`]: '0' }]) {
      const { policy, warnings } = policyOf(a);
      assert.equal(policy.rateLimit, undefined, JSON.stringify(a));
      assert.deepEqual(warnings, []);
    }
  });

  test('limit-allowlist wins over limit-whitelist; portico.dev/ wins over nginx.ingress.kubernetes.io/', () => {
    assert.deepEqual(policyOf({ [`${N}limit-rps`]: '1', [`${N}limit-whitelist`]: '10.0.0.0/8', [`${N}limit-allowlist`]: '192.168.0.0/16' }).policy.rateLimit?.allowlist, ['192.168.0.0/16']);
    assert.deepEqual(policyOf({ [`${N}limit-rps`]: '1', [`${N}limit-whitelist`]: '10.0.0.0/8' }).policy.rateLimit?.allowlist, ['10.0.0.0/8']);
    assert.equal(policyOf({ [`${N}limit-rps`]: '1', 'portico.dev/limit-rps': '7' }).policy.rateLimit?.rps, 7);
  });

  test('hostile and out-of-range values fail open: A1, that annotation ignored, the other limits kept', () => {
    const bad = ['-1', '10r/s', '1.5', '1e3', '0x10', ' 5', '5 ', '100001', '99999999999999999', '1\nserver x 1.2.3.4:80', "1' }", '１'];
    for (const raw of bad) {
      const { policy, warnings } = policyOf({ [`${N}limit-rps`]: raw, [`${N}limit-connections`]: '2' });
      assert.deepEqual(policy.rateLimit, { zone: 'shop/web', connections: 2, allowlist: [] }, JSON.stringify(raw));
      assert.equal(warnings.length, 1, JSON.stringify(raw));
      assert.match(warnings[0]!, /^A1 metadata\.annotations\[nginx\.ingress\.kubernetes\.io\/limit-rps\]: .* the annotation is ignored$/);
    }
    assert.equal(policyOf({ [`${N}limit-rpm`]: '1000001' }).policy.rateLimit, undefined);
    assert.equal(policyOf({ [`${N}limit-connections`]: '1000001' }).policy.rateLimit, undefined);
    // A bad multiplier leaves ingress-nginx's default; a bad allowlist leaves no exemption.
    for (const m of ['-5', '101', 'x']) assert.equal(policyOf({ [`${N}limit-rps`]: '2', [`${N}limit-burst-multiplier`]: m }).policy.rateLimit?.burstMultiplier, 5, m);
    for (const l of ['10.0.0.0/33', 'fe80::1%eth0', '10.0.0.0/8 #', '10.0.0.0/8,']) {
      const { policy, warnings } = policyOf({ [`${N}limit-rps`]: '2', [`${N}limit-allowlist`]: l });
      assert.deepEqual(policy.rateLimit?.allowlist, [], l);
      assert.match(warnings[0]!, /limit-allowlist\]: .* the annotation is ignored$/);
    }
  });
});

void describe('bucket values', () => {
  test('interval and tolerance in the bucket time units: the burst is exactly rate × multiplier intervals', () => {
    assert.equal(bucketValue('rps', 10, 5), '100000:5000000');
    assert.equal(bucketValue('rps', 3, 5), '333333:4999995');
    assert.equal(bucketValue('rps', 100_000, 100), '10:100000000');
    assert.equal(bucketValue('rps', 1, 0), '1000000:0');
    // rpm counts in 8-µs units: one minute is 7,500,000.
    assert.equal(bucketValue('rpm', 60, 5), '125000:37500000');
    assert.equal(bucketValue('rpm', 1, 100), '7500000:750000000');
    assert.equal(bucketValue('rpm', 1_000_000, 100), '8:800000000');
  });

  test('the rounding of the interval stays within the documented bound (N/(2,000,000 − N) for rps, N/(15,000,000 − N) for rpm)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 0, max: 100 }), (n, m) => {
        const [t, tau] = bucketValue('rps', n, m).split(':').map(Number) as [number, number];
        assert.ok(Math.abs(1e6 / t - n) / n <= n / (2e6 - n) + 1e-12, `rps ${n}: interval ${t}`);
        assert.equal(tau, n * m * t);
        assert.ok(tau + t < 2 ** 30);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 0, max: 100 }), (n, m) => {
        const [t, tau] = bucketValue('rpm', n, m).split(':').map(Number) as [number, number];
        assert.ok(Math.abs(7.5e6 / t - n) / n <= n / (1.5e7 - n) + 1e-12, `rpm ${n}: interval ${t}`);
        assert.ok(tau + t < 2 ** 30);
      }),
    );
  });

  test('render refuses what the grammar refuses, and a policy without a limit', () => {
    for (const [kind, n, m] of [['rps', 0, 5], ['rps', 100_001, 5], ['rps', 1.5, 5], ['rpm', 1_000_001, 5], ['rps', 1, -1], ['rps', 1, 101], ['rpm', Number.NaN, 1]] as const)
      assert.throws(() => bucketValue(kind, n, m), /^Error: render: refusing limit-/, `${kind} ${n} ${m}`);
    assert.throws(() => rateLimitData({ zone: 'a/b', connections: 0, allowlist: [] }), /refusing limit-connections 0/);
    assert.throws(() => rateLimitData({ zone: 'a/b', allowlist: [] }), /without a limit/);
    assert.throws(() => rateLimitData({ zone: 'a/b', rps: 5, allowlist: [] }), /refusing limit-burst-multiplier/, 'a rate without its multiplier');
  });

  test("a route's lines: each limit, then the zone (16 hex digits of the Ingress, no user text)", () => {
    assert.deepEqual(rateLimitData({ zone: 'shop/web', rps: 10, rpm: 60, connections: 4, burstMultiplier: 2, allowlist: ['10.0.0.0/8'] }), [
      ['limitRps', '100000:2000000'],
      ['limitRpm', '125000:15000000'],
      ['limitConnections', '4'],
      ['limitZones', zoneKey('shop/web')],
    ]);
    assert.match(zoneKey('x'.repeat(300)), /^[0-9a-f]{16}$/);
    assert.notEqual(zoneKey('shop/web'), zoneKey('shop/web2'));
  });
});

/**
 * What the rules compute, step by step, on HAProxy's integers: the stored cell (below 2^31: never set), the clock's
 * low 31 bits, d, its clamp, the verdict and the new cell. Returns whether the request passes.
 */
function gcraStep(cell: { v: number }, nowUnits: number, value: string): boolean {
  const [t, tau] = value.split(':').map(Number) as [number, number];
  const CLOCK = 2 ** 31;
  const now = nowUnits % CLOCK;
  let d = (((cell.v - now) % CLOCK) + CLOCK) % CLOCK;
  if (cell.v < CLOCK || d >= 2 ** 30) d = 0;
  if (tau - d < 0) return false;
  cell.v = ((now + d + t) % CLOCK) + CLOCK;
  return true;
}

/** nginx's ngx_http_limit_req_lookup for one zone: excess in thousandths of a request, `rate` in requests per 1000 s. */
function nginxStep(state: { excess: number; last: number } | undefined, nowMs: number, ratePerS: number, burst: number): [boolean, { excess: number; last: number }] {
  if (!state) return [true, { excess: 0, last: nowMs }];
  const rate = ratePerS * 1000;
  const ms = Math.max(0, nowMs - state.last);
  const excess = Math.max(0, state.excess - (rate * ms) / 1000 + 1000);
  if (excess > burst * 1000) return [false, state];
  return [true, { excess, last: nowMs }];
}

void describe("the rules' arithmetic", () => {
  test("accepts what nginx's limit_req accepts, for random rates, multipliers and request times (1 ms grid)", () => {
    fc.assert(
      fc.property(
        // Rates dividing 1,000,000 µs, so both sides count the same interval; small ones most, so bursts reach the limit.
        fc.constantFrom(1, 1, 1, 2, 2, 4, 5, 8, 10, 20, 25, 40, 50, 100, 125, 200, 250, 500, 1000),
        fc.integer({ min: 0, max: 10 }),
        // Mostly requests in the same millisecond (bursts up to the limit and past it), and pauses of up to 3 s.
        fc.array(fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, fc.integer({ min: 0, max: 3000 })), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (rate, m, gaps, clock0) => {
          // A request's time in whole ms, nginx's grain.
          const value = bucketValue('rps', rate, m);
          const cell = { v: 0 };
          let nginx: { excess: number; last: number } | undefined;
          let ms = 0;
          for (const gap of gaps) {
            ms += gap;
            const [expected, next] = nginxStep(nginx, ms, rate, rate * m);
            nginx = next;
            // The clock starts anywhere, wrap included: HAProxy's date(0,us) masked to 32 bits.
            assert.equal(gcraStep(cell, clock0 + ms * 1000, value), expected, `rate ${rate}, multiplier ${m}, at ${ms} ms`);
          }
        },
      ),
    );
  });

  test('a burst from a new client: N×m+1 pass, the rest fail, until the interval has passed', () => {
    const value = bucketValue('rps', 2, 3);
    const cell = { v: 0 };
    const at = (s: number): boolean => gcraStep(cell, 5_000_000_000 + s * 1e6, value);
    assert.deepEqual(Array.from({ length: 9 }, () => at(0)), [true, true, true, true, true, true, true, false, false]);
    assert.equal(at(0.4), false);
    assert.equal(at(0.5), true);
    assert.equal(at(0.5), false);
    // Idle for a minute: a full burst again.
    assert.equal(Array.from({ length: 9 }, () => at(60)).filter(Boolean).length, 7);
  });
});

void describe('exempt cells', () => {
  const route = (id: string, zone: string, allowlist: string[]) => ({ id, policy: { redirectToHttps: false, rateLimit: { zone, rps: 1, burstMultiplier: 5, allowlist } } });

  test("each zone is exempt in its own blocks' cells, other zones' narrower cells included; its routes share the lines", () => {
    const [a, b] = [zoneKey('default/a'), zoneKey('default/b')];
    assert.deepEqual(exemptLines([route('p.a1', 'default/a', ['10.0.0.0/8', '192.168.1.7/32']), route('p.a2', 'default/a', ['10.0.0.0/8', '192.168.1.7/32']), route('p.b', 'default/b', ['10.1.0.0/16']), route('p.c', 'default/c', [])]), [
      ['limitCells', '10.0.0.0/8', '10.0.0.0/8'],
      ['limitCells', '10.1.0.0/16', '10.1.0.0/16'],
      ['limitCells', '192.168.1.7/32', '192.168.1.7/32'],
      ['limitExempt', `10.0.0.0/8|${a}`, '1'],
      ['limitExempt', `10.1.0.0/16|${a}`, '1'],
      ['limitExempt', `192.168.1.7/32|${a}`, '1'],
      ['limitExempt', `10.1.0.0/16|${b}`, '1'],
    ]);
  });
});

void describe('rules', () => {
  const rules = (inUse: string[]): string[] =>
    RATE_LIMIT_FAMILY.rules!.limit!({ file: (m) => `/m/${m}`, inUse: new Set(inUse) as never, hasId: 'HASID', routeId: 'ID', tls: false, keys: [], self: { http: '127.0.0.1:80', https: '127.0.0.1:443' }, statuses: statusCodes(undefined) }).filter((l) => !l.startsWith('#'));

  test('a connection limit alone: the zone, then the count of requests in progress', () => {
    assert.deepEqual(rules(['limitZones', 'limitConnections']), [
      'http-request set-var(txn.rl) ID,map_str(/m/limitZones) if HASID',
      'http-request set-var(txn.rl_conn) ID,map_str_int(/m/limitConnections) if { var(txn.rl) -m found }',
      'http-request track-sc2 var(txn.rl),concat(|,sess.client) table portico_limit_conn if { var(txn.rl_conn) -m found }',
      'http-request deny deny_status 503 content-type "text/plain; charset=utf-8" string "503 Service Unavailable: too many requests in progress from this address\\n" if { var(txn.rl_conn) -m found } { sc2_conn_cur,sub(txn.rl_conn) -m int gt 0 }',
    ]);
  });

  test('limit-rps with an allowlist: exemption first, then the bucket; no rpm rules while no route has limit-rpm', () => {
    assert.deepEqual(rules(['limitZones', 'limitRps', 'limitCells', 'limitExempt']), [
      'http-request set-var(txn.rl) ID,map_str(/m/limitZones) if HASID',
      'http-request unset-var(txn.rl) if { var(txn.rl) -m found } !{ src 2002::/16 ::/96 } { src,map_ip(/m/limitCells),concat(|,txn.rl),map_str(/m/limitExempt) -m found }',
      'http-request track-sc1 var(txn.rl),concat(|,sess.client) table portico_limit_req if { var(txn.rl) -m found }',
      'http-request set-var(txn.rl_rps) ID,map_str(/m/limitRps) if { var(txn.rl) -m found }',
      'http-request set-var(txn.rl_now_rps) date(0,us),and(2147483647) if { var(txn.rl_rps) -m found }',
      'http-request set-var(txn.rl_d_rps) sc_get_gpt(0,1),sub(txn.rl_now_rps),and(2147483647) if { var(txn.rl_rps) -m found }',
      'http-request set-var(txn.rl_d_rps) int(0) if { var(txn.rl_rps) -m found } { sc_get_gpt(0,1) -m int lt 2147483648 } or { var(txn.rl_d_rps) -m int ge 1073741824 }',
      'http-request deny deny_status 503 content-type "text/plain; charset=utf-8" string "503 Service Unavailable: too many requests from this address; try again later\\n" if { var(txn.rl_rps),field(2,:),sub(txn.rl_d_rps) -m int lt 0 }',
      'http-request sc-set-gpt(0,1) var(txn.rl_rps),field(1,:),add(txn.rl_d_rps),add(txn.rl_now_rps),and(2147483647),or(2147483648) if { var(txn.rl_d_rps) -m found }',
    ]);
  });

  test('both buckets are judged before either is counted (nginx accounts a request in every zone or in none)', () => {
    const r = rules(['limitZones', 'limitRps', 'limitRpm']);
    const deny = r.findIndex((l) => l.startsWith('http-request deny'));
    assert.match(r[deny]!, / if \{ var\(txn\.rl_rps\).* or \{ var\(txn\.rl_rpm\)/);
    assert.ok(r.slice(0, deny).every((l) => !l.includes('sc-set-gpt')));
    assert.deepEqual(r.slice(deny + 1).map((l) => l.slice(0, 28)), ['http-request sc-set-gpt(0,1)', 'http-request sc-set-gpt(1,1)']);
    assert.ok(r.some((l) => l.includes('date(0,us),div(8),and(2147483647)')), 'rpm counts in 8-µs units');
  });

  test('the tables and the rules exist only while some route has a limit; the request table only with a rate', () => {
    const empty = renderConfig(model(svc('web', ['10.0.0.1'])), testRenderOptions());
    assert.ok(!empty.includes('portico_limit') && !empty.includes('txn.rl'));
    const ing = (a: string): string => `${svc('web', ['10.0.0.1'])}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, annotations: {${a}}}
spec: {rules: [{host: a.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}
---`;
    const conn = renderConfig(model(ing(`${N}limit-connections: "2"`)), testRenderOptions());
    assert.ok(conn.includes('backend portico_limit_conn\n  stick-table type string len 64 size 100000 expire 1m store conn_cur'));
    assert.ok(!conn.includes('portico_limit_req'));
    const rps = renderConfig(model(ing(`${N}limit-rps: "2"`)), testRenderOptions());
    assert.ok(rps.includes('backend portico_limit_req\n  stick-table type string len 64 size 100000 expire 10m store gpt(2)'));
    // After the T9 redirect (nginx limits after its rewrite phase), in both frontends.
    const http = rps.slice(rps.indexOf('frontend portico_http'), rps.indexOf('frontend portico_https'));
    assert.ok(http.indexOf('track-sc1') > http.indexOf('code 308'));
    assert.ok(rps.slice(rps.indexOf('frontend portico_https')).includes('track-sc1'));
  });
});

void describe('rate limits at runtime', () => {
  const web = svc('web', ['10.0.0.1']);
  const ing = (annotations: string, name = 'shop', path = '/'): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, annotations: {${annotations}}}
spec: {rules: [{host: a.test, http: {paths: [{path: ${path}, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}
---`;

  test('a changed rate, an added allowlist and a second limited route are map operations', () => {
    const shop = routeId('a.test/');
    const lab = routeId('a.test/lab/');
    const state = reloadedWith(model(web + ing(`${N}limit-rps: "10", ${N}limit-allowlist: "10.0.0.0/8"`)));
    const next = model(web + ing(`${N}limit-rps: "20", ${N}limit-allowlist: "10.0.0.0/8"`) + ing(`${N}limit-rps: "5"`, 'lab', '/lab'));
    const { ops: o } = ops(state, next);
    assert.deepEqual(opSummary(o), [
      `map-set maps/limit-rps.map ${shop} 50000:5000000`,
      `map-add maps/limit-rps.map ${lab} 200000:5000000`,
      `map-add maps/limit-zones.map ${lab} ${zoneKey('default/lab')}`,
      `map-add maps/paths.map a.test/lab/ --|be_default_web_80|${lab}`,
      `map-add maps/paths.map a.test/lab? --|be_default_web_80|${lab}`,
    ]);
  });

  test('the first limited route needs the rules and tables: a reload; so does the first connection limit', () => {
    const state = reloadedWith(model(web + ing('')));
    const p = plan(state, model(web + ing(`${N}limit-rps: "1"`)), DEFAULT_PEM);
    assert.ok('reload' in p);
    assert.match(p.reload, /limitRps/);
    const limited = reloadedWith(model(web + ing(`${N}limit-rps: "1"`)));
    const q = plan(limited, model(web + ing(`${N}limit-rps: "1", ${N}limit-connections: "3"`)), DEFAULT_PEM);
    assert.ok('reload' in q);
    assert.match(q.reload, /limitConnections/);
    const allowlist = plan(limited, model(web + ing(`${N}limit-rps: "1", ${N}limit-allowlist: "10.0.0.0/8"`)), DEFAULT_PEM);
    assert.ok('reload' in allowlist);
    assert.match(allowlist.reload, /limitCells/);
  });

  test('dropping every limit is map deletions, zone first (limits off before their data goes)', () => {
    const shop = routeId('a.test/');
    const state = reloadedWith(model(web + ing(`${N}limit-rps: "10", ${N}limit-allowlist: "10.0.0.0/8"`)));
    const p = plan(state, model(web + ing('')), DEFAULT_PEM);
    assert.ok(!('reload' in p));
    assert.deepEqual(opSummary(p.ops), [
      'map-set maps/paths.map a.test/ --|be_default_web_80',
      `map-del maps/limit-zones.map ${shop}`,
      `map-del maps/limit-rps.map ${shop}`,
      `map-del maps/limit-exempt.map 10.0.0.0/8|${zoneKey('default/shop')}`,
      'map-del maps/limit-cells.map 10.0.0.0/8',
    ]);
  });
});
