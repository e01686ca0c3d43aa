// The settings ConfigMap's access keys through real HAProxy (--configmap portico/settings, docs/configmap.md), with
// clients on their own loopback addresses: block-cidrs, block-user-agents and block-referers answer 403 before
// anything else on every host; whitelist-source-range is the default allowlist an Ingress's own annotation replaces;
// global-auth-* sends every route without its own auth-url to the oauth2-proxy stand-in (401 -> signin redirect, 2xx
// with the response headers passed; the method and the snippet's header reach the auth service), except an Ingress with enable-global-auth "false" and paths under
// no-auth-locations. Live: a changed block list or global-auth-url is a runtime update (the reload counter stays);
// emptying a block list takes one reload (its rule goes); refused access-list and global-auth values fail closed (503),
// a block list's bad entry is left out while its good ones block; all fixed live.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configMap, docs, httpGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, HttpOptions, Portico } from './harness/index.js';
import { startOAuth2Proxy } from './harness/oauth2-proxy.js';
import type { OAuth2Proxy } from './harness/oauth2-proxy.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;
let oauth: OAuth2Proxy;
const OAUTH_IP = '127.0.161.3';
const AUTH_URL = `http://${OAUTH_IP}:4180/oauth2/auth`;
/** A client the global allowlist (127.0.0.0/24) lets in, and one block-cidrs blocks. */
const CLIENT = '127.0.0.3';
const BLOCKED = '127.0.0.2';
/** Outside the global allowlist, inside own.test's own. */
const OFFICE = '127.0.163.5';

const SETTINGS: Record<string, string> = {
  'block-cidrs': `${BLOCKED}, 10.1.0.0/16`,
  'block-user-agents': 'BadBot/1.0, ~*scrapy',
  'block-referers': '~*casino',
  'whitelist-source-range': '127.0.0.0/24',
  'global-auth-url': AUTH_URL,
  'global-auth-signin': 'https://login.test/oauth2/start',
  'global-auth-response-headers': 'X-Auth-Request-User',
  'global-auth-method': 'POST',
  'global-auth-snippet': 'proxy_set_header X-Auth-From global-$host;',
};

const settings = (changes: Record<string, string | undefined> = {}): string => {
  const data: Record<string, string> = { ...SETTINGS };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete data[k];
    else data[k] = v;
  }
  return configMap({ ns: 'portico', name: 'settings', data });
};

const one = (name: string, host: string, annotations: Record<string, string>, paths = ['/']): string =>
  ingress({ name, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [P + k, v])), rules: [{ host, paths: paths.map((path) => ({ path, pathType: 'Prefix' as const, service: 'ga-app', port: 80 })) }] });

const get = (host: string, o: Omit<HttpOptions, 'host'> = {}) => httpGet(portico.httpPort, { host, path: '/', localAddress: CLIENT, ...o });
const session = (s: string): Record<string, string> => ({ cookie: `_oauth2_proxy=${s}` });

before(async () => {
  dir = await manifestDir();
  oauth = await startOAuth2Proxy(OAUTH_IP, 4180);
  await writeManifest(dir, 'apps.yaml', await singlePodApp(pods, 'ga-app', '127.0.161.1'));
  await writeManifest(
    dir,
    'routes.yaml',
    docs(
      one('app', 'app.test', {}, ['/', '/.well-known/acme-challenge']),
      one('exempt', 'exempt.test', { 'enable-global-auth': 'false' }),
      one('own', 'own.test', { 'enable-global-auth': 'false', 'whitelist-source-range': '127.0.163.0/24' }),
    ),
  );
  await writeManifest(dir, 'settings.yaml', settings());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0', '--configmap', 'portico/settings'] });
  await portico.waitReady();
});

after(async () => {
  await oauth?.close();
  await stopEverything(pods);
});

