// Fair share: one client must not take every connection, by holding idle keep-alive connections, by slowloris or by
// opening connections as fast as it can; request bodies are limited and buffered before a backend is involved.
// Each "client" is its own loopback source address, as distinct clients are to HAProxy.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { docs, httpGet, ingress, manifestDir, startPortico, waitFor, writeManifest } from './harness/index.js';
import { singlePodApp, stopEverything } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';
import { closedWithin, openSocket, rawRequest, readResponse } from './harness/raw.js';

const pods: Echo[] = [];
let portico: Portico;
const MAX = 60;
const PER_CLIENT = 15;
const open: Socket[] = [];

before(async () => {
  const dir = await manifestDir();
  const app = await singlePodApp(pods, 's-limits', '127.0.32.1');
  await writeManifest(dir, 'limits.yaml', docs(app, ingress({ name: 'limits', rules: [{ host: 'limits.test', paths: [{ path: '/', pathType: 'Prefix', service: 's-limits', port: 80 }] }] })));
  portico = await startPortico({
    manifests: dir,
    args: [
      ...['--max-connections', String(MAX), '--max-connections-per-client', String(PER_CLIENT), '--max-connection-rate-per-client', '3'],
      ...['--client-request-timeout', '3', '--client-body-timeout', '2', '--client-keepalive-timeout', '30', '--proxy-body-size', '10k'],
    ],
  });
  await portico.waitReady();
});

after(async () => {
  for (const s of open) s.destroy();
  await stopEverything(pods);
});

const GET = (path = '/'): string[] => [`GET ${path} HTTP/1.1`, 'Host: limits.test'];

/** A keep-alive connection from `client` that has been served once and now sits idle. */
async function idleConnection(client: string): Promise<Socket | undefined> {
  const s = await openSocket(portico.httpPort, { localAddress: client }).catch(() => undefined);
  if (!s) return undefined;
  open.push(s);
  s.on('error', () => undefined);
  s.write(`${GET().join('\r\n')}\r\n\r\n`);
  const r = await readResponse(s, 5000).catch(() => undefined);
  return r?.status === 200 ? s : undefined;
}

/** Closes every connection the previous test left open, and waits until HAProxy has let go of them. */
async function closeAll(): Promise<void> {
  for (const s of open.splice(0)) s.destroy();
  await waitFor(async () => (await rawRequest(portico.httpPort, [...GET(), 'Connection: close'], '', { localAddress: '127.0.33.250' }).catch(() => undefined))?.status === 200, {
    timeoutMs: 10_000,
  });
}

