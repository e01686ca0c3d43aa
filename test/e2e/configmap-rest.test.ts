// The settings ConfigMap's remaining keys through real HAProxy, Portico started with --configmap portico/settings over
// manifest files: use-gzip compresses JSON for a client that accepts gzip (the body gunzips to the pod's answer) and
// not for one that does not; X-Original-URI reaches the backend and no X-Request-ID is made up; proxy-next-upstream
// as the ConfigMap's default retries a pod's 502 on the other pod, while an Ingress with its own `off` passes the 502
// on; global-allowed-response-headers fails a custom-headers route closed (503) and leaves the others alone;
// no-tls-redirect-locations serves an Ingress path over plain HTTP on a TLS host. Hostile values are refused (G1) or
// reported (G4) and everything keeps serving. Live edits of the ConfigMap: a route-level key goes live without a
// reload; a new header name, retry-non-idempotent (POSTs then retried past a 502: a new backend section),
// disable-ipv6 (the IPv6 listener goes away) and turning gzip off (configuration text) each take one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { configMap, docs, endpointSlice, httpGet, ingress, manifestDir, reloadCount, service, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const APP = '127.0.217.1';
const GOOD = '127.0.217.2';
const BAD = '127.0.217.3';
const pods: Echo[] = [];
const servers: Server[] = [];
let dir = '';
let portico: Portico;

const SETTINGS: Record<string, string> = {
  'use-gzip': 'true',
  'gzip-types': 'application/json',
  'proxy-add-original-uri-header': 'true',
  'generate-request-id': 'false',
  'proxy-next-upstream': 'error timeout http_502',
  'proxy-next-upstream-tries': '2',
  'global-allowed-response-headers': 'X-Frame-Options',
  'no-tls-redirect-locations': '/health',
  // Hostile: refused with G1 (a line break and an HAProxy keyword), or reported with G4 and never copied.
  'worker-processes': '2\n  lua-load /etc/passwd',
  'brotli-types': 'text/css # }\n  http-request return status 200',
  'gzip-level': 'x'.repeat(1024 * 1024),
  'main-snippet': 'load_module /x.so;\n}\nhttp-request return status 200 #',
};

const settings = (over: Record<string, string> = {}): string => configMap({ ns: 'portico', name: 'settings', data: { ...SETTINGS, ...over } });

/** A pod that answers every request with `status`. */
async function fixedPod(ip: string, status: number): Promise<void> {
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pod: ip }));
    });
  });
  s.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => s.listen(3000, ip, resolve));
  servers.push(s);
}

const site = (name: string, host: string, svc: string, annotations: Record<string, string> = {}, o: { tls?: boolean; paths?: string[] } = {}): string =>
  ingress({ name, annotations, ...(o.tls ? { tls: [{ hosts: [host] }] } : {}), rules: [{ host, paths: (o.paths ?? ['/']).map((path) => ({ path, pathType: 'Prefix' as const, service: svc, port: 80 })) }] });

/** A GET whose body is kept as bytes (a gzip body is no text). */
function rawGet(host: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: portico.httpPort, path, headers: { host, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  dir = await manifestDir();
  await fixedPod(GOOD, 200);
  await fixedPod(BAD, 502);
  await writeManifest(
    dir,
    'apps.yaml',
    docs(
      await singlePodApp(pods, 'cr-app', APP),
      service({ name: 'flaky', ports: [{ port: 80, targetPort: 3000 }] }),
      endpointSlice({ name: 'flaky-1', service: 'flaky', ports: [{ port: 3000 }], endpoints: [{ ip: GOOD }, { ip: BAD }] }),
      configMap({ name: 'hdrs', data: { 'X-Frame-Options': 'DENY', 'X-Served-By': 'portico' } }),
      configMap({ name: 'frame', data: { 'X-Frame-Options': 'SAMEORIGIN' } }),
    ),
  );
  await writeManifest(
    dir,
    'routes.yaml',
    docs(
      site('gz', 'gz.test', 'cr-app'),
      site('secure', 'tls.test', 'cr-app', {}, { tls: true, paths: ['/', '/health'] }),
      site('flaky', 'flaky.test', 'flaky'),
      site('flaky-off', 'flakyoff.test', 'flaky', { [`${P}proxy-next-upstream`]: 'off' }),
      site('hdr', 'hdr.test', 'cr-app', { [`${P}custom-headers`]: 'hdrs' }),
      site('frame', 'frame.test', 'cr-app', { [`${P}custom-headers`]: 'frame' }),
    ),
  );
  await writeManifest(dir, 'settings.yaml', settings());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0', '--configmap', 'portico/settings'] });
  await portico.waitReady();
});

