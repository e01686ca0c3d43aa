// limit-rps, limit-rpm, limit-connections, limit-burst-multiplier and limit-allowlist through real HAProxy, each
// client on its own loopback address: how many requests of a burst pass (nginx's `burst=N×multiplier nodelay`: N×m+1
// at once, then N per second), the 503 after it, that counts are per client address and per Ingress (all of an
// Ingress's paths together, as its nginx zone), that an allowlisted client is never limited, that limit-connections
// caps requests in progress, and that a changed rate is live without a reload.
//
// Timing: a slow shared machine can take a second between two requests, so every count is checked against the bound
// the bucket gives for the time the burst actually took, never against an exact schedule.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as http2Connect } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { docs, httpGet, httpsGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const route = (name: string, host: string, paths: string[], annotations: Record<string, string> = {}): string =>
  ingress({
    name,
    annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [P + k, v])),
    rules: [{ host, paths: paths.map((path) => ({ path, pathType: 'Prefix' as const, service: 'rl', port: 80 })) }],
  });

const routes = (liveRps: string): string =>
  docs(
    // 1 per second, burst 3: 4 at once.
    route('shop', 'rl.test', ['/', '/api'], { 'limit-rps': '1', 'limit-burst-multiplier': '3', 'limit-allowlist': '127.0.252.0/24' }),
    route('open', 'rl.test', ['/open']),
    // 2 per minute, burst 4: 5 at once, then one every 30 s (never within a test).
    route('slow', 'rpm.test', ['/'], { 'limit-rpm': '2', 'limit-burst-multiplier': '2', 'limit-whitelist': '127.0.253.7' }),
    route('conn', 'conn.test', ['/'], { 'limit-connections': '2' }),
    route('live', 'live.test', ['/'], { 'limit-rps': liveRps, 'limit-burst-multiplier': '1' }),
    route('moved', 'moved.test', ['/'], { 'limit-rps': '1', 'limit-burst-multiplier': '0', 'permanent-redirect': 'https://elsewhere.test/' }),
    route('cors', 'cors.test', ['/'], { 'limit-rps': '1', 'limit-burst-multiplier': '0', 'enable-cors': 'true' }),
  );

/** `n` requests, one after another, from `from`: the statuses and how long they took. */
async function burst(from: string, host: string, n: number, path = '/'): Promise<{ statuses: number[]; seconds: number }> {
  const start = performance.now();
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await httpGet(portico.httpPort, { host, path, localAddress: from })).status);
  return { statuses, seconds: (performance.now() - start) / 1000 };
}