describe('one client cannot take every connection', () => {
  test('a client holding idle keep-alive connections gets its share; another client is still served', async () => {
    // The first client tries for more than its share (20 new connections stay under the rate limit of 30 per 10 s).
    let held = 0;
    for (let i = 0; i < PER_CLIENT + 5; i++) if (await idleConnection('127.0.33.1')) held++;
    assert.equal(held, PER_CLIENT, 'the first client holds exactly its share');
    for (let i = 0; i < 8; i++) {
      const r = await rawRequest(portico.httpPort, [...GET(`/other/${i}`), 'Connection: close'], '', { localAddress: '127.0.33.2', timeoutMs: 5000 });
      assert.equal(r.status, 200);
    }
    await closeAll();
  });

  test('slowloris: connections that never finish their headers are capped per client and closed after --client-request-timeout', async () => {
    // One after the other: two connections accepted at the same instant on two HAProxy threads can each see the
    // other's count, and both be refused at the edge of the share.
    const attempts: (Socket | undefined)[] = [];
    for (let i = 0; i < PER_CLIENT + 5; i++) {
      const s = await openSocket(portico.httpPort, { localAddress: '127.0.33.3' }).catch(() => undefined);
      attempts.push(s); // undefined: reset before the connection was established on our side
      if (!s) continue;
      open.push(s);
      s.on('error', () => undefined);
      s.write('GET / HTTP/1.1\r\nHost: limits.test\r\nX-Slow: ');
    }
    // A refused connection is reset at once; an accepted one waits for the rest of its headers.
    const stillOpen = await Promise.all(attempts.map(async (s) => s !== undefined && !(await closedWithin(s, 500))));
    const slow = attempts.filter((_s, i) => stillOpen[i]!) as Socket[];
    const refused = attempts.length - slow.length;
    assert.deepEqual([slow.length, refused], [PER_CLIENT, 5], 'connections beyond the share are refused at once');
    assert.equal((await rawRequest(portico.httpPort, [...GET(), 'Connection: close'], '', { localAddress: '127.0.33.4', timeoutMs: 5000 })).status, 200);
    // The ones that stayed are timed out by --client-request-timeout (3 s), with a 408 or a plain close.
    const closed = await Promise.all(slow.map((s) => closedWithin(s, 8000)));
    assert.ok(closed.every(Boolean), 'every slow connection is closed by the request timeout');
    await closeAll();
  });

  test('a client opening connections faster than --max-connection-rate-per-client is refused; others are not', async () => {
    // 3 per second over 10 s: the 31st new connection within the period is refused.
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const r = await rawRequest(portico.httpPort, [...GET(), 'Connection: close'], '', { localAddress: '127.0.33.5', timeoutMs: 3000 }).catch(() => undefined);
      if (r?.status !== 200) refused++;
    }
    assert.ok(refused >= 9, `expected the connections over the rate to be refused, got ${refused} refusals`);
    assert.equal((await rawRequest(portico.httpPort, [...GET(), 'Connection: close'], '', { localAddress: '127.0.33.6' })).status, 200);
  });

  test("loopback, where Portico's own listener probes come from, is never limited", async () => {
    for (let i = 0; i < 40; i++) assert.equal((await rawRequest(portico.httpPort, [...GET(), 'Connection: close'], '', { localAddress: '127.0.0.1' })).status, 200);
  });

  test('when nine in ten connection slots are taken, responses close their connection instead of leaving it idle', async () => {
    const clients = ['127.0.34.1', '127.0.34.2', '127.0.34.3', '127.0.34.4'];
    let held = 0;
    for (const c of clients) {
      for (let i = 0; i < PER_CLIENT - 1; i++) if (await idleConnection(c)) held++;
    }
    assert.ok(held > MAX * 0.9, `setup: ${held} idle connections`);
    const s = await openSocket(portico.httpPort, { localAddress: '127.0.34.9' });
    open.push(s);
    s.write(`${GET().join('\r\n')}\r\n\r\n`);
    const r = await readResponse(s);
    assert.equal(r.status, 200);
    assert.equal(r.headers.connection, 'close');
    assert.ok(await closedWithin(s, 2000), 'the connection is closed after the response');
    await closeAll();
    // Below the threshold again: keep-alive as usual.
    const calm = await rawRequest(portico.httpPort, GET(), '', { localAddress: '127.0.34.10' });
    assert.notEqual(calm.headers.connection, 'close');
  });
});

describe('request bodies', () => {
  test('a body over --proxy-body-size gets 413 before a byte of it is sent, and the backend never sees it', async () => {
    const before = pods[0]!.requests;
    const s = await openSocket(portico.httpPort);
    try {
      s.write([...['POST /upload HTTP/1.1', 'Host: limits.test', 'Content-Length: 20000', 'Expect: 100-continue'], '', ''].join('\r\n'));
      const r = await readResponse(s);
      assert.equal(r.status, 413);
    } finally {
      s.destroy();
    }
    assert.equal(pods[0]!.requests, before);
  });

  test('a body within the limit is forwarded whole', async () => {
    const body = 'x'.repeat(10 * 1024);
    const r = await httpGet(portico.httpPort, { host: 'limits.test', path: '/upload', method: 'POST', body, headers: { 'content-type': 'text/plain' } });
    assert.equal(r.status, 200);
    assert.equal(r.json<{ body: string }>().body.length, body.length);
  });

  test('a slow body is buffered by Portico: the backend sees the request only once the body is complete', async () => {
    const before = pods[0]!.requests;
    const s = await openSocket(portico.httpPort);
    try {
      s.write(['POST /slow-body HTTP/1.1', 'Host: limits.test', 'Content-Length: 10', '', 'abc'].join('\r\n'));
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(pods[0]!.requests, before, 'no backend request while the body is incomplete');
      s.write('defghij');
      const r = await readResponse(s);
      assert.equal(r.status, 200);
      assert.equal((JSON.parse(r.body) as { body: string }).body, 'abcdefghij');
    } finally {
      s.destroy();
    }
  });

  test('a body that stalls past --client-body-timeout gets 408, and no backend connection was used', async () => {
    const before = pods[0]!.requests;
    const s = await openSocket(portico.httpPort);
    try {
      s.write(['POST /stalled HTTP/1.1', 'Host: limits.test', 'Content-Length: 100', '', 'abc'].join('\r\n'));
      const r = await readResponse(s, 10_000);
      assert.equal(r.status, 408);
    } finally {
      s.destroy();
    }
    assert.equal(pods[0]!.requests, before);
  });
});
