// The snippet annotations through real HAProxy, as a client and a backend see them: more_set_headers on every status,
// add_header only on nginx's 2xx/3xx list unless `always` (HAProxy's own 503 and a backend's 404 get no plain
// add_header), request headers set and removed before the backend, values with spaces, quotes, `;` and `#` intact,
// `return` with a text, a Location, an empty body and 444, server-snippet on every path of its host. A snippet with a
// refused directive leaves its Ingress served without any of it; other Ingresses are untouched; a changed value is a
// map update (no reload) while a header name no route used before takes one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, httpGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, HttpResponse, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const site = (name: string, host: string, annotations: Record<string, string>, o: { path?: string; service?: string } = {}): string =>
  ingress({ name, annotations, rules: [{ host, paths: [{ path: o.path ?? '/', pathType: 'Prefix', service: o.service ?? 'snip', port: 80 }] }] });

const HSTS = 'max-age=31536000; includeSubDomains';
const QUOTED = `say "hi"; #not a comment \\ 'single'`;

function snippet(hsts = HSTS): string {
  return [
    `more_set_headers "X-Frame-Options: SAMEORIGIN" 'X-Quote: say "hi"; #not a comment \\\\ \\'single\\'';`,
    `add_header Strict-Transport-Security "${hsts}" always;`,
    'add_header X-Only-Ok yes;  # nginx adds this on 2xx/3xx only',
    'proxy_set_header X-Forwarded-Scheme https;',
    "more_set_input_headers 'X-Tenant: blue team';",
    'more_clear_input_headers Cookie;',
    "more_clear_headers Server 'X-Powered-*';",
  ].join('\n');
}

function routes(o: { hsts?: string; extra?: boolean } = {}): string {
  const headers = { [`${P}configuration-snippet`]: snippet(o.hsts) + (o.extra ? '\nmore_set_headers "X-Brand-New: 1";' : '') };
  return docs(
    site('headers', 'snip.test', headers),
    site('down', 'snip.test', headers, { path: '/down', service: 'nowhere' }),
    site('plain', 'snip.test', {}, { path: '/plain' }),
    site('host', 'host.test', { [`${P}server-snippet`]: "more_set_headers 'X-Served-By: portico';\nadd_header X-Host-Add yes;" }),
    site('host-own', 'host.test', { [`${P}configuration-snippet`]: 'add_header X-Own 1;' }, { path: '/own' }),
    site('moved', 'ret.test', { [`${P}configuration-snippet`]: 'return 301 https://new.example.com/landing?from=old;' }, { path: '/moved' }),
    site('text', 'ret.test', { [`${P}configuration-snippet`]: "add_header X-Added 1;\nreturn 200 'healthy; yes\\n';" }, { path: '/health' }),
    site('gone', 'ret.test', { [`${P}configuration-snippet`]: 'return 410;' }, { path: '/gone' }),
    site('bare', 'ret.test', { [`${P}configuration-snippet`]: 'return https://elsewhere.example.com/;' }, { path: '/bare' }),
    site('close', 'ret.test', { [`${P}configuration-snippet`]: 'return 444;' }, { path: '/close' }),
    site('lua', 'bad.test', { [`${P}configuration-snippet`]: 'more_set_headers "X-Leak: 1";\naccess_by_lua_block { ngx.exit(403) }' }, { path: '/lua' }),
    site('injection', 'bad.test', { [`${P}configuration-snippet`]: 'more_set_headers "X-A: 1\n  http-request return status 200";\nreturn 200 ok;' }, { path: '/inject' }),
    site('variable', 'bad.test', { [`${P}configuration-snippet`]: 'add_header X-Up $upstream_addr;\nreturn 403;' }, { path: '/var' }),
  );
}

