// default-backend through real HAProxy: a route whose Service has no ready endpoint is served by the annotation's
// Service (its first port) instead of getting 503; a route whose Service has endpoints is not; endpoints appearing and
// going away switch between the two without a reload; a default backend without endpoints leaves the 503.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, endpointSlice, httpGet, ingress, manifestDir, reloadCount, service, singlePodApp, startEcho, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

/** The pod that answered a GET, or the status when it was not a 200. */
async function pod(host: string, path = '/'): Promise<string> {
  const r = await httpGet(portico.httpPort, { host, path });
  return r.status === 200 ? r.json<EchoReply>().pod : `status ${r.status}`;
}

const emptySlice = (withPod: boolean): string => endpointSlice({ name: 'db-empty-1', service: 'db-empty', ports: [{ port: 3000 }], endpoints: withPod ? [{ ip: '127.0.246.3' }] : [] });

before(async () => {
  dir = await manifestDir();
  pods.push(await startEcho({ pod: 'db-empty', ip: '127.0.246.3', port: 3000 }));
  await writeManifest(
    dir,
    'apps.yaml',
    docs(
      await singlePodApp(pods, 'db-main', '127.0.246.1'),
      // Two ports: the first (80 -> 3000) is the default backend's.
      service({ name: 'db-errors', ports: [{ name: 'http', port: 80, targetPort: 3000 }, { name: 'other', port: 81, targetPort: 3001 }] }),
      endpointSlice({ name: 'db-errors-1', service: 'db-errors', ports: [{ name: 'http', port: 3000 }, { name: 'other', port: 3001 }], endpoints: [{ ip: '127.0.246.2' }] }),
      service({ name: 'db-empty', ports: [{ port: 80, targetPort: 3000 }] }),
      service({ name: 'db-nothing', ports: [{ port: 80, targetPort: 3000 }] }),
    ),
  );
  pods.push(await startEcho({ pod: 'db-errors', ip: '127.0.246.2', port: 3000 }));
  await writeManifest(dir, 'slice.yaml', emptySlice(false));
  await writeManifest(
    dir,
    'routes.yaml',
    docs(
      ingress({
        name: 'db',
        annotations: { [`${P}default-backend`]: 'db-errors', [`${P}custom-http-errors`]: '404,503' },
        rules: [{ host: 'db.test', paths: [{ path: '/', pathType: 'Prefix', service: 'db-empty', port: 80 }, { path: '/live', pathType: 'Prefix', service: 'db-main', port: 80 }] }],
      }),
      ingress({ name: 'plain', rules: [{ host: 'plain.test', paths: [{ path: '/', pathType: 'Prefix', service: 'db-empty', port: 80 }] }] }),
      ingress({ name: 'both-empty', annotations: { [`${P}default-backend`]: 'db-nothing' }, rules: [{ host: 'none.test', paths: [{ path: '/', pathType: 'Prefix', service: 'db-empty', port: 80 }] }] }),
    ),
  );
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('default-backend', () => {
  test('a route whose Service has no endpoint is served by the default backend', async () => {
    assert.equal(await pod('db.test', '/x'), 'db-errors');
    const r = await httpGet(portico.httpPort, { host: 'db.test', path: '/some/path?q=1' });
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().pod, 'db-errors');
  });

  test('a route whose Service has endpoints is not', async () => {
    for (let i = 0; i < 5; i++) assert.equal(await pod('db.test', '/live'), 'db-main');
  });

  test('without the annotation, or with a default backend that has no endpoint either: 503', async () => {
    assert.equal(await pod('plain.test'), 'status 503');
    assert.equal(await pod('none.test'), 'status 503');
  });

  test('endpoints appearing take the route back, and going away hand it to the default backend again, without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'slice.yaml', emptySlice(true));
    await waitFor(async () => (await pod('db.test', '/x')) === 'db-empty', { timeoutMs: 5000, message: 'the route never went back to its own Service' });
    assert.equal(await pod('plain.test'), 'db-empty');
    await writeManifest(dir, 'slice.yaml', emptySlice(false));
    await waitFor(async () => (await pod('db.test', '/x')) === 'db-errors', { timeoutMs: 5000, message: 'the default backend never took the route again' });
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
