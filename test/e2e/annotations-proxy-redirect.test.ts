// proxy-redirect-from/-to, proxy-cookie-domain, proxy-cookie-path, use-port-in-redirects and relative-redirects through
// real HAProxy: the Location, Refresh and every Set-Cookie an echo backend answers with, as a client sees them over
// HTTP/1.1, HTTPS and HTTP/2 (nginx's proxy_redirect and proxy_cookie_* semantics: prefix and whole-domain matches, a
// leading dot, case rules, an expression replacing the whole value, a rewritten relative Location made absolute unless
// relative-redirects), headers of other routes and hosts untouched, hostile values leaving everything else served,
// and a changed value live without a reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, http2Get, httpGet, httpsGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, HttpResponse, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const route = (name: string, host: string, path: string, annotations: Record<string, string> = {}): string =>
  ingress({ name, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [k.includes('/') ? k : P + k, v])), rules: [{ host, paths: [{ path, pathType: 'Prefix', service: 'pr', port: 80 }] }] });

const ALL = {
  'proxy-redirect-from': 'http://backend.internal:8080/',
  'proxy-redirect-to': '/app/',
  'proxy-cookie-domain': '.backend.internal r.test',
  'proxy-cookie-path': '/ /app/',
  'use-port-in-redirects': 'true',
};

const routes = (all: Record<string, string> = ALL, plain: Record<string, string> = {}): string =>
  docs(
    route('all', 'r.test', '/', all),
    route('rel', 'r.test', '/rel', {
      'portico.dev/proxy-redirect-from': '~internal.?:8080',
      'portico.dev/proxy-redirect-to': '/rel/',
      'proxy-cookie-domain': '~INTERNAL r.test',
      'relative-redirects': 'true',
    }),
    route('noport', 'r.test', '/noport', { 'proxy-redirect-from': 'http://backend.internal:8080/', 'proxy-redirect-to': '/np/' }),
    route('plain', 'r.test', '/plain', plain),
    route('half', 'r.test', '/half', { 'proxy-redirect-from': 'http://backend.internal:8080/' }),
    route('bad', 'r.test', '/bad', {
      'proxy-redirect-from': 'http://backend.internal:8080/\n  http-response set-header X-Evil 1',
      'proxy-redirect-to': "/x'} #",
      'proxy-cookie-domain': `backend.internal ${'a'.repeat(1 << 20)}`,
      'proxy-cookie-path': '/ /app/ {}',
      'portico.dev/proxy-cookie-path': '~(a+)+ /',
      'use-port-in-redirects': 'lua-load',
    }),
    route('other', 'other.test', '/', {}),
  );

/** A path under `prefix` asking the echo pod to answer with these headers (repeatable names) and `status`, which it
 * honours only for `/status/<code>` itself, so only on the root route: under a prefix it answers 200. */
function asking(prefix: string, status: number, headers: [string, string][]): string {
  if (prefix !== '' && status !== 200) throw new Error('the echo pod answers 200 under a prefix');
  const query = headers.map(([n, v]) => `reply-header=${encodeURIComponent(`${n}:${v}`)}`).join('&');
  return `${prefix}/status/${status}?${query}`;
}

const arr = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

async function get(path: string, host = 'r.test'): Promise<HttpResponse> {
  return httpGet(portico.httpPort, { host, path });
}

