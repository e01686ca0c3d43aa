// Chaos under load (issue 10, section 8): one Portico against the stand-in API server, a request loop and a
// readiness sampler running throughout, and faults applied in a seeded random order: HAProxy's worker or master
// killed, the API server restarted, bad objects added, a certificate rotated, endpoints scaled, the state directory
// filled to the last byte (and HAProxy killed while it is full). After each fault, routing must equal the API's state
// within a second, /readyz must never have said 200 while HAProxy did not serve that state, and the requests that
// failed must be the ones the fault explains. CHAOS_SEED=<n> replays an order, CHAOS_ROUNDS=<n> (default 3) is how
// many times each fault comes up.
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { startApiServer } from '../kube-apiserver/server.js';
import type { ApiServer } from '../kube-apiserver/server.js';
import { fill, httpGet, httpsGet, makeCert, mountTmpfs, rbacFiles, startEcho, startPortico, stopEverything, tlsHandshake, waitFor } from './harness/index.js';
import type { CertPair, Echo, Portico, Tmpfs } from './harness/index.js';

type Obj = Record<string, unknown>;

const SEED = parseSeed(process.env.CHAOS_SEED);
const ROUNDS = parseCount(process.env.CHAOS_ROUNDS, 3);
/** After a fault, routing must equal the API's state within this long. */
const CONVERGE_MS = 1000;
/** Quiet time between faults: nothing may fail while no fault is under way. */
const CALM_MS = 300;
const LANE_PAUSE_MS = 10;
const REQUEST_TIMEOUT_MS = 3000;
/** A killed HAProxy must serve again within this long (restart delay, orphan reaping, a fresh generation, start). */
const MAX_OUTAGE_MS = 3000;
const TOKEN = 'portico-chaos-token';
const NET = '127.0.190';
const WEB_POOL = 6;

function parseSeed(s: string | undefined): number {
  if (s === undefined || s === '') return randomInt(2 ** 31);
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`CHAOS_SEED must be a non-negative integer, not ${JSON.stringify(s)}`);
  return n;
}

function parseCount(s: string | undefined, dflt: number): number {
  if (s === undefined || s === '') return dflt;
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`CHAOS_ROUNDS must be a positive integer, not ${JSON.stringify(s)}`);
  return n;
}