after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  await stopEverything(pods);
});

describe('the settings ConfigMap: compression, request headers, route defaults', () => {
  test('use-gzip: a client accepting gzip gets the JSON compressed, with Vary; the body is what the pod sent', async () => {
    const r = await rawGet('gz.test', '/gz?x=1', { 'accept-encoding': 'gzip' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.match(String(r.headers.vary), /accept-encoding/i);
    assert.equal(r.headers['content-length'], undefined, 'compressed as it streams: chunked');
    const reply = JSON.parse(gunzipSync(r.body).toString('utf8')) as EchoReply;
    assert.equal(reply.pod, 'cr-app');
    assert.equal(reply.headers['accept-encoding'], 'gzip', "the backend still sees the client's Accept-Encoding");
  });

  test('a client that does not accept gzip gets the plain body', async () => {
    const r = await rawGet('gz.test', '/gz', {});
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal((JSON.parse(r.body.toString('utf8')) as EchoReply).pod, 'cr-app');
  });

  test('X-Original-URI is the URI as sent; no X-Request-ID is made up, a client\'s own passes', async () => {
    const r = await httpGet(portico.httpPort, { host: 'gz.test', path: '/gz/x%41y/../z?q=1&r=%2F' });
    const seen = r.json<EchoReply>().headers;
    assert.equal(seen['x-original-uri'], '/gz/x%41y/../z?q=1&r=%2F');
    assert.equal(seen['x-request-id'], undefined);
    const own = await httpGet(portico.httpPort, { host: 'gz.test', path: '/', headers: { 'x-request-id': 'abc123' } });
    assert.equal(own.json<EchoReply>().headers['x-request-id'], 'abc123');
  });

  test("proxy-next-upstream as the ConfigMap's default: a pod's 502 is retried on the other pod; an Ingress's own `off` wins", async () => {
    for (let i = 0; i < 6; i++) {
      const r = await httpGet(portico.httpPort, { host: 'flaky.test', path: `/?i=${i}` });
      assert.equal(r.status, 200, `request ${i}`);
      assert.equal(r.json<{ pod: string }>().pod, GOOD);
    }
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await httpGet(portico.httpPort, { host: 'flakyoff.test', path: `/?i=${i}` })).status);
    assert.ok(statuses.includes(502), `the 502 reaches the client: ${statuses.join(',')}`);
    assert.ok(statuses.includes(200));
  });

  test('global-allowed-response-headers: a ConfigMap with a name outside the list fails closed; one within it applies', async () => {
    assert.equal((await httpGet(portico.httpPort, { host: 'hdr.test' })).status, 503);
    const ok = await httpGet(portico.httpPort, { host: 'frame.test' });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-frame-options'], 'SAMEORIGIN');
  });

  test('no-tls-redirect-locations: the listed Ingress path is served over plain HTTP; the rest of the TLS host redirects', async () => {
    const health = await httpGet(portico.httpPort, { host: 'tls.test', path: '/health' });
    assert.equal(health.status, 200);
    assert.equal(health.json<EchoReply>().pod, 'cr-app');
    const root = await httpGet(portico.httpPort, { host: 'tls.test', path: '/app' });
    assert.equal(root.status, 308);
    assert.equal(root.headers.location, 'https://tls.test/app');
  });

  test('hostile values are refused (G1) or reported (G4), never copied', async () => {
    for (const [key, rule] of [['worker-processes', 'G1'], ['brotli-types', 'G1'], ['gzip-level', 'G1'], ['main-snippet', 'G4']] as const)
      await portico.waitForLog((l) => l.object === 'ConfigMap portico/settings' && l.field === `data[${key}]` && l.rule === rule, 5000);
    assert.equal((await httpGet(portico.httpPort, { host: 'frame.test', path: '/' })).status, 200, 'no injected answer');
  });
});

