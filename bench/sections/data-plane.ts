// Throughput and latency of each proxy in turn, same origin, same hosts, same load, pinned to the same core. Only
// one proxy runs at a time, so a peer's idle neighbours (Portico's once-a-second rescan) cannot steal its core.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cert } from '../lib/certs.js';
import { cpuBusyMicros, waitForQuiet } from '../lib/cpu-load.js';
import { freePort } from '../../test/e2e/harness/ports.js';
import { runH2load } from '../load/h2load.js';
import { runWrk, writeWrkScript } from '../load/wrk.js';
import type { LoadResult } from '../load/wrk.js';
import { fleetHost, hotHosts, writeFleet } from '../manifests/fleet.js';
import { joinDocs, tlsSecret } from '../manifests/objects.js';
import { ORIGIN_ADDRESSES } from '../peers/backend.js';
import type { Backend } from '../peers/backend.js';
import { checkForwardedHeaders, haproxySameWork } from '../peers/forwarded-headers.js';
import { startHandwrittenHaproxy } from '../peers/haproxy-handwritten.js';
import { startNginxProxy } from '../peers/nginx-proxy.js';
import type { Peer } from '../peers/peer.js';
import { startPorticoPeer } from '../peers/portico.js';
import type { Routes } from '../peers/routes.js';
import { startUndiciProxy } from '../peers/undici-proxy.js';
import type { DataPlaneRow } from '../report/types.js';
import type { Settings } from '../settings.js';

export const RATIO_TARGET = 0.95;
const QUIET_THRESHOLD = 0.1;
const PEER_ORDER = ['haproxy', 'haproxy-same-work', 'portico', 'nginx', 'nginx-same-work', 'undici'] as const;
/** With the peers only the CPU a/b section measures: what an access log line costs each, Portico's and
 * ingress-nginx's. */
export type PeerName = (typeof PEER_ORDER)[number] | 'portico-no-access-log' | 'portico-log-apart' | 'nginx-same-work-access-log';
/** Peers that send the forwarding headers Portico sends: before one is measured, the headers are checked at the origin. */
const SAME_WORK: readonly PeerName[] = ['portico', 'portico-no-access-log', 'portico-log-apart', 'haproxy-same-work', 'nginx-same-work', 'nginx-same-work-access-log'];

export interface Context {
  s: Settings;
  workDir: string;
  backend: Backend;
  cert: Cert;
  log: (line: string) => void;
  peerInfo: Record<string, Record<string, string | number>>;
}

/** Appends to `rows` as cells finish, so a failure part-way keeps what was measured. */
export async function runDataPlane(ctx: Context, rows: DataPlaneRow[]): Promise<void> {
  try {
    await measureAll(ctx, rows);
  } finally {
    rows.splice(0, rows.length, ...withRatios(rows));
  }
}

async function measureAll(ctx: Context, rows: DataPlaneRow[]): Promise<void> {
  const failed: string[] = [];
  for (const scale of ctx.s.dataPlane.scales) {
    const dir = join(ctx.workDir, `data-plane-${scale}`);
    await mkdir(dir, { recursive: true });
    const routes = routesFor(ctx, scale);
    const hot = hotHosts(scale, ctx.s.dataPlane.hotHosts);
    const script = await writeWrkScript(dir, 'hosts', hot);
    for (const name of PEER_ORDER) {
      ctx.log(`data plane: ${scale} host(s), starting ${name}`);
      const peer = await startPeer(name, ctx, dir, routes, hot);
      ctx.peerInfo[`${name}@${scale}`] = peer.info;
      try {
        const problem = await selfCheck(name, peer, hot[0]!);
        if (problem !== undefined) {
          // Not measured: its cells would compare unequal work. The section fails once every other peer is measured.
          ctx.log(`  ${problem}`);
          failed.push(`${scale} host(s): ${problem}`);
          continue;
        }
        await measurePeer(ctx, peer, scale, script, hot[0]!, dir, rows);
        // After the load: connection pools and caches are as big as this traffic makes them.
        ctx.peerInfo[`${name}@${scale}`] = { ...peer.info, rssMb: Math.round(peer.proxyRssKb() / 1024) };
      } finally {
        await peer.stop();
      }
    }
  }
  if (failed.length > 0) throw new Error(`peers failed their forwarding-header self-check and were not measured: ${failed.join('; ')}`);
}

