// plan(): the runtime operations for changes the main plan tests do not make (found by mutation testing): the
// catch-all and wildcard maps, SNI names moving between certificates, a model rebuilt from unchanged objects, a
// Service that comes back, and the exact size at which a map is swapped whole.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostGroup, RoutingModel } from '../../src/model/types.js';
import { MAP_REPLACE_THRESHOLD, plan } from '../../src/haproxy/runtime/plan.js';
import { DEFAULT_PEM, model, opSummary, ops, reloadedWith, svc } from './plan-fixtures.js';
import type { Op } from '../../src/haproxy/runtime/plan.js';

const summary = (list: Op[]): string[] => opSummary(list, { sniList: true });


const ing = (name: string, host: string, service: string, extra = ''): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}}
spec:
  ${extra}
  rules: [{host: '${host}', http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: ${service}, port: {number: 80}}}}]}}]
---`;

const catchAll = (name: string, service: string): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}}
spec: {defaultBackend: {service: {name: ${service}, port: {number: 80}}}}
---`;

/** Certificates without the cost of real key pairs: plan compares ids and PEM text only. */
function withCertificates(m: RoutingModel, certs: Record<string, string>, sni: Record<string, string>): RoutingModel {
  return {
    ...m,
    certificates: Object.entries(certs)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([id, pem]) => ({ id, secret: `default/${id}`, pem, dnsNames: [], notBefore: '2020-01-01T00:00:00.000Z', notAfter: '2030-01-01T00:00:00.000Z', sha256: id })),
    sni: Object.entries(sni)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([host, certificate]) => ({ host, certificate })),
  };
}

