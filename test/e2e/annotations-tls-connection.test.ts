// ssl-ciphers, disable-proxy-intercept-errors and connection-proxy-header through real HAProxy: a host's TLS 1.2
// handshakes offer its own cipher list (runtime crt-list update when it changes), a list OpenSSL refuses leaves that
// host on the listener's list and every other host served; an Ingress with disable-proxy-intercept-errors gets its
// backend's own error answers beside one whose errors are replaced; `close` reaches the backend as Connection: close.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { docs, endpointSlice, httpGet, ingress, manifestDir, reloadCount, service, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;
let errorPod: Server;

const AES128 = 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256';
const AES256 = 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384';

/** The TLS 1.2 cipher negotiated for `servername` when the client offers `ciphers`, or undefined when none is agreed. */
function negotiated(servername: string, ciphers: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port: portico.httpsPort, servername, rejectUnauthorized: false, ciphers, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    s.setTimeout(5000, () => s.destroy());
    s.once('secureConnect', () => {
      resolve(s.getCipher().name);
      s.end();
    });
    s.once('error', () => resolve(undefined));
    s.once('close', () => resolve(undefined));
  });
}

const route = (name: string, host: string, service: string, annotations: Record<string, string>): string =>
  ingress({ name, annotations, rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service, port: 80 }] }] });

function routes(cipherList: string): string {
  return docs(
    route('ciphers', 'ciph.test', 'tc', { [`${P}ssl-ciphers`]: cipherList }),
    route('bad-ciphers', 'bad.test', 'tc', { [`${P}ssl-ciphers`]: 'NOT-A-CIPHER:ALSO-NOT' }),
    route('plain', 'plain.test', 'tc', {}),
    route('intercepted', 'errors.test', 'tc', { [`${P}default-backend`]: 'tc-errors', [`${P}custom-http-errors`]: '404' }),
    route('not-intercepted', 'own-errors.test', 'tc', { [`${P}default-backend`]: 'tc-errors', [`${P}custom-http-errors`]: '404', [`${P}disable-proxy-intercept-errors`]: 'true' }),
    route('close', 'close.test', 'tc', { [`${P}connection-proxy-header`]: 'close' }),
    route('keep-alive', 'keep.test', 'tc', { [`${P}connection-proxy-header`]: 'keep-alive' }),
  );
}

before(async () => {
  dir = await manifestDir();
  errorPod = createServer((req, res) => {
    const body = `custom error page ${String(req.headers['x-code'])}\n`;
    res.writeHead(Number(req.headers['x-code'] ?? 404), { 'content-type': 'text/html', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    errorPod.once('error', reject);
    errorPod.listen(3000, '127.0.101.2', resolve);
  });
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'tc', '127.0.101.1'));
  await writeManifest(dir, 'errors.yaml', docs(service({ name: 'tc-errors', ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: 'tc-errors-1', service: 'tc-errors', ports: [{ port: 3000 }], endpoints: [{ ip: '127.0.101.2' }] })));
  await writeManifest(dir, 'routes.yaml', routes(AES256));
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(async () => {
  await new Promise<void>((resolve) => errorPod.close(() => resolve()));
  errorPod.closeAllConnections();
  await stopEverything(pods);
});

describe('ssl-ciphers', () => {
  test("the host's handshakes take its own list; other hosts keep the listener's order", async () => {
    const both = `${AES128}:${AES256}`;
    assert.match((await negotiated('ciph.test', both)) ?? 'none', /AES256-GCM-SHA384$/);
    assert.equal(await negotiated('ciph.test', AES128), undefined, 'a cipher outside the host list was agreed');
    assert.match((await negotiated('plain.test', both)) ?? 'none', /AES128-GCM-SHA256$/);
  });

  test("a list OpenSSL refuses leaves that host on the listener's list, and the other hosts are served", async () => {
    assert.match((await negotiated('bad.test', AES128)) ?? 'none', /AES128-GCM-SHA256$/);
    const r = await httpGet(portico.httpPort, { host: 'plain.test', path: '/' });
    assert.equal(r.status, 200);
  });

  test('a changed list is live without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes(AES128));
    await waitFor(async () => (await negotiated('ciph.test', AES128)) !== undefined, { timeoutMs: 5000, message: 'the new cipher list never applied' });
    assert.equal(await negotiated('ciph.test', AES256), undefined);
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});

describe('disable-proxy-intercept-errors', () => {
  test("the Ingress with it gets its backend's own 404; the one without gets the error backend's page", async () => {
    const replaced = await httpGet(portico.httpPort, { host: 'errors.test', path: '/status/404' });
    assert.equal(replaced.status, 404);
    assert.equal(replaced.body, 'custom error page 404\n');
    const own = await httpGet(portico.httpPort, { host: 'own-errors.test', path: '/status/404' });
    assert.equal(own.status, 404);
    assert.equal(own.json<EchoReply>().pod, 'tc');
  });
});

describe('connection-proxy-header', () => {
  test('close: the backend receives Connection: close; keep-alive and no annotation: no Connection header', async () => {
    const connection = async (host: string): Promise<unknown> => (await httpGet(portico.httpPort, { host, path: '/' })).json<EchoReply>().headers.connection;
    assert.equal(await connection('close.test'), 'close');
    assert.equal(await connection('keep.test'), undefined);
    assert.equal(await connection('plain.test'), undefined);
  });
});