/** mulberry32: a small seeded generator, so that an order can be replayed from its seed alone. */
function rngFrom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rng = rngFrom(SEED);
const int = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
function shuffle<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = int(0, i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

// --- the objects ------------------------------------------------------------------------------------------------

const ingress = (name: string, host: string, svc: string, extra: { tlsSecret?: string; path?: string; pathType?: string } = {}): Obj => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: 'default' },
  spec: {
    ingressClassName: 'portico',
    ...(extra.tlsSecret ? { tls: [{ hosts: [host], secretName: extra.tlsSecret }] } : {}),
    rules: [{ host, http: { paths: [{ path: extra.path ?? '/', pathType: extra.pathType ?? 'Prefix', backend: { service: { name: svc, port: { number: 80 } } } }] } }],
  },
});
const service = (name: string): Obj => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 80, targetPort: 3000 }] } });
const slice = (svc: string, ips: string[]): Obj => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `${svc}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  ports: [{ port: 3000, protocol: 'TCP' }],
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } })),
});
const secret = (name: string, c: CertPair): Obj => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'default' },
  type: 'kubernetes.io/tls',
  data: { 'tls.crt': Buffer.from(c.certPem).toString('base64'), 'tls.key': Buffer.from(c.keyPem).toString('base64') },
});
const fingerprint = (c: CertPair): string => new X509Certificate(c.certPem).fingerprint256;
const webIp = (pod: string): string => `${NET}.${pod.slice('web-'.length)}`;

// Certificates are made before any hook runs (openssl is synchronous): one per rotation, one weak one per bad Secret.
const rotations = Array.from({ length: ROUNDS * 2 + 1 }, (_, i) => makeCert({ cn: `secure-${i}`, dnsNames: ['tls.test'], keyFormat: 'pkcs8', keyType: 'ec' }));
const weakCerts = Array.from({ length: ROUNDS }, (_, i) => makeCert({ cn: `weak-${i}`, dnsNames: [`weak-${i}.test`], keyFormat: 'pkcs1', rsaBits: 1024 }));

/** What the API says now, hence what HAProxy must serve; plus what may still be seen while a change is on its way. */
const world = {
  web: ['web-1', 'web-2'],
  /** Pods web.test may answer from: `web`, and while a scale is on its way, the pods it removes. */
  webAllowed: new Set(['web-1', 'web-2']),
  cert: 0,
  /** Fingerprints tls.test may present: the current one, and while a rotation is on its way, the one before. */
  certAllowed: new Set<string>(),
  moving: true,
  /** Hosts of Ingresses whose only path Portico leaves out: never routed. */
  badHosts: [] as string[],
  /** Hosts whose Secret has a key too weak for HAProxy: served, with the default certificate. */
  weakHosts: [] as string[],
  /** Hosts of the Ingresses created while the disk is full, all to static; deleted again once space is back. */
  burstHosts: [] as string[],
  /** The newest of them once it is served, until the burst is deleted: probed throughout meanwhile. */
  burstProbe: undefined as string | undefined,
  /** Hosts of deleted Ingresses (two of each burst): 404. */
  goneHosts: [] as string[],
};
/** Ingresses created at once while the state directory is full: enough runtime work that a restarted HAProxy
 * stays behind the API for a while (tens to hundreds of milliseconds here) before it is brought up to date, long
 * enough for the loop to see whether /readyz waits for that. */
const BURST = 150;

// --- the run's processes ------------------------------------------------------------------------------------------

const pods: Echo[] = [];
let api: ApiServer | undefined;
let portico: Portico;
let stateDir = '';
let disk: Tmpfs | undefined;
let diskSkip: string | undefined;
let defaultFp = '';
let loopRunning = false;
let loopDone: Promise<unknown> = Promise.resolve();

before(async () => {
  // The state directory on a small tmpfs of its own, as in full-disk.test.ts: filling it fills nobody else's disk.
  const m = await mountTmpfs('1m');
  if (typeof m === 'string') diskSkip = m;
  else disk = m;
  api = await startApiServer({ token: TOKEN, rbac: { files: await rbacFiles(), serviceAccount: { namespace: 'portico', name: 'portico' } } });
  const kubeconfig = api.kubeconfig(join(await mkdtemp(join(tmpdir(), 'portico-chaos-')), 'kubeconfig'), { token: TOKEN });
  for (let i = 1; i <= WEB_POOL; i++) pods.push(await startEcho({ pod: `web-${i}`, ip: `${NET}.${i}`, port: 3000 }));
  pods.push(await startEcho({ pod: 'static-1', ip: `${NET}.20`, port: 3000 }));
  pods.push(await startEcho({ pod: 'secure-1', ip: `${NET}.21`, port: 3000 }));

  api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'portico' } });
  api.create({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress-controller' } });
  for (const svc of ['web', 'static', 'secure']) api.create(service(svc));
  api.create(slice('web', world.web.map(webIp)));
  api.create(slice('static', [`${NET}.20`]));
  api.create(slice('secure', [`${NET}.21`]));
  api.create(secret('secure-tls', rotations[0]!));
  world.certAllowed = new Set([fingerprint(rotations[0]!)]);
  api.create(ingress('web', 'web.test', 'web'));
  api.create(ingress('static', 'static.test', 'static'));
  api.create(ingress('secure', 'tls.test', 'secure', { tlsSecret: 'secure-tls' }));
  api.create(ingress('moving', 'moving.test', 'static'));

  portico = await startPortico({
    manifests: [],
    ...(disk ? { stateDir: disk.dir } : {}),
    // A fixed status address, as the base deployment publishes its Service's: no pod or node lookups.
    args: ['--kubeconfig', kubeconfig, '--publish-status-address', '203.0.113.10', '--election-lease-duration', '3', '--election-renew-deadline', '2', '--election-retry-period', '1'],
    env: { ...process.env, POD_NAMESPACE: 'portico', POD_NAME: 'chaos' },
  });
  stateDir = portico.stateDir;
  await portico.waitReady();
  // Events (how a bad object is reported) are written by the leader only.
  await waitFor(() => Promise.resolve(leaseHolder() === 'chaos'), { timeoutMs: 10_000, message: 'Portico never became the leader' });
  defaultFp = (await tlsHandshake(portico.httpsPort)).cert.fingerprint256;
});

after(async () => {
  loopRunning = false;
  await loopDone;
  try {
    await stopEverything(pods);
  } finally {
    await api?.close().catch(() => undefined);
    disk?.unmount();
  }
});

function leaseHolder(): string {
  const lease = api?.get('coordination.k8s.io/v1', 'Lease', 'portico', 'portico-leader') as { spec?: { holderIdentity?: string } } | undefined;
  return lease?.spec?.holderIdentity ?? '';
}

// --- observing ----------------------------------------------------------------------------------------------------

/** What answered a request: the echo pod, `HTTP <status>` for anything else, or the error that ended it. */
async function podAt(host: string, path = '/'): Promise<string> {
  try {
    const r = await httpGet(portico.httpPort, { host, path, timeoutMs: REQUEST_TIMEOUT_MS });
    return r.status === 200 ? r.json<{ pod: string }>().pod : `HTTP ${r.status}`;
  } catch (e) {
    return `error ${errorKind(e)}`;
  }
}

/** Over HTTPS with SNI: the pod (or status) and the certificate's fingerprint. */
async function tlsAt(host: string): Promise<{ pod: string; fp: string }> {
  try {
    const r = await httpsGet(portico.httpsPort, { servername: host, host, timeoutMs: REQUEST_TIMEOUT_MS });
    return { pod: r.status === 200 ? r.json<{ pod: string }>().pod : `HTTP ${r.status}`, fp: r.cert.fingerprint256 };
  } catch (e) {
    return { pod: `error ${errorKind(e)}`, fp: '' };
  }
}

/** Why a request failed, as far as a client can tell: the connection was refused, reset, timed out, or other. */
function errorKind(e: unknown): string {
  const err = e as { code?: string; message?: string; cause?: { code?: string } };
  const code = err.code ?? err.cause?.code ?? '';
  const message = err.message ?? String(e);
  if (code === 'ECONNREFUSED') return 'refused';
  if (['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'].includes(code) || /socket hang up|other side closed|ECONNRESET|disconnected before secure/i.test(message)) return 'reset';
  if (/timeout|timed out|no answer within/i.test(message) || code.includes('TIMEOUT')) return 'timeout';
  return `other (${code || message.slice(0, 80)})`;
}

/** Every /readyz answer anyone here got: when it was asked, when it came back, what it said. */
const readyLog: { sent: number; recv: number; status: number }[] = [];

async function readyz(): Promise<number> {
  const sent = performance.now();
  const status = await httpGet(portico.adminPort, { path: '/readyz', timeoutMs: REQUEST_TIMEOUT_MS }).then(
    (r) => r.status,
    () => 0,
  );
  readyLog.push({ sent, recv: performance.now(), status });
  return status;
}

/**
 * What web.test answers, judged against the API's state: undefined when right, else what was wrong. The one probe
 * both the readiness sampler and the request loop use for the host whose endpoints change.
 */
async function webProblem(): Promise<string | undefined> {
  const pod = await podAt('web.test');
  if (pod.startsWith('error ')) return pod.slice('error '.length);
  if (pod.startsWith('HTTP ')) return `http-${pod.slice(5)}`;
  return world.webAllowed.has(pod) ? undefined : `stale endpoint (${pod} answered)`;
}

/** The newest Ingress of the last burst: a 404 there is a route the API has and HAProxy lost. */
async function burstProblem(): Promise<string | undefined> {
  const host = world.burstProbe;
  if (host === undefined) return undefined;
  const pod = await podAt(host);
  if (pod === 'static-1') return undefined;
  return pod === 'HTTP 404' ? `stale route (404 for ${host})` : kindOf(pod);
}

/** Routing that changes at runtime, as the API has it: endpoints (web.test) and routes (the burst). */
async function routingProblem(): Promise<string | undefined> {
  const [web, burst] = await Promise.all([webProblem(), burstProblem()]);
  return web ?? burst;
}

interface Failure {
  lane: string;
  start: number;
  end: number;
  kind: string;
}

const failures: Failure[] = [];
const lies: string[] = [];
let requests = 0;
let readySamples = 0;

/** Requests one after the other, each on a fresh connection, until the run ends; every failure is kept. */
async function lane(name: string, once: () => Promise<string | undefined>): Promise<void> {
  while (loopRunning) {
    const start = performance.now();
    let kind: string | undefined;
    try {
      kind = await once();
    } catch (e) {
      kind = errorKind(e);
    }
    requests++;
    if (kind !== undefined) failures.push({ lane: name, start, end: performance.now(), kind });
    await sleep(LANE_PAUSE_MS);
  }
}

/** Set while HAProxy is being killed and restarted: the sampler then runs back to back, to see short windows. */
let intenseSampling = false;
/** No restart is quicker than this (the supervisor waits 100 ms before the first attempt). */
const RESTART_FLOOR_MS = 100;

/**
 * /readyz, the routing probe (web.test's endpoints, the burst's route), /readyz again; a 200 on both sides of a
 * request HAProxy did not serve as the API says is a lie, with one allowance: a dead HAProxy is noticed within
 * milliseconds, not at once. So:
 * - a stale answer (an endpoint or route the API no longer has, or not yet) can only come from an HAProxy restarted
 *   from an older generation, at least RESTART_FLOOR_MS after the old one died; 200 on both sides within less than
 *   that is a lie at once;
 * - a failed connection is a lie only if it lasts: failing again 50 ms later with /readyz still 200.
 * Every probe that failed also goes to the failures, to be explained like the loop's.
 */
async function readinessSampler(): Promise<void> {
  while (loopRunning) {
    const began = performance.now();
    const r1 = await readyz();
    const sent = performance.now();
    const p1 = await routingProblem();
    if (p1 !== undefined) failures.push({ lane: 'probe', start: sent, end: performance.now(), kind: p1 });
    const r2 = await readyz();
    const span = performance.now() - began;
    const where = current?.label ?? 'calm';
    if (r1 === 200 && r2 === 200 && p1 !== undefined) {
      if (p1.startsWith('stale')) {
        if (span < RESTART_FLOOR_MS) lies.push(`${where}: /readyz 200 just before and just after a request was served from outdated routing (${p1}), ${Math.round(span)} ms apart`);
      } else {
        await sleep(50);
        const r3 = await readyz();
        const p2 = r3 === 200 ? await routingProblem() : undefined;
        if (r3 === 200 && p2 !== undefined) lies.push(`${where}: /readyz 200 while a request failed (${p1}), and 50 ms later still 200 while one failed (${p2})`);
      }
    }
    readySamples++;
    await sleep(intenseSampling ? 0 : 20);
  }
}

/** Lanes in the request loop, each pausing LANE_PAUSE_MS between requests: what bounds the failures one outage can
 * cause (the readiness sampler's probe, which runs back to back during a kill, is judged by its own rules). */
let laneCount = 0;

function startLoop(): void {
  loopRunning = true;
  const all = [
    lane('web', webProblem),
    lane('burst', burstProblem),
    lane('static', async () => {
      const pod = await podAt('static.test');
      return pod === 'static-1' ? undefined : kindOf(pod);
    }),
    // Requests that take a while, so that a killed HAProxy has requests in flight.
    lane('slow', async () => {
      const pod = await podAt('static.test', '/slow?ms=200');
      return pod === 'static-1' ? undefined : kindOf(pod);
    }),
    lane('tls', async () => {
      const r = await tlsAt('tls.test');
      if (r.pod !== 'secure-1') return kindOf(r.pod);
      return world.certAllowed.has(r.fp) ? undefined : 'stale certificate';
    }),
  ];
  // The sampler is no lane of the bound: while HAProxy is being killed it runs back to back, with no pause.
  laneCount = all.length;
  all.push(readinessSampler());
  loopDone = Promise.all(all);
}

function kindOf(answer: string): string {
  if (answer.startsWith('error ')) return answer.slice('error '.length);
  if (answer.startsWith('HTTP ')) return `http-${answer.slice(5)}`;
  return `wrong pod (${answer})`;
}

// --- routing equals the API's state --------------------------------------------------------------------------------

/** Every way the routing differs from `world` now; `seen` collects the web pods that answered, across calls. */
async function mismatches(seen: Set<string>): Promise<string[]> {
  const out: string[] = [];
  const expect = async (what: string, got: Promise<string>, want: string): Promise<void> => {
    const g = await got;
    if (g !== want) out.push(`${what}: ${g}, not ${want}`);
  };
  const web = Promise.all(Array.from({ length: world.web.length * 2 }, () => podAt('web.test'))).then((answers) => {
    for (const a of answers) {
      if (world.web.includes(a)) seen.add(a);
      else out.push(`web.test: ${a}, not one of ${world.web.join(' ')}`);
    }
  });
  const tls = tlsAt('tls.test').then((r) => {
    if (r.pod !== 'secure-1') out.push(`tls.test: ${r.pod}, not secure-1`);
    if (r.fp !== fingerprint(rotations[world.cert]!)) out.push(`tls.test: SNI selects ${r.fp === defaultFp ? 'the default certificate' : r.fp.slice(0, 17)}, not secure-${world.cert}`);
  });
  const weak = world.weakHosts.map((host) =>
    tlsAt(host).then((r) => {
      if (r.pod !== 'static-1') out.push(`${host}: ${r.pod}, not static-1`);
      if (r.fp !== defaultFp) out.push(`${host}: SNI selects the refused certificate, not the default one`);
    }),
  );
  await Promise.all([
    web,
    tls,
    ...weak,
    expect('static.test', podAt('static.test'), 'static-1'),
    expect('moving.test', podAt('moving.test'), world.moving ? 'static-1' : 'HTTP 404'),
    expect('unknown.test', podAt('unknown.test'), 'HTTP 404'),
    ...world.badHosts.map((h) => expect(h, podAt(h), 'HTTP 404')),
    // Two of the burst: checking all of them on every poll would be most of the run's requests.
    ...[world.burstHosts[0], world.burstHosts.at(-1)].flatMap((h) => (h ? [expect(h, podAt(h), 'static-1')] : [])),
    ...world.goneHosts.map((h) => expect(h, podAt(h), 'HTTP 404')),
  ]);
  const missing = world.web.filter((p) => !seen.has(p));
  if (out.length === 0 && missing.length > 0) out.push(`web.test: ${missing.join(' ')} never answered`);
  return out;
}

// --- faults -------------------------------------------------------------------------------------------------------

type FaultName = 'kill-worker' | 'kill-master' | 'api-restart' | 'bad-object' | 'rotate-cert' | 'scale-endpoints' | 'disk-full';
const FAULTS: FaultName[] = ['kill-worker', 'kill-master', 'api-restart', 'bad-object', 'rotate-cert', 'scale-endpoints', 'disk-full'];

interface FaultRecord {
  label: string;
  name: FaultName;
  start: number;
  end: number;
  /** HAProxy killed at `down`; /readyz 200 again at `up`. */
  outage?: { down: number; up: number };
  /** HAProxy restarted from an older generation (full disk): stale answers are explained until `up`. */
  staleRestart: boolean;
  notes: string[];
  /** Time from the fault (for a kill: from /readyz 200 again) to routing equal to the API's state. */
  convergeMs: number[];
  problems: string[];
}

const records: FaultRecord[] = [];
let current: FaultRecord | undefined;
/** CHAOS_VERBOSE=1: each step on stderr as it happens, for watching a run or finding where one hangs. */
const progress = (msg: string): void => {
  if (process.env.CHAOS_VERBOSE === '1') process.stderr.write(`[chaos +${Math.round(performance.now())} ms] ${current?.label ?? ''} ${msg}\n`);
};

async function converge(rec: FaultRecord, since: number, what: string): Promise<void> {
  const seen = new Set<string>();
  let last: string[] = [];
  progress(`waiting for routing ${what}`);
  for (;;) {
    last = await mismatches(seen);
    const ms = performance.now() - since;
    if (last.length === 0) {
      rec.convergeMs.push(Math.round(ms));
      progress(`routing right ${what} after ${Math.round(ms)} ms`);
      if (ms > CONVERGE_MS) rec.problems.push(`${what}: routing equalled the API's state only after ${Math.round(ms)} ms`);
      return;
    }
    // Keep going past the deadline to learn how late it was; give up only when it is clearly never.
    if (ms > 10_000) throw new Error(`${rec.label}: ${what}: routing still differs from the API's state after 10 s: ${last.join('; ')}`);
    await sleep(20);
  }
}

