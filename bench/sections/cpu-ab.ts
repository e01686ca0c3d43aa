// Portico's CPU per request against the peers that do the same work (send the same forwarding headers), measured so
// that this shared machine's mood cancels out. The data-plane section measures each peer once, minutes apart, and its
// ratios swing from 0.6x to 1.2x between runs. Here every peer runs at once (pinned to the proxy core, idle while it is
// not measured: CPU time is counted per process, so an idle neighbour costs the measured one nothing), and the bench
// takes turns between them in short rounds; each round gives one ratio per pair, from turns seconds apart, and the
// report gives the median of the rounds and their spread.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { median } from '../lib/stats.js';
import { runWrk, writeWrkScript } from '../load/wrk.js';
import { hotHosts } from '../manifests/fleet.js';
import type { Peer } from '../peers/peer.js';
import type { CpuAbCell, CpuAbRatio, CpuAbResult } from '../report/types.js';
import { measured, routesFor, selfCheck, startPeer } from './data-plane.js';
import type { Context as DataPlaneContext, PeerName } from './data-plane.js';

type Context = Omit<DataPlaneContext, 'peerInfo'>;

/** Portico first: every other peer is compared with it. The minimal hand-written HAProxy, which sends no forwarding
 * header, ties the comparison to the instruction counts (whose reference it is). Portico without its access log and
 * nginx with ingress-nginx's show what each one's log line costs (issue 13): Portico logs by default, as ingress-nginx
 * does, where the other nginx peer logs nothing. `portico-log-apart` is Portico with its own process moved to the load
 * CPU: HAProxy's share of the log (writing each line into its ring, handing it to Portico) measured at the rate HAProxy
 * reaches alone, where on one CPU Portico's reading of the lines takes half of it. */
const PEERS: readonly PeerName[] = ['portico', 'haproxy-same-work', 'nginx-same-work', 'haproxy', 'portico-no-access-log', 'nginx-same-work-access-log', 'portico-log-apart'];
const PROTOCOLS = ['http', 'https'] as const;

export async function runCpuAb(ctx: Context): Promise<CpuAbResult> {
  const a = ctx.s.cpuAb;
  const dir = join(ctx.workDir, 'cpu-ab');
  await mkdir(dir, { recursive: true });
  const routes = routesFor(ctx, 1);
  const hot = hotHosts(1, 1);
  const script = await writeWrkScript(dir, 'one-host', hot);
  const peers: Peer[] = [];
  const info: CpuAbResult['info'] = {};
  try {
    for (const name of PEERS) {
      const sub = join(dir, name);
      await mkdir(sub, { recursive: true });
      ctx.log(`cpu a/b: starting ${name}`);
      const peer = await startPeer(name, ctx, sub, routes, hot);
      peers.push(peer);
      info[name] = peer.info;
      const problem = await selfCheck(name, peer, hot[0]!);
      if (problem !== undefined) throw new Error(`${problem}: its CPU per request would compare unequal work`);
    }
    const cells: CpuAbCell[] = [];
    for (let round = 0; round < a.rounds; round++) {
      for (const protocol of PROTOCOLS) {
        // Each round starts with another peer, so that no peer always follows the same one (a warm cache, a CPU
        // frequency it left behind).
        for (const peer of peers.map((_, i) => peers[(i + round) % peers.length]!)) {
          const url = protocol === 'http' ? `http://127.0.0.1:${peer.httpPort}/` : `https://127.0.0.1:${peer.httpsPort}/`;
          const load = { url, script, connections: a.connections, cpus: ctx.s.loadCpus };
          // The warm-up refills the connection pools and the caches the previous peer's turn emptied.
          await runWrk({ ...load, durationS: a.warmupS });
          const m = await measured(peer, Number(ctx.s.proxyCpus), () => runWrk({ ...load, durationS: a.durationS }));
          const cell: CpuAbCell = { round, protocol, peer: peer.name, requests: m.requests, rps: m.rps, cpuUsPerRequest: m.requests > 0 ? m.proxyUs / m.requests : NaN, controlCpuUsPerRequest: m.requests > 0 ? m.controlUs / m.requests : NaN, otherLoadOnProxyCore: m.otherShare, errors: m.errors };
          cells.push(cell);
          ctx.log(`  round ${round + 1}/${a.rounds} ${protocol} ${peer.name}: ${cell.cpuUsPerRequest.toFixed(2)} CPU-us/req (control plane ${(cell.controlCpuUsPerRequest ?? 0).toFixed(2)}), ${Math.round(cell.rps)} req/s, other load on proxy core ${(cell.otherLoadOnProxyCore * 100).toFixed(0)}%${cell.errors ? `, ${cell.errors} ERRORS` : ''}`);
        }
      }
    }
    const ratios = ratiosOf(cells, a.rounds);
    for (const r of ratios) ctx.log(`cpu a/b: ${r.protocol} portico / ${r.versus}: median ${r.median.toFixed(3)} (${r.min.toFixed(3)}-${r.max.toFixed(3)} over ${r.perRound.length} rounds)`);
    return { connections: a.connections, rounds: a.rounds, warmupS: a.warmupS, durationS: a.durationS, peers: [...PEERS], cells, ratios, info };
  } finally {
    for (const p of peers) await p.stop();
  }
}

/** Portico over each other peer, round by round; a round where either turn had errors measured nothing. */
function ratiosOf(cells: CpuAbCell[], rounds: number): CpuAbRatio[] {
  const out: CpuAbRatio[] = [];
  for (const protocol of PROTOCOLS) {
    const at = (peer: string, round: number): CpuAbCell | undefined => cells.find((c) => c.protocol === protocol && c.peer === peer && c.round === round);
    for (const versus of PEERS.filter((p) => p !== 'portico')) {
      const perRound: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const [p, v] = [at('portico', round), at(versus, round)];
        if (p && v && p.errors === 0 && v.errors === 0) perRound.push(p.cpuUsPerRequest / v.cpuUsPerRequest);
      }
      out.push({ protocol, versus, perRound, median: median(perRound), min: Math.min(...perRound), max: Math.max(...perRound) });
    }
  }
  return out;
}