const BACKEND_COOKIES: [string, string][] = [
  ['set-cookie', 'a=1; Domain=.Backend.Internal; Path=/'],
  ['set-cookie', 'b=2;path=/x;  domain=backend.internal ;HttpOnly'],
  ['set-cookie', 'c=3; Domain=other.test; Path=/keep'],
  ['set-cookie', 'd=4'],
  ['set-cookie', 'e=5; Domain=b.INTERNAL.test; Path=/rel'],
  // A comma inside a value: a cookie is one header line, never split.
  ['set-cookie', 'f=6; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/'],
];

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'pr', '127.0.157.1'));
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('proxy-redirect-from / proxy-redirect-to', () => {
  test('a Location starting with from gets to instead; made relative, nginx completes it with scheme, Host and (use-port-in-redirects) the listener port', async () => {
    const r = await get(asking('', 302, [['location', 'http://backend.internal:8080/login?next=%2Fa']]));
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, `http://r.test:${portico.httpPort}/app/login?next=%2Fa`);
    // The Host's own port and case are not what nginx completes with: $host, lowercase, then the listener's port.
    const odd = await httpGet(portico.httpPort, { host: 'R.Test:1234', path: asking('', 301, [['location', 'http://backend.internal:8080/']]) });
    assert.equal(odd.headers.location, `http://r.test:${portico.httpPort}/app/`);
    const tls = await httpsGet(portico.httpsPort, { host: 'r.test', servername: 'r.test', path: asking('', 307, [['location', 'http://backend.internal:8080/x']]) });
    assert.equal(tls.headers.location, `https://r.test:${portico.httpsPort}/app/x`);
    const h2 = await http2Get(portico.httpsPort, { servername: 'r.test', host: 'r.test', path: asking('', 302, [['location', 'http://backend.internal:8080/h2']]) });
    assert.equal(h2.headers.location, `https://r.test:${portico.httpsPort}/app/h2`);
  });

  test('without use-port-in-redirects the completed Location names no port', async () => {
    const r = await get(asking('/noport', 200, [['location', 'http://backend.internal:8080/in']]));
    assert.equal(r.headers.location, 'http://r.test/np/in');
  });

  test('a Location that does not start with from (case counts) is left exactly as sent, relative or not', async () => {
    for (const location of ['http://elsewhere.test/x', 'HTTP://backend.internal:8080/x', '/relative/x', 'http://backend.internal:8080']) {
      const r = await get(asking('', 302, [['location', location]]));
      assert.equal(r.headers.location, location, location);
    }
  });

  test('Refresh: the URL after url= is rewritten, and never completed', async () => {
    const r = await get(asking('', 200, [['refresh', '5; URL=http://backend.internal:8080/next']]));
    assert.equal(r.headers.refresh, '5; URL=/app/next');
    const untouched = await get(asking('', 200, [['refresh', '3']]));
    assert.equal(untouched.headers.refresh, '3');
  });

  test('~expression found anywhere replaces the whole Location; relative-redirects keeps it relative', async () => {
    const r = await get(asking('/rel', 200, [['location', 'https://b.internal:8080/deep/path?q=1']]));
    assert.equal(r.headers.location, '/rel/');
    const refresh = await get(asking('/rel', 200, [['refresh', '0;url=http://internalx:8080/']]));
    assert.equal(refresh.headers.refresh, '0;url=/rel/');
    for (const location of ['https://b.internal:9090/', 'https://b.INTERNAL:8080/']) {
      const miss = await get(asking('/rel', 200, [['location', location]]));
      assert.equal(miss.headers.location, location, `${location}: no match (case-sensitive)`);
    }
  });

  test('from without to rewrites nothing, as in ingress-nginx', async () => {
    const r = await get(asking('/half', 200, [['location', 'http://backend.internal:8080/x']]));
    assert.equal(r.headers.location, 'http://backend.internal:8080/x');
  });
});