function masterPid(): Promise<number> {
  return readFile(join(stateDir, 'haproxy.pid'), 'utf8').then((s) => Number(s.trim()));
}

/** The master CLI's `show proc`, over its socket in the state directory. */
function showProc(): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ path: join(stateDir, 'master.sock') });
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => (out += c));
    s.once('end', () => resolve(out));
    s.once('error', reject);
    s.setTimeout(2000, () => s.destroy(new Error('show proc: no answer within 2 s')));
    // The half-close is what tells the master CLI that this is a one-shot command: it answers, then closes.
    s.end('show proc\n');
  });
}

/** The current worker: listed under `# workers` with 0 reloads (older ones, still draining, have more). */
async function currentWorker(): Promise<number> {
  let section = '';
  for (const line of (await showProc()).split('\n')) {
    if (line.startsWith('#')) {
      section = line;
      continue;
    }
    const [pid, type, reloads] = line.trim().split(/\s+/);
    if (section === '# workers' && type === 'worker' && reloads === '0') return Number(pid);
  }
  throw new Error('no current HAProxy worker in show proc');
}

async function killHaproxy(rec: FaultRecord, which: 'worker' | 'master'): Promise<void> {
  const pid = which === 'master' ? await masterPid() : await currentWorker();
  const down = performance.now();
  intenseSampling = true;
  try {
    process.kill(pid, 'SIGKILL');
    rec.notes.push(`SIGKILL to the ${which} (pid ${pid})`);
    progress(`killed the ${which}`);
    // The master's exit (after its worker's, with exit-on-failure) is seen at once: /readyz must say so.
    await waitFor(async () => (await readyz()) !== 200, { timeoutMs: 1000, intervalMs: 5, message: `${rec.label}: /readyz still 200 a second after the ${which} was killed` });
    await waitFor(async () => (await readyz()) === 200, { timeoutMs: 10_000, intervalMs: 10, message: `${rec.label}: /readyz not 200 again within 10 s of the kill` });
    // "Back" is the first moment anyone (this loop, the sampler) was told 200 after having been told otherwise:
    // from then on, a request must be served as the API says.
    const notReady = readyLog.find((r) => r.sent >= down && r.status !== 200)!;
    const up = readyLog.find((r) => r.sent >= notReady.recv && r.status === 200)!.recv;
    rec.outage = { down, up };
    progress(`HAProxy back after ${Math.round(up - down)} ms`);
    if (up - down > MAX_OUTAGE_MS) rec.problems.push(`HAProxy was down for ${Math.round(up - down)} ms (at most ${MAX_OUTAGE_MS})`);
    await converge(rec, up, 'after the restart');
  } finally {
    intenseSampling = false;
  }
}

