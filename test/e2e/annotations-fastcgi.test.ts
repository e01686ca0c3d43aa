// backend-protocol FCGI and fastcgi-index through real HAProxy, as a FastCGI application sees it: a responder on
// loopback speaking the FastCGI record protocol (harness/fastcgi.ts) echoes the params and stdin it got. GET with a
// query, POST with a body (of known length, and streamed over HTTP/2 through the body gate), the index appended to a
// path ending in `/`, headers as HTTP_* params, HTTPS seen through both listeners; pods scaled at runtime without a
// reload; a changed fastcgi-index takes one reload (it is a line of the fcgi-app section); hostile index values are
// A1, leave the configuration valid and change nothing for the other Ingresses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as http2Connect } from 'node:http2';
import { configMap, docs, endpointSlice, http2Upload, httpGet, httpsGet, ingress, manifestDir, reloadCount, service, startEcho, startFastCgi, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, FastCgiPod, FastCgiReply, HttpResponse, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const PHP = ['127.0.237.1', '127.0.237.2'];
const ECHO = '127.0.237.10';
const CLIENT = '127.0.237.100';
const DOCROOT = '/usr/local/nginx/html';

const pods: FastCgiPod[] = [];
let echo: Echo;
let dir = '';
let portico: Portico;

const site = (name: string, annotations: Record<string, string>, svc = 'php', port = 9000): string =>
  ingress({ name, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [k.includes('/') ? k : P + k, v])), rules: [{ host: `${name}.test`, paths: [{ path: '/', pathType: 'Prefix', service: svc, port }] }] });

const apps = (phpIps: string[]): string =>
  docs(
    service({ name: 'php', ports: [{ port: 9000, targetPort: 9000 }] }),
    endpointSlice({ name: 'php-1', service: 'php', ports: [{ port: 9000 }], endpoints: phpIps.map((ip) => ({ ip })) }),
    service({ name: 'web', ports: [{ port: 80, targetPort: 8080 }] }),
    endpointSlice({ name: 'web-1', service: 'web', ports: [{ port: 8080 }], endpoints: [{ ip: ECHO }] }),
  );

const routes = (o: { index?: string; hostile?: string } = {}): string =>
  docs(
    site('params', { 'backend-protocol': 'FCGI', 'fastcgi-params-configmap': 'php-params' }),
    site('php', { 'backend-protocol': 'FCGI', 'fastcgi-index': o.index ?? 'index.php' }),
    site('noindex', { 'portico.dev/backend-protocol': 'fcgi' }),
    site('hostile', { 'backend-protocol': 'FCGI', 'fastcgi-index': o.hostile ?? 'x.php\n  server evil 10.9.9.9:80', 'fastcgi-params-configmap': 'fcgi-params' }),
    site('plain', {}, 'web', 80),
  );

function fcgi(r: HttpResponse): FastCgiReply {
  assert.equal(r.status, 200, r.body.slice(0, 300));
  assert.equal(r.headers['content-type'], 'application/json');
  return r.json<FastCgiReply>();
}

const get = async (host: string, path: string, headers: Record<string, string> = {}): Promise<FastCgiReply> =>
  fcgi(await httpGet(portico.httpPort, { host, path, headers, localAddress: CLIENT }));

