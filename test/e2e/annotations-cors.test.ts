// enable-cors and the cors-* annotations through real HAProxy, as a browser's requests see them: an allowed origin's
// preflight is answered by the proxy (204, every Access-Control-* header, no body), its other requests reach the
// backend and come back with the same headers (replacing the backend's); a refused origin is served untouched, and
// only a whole origin (or exactly one label for `*.`) is allowed. `*` answers every origin and every OPTIONS. Another
// Ingress on the same host gets nothing; a preflight over plain HTTP to a TLS host gets its 204, not the 308, as in
// ingress-nginx. A changed origin list is live without a reload; hostile values are reported and change nothing else.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, httpGet, httpsGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, HttpResponse, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const site = (name: string, host: string, annotations: Record<string, string>, o: { path?: string; tls?: boolean } = {}): string =>
  ingress({
    name,
    annotations,
    ...(o.tls ? { tls: [{ hosts: [host] }] } : {}),
    rules: [{ host, paths: [{ path: o.path ?? '/', pathType: 'Prefix', service: 'cors', port: 80 }] }],
  });

const ALLOWED = 'https://app.example.com';
const CORS = {
  [`${P}enable-cors`]: 'true',
  [`${P}cors-allow-origin`]: `${ALLOWED}, https://*.example.org`,
  [`${P}cors-allow-methods`]: 'GET, POST',
  [`${P}cors-allow-headers`]: 'X-Custom, Content-Type',
  [`${P}cors-expose-headers`]: 'X-Total',
  [`${P}cors-max-age`]: '600',
};
const HOSTILE_METHODS = 'GET\n  http-request deny';

function routes(origins = `${ALLOWED}, https://*.example.org`): string {
  return docs(
    site('cors', 'cors.test', { ...CORS, [`${P}cors-allow-origin`]: origins }),
    site('plain', 'cors.test', {}, { path: '/plain' }),
    site('any', 'any.test', { [`${P}enable-cors`]: 'true', [`${P}cors-allow-credentials`]: 'false' }),
    site('secure', 'secure.test', { [`${P}enable-cors`]: 'true', [`${P}cors-allow-origin`]: ALLOWED }, { tls: true }),
    site('moved', 'moved.test', { [`${P}enable-cors`]: 'true', [`${P}cors-allow-origin`]: ALLOWED, [`${P}permanent-redirect`]: 'https://new.example.com/' }),
    site('hostile', 'hostile.test', {
      [`${P}enable-cors`]: 'true',
      [`${P}cors-allow-origin`]: `${ALLOWED}\n  http-request return status 200`,
      [`${P}cors-allow-methods`]: HOSTILE_METHODS,
      [`${P}cors-allow-headers`]: `X-A, ${'x'.repeat(1024 * 1024)}`,
      [`${P}cors-max-age`]: '1 # comment',
    }),
  );
}

/** The Access-Control-* headers of a response, by lowercase name. */
function corsHeaders(r: HttpResponse): Record<string, string | string[]> {
  return Object.fromEntries(Object.entries(r.headers).filter(([k]) => k.startsWith('access-control-')));
}

const send = (host: string, o: { method?: string; origin?: string; path?: string; extra?: Record<string, string> } = {}): Promise<HttpResponse> =>
  httpGet(portico.httpPort, { host, method: o.method ?? 'GET', path: o.path ?? '/', headers: { ...(o.origin === undefined ? {} : { origin: o.origin }), ...o.extra } });

const preflight = (host: string, origin: string): Promise<HttpResponse> =>
  send(host, { method: 'OPTIONS', origin, extra: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-custom' } });

/** What the configured route sends to an allowed origin (credentials at their default, true). */
const allowedHeaders = (origin: string): Record<string, string> => ({
  'access-control-allow-origin': origin,
  'access-control-allow-credentials': 'true',
  'access-control-allow-methods': 'GET,POST',
  'access-control-allow-headers': 'X-Custom,Content-Type',
  'access-control-expose-headers': 'X-Total',
  'access-control-max-age': '600',
});

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'cors', '127.0.200.1'));
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('CORS for an allowed origin', () => {
  test('a preflight is answered by the proxy: 204, every Access-Control-* header, no body, the backend not asked', async () => {
    const seen = pods[0]!.requests;
    const r = await preflight('cors.test', ALLOWED);
    assert.equal(r.status, 204);
    assert.deepEqual(corsHeaders(r), allowedHeaders(ALLOWED));
    assert.equal(r.body, '');
    // nginx drops the Content-Type and Content-Length the template sets when it sends a 204; so does Portico.
    assert.equal(r.headers['content-type'], undefined);
    assert.equal(r.headers['content-length'], undefined);
    assert.equal(pods[0]!.requests, seen, 'the backend saw no request');
  });

  test("other requests reach the backend and carry the same headers, replacing the backend's own", async () => {
    const r = await send('cors.test', { origin: ALLOWED, path: '/x?reply-header=access-control-allow-origin:https://backend.test&reply-header=access-control-max-age:1&reply-header=x-total:7' });
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().headers.origin, ALLOWED, 'the backend gets the Origin');
    assert.deepEqual(corsHeaders(r), allowedHeaders(ALLOWED));
    assert.equal(r.headers['x-total'], '7', 'other backend headers pass');
  });

  test('the Origin is sent back as the client wrote it, matched without regard to case', async () => {
    const r = await preflight('cors.test', 'HTTPS://App.Example.com');
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], 'HTTPS://App.Example.com');
  });

  test('a wildcard origin allows exactly one label, with the scheme and port as written', async () => {
    assert.equal((await preflight('cors.test', 'https://a-1.example.org')).headers['access-control-allow-origin'], 'https://a-1.example.org');
    for (const refused of ['https://a.b.example.org', 'https://example.org', 'https://notexample.org', 'http://a.example.org', 'https://a.example.org:8443', 'https://a.example.org.evil.test']) {
      const r = await preflight('cors.test', refused);
      assert.equal(r.status, 200, `${refused}: the preflight goes to the backend`);
      assert.deepEqual(corsHeaders(r), {}, refused);
    }
  });

  test("HAProxy's own answers get the headers too: a redirect annotation's 301 (after the preflight's 204)", async () => {
    assert.equal((await preflight('moved.test', ALLOWED)).status, 204, 'the preflight comes before the redirect, as in ingress-nginx');
    const r = await send('moved.test', { origin: ALLOWED });
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://new.example.com/');
    assert.equal(r.headers['access-control-allow-origin'], ALLOWED);
  });
});