const passed = (statuses: number[]): number => statuses.filter((s) => s === 200).length;

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'rl', '127.0.245.1'));
  await writeManifest(dir, 'routes.yaml', routes('1'));
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('rate limits per client address', () => {
  test('limit-rps: a burst gets N×multiplier+1 at once, then N per second; the rest get 503 with a plain-text reason', async () => {
    const { statuses, seconds } = await burst('127.0.250.1', 'rl.test', 12);
    const ok = passed(statuses);
    // nginx's bucket for rate 1/s and burst 3, over the time the burst took (+1: the interval in progress).
    assert.ok(ok >= 4 && ok <= 4 + Math.floor(seconds) + 1, `${ok} of 12 passed in ${seconds.toFixed(2)} s: ${statuses.join(',')}`);
    assert.deepEqual(statuses.slice(0, 4), [200, 200, 200, 200], 'the burst passes whole');
    assert.ok(statuses.filter((s) => s === 503).length === 12 - ok, statuses.join(','));
    const refused = await httpGet(portico.httpPort, { host: 'rl.test', path: '/', localAddress: '127.0.250.1' });
    assert.equal(refused.status, 503);
    assert.equal(refused.body, '503 Service Unavailable: too many requests from this address; try again later\n');
    assert.match(String(refused.headers['content-type']), /^text\/plain/);
  });

  test('after the burst the bucket drains at N per second: at least one request per second waited, never more than the bucket holds', async () => {
    const from = '127.0.250.5';
    const start = performance.now();
    const first = await burst(from, 'rl.test', 8);
    const emptied = performance.now();
    await new Promise((r) => setTimeout(r, 2200));
    const again = performance.now();
    const second = await burst(from, 'rl.test', 6);
    const waited = (again - emptied) / 1000;
    const total = (performance.now() - start) / 1000;
    const [p1, p2] = [passed(first.statuses), passed(second.statuses)];
    // At least floor(waited) drained while the client waited (the bucket was full when the first burst ended) ...
    assert.ok(p2 >= Math.floor(waited), `${p2} passed after ${waited.toFixed(2)} s: ${second.statuses.join(',')}`);
    // ... and over the whole time no more than a new client's burst plus one per second (a sliding window allowing
    // rate × (1 + multiplier) per second would pass all 6 again).
    assert.ok(p1 + p2 <= 4 + Math.floor(total) + 1, `${p1} + ${p2} passed in ${total.toFixed(2)} s`);
  });

  test("the Ingress's paths count together (one nginx zone per Ingress); another client, another Ingress and HTTPS keep their own counts", async () => {
    const from = '127.0.250.2';
    const first = await burst(from, 'rl.test', 8, '/');
    assert.ok(passed(first.statuses) <= 4 + Math.floor(first.seconds) + 1, first.statuses.join(','));
    // Right after: /api is the same Ingress, so the same bucket, which the burst emptied.
    const api = await burst(from, 'rl.test', 3, '/api');
    assert.ok(passed(api.statuses) <= Math.floor(api.seconds + first.seconds) + 1, `/api: ${api.statuses.join(',')}`);
    assert.ok(api.statuses.includes(503), `/api: ${api.statuses.join(',')}`);
    // Another Ingress on the same host has no limit, for the same client.
    assert.deepEqual((await burst(from, 'rl.test', 10, '/open')).statuses, Array<number>(10).fill(200));
    // Another client address has a full bucket.
    assert.deepEqual((await burst('127.0.250.3', 'rl.test', 4, '/api')).statuses, [200, 200, 200, 200]);
    // HTTPS reaches the same counts as HTTP: the limited client is still limited there.
    const tls = await httpsGet(portico.httpsPort, { host: 'rl.test', servername: 'rl.test', path: '/', localAddress: from });
    assert.equal(tls.status, 503);
  });

  test('limit-rpm: the burst, then nothing for the rest of the interval', async () => {
    const { statuses } = await burst('127.0.250.4', 'rpm.test', 9);
    // 2 per minute: the next request is due 30 s after the burst, longer than any run of this test.
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 503, 503, 503, 503]);
  });

  test('an allowlisted address is never limited nor counted (limit-allowlist, and limit-whitelist for one address)', async () => {
    assert.deepEqual((await burst('127.0.252.9', 'rl.test', 20)).statuses, Array<number>(20).fill(200));
    assert.deepEqual((await burst('127.0.253.7', 'rpm.test', 12)).statuses, Array<number>(12).fill(200));
    // Its neighbour outside the list is limited.
    assert.ok((await burst('127.0.253.8', 'rpm.test', 8)).statuses.includes(503));
  });
});

describe('concurrency', () => {
  test('a burst sent all at once over many connections passes no more than the bucket holds', async () => {
    for (const from of ['127.0.250.20', '127.0.250.21', '127.0.250.22']) {
      const start = performance.now();
      const statuses = await Promise.all(Array.from({ length: 40 }, () => httpGet(portico.httpPort, { host: 'rl.test', path: '/', localAddress: from }).then((r) => r.status)));
      const seconds = (performance.now() - start) / 1000;
      // The bucket's bound, plus one: HAProxy's threads read and write a client's cell in separate rules, so two
      // requests judged in the same microseconds on two threads can both pass (docs/annotations.md).
      assert.ok(passed(statuses) >= 4 && passed(statuses) <= 4 + Math.floor(seconds) + 2, `${passed(statuses)} of 40 passed in ${seconds.toFixed(2)} s`);
    }
  });
});

