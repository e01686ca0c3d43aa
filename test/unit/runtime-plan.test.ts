// plan(): which runtime API operations turn the live model into the next one, and when only a reload will do.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoutingModel } from '../../src/model/types.js';
import { MAP_REPLACE_THRESHOLD, plan } from '../../src/haproxy/runtime/plan.js';
import { parseManifestText } from '../../src/sources/manifests/parse.js';
import { snapshotFromFiles } from '../../src/store/store.js';
import { translate } from '../../src/translate/translate.js';
import { DEFAULT_PEM, model, opSummary, ops, reloadedWith, svc } from './plan-fixtures.js';
import type { Op } from '../../src/haproxy/runtime/plan.js';
import { cliArg } from '../../src/haproxy/process/runtime-cli.js';
import { crtListLine } from '../../src/haproxy/runtime/execute.js';
import { makeCert, tlsSecretYaml } from '../e2e/harness/certs.js';


const ing = (name: string, host: string, service: string, path = '/', extra = ''): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}}
spec:
  ${extra}
  rules: [{host: ${host}, http: {paths: [{path: '${path}', pathType: Prefix, backend: {service: {name: ${service}, port: {number: 80}}}}]}}]
---`;

const summary = (list: Op[]): string[] => opSummary(list);

describe('runtime plan', () => {
  const base = svc('web', ['127.0.0.2', '127.0.0.3']) + ing('a', 'a.test', 'web');

  test('an unchanged model needs nothing', () => {
    assert.deepEqual(ops(reloadedWith(model(base)), model(base)).ops, []);
  });

  test('a new Ingress on an existing Service is map entries only, paths before the host', () => {
    const p = ops(reloadedWith(model(base)), model(base + ing('b', 'b.test', 'web', '/api')));
    assert.deepEqual(summary(p.ops), ['map-add maps/paths.map b.test/api/ --|be_default_web_80', 'map-add maps/paths.map b.test/api? --|be_default_web_80', 'map-add maps/hosts.map b.test b.test']);
  });

  test('a removed Ingress leaves the host map first, then its paths', () => {
    const p = ops(reloadedWith(model(base + ing('b', 'b.test', 'web', '/api'))), model(base));
    assert.deepEqual(summary(p.ops), ['map-del maps/hosts.map b.test', 'map-del maps/paths.map b.test/api/', 'map-del maps/paths.map b.test/api?']);
  });

  test('a changed path edits entries in place where the key stays', () => {
    const apiUsed = base + svc('api', ['127.0.0.9']) + ing('c', 'c.test', 'api');
    const p = ops(reloadedWith(model(apiUsed + ing('b', 'b.test', 'web'))), model(apiUsed + ing('b', 'b.test', 'api')));
    assert.deepEqual(summary(p.ops), ['map-set maps/paths.map b.test/ --|be_default_api_80']);
  });

  test('an endpoint change adds and removes servers and touches no map', () => {
    const p = ops(reloadedWith(model(base)), model(svc('web', ['127.0.0.3', '127.0.0.4']) + ing('a', 'a.test', 'web')));
    assert.deepEqual(summary(p.ops), ['add-server be_default_web_80/ep_127_0_0_4_3000', 'del-server be_default_web_80/ep_127_0_0_2_3000']);
  });

  test('a lone endpoint has a twin; a second endpoint replaces the twin, and losing it brings the twin back', () => {
    const one = reloadedWith(model(svc('web', ['127.0.0.2']) + ing('a', 'a.test', 'web')));
    const two = ops(one, model(svc('web', ['127.0.0.2', '127.0.0.3']) + ing('a', 'a.test', 'web')));
    assert.deepEqual(summary(two.ops), ['add-server be_default_web_80/ep_127_0_0_3_3000', 'del-server be_default_web_80/ep_127_0_0_2_3000_twin']);
    const back = ops(two.next, model(svc('web', ['127.0.0.3']) + ing('a', 'a.test', 'web')));
    assert.deepEqual(summary(back.ops), ['add-server be_default_web_80/ep_127_0_0_3_3000_twin', 'del-server be_default_web_80/ep_127_0_0_2_3000']);
  });

  test('a new Service is bound to a spare section; when it goes, the spare is freed and its servers deleted', () => {
    const start = reloadedWith(model(base));
    const added = ops(start, model(base + svc('new', ['127.0.0.7']) + ing('n', 'n.test', 'new')));
    // A lone endpoint is dialled under two names (render.ts, dialledServers).
    assert.deepEqual(summary(added.ops), ['add-server spare_0/ep_127_0_0_7_3000', 'add-server spare_0/ep_127_0_0_7_3000_twin', 'map-add maps/paths.map n.test/ --|spare_0', 'map-add maps/hosts.map n.test n.test']);
    assert.deepEqual([...added.next.bound], [['be_default_new_80', 'spare_0']]);
    assert.deepEqual(added.next.free, ['spare_1']);
    const removed = ops(added.next, model(base));
    assert.deepEqual(summary(removed.ops), ['map-del maps/hosts.map n.test', 'map-del maps/paths.map n.test/', 'del-server spare_0/ep_127_0_0_7_3000', 'del-server spare_0/ep_127_0_0_7_3000_twin']);
    assert.deepEqual(removed.next.free, ['spare_1', 'spare_0']);
    assert.equal(removed.next.bound.size, 0);
  });

  test('with no spare section left, a new Service needs a reload', () => {
    const p = plan(reloadedWith(model(base), 0), model(base + svc('new', ['127.0.0.7']) + ing('n', 'n.test', 'new')), DEFAULT_PEM);
    assert.deepEqual(p, { reload: 'no spare backend section left for be_default_new_80' });
  });

  test('a new or changed ExternalName Service needs a reload; removing one does not', () => {
    const ext = (target: string): string => `
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: ${target}, ports: [{port: 80}]}
---`;
    const withExt = (target: string): RoutingModel => model(base + ext(target) + ing('e', 'e.test', 'ext'));
    assert.ok('reload' in plan(reloadedWith(model(base)), withExt('a.example'), DEFAULT_PEM));
    assert.ok('reload' in plan(reloadedWith(withExt('a.example')), withExt('b.example'), DEFAULT_PEM));
    assert.deepEqual(summary(ops(reloadedWith(withExt('a.example')), model(base)).ops), ['map-del maps/hosts.map e.test', 'map-del maps/paths.map e.test/']);
  });

  test('certificates: a new one is created and bound before use; a rotation is replaced in place; an unused one is removed after its SNI line', () => {
    const a = makeCert({ cn: 'plan-a', dnsNames: ['s.test'], keyFormat: 'pkcs8' });
    const b = makeCert({ cn: 'plan-b', dnsNames: ['s.test'], keyFormat: 'pkcs8' });
    const tls = `tls: [{hosts: [s.test], secretName: s}]`;
    const withCert = (pair: typeof a): RoutingModel => model(`${base}\n${tlsSecretYaml('default', 's', pair)}\n---` + ing('s', 's.test', 'web', '/', tls));
    const added = ops(reloadedWith(model(base)), withCert(a));
    assert.deepEqual(summary(added.ops).filter((s) => !s.startsWith('map')), ['cert-new certs/default_s.pem', 'sni-add certs/default_s.pem s.test']);
    assert.deepEqual(summary(ops(added.next, withCert(b)).ops), ['cert-set certs/default_s.pem']);
    const removed = ops(added.next, model(base));
    assert.deepEqual(summary(removed.ops).filter((s) => !s.startsWith('map')), ['sni-del certs/default_s.pem s.test', 'cert-del certs/default_s.pem']);
  });

  test('a change too big for entry-by-entry edits swaps the whole map', () => {
    const many = Array.from({ length: MAP_REPLACE_THRESHOLD + 1 }, (_, i) => ing(`i${i}`, `h${i}.test`, 'web')).join('');
    const p = ops(reloadedWith(model(base)), model(base + many));
    assert.deepEqual(summary(p.ops), ['map-replace maps/paths.map', 'map-replace maps/hosts.map']);
    const hosts = p.ops[1] as Extract<Op, { op: 'map-replace' }>;
    assert.equal(hosts.content.split('\n').filter(Boolean).length, MAP_REPLACE_THRESHOLD + 2);
  });
});

describe('runtime API arguments', () => {
  test('";" and "\\" are escaped, whitespace is refused', () => {
    assert.equal(cliArg('a.test/x;y'), 'a.test/x\\;y');
    assert.equal(cliArg('a\\b'), 'a\\\\b');
    assert.throws(() => cliArg('a b'), /whitespace/);
  });

  test('crt-list line numbers are read from show ssl crt-list -n', () => {
    const listing = '# /d/certs/crt-list.txt\n/d/certs/a.pem:1 a.test\n/d/certs/a.pem:4 b.test\n/d/certs/b.pem:2 [alpn h2] c.test\n';
    assert.equal(crtListLine(listing, '/d/certs/a.pem', 'b.test'), 4);
    assert.equal(crtListLine(listing, '/d/certs/b.pem', 'c.test'), 2);
    assert.equal(crtListLine(listing, '/d/certs/a.pem', 'c.test'), undefined);
  });
});

describe('the default certificate', () => {
  test('a Secret used only as --default-ssl-certificate is rotated through default.pem, never under its own file', () => {
    const a = makeCert({ cn: 'dflt-a', dnsNames: ['fallback.example'], keyFormat: 'pkcs8' });
    const b = makeCert({ cn: 'dflt-b', dnsNames: ['fallback.example'], keyFormat: 'pkcs8' });
    const withDefault = (pair: typeof a): RoutingModel => {
      const parsed = parseManifestText(`${svc('web', ['127.0.0.2'])}\n${tlsSecretYaml('default', 'fallback', pair)}\n---` + ing('a', 'a.test', 'web'));
      assert.ok(parsed.ok);
      const { snapshot } = snapshotFromFiles(new Map([['f', parsed.objects]]));
      return translate(snapshot, { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true, defaultCertificateSecret: 'default/fallback' }).model;
    };
    const before = withDefault(a);
    const state = { ...reloadedWith(before), defaultCertPem: before.certificates[0]!.pem };
    assert.deepEqual(summary(ops(state, withDefault(b)).ops), ['cert-set certs/default.pem']);
  });
});
