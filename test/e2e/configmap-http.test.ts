// The settings ConfigMap's HTTP and TLS tuning keys through real HAProxy (--configmap portico/settings over manifest
// files): add-headers' ConfigMap on every response (the backend's and HAProxy's own 404), nginx variables expanded,
// hostile entries left out; proxy-set-headers' ConfigMap at the echo backend; hide-headers removing a backend's header;
// use-http2 false (ALPN says http/1.1); ssl-ecdh-curve refusing a client without the curve; TLS sessions resumed from
// the cache, and not once ssl-session-cache is false; large-client-header-buffers raising the header limit (and 400
// past it); names with `_` dropped until enable-underscores-in-headers; hostile values of the settings' keys refused
// while everything else applies; ssl-dh-param's Secret setting the DHE group. Live: each edit of the settings ConfigMap or of add-headers' ConfigMap is one
// hitless reload (docs/configmap.md: `reload`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import type { SecureVersion } from 'node:tls';
import { execFileSync } from 'node:child_process';
import { connect as http2Connect } from 'node:http2';
import type { Settings as Http2Settings } from 'node:http2';
import { configMap, docs, httpGet, httpsGet, ingress, makeCert, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, tlsHandshake, tlsSecretYaml, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, HttpOptions, HttpResponse, Portico } from './harness/index.js';
import { rawRequest } from './harness/raw.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const CSP = `default-src 'self'; script-src "nonce" #x { }`;
const HOSTILE = 'x\n  http-request return status 200';

interface Settings {
  http2?: boolean;
  sessionCache?: boolean;
  underscores?: boolean;
}

/** The settings ConfigMap, with hostile values of some keys (each refused with G1; the rest applies). */
function settings(s: Settings = {}): string {
  return configMap({
    ns: 'portico',
    name: 'settings',
    data: {
      'add-headers': 'portico/response-headers',
      'proxy-set-headers': 'portico/request-headers',
      'hide-headers': 'X-Powered-By, X-AspNet-Version',
      'use-http2': String(s.http2 ?? false),
      'large-client-header-buffers': '4 8k',
      'ssl-ecdh-curve': 'X25519',
      'ssl-session-cache': String(s.sessionCache ?? true),
      'enable-underscores-in-headers': String(s.underscores ?? false),
      'ssl-dh-param': 'portico/dhparam',
      // Hostile: a line break with an HAProxy keyword, a comment, braces, a megabyte.
      'ssl-session-timeout': `10m\n  http-request return status 200`,
      'http2-max-concurrent-streams': s.http2 === true ? '50' : '50 # more',
      'ssl-session-cache-size': '{ 1m }',
      'keep-alive-requests': 'a'.repeat(1024 * 1024),
    },
  });
}

const RESPONSE = { 'X-Frame-Options': 'DENY', 'Content-Security-Policy': CSP, 'X-Seen': '$scheme $host $request_method [$http_x_tenant]', 'X-Tenant-Echo': '$http_x_tenant' };
const HOSTILE_RESPONSE = { 'X-Newline': HOSTILE, 'Transfer-Encoding': 'chunked', 'X-Huge': 'a'.repeat(1024 * 1024), 'x.dotted': 'a', 'X-Later': '$upstream_addr' };

function headerMaps(response: Record<string, string> = RESPONSE): string {
  return docs(
    configMap({ ns: 'portico', name: 'response-headers', data: { ...response, ...HOSTILE_RESPONSE } }),
    configMap({ ns: 'portico', name: 'request-headers', data: { 'X-Static': 'from portico', 'X-Client': '$remote_addr via $scheme', 'X-Tenant-Copy': '$http_x_tenant', 'X-Drop': '' } }),
    configMap({ name: 'own-headers', data: { 'X-Frame-Options': 'SAMEORIGIN' } }),
  );
}

