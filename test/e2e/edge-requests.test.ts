// A client must never reach what no Ingress exposes: requests are routed on the normalised path, ambiguous paths are
// refused, and the headers that smuggle requests past the routing (h2c upgrades, hop-by-hop tricks) are removed.
// Real Portico and HAProxy; echo pods, and a backend that accepts h2c upgrades, on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createH2Server, connect as h2connect } from 'node:http2';
import type { ServerHttp2Session } from 'node:http2';
import { createServer as createTcpServer } from 'node:net';
import type { Server as TcpServer, Socket } from 'node:net';
import { docs, endpointSlice, http2Get, httpGet, ingress, manifestDir, service, startPortico, writeManifest } from './harness/index.js';
import { singlePodApp, stopEverything } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';
import { openSocket, rawRequest, readResponse } from './harness/raw.js';
import fc from 'fast-check';
import { canonicalPath } from '../../src/translate/path-canonical.js';

interface EchoBody {
  pod: string;
  path: string;
  headers: Record<string, string | undefined>;
}

const pods: Echo[] = [];
let portico: Portico;
let lenient: Portico;
let h2cBackend: TcpServer;
const h2cSessions = new Set<ServerHttp2Session>();
const H2C_IP = '127.0.31.9';

/**
 * A backend that does what many HTTP/2-capable servers do: answer `Upgrade: h2c` with 101 and then serve HTTP/2 on
 * the same connection, any path. Plain HTTP/1.1 requests get a JSON echo like the echo pods'.
 */
