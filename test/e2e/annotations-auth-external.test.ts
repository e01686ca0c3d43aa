// External authentication through real HAProxy, with an oauth2-proxy stand-in behind its own Ingress: the setup the
// ingress-nginx and oauth2-proxy docs give (`https://$host/oauth2/auth`, `?rd=$escaped_request_uri`) unchanged; the
// 302 to the signin page, the auth service's headers copied to the backend (and a client's own copies dropped), 401,
// 403, an unreachable or failing service (500, quickly enough), what the auth request carries and that it has no
// body, the Set-Cookie rules, the cache, a WebSocket behind auth, a changed auth-url live without a reload, and an
// Ingress without auth-url untouched.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { docs, endpointSlice, httpGet, ingress, manifestDir, reloadCount, service, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, HttpOptions, Portico } from './harness/index.js';
import { PROVIDER, startOAuth2Proxy } from './harness/oauth2-proxy.js';
import type { OAuth2Proxy } from './harness/oauth2-proxy.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;
let oauth: OAuth2Proxy;
const OAUTH_IP = '127.0.226.3';
const DOWN = 'http://127.0.226.4:4180/oauth2/auth';

const prefixed = (a: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(a).map(([k, v]) => [P + k, v]));
const one = (name: string, host: string, annotations: Record<string, string>, svc = 'ea-app'): string =>
  ingress({ name, annotations: prefixed(annotations), rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: svc, port: 80 }] }] });

const routes = (directUrl = `http://${OAUTH_IP}:4180/oauth2/auth`): string =>
  docs(
    // The oauth2-proxy docs' Ingress pair: oauth2-proxy under /oauth2 on the app's host, the app behind auth-url.
    ingress({ name: 'oauth2', rules: [{ host: 'app.test', paths: [{ path: '/oauth2', pathType: 'Prefix', service: 'oauth2-proxy', port: 80 }] }] }),
    one('app', 'app.test', {
      'auth-url': 'https://$host/oauth2/auth',
      'auth-signin': 'https://$host/oauth2/start?rd=$escaped_request_uri',
      'auth-response-headers': 'X-Auth-Request-User, X-Auth-Request-Email',
    }),
    one('direct', 'direct.test', { 'auth-url': directUrl, 'auth-response-headers': 'x-auth-request-user,x-auth-request-groups', 'auth-always-set-cookie': 'true', 'auth-method': 'POST' }),
    one('plain-signin', 'signin.test', { 'auth-url': `http://${OAUTH_IP}:4180/oauth2/auth`, 'auth-signin': 'https://login.example/start' }),
    one('down', 'down.test', { 'auth-url': DOWN }),
    one('cached', 'cached.test', { 'auth-url': `http://${OAUTH_IP}:4180/oauth2/auth`, 'auth-cache-key': '$cookie__oauth2_proxy', 'auth-cache-duration': '200 202 401 5m' }),
    one('broken', 'broken.test', { 'auth-url': 'https://$host/oauth2/auth', 'auth-method': 'PATCH' }),
    one('other', 'other.test', {}, 'ea-other'),
  );

const get = (host: string, o: Omit<HttpOptions, 'host'> = {}) => httpGet(portico.httpPort, { host, path: '/', ...o });
const withSession = (s: string, extra: Record<string, string> = {}): Record<string, string> => ({ cookie: `theme=dark; _oauth2_proxy=${s}`, ...extra });
const lastAuth = () => oauth.requests.at(-1)!;

