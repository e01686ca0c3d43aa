// Several Portico replicas behind an L4 load balancer, the way they are meant to run: two replicas reading the same
// manifests, two TCP balancers (HAProxy in TCP mode) health-checking each replica's /readyz, and users looping
// through the balancers on fresh and kept-alive connections. One balancer passes a refused connection on to the
// client, as cloud L4 load balancers and IPVS do; the other tries the other replica.
//
// - SIGTERM with --shutdown-drain-delay: /readyz turns 503 while HAProxy keeps serving, the balancers take the
//   replica out, and only then does it stop accepting: no request fails, through either balancer.
// - SIGKILL of a replica's whole process group (a crashed pod): only requests on connections that were open to it
//   fail, plus, through the balancer that cannot retry, new connections it sent there before its health check
//   noticed.
// - SIGTERM without the drain delay: the balancer that cannot retry loses requests, the one that can hides it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { accepts, backendSet, docs, ingress, manifestDir, startEchoPods, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';
import { startL4Balancer, startRequestLoop, stopBalancers } from './harness/l4-balancer.js';
import type { L4Balancer, LoopRecord, RequestLoop } from './harness/l4-balancer.js';

const HOST = 'l4.test';
const DRAIN_SECONDS = 3;
/** The balancers' health check: every 200 ms, out after 2 failures, back after 2 successes. */
const CHECK = { intervalMs: 200, fall: 2, rise: 2 };
/** Requests already on their way when a balancer's state is observed (polled every 10 ms) may still go the old way. */
const OBSERVATION_SLACK_MS = 100;
const CLIENTS = { keepAliveClients: 3, freshClients: 3 };
/** Between two requests of one client: about 600 requests a second in all, on a 2-core machine shared with others. */
const PAUSE_MS = 10;

const pods: Echo[] = [];
let dir = '';
const replicas: Record<'a' | 'b', Portico | undefined> = { a: undefined, b: undefined };
let strict: L4Balancer;
let retrying: L4Balancer;
let loop: RequestLoop | undefined;

after(async () => {
  await loop?.stop();
  await stopBalancers();
  await stopEverything(pods);
});

async function startReplica(name: 'a' | 'b', drainSeconds: number, ports?: Portico): Promise<Portico> {
  const p = await startPortico({
    manifests: [dir],
    args: ['--shutdown-drain-delay', String(drainSeconds), '--shutdown-grace-period', '10'],
    ...(ports ? { httpPort: ports.httpPort, httpsPort: ports.httpsPort, adminPort: ports.adminPort } : {}),
  });
  replicas[name] = p;
  await p.waitReady();
  return p;
}

function beginLoop(): RequestLoop {
  loop = startRequestLoop({ targets: [strict, retrying].map((b) => ({ name: b.name, port: b.port })), host: HOST, ...CLIENTS, pauseMs: PAUSE_MS });
  return loop;
}