async function startH2cBackend(): Promise<{ server: TcpServer; port: number }> {
  const h2 = createH2Server();
  h2.on('session', (s) => h2cSessions.add(s));
  h2.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(JSON.stringify({ pod: 'h2c', path: headers[':path'], headers: {} }));
  });
  const server = createTcpServer((socket: Socket) => {
    let head = '';
    const onData = (c: Buffer): void => {
      head += c.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const [requestLine, ...lines] = head.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      if ((headers.upgrade ?? '').toLowerCase() === 'h2c') {
        socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
        h2.emit('connection', socket);
        return;
      }
      const body = JSON.stringify({ pod: 'h2c', path: requestLine?.split(' ')[1], headers });
      socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(3000, H2C_IP, resolve));
  return { server, port: 3000 };
}

before(async () => {
  const dir = await manifestDir();
  const apps = [await singlePodApp(pods, 's-public', '127.0.31.1'), await singlePodApp(pods, 's-api', '127.0.31.2'), await singlePodApp(pods, 's-admin', '127.0.31.3')];
  h2cBackend = (await startH2cBackend()).server;
  apps.push(
    docs(
      service({ name: 's-h2c', ports: [{ port: 80, targetPort: 3000 }] }),
      endpointSlice({ name: 's-h2c-1', service: 's-h2c', ports: [{ port: 3000 }], endpoints: [{ ip: H2C_IP }] }),
    ),
  );
  // Only /public and /api are exposed; s-admin serves /admin on another host, which must stay unreachable from here.
  apps.push(
    ingress({
      name: 'edge',
      rules: [
        {
          host: 'edge.test',
          paths: [
            { path: '/public', pathType: 'Prefix', service: 's-public', port: 80 },
            { path: '/api', pathType: 'Prefix', service: 's-api', port: 80 },
            { path: '/h2c', pathType: 'Prefix', service: 's-h2c', port: 80 },
          ],
        },
        { host: 'admin.internal', paths: [{ path: '/admin', pathType: 'Prefix', service: 's-admin', port: 80 }] },
      ],
    }),
  );
  await writeManifest(dir, 'edge.yaml', docs(...apps));
  [portico, lenient] = await Promise.all([startPortico({ manifests: dir }), startPortico({ manifests: dir, args: ['--allow-encoded-slashes', 'true'] })]);
  await Promise.all([portico.waitReady(), lenient.waitReady()]);
});

after(async () => {
  for (const s of h2cSessions) s.destroy();
  await new Promise((r) => h2cBackend?.close(r));
  await stopEverything(pods);
});

/** `HTTP <status>` or `<pod> <path the pod received>`. */
async function served(path: string, p: Portico = portico, host = 'edge.test'): Promise<string> {
  const r = await httpGet(p.httpPort, { host, path });
  if (r.status !== 200) return `HTTP ${r.status}`;
  const e = r.json<EchoBody>();
  return `${e.pod} ${e.path}`;
}

describe('dot segments and ambiguous paths: routed on the normalised path, never past it', () => {
  const cases: [string, string][] = [
    ['/admin/secret.txt', 'HTTP 404'],
    ['/public/../admin/secret.txt', 'HTTP 404'],
    ['/public/%2e%2e/admin/secret.txt', 'HTTP 404'],
    ['/public/%2E%2E/admin/secret.txt', 'HTTP 404'],
    ['/public/..%2fadmin/secret.txt', 'HTTP 400'],
    ['/public/%2e%2e%2fadmin/secret.txt', 'HTTP 400'],
    ['/api/..;/admin', 'HTTP 400'],
    ['/api/.;/admin', 'HTTP 400'],
    ['/api/..%3B/admin', 'HTTP 400'],
    ['/api/..\\admin', 'HTTP 400'],
    ['/api/..%5cadmin', 'HTTP 400'],
    ['/api/x/../../admin?q=1', 'HTTP 404'],
    ['/public/%00', 'HTTP 400'],
    ['/public/%zz', 'HTTP 400'],
    ['//public/../../admin', 'HTTP 404'],
    // What a backend receives is the path the route was chosen on.
    ['/public/a/../b', 's-public /public/b'],
    ['/public//b///c', 's-public /public/b/c'],
    ['/public/./b/.', 's-public /public/b/'],
    ['/api/x/../y?q=../z', 's-api /api/y?q=../z'],
    ['/%70ublic/%7Ex', 's-public /public/~x'],
    ['/public/%c3%a9', 's-public /public/%C3%A9'],
    ['/public/a|b[c]', 's-public /public/a%7Cb%5Bc%5D'],
    // Legitimate paths that merely look odd are untouched.
    ['/api/x.y', 's-api /api/x.y'],
    ['/api/..x', 's-api /api/..x'],
    ['/api/.well-known/a', 's-api /api/.well-known/a'],
    ['/api/a;b=c', 's-api /api/a;b=c'],
  ];
  for (const [path, expected] of cases) test(`${path} -> ${expected}`, async () => assert.equal(await served(path), expected));

  test("HAProxy routes on exactly the path translate's canonicalPath gives (differential, random paths)", async () => {
    // Pieces a client can put in a request target, among them every form the normalisation treats specially.
    const piece = fc.constantFrom('a', 'b', 'x.y', '/', '/', '.', '..', ';', '%2e', '%2E', '%41', '%7e', '%c3%a9', '%20', '%3b', '%25', '%2f', '%5c', '%00', '%zz', '|', '[', ']', '"', "'", '~', '-', '\\', '^', '{');
    const rawPath = fc.array(piece, { minLength: 1, maxLength: 12 }).map((parts) => `/public/${parts.join('')}`);
    await fc.assert(
      fc.asyncProperty(rawPath, async (raw) => {
        const expected = canonicalPath(raw);
        const r = await rawRequest(portico.httpPort, [`GET ${raw} HTTP/1.1`, 'Host: edge.test', 'Connection: close']);
        if (!expected.ok) return r.status === 400;
        // A path normalised out of /public (e.g. "/public/..") matches no route.
        if (!expected.path.startsWith('/public/') && expected.path !== '/public') return r.status === 404;
        return r.status === 200 && (JSON.parse(r.body) as EchoBody).path === expected.path;
      }),
      { numRuns: 300, seed: 20261206, endOnFailure: true },
    );
  });

  test('HTTP/2 requests are normalised the same way', async () => {
    const h2 = async (path: string): Promise<string> => {
      const r = await http2Get(portico.httpsPort, { host: 'edge.test', path });
      return r.status === 200 ? `${r.json<EchoBody>().pod} ${r.json<EchoBody>().path}` : `HTTP ${r.status}`;
    };
    assert.equal(await h2('/public/../admin/secret.txt'), 'HTTP 404');
    assert.equal(await h2('/public/%2e%2e/admin/secret.txt'), 'HTTP 404');
    assert.equal(await h2('/public/..%2fadmin/secret.txt'), 'HTTP 400');
    assert.equal(await h2('/api/..;/admin'), 'HTTP 400');
    assert.equal(await h2('/public/a/../b'), 's-public /public/b');
  });

  test('--allow-encoded-slashes keeps %2F, encoded and uppercase, inside one segment', async () => {
    assert.equal(await served('/public/a%2fb', lenient), 's-public /public/a%2Fb');
    assert.equal(await served('/public/..%2Fadmin', lenient), 's-public /public/..%2Fadmin');
    // Everything else is as strict as without the flag.
    assert.equal(await served('/public/../admin/secret.txt', lenient), 'HTTP 404');
    assert.equal(await served('/api/..;/admin', lenient), 'HTTP 400');
  });
});

describe('upgrades: only WebSocket passes', () => {
  test('an h2c upgrade reaches the backend as a plain request, so no HTTP/2 tunnel opens to other paths', async () => {
    const s = await openSocket(portico.httpPort);
    try {
      s.write(['GET /h2c/allowed HTTP/1.1', 'Host: edge.test', 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA', '', ''].join('\r\n'));
      const r = await readResponse(s);
      assert.equal(r.status, 200, 'the upgrade must not be accepted');
      const seen = (JSON.parse(r.body) as EchoBody).headers;
      assert.equal(seen.upgrade, undefined);
      assert.equal(seen['http2-settings'], undefined);
      assert.doesNotMatch(seen.connection ?? '', /upgrade|http2-settings/i);
    } finally {
      s.destroy();
    }
  });

  test('what the smuggling attempt would have reached: nothing beyond the allowed path', async () => {
    // The attack: upgrade on an allowed path, then speak HTTP/2 for /admin on the tunnel.
    const s = await openSocket(portico.httpPort);
    try {
      s.write(['GET /h2c/allowed HTTP/1.1', 'Host: edge.test', 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA', '', ''].join('\r\n'));
      const r = await readResponse(s);
      if (r.status !== 101) return; // refused: nothing to smuggle into
      const session = h2connect('http://edge.test', { createConnection: () => s });
      const path = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':path': '/admin/secret', ':authority': 'admin.internal' });
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => resolve(body));
        req.on('error', reject);
      }).finally(() => session.destroy());
      assert.fail(`an HTTP/2 request for /admin/secret went through the tunnel: ${path}`);
    } finally {
      s.destroy();
    }
  });

  test('Upgrade headers other than a single "websocket" are removed', async () => {
    // With a valid WebSocket key, so that HAProxy's own check of WebSocket handshakes (400 without one) lets them by.
    const key = ['Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];
    for (const upgrade of [['h2c'], ['TLS/1.0'], ['websocket, h2c'], ['websocket', 'h2c'], ['h2c', 'websocket']]) {
      const head = ['GET /public/u HTTP/1.1', 'Host: edge.test', 'Connection: Upgrade', ...upgrade.map((u) => `Upgrade: ${u}`), ...key];
      const r = await rawRequest(portico.httpPort, head);
      assert.equal(r.status, 200, upgrade.join(' + '));
      assert.equal((JSON.parse(r.body) as EchoBody).headers.upgrade, undefined, upgrade.join(' + '));
    }
  });
});

describe('hop-by-hop tricks and forwarding headers', () => {
  test("headers a client names in Connection still reach the backend, Portico's own included", async () => {
    const r = await rawRequest(portico.httpPort, ['GET /public/c HTTP/1.1', 'Host: edge.test', 'Connection: keep-alive, X-Forwarded-For, X-Real-IP, X-Request-ID', 'Connection: close']);
    const seen = (JSON.parse(r.body) as EchoBody).headers;
    assert.equal(seen['x-real-ip'], '127.0.0.1');
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.match(seen['x-request-id'] ?? '', /^[0-9a-f]{32}$/);
    assert.doesNotMatch(seen.connection ?? '', /x-forwarded-for|x-real-ip|x-request-id/i);
  });

  test("a client's Forwarded header is removed (Portico speaks X-Forwarded-*)", async () => {
    const r = await httpGet(portico.httpPort, { host: 'edge.test', path: '/public/f', headers: { forwarded: 'for=203.0.113.9;host=evil.example;proto=https' } });
    const seen = r.json<EchoBody>().headers;
    assert.equal(seen.forwarded, undefined);
    assert.equal(seen['x-forwarded-host'], 'edge.test');
  });

  test('header names with an underscore are dropped, as nginx drops them', async () => {
    const r = await rawRequest(portico.httpPort, ['GET /public/u HTTP/1.1', 'Host: edge.test', 'X_Forwarded_For: 203.0.113.9', 'X-Ok: yes', 'Connection: close']);
    const seen = (JSON.parse(r.body) as EchoBody).headers;
    assert.equal(seen.x_forwarded_for, undefined);
    assert.equal(seen['x-ok'], 'yes');
  });

  test('HTTP/1.1 without Host gets 400; HTTP/1.0 without Host is routed like any other request', async () => {
    assert.equal((await rawRequest(portico.httpPort, ['GET /public/x HTTP/1.1', 'Connection: close'])).status, 400);
    assert.equal((await rawRequest(portico.httpPort, ['GET /public/x HTTP/1.0'])).status, 404);
  });

  test('control characters in a header value get 400; a tab does not', async () => {
    for (const c of ['\x00', '\x01', '\x08', '\x0b', '\x1f', '\x7f']) {
      const r = await rawRequest(portico.httpPort, ['GET /public/x HTTP/1.1', 'Host: edge.test', `X-Note: a${c}b`, 'Connection: close']);
      assert.equal(r.status, 400, `0x${c.charCodeAt(0).toString(16)}`);
    }
    assert.equal((await rawRequest(portico.httpPort, ['GET /public/x HTTP/1.1', 'Host: edge.test', 'X-Note: a\tb', 'Connection: close'])).status, 200);
  });

  test('a WebSocket upgrade still works, whatever the case of its tokens', async () => {
    const r = await rawRequest(portico.httpPort, [
      'GET /public/ws HTTP/1.1',
      'Host: edge.test',
      'Connection: keep-alive, Upgrade',
      'Upgrade: WebSocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ]);
    assert.equal(r.status, 101);
    assert.equal(r.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});
