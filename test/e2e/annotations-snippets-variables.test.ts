// nginx variables in the snippet annotations through real HAProxy: the snippets real manifests carry
// (`return 301 https://$host$request_uri`, `proxy_set_header X-Original-Host $host`, `more_set_headers "X-Request-Id:
// $request_id"`, `more_set_input_headers "X-Client-IP: $remote_addr"`) as a client and a backend see them; what each
// variable holds for a request with a query, a port and capitals in its Host, a client X-Forwarded-For, cookies; hostile
// input (a control character in a header a template reads, a CR LF percent-encoded into a path `$uri` decodes, a Host
// that is no host name, a header too long to expand) never reaches a header or a Location as it was; a changed
// template is live without a reload; a route without templates is untouched.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { docs, httpGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, HttpResponse, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const site = (name: string, host: string | undefined, path: string, snippet: string | undefined): string =>
  ingress({ name, annotations: snippet === undefined ? {} : { [`${P}configuration-snippet`]: snippet }, rules: [{ ...(host ? { host } : {}), paths: [{ path, pathType: 'Prefix', service: 'vars', port: 80 }] }] });

const HEADERS = [
  'proxy_set_header X-Original-Host $host;',
  'proxy_set_header X-Forwarded-Uri $request_uri;',
  "more_set_input_headers 'X-Client-IP: $remote_addr' 'X-Http-Host: $http_host' 'X-Uri: $uri' 'X-Args: $args';",
  'proxy_set_header X-Misc "${request_method} ${scheme} ${server_port} p=$arg_page s=$cookie_session";',
  'proxy_set_header X-XFF $proxy_add_x_forwarded_for;',
  'proxy_set_header X-Client-XFF "[$http_x_forwarded_for]";',
  'proxy_set_header X-Evil-Copy $http_x_evil;',
  'more_set_headers "X-Request-Id: $request_id";',
  'add_header X-Agent "ua=$http_user_agent" always;',
].join('\n');

function routes(target = 'https://$host$request_uri'): string {
  return docs(
    site('headers', 'vars.test', '/', HEADERS),
    site('redirect', 'vars.test', '/old', `return 301 ${target};`),
    site('decoded', 'vars.test', '/decoded', 'return 302 https://$host$uri;'),
    site('text', 'vars.test', '/whoami', "return 200 'you are $remote_addr via $request_method\\n';"),
    site('plain', 'vars.test', '/plain', "more_set_headers 'X-Plain: yes';"),
    site('anyhost', undefined, '/anyhost', 'return 301 https://$host$request_uri;'),
    site('later', 'vars.test', '/later', 'add_header X-Upstream $upstream_addr;'),
  );
}

const get = (path: string, headers: Record<string, string> = {}, host = 'vars.test'): Promise<HttpResponse> => httpGet(portico.httpPort, { host, path, headers });