describe('block lists: 403 before anything else', () => {
  test('block-cidrs: a client from a blocked address gets 403 on every host, even where nothing is routed; its neighbour is served', async () => {
    const served = pods[0]!.requests;
    assert.equal((await get('exempt.test', { localAddress: BLOCKED })).status, 403);
    assert.equal((await get('nowhere.test', { localAddress: BLOCKED })).status, 403, 'before the 404 of an unknown host');
    assert.equal(pods[0]!.requests, served, 'the backend never saw a blocked request');
    const ok = await get('exempt.test');
    assert.equal(ok.status, 200);
    assert.equal(ok.json<EchoReply>().pod, 'ga-app');
    assert.equal((await get('nowhere.test')).status, 404);
  });

  test('block-user-agents: a string matches the whole header ignoring case, ~* a caseless regex anywhere; no header, no match', async () => {
    assert.equal((await get('exempt.test', { headers: { 'user-agent': 'BadBot/1.0' } })).status, 403);
    assert.equal((await get('exempt.test', { headers: { 'user-agent': 'badbot/1.0' } })).status, 403);
    assert.equal((await get('exempt.test', { headers: { 'user-agent': 'BadBot/1.0 (compatible)' } })).status, 200, 'a string entry is the whole value');
    assert.equal((await get('exempt.test', { headers: { 'user-agent': 'Mozilla/5.0 Scrapy/2.11 (+https://scrapy.org)' } })).status, 403);
    assert.equal((await get('exempt.test', { headers: { 'user-agent': 'curl/8.0' } })).status, 200);
    assert.equal((await get('exempt.test')).status, 200);
  });

  test('block-referers: ~*casino anywhere in the Referer', async () => {
    assert.equal((await get('exempt.test', { headers: { referer: 'https://win.CASINO.example/' } })).status, 403);
    assert.equal((await get('exempt.test', { headers: { referer: 'https://news.example/' } })).status, 200);
  });
});

describe('whitelist-source-range: the default an Ingress replaces', () => {
  test('an Ingress without its own list: only the global blocks', async () => {
    assert.equal((await get('exempt.test', { localAddress: OFFICE })).status, 403);
    assert.equal((await get('exempt.test', { localAddress: '127.0.0.9' })).status, 200);
  });

  test("an Ingress with its own list: its list alone, the global one replaced", async () => {
    assert.equal((await get('own.test', { localAddress: OFFICE })).status, 200);
    assert.equal((await get('own.test', { localAddress: CLIENT })).status, 403);
  });
});

describe('global external authentication', () => {
  test('no session: 302 to global-auth-signin with rd; the backend is never asked', async () => {
    const served = pods[0]!.requests;
    const r = await get('app.test', { path: '/page?x=1' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, 'https://login.test/oauth2/start?rd=http://app.test%2Fpage%3Fx%3D1');
    assert.equal(pods[0]!.requests, served);
  });

  test("a session: 200 from the backend with the auth service's X-Auth-Request-User (and no header it did not list)", async () => {
    const asked = oauth.requests.length;
    const r = await get('app.test', { path: '/data', headers: { ...session('valid-alice'), 'x-auth-request-user': 'root' } });
    assert.equal(r.status, 200);
    const echo = r.json<EchoReply>();
    assert.equal(echo.pod, 'ga-app');
    assert.equal(echo.headers['x-auth-request-user'], 'alice');
    assert.equal(echo.headers['x-auth-request-email'], undefined);
    assert.equal(oauth.requests.length, asked + 1);
    const a = oauth.requests.at(-1)!;
    assert.equal(a.url, '/oauth2/auth');
    assert.equal(a.method, 'POST', 'global-auth-method');
    assert.equal(a.headers['x-auth-from'], 'global-app.test', "global-auth-snippet's proxy_set_header, its variable expanded");
    assert.equal(a.headers['x-original-uri'], '/data', 'sent with a method, as ingress-nginx does');
  });

  test('enable-global-auth "false" exempts an Ingress: served without asking', async () => {
    const asked = oauth.requests.length;
    assert.equal((await get('exempt.test')).status, 200);
    assert.equal(oauth.requests.length, asked);
  });

  test('no-auth-locations (default /.well-known/acme-challenge): an ACME challenge is served without a session', async () => {
    const asked = oauth.requests.length;
    const r = await get('app.test', { path: '/.well-known/acme-challenge/token-1' });
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().pod, 'ga-app');
    assert.equal(oauth.requests.length, asked);
  });
});

