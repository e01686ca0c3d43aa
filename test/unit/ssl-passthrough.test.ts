// ssl-passthrough: which Service a host passes its TLS to (the `/` path of any Ingress on it, else its default
// backend), what translate refuses (wildcards, no host, no `/`), the listener render writes only while some host
// passes through, and the runtime operations (the first host and the last leaving reload, the rest is map data,
// TCP spares and servers).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIngressAnnotations } from '../../src/translate/annotations/index.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { featuresInUse, renderConfig, renderMaps } from '../../src/haproxy/render/render.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import type { RoutingModel } from '../../src/model/types.js';
import { OPTIONS } from './render-model.js';
import { DEFAULT_PEM, ops, opSummary, reloadedWith, svc, translateYaml } from './plan-fixtures.js';

const N = 'nginx.ingress.kubernetes.io/';

const ing = (name: string, annotations: Record<string, string>, host: string, paths: [path: string, service: string, type?: string][], extra = ''): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
  creationTimestamp: "2020-01-01T00:00:00Z"
  annotations: {${Object.entries(annotations).map(([k, v]) => `${N}${k}: "${v}"`).join(', ')}}
spec:
${extra}  rules:
  - host: "${host}"
    http:
      paths: [${paths.map(([path, service, type]) => `{path: "${path}", pathType: ${type ?? 'Prefix'}, backend: {service: {name: ${service}, port: {number: 80}}}}`).join(', ')}]
