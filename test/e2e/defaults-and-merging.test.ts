// Default backends (D1-D6), rules without host (H4-H6) and several Ingresses sharing hosts (M1-M8).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, httpGet, waitFor, ingress, manifestDir, startPortico, writeManifest } from './harness/index.js';
import { singlePodApp, stopEverything } from './harness/index.js';
import type { Echo } from './harness/index.js';

const pods: Echo[] = [];
let port = 0;
let manifests = '';

const app = (name: string, ip: string): Promise<string> => singlePodApp(pods, name, ip);

async function podFor(host: string, path: string, method = 'GET'): Promise<string> {
  const r = await httpGet(port, { host, path, method });
  return r.status === 200 ? r.json<{ pod: string }>().pod : `HTTP ${r.status}`;
}

const prefix = (path: string, svc: string) => ({ path, pathType: 'Prefix' as const, service: svc, port: 80 });

before(async () => {
  const dir = await manifestDir();
  const names = ['catch-all', 'catch-all-newer', 'host-default', 'only-backend', 'api', 'old', 'new', 'shadow', 'any-host', 'resource-fallback'];
  const apps: string[] = [];
  for (const [i, n] of names.entries()) apps.push(await app(n, `127.0.30.${i + 1}`));
  await writeManifest(dir, 'apps.yaml', docs(...apps));
  await writeManifest(
    dir,
    'ingresses.yaml',
    docs(
      // D1, D2: the oldest rule-less Ingress is the catch-all.
      ingress({ name: 'catch-all', creationTimestamp: '2024-01-01T00:00:00Z', defaultBackend: { service: 'catch-all', port: 80 }, rules: [] }),
      ingress({ name: 'catch-all-newer', creationTimestamp: '2024-06-01T00:00:00Z', defaultBackend: { service: 'catch-all-newer', port: 80 }, rules: [] }),
      // D3: rules plus a defaultBackend: the fallback for its own hosts only.
      ingress({ name: 'with-default', defaultBackend: { service: 'host-default', port: 80 }, rules: [{ host: 'site.test', paths: [prefix('/api', 'api')] }] }),
      // M8: a host without http claims the host; its requests go to the Ingress defaultBackend.
      ingress({ name: 'only-backend', defaultBackend: { service: 'only-backend', port: 80 }, rules: [{ host: 'only-backend.test' }] }),
      ingress({ name: 'only-backend-without-default', rules: [{ host: 'only-backend-doesnotexist.test' }, { host: 'site2.test', paths: [prefix('/x', 'api')] }] }),
      // M2, M3: two Ingresses share a host; the same path in both goes to the older one.
      ingress({ name: 'merge-old', creationTimestamp: '2024-01-01T00:00:00Z', rules: [{ host: 'shared.test', paths: [prefix('/same', 'old'), prefix('/old', 'old')] }] }),
      ingress({ name: 'merge-new', creationTimestamp: '2024-02-01T00:00:00Z', rules: [{ host: 'shared.test', paths: [prefix('/same', 'new'), prefix('/new', 'new'), prefix('/same/deeper', 'new')] }] }),
      ingress({ name: 'shadow', rules: [{ host: 'shadow.test', paths: [prefix('/mine', 'shadow')] }] }),
      // D6: a resource backend is skipped; the request falls to the next match.
      `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: resource, namespace: default }
spec:
  rules:
    - host: resource.test
      http:
        paths:
          - { path: /res, pathType: Prefix, backend: { resource: { apiGroup: k8s.example.com, kind: StorageBucket, name: static } } }
          - { path: /, pathType: Prefix, backend: { service: { name: resource-fallback, port: { number: 80 } } } }
`,
    ),
  );
  manifests = dir;
  const p = await startPortico({ manifests: [dir] });
  await p.waitReady();
  port = p.httpPort;
});

after(() => stopEverything(pods));

describe('default backends', () => {
  test('an Ingress with rules and a defaultBackend uses it for its unmatched paths (D3)', async () => {
    assert.equal(await podFor('site.test', '/api/v1'), 'api');
    assert.equal(await podFor('site.test', '/other'), 'host-default');
  });
  test('a host without http rules sends everything to its defaultBackend, or 404 without one (M8)', async () => {
    assert.equal(await podFor('only-backend.test', '/anything'), 'only-backend');
    assert.equal(await podFor('only-backend-doesnotexist.test', '/'), 'HTTP 404');
  });
  test('a host group without a matching path does not use the catch-all (D5, H6)', async () => {
    assert.equal(await podFor('site2.test', '/nomatch'), 'HTTP 404');
  });
  test('a resource backend is skipped and the next match serves (D6)', async () => {
    assert.equal(await podFor('resource.test', '/res/file'), 'resource-fallback');
  });
});

describe('the catch-all (D1, D2)', () => {
  test('the oldest rule-less Ingress gets every request that matches no host group, any method (D1, D2)', async () => {
    for (const m of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) assert.equal(await podFor('unknown.example', '/x', m), 'catch-all', m);
    assert.equal(await podFor('127.0.0.1', '/'), 'catch-all'); // H8: a bare IP as Host
  });
});

describe('rules without host (H4-H6)', () => {
  before(async () => {
    // Rules without host form a group of their own: from now on every host has a group, so the catch-all is unused.
    await writeManifest(manifests, 'any-host.yaml', ingress({ name: 'any-host', rules: [{ paths: [prefix('/anyhost', 'any-host')] }] }));
    await waitFor(async () => (await podFor('random.example', '/anyhost/x')) === 'any-host', { timeoutMs: 5000, message: 'any-host rule never went live' });
  });
  test('a path of the any-host rule serves every host that matches no other group (H4)', async () => {
    assert.equal(await podFor('random.example', '/anyhost/x'), 'any-host');
    assert.equal(await podFor('127.0.0.1', '/anyhost'), 'any-host');
  });
  test('a matched host group is final: no fallback to the any-host rules (H6)', async () => {
    assert.equal(await podFor('shadow.test', '/mine'), 'shadow');
    assert.equal(await podFor('shadow.test', '/anyhost'), 'HTTP 404');
  });
  test('an unmatched path in the any-host group gets 404, not the catch-all (H5 step 3, D5)', async () => {
    assert.equal(await podFor('random.example', '/elsewhere'), 'HTTP 404');
  });
});

describe('several Ingresses on one host (M1-M8)', () => {
  test('their paths are merged (M2)', async () => {
    assert.equal(await podFor('shared.test', '/old'), 'old');
    assert.equal(await podFor('shared.test', '/new'), 'new');
  });
  test('the same path in two Ingresses goes to the older one (M3)', async () => {
    assert.equal(await podFor('shared.test', '/same'), 'old');
    assert.equal(await podFor('shared.test', '/same/x'), 'old');
  });
  test('precedence crosses Ingresses: the longer path of the newer Ingress wins (M2, P10)', async () => {
    assert.equal(await podFor('shared.test', '/same/deeper/x'), 'new');
  });
  test('every method reaches the backend (D1, X2)', async () => {
    for (const m of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) assert.equal(await podFor('shared.test', '/old', m), 'old', m);
  });
});