const get = (host: string, path = '/', headers: Record<string, string> = {}): Promise<HttpResponse> => httpGet(portico.httpPort, { host, path, headers });

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'snip', '127.0.240.1'));
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('configuration-snippet headers', () => {
  test('the client sees more_set_headers and add_header values exactly, spaces, quotes, ";" and "#" included', async () => {
    const r = await get('snip.test', '/?reply-header=x-powered-by:php&reply-header=x-powered-extra:1&reply-header=x-frame-options:DENY');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-frame-options'], 'SAMEORIGIN', "replacing the backend's");
    assert.equal(r.headers['x-quote'], QUOTED);
    assert.equal(r.headers['strict-transport-security'], HSTS);
    assert.equal(r.headers['x-only-ok'], 'yes');
    assert.equal(r.headers['x-powered-by'], undefined, 'the wildcard clear');
    assert.equal(r.headers['x-powered-extra'], undefined);
    assert.equal(r.headers.server, undefined, 'more_clear_headers Server');
  });

  test('the backend sees the request headers set and the cleared one gone', async () => {
    const r = await get('snip.test', '/', { cookie: 'session=1', 'x-tenant': 'red', 'x-forwarded-scheme': 'http' });
    const seen = r.json<EchoReply>().headers;
    assert.equal(seen['x-tenant'], 'blue team');
    assert.equal(seen['x-forwarded-scheme'], 'https');
    assert.equal(seen.cookie, undefined);
  });

  test("add_header without always: not on a backend's 404 nor HAProxy's own 503; more_set_headers and always on every status", async () => {
    const notFound = await get('snip.test', '/status/404');
    assert.equal(notFound.status, 404);
    assert.equal(notFound.headers['x-only-ok'], undefined);
    assert.equal(notFound.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(notFound.headers['strict-transport-security'], HSTS);
    const created = await get('snip.test', '/status/201');
    assert.equal(created.headers['x-only-ok'], 'yes', '201 is on the list');
    const down = await get('snip.test', '/down');
    assert.equal(down.status, 503, "HAProxy's own answer: no endpoint");
    assert.equal(down.headers['x-only-ok'], undefined);
    assert.equal(down.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(down.headers['strict-transport-security'], HSTS);
  });

  test("another Ingress's paths on the same host get nothing", async () => {
    const r = await get('snip.test', '/plain', { cookie: 'session=1' });
    assert.equal(r.headers['x-frame-options'], undefined);
    assert.equal(r.headers['strict-transport-security'], undefined);
    assert.equal(r.json<EchoReply>().headers.cookie, 'session=1');
  });
});

describe('server-snippet', () => {
  test("applies to every Ingress on the host; its add_header only where the path's own snippet has none", async () => {
    const root = await get('host.test', '/');
    assert.equal(root.headers['x-served-by'], 'portico');
    assert.equal(root.headers['x-host-add'], 'yes');
    const own = await get('host.test', '/own');
    assert.equal(own.headers['x-served-by'], 'portico', 'headers-more directives are inherited');
    assert.equal(own.headers['x-own'], '1');
    assert.equal(own.headers['x-host-add'], undefined, 'nginx inherits no add_header into a location that has one');
  });
});

describe('return', () => {
  test('301 with a Location, without reaching the backend', async () => {
    const seen = pods[0]!.requests;
    const r = await get('ret.test', '/moved/x');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://new.example.com/landing?from=old');
    assert.equal(pods[0]!.requests, seen);
  });

  test('200 with a text as text/html, the add_header of the same snippet on it', async () => {
    const r = await get('ret.test', '/health');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'healthy; yes\n');
    assert.equal(r.headers['content-type'], 'text/html');
    assert.equal(r.headers['x-added'], '1');
  });

  test('410 with an empty body; a URL alone is a 302', async () => {
    const gone = await get('ret.test', '/gone');
    assert.equal(gone.status, 410);
    assert.equal(gone.body, '');
    const bare = await get('ret.test', '/bare');
    assert.equal(bare.status, 302);
    assert.equal(bare.headers.location, 'https://elsewhere.example.com/');
  });

  test('444 closes the connection without an answer', async () => {
    await assert.rejects(get('ret.test', '/close'));
  });
});

describe('refused snippets', () => {
  test('a Lua block, a line break inside a quoted value, a variable known only after the response: reported (A4) and the Ingress served without the snippet', async () => {
    for (const name of ['lua', 'injection', 'variable'])
      await portico.waitForLog((l) => l.object === `Ingress default/${name}` && l.rule === 'A4' && l.field === `metadata.annotations[${P}configuration-snippet]`, 5000);
    for (const path of ['/lua', '/inject', '/var']) {
      const r = await get('bad.test', path);
      assert.equal(r.status, 200, `${path}: served by the backend, no return`);
      assert.equal(r.json<EchoReply>().path, path);
      assert.equal(r.headers['x-leak'], undefined);
      assert.equal(r.headers['x-a'], undefined);
    }
  });
});

describe('live changes', () => {
  test('a changed value is a map update without a reload; a new header name takes one', async () => {
    const before = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes({ hsts: 'max-age=60' }));
    await waitFor(async () => (await get('snip.test')).headers['strict-transport-security'] === 'max-age=60', { timeoutMs: 5000, message: 'the new value never arrived' });
    assert.equal(await reloadCount(portico.adminPort), before, 'no reload for a value');
    await writeManifest(dir, 'routes.yaml', routes({ hsts: 'max-age=60', extra: true }));
    await waitFor(async () => (await get('snip.test')).headers['x-brand-new'] === '1', { timeoutMs: 10000, message: 'the new header never arrived' });
    // Counted once the new worker has taken over, which may come just after it serves.
    await waitFor(async () => (await reloadCount(portico.adminPort)) === before + 1, { timeoutMs: 5000, message: 'a new header name was not a reload' });
    assert.equal((await get('host.test')).headers['x-served-by'], 'portico', 'other Ingresses unaffected');
  });
});