describe('runtime plan: the changes the main tests leave out', () => {
  const base = svc('web', ['127.0.0.2']) + svc('api', ['127.0.0.3']) + ing('a', 'a.test', 'web');

  test('a model rebuilt from the same objects (new object identities, same content) needs nothing', () => {
    const certs = { default_a: 'A\n', default_b: 'B\n' };
    const sni = { 'a.test': 'default_a', 'b.test': 'default_b' };
    const ext = `\napiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec: {type: ExternalName, externalName: db.example, ports: [{port: 80}]}\n---`;
    const yaml = base + catchAll('dflt', 'web') + ext + ing('e', 'e.test', 'ext') + ing('w', '*.w.test', 'api');
    const before = withCertificates(model(yaml), certs, sni);
    const after = withCertificates(model(yaml), certs, sni);
    assert.notEqual(before.backends[0], after.backends[0], 'the second model holds new objects');
    assert.deepEqual(summary(ops(reloadedWith(before), after).ops), []);
  });

  test('a new or changed ExternalName target needs a reload, and says which backend', () => {
    const ext = (target: string): string => `\napiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec: {type: ExternalName, externalName: ${target}, ports: [{port: 80}]}\n---`;
    const withExt = (target: string): RoutingModel => model(base + ext(target) + ing('e', 'e.test', 'ext'));
    assert.deepEqual(plan(reloadedWith(withExt('a.example')), withExt('b.example'), DEFAULT_PEM), { reload: 'backend be_default_ext_80: ExternalName Service added or changed' });
  });

  test('the catch-all (a rule-less Ingress) is added, moved to another Service and removed at runtime', () => {
    const start = reloadedWith(model(base));
    const added = ops(start, model(base + catchAll('dflt', 'web')));
    assert.deepEqual(summary(added.ops), ['map-add maps/defaults.map *catch-all* --|be_default_web_80']);
    const moved = ops(added.next, model(base + catchAll('dflt', 'api')));
    // api had no route at the reload, so it has no section of its own: it is bound to a spare.
    assert.deepEqual(summary(moved.ops), ['add-server spare_0/ep_127_0_0_3_3000', 'add-server spare_0/ep_127_0_0_3_3000_twin', 'map-set maps/defaults.map *catch-all* --|spare_0']);
    assert.deepEqual(summary(ops(moved.next, model(base)).ops), ['map-del maps/defaults.map *catch-all*', 'del-server spare_0/ep_127_0_0_3_3000', 'del-server spare_0/ep_127_0_0_3_3000_twin']);
  });

  test('a wildcard host goes into the wildcard map, after its paths', () => {
    const p = ops(reloadedWith(model(base)), model(base + ing('w', '*.w.test', 'api')));
    assert.deepEqual(summary(p.ops), ['add-server spare_0/ep_127_0_0_3_3000', 'add-server spare_0/ep_127_0_0_3_3000_twin', 'map-add maps/paths.map *.w.test/ --|spare_0', 'map-add maps/wildcards.map *.w.test *.w.test']);
  });

  test('a Service deleted and created again between reloads gets its servers back in its own section', () => {
    const start = reloadedWith(model(base));
    const gone = ops(start, model(svc('api', ['127.0.0.3']) + ing('a', 'a.test', 'web')));
    assert.deepEqual(summary(gone.ops), ['del-server be_default_web_80/ep_127_0_0_2_3000', 'del-server be_default_web_80/ep_127_0_0_2_3000_twin']);
    const back = ops(gone.next, model(base));
    assert.deepEqual(summary(back.ops), ['add-server be_default_web_80/ep_127_0_0_2_3000', 'add-server be_default_web_80/ep_127_0_0_2_3000_twin']);
    // Its only Ingress removed, the backend leaves the model; it keeps its section, and gets it back unchanged.
    const unrouted = ops(back.next, model(svc('web', ['127.0.0.2']) + svc('api', ['127.0.0.3'])));
    assert.deepEqual(summary(unrouted.ops), ['map-del maps/hosts.map a.test', 'map-del maps/paths.map a.test/', 'del-server be_default_web_80/ep_127_0_0_2_3000', 'del-server be_default_web_80/ep_127_0_0_2_3000_twin']);
    const rerouted = ops(unrouted.next, model(base));
    assert.deepEqual(summary(rerouted.ops), ['add-server be_default_web_80/ep_127_0_0_2_3000', 'add-server be_default_web_80/ep_127_0_0_2_3000_twin', 'map-add maps/paths.map a.test/ --|be_default_web_80', 'map-add maps/hosts.map a.test a.test']);
  });

  test('certificates and SNI names: one added between two others, and a name moving to another certificate', () => {
    const m = model(base);
    const start = reloadedWith(withCertificates(m, { default_a: 'A\n', default_c: 'C\n' }, { 'a.test': 'default_a', 'c.test': 'default_c' }));
    const added = ops(start, withCertificates(m, { default_a: 'A\n', default_b: 'B\n', default_c: 'C\n' }, { 'a.test': 'default_a', 'b.test': 'default_b', 'c.test': 'default_c' }));
    assert.deepEqual(summary(added.ops), ['cert-new certs/default_b.pem', 'sni-add certs/crt-list.txt certs/default_b.pem b.test']);
    const moved = ops(added.next, withCertificates(m, { default_a: 'A\n', default_b: 'B\n', default_c: 'C\n' }, { 'a.test': 'default_a', 'b.test': 'default_b', 'c.test': 'default_b' }));
    // The new line goes in before the old one leaves: c.test never falls back to the default certificate.
    assert.deepEqual(summary(moved.ops), ['sni-add certs/crt-list.txt certs/default_b.pem c.test', 'sni-del certs/crt-list.txt certs/default_c.pem c.test', 'cert-del certs/default_c.pem']);
  });

  test('a map is swapped whole only above MAP_REPLACE_THRESHOLD entry changes, adds and deletions counted together', () => {
    const target = { backend: 'be_default_web_80', policy: { redirectToHttps: false }, source: { ingress: 'default/x', rule: 0, path: 0 } };
    const group = (key: string): HostGroup => ({ key, exact: [], prefix: [{ ...target, path: '/', pathType: 'Prefix', matchPrefix: '/' }] });
    const hosts = (from: number, n: number): HostGroup[] => Array.from({ length: n }, (_, i) => group(`h${String(from + i).padStart(5, '0')}.test`));
    const m = model(base);
    const at = (groups: HostGroup[]): RoutingModel => ({ ...m, hostGroups: [...m.hostGroups, ...groups].sort((a, b) => (a.key < b.key ? -1 : 1)) });
    // Exactly the threshold: entry by entry.
    const exact = ops(reloadedWith(m), at(hosts(0, MAP_REPLACE_THRESHOLD)));
    assert.equal(exact.ops.filter((o) => o.op === 'map-add').length, 2 * MAP_REPLACE_THRESHOLD);
    assert.equal(exact.ops.filter((o) => o.op === 'map-replace').length, 0);
    // 600 hosts leave and 600 others arrive: 1,200 changes to each map, so both are swapped whole.
    const swapped = ops(reloadedWith(at(hosts(0, 600))), at(hosts(600, 600)));
    assert.deepEqual(summary(swapped.ops), ['map-replace maps/paths.map', 'map-replace maps/hosts.map']);
  });
});