const routes = (): string =>
  docs(
    ingress({ name: 'gh', rules: [{ host: 'gh.test', paths: [{ path: '/', pathType: 'Prefix', service: 'gh-app', port: 80 }] }] }),
    ingress({ name: 'dh', tls: [{ hosts: ['dh.test'], secretName: 'dh-tls' }], rules: [{ host: 'dh.test', paths: [{ path: '/', pathType: 'Prefix', service: 'gh-app', port: 80 }] }] }),
    ingress({ name: 'own', annotations: { [`${P}custom-headers`]: 'own-headers' }, rules: [{ host: 'own.test', paths: [{ path: '/', pathType: 'Prefix', service: 'gh-app', port: 80 }] }] }),
  );

const get = (host: string, o: Omit<HttpOptions, 'host'> = {}): Promise<HttpResponse> => httpGet(portico.httpPort, { host, path: '/', ...o });

/** A TLS connection that sends one request and reports whether its session was resumed; `session` resumes one. */
function tlsRequest(o: { session?: Buffer; maxVersion?: SecureVersion; curve?: string } = {}): Promise<{ reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const s = tlsConnect({ host: '127.0.0.1', port: portico.httpsPort, servername: 'gh.test', rejectUnauthorized: false, ...(o.session ? { session: o.session } : {}), ...(o.maxVersion ? { maxVersion: o.maxVersion } : {}), ...(o.curve ? { ecdhCurve: o.curve } : {}) }, () => {
      s.write('GET / HTTP/1.1\r\nHost: gh.test\r\nConnection: close\r\n\r\n');
    });
    s.setTimeout(10_000, () => s.destroy(new Error('no answer')));
    // TLS 1.3 sends the session after the handshake: it is kept once the response arrived.
    s.on('session', (b: Buffer) => (session = b));
    s.once('data', () => {
      const reused = s.isSessionReused();
      s.end();
      setTimeout(() => resolve({ reused, session }), 50);
    });
    s.once('error', reject);
  });
}

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'apps.yaml', await singlePodApp(pods, 'gh-app', '127.0.143.1'));
  await writeManifest(dir, 'settings.yaml', settings());
  await writeManifest(dir, 'headers.yaml', headerMaps());
  await writeManifest(dir, 'routes.yaml', routes());
  // An RSA certificate, for the DHE-RSA ciphers, and RFC 7919's 3072-bit group as ssl-dh-param's Secret.
  const dhParams = execFileSync('openssl', ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe3072'], { encoding: 'utf8' });
  await writeManifest(dir, 'secrets.yaml', docs(tlsSecretYaml('default', 'dh-tls', makeCert({ dnsNames: ['dh.test'], keyFormat: 'pkcs8', keyType: 'rsa' })), `apiVersion: v1\nkind: Secret\nmetadata: {name: dhparam, namespace: portico}\ndata:\n  dhparam.pem: ${Buffer.from(dhParams).toString('base64')}\n`));
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0', '--configmap', 'portico/settings'] });
  await portico.waitReady();
});

after(async () => {
  await stopEverything(pods);
});

