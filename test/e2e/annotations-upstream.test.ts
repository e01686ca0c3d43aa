// upstream-vhost through real HAProxy: the backend of the annotated Ingress's paths receives the configured Host,
// X-Forwarded-Host keeps the client's, other routes keep the client's Host, over HTTP and HTTPS; a changed value is
// live without a reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, httpGet, httpsGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const route = (name: string, path: string, vhost?: string): string =>
  ingress({ name, ...(vhost === undefined ? {} : { annotations: { [`${P}upstream-vhost`]: vhost } }), rules: [{ host: 'v.test', paths: [{ path, pathType: 'Prefix', service: 'vh', port: 80 }] }] });

/** The Host and X-Forwarded-Host the backend saw for a plain-HTTP GET of `path`. */
async function seen(path: string): Promise<{ host: string; forwardedHost: unknown }> {
  const r = await httpGet(portico.httpPort, { host: 'v.test', path });
  assert.equal(r.status, 200, `${path}: ${r.body.slice(0, 100)}`);
  const e = r.json<EchoReply>();
  return { host: e.host, forwardedHost: e.headers['x-forwarded-host'] };
}

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'vh', '127.0.64.1'));
  await writeManifest(dir, 'routes.yaml', docs(route('vhost', '/', 'backend.internal:8080'), route('plain', '/plain')));
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('upstream-vhost', () => {
  test("the annotated Ingress's backend gets the configured Host; X-Forwarded-Host keeps the client's", async () => {
    assert.deepEqual(await seen('/x'), { host: 'backend.internal:8080', forwardedHost: 'v.test' });
    const tls = await httpsGet(portico.httpsPort, { host: 'v.test', servername: 'v.test', path: '/x' });
    assert.equal(tls.json<EchoReply>().host, 'backend.internal:8080');
  });

  test("another Ingress's paths on the same host keep the client's Host", async () => {
    assert.deepEqual(await seen('/plain'), { host: 'v.test', forwardedHost: 'v.test' });
  });

  test('a changed value is live without a reload', async () => {
    const before = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', docs(route('vhost', '/', 'other.internal'), route('plain', '/plain')));
    await waitFor(async () => (await seen('/x')).host === 'other.internal', { timeoutMs: 5000, message: 'the new Host never arrived' });
    assert.equal(await reloadCount(portico.adminPort), before);
  });
});
