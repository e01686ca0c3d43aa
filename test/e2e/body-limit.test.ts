// --proxy-body-size for bodies whose length nobody announced: HTTP/1.1 chunked and HTTP/2 without content-length are
// counted as they stream and refused with 413 past the limit, as ingress-nginx refuses them; bodies within it arrive
// whole, and a streaming request keeps streaming both ways. (Announced lengths: edge-limits.test.ts.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import type { Socket } from 'node:net';
import { docs, endpointSlice, http2Upload as harnessHttp2Upload, ingress, manifestDir, service, singlePodApp, startPortico, stopEverything, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, Portico } from './harness/index.js';
import { chunkedPost, openSocket, readResponse } from './harness/raw.js';

const pods: Echo[] = [];
let portico: Portico;
let streamer: Server;
const LIMIT = 10 * 1024;
const STREAM_IP = '127.0.36.2';

before(async () => {
  const dir = await manifestDir();
  const app = await singlePodApp(pods, 's-bodies', '127.0.36.1');
  // A backend that answers each piece of the request body as it arrives, before the request has ended: what a
  // streaming API (or a gRPC bidirectional stream) does.
  streamer = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.flushHeaders();
    req.on('data', (c: Buffer) => res.write(`echo:${c.toString('utf8')};`));
    req.on('end', () => res.end('end'));
  });
  await new Promise<void>((resolve) => streamer.listen(3000, STREAM_IP, resolve));
  const stream = docs(
    service({ name: 's-stream', ports: [{ port: 80, targetPort: 3000 }] }),
    endpointSlice({ name: 's-stream-1', service: 's-stream', ports: [{ port: 3000 }], endpoints: [{ ip: STREAM_IP }] }),
  );
  const rules = [
    { host: 'bodies.test', paths: [{ path: '/', pathType: 'Prefix' as const, service: 's-bodies', port: 80 }] },
    { host: 'stream.test', paths: [{ path: '/', pathType: 'Prefix' as const, service: 's-stream', port: 80 }] },
  ];
  await writeManifest(dir, 'bodies.yaml', docs(app, stream, ingress({ name: 'bodies', rules })));
  portico = await startPortico({ manifests: dir, args: ['--proxy-body-size', '10k', '--client-body-timeout', '2'] });
  await portico.waitReady();
});

after(async () => {
  streamer.closeAllConnections();
  await new Promise<void>((resolve) => streamer.close(() => resolve()));
  await stopEverything(pods);
});

const chunk = (data: string): string => `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A chunked POST of `pieces` chunks of 1 kB, `gapMs` apart. */
const chunkedUpload = (host: string, pieces: number, gapMs: number): Promise<{ status: number; body: string }> => chunkedPost(portico.httpPort, host, pieces, gapMs);

/** How the HTTP/2 client reaches Portico: over TLS with ALPN h2 (the way Portico offers HTTP/2), or by sending the
 * HTTP/2 preface on a connection that did not negotiate it, over plain TCP or over TLS with ALPN http/1.1. */
type Http2Way = 'alpn' | 'prior-knowledge' | 'prior-knowledge-tls';

function http2Session(way: Http2Way): ClientHttp2Session {
  if (way === 'alpn') return http2Connect(`https://127.0.0.1:${portico.httpsPort}`, { rejectUnauthorized: false });
  if (way === 'prior-knowledge') return http2Connect(`http://127.0.0.1:${portico.httpPort}`);
  return http2Connect(`https://127.0.0.1:${portico.httpsPort}`, {
    createConnection: () => tlsConnect({ host: '127.0.0.1', port: portico.httpsPort, ALPNProtocols: ['http/1.1'], rejectUnauthorized: false }),
  });
}

/** An HTTP/2 POST with no content-length, its body written in pieces of 1 kB. */
const http2Upload = (pieces: number, method = 'POST', way: Http2Way = 'alpn'): Promise<{ status: number; body: string }> =>
  harnessHttp2Upload(http2Session(way), { authority: 'bodies.test', path: '/upload', pieces, method });

