// custom-headers and auth-proxy-set-headers: what a ConfigMap's entries become (and which are refused, and what that
// costs the route), render's own re-check of what reaches a map or a rule, and what a change costs at runtime: a
// changed value or a removed header is a map update, a header name no route used before takes a reload.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Obj } from '../../src/k8s/objects.js';
import { customHeadersOf, MAX_CONFIGMAP_HEADERS } from '../../src/translate/annotations/custom-headers.js';
import { authProxyHeadersOf, MAX_PROXY_HEADER_CHARS } from '../../src/translate/annotations/auth-external.js';
import { parseIngressAnnotations } from '../../src/translate/annotations/index.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { authProxyHeadersValue } from '../../src/haproxy/render/policy/auth-external.js';
import { CUSTOM_HEADERS_FAMILY } from '../../src/haproxy/render/policy/custom-headers.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { DEFAULT_PEM, model, ops, reloadedWith } from './plan-fixtures.js';

const P = 'nginx.ingress.kubernetes.io/';
const ING = { namespace: 'shop', ref: 'Ingress shop/web' };
const values = (a: Record<string, string>) => parseIngressAnnotations(Object.fromEntries(Object.entries(a).map(([k, v]) => [P + k, v])), new Findings(ING.ref));
const store = (data: Record<string, unknown>, key = 'shop/h') => (k: string): Obj | undefined => (k === key ? { metadata: { name: key.split('/')[1], namespace: key.split('/')[0] }, data } : undefined);

void describe('custom-headers', () => {
  test('each key a lowercase header name, each value literal text ($ and %[ included)', () => {
    const r = customHeadersOf(values({ 'custom-headers': 'h' }), ING, store({ 'X-Frame-Options': 'DENY', CSP: "a 'b'; $host %[src] #c" }));
    assert.deepEqual(r, { headers: { csp: "a 'b'; $host %[src] #c", 'x-frame-options': 'DENY' }, diagnostics: [] });
  });

  test('a bad entry is left out with a finding on the ConfigMap naming its key; the others apply', () => {
    const r = customHeadersOf(
      values({ 'custom-headers': 'shop/h' }),
      ING,
      store({ 'X-Ok': 'yes', 'x.dot': 'a', 'Content-Length': '1', 'X-Portico-Route': 'x', 'X-Nl': 'a\r\nb', 'X-Empty': '  ', 'X-Long': 'a'.repeat(1025), 'x-ok': 'second', 'X-Num': 5 }),
    );
    assert.deepEqual(r.headers, { 'x-ok': 'yes' });
    assert.deepEqual(
      r.diagnostics.map((d) => [d.object, d.field, d.rule]),
      ['Content-Length', 'X-Empty', 'X-Long', 'X-Nl', 'X-Portico-Route', 'x-ok', 'x.dot'].map((k) => ['ConfigMap shop/h', `data[${k}]`, 'custom-headers']),
    );
    assert.ok(r.diagnostics.every((d) => d.message.endsWith('; this header is left out')));
  });

  test(`at most ${MAX_CONFIGMAP_HEADERS} headers`, () => {
    const data = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`X-H${String(i).padStart(2, '0')}`, 'v']));
    const r = customHeadersOf(values({ 'custom-headers': 'h' }), ING, store(data));
    assert.equal(Object.keys(r.headers ?? {}).length, MAX_CONFIGMAP_HEADERS);
    assert.equal(r.diagnostics.length, 40 - MAX_CONFIGMAP_HEADERS);
  });

  test('a missing ConfigMap, or one of another namespace, refuses the route (503) with a finding on the Ingress', () => {
    for (const ref of ['nowhere', 'other/h']) {
      const r = customHeadersOf(values({ 'custom-headers': ref }), ING, store({ A: '1' }, 'other/h'));
      assert.equal(r.refuse, true, ref);
      assert.equal(r.diagnostics[0]?.object, ING.ref);
      assert.equal(r.diagnostics[0]?.field, `metadata.annotations[${P}custom-headers]`);
    }
  });

  test('an annotation value that fails the grammar is ignored (A1), as in ingress-nginx', () => {
    const f = new Findings(ING.ref);
    const v = parseIngressAnnotations({ [`${P}custom-headers`]: 'a/b/c' }, f);
    assert.equal(v.customHeaders, undefined);
    assert.deepEqual(customHeadersOf(v, ING, store({})), { diagnostics: [] });
    assert.equal(f.list[0]?.rule, 'A1');
  });
});