/** A request written byte for byte (undici refuses the odd bytes these tests send); the raw answer's head. */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(portico.httpPort, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.setTimeout(10_000, () => s.destroy(new Error('no answer')));
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(text);
      if (end >= 0 && length && text.length >= end + 4 + Number(length[1])) s.end();
    });
    s.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', reject);
    s.end(Buffer.from(request, 'latin1'));
  });
}

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'vars', '127.0.241.1'));
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('return with variables', () => {
  test("return 301 https://$host$request_uri: nginx's $host (lowercase, no port) and the path and query as sent", async () => {
    const seen = pods[0]!.requests;
    const r = await get('/old/a%20b/?x=1&y=%2F', {}, 'VARS.Test:8080');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://vars.test/old/a%20b/?x=1&y=%2F');
    assert.equal(pods[0]!.requests, seen, 'the backend never saw it');
  });

  test('a return text with variables, its line break at the end written by the rule', async () => {
    const r = await get('/whoami');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'you are 127.0.0.1 via GET\n');
  });

  test("$uri decodes the path, so a %0D%0A in it would split nginx's Location: here it stays %0D%0A and no header is injected", async () => {
    const head = await raw('GET /decoded/a%0D%0ASet-Cookie:%20owned=1/%C3%A9%20x HTTP/1.1\r\nHost: vars.test\r\nConnection: close\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 302/);
    const location = /\r\nlocation: ([^\r\n]*)\r\n/i.exec(head)?.[1];
    assert.equal(location, 'https://vars.test/decoded/a%0D%0ASet-Cookie:%20owned=1/%C3%A9%20x');
    assert.doesNotMatch(head, /\r\nset-cookie:/i);
  });

  test('on a route of any host, $host is the Host sent (as in nginx); a Host that is no host name gets 400, never a Location', async () => {
    const ok = await get('/anyhost?a=1', {}, 'Elsewhere.Example:81');
    assert.equal(ok.status, 301);
    assert.equal(ok.headers.location, 'https://elsewhere.example/anyhost?a=1');
    for (const host of ['evil.example/x?', 'a@evil.example', 'a b']) {
      const head = await raw(`GET /anyhost HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.match(head, /^HTTP\/1\.1 400/, host);
      assert.doesNotMatch(head, /\r\nlocation:/i, host);
    }
  });
});

describe('headers with variables', () => {
  test('the backend sees each variable with its nginx meaning', async () => {
    const r = await get('/api/caf%C3%A9/x?page=7&Page=8&q=%20', { 'x-forwarded-for': '203.0.113.9', cookie: 'a=1; session=abc; z=2', 'user-agent': 'probe/1.0' }, 'Vars.Test:8080');
    assert.equal(r.status, 200);
    const seen = r.json<EchoReply>();
    const h = seen.headers;
    assert.equal(h['x-original-host'], 'vars.test');
    assert.equal(h['x-http-host'], 'Vars.Test:8080');
    assert.equal(h['x-forwarded-uri'], seen.path, '$request_uri is the path and query the backend receives');
    assert.match(String(h['x-forwarded-uri']), /\?page=7&Page=8&q=%20$/);
    assert.equal(h['x-args'], 'page=7&Page=8&q=%20');
    // The echo pod reads header bytes as latin1: the UTF-8 of "é" arrives as two characters.
    const decoded = seen.path.replace(/\?.*$/, '').replace(/%([0-9A-Fa-f]{2})/g, (_, x: string) => String.fromCharCode(parseInt(x, 16)));
    assert.match(decoded, /caf\u00c3\u00a9/);
    assert.equal(h['x-uri'], decoded, '$uri: the path decoded');
    assert.equal(h['x-client-ip'], '127.0.0.1');
    assert.equal(h['x-misc'], `GET http ${portico.httpPort} p=7 s=abc`);
    assert.equal(h['x-xff'], '203.0.113.9, 127.0.0.1', '$proxy_add_x_forwarded_for');
    assert.equal(h['x-client-xff'], '[203.0.113.9]', "$http_x_forwarded_for: the client's, without Portico's address");
    assert.equal(h['x-evil-copy'], undefined, 'an empty expansion sets no header (as nginx drops an empty proxy_set_header)');
    const replaced = (await get('/', { 'x-evil-copy': 'from the client' })).json<EchoReply>().headers;
    assert.equal(replaced['x-evil-copy'], undefined, "and removes the client's own, as proxy_set_header replaces it");
  });

  test('the client sees $request_id as the X-Request-ID the backend received, its own when it sent one', async () => {
    const made = await get('/');
    assert.match(String(made.headers['x-request-id']), /^[0-9a-f]{32}$/);
    assert.equal(made.headers['x-request-id'], made.json<EchoReply>().headers['x-request-id']);
    const own = await get('/', { 'x-request-id': 'trace-42', 'user-agent': 'undici' });
    assert.equal(own.headers['x-request-id'], 'trace-42');
    assert.equal(own.headers['x-agent'], 'ua=undici');
    const notFound = await get('/status/404', { 'user-agent': 'x' });
    assert.equal(notFound.headers['x-agent'], 'ua=x', 'add_header ... always: every status');
  });

  test('control characters never reach a header: HAProxy refuses them in a header value, and those $uri decodes are written %XX', async () => {
    // HAProxy answers 400 itself to a control character in an HTTP/1 header value, so $http_x never holds one
    // (HTTP/2 refuses only NUL, CR and LF: the Lua's neutralisation covers the rest). For $uri the property is what is
    // checked: HAProxy 2.6's log-format happens to write a control character of a header value %XX as well (seen with
    // the Lua's neutralisation taken out), so either layer alone keeps this test green; the Location test below needs
    // the Lua's (a space and bytes past ASCII).
    const refused = await raw('GET / HTTP/1.1\r\nHost: vars.test\r\nX-Evil: a\x01b\r\nConnection: close\r\n\r\n');
    assert.match(refused, /^HTTP\/1\.1 400/);
    const kept = await raw('GET / HTTP/1.1\r\nHost: vars.test\r\nX-Evil: caf\xc3\xa9 \tx\r\nConnection: close\r\n\r\n');
    const body = JSON.parse(Buffer.from(kept.slice(kept.indexOf('\r\n\r\n') + 4), 'latin1').toString('utf8')) as EchoReply;
    assert.equal(body.headers['x-evil-copy'], 'caf\u00c3\u00a9 \tx', 'bytes past ASCII and a tab are kept, as nginx keeps them');
    const r = await get('/ctl%01%0D%0AX-Injected:%201%7F%09x');
    assert.equal(r.status, 200);
    const seen = r.json<EchoReply>().headers;
    assert.equal(seen['x-uri'], '/ctl%01%0D%0AX-Injected: 1%7F\tx');
    assert.equal(seen['x-injected'], undefined);
  });

  test('a header too long to expand (past 8 KiB) gets 400, not a cut value', async () => {
    const r = await get('/', { 'x-evil': 'v'.repeat(9000) });
    assert.equal(r.status, 400);
    assert.equal((await get('/', { 'x-evil': 'v'.repeat(4000) })).status, 200);
  });

  test('a route without variables is untouched; one with a variable known only after the response is refused (A4)', async () => {
    const plain = await get('/plain', { 'x-evil': 'v'.repeat(9000) });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['x-plain'], 'yes');
    assert.equal(plain.json<EchoReply>().headers['x-original-host'], undefined);
    await portico.waitForLog((l) => l.object === 'Ingress default/later' && l.rule === 'A4' && /\$upstream_addr is known only once the backend answered/.test(String(l.msg)), 5000);
    const later = await get('/later');
    assert.equal(later.status, 200);
    assert.equal(later.headers['x-upstream'], undefined);
  });
});

describe('live changes', () => {
  test('a changed template is a map update without a reload', async () => {
    const before = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes('https://new.example$request_uri'));
    await waitFor(async () => (await get('/old/x?y=1')).headers.location === 'https://new.example/old/x?y=1', { timeoutMs: 5000, message: 'the new template never arrived' });
    assert.equal(await reloadCount(portico.adminPort), before, 'no reload for a template');
    assert.equal((await get('/')).json<EchoReply>().headers['x-original-host'], 'vars.test', 'other templates unaffected');
  });
});
