// proxy-connect-timeout and proxy-next-upstream*: the grammars (ingress-nginx's words, what HAProxy 2.6 cannot do),
// the policy (ingress-nginx's defaults for the unset ones, HAProxy's retry-on words), the model (a backend of its own
// per set of values), render (the section lines, re-checked) and plan (a new such backend reloads; scaling is runtime).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RetryPolicy, RoutingModel } from '../../src/model/types.js';
import { nextUpstream, nextUpstreamTimeout, retryPolicyOf, UNLIMITED_RETRIES } from '../../src/translate/annotations/retries.js';
import type { AnnotationValues } from '../../src/translate/annotations/registry.js';
import { renderConfig, retryLines } from '../../src/haproxy/render/render.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { OPTIONS, backend, group, model as renderModel, sectionLines, BACKEND } from './render-model.js';
import { DEFAULT_PEM, annotatedIngress as ing, model, opSummary, ops, reloadedWith, svc } from './plan-fixtures.js';

const policy = (v: AnnotationValues): Omit<RetryPolicy, 'id'> | undefined => {
  const p = retryPolicyOf(v);
  if (!p) return undefined;
  const { id, ...rest } = p;
  assert.match(id, /^[0-9a-f]{8}$/);
  return rest;
};

void describe('proxy-next-upstream grammars', () => {
  test("ingress-nginx's words, any case, spaces and tabs between them, duplicates dropped", () => {
    const p = nextUpstream.parse(' Error\ttimeout  HTTP_503 error ');
    assert.deepEqual(p, { ok: true, value: ['error', 'timeout', 'http_503'] });
    for (const w of ['invalid_header', 'http_500', 'http_502', 'http_504', 'http_403', 'http_404', 'non_idempotent', 'off']) assert.ok(nextUpstream.parse(w).ok, w);
  });

  test('http_429 is refused with the reason (HAProxy 2.6 cannot retry on it); unknown words, empty values, line breaks too', () => {
    const p = nextUpstream.parse('error http_429');
    assert.ok(!p.ok && /429/.test(p.reason));
    for (const raw of ['', '   ', 'error,timeout', 'http_418', 'error\ntimeout', 'error\n  server evil 1.2.3.4:80', 'constructor', '__proto__']) assert.equal(nextUpstream.parse(raw).ok, false, JSON.stringify(raw));
  });

  test('proxy-next-upstream-timeout: only 0', () => {
    assert.deepEqual(nextUpstreamTimeout.parse('0'), { ok: true, value: 0 });
    const p = nextUpstreamTimeout.parse('5');
    assert.ok(!p.ok && /cannot limit/.test(p.reason));
    assert.equal(nextUpstreamTimeout.parse('x').ok, false);
  });
});

void describe('retry policy', () => {
  test('none set: no policy (the plain section)', () => {
    assert.equal(retryPolicyOf({}), undefined);
    assert.equal(retryPolicyOf({ proxyNextUpstreamTimeout: 0 }), undefined);
  });

  test("one set: ingress-nginx's defaults for the others (error timeout, 3 tries)", () => {
    assert.deepEqual(policy({ proxyConnectTimeout: 2 }), { connectSeconds: 2, retries: 2, retryOn: ['conn-failure', 'empty-response', 'response-timeout'], idempotentOnly: true });
  });

  test('words become retry-on keywords; tries one more than retries; 0 tries is the cap; off and non_idempotent', () => {
    assert.deepEqual(policy({ proxyNextUpstream: ['http_503', 'invalid_header'], proxyNextUpstreamTries: 5 }), { retries: 4, retryOn: ['503', 'junk-response'], idempotentOnly: true });
    assert.deepEqual(policy({ proxyNextUpstream: ['http_502', 'non_idempotent'], proxyNextUpstreamTries: 0 }), { retries: UNLIMITED_RETRIES, retryOn: ['502'], idempotentOnly: false });
    assert.deepEqual(policy({ proxyNextUpstream: ['off', 'http_502'] }), { retries: 0, retryOn: ['none'], idempotentOnly: true });
    assert.deepEqual(policy({ proxyNextUpstream: ['non_idempotent'] }), { retries: 0, retryOn: ['none'], idempotentOnly: false });
    assert.deepEqual(policy({ proxyNextUpstreamTries: 1 }), { retries: 0, retryOn: ['conn-failure', 'empty-response', 'response-timeout'], idempotentOnly: true });
  });

  test('the id follows the values: equal values, one backend; different values, another', () => {
    assert.equal(retryPolicyOf({ proxyConnectTimeout: 2 })!.id, retryPolicyOf({ proxyConnectTimeout: 2, proxyNextUpstream: ['error', 'timeout'] })!.id);
    assert.notEqual(retryPolicyOf({ proxyConnectTimeout: 2 })!.id, retryPolicyOf({ proxyConnectTimeout: 3 })!.id);
  });

  test('the model: a backend per Service port and retry values, the plain one untouched; invalid values leave it plain', () => {
    const m = model(svc('web', ['10.0.0.1']) + ing('a', 'a.test', 'web', { 'proxy-connect-timeout': '2' }) + ing('b', 'b.test', 'web') + ing('c', 'c.test', 'web', { 'proxy-next-upstream': 'http_429', 'proxy-next-upstream-timeout': '9' }));
    const names = m.backends.map((b) => b.name).sort();
    assert.equal(names.length, 2);
    assert.equal(names[0], 'be_default_web_80');
    assert.match(names[1]!, /^be_default_web_80_retry[0-9a-f]{8}$/);
    // Server names are the plain ones: a retry section is never a spare, so no name needs to tell it apart.
    assert.deepEqual(m.backends.map((b) => b.servers[0]!.name), ['ep_10_0_0_1_3000', 'ep_10_0_0_1_3000']);
  });
});