describe('what the Ingress answers itself is not limited (nginx limits after its rewrite phase)', () => {
  test('redirect annotations and CORS preflights are never refused nor counted; the requests that reach the backend are', async () => {
    const from = '127.0.251.9';
    for (let i = 0; i < 8; i++) assert.equal((await httpGet(portico.httpPort, { host: 'moved.test', path: '/', localAddress: from })).status, 301);
    const preflight = { host: 'cors.test', path: '/', method: 'OPTIONS', headers: { origin: 'https://app.test', 'access-control-request-method': 'GET' }, localAddress: from };
    for (let i = 0; i < 8; i++) assert.equal((await httpGet(portico.httpPort, preflight)).status, 204);
    // Burst 0: one request, then one a second; the preflights took nothing from the bucket.
    const { statuses, seconds } = await burst(from, 'cors.test', 4);
    assert.equal(statuses[0], 200);
    assert.ok(passed(statuses) <= 1 + Math.floor(seconds) + 1 && statuses.includes(503), statuses.join(','));
  });
});

describe('limit-connections', () => {
  test('caps the requests a client has in progress; others are answered 503 at once, and the slots come back', async () => {
    const from = '127.0.251.1';
    const slow = (): Promise<number> => httpGet(portico.httpPort, { host: 'conn.test', path: '/slow?ms=5000', localAddress: from, timeoutMs: 20_000 }).then((r) => r.status);
    const seen = pods[0]!.requests;
    const held = [slow(), slow()];
    // Both slow requests are in progress once the pod has them (it answers after 5 s).
    await waitFor(() => Promise.resolve(pods[0]!.requests >= seen + 2), { timeoutMs: 3000, message: 'the slow requests never reached the pod' });
    const start = performance.now();
    const extra = await httpGet(portico.httpPort, { host: 'conn.test', path: '/', localAddress: from });
    assert.equal(extra.status, 503);
    assert.equal(extra.body, '503 Service Unavailable: too many requests in progress from this address\n');
    assert.ok(performance.now() - start < 2500, 'refused at once, not after waiting for a slot');
    // Another client has its own count.
    assert.equal((await httpGet(portico.httpPort, { host: 'conn.test', path: '/', localAddress: '127.0.251.2' })).status, 200);
    assert.deepEqual(await Promise.all(held), [200, 200]);
    assert.equal((await httpGet(portico.httpPort, { host: 'conn.test', path: '/', localAddress: from })).status, 200, 'the slots came back');
  });
});

describe('limit-connections over HTTP/2', () => {
  test('each stream counts, as nginx counts each HTTP/2 stream: a third stream on one connection gets 503', async () => {
    const session = http2Connect(`https://127.0.0.1:${portico.httpsPort}`, {
      createConnection: () =>
        tlsConnect({ socket: netConnect({ host: '127.0.0.1', port: portico.httpsPort, localAddress: '127.0.251.3' }), servername: 'conn.test', ALPNProtocols: ['h2'], rejectUnauthorized: false }),
    });
    try {
      const stream = (path: string): Promise<number> =>
        new Promise((resolve, reject) => {
          const s = session.request({ ':authority': 'conn.test', ':path': path });
          let status = 0;
          s.on('response', (h) => (status = Number(h[':status'])));
          s.on('error', reject);
          s.resume();
          s.on('end', () => resolve(status));
        });
      const seen = pods[0]!.requests;
      const held = [stream('/slow?ms=5000'), stream('/slow?ms=5000')];
      await waitFor(() => Promise.resolve(pods[0]!.requests >= seen + 2), { timeoutMs: 3000, message: 'the slow streams never reached the pod' });
      assert.equal(await stream('/'), 503);
      assert.deepEqual(await Promise.all(held), [200, 200]);
      assert.equal(await stream('/'), 200, 'the slots came back');
    } finally {
      session.close();
    }
  });
});

describe('live changes', () => {
  test('a changed rate applies without a reload', async () => {
    const from = '127.0.254.1';
    const before = await burst(from, 'live.test', 6);
    assert.ok(before.statuses.includes(503), before.statuses.join(','));
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes('1000'));
    // 1000 per second with a burst of 1000: the same client is served again, 20 requests in a row (at 1 per second
    // never). The client's count so far is kept across the change, so the first burst after it may still meet it.
    let last: number[] = [];
    await waitFor(async () => ((last = (await burst(from, 'live.test', 20)).statuses), last.every((s) => s === 200)), { timeoutMs: 5000, message: () => `the raised rate never applied: ${last.join(',')}` });
    await writeManifest(dir, 'routes.yaml', routes('1'));
    await waitFor(async () => (await burst(from, 'live.test', 6)).statuses.includes(503), { timeoutMs: 5000, message: 'the lowered rate never applied' });
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