before(async () => {
  for (const [i, ip] of PHP.entries()) pods.push(await startFastCgi({ pod: `php-${i + 1}`, ip, port: 9000 }));
  echo = await startEcho({ pod: 'web-1', ip: ECHO, port: 8080 });
  dir = await manifestDir();
  await writeManifest(dir, 'apps.yaml', apps([PHP[0]!]));
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(async () => {
  try {
    await stopEverything([]);
  } finally {
    await Promise.all([...pods.map((p) => p.close()), echo.close()]);
  }
});

describe('backend-protocol FCGI', () => {
  test('GET with a query: the request as nginx\'s fastcgi_params describe it, headers as HTTP_*, no body, no PATH_INFO; forged forwarding headers change nothing', async () => {
    const r = await httpGet(portico.httpPort, { host: 'php.test', path: '/app/info.php?a=1&b=two%20words', headers: { 'x-custom-thing': 'v1', authorization: 'Bearer t0k3n', cookie: 's=1', 'x-real-ip': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-port': '1' }, localAddress: CLIENT });
    assert.equal(r.headers['x-fastcgi-pod'], 'php-1');
    const got = fcgi(r);
    assert.equal(got.role, 1, 'FCGI_RESPONDER');
    const p = got.params;
    assert.deepEqual(
      {
        REQUEST_METHOD: p.REQUEST_METHOD, QUERY_STRING: p.QUERY_STRING, REQUEST_URI: p.REQUEST_URI, DOCUMENT_URI: p.DOCUMENT_URI, SCRIPT_NAME: p.SCRIPT_NAME,
        SCRIPT_FILENAME: p.SCRIPT_FILENAME, DOCUMENT_ROOT: p.DOCUMENT_ROOT, SERVER_PROTOCOL: p.SERVER_PROTOCOL, GATEWAY_INTERFACE: p.GATEWAY_INTERFACE,
        REQUEST_SCHEME: p.REQUEST_SCHEME, HTTPS: p.HTTPS, REMOTE_ADDR: p.REMOTE_ADDR, REDIRECT_STATUS: p.REDIRECT_STATUS, SERVER_PORT: p.SERVER_PORT,
        CONTENT_LENGTH: p.CONTENT_LENGTH, PATH_INFO: p.PATH_INFO,
        HTTP_HOST: p.HTTP_HOST, HTTP_X_CUSTOM_THING: p.HTTP_X_CUSTOM_THING, HTTP_AUTHORIZATION: p.HTTP_AUTHORIZATION, HTTP_COOKIE: p.HTTP_COOKIE, HTTP_X_REAL_IP: p.HTTP_X_REAL_IP,
      },
      {
        REQUEST_METHOD: 'GET', QUERY_STRING: 'a=1&b=two%20words', REQUEST_URI: '/app/info.php?a=1&b=two%20words', DOCUMENT_URI: '/app/info.php', SCRIPT_NAME: '/app/info.php',
        SCRIPT_FILENAME: `${DOCROOT}/app/info.php`, DOCUMENT_ROOT: DOCROOT, SERVER_PROTOCOL: 'HTTP/1.1', GATEWAY_INTERFACE: 'CGI/1.1',
        REQUEST_SCHEME: 'http', HTTPS: undefined, REMOTE_ADDR: CLIENT, REDIRECT_STATUS: '200', SERVER_PORT: String(portico.httpPort),
        CONTENT_LENGTH: '0', PATH_INFO: undefined,
        HTTP_HOST: 'php.test', HTTP_X_CUSTOM_THING: 'v1', HTTP_AUTHORIZATION: 'Bearer t0k3n', HTTP_COOKIE: 's=1', HTTP_X_REAL_IP: CLIENT,
      },
    );
    assert.equal(got.stdin, '');
  });

  test('POST with a body: CONTENT_TYPE, CONTENT_LENGTH and the body as stdin, byte for byte, across several records', async () => {
    const small = 'name=value&x=1';
    const big = Array.from({ length: 150_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    for (const body of [small, big]) {
      const got = fcgi(await httpGet(portico.httpPort, { host: 'php.test', path: '/form.php', method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' }, localAddress: CLIENT }));
      assert.equal(got.params.REQUEST_METHOD, 'POST');
      assert.equal(got.params.CONTENT_TYPE, 'application/x-www-form-urlencoded');
      assert.equal(got.params.CONTENT_LENGTH, String(body.length));
      assert.equal(got.stdin.length, body.length);
      assert.equal(got.stdin, body);
    }
  });

  test('HTTPS: REQUEST_SCHEME https and HTTPS on, also for a streamed HTTP/2 body through the body gate (REMOTE_ADDR still the client)', async () => {
    const r = fcgi(await httpsGet(portico.httpsPort, { host: 'php.test', servername: 'php.test', path: '/s.php' }));
    assert.deepEqual([r.params.REQUEST_SCHEME, r.params.HTTPS, r.params.REMOTE_ADDR], ['https', 'on', '127.0.0.1']);
    const upload = (pieces: number): Promise<{ status: number; body: string }> =>
      http2Upload(http2Connect(`https://127.0.0.1:${portico.httpsPort}`, { rejectUnauthorized: false }), { authority: 'php.test', path: '/upload.php?k=v', pieces });
    const up = await upload(8);
    assert.equal(up.status, 200, `${up.status} ${up.body.slice(0, 300)}`);
    const got = JSON.parse(up.body) as FastCgiReply;
    assert.equal(got.stdin, 'z'.repeat(8 * 1024));
    assert.equal(got.params.CONTENT_LENGTH, String(8 * 1024), 'HAProxy buffers a body of unknown length to tell its length');
    assert.equal(got.params.SERVER_PORT, String(portico.httpsPort));
    // The gate's connection is a unix socket: no port of the client's reaches HAProxy's REMOTE_PORT (documented).
    assert.equal(got.params.REMOTE_PORT, '0');
    assert.deepEqual([got.params.REQUEST_METHOD, got.params.QUERY_STRING, got.params.REQUEST_SCHEME, got.params.HTTPS, got.params.REMOTE_ADDR, got.params.SCRIPT_NAME], ['POST', 'k=v', 'https', 'on', '127.0.0.1', '/upload.php']);
  });

  test('a body of unknown length larger than HAProxy\'s buffer is refused with 400 (documented difference: nginx buffers it whole)', async () => {
    const up = await http2Upload(http2Connect(`https://127.0.0.1:${portico.httpsPort}`, { rejectUnauthorized: false }), { authority: 'php.test', path: '/big.php', pieces: 40 });
    assert.equal(up.status, 400);
    // A body of known length of any size still passes (the POST test above sends 150,000 bytes).
    assert.equal(fcgi(await httpGet(portico.httpPort, { host: 'php.test', path: '/big.php', method: 'POST', body: 'z'.repeat(40 * 1024) })).stdin.length, 40 * 1024);
  });

  test('fastcgi-index: a path ending in / gets the index in SCRIPT_NAME and SCRIPT_FILENAME; without it, the path as it is', async () => {
    const php = await get('php.test', '/dir/?q=1');
    assert.deepEqual([php.params.SCRIPT_NAME, php.params.SCRIPT_FILENAME, php.params.REQUEST_URI, php.params.QUERY_STRING], ['/dir/index.php', `${DOCROOT}/dir/index.php`, '/dir/?q=1', 'q=1']);
    assert.equal((await get('php.test', '/')).params.SCRIPT_NAME, '/index.php');
    assert.equal((await get('php.test', '/dir/page.php')).params.SCRIPT_NAME, '/dir/page.php');
    const none = await get('noindex.test', '/dir/');
    assert.deepEqual([none.params.SCRIPT_NAME, none.params.SCRIPT_FILENAME], ['/dir/', `${DOCROOT}/dir/`]);
  });

  test('a plain Ingress beside them is still spoken to in HTTP', async () => {
    const r = await httpGet(portico.httpPort, { host: 'plain.test', path: '/x' });
    assert.equal(r.status, 200);
    assert.deepEqual([r.json<EchoReply>().pod, r.json<EchoReply>().path], ['web-1', '/x']);
  });

  test('a hostile fastcgi-index is A1 (and a missing params ConfigMap a warning): ignored, the configuration valid, the path served without index', async () => {
    const a1 = await portico.waitForLog((l) => l.object === 'Ingress default/hostile' && l.rule === 'A1', 5000);
    assert.equal(a1.field, `metadata.annotations[${P}fastcgi-index]`);
    assert.match(String(a1.msg), /is not a file name/);
    const missing = await portico.waitForLog((l) => l.object === 'Ingress default/hostile' && l.rule === 'fastcgi-params' && l.field === `metadata.annotations[${P}fastcgi-params-configmap]`, 5000);
    assert.match(String(missing.msg), /ConfigMap default\/fcgi-params was not found: no params of it are sent/);
    assert.equal((await get('hostile.test', '/d/')).params.SCRIPT_NAME, '/d/');
    // Every hostile value leaves the Ingress as it was (FCGI without index): nothing to apply, no reload, others served.
    const before = await reloadCount(portico.adminPort);
    for (const hostile of ['index.php"; server x', 'a b', '..', '{x}', 'x#y', '%[src]', 'use-fcgi-app fcgi_0', `${'i'.repeat(1 << 20)}.php`]) {
      await writeManifest(dir, 'routes.yaml', routes({ hostile }));
      await portico.waitForLog((l) => l.object === 'Ingress default/hostile' && l.rule === 'A1' && String(l.msg).includes(JSON.stringify(hostile).slice(1, 20)), 5000);
      assert.equal((await get('hostile.test', '/d/')).params.SCRIPT_NAME, '/d/');
      assert.equal((await get('php.test', '/d/')).params.SCRIPT_NAME, '/d/index.php');
      assert.equal((await httpGet(portico.httpPort, { host: 'plain.test', path: '/' })).status, 200);
    }
    assert.equal(await reloadCount(portico.adminPort), before);
    await writeManifest(dir, 'routes.yaml', routes());
  });

  test('pods scaled at runtime: a second FastCGI pod answers, then the first leaves, without a reload', async () => {
    const before = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'apps.yaml', apps(PHP));
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const got = await get('php.test', '/dir/');
        // A server added without `proto fcgi` would speak HTTP to the responder, which answers no such request.
        assert.equal(got.params.SCRIPT_NAME, '/dir/index.php');
        seen.add(got.pod);
        return seen.has('php-1') && seen.has('php-2');
      },
      { timeoutMs: 5000, message: () => `both pods never answered: ${[...seen].join(', ')}` },
    );
    await writeManifest(dir, 'apps.yaml', apps([PHP[1]!]));
    await waitFor(
      async () => {
        const answered = await Promise.all(Array.from({ length: 6 }, async () => (await httpGet(portico.httpPort, { host: 'php.test', path: '/' })).headers['x-fastcgi-pod']));
        return answered.every((p) => p === 'php-2');
      },
      { timeoutMs: 5000, message: 'php-1 still answered' },
    );
    assert.equal(await reloadCount(portico.adminPort), before);
  });

  test('a live change of fastcgi-index takes one reload (a line of the fcgi-app section) and serves the new index', async () => {
    const before = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes({ index: 'main.php' }));
    await waitFor(async () => (await get('php.test', '/dir/')).params.SCRIPT_NAME === '/dir/main.php', { timeoutMs: 8000, message: 'the new index never served' });
    await waitFor(async () => (await reloadCount(portico.adminPort)) === before + 1, { timeoutMs: 5000, message: 'the reload was not counted' });
    assert.equal((await get('noindex.test', '/dir/')).params.SCRIPT_NAME, '/dir/');
    assert.equal((await httpGet(portico.httpPort, { host: 'plain.test', path: '/' })).status, 200);
  });
});

describe('fastcgi-params-configmap', () => {
  const params = (data: Record<string, string>): Promise<string> => writeManifest(dir, 'params.yaml', configMap({ name: 'php-params', data }));

  test("the ConfigMap's params reach the application, replacing Portico's of the same name; a bad entry is left out, the rest sent", async () => {
    await params({ SCRIPT_FILENAME: '/srv/app/front.php', APP_ENV: 'prod', DOCUMENT_ROOT: '/srv/app', VARIABLE: '$document_root$fastcgi_script_name', 'BAD KEY': 'x' });
    await waitFor(async () => (await get('params.test', '/x.php')).params.APP_ENV === 'prod', { timeoutMs: 8000, message: 'the params never arrived' });
    const p = (await get('params.test', '/x.php')).params;
    assert.deepEqual([p.SCRIPT_FILENAME, p.DOCUMENT_ROOT, p.VARIABLE, p['BAD KEY']], ['/srv/app/front.php', '/srv/app', undefined, undefined]);
    const bad = await portico.waitForLog((l) => l.object === 'ConfigMap default/php-params' && l.rule === 'fastcgi-params' && l.field === 'data[VARIABLE]', 5000);
    assert.match(String(bad.msg), /nginx variable/);
    // Another Ingress of the same Service without the ConfigMap keeps Portico's params.
    assert.equal((await get('php.test', '/x.php')).params.SCRIPT_FILENAME, `${DOCROOT}/x.php`);
  });

  test('a changed value takes one reload and is sent; a ConfigMap no Ingress names changes nothing', async () => {
    const before = await reloadCount(portico.adminPort);
    await params({ SCRIPT_FILENAME: '/srv/app/front.php', APP_ENV: 'staging', DOCUMENT_ROOT: '/srv/app' });
    await waitFor(async () => (await get('params.test', '/x.php')).params.APP_ENV === 'staging', { timeoutMs: 8000, message: 'the new value never arrived' });
    await waitFor(async () => (await reloadCount(portico.adminPort)) === before + 1, { timeoutMs: 5000, message: 'the reload was not counted' });
    await writeManifest(dir, 'other.yaml', configMap({ name: 'unrelated', data: { A: 'b' } }));
    await writeManifest(dir, 'other.yaml', configMap({ name: 'unrelated', data: { A: 'c' } }));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await reloadCount(portico.adminPort), before + 1);
  });
});