void describe('auth-proxy-set-headers', () => {
  const withUrl = (ref: string) => values({ 'auth-url': 'http://auth.test/check', 'auth-proxy-set-headers': ref });

  test('values may hold the snippet variables, kept as ${name} templates; an empty value stays (it removes the header)', () => {
    const r = authProxyHeadersOf(withUrl('h'), ING, store({ 'X-Tenant': '$http_x_tenant@${HOST}', 'X-Static': 'a b', 'X-Gone': '' }));
    assert.deepEqual(r, { headers: { 'x-gone': '', 'x-static': 'a b', 'x-tenant': '${http_x_tenant}@${host}' }, diagnostics: [] });
  });

  test('any refused entry (Host, a framing header, an unknown variable, a line break) refuses the whole route', () => {
    for (const data of [{ Host: 'x' }, { 'Transfer-Encoding': 'chunked' }, { 'X-T': 't=$msec' }, { 'X-N': 'a\nb' }, { 'a b': '1' }]) {
      const r = authProxyHeadersOf(withUrl('h'), ING, store({ 'X-Ok': '1', ...data }));
      assert.equal(r.refuse, true, JSON.stringify(data));
      assert.equal(r.headers, undefined);
      assert.match(r.diagnostics[0]!.message, /every request to the paths of Ingress shop\/web gets 503/);
    }
  });

  test(`names and values together at most ${MAX_PROXY_HEADER_CHARS} characters: their map line stays a word HAProxy takes`, () => {
    const data = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`X-${i}`, '%'.repeat(400)]));
    assert.equal(authProxyHeadersOf(withUrl('h'), ING, store(data)).refuse, true);
    const fits = Object.fromEntries(Array.from({ length: 2 }, (_, i) => [`X-${i}`, '%'.repeat(400)]));
    const r = authProxyHeadersOf(withUrl('h'), ING, store(fits));
    assert.ok(authProxyHeadersValue(r.headers!).length <= 4096);
  });

  test('without auth-url it has no effect and reads nothing', () => {
    let read = false;
    const r = authProxyHeadersOf(values({ 'auth-proxy-set-headers': 'h' }), ING, () => ((read = true), undefined));
    assert.deepEqual(r, { diagnostics: [] });
    assert.equal(read, false);
  });

  test('a missing ConfigMap refuses the route', () => {
    assert.equal(authProxyHeadersOf(withUrl('nowhere'), ING, store({})).refuse, true);
  });
});

void describe('render re-checks what reaches a map or a rule (fails closed)', () => {
  test('a custom header name that is not a plain token, or a value with a line break, is refused', () => {
    const data = (customHeaders: Record<string, string>) => CUSTOM_HEADERS_FAMILY.data({ redirectToHttps: false, customHeaders }, () => '');
    assert.deepEqual(data({ 'x-a': 'a b;#' }), [['customHeaders', 'a%20b%3B%23', '|x-a']]);
    assert.throws(() => data({ 'x-a\n  http-request deny': 'v' }), /refusing header name/);
    assert.throws(() => data({ 'transfer-encoding': 'v' }), /refusing header name/);
    assert.throws(() => data({ 'x-a': 'a\nb' }), /refusing snippet value/);
  });

  test('an auth proxy header line: names in order, values percent-encoded; Host and a line break refused', () => {
    assert.equal(authProxyHeadersValue({ 'x-b': '${host};x', 'x-a': '' }), 'x-a=;x-b=%24%7Bhost%7D%3Bx');
    assert.throws(() => authProxyHeadersValue({ host: 'x' }), /refusing auth proxy header/);
    assert.throws(() => authProxyHeadersValue({ 'x-a': 'a\r\nb' }), /refusing auth proxy header/);
  });
});

void describe('runtime: what a ConfigMap change costs', () => {
  const yaml = (data: Record<string, string>, annotation = 'custom-headers', auth = false): string => `
apiVersion: v1
kind: ConfigMap
metadata: {name: h, namespace: default}
data: ${JSON.stringify(data)}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
  annotations: {${P}${annotation}: h${auth ? `, ${P}auth-url: "http://auth.test/check"` : ''}}
spec:
  rules:
  - host: app.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`;

  test('custom-headers: a changed value and a removed header are map updates; a new name takes a reload', () => {
    const state = reloadedWith(model(yaml({ 'X-A': '1', 'X-B': '2' })));
    const changed = ops(state, model(yaml({ 'X-A': 'changed', 'X-B': '2' })));
    assert.deepEqual(changed.ops.filter((o) => o.op.startsWith('map-')).length, 1, JSON.stringify(changed.ops));
    assert.match(JSON.stringify(changed.ops), /custom-headers\.map.*changed/);
    const removed = ops(state, model(yaml({ 'X-A': '1' })));
    assert.match(JSON.stringify(removed.ops), /custom-headers\.map/);
    const p = plan(state, model(yaml({ 'X-A': '1', 'X-B': '2', 'X-New': '3' })), DEFAULT_PEM);
    assert.ok('reload' in p);
    assert.match(p.reload, /custom-header:x-new/);
  });

  test('auth-proxy-set-headers: any change of the data, a new name included, is a map update', () => {
    const state = reloadedWith(model(yaml({ 'X-A': '1' }, 'auth-proxy-set-headers', true)));
    const r = ops(state, model(yaml({ 'X-A': '2', 'X-New': '$host' }, 'auth-proxy-set-headers', true)));
    const maps = r.ops.filter((o) => o.op.startsWith('map-'));
    assert.equal(maps.length, 1, JSON.stringify(r.ops));
    assert.match(JSON.stringify(maps[0]), /auth-proxy-headers\.map/);
  });
});