before(async () => {
  dir = await manifestDir();
  oauth = await startOAuth2Proxy(OAUTH_IP, 4180);
  await writeManifest(
    dir,
    'apps.yaml',
    docs(
      await singlePodApp(pods, 'ea-app', '127.0.226.1'),
      await singlePodApp(pods, 'ea-other', '127.0.226.2'),
      service({ name: 'oauth2-proxy', ports: [{ port: 80, targetPort: 4180 }] }),
      endpointSlice({ name: 'oauth2-proxy-1', service: 'oauth2-proxy', ports: [{ port: 4180 }], endpoints: [{ ip: OAUTH_IP }] }),
    ),
  );
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(async () => {
  await oauth?.close();
  await stopEverything(pods);
});

describe('the oauth2-proxy setup from the ingress-nginx docs, unchanged', () => {
  test('without a session: 302 to auth-signin with rd, the escaped request URI; the signin page redirects on', async () => {
    const r = await get('app.test', { path: '/some/page?q=1&x=a b'.replace(' ', '%20') });
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, 'https://app.test/oauth2/start?rd=%2Fsome%2Fpage%3Fq%3D1%26x%3Da%2520b');
    const start = await get('app.test', { path: new URL(String(r.headers.location)).pathname + new URL(String(r.headers.location)).search });
    assert.equal(start.status, 302);
    assert.equal(start.headers.location, `${PROVIDER}?state=${encodeURIComponent('/some/page?q=1&x=a%20b')}`);
  });

  test("with a session: the backend answers and gets the auth service's X-Auth-Request-User and -Email", async () => {
    const r = await get('app.test', { path: '/data', headers: withSession('valid-alice') });
    assert.equal(r.status, 200);
    const echo = r.json<EchoReply>();
    assert.equal(echo.pod, 'ea-app');
    assert.equal(echo.headers['x-auth-request-user'], 'alice');
    assert.equal(echo.headers['x-auth-request-email'], 'alice@example.com');
  });

  test("a client's own X-Auth-Request-User never reaches the backend, under its name or with underscores", async () => {
    const r = await get('app.test', { headers: withSession('valid-bob', { 'x-auth-request-user': 'root', x_auth_request_email: 'root@example.com' }) });
    assert.equal(r.status, 200);
    const h = r.json<EchoReply>().headers;
    assert.equal(h['x-auth-request-user'], 'bob');
    assert.equal(h['x-auth-request-email'], 'bob@example.com');
    assert.equal(h.x_auth_request_email, undefined);
  });

  test('the auth request: GET to the auth URL with no body, the client\'s cookies and authorization, and the headers nginx sets', async () => {
    const before = oauth.requests.length;
    const r = await get('app.test', { method: 'POST', path: '/submit?a=1', body: 'secret body', headers: withSession('valid-alice', { authorization: 'Bearer t0k3n', 'x-forwarded-proto': 'gopher', 'x-original-url': 'http://evil/' }) });
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().body, 'secret body', 'the backend still gets the body');
    assert.equal(oauth.requests.length, before + 1);
    const a = lastAuth();
    assert.equal(a.method, 'GET');
    assert.equal(a.url, '/oauth2/auth');
    assert.equal(a.bodyBytes, 0);
    assert.equal(a.headers['content-length'], undefined);
    assert.equal(a.headers['transfer-encoding'], undefined);
    assert.equal(a.headers.host, 'app.test');
    assert.equal(a.headers.cookie, 'theme=dark; _oauth2_proxy=valid-alice');
    assert.equal(a.headers.authorization, 'Bearer t0k3n');
    assert.equal(a.headers['x-original-url'], 'http://app.test/submit?a=1');
    assert.equal(a.headers['x-original-method'], 'POST');
    assert.equal(a.headers['x-auth-request-redirect'], '/submit?a=1');
    assert.equal(a.headers['x-sent-from'], 'nginx-ingress-controller');
    // `$host` is dialled on Portico's own listener, which appends its hop to X-Forwarded-For (as the controller behind
    // a load balancer would for ingress-nginx); the direct route below sees the auth request as sent.
    assert.match(String(a.headers['x-forwarded-for']), /^127\.0\.0\.1(, |$)/);
    assert.equal(a.headers['x-forwarded-proto'], 'https', "Portico's own listener for the https auth URL, not the client's value");
    assert.match(String(a.headers['x-request-id']), /^[0-9a-f]{32}$/);
    assert.equal(a.headers['x-original-uri'], undefined, 'only with auth-method');
  });

  test("a renewed session's Set-Cookie headers reach the client on a 2xx, not on a 500 (nginx's add_header statuses)", async () => {
    const ok = await get('app.test', { headers: withSession('refresh-carol') });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.headers['set-cookie'], ['_oauth2_proxy_0=renewed-carol; Path=/; HttpOnly', '_oauth2_proxy_1=part2; Path=/; HttpOnly']);
    const failed = await get('app.test', { path: '/status/500', headers: withSession('refresh-carol') });
    assert.equal(failed.status, 500);
    assert.equal(failed.headers['set-cookie'], undefined);
  });
});

