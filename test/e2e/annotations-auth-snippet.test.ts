// auth-snippet and the auth-keepalive annotations through real HAProxy, with an auth service of the test's own that
// records every request and counts its connections: auth-snippet's proxy_set_header reaches the auth service (a
// constant, a replaced X-Original-URL, variables, an empty value removing the client's header, a control character
// a variable brings sent as %XX) and never the backend; its other directives do nothing; a refused snippet leaves
// authentication on; the keep-alive annotations are accepted and a bad value is reported (HAProxy's client reuses
// its connections either way); hostile snippets leave other Ingresses served; changes are live without a reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { docs, httpGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, HttpOptions, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const AUTH_IP = '127.0.227.3';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

/** The auth service: `/key` lets through only a request carrying `X-Api-Key: k-1`; `/open` lets everything through. */
const seen: { url: string; headers: IncomingHttpHeaders; socket: number }[] = [];
let connections = 0;
const auth = http.createServer((req, res) => {
  const socket = (req.socket as unknown as { id?: number }).id ?? 0;
  seen.push({ url: req.url ?? '', headers: req.headers, socket });
  const pass = req.url === '/open' || req.headers['x-api-key'] === 'k-1';
  res.writeHead(pass ? 200 : 401).end();
});
auth.on('connection', (s) => {
  connections += 1;
  (s as unknown as { id: number }).id = connections;
});

const prefixed = (a: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(a).map(([k, v]) => [P + k, v]));
const one = (name: string, host: string, annotations: Record<string, string>): string =>
  ingress({ name, annotations: prefixed(annotations), rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: 'as-app', port: 80 }] }] });

const SNIPPET = (key: string): string =>
  [
    `proxy_set_header X-Api-Key ${key};`,
    'proxy_set_header X-Original-URL fixed;',
    'proxy_set_header X-From-Host $host;',
    'proxy_set_header X-Uri $uri;',
    'proxy_set_header Cookie "";',
    "more_set_headers 'X-Leak: 1';",
    'add_header X-Leak-2 1 always;',
  ].join('\n');

function routes(o: { key?: string; keepalive?: string; keepSnippet?: boolean } = {}): string {
  const url = (path: string): string => `http://${AUTH_IP}:4180${path}`;
  return docs(
    one('snip', 'snip.test', { 'auth-url': url('/key'), 'auth-snippet': SNIPPET(o.key ?? 'k-1') }),
    one('keep', 'keep.test', {
      'auth-url': url('/open'),
      'auth-keepalive': o.keepalive ?? '16',
      'auth-keepalive-requests': '100',
      'auth-keepalive-timeout': '30',
      'auth-keepalive-share-vars': 'true',
      ...(o.keepSnippet ? { 'auth-snippet': 'proxy_set_header X-Added now;' } : {}),
    }),
    one('badkeep', 'badkeep.test', { 'auth-url': url('/open'), 'auth-keepalive': 'ten', 'auth-keepalive-share-vars': 'maybe' }),
    one('nourl', 'nourl.test', { 'auth-snippet': 'proxy_set_header X-Api-Key k-1;', 'auth-keepalive': '4' }),
    // Refused whole (A4): authentication stays, and the auth service gets no key, so every request gets 401.
    one('hostname', 'refused.test', { 'auth-url': url('/key'), 'auth-snippet': 'proxy_set_header X-Api-Key k-1;\nproxy_set_header Host evil.test;' }),
    one('newline', 'newline.test', { 'auth-url': url('/key'), 'auth-snippet': 'proxy_set_header X-Api-Key "k-1\n  lua-load /tmp/x";' }),
    one('lua', 'lua.test', { 'auth-url': url('/key'), 'auth-snippet': 'access_by_lua_block { ngx.exit(200) }' }),
    one('huge', 'huge.test', { 'auth-url': url('/key'), 'auth-snippet': `proxy_set_header X-Api-Key k-1;\nproxy_set_header X-Big "${'#{}%[src]'.repeat(120_000)}";` }),
    one('other', 'other.test', {}),
  );
}

const get = (host: string, o: Omit<HttpOptions, 'host'> = {}) => httpGet(portico.httpPort, { host, path: '/', ...o });
const lastAuth = () => seen.at(-1)!;

before(async () => {
  dir = await manifestDir();
  await new Promise<void>((resolve, reject) => {
    auth.once('error', reject);
    auth.listen(4180, AUTH_IP, resolve);
  });
  await writeManifest(dir, 'apps.yaml', await singlePodApp(pods, 'as-app', '127.0.227.1'));
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0', '--threads', '2'] });
  await portico.waitReady();
});

after(async () => {
  auth.closeAllConnections();
  await new Promise((resolve) => auth.close(resolve));
  await stopEverything(pods);
});

