// ssl-ciphers, connection-proxy-header, disable-proxy-intercept-errors and the annotations HAProxy 2.6 has no
// counterpart of: what reaches the model, what the user reads (A6 only when the value asks for what is missing), and
// which changes the runtime API makes without a reload.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIngressAnnotations } from '../../src/translate/annotations/index.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { DEFAULT_PEM, ops, opSummary, reloadedWith, svc, translateYaml } from './plan-fixtures.js';

const N = 'nginx.ingress.kubernetes.io/';

function rulesOf(annotations: Record<string, string>): string[] {
  const f = new Findings('Ingress default/x');
  parseIngressAnnotations(annotations, f);
  return f.list.map((d) => `${d.rule} ${d.field.replace(/^metadata\.annotations\[nginx\.ingress\.kubernetes\.io\//, '').replace(/\]$/, '')}`);
}

const ing = (name: string, annotations: Record<string, string>, host = 't.test', created = '2020-01-01T00:00:00Z'): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
  creationTimestamp: "${created}"
  annotations: {${Object.entries(annotations).map(([k, v]) => `${N}${k}: "${v}"`).join(', ')}}
spec:
  rules:
  - host: ${host}
    http:
      paths: [{path: "/${name}", pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]
---`;

const run = translateYaml;
const base = svc('web', ['10.0.0.1']);

void describe('findings', () => {
  test('A6 when the value asks for what HAProxy 2.6 lacks; nothing when it does not', () => {
    assert.deepEqual(rulesOf({ [`${N}enable-modsecurity`]: 'true', [`${N}limit-rate`]: '100', [`${N}enable-opentelemetry`]: 'true', [`${N}ssl-prefer-server-ciphers`]: 'false' }), ['A6 enable-modsecurity', 'A6 limit-rate', 'A6 enable-opentelemetry', 'A6 ssl-prefer-server-ciphers'].sort((a, b) => rulesOrder(a) - rulesOrder(b)));
    assert.deepEqual(rulesOf({ [`${N}enable-modsecurity`]: 'false', [`${N}limit-rate`]: '0', [`${N}limit-rate-after`]: '0', [`${N}ssl-prefer-server-ciphers`]: 'true' }), []);
  });

  test('accepted with nothing to do: no finding; a bad value is still A1', () => {
    assert.deepEqual(rulesOf({ [`${N}http2-push-preload`]: 'true', [`${N}enable-rewrite-log`]: 'true', [`${N}enable-access-log`]: 'false', [`${N}connection-proxy-header`]: 'keep-alive', [`${N}disable-proxy-intercept-errors`]: 'true' }), []);
    assert.deepEqual(rulesOf({ [`${N}http2-push-preload`]: 'yes please', [`${N}connection-proxy-header`]: 'upgrade', [`${N}limit-rate`]: '-1' }), ['A1 connection-proxy-header', 'A1 http2-push-preload', 'A1 limit-rate'].sort((a, b) => rulesOrder(a) - rulesOrder(b)));
  });
});

/** Findings come in registry order; this sorts expectations the same way without restating the registry. */
function rulesOrder(line: string): number {
  return ['connection-proxy-header', 'ssl-prefer-server-ciphers', 'enable-modsecurity', 'enable-opentelemetry', 'limit-rate', 'http2-push-preload'].indexOf(line.split(' ')[1]!);
}

void describe('model', () => {
  test('ssl-ciphers: the oldest Ingress on the host decides; the SNI line carries the list', () => {
    const { model } = run(`${base}${ing('old', { 'ssl-ciphers': 'HIGH:!aNULL' }, 't.test', '2020-01-01T00:00:00Z')}${ing('new', { 'ssl-ciphers': 'ECDHE+AESGCM' }, 't.test', '2021-01-01T00:00:00Z')}`);
    assert.deepEqual(model.sni, [{ host: 't.test', certificate: 'default', ciphers: 'HIGH:!aNULL' }]);
    assert.equal(model.hostGroups[0]!.sslCiphers, 'HIGH:!aNULL');
  });

  test('connection-proxy-header: close marks the route; keep-alive does not', () => {
    const { model } = run(`${base}${ing('a', { 'connection-proxy-header': 'close' })}${ing('b', { 'connection-proxy-header': 'keep-alive' })}`);
    const byPath = new Map(model.hostGroups[0]!.prefix.map((r) => [r.path, r.policy.closeUpstreamConnection]));
    assert.deepEqual([byPath.get('/a'), byPath.get('/b')], [true, undefined]);
  });

  test("disable-proxy-intercept-errors: the route keeps its default backend and loses custom-http-errors", () => {
    const errors = svc('errors', ['10.0.0.9']);
    const { model } = run(`${base}${errors}${ing('a', { 'default-backend': 'errors', 'custom-http-errors': '404', 'disable-proxy-intercept-errors': 'true' })}${ing('b', { 'default-backend': 'errors', 'custom-http-errors': '404' })}`);
    const byPath = new Map(model.hostGroups[0]!.prefix.map((r) => [r.path, r.policy]));
    assert.equal(byPath.get('/a')!.customHttpErrors, undefined);
    assert.equal(byPath.get('/a')!.defaultBackend, byPath.get('/b')!.defaultBackend);
    assert.deepEqual(byPath.get('/b')!.customHttpErrors?.codes, [404]);
  });
});

void describe('runtime', () => {
  test('a changed cipher list is a crt-list line replaced at runtime, the new one first', () => {
    const before = reloadedWith(run(`${base}${ing('a', { 'ssl-ciphers': 'HIGH' })}`).model);
    const list = ops(before, run(`${base}${ing('a', { 'ssl-ciphers': 'ECDHE+AESGCM' })}`).model).ops;
    const summary = opSummary(list);
    const add = list.findIndex((o) => o.op === 'sni-add' && / \[ciphers ECDHE\+AESGCM\] t\.test$/.test(o.line ?? ''));
    const del = list.findIndex((o) => o.op === 'sni-del' && o.host === 't.test');
    assert.ok(add >= 0 && del > add, summary.join('\n'));
  });

  test('connection-proxy-header close: the first route takes a reload, the next is a map line', () => {
    const first = `${base}${ing('a', { 'connection-proxy-header': 'close' })}`;
    assert.ok('reload' in plan(reloadedWith(run(`${base}${ing('a', {})}`).model), run(first).model, DEFAULT_PEM));
    const summary = opSummary(ops(reloadedWith(run(first).model), run(`${first}${ing('b', { 'connection-proxy-header': 'close' })}`).model).ops);
    assert.ok(summary.some((l) => /^map-add maps\/connection-close\.map p\.\w+ 1$/.test(l)), summary.join('\n'));
  });
});
