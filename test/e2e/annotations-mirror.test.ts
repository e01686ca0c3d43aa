// mirror-target, mirror-host and mirror-request-body through real HAProxy: a mirror peer records what it receives
// (method, path, Host, headers, body) while the client gets the backend's normal answer (the peer itself answers 500,
// which nobody sees); body off; a body too large or of a method HAProxy's client cannot send is not mirrored and is
// counted; a mirror that hangs or refuses connections changes neither the client's status nor its latency; at most 64
// mirror requests are in flight, the rest counted; a target host name resolved through --resolvers; hostile values
// leave the configuration valid and every other Ingress serving; a changed target is live without a reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import { connect } from 'node:net';
import { join } from 'node:path';
import { docs, httpGet, ingress, makeCert, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, tlsSecretYaml, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, HttpOptions, Portico } from './harness/index.js';
import { startDns } from './harness/dns.js';
import { rawRequest } from './harness/raw.js';
import type { DnsServer } from './harness/dns.js';

const P = 'nginx.ingress.kubernetes.io/';
const APP_IP = '127.0.187.1';
const PEER_IP = '127.0.187.2';
const HANG_IP = '127.0.187.3';
const DEAD = 'http://127.0.187.4:3000$request_uri';
const PEER = `http://${PEER_IP}:3000`;
const pods: Echo[] = [];
let dir = '';
let portico: Portico;
let dns: DnsServer;

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A mirror that records each request, answering 500 (or, `hang`, not at all until released). */
function recorder(hang: boolean): { server: Server; seen: Seen[]; release(): void } {
  const seen: Seen[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (hang) held.push(res);
      else res.writeHead(500, { 'content-type': 'text/plain' }).end('the mirror failed\n');
    });
  });
  return { server, seen, release: () => held.splice(0).forEach((r) => r.writeHead(200).end()) };
}
const peer = recorder(false);
const hanging = recorder(true);

const listen = (s: Server, ip: string): Promise<void> =>
  new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(3000, ip, resolve);
  });

const one = (name: string, host: string, annotations: Record<string, string>): string =>
  ingress({ name, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [P + k, v])), rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: 'mi-app', port: 80 }] }] });

const cert = makeCert({ cn: 'secure.test', dnsNames: ['secure.test'], keyFormat: 'pkcs8' });

const routes = (target = `${PEER}$request_uri`): string =>
  docs(
    tlsSecretYaml('default', 'secure-cert', cert),
    ingress({
      name: 'secure',
      annotations: { [`${P}mirror-target`]: `${PEER}/s/$scheme$request_uri`, [`${P}ssl-redirect`]: 'false' },
      tls: [{ hosts: ['secure.test'], secretName: 'secure-cert' }],
      rules: [{ host: 'secure.test', paths: [{ path: '/', pathType: 'Prefix', service: 'mi-app', port: 80 }] }],
    }),
    one('mirrored', 'mirror.test', { 'mirror-target': target }),
    one('nobody', 'nobody.test', { 'mirror-target': `${PEER}/copy?of=$escaped_request_uri&s=$scheme`, 'mirror-host': 'shadow.test', 'mirror-request-body': 'off' }),
    one('hang', 'hang.test', { 'mirror-target': `http://${HANG_IP}:3000$request_uri` }),
    one('dead', 'dead.test', { 'mirror-target': DEAD }),
    one('named', 'named.test', { 'mirror-target': 'http://shadow.mirror.test:3000/named$request_uri' }),
    one('hostile', 'hostile.test', { 'mirror-target': 'http://a.test/\n  lua-load /tmp/x', 'mirror-host': '"x" # y {z}' }),
    one('hostile2', 'hostile2.test', { 'mirror-target': `http://$host/x`, 'mirror-request-body': 'off\n  option http-buffer-request' }),
    one('huge', 'huge.test', { 'mirror-target': `${PEER}/${'m'.repeat(1 << 20)}` }),
    one('plain', 'plain.test', {}),
  );

const get = (host: string, o: Omit<HttpOptions, 'host'> = {}) => httpGet(portico.httpPort, { host, path: '/', ...o });

