// app-root through real HAProxy: a request for `/` on the host is redirected with 302 to the path, whichever route
// (or none) would serve `/`, over HTTP and HTTPS, with the Host as sent; other paths and hosts are served as before;
// a changed path is live without a reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, httpGet, httpsGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const routes = (appRoot: string): string =>
  docs(
    ingress({ name: 'app', annotations: { 'nginx.ingress.kubernetes.io/app-root': appRoot }, rules: [{ host: 'app.test', paths: [{ path: '/app1', pathType: 'Prefix', service: 'ar', port: 80 }] }] }),
    ingress({ name: 'plain', rules: [{ host: 'plain.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ar', port: 80 }] }] }),
  );

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'ar', '127.0.231.1'));
  await writeManifest(dir, 'routes.yaml', routes('/app1'));
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('app-root', () => {
  test('`/` is redirected with 302 even though no route serves it; the query is dropped, as nginx tests $uri', async () => {
    for (const path of ['/', '/?x=1']) {
      const r = await httpGet(portico.httpPort, { host: 'app.test', path });
      assert.equal(r.status, 302, path);
      assert.equal(r.headers.location, 'http://app.test/app1');
    }
    const tls = await httpsGet(portico.httpsPort, { host: 'app.test', servername: 'app.test', path: '/' });
    assert.equal(tls.status, 302);
    assert.equal(tls.headers.location, 'https://app.test/app1');
  });

  test('the Location keeps the Host header as sent, port included', async () => {
    const r = await httpGet(portico.httpPort, { host: 'APP.test:8080', path: '/' });
    assert.equal(r.headers.location, 'http://APP.test:8080/app1');
  });

  test('other paths and other hosts are served as before', async () => {
    assert.equal((await httpGet(portico.httpPort, { host: 'app.test', path: '/app1/x' })).status, 200);
    assert.equal((await httpGet(portico.httpPort, { host: 'app.test', path: '/other' })).status, 404);
    assert.equal((await httpGet(portico.httpPort, { host: 'plain.test', path: '/' })).status, 200);
  });

  test('a changed path is live without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes('/app2'));
    await waitFor(async () => (await httpGet(portico.httpPort, { host: 'app.test', path: '/' })).headers.location === 'http://app.test/app2', { timeoutMs: 5000, message: 'the new app-root never applied' });
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
