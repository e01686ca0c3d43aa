// default-backend and custom-http-errors: the grammars, the backend translate makes of the annotation (the Service's
// first port, spoken to as the route's), the line render writes and its rules only while some route has one, and the
// runtime operations (the first route takes a reload, a changed Service is a spare and a map update).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { httpErrorCodes, serviceName } from '../../src/translate/annotations/default-backend.js';
import { parseIngressAnnotations } from '../../src/translate/annotations/index.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { defaultBackendValue } from '../../src/haproxy/render/policy/default-backend.js';
import { customErrorsValue } from '../../src/haproxy/render/policy/custom-http-errors.js';
import { featuresInUse, renderConfig, renderMaps } from '../../src/haproxy/render/render.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { OPTIONS } from './render-model.js';
import { DEFAULT_PEM, ops, opSummary, reloadedWith, svc, translateYaml } from './plan-fixtures.js';

const N = 'nginx.ingress.kubernetes.io/';

void describe('the grammars', () => {
  test('default-backend: a Service name of the namespace, spaces around it ignored', () => {
    assert.deepEqual(serviceName.parse(' errors '), { ok: true, value: 'errors' });
    for (const bad of ['other/errors', 'Errors', '1abc', 'a_b', '', 'a'.repeat(64), 'a\nb']) assert.equal(serviceName.parse(bad).ok, false, JSON.stringify(bad));
  });

  test('custom-http-errors: codes 400-599, comma-separated, spaces and empty items ignored, sorted without duplicates', () => {
    assert.deepEqual(httpErrorCodes.parse('503, 404,,404'), { ok: true, value: [404, 503] });
    assert.deepEqual(httpErrorCodes.parse('599,400'), { ok: true, value: [400, 599] });
    for (const bad of ['600', '399', '40x', '404;503', '', ',', '4040', '+404']) assert.equal(httpErrorCodes.parse(bad).ok, false, JSON.stringify(bad));
  });

  test('read under both prefixes; a bad value is A1', () => {
    const f = new Findings('Ingress default/x');
    const v = parseIngressAnnotations({ [`${N}default-backend`]: 'errors', 'portico.dev/custom-http-errors': '503' }, f);
    assert.equal(v.defaultBackend, 'errors');
    assert.deepEqual(v.customHttpErrors, [503]);
    assert.deepEqual(f.list, []);
    const g = new Findings('Ingress default/x');
    parseIngressAnnotations({ [`${N}default-backend`]: 'ns/errors' }, g);
    assert.deepEqual(g.list.map((d) => d.rule), ['A1']);
  });
});

const ing = (name: string, annotations: Record<string, string>, paths: [string, string][], host = 'd.test'): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
  creationTimestamp: "2020-01-01T00:00:00Z"
  annotations: {${Object.entries(annotations).map(([k, v]) => `${N}${k}: "${v}"`).join(', ')}}
spec:
  rules:
  - host: ${host}
    http:
      paths: [${paths.map(([path, service]) => `{path: "${path}", pathType: Prefix, backend: {service: {name: ${service}, port: {number: 80}}}}`).join(', ')}]