describe('live edits of the ConfigMap', () => {
  test('changed block-cidrs and block-user-agents are map updates (regex keys through the runtime API): no reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'settings.yaml', settings({ 'block-cidrs': '127.0.0.4', 'block-user-agents': '"Bad Bot/2.0", ~*crawler' }));
    await waitFor(async () => (await get('exempt.test', { localAddress: BLOCKED })).status === 200, { timeoutMs: 5000, message: 'the old block still applied' });
    assert.equal((await get('exempt.test', { localAddress: '127.0.0.4' })).status, 403);
    await waitFor(async () => (await get('exempt.test', { headers: { 'user-agent': 'BadBot/1.0' } })).status === 200, { timeoutMs: 5000, message: 'the old user agent still blocked' });
    assert.equal((await get('exempt.test', { headers: { 'user-agent': 'bad bot/2.0' } })).status, 403);
    assert.equal((await get('exempt.test', { headers: { 'user-agent': 'SuperCrawler 3' } })).status, 403);
    assert.equal((await get('exempt.test', { headers: { 'user-agent': 'Mozilla Scrapy/2.11' } })).status, 200);
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });

  test('a changed global-auth-url is a route update: no reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    // The stand-in answers 404 elsewhere than /oauth2/auth: the auth verdict is 500.
    await writeManifest(dir, 'settings.yaml', settings({ 'block-cidrs': '127.0.0.4', 'global-auth-url': `http://${OAUTH_IP}:4180/elsewhere` }));
    await waitFor(async () => (await get('app.test', { headers: session('valid-alice') })).status === 500, { timeoutMs: 5000, message: 'the new global-auth-url never applied' });
    assert.equal(oauth.requests.at(-1)!.url, '/elsewhere');
    await writeManifest(dir, 'settings.yaml', settings({ 'block-cidrs': '127.0.0.4' }));
    await waitFor(async () => (await get('app.test', { headers: session('valid-alice') })).status === 200, { timeoutMs: 5000, message: 'the old global-auth-url never came back' });
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });

  test('emptying a block list takes one reload (its rule goes); the other lists still block', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'settings.yaml', settings({ 'block-cidrs': '127.0.0.4', 'block-user-agents': '' }));
    await waitFor(async () => (await get('exempt.test', { headers: { 'user-agent': 'BadBot/1.0' } })).status === 200, { timeoutMs: 10_000, message: 'the emptied list still blocked' });
    // The new worker may answer before the reload is counted (the counter moves once HAProxy reports the reload done).
    await waitFor(async () => (await reloadCount(portico.adminPort)) === reloads + 1, { timeoutMs: 5000, message: 'emptying a block list was not one reload' });
    assert.equal((await get('exempt.test', { localAddress: '127.0.0.4' })).status, 403);
    assert.equal((await get('exempt.test', { headers: { referer: 'https://casino.example/' } })).status, 403);
  });

  test('hostile values are refused (access lists and global auth fail closed, 503; a bad block entry is left out), the rest keeps serving; fixed live', async () => {
    await writeManifest(
      dir,
      'settings.yaml',
      settings({ 'block-cidrs': '127.0.0.4', 'block-user-agents': '', 'whitelist-source-range': '127.0.0.0/24\n  http-request allow if TRUE', 'global-auth-url': 'http://auth.test/"} #' }),
    );
    await waitFor(async () => (await get('exempt.test')).status === 503, { timeoutMs: 10_000, message: 'the refused allowlist did not fail closed' });
    assert.equal((await get('app.test', { headers: session('valid-alice') })).status, 503, 'refused global auth and allowlist');
    assert.equal((await get('own.test', { localAddress: OFFICE })).status, 200, 'an Ingress with its own list and without global auth is served');
    assert.equal((await get('exempt.test', { localAddress: '127.0.0.4' })).status, 403, 'the valid block list still applies');
    // A block list's bad entry is left out; its good ones still block, and nobody else is refused.
    await writeManifest(dir, 'settings.yaml', settings({ 'block-referers': 'x\n  http-request allow, ~*poker' }));
    await waitFor(async () => (await get('own.test', { localAddress: OFFICE, headers: { referer: 'https://poker.example/' } })).status === 403, { timeoutMs: 10_000, message: "the block list's good entry did not apply" });
    assert.equal((await get('own.test', { localAddress: OFFICE })).status, 200, 'a bad block-list entry refused other clients');
    assert.equal((await get('own.test', { localAddress: OFFICE, headers: { referer: 'x' } })).status, 200, 'the bad entry reached the map');
    await writeManifest(dir, 'settings.yaml', settings());
    await waitFor(async () => (await get('app.test', { headers: session('valid-alice') })).status === 200, { timeoutMs: 10_000, message: 'the fixed settings never applied' });
    assert.equal((await get('exempt.test', { localAddress: BLOCKED })).status, 403);
    assert.equal((await get('own.test', { localAddress: OFFICE })).status, 200);
  });
});