describe('CORS for other origins and routes', () => {
  test("a refused origin's preflight and requests go to the backend untouched: no CORS header, the backend's kept", async () => {
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.test', 'xhttps://app.example.com', 'null']) {
      const r = await preflight('cors.test', origin);
      assert.equal(r.status, 200, origin);
      assert.equal(r.json<EchoReply>().method, 'OPTIONS');
      assert.deepEqual(corsHeaders(r), {}, origin);
    }
    const r = await send('cors.test', { origin: 'https://evil.example.com', path: '/?reply-header=access-control-allow-origin:https://backend.test' });
    assert.deepEqual(corsHeaders(r), { 'access-control-allow-origin': 'https://backend.test' });
    assert.deepEqual(corsHeaders(await send('cors.test')), {}, 'no Origin, no CORS');
  });

  test("another Ingress's paths on the same host get no CORS", async () => {
    const r = await send('cors.test', { method: 'OPTIONS', origin: ALLOWED, path: '/plain' });
    assert.equal(r.status, 200);
    assert.deepEqual(corsHeaders(r), {});
  });

  test('cors-allow-origin "*" (the default): Access-Control-Allow-Origin * on every response, Origin or not; every OPTIONS answered', async () => {
    const any = { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET,PUT,POST,DELETE,PATCH,OPTIONS', 'access-control-max-age': '1728000' };
    const headers = 'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization';
    for (const r of [await send('any.test', { origin: 'https://whoever.test' }), await send('any.test')]) {
      assert.equal(r.status, 200);
      // cors-allow-credentials "false": no Access-Control-Allow-Credentials at all.
      assert.deepEqual(corsHeaders(r), { ...any, 'access-control-allow-headers': headers });
    }
    const r = await send('any.test', { method: 'OPTIONS' });
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], '*');
  });

  test('a preflight over plain HTTP to a TLS host gets its 204, not the 308 to HTTPS; other requests are redirected with the headers', async () => {
    const p = await preflight('secure.test', ALLOWED);
    assert.equal(p.status, 204);
    assert.equal(p.headers['access-control-allow-origin'], ALLOWED);
    const r = await send('secure.test', { origin: ALLOWED });
    assert.equal(r.status, 308);
    assert.equal(r.headers['access-control-allow-origin'], ALLOWED);
    const tls = await httpsGet(portico.httpsPort, { host: 'secure.test', servername: 'secure.test', method: 'OPTIONS', headers: { origin: ALLOWED } });
    assert.equal(tls.status, 204);
    assert.equal(tls.headers['access-control-allow-origin'], ALLOWED);
  });

  test('hostile values are reported (A1) and the Ingress is served with no origin allowed; the others are untouched', async () => {
    for (const name of ['cors-allow-origin', 'cors-allow-methods', 'cors-allow-headers', 'cors-max-age'])
      await portico.waitForLog((l) => l.object === 'Ingress default/hostile' && l.rule === 'A1' && l.field === `metadata.annotations[${P}${name}]`, 5000);
    const r = await preflight('hostile.test', ALLOWED);
    assert.equal(r.status, 200);
    assert.deepEqual(corsHeaders(r), {});
    assert.equal((await preflight('cors.test', ALLOWED)).status, 204);
  });
});

describe('live changes', () => {
  test('a changed origin list goes live without a reload', async () => {
    const before = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes('https://other.example.com'));
    await waitFor(async () => (await preflight('cors.test', 'https://other.example.com')).status === 204, { timeoutMs: 5000, message: 'the new origin was never allowed' });
    const old = await preflight('cors.test', ALLOWED);
    assert.equal(old.status, 200, 'the old origin is refused');
    assert.deepEqual(corsHeaders(old), {});
    assert.equal((await preflight('cors.test', 'https://a.example.org')).status, 200, 'the wildcard left with the list');
    assert.equal(await reloadCount(portico.adminPort), before);
  });
});