describe('the verdicts', () => {
  test("403 from the auth service is 403; 502 from it is 500; the backend is never asked", async () => {
    const served = pods[0]!.requests;
    assert.equal((await get('app.test', { headers: withSession('forbidden') })).status, 403);
    assert.equal((await get('app.test', { headers: withSession('broken') })).status, 500);
    assert.equal(pods[0]!.requests, served);
  });

  test('401 without auth-signin is 401 with the service\'s WWW-Authenticate', async () => {
    const r = await get('direct.test');
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="stand-in"');
  });

  test('auth-signin without rd gets ?rd=<scheme>://<host><escaped URI> appended', async () => {
    const r = await get('signin.test', { path: '/a/b?c=d' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, 'https://login.example/start?rd=http://signin.test%2Fa%2Fb%3Fc%3Dd');
  });

  test('an auth service that cannot be reached: 500, within seconds', async () => {
    const t0 = Date.now();
    const r = await get('down.test', { timeoutMs: 15_000 });
    assert.equal(r.status, 500);
    assert.ok(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`);
  });

  test('a bad companion value (auth-method PATCH) refuses the paths with 503 rather than serving them unauthenticated', async () => {
    assert.equal((await get('broken.test', { headers: withSession('valid-alice') })).status, 503);
  });

  test('an Ingress without auth-url is untouched: no auth request, its client headers pass', async () => {
    const before = oauth.requests.length;
    const r = await get('other.test', { headers: { 'x-auth-request-user': 'someone' } });
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().pod, 'ea-other');
    assert.equal(oauth.requests.length, before);
  });
});

describe('the other annotations', () => {
  test('auth-method POST: the auth request is a POST without body, with X-Original-URI and X-Scheme', async () => {
    const r = await get('direct.test', { path: '/x?y=1', headers: withSession('valid-dave', { 'x-auth-request-groups': 'admins' }) });
    assert.equal(r.status, 200);
    const a = lastAuth();
    assert.equal(a.method, 'POST');
    assert.equal(a.bodyBytes, 0);
    assert.equal(a.headers['x-original-uri'], '/x?y=1');
    assert.equal(a.headers['x-scheme'], 'http');
    assert.equal(a.headers.host, OAUTH_IP, "the auth URL's host, without its port, as ingress-nginx sends it");
    assert.equal(a.headers['x-real-ip'], '127.0.0.1');
    assert.equal(a.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(a.headers['x-forwarded-proto'], undefined, 'nginx clears it in the auth request');
    assert.equal(a.headers['x-original-url'], 'http://direct.test/x?y=1');
    const h = r.json<EchoReply>().headers;
    assert.equal(h['x-auth-request-user'], 'dave');
    assert.equal(h['x-auth-request-groups'], undefined, "a listed header the service did not send is removed from the client's request");
  });

  test('auth-always-set-cookie: the Set-Cookie headers on a 500 from the backend too', async () => {
    const r = await get('direct.test', { path: '/status/500', headers: withSession('refresh-erin') });
    assert.equal(r.status, 500);
    assert.equal((r.headers['set-cookie'] as string[]).length, 2);
  });

  test('auth-cache-key: one auth request per key while the answer is kept, a new key asks again', async () => {
    const before = oauth.requests.length;
    for (let i = 0; i < 3; i++) assert.equal((await get('cached.test', { headers: withSession('valid-frank') })).status, 200);
    assert.equal(oauth.requests.length, before + 1);
    assert.equal((await get('cached.test', { headers: withSession('valid-grace') })).status, 200);
    assert.equal((await get('cached.test', { headers: withSession('forbidden') })).status, 403);
    assert.equal((await get('cached.test', { headers: withSession('forbidden') })).status, 403);
    assert.equal(oauth.requests.length, before + 4, '403 is not in the durations: asked each time');
  });
});

describe('WebSocket and live changes', () => {
  test('a WebSocket upgrade passes behind auth with a session, and is refused without', async () => {
    const open = (cookie?: string) =>
      new Promise<WebSocket | number>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${portico.httpPort}/ws`, { headers: { host: 'app.test', ...(cookie ? { cookie } : {}) } });
        ws.once('open', () => resolve(ws));
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('error', reject);
      });
    assert.equal(await open(), 302);
    const ws = await open('_oauth2_proxy=valid-alice');
    assert.ok(ws instanceof WebSocket);
    const reply = new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));
    ws.send('hello');
    assert.equal(await reply, 'ea-app:hello');
    ws.close();
  });

  test('a changed auth-url is live without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes(DOWN));
    await waitFor(async () => (await get('direct.test', { headers: withSession('valid-alice'), timeoutMs: 15_000 })).status === 500, { timeoutMs: 20_000, message: 'the new auth-url never applied' });
    await writeManifest(dir, 'routes.yaml', routes());
    await waitFor(async () => (await get('direct.test', { headers: withSession('valid-alice') })).status === 200, { timeoutMs: 5000, message: 'the old auth-url never came back' });
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