async function restartApi(rec: FaultRecord): Promise<void> {
  const a = api!;
  const abrupt = rng() < 0.5;
  // Short enough that Portico's backoff (125-250 ms, then doubling) has not grown far when the server is back:
  // the second retry at the latest finds it.
  const downMs = int(50, 200);
  const since = a.requests.length;
  await a.stop({ abrupt });
  // Written while this API server is down, as through another one: only a relist tells Portico.
  if (world.moving) a.remove('networking.k8s.io/v1', 'Ingress', 'default', 'moving');
  else a.create(ingress('moving', 'moving.test', 'static'));
  world.moving = !world.moving;
  await sleep(downMs);
  await a.start();
  rec.notes.push(`${abrupt ? 'crashed (watches cut)' : 'stopped gracefully'}, down ${downMs} ms, moving.test ${world.moving ? 'created' : 'deleted'} meanwhile`);
  await converge(rec, performance.now(), 'after the API server came back');
  if (!a.requests.slice(since).some((r) => r.verb === 'list' && r.resource === 'ingresses' && r.status === 200)) rec.problems.push('Portico did not relist Ingresses after the restart');
}

async function toggleMoving(rec: FaultRecord): Promise<void> {
  if (world.moving) api!.remove('networking.k8s.io/v1', 'Ingress', 'default', 'moving');
  else api!.create(ingress('moving', 'moving.test', 'static'));
  world.moving = !world.moving;
  rec.notes.push(`moving.test ${world.moving ? 'created' : 'deleted'}`);
  await converge(rec, performance.now(), 'after moving.test changed');
}