describe('bodies of unknown length', () => {
  test('a chunked body within --proxy-body-size reaches the backend whole', async () => {
    const r = await chunkedUpload('bodies.test', 9, 5);
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body) as EchoReply;
    assert.equal(seen.body.length, 9 * 1024);
    assert.equal(seen.body.slice(1024, 1026), 'bb', 'pieces arrive in order');
    assert.equal(seen.headers['x-portico-gated-route'], undefined, "Portico's internal header never reaches a backend");
  });

  test('a chunked body over --proxy-body-size gets 413 from Portico, whether it arrives at once or slowly', async () => {
    for (const gapMs of [0, 20]) {
      const r = await chunkedUpload('bodies.test', 40, gapMs);
      assert.equal(r.status, 413, `pieces ${gapMs} ms apart`);
      assert.match(r.body, /^Request body refused/, 'the answer is Portico’s, not the backend’s');
    }
    // And the next request on a fresh connection is served as usual.
    const again = await chunkedUpload('bodies.test', 1, 0);
    assert.equal(again.status, 200);
  });

  test('HTTP/2 without content-length: within the limit arrives whole, over it gets 413, for any method', async () => {
    const small = await http2Upload(8);
    assert.equal(small.status, 200);
    assert.equal((JSON.parse(small.body) as EchoReply).body.length, 8 * 1024);
    const big = await http2Upload(40);
    assert.equal(big.status, 413);
    // A GET that carries a body is no way around it.
    const get = await http2Upload(40, 'GET');
    assert.equal(get.status, 413);
  });

  test('HTTP/2 without TLS ALPN (the preface sent on an HTTP/1 connection) is refused, so no body escapes the count', async () => {
    // HTTP/2 is offered through ALPN only; were the preface accepted on a connection that did not negotiate it, the
    // request would not be known as HTTP/2 and its body would stream past the limit uncounted.
    for (const way of ['prior-knowledge', 'prior-knowledge-tls'] as const) {
      const before = pods[0]!.requests;
      const r = await http2Upload(40, 'POST', way).catch((e: Error) => ({ status: 0, body: e.message }));
      assert.notEqual(r.status, 200, `${way}: ${r.body.slice(0, 100)}`);
      assert.equal(pods[0]!.requests, before, `${way}: the backend saw no request`);
    }
    // The way Portico offers HTTP/2 still works.
    assert.equal((await http2Upload(1)).status, 200);
  });

  test('a Content-Length over the limit gets 413 for a GET as for a POST', async () => {
    const s = await openSocket(portico.httpPort);
    try {
      s.write(['GET /upload HTTP/1.1', 'Host: bodies.test', `Content-Length: ${LIMIT + 1}`, '', ''].join('\r\n'));
      assert.equal((await readResponse(s)).status, 413);
    } finally {
      s.destroy();
    }
  });

  test('a streaming request is not held back: each piece is answered while the request is still open', async () => {
    const s: Socket = await openSocket(portico.httpPort);
    try {
      let received = '';
      s.on('data', (c: Buffer) => (received += c.toString('latin1')));
      const waitFor = async (text: string): Promise<void> => {
        for (let i = 0; i < 100 && !received.includes(text); i++) await sleep(20);
        assert.ok(received.includes(text), `saw ${JSON.stringify(text)} before the request ended; got ${JSON.stringify(received.slice(-200))}`);
      };
      s.write(['POST /stream HTTP/1.1', 'Host: stream.test', 'Transfer-Encoding: chunked', '', ''].join('\r\n'));
      s.write(chunk('ping1'));
      await waitFor('echo:ping1;');
      assert.match(received, /^HTTP\/1\.1 200/);
      s.write(chunk('ping2'));
      await waitFor('echo:ping2;');
      s.write('0\r\n\r\n');
      await waitFor('end');
    } finally {
      s.destroy();
    }
  });
});