/** HAProxy's mirror counters, from its runtime API (`portico mirror`). */
async function counters(): Promise<Record<string, number>> {
  const text = await new Promise<string>((resolve, reject) => {
    const s = connect(join(portico.stateDir, 'haproxy.sock'));
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.end('portico mirror\n');
  });
  return Object.fromEntries([...text.matchAll(/^([a-z_]+) (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** The requests `seen` gets after `count` more arrived (the mirror is sent after the client's answer may be back). */
async function arrivals(seen: Seen[], from: number, count: number): Promise<Seen[]> {
  await waitFor(async () => Promise.resolve(seen.length >= from + count), { timeoutMs: 5000, message: `the mirror never received ${count} request(s)` });
  return seen.slice(from);
}

before(async () => {
  dir = await manifestDir();
  dns = await startDns('127.0.187.53', 5353);
  dns.set('shadow.mirror.test', [PEER_IP]);
  await listen(peer.server, PEER_IP);
  await listen(hanging.server, HANG_IP);
  await writeManifest(dir, 'apps.yaml', await singlePodApp(pods, 'mi-app', APP_IP));
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0', '--resolvers', dns.address] });
  await portico.waitReady();
});

after(async () => {
  hanging.release();
  for (const s of [peer.server, hanging.server]) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  await dns?.close();
  await stopEverything(pods);
});

describe('what the mirror receives, and what the client gets', () => {
  test("a GET: the client gets the backend's 200 while the mirror, which answers 500, gets the method, path, query and headers, with the target's host", async () => {
    const from = peer.seen.length;
    const r = await get('mirror.test', { path: '/a/b?q=1&r=%20', headers: { 'x-test': 'one', cookie: 'k=v' } });
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().pod, 'mi-app');
    assert.equal(r.json<EchoReply>().path, '/a/b?q=1&r=%20');
    const [m] = await arrivals(peer.seen, from, 1);
    assert.equal(m!.method, 'GET');
    assert.equal(m!.url, '/a/b?q=1&r=%20');
    assert.equal(m!.headers.host, PEER_IP, "mirror-host's default: the target's host without its port");
    assert.equal(m!.headers['x-test'], 'one');
    assert.equal(m!.headers.cookie, 'k=v');
    assert.equal(m!.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(m!.body, '');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(peer.seen.length, from + 1, 'mirrored once');
  });

  test('a POST: the mirror and the backend both get the body, the mirror with its Content-Length', async () => {
    const from = peer.seen.length;
    const r = await get('mirror.test', { path: '/form', method: 'POST', body: 'name=value&x=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().body, 'name=value&x=1');
    const [m] = await arrivals(peer.seen, from, 1);
    assert.equal(m!.method, 'POST');
    assert.equal(m!.body, 'name=value&x=1');
    assert.equal(m!.headers['content-length'], '14');
    assert.equal(m!.headers['content-type'], 'application/x-www-form-urlencoded');
  });

  test('PUT and DELETE are mirrored; PATCH is not (HAProxy 2.6 cannot send it), and is counted', async () => {
    const from = peer.seen.length;
    const before = await counters();
    for (const method of ['PUT', 'DELETE', 'PATCH']) assert.equal((await get('mirror.test', { path: `/m/${method}`, method, body: 'x' })).status, 200, method);
    const seen = await arrivals(peer.seen, from, 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(
      peer.seen.slice(from).map((s) => `${s.method} ${s.url}`),
      ['PUT /m/PUT', 'DELETE /m/DELETE'],
    );
    assert.equal(seen[0]!.body, 'x');
    assert.equal((await counters()).dropped_method, before.dropped_method! + 1);
  });

  test('mirror-request-body off, mirror-host and a target with a path and variables: no body, no Content-Length, that Host and URL', async () => {
    const from = peer.seen.length;
    const r = await get('nobody.test', { path: '/x?y=1', method: 'POST', body: 'secret' });
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().body, 'secret', 'the backend still gets the body');
    const [m] = await arrivals(peer.seen, from, 1);
    assert.equal(m!.method, 'POST');
    assert.equal(m!.url, '/copy?of=%2Fx%3Fy%3D1&s=http');
    assert.equal(m!.headers.host, 'shadow.test');
    assert.equal(m!.body, '');
    assert.equal(m!.headers['content-length'], undefined);
    assert.equal(m!.headers['transfer-encoding'], undefined);
  });

  test('a body over 8 KiB, or of unannounced length: the backend gets it whole, the mirror nothing, and it is counted', async () => {
    const from = peer.seen.length;
    const before = await counters();
    const big = 'b'.repeat(9000);
    const r = await get('mirror.test', { path: '/big', method: 'POST', body: big });
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().body.length, 9000);
    const chunked = await rawRequest(portico.httpPort, ['POST /chunked HTTP/1.1', 'Host: mirror.test', 'Transfer-Encoding: chunked', 'Connection: close'], '5\r\nhello\r\n0\r\n\r\n');
    assert.equal(chunked.status, 200);
    assert.equal((JSON.parse(chunked.body) as EchoReply).body, 'hello');
    const exact = 'e'.repeat(8192);
    assert.equal((await get('mirror.test', { path: '/exact', method: 'POST', body: exact })).status, 200);
    const [m] = await arrivals(peer.seen, from, 1);
    assert.equal(m!.url, '/exact', 'a body of exactly 8 KiB is mirrored');
    assert.equal(m!.body, exact);
    assert.equal((await counters()).dropped_body, before.dropped_body! + 2);
  });

  test('a target host name resolves through --resolvers', async () => {
    const from = peer.seen.length;
    assert.equal((await get('named.test', { path: '/n?1' })).status, 200);
    const [m] = await arrivals(peer.seen, from, 1);
    assert.equal(m!.url, '/named/n?1');
    assert.equal(m!.headers.host, 'shadow.mirror.test');
  });
});

/** One HTTP/2 POST over TLS to secure.test, with or without content-length; the status and the backend's reply. */
function http2Post(path: string, body: string, announce: boolean): Promise<{ status: number; reply: EchoReply }> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`https://127.0.0.1:${portico.httpsPort}`, { servername: 'secure.test', rejectUnauthorized: false });
    session.once('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': path, ':authority': 'secure.test', ...(announce ? { 'content-length': String(body.length) } : {}) });
    let status = 0;
    const chunks: Buffer[] = [];
    stream.once('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('error', reject);
    stream.once('end', () => {
      session.close();
      resolve({ status, reply: JSON.parse(Buffer.concat(chunks).toString()) as EchoReply });
    });
    stream.end(body);
  });
}

describe('HTTPS and HTTP/2', () => {
  test('$scheme is https; a body with content-length is mirrored, one without is not (counted); the backend gets both', async () => {
    const from = peer.seen.length;
    const before = await counters();
    const announced = await http2Post('/up?a=1', 'hello h2', true);
    assert.equal(announced.status, 200);
    assert.equal(announced.reply.body, 'hello h2');
    const unannounced = await http2Post('/up2', 'no length', false);
    assert.equal(unannounced.status, 200);
    assert.equal(unannounced.reply.body, 'no length');
    const [m] = await arrivals(peer.seen, from, 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(peer.seen.length, from + 1);
    assert.equal(m!.method, 'POST');
    assert.equal(m!.url, '/s/https/up?a=1');
    assert.equal(m!.body, 'hello h2');
    assert.equal((await counters()).dropped_body, before.dropped_body! + 1);
  });
});

describe('the client never depends on the mirror', () => {
  test('a mirror that never answers, or refuses connections: the client gets 200 as fast as from a route without a mirror', async () => {
    const timed = async (host: string): Promise<number> => {
      const t0 = performance.now();
      const r = await get(host, { path: '/t', timeoutMs: 3000 });
      assert.equal(r.status, 200, host);
      assert.equal(r.json<EchoReply>().pod, 'mi-app');
      return performance.now() - t0;
    };
    const worst = { hang: 0, dead: 0, plain: 0 };
    for (let i = 0; i < 5; i++) {
      worst.hang = Math.max(worst.hang, await timed('hang.test'));
      worst.dead = Math.max(worst.dead, await timed('dead.test'));
      worst.plain = Math.max(worst.plain, await timed('plain.test'));
    }
    await arrivals(hanging.seen, 0, 5);
    // The hanging mirror holds five requests unanswered; the dead one is being retried by HAProxy's client.
    assert.ok(worst.hang < 500 && worst.dead < 500, `slowest: ${JSON.stringify(worst)} ms`);
    hanging.release();
  });

  test('at most 64 mirror requests in flight: beyond, requests are served and not mirrored, and counted', async () => {
    // The dead mirror's requests are still being retried by HAProxy's client (about 3 s): their slots come back first.
    await waitFor(async () => (await counters()).in_flight === 0, { timeoutMs: 10_000, message: 'earlier mirror requests never finished' });
    const before = await counters();
    const from = hanging.seen.length;
    const replies = await Promise.all(Array.from({ length: 80 }, (_, i) => get('hang.test', { path: `/c/${i}`, timeoutMs: 5000 })));
    assert.ok(replies.every((r) => r.status === 200));
    await waitFor(async () => Promise.resolve(hanging.seen.length >= from + 64), { timeoutMs: 5000, message: 'the hanging mirror never got 64 requests' }).catch(async (e: unknown) => {
      throw new Error(`${String(e)}: got ${hanging.seen.length - from}, counters ${JSON.stringify(await counters())}`);
    });
    const during = await counters();
    assert.equal(during.in_flight, 64);
    assert.equal(during.dropped_busy, before.dropped_busy! + 16);
    // Once the mirror answers, the slots are free again.
    hanging.release();
    await waitFor(async () => (await counters()).in_flight === 0, { timeoutMs: 5000, message: 'the slots were never given back' });
    const from2 = peer.seen.length;
    assert.equal((await get('mirror.test', { path: '/after' })).status, 200);
    await arrivals(peer.seen, from2, 1);
  });
});

describe('hostile values and live changes', () => {
  test('hostile values are refused: those Ingresses serve without a mirror, the others are unaffected', async () => {
    const from = peer.seen.length;
    for (const host of ['hostile.test', 'hostile2.test', 'huge.test', 'plain.test']) {
      const r = await get(host, { path: '/h' });
      assert.equal(r.status, 200, host);
      assert.equal(r.json<EchoReply>().pod, 'mi-app', host);
    }
    assert.equal((await get('mirror.test', { path: '/still' })).status, 200);
    const seen = await arrivals(peer.seen, from, 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(
      peer.seen.slice(from).map((s) => s.url),
      ['/still'],
      `only mirror.test is mirrored: ${seen.map((s) => s.url).join(' ')}`,
    );
  });

  test('a changed target is a map update: no reload, the next request goes to the new URL', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes(`${PEER}/v2$request_uri`));
    let from = peer.seen.length;
    await waitFor(
      async () => {
        from = peer.seen.length;
        await get('mirror.test', { path: '/live' });
        await new Promise((resolve) => setTimeout(resolve, 100));
        return peer.seen.slice(from).some((s) => s.url === '/v2/live');
      },
      { timeoutMs: 10_000, message: 'the new target never applied' },
    );
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