let badCount = 0;
async function addBadObject(rec: FaultRecord, variant: 'ingress' | 'secret'): Promise<void> {
  const a = api!;
  const k = badCount++;
  let name: string;
  let rule: string;
  if (variant === 'ingress') {
    // The API server takes any ImplementationSpecific path; an encoded slash is one no request could ever match.
    name = `bad-${k}`;
    rule = 'path-ambiguous';
    a.create(ingress(name, `${name}.test`, 'static', { path: '/a%2Fb', pathType: 'ImplementationSpecific' }));
    world.badHosts.push(`${name}.test`);
    rec.notes.push(`Ingress ${name} with the path /a%2Fb`);
  } else {
    name = `weak-${k}-tls`;
    rule = 'tls-security-level';
    a.create(secret(name, weakCerts[k]!));
    a.create(ingress(`weak-${k}`, `weak-${k}.test`, 'static', { tlsSecret: name }));
    world.weakHosts.push(`weak-${k}.test`);
    rec.notes.push(`Secret ${name} with an RSA-1024 key, used by Ingress weak-${k}`);
  }
  await converge(rec, performance.now(), 'after the bad object');
  await waitFor(
    () => Promise.resolve(a.list('v1', 'Event').some((e) => (e as { involvedObject?: { name?: string } }).involvedObject?.name === name && String((e as { message?: string }).message).includes(`(rule ${rule})`))),
    { timeoutMs: 3000, message: `${rec.label}: no Event on ${name} for rule ${rule}` },
  );
}