---`;

const run = translateYaml;

const base = `${svc('web', ['10.0.0.1'])}${svc('errors', ['10.0.0.9'])}${svc('errors2', ['10.0.0.8'])}`;

void describe('translate', () => {
  test("the annotation's Service is a backend of its own (first port, `_0`), named in the route's policy", () => {
    const { model, diagnostics } = run(`${base}${ing('main', { 'default-backend': 'errors' }, [['/', 'web']])}`);
    assert.deepEqual(diagnostics, []);
    const route = model.hostGroups[0]!.prefix[0]!;
    assert.equal(route.policy.defaultBackend, 'be_default_errors_0');
    const be = model.backends.find((b) => b.name === 'be_default_errors_0');
    assert.deepEqual(be?.servers.map((s) => `${s.address}:${s.port}`), ['10.0.0.9:3000']);
  });

  test('spoken to with the route\'s protocol, without affinity', () => {
    const { model } = run(`${base}${ing('main', { 'default-backend': 'errors', 'backend-protocol': 'GRPC', affinity: 'cookie' }, [['/', 'web']])}`);
    assert.equal(model.hostGroups[0]!.prefix[0]!.policy.defaultBackend, 'be_default_errors_0_grpc');
  });

  test('a missing Service: B3 for its first port, the route keeps the line (a section with no server)', () => {
    const { model, diagnostics } = run(`${base}${ing('main', { 'default-backend': 'nosuch' }, [['/', 'web']])}`);
    assert.deepEqual(diagnostics.map((d) => d.rule), ['B3']);
    assert.equal(model.hostGroups[0]!.prefix[0]!.policy.defaultBackend, 'be_default_nosuch_0');
  });
});

void describe('render', () => {
  test('no route with it: no map, no rule, no Lua', () => {
    const m = run(`${base}${ing('main', {}, [['/', 'web']])}`).model;
    const config = renderConfig(m, OPTIONS);
    assert.ok(!config.includes('dflt_be') && !config.includes('default-backend'));
    assert.ok(!featuresInUse(m).has('defaultBackend'));
  });

  test('a route with it: one line naming the section, the rules after the canary\'s and affinity\'s', () => {
    const m = run(`${base}${ing('main', { 'default-backend': 'errors' }, [['/', 'web']])}`).model;
    const maps = renderMaps(m);
    assert.match(maps.get('maps/default-backend.map') ?? '', /^p\.[0-9a-f]{16} be_default_errors_0\n$/);
    const config = renderConfig(m, OPTIONS);
    assert.match(config, /lua-load .*lua\/default-backend\.lua/);
    assert.match(config, /http-request lua\.portico_default_backend if \{ var\(txn\.dflt_be\) -m found \}/);
  });

  test('a section name outside the grammar is refused', () => {
    assert.throws(() => defaultBackendValue('x', () => 'be x'), /refusing/);
    assert.equal(defaultBackendValue('x', () => 'spare_3'), 'spare_3');
  });
});

void describe('custom-http-errors', () => {
  test('with default-backend: the codes and what the error backend learns of the route (Service port as written)', () => {
    const { model, diagnostics } = run(`${base}${ing('main', { 'default-backend': 'errors', 'custom-http-errors': '503,404' }, [['/', 'web']])}`);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(model.hostGroups[0]!.prefix[0]!.policy.customHttpErrors, { codes: [404, 503], namespace: 'default', ingress: 'main', service: 'web', port: '80' });
    const maps = renderMaps(model);
    assert.match(maps.get('maps/custom-errors.map') ?? '', /^p\.[0-9a-f]{16} 404\.503;be_default_errors_0;default;main;web;80\n$/);
    const config = renderConfig(model, OPTIONS);
    assert.match(config, /lua-load .*lua\/custom-errors\.lua/);
    assert.match(config, /http-response lua\.portico_custom_errors if \{ var\(txn\.cerr\) -m found \} \{ status 400:599 \}/);
    assert.match(config, /http-request set-var\(txn\.cerr_accept\) req\.fhdr\(accept\)/);
  });

  test('without default-backend (no controller-wide one yet), or with a non-HTTP backend-protocol: nothing', () => {
    for (const a of [{ 'custom-http-errors': '404' } as Record<string, string>, { 'custom-http-errors': '404', 'default-backend': 'errors', 'backend-protocol': 'HTTPS' }]) {
      const { model } = run(`${base}${ing('main', a, [['/', 'web']])}`);
      assert.equal(model.hostGroups[0]!.prefix[0]!.policy.customHttpErrors, undefined);
      assert.ok(!featuresInUse(model).has('customErrors'));
      const config = renderConfig(model, OPTIONS);
      assert.ok(!config.includes('cerr') && !config.includes('custom-errors'));
    }
  });

  test('render refuses what translate never makes', () => {
    const e = { codes: [404], namespace: 'default', ingress: 'main', service: 'web', port: '80' };
    const of = (): string => 'be_x';
    assert.equal(customErrorsValue(e, 'x', of), '404;be_x;default;main;web;80');
    assert.equal(customErrorsValue({ ...e, port: 'http' }, 'x', of), '404;be_x;default;main;web;http');
    for (const bad of [{ codes: [] }, { codes: [399] }, { codes: [600] }, { codes: [404.5] }, { namespace: 'a;b' }, { ingress: 'A' }, { service: 'a\nb' }, { port: '80;x' }, { port: 'a b' }])
      assert.throws(() => customErrorsValue({ ...e, ...bad }, 'x', of), /refusing/, JSON.stringify(bad));
    assert.throws(() => customErrorsValue(e, 'x', () => 'be x'), /refusing/);
  });

  test('the first route with it takes a reload; changed codes are a map update', () => {
    const withCodes = (codes: string): string => `${base}${ing('main', { 'default-backend': 'errors', 'custom-http-errors': codes }, [['/', 'web']])}`;
    const only = `${base}${ing('main', { 'default-backend': 'errors' }, [['/', 'web']])}`;
    assert.ok('reload' in plan(reloadedWith(run(only).model), run(withCodes('404')).model, DEFAULT_PEM));
    const summary = opSummary(ops(reloadedWith(run(withCodes('404')).model), run(withCodes('404,500')).model).ops);
    assert.ok(summary.some((l) => /^map-set maps\/custom-errors\.map p\.\w+ 404\.500;/.test(l)), summary.join('\n'));
  });
});

void describe('runtime', () => {
  const plain = `${base}${ing('main', {}, [['/', 'web']])}`;
  const withIt = (service: string): string => `${base}${ing('main', { 'default-backend': service }, [['/', 'web']])}`;

  test('the first route with it takes a reload', () => {
    const p = plan(reloadedWith(run(plain).model), run(withIt('errors')).model, DEFAULT_PEM);
    assert.ok('reload' in p);
  });

  test('another Service: a spare bound at runtime and a map update naming it', () => {
    const state = reloadedWith(run(withIt('errors')).model);
    const next = ops(state, run(withIt('errors2')).model);
    const summary = opSummary(next.ops);
    assert.ok(summary.some((l) => /^add-server spare_\d+\/ep_10_0_0_8_3000/.test(l)), summary.join('\n'));
    assert.ok(summary.some((l) => /^map-set maps\/default-backend\.map p\.\w+ spare_\d+$/.test(l)), summary.join('\n'));
  });
});