export function routesFor(ctx: Pick<Context, 'backend'>, scale: number): Routes {
  return { hosts: Array.from({ length: scale }, (_, i) => fleetHost(i)), origins: ORIGIN_ADDRESSES.map((a) => `${a}:${ctx.backend.port}`) };
}

/** For a peer that claims the work Portico does, what is wrong with its forwarding headers; else undefined. */
export async function selfCheck(name: PeerName, peer: Peer, host: string): Promise<string | undefined> {
  if (!SAME_WORK.includes(name)) return undefined;
  try {
    await checkForwardedHeaders({ peer: name, host, httpPort: peer.httpPort, httpsPort: peer.httpsPort });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

export async function startPeer(name: PeerName, ctx: Omit<Context, 'peerInfo' | 'log'>, dir: string, routes: Routes, hot: string[]): Promise<Peer> {
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const common = { dir, routes, cert: ctx.cert, httpPort, httpsPort, cpus: ctx.s.proxyCpus };
  // nginx's idle pool is per upstream block and allocated up front: it must cover the connections one host can see
  // (all of them at one host), but 256 per block times 10,000 blocks would be gigabytes.
  const keepalive = Math.max(64, Math.ceil(Math.max(...ctx.s.dataPlane.connections) / hot.length));
  switch (name) {
    case 'haproxy':
      return startHandwrittenHaproxy(common);
    case 'haproxy-same-work':
      return startHandwrittenHaproxy({ ...common, name, frontendExtras: haproxySameWork });
    case 'nginx':
      return startNginxProxy({ ...common, keepalive });
    case 'nginx-same-work':
      return startNginxProxy({ ...common, keepalive, forwardedHeaders: true });
    case 'nginx-same-work-access-log':
      return startNginxProxy({ ...common, keepalive, forwardedHeaders: true, accessLog: true });
    case 'undici':
      return startUndiciProxy(common);
    case 'portico':
    case 'portico-no-access-log':
    case 'portico-log-apart': {
      const manifestDir = join(dir, 'portico-manifests');
      await writeFleet(manifestDir, { count: routes.hosts.length, addresses: () => ORIGIN_ADDRESSES, port: ctx.backend.port });
      await writeFile(join(manifestDir, 'default-tls.yaml'), joinDocs([tlsSecret('default-tls', ctx.cert.certPem, ctx.cert.keyPem)]));
      const stateDir = join(dir, 'portico-state');
      await mkdir(stateDir, { recursive: true });
      const args = ['--default-ssl-certificate', 'bench/default-tls', ...(name === 'portico-no-access-log' ? ['--access-log', 'off'] : [])];
      return startPorticoPeer({ name, manifestDir, stateDir, httpPort, httpsPort, adminPort: await freePort(), cpus: ctx.s.proxyCpus, probeHost: hot[hot.length - 1]!, args, ...(name === 'portico-log-apart' ? { controlCpus: ctx.s.loadCpus } : {}) });
    }
  }
}

async function measurePeer(ctx: Context, peer: Peer, scale: number, script: string, h2Host: string, dir: string, rows: DataPlaneRow[]): Promise<void> {
  const d = ctx.s.dataPlane;
  for (const protocol of ['http', 'https'] as const) {
    const url = protocol === 'http' ? `http://127.0.0.1:${peer.httpPort}/` : `https://127.0.0.1:${peer.httpsPort}/`;
    for (const connections of d.connections) {
      await quiet(ctx);
      // The warm-up opens the proxy's connection pools and lets caches and the CPU frequency settle.
      await runWrk({ url, script, connections, durationS: d.warmupS, cpus: ctx.s.loadCpus });
      const row = await measured(peer, Number(ctx.s.proxyCpus), () => runWrk({ url, script, connections, durationS: d.durationS, cpus: ctx.s.loadCpus }));
      rows.push(toRow(ctx, peer, scale, protocol, connections, 1, row));
    }
  }
  if (peer.h2) {
    const { connections, streams } = d.h2;
    await quiet(ctx);
    const r = await measured(peer, Number(ctx.s.proxyCpus), () => runH2load({ port: peer.httpsPort, host: h2Host, connections, streams, durationS: d.durationS, warmupS: d.warmupS, cpus: ctx.s.loadCpus, dir }));
    rows.push(toRow(ctx, peer, scale, 'h2', connections, streams, r));
  }
}

async function quiet(ctx: Context): Promise<void> {
  const t0 = performance.now();
  const load = await waitForQuiet(QUIET_THRESHOLD, ctx.s.dataPlane.quietMaxWaitMs);
  if (load >= QUIET_THRESHOLD) ctx.log(`  machine still ${(load * 100).toFixed(0)}% busy after ${ctx.s.dataPlane.quietMaxWaitMs / 1000} s; measuring anyway`);
  else if (performance.now() - t0 > 2000) ctx.log(`  waited ${((performance.now() - t0) / 1000).toFixed(0)} s for a quiet machine`);
}

type Measured = LoadResult & { proxyUs: number; controlUs: number; otherShare: number; proxyCoreBusy: number };

export async function measured(peer: Peer, proxyCpu: number, load: () => Promise<LoadResult>): Promise<Measured> {
  const [p0, c0, b0, t0] = [peer.proxyCpuMicros(), peer.controlCpuMicros(), cpuBusyMicros(proxyCpu), performance.now()];
  const r = await load();
  const [proxyUs, controlUs] = [peer.proxyCpuMicros() - p0, peer.controlCpuMicros() - c0];
  const wallUs = (performance.now() - t0) * 1000;
  // Whatever ran on the proxy core that was neither the proxy nor its control plane.
  const otherShare = Math.max(0, (cpuBusyMicros(proxyCpu) - b0 - proxyUs - controlUs) / wallUs);
  return { ...r, proxyUs, controlUs, otherShare, proxyCoreBusy: (proxyUs + controlUs) / wallUs };
}

function toRow(ctx: Context, peer: Peer, scale: number, protocol: DataPlaneRow['protocol'], connections: number, streams: number, r: Measured): DataPlaneRow {
  const perReq = (us: number): number => (r.requests > 0 ? us / r.requests : NaN);
  const row: DataPlaneRow = {
    scale,
    protocol,
    connections,
    streams,
    peer: peer.name,
    rps: r.rps,
    p50Ms: r.p50Us / 1000,
    p99Ms: r.p99Us / 1000,
    cpuUsPerRequest: perReq(r.proxyUs),
    controlCpuUsPerRequest: perReq(r.controlUs),
    errors: r.errors,
    otherLoadOnProxyCore: r.otherShare,
    proxyCoreBusy: r.proxyCoreBusy,
  };
  ctx.log(
    `  ${peer.name} ${protocol} c=${connections}${streams > 1 ? `x${streams}` : ''}: ${Math.round(r.rps)} req/s, p50 ${row.p50Ms.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms, ${row.cpuUsPerRequest.toFixed(1)} CPU-us/req, proxy core ${(r.proxyCoreBusy * 100).toFixed(0)}% busy, other load on proxy core ${(r.otherShare * 100).toFixed(0)}%${r.errors ? `, ${r.errors} ERRORS` : ''}`,
  );
  return row;
}

/** Ratios to the hand-written HAProxy in the same cell, and the target on Portico's rows. */
function withRatios(rows: DataPlaneRow[]): DataPlaneRow[] {
  const key = (r: DataPlaneRow): string => `${r.scale}/${r.protocol}/${r.connections}/${r.streams}`;
  const ref = new Map(rows.filter((r) => r.peer === 'haproxy').map((r) => [key(r), r]));
  return rows.map((r) => {
    const base = ref.get(key(r));
    if (!base) return r;
    const ratio = r.rps / base.rps;
    const out: DataPlaneRow = { ...r, ratio, cpuRatio: r.cpuUsPerRequest / base.cpuUsPerRequest };
    // Both ratios must hold: req/s alone flatters a proxy whenever the load side (wrk and the origin, sharing one
    // core) rather than the proxy's core is the limit, and CPU per request is what decides throughput once the
    // proxy's core is full. A cell with errors did not measure what it claims, whatever its ratios.
    if (r.peer === 'portico') {
      const capacity = base.cpuUsPerRequest / r.cpuUsPerRequest;
      out.target = { want: `>= ${RATIO_TARGET}x hand-written HAProxy in req/s and in CPU per request`, pass: ratio >= RATIO_TARGET && capacity >= RATIO_TARGET && r.errors === 0 };
    }
    return out;
  });
}