async function rotateCert(rec: FaultRecord): Promise<void> {
  const next = world.cert + 1;
  const pair = rotations[next];
  if (!pair) throw new Error('out of certificates to rotate to');
  world.certAllowed = new Set([fingerprint(rotations[world.cert]!), fingerprint(pair)]);
  world.cert = next;
  api!.update(secret('secure-tls', pair));
  rec.notes.push(`secure-tls now secure-${next}`);
  await converge(rec, performance.now(), 'after the rotation');
  world.certAllowed = new Set([fingerprint(pair)]);
}

async function scaleEndpoints(rec: FaultRecord, disjoint = false): Promise<void> {
  const pool = Array.from({ length: WEB_POOL }, (_, i) => `web-${i + 1}`).filter((p) => !disjoint || !world.web.includes(p));
  let next: string[];
  do next = shuffle(pool).slice(0, int(1, Math.min(4, pool.length))).sort();
  while (next.join() === world.web.join());
  world.webAllowed = new Set([...world.web, ...next]);
  rec.notes.push(`web ${world.web.join(',')} -> ${next.join(',')}`);
  world.web = next;
  api!.update(slice('web', next.map(webIp)));
  await converge(rec, performance.now(), 'after the scale');
  world.webAllowed = new Set(next);
}


let burstCount = 0;