---`;

const run = translateYaml;

const base = `${svc('web', ['10.0.0.1'])}${svc('tls', ['10.0.0.2'])}${svc('tls2', ['10.0.0.3'])}`;
const PT = { 'ssl-passthrough': 'true' };
const group = (m: RoutingModel, key: string) => m.hostGroups.find((g) => g.key === key)!;

void describe('the annotation', () => {
  test('"true"/"false" under both prefixes; anything else is A1 and ignored', () => {
    const f = new Findings('Ingress default/x');
    assert.equal(parseIngressAnnotations({ 'portico.dev/ssl-passthrough': 'true' }, f).sslPassthrough, true);
    assert.equal(parseIngressAnnotations({ [`${N}ssl-passthrough`]: 'false' }, f).sslPassthrough, false);
    assert.deepEqual(f.list, []);
    for (const bad of ['yes', 'true\n', ' true', 'true #', '{', 'x'.repeat(100_000)]) {
      const g = new Findings('Ingress default/x');
      assert.equal(parseIngressAnnotations({ [`${N}ssl-passthrough`]: bad }, g).sslPassthrough, undefined, JSON.stringify(bad.slice(0, 20)));
      assert.deepEqual(g.list.map((d) => d.rule), ['A1']);
    }
  });
});

void describe('translate', () => {
  test("the host's `/` Service, from whichever Ingress routes it; the host's routes to that port speak HTTPS", () => {
    const { model, diagnostics } = run(`${base}${ing('pass', PT, 'p.test', [['/api', 'web']])}${ing('root', {}, 'p.test', [['/', 'tls'], ['/more', 'tls']])}${ing('elsewhere', {}, 'q.test', [['/', 'tls']])}`);
    assert.deepEqual(diagnostics, []);
    const g = group(model, 'p.test');
    assert.equal(g.passthrough, 'be_default_tls_80_passthrough');
    assert.deepEqual(g.prefix.map((r) => `${r.path} ${r.backend}`), ['/ be_default_tls_80_https', '/api be_default_web_80', '/more be_default_tls_80_https']);
    assert.equal(group(model, 'q.test').prefix[0]!.backend, 'be_default_tls_80', 'another host on the same Service port is untouched');
    const be = model.backends.find((b) => b.name === 'be_default_tls_80_passthrough')!;
    assert.deepEqual(be.policy, { passthrough: true });
    assert.deepEqual(be.servers.map((s) => `${s.name} ${s.address}:${s.port}`), ['ep_10_0_0_2_3000 10.0.0.2:3000']);
  });

  test('a Prefix `/` wins over an Exact one; without `/`, the default backend; a backend-protocol already set is kept', () => {
    const both = run(`${base}${ing('a', PT, 'p.test', [['/', 'tls2', 'Exact'], ['/', 'tls']])}`).model;
    assert.equal(group(both, 'p.test').passthrough, 'be_default_tls_80_passthrough');
    const dflt = run(`${base}${ing('a', PT, 'p.test', [['/x', 'web']], '  defaultBackend: {service: {name: tls2, port: {number: 80}}}\n')}`).model;
    assert.equal(group(dflt, 'p.test').passthrough, 'be_default_tls2_80_passthrough');
    const svcUp = run(`${base.replaceAll('spec: {ports:', 'spec: {clusterIP: 10.96.0.7, ports:')}${ing('a', { ...PT, 'service-upstream': 'true' }, 'p.test', [['/', 'tls']])}`).model;
    assert.equal(group(svcUp, 'p.test').passthrough, 'be_default_tls_80_svc_passthrough');
    assert.deepEqual(svcUp.backends.find((b) => b.name === 'be_default_tls_80_svc_passthrough')!.servers.map((s) => `${s.address}:${s.port}`), ['10.96.0.7:80'], 'service-upstream: the cluster IP, as ingress-nginx dials');
    const grpcs = run(`${base}${ing('a', { ...PT, 'backend-protocol': 'GRPCS' }, 'p.test', [['/', 'tls']])}`).model;
    assert.equal(group(grpcs, 'p.test').prefix[0]!.backend, 'be_default_tls_80_grpcs');
  });

  test('no `/` and no default backend: A1, the SNI is refused; a wildcard or no host: A1, not passed through', () => {
    const none = run(`${base}${ing('a', PT, 'p.test', [['/sub', 'tls']])}`);
    assert.equal(group(none.model, 'p.test').passthrough, '');
    assert.deepEqual(none.diagnostics.map((d) => `${d.object} ${d.rule}`), ['Ingress default/a A1']);
    assert.equal(renderMaps(none.model).get('maps/passthrough.map'), 'p.test portico_refused\n');
    for (const host of ['*.w.test', '']) {
      const r = run(`${base}${ing('a', PT, host, [['/', 'tls']])}`);
      assert.equal(r.model.hostGroups[0]!.passthrough, undefined, host);
      assert.deepEqual(r.diagnostics.map((d) => d.rule), ['A1'], host);
      assert.ok(!featuresInUse(r.model).has('passthrough'));
    }
  });

  test('a canary Ingress asking for it does not make the host passthrough', () => {
    const { model } = run(`${base}${ing('main', {}, 'p.test', [['/', 'web']])}${ing('c', { ...PT, canary: 'true', 'canary-weight': '10' }, 'p.test', [['/', 'tls']])}`);
    assert.equal(group(model, 'p.test').passthrough, undefined);
  });
});

void describe('render', () => {
  test('no host passes through: the HTTPS frontend binds the port, no TCP section, no map', () => {
    const m = run(`${base}${ing('a', {}, 'p.test', [['/', 'tls']])}`).model;
    const config = renderConfig(m, OPTIONS);
    assert.ok(!config.includes('mode tcp') && !config.includes('passthrough') && !config.includes('accept-proxy') && !config.includes('spare_tcp'));
    assert.equal(renderMaps(m).has('maps/passthrough.map'), false);
  });

  test('some host does: the SNI frontend holds the port and the per-client limits; the terminating frontend listens on the hop only', () => {
    const m = run(`${base}${ing('a', PT, 'p.test', [['/', 'tls']])}`).model;
    assert.equal(renderMaps(m).get('maps/passthrough.map'), 'p.test be_default_tls_80_passthrough\n');
    const config = renderConfig(m, OPTIONS);
    const https = /frontend portico_https\n[\s\S]*?\n\n/.exec(config)![0];
    assert.match(https, /^ {2}bind unix@\S+\/https-in\.sock mode 600 accept-proxy ssl crt /m);
    assert.doesNotMatch(https, /bind :|track-sc0/);
    // Each terminated connection holds two of maxconn behind the hop: idle ones are closed at half the usual count.
    assert.match(https, new RegExp(`fe_conn gt ${Math.floor(OPTIONS.edge.closeIdleAbove / 2)} `));
    assert.match(/frontend portico_http\n[\s\S]*?\n\n/.exec(config)![0], new RegExp(`fe_conn gt ${OPTIONS.edge.closeIdleAbove} `));
    const sni = /frontend portico_https_sni\n[\s\S]*?\n\n/.exec(config)![0];
    assert.match(sni, new RegExp(`bind :${OPTIONS.httpsPort}\\n`));
    assert.match(sni, /tcp-request connection track-sc0 src/);
    assert.match(sni, /tcp-request inspect-delay 5s/);
    assert.match(config, /server https unix@\S+\/https-in\.sock send-proxy-v2/);
    // The TCP sections follow a TCP defaults section, after every HTTP section.
    assert.ok(config.indexOf('defaults portico_tcp') > config.lastIndexOf('backend spare_0'));
    assert.match(config, /backend be_default_tls_80_passthrough\n {2}balance roundrobin\n {2}retries 2\n {2}option redispatch 1\n {2}server ep_10_0_0_2_3000 10\.0\.0\.2:3000\n/);
    assert.match(config, /backend spare_tcp_1\n/);
    assert.doesNotMatch(config, /backend spare_tcp_2\n/);
  });
});

void describe('plan', () => {
  const plain = run(`${base}${ing('a', {}, 'p.test', [['/', 'tls']])}${ing('s', {}, 's.test', [['/', 'web']])}`).model;
  const one = run(`${base}${ing('a', PT, 'p.test', [['/', 'tls']])}${ing('s', {}, 's.test', [['/', 'web']])}`).model;
  const two = run(`${base}${ing('a', PT, 'p.test', [['/', 'tls']])}${ing('b', PT, 'q.test', [['/', 'tls2']])}${ing('s', {}, 's.test', [['/', 'web']])}`).model;
  const withSpares = (m: RoutingModel) => ({ ...reloadedWith(m), free: ['spare_0', 'spare_1', 'spare_tcp_0', 'spare_tcp_1'] });

  test('the first passthrough host takes a reload', () => {
    const p = plan(reloadedWith(plain), one, DEFAULT_PEM);
    assert.ok('reload' in p && /passthrough/.test(p.reload), JSON.stringify(p));
  });

  test('a second host on a new Service: a TCP spare, its server, then the map line', () => {
    const { ops: list } = ops(withSpares(one), two);
    assert.deepEqual(opSummary(list), [
      'add-server spare_0/ep_10_0_0_3_3000_https',
      'add-server spare_0/ep_10_0_0_3_3000_https_twin',
      'add-server spare_tcp_0/ep_10_0_0_3_3000',
      'add-server spare_tcp_0/ep_10_0_0_3_3000_twin',
      'map-add maps/passthrough.map q.test spare_tcp_0',
      'map-add maps/paths.map q.test/ --|spare_0',
      'map-add maps/hosts.map q.test q.test',
    ]);
  });

  test('no TCP spare left: a reload; a passthrough backend never takes a plain spare', () => {
    const p = plan({ ...reloadedWith(one), free: ['spare_0', 'spare_1', 'spare_2'] }, two, DEFAULT_PEM);
    assert.ok('reload' in p && /no tcp spare/.test(p.reload), JSON.stringify(p));
  });

  test('an endpoint added to a passthrough Service: servers only', () => {
    const more = run(`${base.replace("[{addresses: [10.0.0.2]}]", '[{addresses: [10.0.0.2]}, {addresses: [10.0.0.4]}]')}${ing('a', PT, 'p.test', [['/', 'tls']])}${ing('s', {}, 's.test', [['/', 'web']])}`).model;
    const summary = opSummary(ops(reloadedWith(one), more).ops);
    assert.ok(summary.includes('add-server be_default_tls_80_passthrough/ep_10_0_0_4_3000'), summary.join('\n'));
    assert.ok(summary.every((l) => l.includes('server')), summary.join('\n'));
  });

  test('one host leaving while another stays: map and servers; the last one leaving: a reload', () => {
    const { ops: list } = ops(withSpares(two), one);
    assert.ok(opSummary(list).includes('map-del maps/passthrough.map q.test'));
    const p = plan(reloadedWith(one), plain, DEFAULT_PEM);
    assert.ok('reload' in p && /no host passes TLS through/.test(p.reload), JSON.stringify(p));
  });
});