describe('add-headers, proxy-set-headers, hide-headers', () => {
  test("add-headers' headers reach the client on a backend's response, exactly, variables expanded", async () => {
    const r = await get('gh.test', { headers: { 'x-tenant': 'blue' } });
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().pod, 'gh-app');
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(r.headers['content-security-policy'], CSP, 'quotes, "#" and braces arrive as written');
    assert.equal(r.headers['x-seen'], 'http gh.test GET [blue]');
    const s = await httpsGet(portico.httpsPort, { servername: 'gh.test', host: 'gh.test', method: 'HEAD' });
    assert.equal(s.headers['x-seen'], 'https gh.test HEAD []');
    assert.equal(s.headers['x-tenant-echo'], undefined, 'a value that came out empty is not sent, as nginx does');
    assert.equal(r.headers['x-tenant-echo'], 'blue');
  });

  test("on HAProxy's own answers too: a 404 for a host no Ingress has", async () => {
    const r = await get('nobody.test', { headers: { 'x-tenant': 'red' } });
    assert.equal(r.status, 404);
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(r.headers['x-seen'], 'http nobody.test GET [red]');
  });

  test("a route's custom-headers replace add-headers' for one name, and the others stay", async () => {
    const r = await get('own.test');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(r.headers['content-security-policy'], CSP);
  });

  test('hostile entries (a line break, a framing header, a megabyte, a dot, a variable known only later) are left out', async () => {
    const r = await get('gh.test');
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().pod, 'gh-app', 'served, not answered by an injected rule');
    for (const h of ['x-newline', 'x-huge', 'x.dotted', 'x-later']) assert.equal(r.headers[h], undefined, h);
    assert.equal(r.headers['transfer-encoding'], undefined);
    await portico.waitForLog((l) => l.object === 'ConfigMap portico/response-headers' && l.rule === 'add-headers' && l.field === 'data[X-Newline]', 5000);
  });

  test("proxy-set-headers' headers reach the backend, replacing the client's; an empty value removes one", async () => {
    const r = await get('gh.test', { headers: { 'x-tenant': 'green', 'x-static': 'from client', 'x-drop': 'please' } });
    const seen = r.json<EchoReply>().headers;
    assert.equal(seen['x-static'], 'from portico');
    assert.equal(seen['x-client'], '127.0.0.1 via http');
    assert.equal(seen['x-tenant-copy'], 'green');
    assert.equal(seen['x-drop'], undefined);
    assert.equal(seen['x-tenant'], 'green', "the client's own headers pass");
    const without = (await get('gh.test', { headers: { 'x-tenant-copy': 'from client' } })).json<EchoReply>().headers;
    assert.equal(without['x-tenant-copy'], undefined, "a value that came out empty is not sent (nor the client's)");
  });

  test("hide-headers removes a backend's header; the backend's others pass", async () => {
    const r = await get('gh.test', { path: '/?reply-header=x-powered-by:php&reply-header=x-aspnet-version:4&reply-header=x-kept:1' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-powered-by'], undefined);
    assert.equal(r.headers['x-aspnet-version'], undefined);
    assert.equal(r.headers['x-kept'], '1');
  });
});

describe('TLS and HTTP tuning', () => {
  test('use-http2 false: ALPN negotiates http/1.1 for a client that offers h2 first', async () => {
    const h = await tlsHandshake(portico.httpsPort, { servername: 'gh.test', alpn: ['h2', 'http/1.1'] });
    assert.equal(h.alpnProtocol, 'http/1.1');
  });

  test('ssl-ecdh-curve X25519: a client without X25519 fails the handshake; one with it is served', async () => {
    await assert.rejects(tlsRequest({ curve: 'P-256' }), /handshake failure|alert/i);
    assert.equal((await tlsRequest({ curve: 'X25519' })).reused, false);
  });

  test("ssl-dh-param: a DHE cipher's key exchange uses the Secret's 3072-bit group (HAProxy's own is 2048)", async () => {
    const info = await new Promise<object | null>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: portico.httpsPort, servername: 'dh.test', rejectUnauthorized: false, maxVersion: 'TLSv1.2', ciphers: 'DHE-RSA-AES128-GCM-SHA256' }, () => {
        resolve(s.getEphemeralKeyInfo());
        s.end();
      });
      s.once('error', reject);
    });
    assert.deepEqual(info, { type: 'DH', size: 3072 });
  });

  test('TLS sessions resume from the cache (TLS 1.2 and 1.3), with tickets off', async () => {
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const first = await tlsRequest({ maxVersion });
      assert.ok(first.session, `${maxVersion}: the server gave a session`);
      assert.equal((await tlsRequest({ maxVersion, session: first.session })).reused, true, maxVersion);
    }
  });

  test('large-client-header-buffers 4 8k: 20 kB of headers pass (HAProxy alone refuses them), 40 kB get 400', async () => {
    const big = await get('gh.test', { headers: { 'x-big': 'a'.repeat(20_000) } });
    assert.equal(big.status, 200);
    assert.equal(String(big.json<EchoReply>().headers['x-big']).length, 20_000);
    const huge = await rawRequest(portico.httpPort, ['GET / HTTP/1.1', 'Host: gh.test', `X-Huge: ${'a'.repeat(40_000)}`]);
    assert.equal(huge.status, 400);
  });

  test('header names: `_` dropped by default, a non-token name gets 400, a dotted name passes', async () => {
    const r = await rawRequest(portico.httpPort, ['GET / HTTP/1.1', 'Host: gh.test', 'X_Under: 1', 'X.Dot: 2', 'Connection: close']);
    assert.equal(r.status, 200);
    const seen = (JSON.parse(r.body) as EchoReply).headers;
    assert.equal(seen.x_under, undefined);
    assert.equal(seen['x.dot'], '2', 'a difference from nginx, documented');
    assert.equal((await rawRequest(portico.httpPort, ['GET / HTTP/1.1', 'Host: gh.test', 'X@At: 1', 'Connection: close'])).status, 400);
  });

  test('hostile values of the settings are refused (G1) and everything else applies', async () => {
    for (const key of ['ssl-session-timeout', 'http2-max-concurrent-streams', 'ssl-session-cache-size', 'keep-alive-requests'])
      await portico.waitForLog((l) => l.object === 'ConfigMap portico/settings' && l.rule === 'G1' && l.field === `data[${key}]`, 5000);
    assert.equal((await get('gh.test')).headers['x-frame-options'], 'DENY');
  });
});