/**
 * The state directory full to the last byte, and HAProxy killed meanwhile, after runtime-only changes (endpoints,
 * a certificate) that no generation on disk holds: the restart must come from the last complete generation, and
 * /readyz may say 200 only once HAProxy has been brought up to date.
 */
async function diskFull(rec: FaultRecord): Promise<void> {
  const filler = join(stateDir, 'filler');
  await fill(filler);
  rec.notes.push('state directory full');
  progress('state directory full');
  await converge(rec, performance.now(), 'with the disk full');
  await scaleEndpoints(rec, true);
  await rotateCert(rec);
  await toggleMoving(rec);
  const burst = Array.from({ length: BURST }, (_, i) => `burst-${burstCount}-${i}`);
  burstCount++;
  for (const name of burst) api!.create(ingress(name, `${name}.test`, 'static'));
  world.burstHosts = burst.map((n) => `${n}.test`);
  rec.notes.push(`${BURST} Ingresses created`);
  await converge(rec, performance.now(), 'after the burst');
  world.burstProbe = world.burstHosts.at(-1);
  const fallbacks = (): number => portico.logs.entries.filter((l) => String(l.msg).startsWith('cannot render a fresh configuration for the restart')).length;
  const before = fallbacks();
  rec.staleRestart = true;
  await killHaproxy(rec, rng() < 0.5 ? 'worker' : 'master');
  if (fallbacks() === before) rec.problems.push('the restart did not fall back to the last complete generation: the disk was not full?');
  await rm(filler);
  rec.notes.push('space freed');
  await converge(rec, performance.now(), 'with the space back');
  // Gone again, so that the rest of the run works on a small state: removed routes must answer 404.
  world.burstProbe = undefined;
  for (const name of burst) api!.remove('networking.k8s.io/v1', 'Ingress', 'default', name);
  world.goneHosts.push(world.burstHosts[0]!, world.burstHosts.at(-1)!);
  world.burstHosts = [];
  rec.notes.push('the burst deleted');
  await converge(rec, performance.now(), 'after the burst was deleted');
}

const FAULT_RUNS: Record<FaultName, (rec: FaultRecord, variant: 'ingress' | 'secret') => Promise<void>> = {
  'kill-worker': (rec) => killHaproxy(rec, 'worker'),
  'kill-master': (rec) => killHaproxy(rec, 'master'),
  'api-restart': restartApi,
  'bad-object': addBadObject,
  'rotate-cert': rotateCert,
  'scale-endpoints': (rec) => scaleEndpoints(rec),
  'disk-full': diskFull,
};

async function runFault(name: FaultName, label: string, variant: 'ingress' | 'secret'): Promise<void> {
  const rec: FaultRecord = { label, name, start: performance.now(), end: 0, staleRestart: false, notes: [], convergeMs: [], problems: [] };
  records.push(rec);
  current = rec;
  progress('begins');
  try {
    await FAULT_RUNS[name](rec, variant);
  } finally {
    rec.end = performance.now();
    current = undefined;
  }
}

// --- judging the request loop ----------------------------------------------------------------------------------

const KILL_KINDS = new Set(['refused', 'reset']);

/** Why `f` is not explained by `rec` (undefined: it is). */
function unexplained(f: Failure, rec: FaultRecord | undefined): string | undefined {
  if (!rec) return 'no fault was under way';
  const o = rec.outage;
  if (!o) return `${rec.name} must not fail requests`;
  if (f.end < o.down) return 'it ended before HAProxy was killed';
  if (f.start > o.up) return /^(stale|wrong pod)/.test(f.kind) ? 'HAProxy served outdated routing after /readyz said 200 again' : 'it started after HAProxy was back and /readyz said 200';
  if (KILL_KINDS.has(f.kind)) return undefined;
  if (rec.staleRestart && /^(stale|wrong pod)/.test(f.kind)) return undefined;
  return `a killed HAProxy explains refused or reset connections, not ${f.kind}`;
}