describe('proxy-cookie-domain / proxy-cookie-path', () => {
  test('every Set-Cookie of a response: Domain equal to from (any case, leading dot kept), Path by prefix; a rewritten cookie is written again as nginx does', async () => {
    const r = await get(asking('', 200, BACKEND_COOKIES));
    assert.equal(r.status, 200);
    assert.deepEqual(arr(r.headers['set-cookie']), [
      'a=1; Domain=.r.test; Path=/app/',
      'b=2; path=/app/x; domain=r.test; HttpOnly',
      // Domain other.test is not backend.internal, but Path /keep starts with /: only the path changes.
      'c=3; Domain=other.test; Path=/app/keep',
      'd=4',
      // b.INTERNAL.test is not equal to backend.internal; /rel starts with /.
      'e=5; Domain=b.INTERNAL.test; Path=/app/rel',
      'f=6; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/app/',
    ]);
    assert.equal(r.json<EchoReply>().pod, 'pr');
  });

  test('a caseless ~expression replaces a whole Domain; a route without proxy-cookie-path keeps every Path', async () => {
    const r = await get(asking('/rel', 200, BACKEND_COOKIES));
    assert.deepEqual(arr(r.headers['set-cookie']), [
      'a=1; Domain=r.test; Path=/',
      'b=2; path=/x; domain=r.test; HttpOnly',
      'c=3; Domain=other.test; Path=/keep',
      'd=4',
      'e=5; Domain=r.test; Path=/rel',
      'f=6; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/',
    ]);
  });

  test('many cookies: the rewrites stop at HAProxy\'s room for rewrites (about 1 kB of growth); none is lost, the rest stay as sent', async () => {
    const many: [string, string][] = Array.from({ length: 80 }, (_, i) => ['set-cookie', `m${i}=1; Path=/`]);
    const r = await get(asking('', 200, many));
    assert.equal(r.status, 200);
    const got = arr(r.headers['set-cookie']);
    assert.equal(got.length, 80);
    const rewritten = got.filter((c, i) => c === `m${i}=1; Path=/app/`).length;
    assert.ok(rewritten >= 40 && rewritten < 80, `${rewritten} rewritten`);
    assert.deepEqual(got, many.map(([, v], i) => (i < rewritten ? v.replace('Path=/', 'Path=/app/') : v)));
  });

  test('over HTTPS and HTTP/2 too', async () => {
    const cookies: [string, string][] = [['set-cookie', 's=1; Domain=backend.internal; Path=/; Secure'], ['set-cookie', 't=2; Path=/t']];
    const tls = await httpsGet(portico.httpsPort, { host: 'r.test', servername: 'r.test', path: asking('', 200, cookies) });
    assert.deepEqual(arr(tls.headers['set-cookie']), ['s=1; Domain=r.test; Path=/app/; Secure', 't=2; Path=/app/t']);
    const h2 = await http2Get(portico.httpsPort, { servername: 'r.test', host: 'r.test', path: asking('', 200, cookies) });
    assert.deepEqual(arr(h2.headers['set-cookie']), ['s=1; Domain=r.test; Path=/app/; Secure', 't=2; Path=/app/t']);
  });
});

describe('where nothing is rewritten', () => {
  const sent: [string, string][] = [['location', 'http://backend.internal:8080/x'], ['refresh', '1; url=http://backend.internal:8080/y'], ...BACKEND_COOKIES];

  // The echo pod answers 200 on these paths: nginx edits a Location whatever the status, and so does Portico.
  test('another Ingress on the host, another host, and an Ingress whose every value was refused get the headers exactly as sent', async () => {
    for (const [prefix, host] of [['/plain', 'r.test'], ['', 'other.test'], ['/bad', 'r.test']] as const) {
      const r = await get(asking(prefix, 200, sent), host);
      assert.equal(r.status, 200, `${host}${prefix}`);
      assert.equal(r.headers.location, 'http://backend.internal:8080/x', `${host}${prefix}`);
      assert.equal(r.headers.refresh, '1; url=http://backend.internal:8080/y', `${host}${prefix}`);
      assert.deepEqual(arr(r.headers['set-cookie']), BACKEND_COOKIES.map(([, v]) => v), `${host}${prefix}`);
      assert.equal(r.headers['x-evil'], undefined);
    }
  });
});

describe('live changes', () => {
  test('a changed value, and a first rewrite on a route of a host already using the family, are live without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes({ ...ALL, 'proxy-redirect-to': 'https://public.test/v2/' }, { 'proxy-cookie-path': '/ /p/' }));
    await waitFor(async () => (await get(asking('', 302, [['location', 'http://backend.internal:8080/a']]))).headers.location === 'https://public.test/v2/a', { timeoutMs: 5000, message: 'the new proxy-redirect-to never applied' });
    const plain = await get(asking('/plain', 200, [['set-cookie', 'p=1; Path=/x']]));
    assert.deepEqual(arr(plain.headers['set-cookie']), ['p=1; Path=/p/x']);
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
