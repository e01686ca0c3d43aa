// custom-http-errors through real HAProxy: with default-backend, a listed status of the backend's response is replaced
// by the default backend's answer (its status and body), which got ingress-nginx's X-* headers; a 200, a status not
// listed, and a route without the annotation are left alone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { docs, endpointSlice, httpGet, ingress, manifestDir, service, singlePodApp, startPortico, stopEverything, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let portico: Portico;
let errorPod: Server;
const seen: { url: string; method: string; headers: IncomingHttpHeaders }[] = [];

before(async () => {
  const dir = await manifestDir();
  // The error pod answers with the status X-Code names and a page of its own, as ingress-nginx's custom-error-pages.
  errorPod = createServer((req, res) => {
    seen.push({ url: req.url ?? '', method: req.method ?? '', headers: req.headers });
    const code = Number(req.headers['x-code'] ?? '404');
    const body = `custom error page ${code}\n`;
    res.writeHead(code >= 400 && code <= 599 ? code : 404, { 'content-type': 'text/html', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    errorPod.once('error', reject);
    errorPod.listen(3000, '127.0.249.2', resolve);
  });
  await writeManifest(
    dir,
    'apps.yaml',
    docs(
      await singlePodApp(pods, 'ce-main', '127.0.249.1'),
      service({ name: 'ce-errors', ports: [{ name: 'http', port: 80, targetPort: 3000 }] }),
      endpointSlice({ name: 'ce-errors-1', service: 'ce-errors', ports: [{ name: 'http', port: 3000 }], endpoints: [{ ip: '127.0.249.2' }] }),
    ),
  );
  await writeManifest(
    dir,
    'routes.yaml',
    docs(
      ingress({
        name: 'ce',
        annotations: { [`${P}default-backend`]: 'ce-errors', [`${P}custom-http-errors`]: '404, 503' },
        rules: [{ host: 'ce.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ce-main', port: 80 }] }],
      }),
      ingress({ name: 'ce-plain', annotations: { [`${P}default-backend`]: 'ce-errors' }, rules: [{ host: 'plain.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ce-main', port: 80 }] }] }),
      ingress({ name: 'ce-alone', annotations: { [`${P}custom-http-errors`]: '404' }, rules: [{ host: 'alone.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ce-main', port: 80 }] }] }),
    ),
  );
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(async () => {
  await new Promise<void>((resolve) => errorPod.close(() => resolve()));
  errorPod.closeAllConnections();
  await stopEverything(pods);
});

describe('custom-http-errors', () => {
  test("a listed status: the client gets the error pod's status and body, and the error pod saw the X-* headers", async () => {
    seen.length = 0;
    const r = await httpGet(portico.httpPort, { host: 'ce.test', path: '/status/404?q=1', headers: { accept: 'text/html', 'x-request-id': 'req-abc' } });
    assert.equal(r.status, 404);
    assert.equal(r.body, 'custom error page 404\n');
    assert.match(String(r.headers['content-type']), /text\/html/);
    assert.equal(seen.length, 1);
    const h = seen[0]!.headers;
    assert.equal(seen[0]!.method, 'GET');
    assert.equal(seen[0]!.url, '/');
    assert.equal(h['x-code'], '404');
    assert.equal(h['x-format'], 'text/html');
    assert.equal(h['x-original-uri'], '/status/404?q=1');
    assert.equal(h['x-namespace'], 'default');
    assert.equal(h['x-ingress-name'], 'ce');
    assert.equal(h['x-service-name'], 'ce-main');
    assert.equal(h['x-service-port'], '80');
    assert.equal(h['x-request-id'], 'req-abc');
    assert.equal(h.host, 'ce.test');
  });

  test('without X-Request-ID from the client: the one Portico made', async () => {
    seen.length = 0;
    const r = await httpGet(portico.httpPort, { host: 'ce.test', path: '/status/404' });
    assert.equal(r.status, 404);
    assert.match(String(seen[0]?.headers['x-request-id']), /^[0-9a-f]{32}$/);
  });

  test('a 200, a status not listed, a route without the annotation, one without default-backend: untouched', async () => {
    seen.length = 0;
    const ok = await httpGet(portico.httpPort, { host: 'ce.test', path: '/x' });
    assert.equal(ok.status, 200);
    assert.equal(ok.json<EchoReply>().pod, 'ce-main');
    for (const [host, path, status] of [['ce.test', '/status/500', 500], ['plain.test', '/status/404', 404], ['alone.test', '/status/404', 404]] as const) {
      const r = await httpGet(portico.httpPort, { host, path });
      assert.equal(r.status, status, `${host}${path}`);
      assert.equal(r.json<EchoReply>().pod, 'ce-main', `${host}${path}`);
    }
    assert.equal(seen.length, 0);
  });
});