function attribute(f: Failure): FaultRecord | undefined {
  return records.find((r) => f.end >= r.start && f.start <= r.end);
}

describe('chaos', () => {
  test(`faults in a seeded random order under a request loop (CHAOS_SEED=${SEED})`, { timeout: 110_000 }, async (t: TestContext) => {
    const faults = FAULTS.filter((f) => f !== 'disk-full' || diskSkip === undefined);
    if (diskSkip) t.diagnostic(`disk-full skipped: ${diskSkip}`);
    const order = Array.from({ length: ROUNDS }, () => shuffle(faults)).flat();
    const firstVariant = rng() < 0.5 ? 'ingress' : 'secret';
    t.diagnostic(`seed ${SEED} (replay: CHAOS_SEED=${SEED}), ${ROUNDS} rounds: ${order.join(', ')}`);

    startLoop();
    const began = performance.now();
    let aborted: unknown;
    try {
      await sleep(CALM_MS);
      const seen = new Map<FaultName, number>();
      for (const name of order) {
        const n = (seen.get(name) ?? 0) + 1;
        seen.set(name, n);
        const variant = (badCount % 2 === 0) === (firstVariant === 'ingress') ? 'ingress' : 'secret';
        await runFault(name, `${name}#${n}`, variant);
        await sleep(CALM_MS);
      }
    } catch (e) {
      aborted = e;
    } finally {
      loopRunning = false;
      await loopDone;
    }
    const seconds = ((performance.now() - began) / 1000).toFixed(1);

    const problems: string[] = [];
    const perFault = new Map<FaultRecord | undefined, Map<string, number>>();
    const laneFailures = new Map<FaultRecord | undefined, number>();
    let staleWhileReady = 0;
    for (const f of failures) {
      const rec = attribute(f);
      if (f.lane !== 'probe') laneFailures.set(rec, (laneFailures.get(rec) ?? 0) + 1);
      const why = unexplained(f, rec);
      const kinds = perFault.get(rec) ?? new Map<string, number>();
      // Counted by kind alone: which pod or host it was is in the problem's text when it matters.
      const kind = f.kind.replace(/ \(.*\)$/, '');
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      perFault.set(rec, kinds);
      if (why?.startsWith('HAProxy served outdated routing')) staleWhileReady++;
      if (why) problems.push(`${rec?.label ?? 'calm'}: ${f.lane} request at +${Math.round(f.start - began)} ms failed (${f.kind}) and ${why}`);
    }
    for (const rec of records) {
      problems.push(...rec.problems.map((p) => `${rec.label}: ${p}`));
      const count = laneFailures.get(rec) ?? 0;
      // Each lane fails at most once per pause while HAProxy is down, plus its request in flight at the kill.
      const bound = rec.outage ? Math.ceil((laneCount * (rec.outage.up - rec.outage.down)) / LANE_PAUSE_MS) + laneCount : 0;
      if (count > bound) problems.push(`${rec.label}: ${count} failed requests, more than the bound of ${bound}`);
      const kinds = [...(perFault.get(rec) ?? new Map<string, number>())].map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
      const outage = rec.outage ? `, down ${Math.round(rec.outage.up - rec.outage.down)} ms` : '';
      t.diagnostic(`${rec.label}: failed requests: ${kinds}${outage}; routing right after ${rec.convergeMs.join('/')} ms; ${rec.notes.join('; ')}`);
    }
    const calm = [...(perFault.get(undefined)?.entries() ?? [])].map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
    t.diagnostic(`between faults: failed requests: ${calm}`);
    // Chaos must not push Portico outside its role (the stand-in enforces deploy/'s RBAC).
    problems.push(...(api?.rbacDenials ?? []).map((d) => `RBAC refused ${d.verb} ${d.resource}: ${d.message}`));
    t.diagnostic(`${requests} requests and ${readySamples} readiness samples in ${seconds} s; /readyz 200 while not serving: ${lies.length}; outdated answers after /readyz said 200: ${staleWhileReady}`);
    problems.push(...lies);

    const replay = `replay with CHAOS_SEED=${SEED} CHAOS_ROUNDS=${ROUNDS}`;
    if (aborted) throw new Error(`${replay}: the run stopped at ${current?.label ?? records.at(-1)?.label ?? 'start'}: ${aborted instanceof Error ? aborted.message : inspect(aborted)}\n${problems.join('\n')}`);
    assert.deepEqual(problems, [], `${replay}: ${problems.length} problem(s)`);
  });
});