describe('live edits of the settings ConfigMap', () => {
  test('a route-level key (no-tls-redirect-locations) goes live without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'settings.yaml', settings({ 'no-tls-redirect-locations': '/status' }));
    await waitFor(async () => (await httpGet(portico.httpPort, { host: 'tls.test', path: '/health' })).status === 308, { timeoutMs: 10_000, message: '/health was never redirected' });
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });

  test('allowing a header name: the route serves with both headers (a name no route used before: one reload)', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'settings.yaml', settings({ 'no-tls-redirect-locations': '/status', 'global-allowed-response-headers': 'X-Frame-Options,X-Served-By' }));
    await waitFor(async () => (await reloadCount(portico.adminPort)) > reloads, { timeoutMs: 15_000, message: 'no reload for a new header name' });
    // Once Portico counts the reload, every new connection meets the new configuration: the reload waits for the old
    // worker to stop accepting, so no request after it is answered with the old route's 503.
    for (let i = 0; i < 5; i++) {
      const r = await httpGet(portico.httpPort, { host: 'hdr.test' });
      assert.equal(r.status, 200, `request ${i} after the reload`);
      assert.equal(r.headers['x-frame-options'], 'DENY');
      assert.equal(r.headers['x-served-by'], 'portico');
    }
    assert.equal(await reloadCount(portico.adminPort), reloads + 1, 'a new header name is one reload');
  });

  test('retry-non-idempotent: a POST that met a 502 is tried on the other pod (a new retry section: one reload)', async () => {
    const post = async (): Promise<number> => (await httpGet(portico.httpPort, { host: 'flaky.test', method: 'POST', body: 'x' })).status;
    const before: number[] = [];
    for (let i = 0; i < 6; i++) before.push(await post());
    assert.ok(before.includes(502), `without it a POST is not retried on a 502: ${before.join(',')}`);
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'settings.yaml', settings({ 'no-tls-redirect-locations': '/status', 'global-allowed-response-headers': 'X-Frame-Options,X-Served-By', 'retry-non-idempotent': 'true' }));
    await waitFor(async () => (await reloadCount(portico.adminPort)) === reloads + 1, { timeoutMs: 15_000, message: 'retry-non-idempotent was not one reload' });
    for (let i = 0; i < 6; i++) assert.equal(await post(), 200, `POST ${i}`);
  });

  test('disable-ipv6 (configuration text): the IPv6 listener goes away with one reload; IPv4 keeps serving', async () => {
    const v6 = (): Promise<number> => httpGet(portico.httpPort, { address: '[::1]', host: 'gz.test', timeoutMs: 3000 }).then((r) => r.status, () => 0);
    assert.equal(await v6(), 200, 'listening on IPv6 first (--ipv6 auto, the host has IPv6)');
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'settings.yaml', settings({ 'no-tls-redirect-locations': '/status', 'global-allowed-response-headers': 'X-Frame-Options,X-Served-By', 'retry-non-idempotent': 'true', 'disable-ipv6': 'true' }));
    await waitFor(async () => (await v6()) === 0, { timeoutMs: 15_000, message: 'still served over IPv6' });
    assert.equal((await httpGet(portico.httpPort, { host: 'gz.test' })).status, 200);
    await waitFor(async () => (await reloadCount(portico.adminPort)) === reloads + 1, { timeoutMs: 5000, message: 'disable-ipv6 was not one reload' });
  });

  test('use-gzip off (configuration text): one hitless reload, then responses are plain', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'settings.yaml', settings({ 'no-tls-redirect-locations': '/status', 'global-allowed-response-headers': 'X-Frame-Options,X-Served-By', 'retry-non-idempotent': 'true', 'disable-ipv6': 'true', 'use-gzip': 'false' }));
    await waitFor(async () => (await rawGet('gz.test', '/gz', { 'accept-encoding': 'gzip' })).headers['content-encoding'] === undefined, { timeoutMs: 15_000, message: 'responses stayed compressed' });
    await waitFor(async () => (await reloadCount(portico.adminPort)) === reloads + 1, { timeoutMs: 5000, message: 'turning gzip off was not one reload' });
    assert.equal((await httpGet(portico.httpPort, { host: 'flaky.test' })).status, 200, 'the route defaults stay');
  });
});