describe('auth-snippet', () => {
  test('proxy_set_header reaches the auth service: a constant, a replaced X-Original-URL, $host, and an empty value that removes the header', async () => {
    const r = await get('snip.test', { path: '/page?q=1', headers: { cookie: 'session=s3cr3t', 'x-api-key': 'client-own' } });
    assert.equal(r.status, 200, 'the auth service saw X-Api-Key: k-1, not the client\'s');
    const a = lastAuth();
    assert.equal(a.url, '/key');
    assert.equal(a.headers['x-api-key'], 'k-1');
    assert.equal(a.headers['x-original-url'], 'fixed', 'replaced, one value');
    assert.equal(a.headers['x-from-host'], 'snip.test');
    assert.equal(a.headers['x-uri'], '/page');
    assert.equal(a.headers.cookie, undefined, 'an empty value sends no header');
    assert.equal(a.headers['x-original-method'], 'GET', 'what the snippet does not name is sent as before');
  });

  test('only the auth request: the backend gets the client\'s headers, and the other directives change no answer', async () => {
    const r = await get('snip.test', { headers: { cookie: 'session=s3cr3t', 'x-api-key': 'client-own' } });
    assert.equal(r.status, 200);
    const echo = r.json<EchoReply>();
    assert.equal(echo.headers['x-api-key'], 'client-own');
    assert.equal(echo.headers.cookie, 'session=s3cr3t');
    assert.equal(echo.headers['x-from-host'], undefined);
    assert.equal(r.headers['x-leak'], undefined, 'more_set_headers in auth-snippet does nothing');
    assert.equal(r.headers['x-leak-2'], undefined, 'add_header in auth-snippet does nothing');
    await portico.waitForLog((l) => l.object === 'Ingress default/snip' && l.rule === 'A4' && String(l.msg).includes('line 6: more_set_headers'), 5000);
  });

  test('a control character that $uri decodes goes to the auth service as %XX, never as a line break', async () => {
    const before = seen.length;
    const r = await get('snip.test', { path: '/a%0D%0AX-Injected:%20yes' });
    assert.equal(r.status, 200);
    assert.equal(seen.length, before + 1);
    assert.equal(lastAuth().headers['x-uri'], '/a%0D%0AX-Injected: yes');
    assert.equal(lastAuth().headers['x-injected'], undefined);
  });

  test('a refused snippet (Host, a line break, Lua, a megabyte) is reported (A4) and authentication stays: 401 without the key', async () => {
    for (const name of ['hostname', 'newline', 'lua', 'huge']) await portico.waitForLog((l) => l.object === `Ingress default/${name}` && l.rule === 'A4' && l.field === `metadata.annotations[${P}auth-snippet]`, 5000);
    for (const host of ['refused.test', 'newline.test', 'lua.test', 'huge.test']) {
      const before = seen.length;
      const r = await get(host);
      assert.equal(r.status, 401, host);
      assert.equal(seen.length, before + 1, `${host}: the auth service was asked`);
      assert.equal(lastAuth().headers['x-api-key'], undefined, host);
      assert.equal(lastAuth().headers.host, AUTH_IP, host);
    }
    assert.equal((await get('other.test')).status, 200, 'an Ingress without auth is served');
  });

  test('without auth-url it does nothing, reported', async () => {
    await portico.waitForLog((l) => l.object === 'Ingress default/nourl' && l.rule === 'auth-ignored' && l.field === `metadata.annotations[${P}auth-snippet]`, 5000);
    const before = seen.length;
    const r = await get('nourl.test');
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().headers['x-api-key'], undefined);
    assert.equal(seen.length, before, 'no auth request');
  });
});

describe('auth-keepalive, -requests, -timeout, -share-vars', () => {
  test("accepted; HAProxy 2.6's client keeps auth connections alive in its own pool, with the annotations or without", async () => {
    const requests = seen.length;
    const opened = connections;
    for (const host of ['keep.test', 'badkeep.test', 'keep.test', 'badkeep.test', 'keep.test', 'badkeep.test']) assert.equal((await get(host)).status, 200, host);
    assert.equal(seen.length - requests, 6);
    // One idle connection per HAProxy thread at most (--threads 2): reused across routes, whatever auth-keepalive says.
    assert.ok(connections - opened <= 2, `${connections - opened} connections for 6 auth requests`);
    assert.ok(new Set(seen.slice(-6).map((s) => s.socket)).size <= 2);
  });

  test('a bad value is reported (A1) and ignored: the route still asks the auth service', async () => {
    await portico.waitForLog((l) => l.object === 'Ingress default/badkeep' && l.rule === 'A1' && l.field === `metadata.annotations[${P}auth-keepalive]`, 5000);
    await portico.waitForLog((l) => l.object === 'Ingress default/badkeep' && l.rule === 'A1' && l.field === `metadata.annotations[${P}auth-keepalive-share-vars]`, 5000);
    await portico.waitForLog((l) => l.object === 'Ingress default/nourl' && l.rule === 'auth-ignored' && l.field === `metadata.annotations[${P}auth-keepalive]`, 5000);
    const before = seen.length;
    assert.equal((await get('badkeep.test')).status, 200);
    assert.equal(seen.length, before + 1);
  });
});

describe('live changes', () => {
  test('a changed auth-snippet value, a snippet added to a route, a changed auth-keepalive: no reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes({ key: 'k-2', keepalive: '64', keepSnippet: true }));
    await waitFor(async () => (await get('snip.test')).status === 401, { timeoutMs: 5000, message: 'the new key never reached the auth service' });
    assert.equal(lastAuth().headers['x-api-key'], 'k-2');
    await waitFor(async () => (await get('keep.test')).status === 200 && lastAuth().headers['x-added'] === 'now', { timeoutMs: 5000, message: 'the added snippet never applied' });
    await writeManifest(dir, 'routes.yaml', routes());
    await waitFor(async () => (await get('snip.test')).status === 200, { timeoutMs: 5000, message: 'the key never came back' });
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