void describe('retry policy rendered', () => {
  test('the plain section keeps retries 2 and no retry-on', () => {
    assert.deepEqual(retryLines(undefined), ['  retries 2']);
  });

  test('a policy is its lines; the method rule only when a layer-7 retry could replay a request', () => {
    const r = retryPolicyOf({ proxyConnectTimeout: 7, proxyNextUpstream: ['error', 'http_503'], proxyNextUpstreamTries: 2 })!;
    const m = renderModel({ backends: [backend({ policy: { retry: r } })], hostGroups: [group()] });
    const lines = sectionLines(renderConfig(m, OPTIONS), `backend ${BACKEND}`);
    for (const want of ['retries 1', 'retry-on conn-failure empty-response 503', 'timeout connect 7s', 'http-request disable-l7-retry if { method POST LOCK PATCH }', 'option redispatch 1']) assert.ok(lines.includes(want), `${want} in ${lines.join(' / ')}`);
    assert.ok(!lines.includes('retries 2'));
    assert.deepEqual(retryLines({ id: 'x', retries: 2, retryOn: ['conn-failure'], idempotentOnly: true }), ['  retries 2', '  retry-on conn-failure']);
    assert.deepEqual(retryLines({ id: 'x', retries: 2, retryOn: ['503'], idempotentOnly: false }), ['  retries 2', '  retry-on 503']);
  });

  test('render re-checks every token: words outside the set, repeated or empty lists, bad numbers', () => {
    const bad: RetryPolicy[] = [
      { id: 'x', retries: 1, retryOn: ['429'], idempotentOnly: true },
      { id: 'x', retries: 1, retryOn: ['503\n  server evil 1.2.3.4:80'], idempotentOnly: true },
      { id: 'x', retries: 1, retryOn: ['constructor'], idempotentOnly: true },
      { id: 'x', retries: 1, retryOn: [], idempotentOnly: true },
      { id: 'x', retries: 1, retryOn: ['503', '503'], idempotentOnly: true },
      { id: 'x', retries: -1, retryOn: ['503'], idempotentOnly: true },
      { id: 'x', retries: 1.5, retryOn: ['503'], idempotentOnly: true },
      { id: 'x', retries: 1001, retryOn: ['503'], idempotentOnly: true },
      { id: 'x', retries: NaN, retryOn: ['503'], idempotentOnly: true },
      { id: 'x', connectSeconds: 0, retries: 1, retryOn: ['503'], idempotentOnly: true },
      { id: 'x', connectSeconds: 2.5, retries: 1, retryOn: ['503'], idempotentOnly: true },
    ];
    for (const r of bad) {
      assert.throws(() => retryLines(r), /render: refusing/, JSON.stringify(r));
      assert.throws(() => renderConfig(renderModel({ backends: [backend({ policy: { retry: r } })], hostGroups: [group()] }), OPTIONS), /render: refusing/);
    }
  });

  test('spares stay plain: no spare carries retry lines', () => {
    const r = retryPolicyOf({ proxyConnectTimeout: 7 })!;
    const cfg = renderConfig(renderModel({ backends: [backend({ policy: { retry: r } })], hostGroups: [group()] }), OPTIONS);
    const spare = sectionLines(cfg, 'backend spare_0');
    assert.ok(spare.includes('retries 2'));
    assert.ok(!spare.some((l) => l.startsWith('retry-on') || l.startsWith('timeout connect')));
  });
});

void describe('retry policy at runtime', () => {
  const web = (ips: string[]): string => svc('web', ips);
  const A = { 'proxy-next-upstream': 'error timeout http_503' };

  test('a new retry backend takes a reload even with spares free; afterwards scaling it is runtime', () => {
    const start = reloadedWith(model(web(['10.0.0.1']) + ing('s', 's.test', 'web')));
    const next = model(web(['10.0.0.1']) + ing('s', 's.test', 'web', A));
    const name = next.backends[0]!.name;
    assert.deepEqual(plan(start, next, DEFAULT_PEM), { reload: `backend ${name}: a retry policy needs a section of its own` });
    const live = reloadedWith(next);
    const p = ops(live, model(web(['10.0.0.1', '10.0.0.2']) + ing('s', 's.test', 'web', A)));
    // (a lone server has a twin, dropped once there are two)
    assert.deepEqual(opSummary(p.ops), [`add-server ${name}/ep_10_0_0_2_3000`, `del-server ${name}/ep_10_0_0_1_3000_twin`]);
  });

  test('dropping the annotations is runtime when the plain backend exists or a spare is free', () => {
    const live = reloadedWith(model(web(['10.0.0.1']) + ing('s', 's.test', 'web', A)));
    const p = ops(live, model(web(['10.0.0.1']) + ing('s', 's.test', 'web')));
    assert.ok(opSummary(p.ops).some((o) => o.startsWith('add-server spare_0/')));
  });

  test('a retry policy changed under the same name is a reload (defence: names carry the id)', () => {
    const m = model(web(['10.0.0.1']) + ing('s', 's.test', 'web', A));
    const changed: RoutingModel = { ...m, backends: m.backends.map((b) => ({ ...b, policy: { retry: { ...b.policy!.retry!, id: 'other' } } })) };
    assert.deepEqual(plan(reloadedWith(m), changed, DEFAULT_PEM), { reload: `backend ${m.backends[0]!.name}: protocol, affinity, TLS, retry, balance or FastCGI policy changed` });
  });
});
