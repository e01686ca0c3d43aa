// Persistent cookie affinity, render and runtime side: the pods' keys in affinity-servers.map (ingress-nginx's
// md5(<upstream> .. <address>:<port>)), keyed by the section that serves them, follow the servers at runtime; a
// mode or change-on-failure change is a map update; the map exists, empty, while a sticky Service has no pod.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { affinityServerLines, endpointKey } from '../../src/haproxy/render/policy/affinity.js';
import { renderMaps } from '../../src/haproxy/render/render.js';
import type { Backend } from '../../src/model/types.js';
import { model, opSummary, ops, reloadedWith, svc } from './plan-fixtures.js';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

const sticky = (name: string, service: string, host: string, mode: 'balanced' | 'persistent', changeOnFailure = false): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  annotations:
    nginx.ingress.kubernetes.io/affinity: cookie
    nginx.ingress.kubernetes.io/affinity-mode: ${mode}
    nginx.ingress.kubernetes.io/session-cookie-change-on-failure: "${changeOnFailure}"
spec:
  rules: [{host: ${host}, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: ${service}, port: {number: 80}}}}]}}]
---`;

const SERVERS = 'maps/affinity-servers.map';
const key = (ip: string, upstream = 'default-web-80'): string => md5(`${upstream}${ip}:3000`);

describe('pod keys', () => {
  test("ingress-nginx's nodemap key: md5 of the upstream name followed by address:port", () => {
    assert.equal(endpointKey({ namespace: 'default', service: 'web', port: 80 }, '10.0.0.1', 8080), '0aa3b49d3795ad62718deaa56ec75fae');
    assert.equal(endpointKey({ namespace: 'default', service: 'web', port: 'http' }, 'fd00::1', 8080), md5('default-web-httpfd00::1:8080'));
  });

  test("a sticky backend's lines: key to server and server to key, a lone pod's twin too; none for a plain backend", () => {
    const b: Backend = { name: 'be_default_web_80_sticky', ref: { namespace: 'default', service: 'web', port: 80 }, policy: { affinity: true }, servers: [{ name: 'ep_10_0_0_1_3000', address: '10.0.0.1', port: 3000, ready: true }] };
    const k = key('10.0.0.1');
    assert.deepEqual(affinityServerLines(b, 'spare_sticky_0'), [
      [`spare_sticky_0/${k}`, 'ep_10_0_0_1_3000'],
      ['spare_sticky_0/ep_10_0_0_1_3000', k],
      ['spare_sticky_0/ep_10_0_0_1_3000_twin', k],
    ]);
    assert.deepEqual(affinityServerLines({ ...b, policy: {} }, 'be_default_web_80'), []);
  });

  test('render refuses a section, server name or upstream that could break a map line', () => {
    const b: Backend = { name: 'x', ref: { namespace: 'default', service: 'web', port: 80 }, policy: { affinity: true }, servers: [{ name: 'ep_1', address: '10.0.0.1', port: 3000, ready: true }] };
    assert.throws(() => affinityServerLines(b, 'a b'), /refusing affinity section/);
    assert.throws(() => affinityServerLines({ ...b, servers: [{ ...b.servers[0]!, name: 'a\nb' }] }, 's'), /refusing affinity server name/);
    assert.throws(() => affinityServerLines({ ...b, ref: { ...b.ref, service: 'a b' } }, 's'), /refusing affinity upstream name/);
  });
});

describe('affinity-servers.map', () => {
  test('rendered for every sticky backend, keyed by its section; present and empty while no sticky Service has a pod', () => {
    const maps = renderMaps(model(svc('web', ['127.0.0.2', '127.0.0.3']) + sticky('a', 'web', 'a.test', 'persistent')));
    const lines = (maps.get(SERVERS) ?? '').split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 4);
    assert.ok(lines.includes(`be_default_web_80_sticky/${key('127.0.0.2')} ep_127_0_0_2_3000`));
    assert.ok(lines.includes(`be_default_web_80_sticky/ep_127_0_0_3_3000 ${key('127.0.0.3')}`));
    assert.equal(renderMaps(model(svc('web', []) + sticky('a', 'web', 'a.test', 'persistent'))).get(SERVERS), '');
    assert.equal(renderMaps(model(svc('web', ['127.0.0.2']))).has(SERVERS), false, 'no affinity, no map');
  });
});

describe('runtime', () => {
  const base = (ips: string[], mode: 'balanced' | 'persistent' = 'persistent', cof = false): string => svc('web', ips) + sticky('a', 'web', 'a.test', mode, cof);

  test('a pod added or removed: the server and its lines, added before use and removed after, no reload', () => {
    const up = ops(reloadedWith(model(base(['127.0.0.2', '127.0.0.3']))), model(base(['127.0.0.2', '127.0.0.3', '127.0.0.4'])));
    assert.deepEqual(opSummary(up.ops), [
      'add-server be_default_web_80_sticky/ep_127_0_0_4_3000',
      `map-add ${SERVERS} be_default_web_80_sticky/${key('127.0.0.4')} ep_127_0_0_4_3000`,
      `map-add ${SERVERS} be_default_web_80_sticky/ep_127_0_0_4_3000 ${key('127.0.0.4')}`,
    ]);
    const down = ops(up.next, model(base(['127.0.0.3', '127.0.0.4'])));
    assert.deepEqual(opSummary(down.ops), [
      `map-del ${SERVERS} be_default_web_80_sticky/${key('127.0.0.2')}`,
      `map-del ${SERVERS} be_default_web_80_sticky/ep_127_0_0_2_3000`,
      'del-server be_default_web_80_sticky/ep_127_0_0_2_3000',
    ]);
  });

  test('a new sticky Service bound to a sticky spare: its lines are keyed by the spare', () => {
    const state = { ...reloadedWith(model(base(['127.0.0.2']))), free: ['spare_0', 'spare_sticky_0'] };
    const p = ops(state, model(base(['127.0.0.2']) + svc('api', ['127.0.0.9']) + sticky('b', 'api', 'b.test', 'persistent')));
    const k = key('127.0.0.9', 'default-api-80');
    const summary = opSummary(p.ops);
    assert.ok(summary.includes(`map-add ${SERVERS} spare_sticky_0/${k} ep_127_0_0_9_3000`), summary.join('\n'));
    assert.ok(summary.includes(`map-add ${SERVERS} spare_sticky_0/ep_127_0_0_9_3000_twin ${k}`), summary.join('\n'));
  });

  test('balanced to persistent, and change-on-failure, are one map-set of the route line (flags p and f)', () => {
    const balanced = reloadedWith(model(base(['127.0.0.2', '127.0.0.3'], 'balanced')));
    const p = ops(balanced, model(base(['127.0.0.2', '127.0.0.3'], 'persistent', true)));
    assert.equal(p.ops.length, 1);
    assert.match(opSummary(p.ops)[0]!, /^map-set maps\/affinity\.map p\.[0-9a-f]{16} fp;INGRESSCOOKIE;be_default_web_80_sticky;/);
  });
});