describe('live', () => {
  test("an edit of add-headers' ConfigMap changes the response: one hitless reload", async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'headers.yaml', headerMaps({ ...RESPONSE, 'X-Frame-Options': 'SAMEORIGIN', 'X-Added': 'new' }));
    await waitFor(async () => (await get('gh.test')).headers['x-added'] === 'new', { timeoutMs: 15_000, message: 'the edited ConfigMap never applied' });
    assert.equal((await get('gh.test')).headers['x-frame-options'], 'SAMEORIGIN');
    await waitFor(async () => (await reloadCount(portico.adminPort)) === reloads + 1, { timeoutMs: 5000, message: 'the edit was not one reload' });
  });

  test('an edit of the settings: HTTP/2 offered again, no session cache, underscores kept: one reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'settings.yaml', settings({ http2: true, sessionCache: false, underscores: true }));
    await waitFor(async () => (await tlsHandshake(portico.httpsPort, { servername: 'gh.test', alpn: ['h2', 'http/1.1'] })).alpnProtocol === 'h2', { timeoutMs: 15_000, message: 'h2 never offered' });
    await waitFor(async () => (await reloadCount(portico.adminPort)) === reloads + 1, { timeoutMs: 5000, message: 'the edit was not one reload' });
    const first = await tlsRequest({ maxVersion: 'TLSv1.2' });
    assert.equal((await tlsRequest({ maxVersion: 'TLSv1.2', session: first.session })).reused, false, 'no cache: a full handshake');
    const r = await rawRequest(portico.httpPort, ['GET / HTTP/1.1', 'Host: gh.test', 'X_Under: 1', 'Connection: close']);
    assert.equal((JSON.parse(r.body) as EchoReply).headers.x_under, '1');
    const session = http2Connect(`https://127.0.0.1:${portico.httpsPort}`, { servername: 'gh.test', rejectUnauthorized: false });
    try {
      const streams = await new Promise<number | undefined>((resolve, reject) => {
        session.once('remoteSettings', (settings: Http2Settings) => resolve(settings.maxConcurrentStreams));
        session.once('error', reject);
      });
      assert.equal(streams, 50, 'http2-max-concurrent-streams, valid now');
    } finally {
      session.close();
    }
  });
});