async function endLoop(): Promise<LoopRecord[]> {
  const l = loop!;
  loop = undefined;
  await l.stop();
  return l.records;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const failed = (rs: LoopRecord[]): LoopRecord[] => rs.filter((r) => !r.ok);
const via = (rs: LoopRecord[], b: L4Balancer): LoopRecord[] => rs.filter((r) => r.target === b.name);
const servedBy = (rs: LoopRecord[], p: Portico): LoopRecord[] => rs.filter((r) => r.ok && r.replicaPort === p.httpPort);
const describeFailures = (rs: LoopRecord[], t0: number): string =>
  rs.map((r) => `${r.client}: ${r.error ?? r.status} (connection opened ${(r.connOpened - t0).toFixed(0)} ms, request ${(r.start - t0).toFixed(0)}..${(r.end - t0).toFixed(0)} ms after t0)`).join('\n');

async function bothUp(name: string): Promise<void> {
  for (const b of [strict, retrying]) await b.waitState(name, 'UP', 10_000);
}

/** The kept-alive clients whose connection, at time t, led to replica p (judged by their last answer before t). */
function pinnedTo(rs: LoopRecord[], p: Portico, t: number): string[] {
  const last = new Map<string, LoopRecord>();
  for (const r of rs) if (r.keepAlive && r.ok && r.end < t && (last.get(r.client)?.end ?? -1) < r.end) last.set(r.client, r);
  return [...last.values()].filter((r) => r.replicaPort === p.httpPort).map((r) => r.client);
}

/** Both replicas answered through both balancers: the rotation really holds both. */
function assertBothServe(rs: LoopRecord[]): void {
  for (const b of [strict, retrying])
    for (const [name, p] of Object.entries(replicas)) assert.ok(servedBy(via(rs, b), p!).length > 0, `replica ${name} served requests through balancer ${b.name}`);
}

describe('two replicas behind an L4 load balancer', () => {
  before(async () => {
    pods.push(...(await startEchoPods(2, { namePrefix: 'l4', ipBase: '127.0.180', port: 3000 })));
    dir = await manifestDir();
    await writeManifest(dir, 'app.yaml', docs(backendSet({ service: 'app', pods }), ingress({ name: 'app', rules: [{ host: HOST, paths: [{ path: '/', pathType: 'Prefix', service: 'app', port: 80 }] }] })));
    const [a, b] = await Promise.all([startReplica('a', DRAIN_SECONDS), startReplica('b', DRAIN_SECONDS)]);
    const servers = [
      { name: 'a', httpPort: a.httpPort, adminPort: a.adminPort },
      { name: 'b', httpPort: b.httpPort, adminPort: b.adminPort },
    ];
    strict = await startL4Balancer({ name: 'strict', replicas: servers, retryRefused: false, ...CHECK });
    retrying = await startL4Balancer({ name: 'retrying', replicas: servers, retryRefused: true, ...CHECK });
    await bothUp('a');
    await bothUp('b');
  });

  test('SIGTERM: the replica drains (/readyz 503, still serving) until the balancers took it out; no request fails', async (t) => {
    const a = replicas.a!;
    const records = beginLoop();
    await sleep(1500);
    assertBothServe(records.records);
    const t0 = performance.now();
    const pinned = pinnedTo(records.records, a, t0);
    const exit = a.stop('SIGTERM');
    const [downStrict, downRetrying] = await Promise.all([strict.waitState('a', 'DOWN', 5000), retrying.waitState('a', 'DOWN', 5000)]);
    assert.deepEqual(await exit, { code: 0, signal: null }, 'Portico exits 0 after the drain and the graceful stop');
    const exited = performance.now();
    await sleep(500);
    const rs = await endLoop();
    const after = rs.filter((r) => r.start >= t0);
    t.diagnostic(
      `SIGTERM: ${rs.length} requests (${after.length} after the signal), ${failed(rs).length} failed; balancers took the replica out after ${(downStrict - t0).toFixed(0)} ms (strict) and ${(downRetrying - t0).toFixed(0)} ms (retrying); Portico exited after ${(exited - t0).toFixed(0)} ms; ${servedBy(after, a).length} requests served by it after the signal, ${pinned.length} kept-alive clients were on it`,
    );
    assert.deepEqual(failed(rs), [], `no request fails:\n${describeFailures(failed(rs), t0)}`);
    // What made that possible: the balancers noticed well within the drain delay, while HAProxy still accepted...
    for (const down of [downStrict, downRetrying]) assert.ok(down - t0 < DRAIN_SECONDS * 1000, `the balancer took the replica out ${(down - t0).toFixed(0)} ms after SIGTERM, within the ${DRAIN_SECONDS} s drain`);
    assert.ok(exited - t0 >= DRAIN_SECONDS * 1000, 'HAProxy served for the whole drain delay');
    // ...the replica kept serving the kept-alive connections it had, after the balancers had taken it out...
    const outOfRotation = Math.max(downStrict, downRetrying);
    for (const client of pinned)
      assert.ok(servedBy(after, a).some((r) => r.client === client && r.end > outOfRotation), `${client}, kept alive on the draining replica, was served by it after the balancers took it out`);
    // ...and no new connection reached it once the balancers had taken it out.
    for (const [b, down] of [[strict, downStrict], [retrying, downRetrying]] as const) {
      const late = servedBy(via(after, b), a).filter((r) => r.connOpened > down + OBSERVATION_SLACK_MS);
      assert.deepEqual(late.map((r) => r.client), [], `balancer ${b.name} sent no new connection to the draining replica`);
    }
  });

  test('SIGKILL of a whole replica: only connections open on it fail, plus what the strict balancer sent it before noticing', async (t) => {
    await startReplica('a', DRAIN_SECONDS, replicas.a);
    await bothUp('a');
    const b = replicas.b!;
    const records = beginLoop();
    await sleep(1500);
    assertBothServe(records.records);
    const killed = performance.now();
    // Portico, HAProxy's master and its worker all at once, as when a pod's containers are killed or its node fails.
    process.kill(-b.proc.pid!, 'SIGKILL');
    // The signal takes effect when the kernel gets round to it (milliseconds on a busy machine): a connection opened
    // meanwhile was still accepted by the replica. It is gone once its port refuses connections.
    await waitFor(async () => !(await accepts(b.httpPort)), { timeoutMs: 5000, intervalMs: 1, message: 'the killed replica still accepts connections' });
    const t0 = performance.now();
    const [downStrict, downRetrying] = await Promise.all([strict.waitState('b', 'DOWN', 5000), retrying.waitState('b', 'DOWN', 5000)]);
    await sleep(1000);
    const rs = await endLoop();
    const lost = { strict: failed(via(rs, strict)), retrying: failed(via(rs, retrying)) };
    // Open while the replica lived, that is.
    const openBefore = (r: LoopRecord): boolean => r.connOpened <= t0;
    t.diagnostic(
      `SIGKILL: the replica refused connections ${(t0 - killed).toFixed(0)} ms after the signal; ${rs.length} requests; ` +
        ([[strict, downStrict, lost.strict], [retrying, downRetrying, lost.retrying]] as const)
          .map(([b, down, l]) => `${b.name} balancer: ${l.length} failed (${l.filter(openBefore).length} on connections open while the replica lived, ${l.filter((r) => !openBefore(r)).length} on new ones), replica out of rotation ${(down - killed).toFixed(0)} ms after the kill`)
          .join('; '),
    );
    assert.deepEqual(lost.retrying.filter((r) => !openBefore(r)), [], `through the retrying balancer, no connection opened after the replica died failed:\n${describeFailures(lost.retrying, t0)}`);
    // A client has one request in flight at a time: the one it had when the signal came, plus one per pause while the
    // kernel was killing the processes, plus, kept alive, one sent before the close reached it.
    const bound = (CLIENTS.keepAliveClients + CLIENTS.freshClients) * (2 + Math.ceil((t0 - killed) / PAUSE_MS));
    for (const l of [lost.retrying, lost.strict.filter(openBefore)])
      assert.ok(l.length <= bound, `at most ${bound} requests were in flight on connections to the replica as it died:\n${describeFailures(l, t0)}`);
    const afterDetection = lost.strict.filter((r) => !openBefore(r) && r.connOpened > downStrict + OBSERVATION_SLACK_MS);
    assert.deepEqual(afterDetection, [], `through the strict balancer, new connections fail only until its health check takes the replica out:\n${describeFailures(afterDetection, t0)}`);
    for (const down of [downStrict, downRetrying]) assert.ok(down - t0 < 3000, `the health check noticed within 3 s (${(down - t0).toFixed(0)} ms)`);
    assert.ok(rs.filter((r) => r.start > Math.max(downStrict, downRetrying) && r.ok).length > 0, 'the surviving replica serves everyone');
  });

  test('control: SIGTERM without --shutdown-drain-delay loses requests through the balancer that cannot retry', async (t) => {
    const b = await startReplica('b', 0, replicas.b);
    await bothUp('b');
    const records = beginLoop();
    await sleep(1500);
    assertBothServe(records.records);
    const t0 = performance.now();
    assert.deepEqual(await b.stop('SIGTERM'), { code: 0, signal: null });
    await Promise.all([strict.waitState('b', 'DOWN', 5000), retrying.waitState('b', 'DOWN', 5000)]);
    await sleep(500);
    const rs = await endLoop();
    const lost = { strict: failed(via(rs, strict)), retrying: failed(via(rs, retrying)) };
    t.diagnostic(`SIGTERM without a drain delay: strict balancer ${lost.strict.length} failed, retrying balancer ${lost.retrying.length} failed, of ${rs.length}`);
    // HAProxy stops accepting at once, and the strict balancer keeps sending new connections until its check notices.
    assert.ok(lost.strict.length > 0, 'the strict balancer loses the connections it sends to the stopped replica');
    assert.ok(lost.strict.every((r) => r.connOpened >= t0), `only new connections fail, never a request on a connection the replica had:\n${describeFailures(lost.strict, t0)}`);
  });
});
