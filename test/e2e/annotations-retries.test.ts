// proxy-next-upstream, -tries and proxy-connect-timeout through real HAProxy, as a client sees it: a pod that
// answers 503 once is retried on another pod with `error timeout http_503` and not retried by the plain backend of
// the same Service port; a POST is not retried on a 503 (no non_idempotent); the tries limit counts the first try;
// and a connect timeout of 1 s to an address whose listener drops SYNs (its accept queue full, the process stopped)
// ends in a 502 (B17) after about a second.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { docs, endpointSlice, httpGet, ingress, manifestDir, service, startPortico, stopEverything, writeManifest } from './harness/index.js';
import type { Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const PODS = ['127.0.247.1', '127.0.247.2', '127.0.247.3'];
const BLACKHOLE = '127.0.247.9';
const BLACKHOLE_PORT = 8099;

/** Requests the pods saw, in order; `failing`: how many of the next requests answer 503. */
let hits: { pod: string; status: number; method: string }[] = [];
let failing = 0;
const closers: (() => Promise<void>)[] = [];
const fillers: Socket[] = [];
let stopped: ChildProcess | undefined;
let dir = '';
let portico: Portico;

async function pod(ip: string): Promise<void> {
  const s = createServer((req, res) => {
    const status = failing > 0 ? 503 : 200;
    if (failing > 0) failing--;
    hits.push({ pod: ip, status, method: req.method ?? '' });
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pod: ip }));
    });
  });
  await new Promise<void>((r) => s.listen(8080, ip, r));
  closers.push(() => new Promise<void>((r) => s.close(() => r())));
}

/** A listener that takes no connection: a stopped child process whose accept queue (backlog 1) is full, so that
 * the kernel drops further SYNs and a connection attempt only times out. */
async function blackhole(): Promise<void> {
  const c = spawn(process.execPath, ['-e', `require('net').createServer().listen({ port: ${BLACKHOLE_PORT}, host: '${BLACKHOLE}', backlog: 1 }, () => process.send('up'))`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  stopped = c;
  await new Promise((r) => c.once('message', r));
  process.kill(c.pid!, 'SIGSTOP');
  for (;;) {
    const s = connect({ port: BLACKHOLE_PORT, host: BLACKHOLE });
    s.on('error', () => undefined);
    fillers.push(s);
    const ok = await Promise.race([new Promise<boolean>((r) => s.once('connect', () => r(true))), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
    if (!ok) break;
    if (fillers.length > 16) throw new Error('the stopped listener keeps accepting connections');
  }
}

const site = (name: string, svc: string, port: number, annotations: Record<string, string> = {}): string =>
  ingress({ name, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [P + k, v])), rules: [{ host: `${name}.test`, paths: [{ path: '/', pathType: 'Prefix', service: svc, port }] }] });

const manifests = (): string =>
  docs(
    service({ name: 'flaky', ports: [{ port: 8080, targetPort: 8080 }] }),
    endpointSlice({ name: 'flaky-1', service: 'flaky', ports: [{ port: 8080 }], endpoints: PODS.map((ip) => ({ ip })) }),
    service({ name: 'black', ports: [{ port: BLACKHOLE_PORT, targetPort: BLACKHOLE_PORT }] }),
    endpointSlice({ name: 'black-1', service: 'black', ports: [{ port: BLACKHOLE_PORT }], endpoints: [{ ip: BLACKHOLE }] }),
    site('plain', 'flaky', 8080),
    site('retry', 'flaky', 8080, { 'proxy-next-upstream': 'error timeout http_503' }),
    site('tries', 'flaky', 8080, { 'proxy-next-upstream': 'http_503', 'proxy-next-upstream-tries': '2' }),
    site('slow', 'black', BLACKHOLE_PORT, { 'proxy-connect-timeout': '1', 'proxy-next-upstream-tries': '1' }),
  );

async function call(host: string, failNext: number, method = 'GET'): Promise<{ status: number; hits: typeof hits }> {
  hits = [];
  failing = failNext;
  const r = await httpGet(portico.httpPort, { host, path: '/x', method, ...(method === 'POST' ? { body: 'payload', headers: { 'content-type': 'text/plain' } } : {}) });
  failing = 0;
  return { status: r.status, hits };
}

before(async () => {
  for (const ip of PODS) await pod(ip);
  await blackhole();
  dir = await manifestDir();
  await writeManifest(dir, 'all.yaml', manifests());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(async () => {
  try {
    await stopEverything([]);
  } finally {
    for (const s of fillers) s.destroy();
    if (stopped?.pid !== undefined) process.kill(stopped.pid, 'SIGKILL');
    await Promise.all(closers.map((c) => c()));
  }
});

describe('proxy-next-upstream', () => {
  test('with http_503, a pod answering 503 once is retried on another pod: the client gets 200', async () => {
    const r = await call('retry.test', 1);
    assert.equal(r.status, 200);
    assert.equal(r.hits.length, 2, JSON.stringify(r.hits));
    assert.equal(r.hits[0]!.status, 503);
    assert.equal(r.hits[1]!.status, 200);
    assert.notEqual(r.hits[0]!.pod, r.hits[1]!.pod, 'the retry goes to another pod');
  });

  test('by default (error timeout) the same 503 is not retried: the client gets it', async () => {
    const r = await call('plain.test', 1);
    assert.equal(r.status, 503);
    assert.equal(r.hits.length, 1);
  });

  test('a POST is not retried on a 503 without non_idempotent', async () => {
    const r = await call('retry.test', 1, 'POST');
    assert.equal(r.status, 503);
    assert.deepEqual(r.hits.map((h) => h.method), ['POST']);
  });

  test('proxy-next-upstream-tries 2: two pods tried, the first included, then the last 503 is the answer', async () => {
    const r = await call('tries.test', 5);
    assert.equal(r.status, 503);
    assert.equal(r.hits.length, 2, JSON.stringify(r.hits));
    const ok = await call('tries.test', 1);
    assert.equal(ok.status, 200);
    assert.equal(ok.hits.length, 2);
  });
});

describe('proxy-connect-timeout', () => {
  // B17: a connection that could not be made is a 502, a timed-out one included (nginx answers 504 to the latter).
  test('1 s to an address that drops SYNs, one try: a 502 after about a second', async () => {
    const t0 = Date.now();
    const r = await httpGet(portico.httpPort, { host: 'slow.test', path: '/x' });
    const took = Date.now() - t0;
    assert.equal(r.status, 502);
    assert.ok(took >= 900 && took < 3000, `took ${took} ms`);
  });
});
