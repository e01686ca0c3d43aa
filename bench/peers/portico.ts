// Runs the real `bin/portico serve` on a manifest directory. Portico starts HAProxy as its child; pinning Portico
// pins that HAProxy too (HAProxy sizes its thread count from the CPUs it may run on), and the control plane shares
// the core with it, as it would share a pod's CPU limit.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { haproxyInfo } from '../lib/haproxy-cli.js';
import { startChild } from '../lib/processes.js';
import type { Child } from '../lib/processes.js';
import { httpGet } from '../lib/probes.js';
import { sleep } from '../lib/processes.js';
import { treeCpuMicros, treeRssKb } from '../lib/proc-stats.js';
import type { Peer } from './peer.js';

// dist/bench/peers/portico.js -> the repository root.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface PorticoProcess {
  child: Child;
  httpPort: number;
  httpsPort: number;
  adminPort: number;
  stateDir: string;
  /** Polls /readyz every `intervalMs`; resolves with ms since spawn. */
  waitReady(timeoutMs: number, intervalMs?: number): Promise<number>;
  haproxyRssKb(): number;
  stop(): Promise<void>;
}

/** Polls Portico's /readyz every `intervalMs`; resolves with ms since `spawnedAt`. */
export async function waitReady(child: Child, adminPort: number, spawnedAt: number, timeoutMs: number, intervalMs: number): Promise<number> {
  for (;;) {
    if (child.hasExited) throw new Error(`Portico exited before it was ready: ${child.tail()}`);
    const status = await httpGet(adminPort, '127.0.0.1', '/readyz', 1000).then(
      (r) => r.status,
      () => 0,
    );
    const elapsed = performance.now() - spawnedAt;
    if (status === 200) return elapsed;
    if (elapsed > timeoutMs) throw new Error(`Portico not ready after ${timeoutMs} ms: ${child.tail()}`);
    await sleep(intervalMs);
  }
}

export const isHaproxy = (comm: string): boolean => comm === 'haproxy';

/** `bin/portico serve` on `manifestDir`, or, without one, on whatever source `args` names (`--kubeconfig`). */
export function startPortico(o: { manifestDir?: string; stateDir: string; httpPort: number; httpsPort: number; adminPort: number; cpus?: string; args?: string[]; env?: NodeJS.ProcessEnv }): PorticoProcess {
  const args = [
    join(repoRoot, 'bin', 'portico'),
    'serve',
    ...(o.manifestDir !== undefined ? ['--manifests', o.manifestDir] : []),
    ...['--state-dir', o.stateDir, '--log-format', 'json', '--log-level', 'warn'],
    ...['--http-port', String(o.httpPort), '--https-port', String(o.httpsPort), '--admin-port', String(o.adminPort)],
    ...['--bind-address', '127.0.0.1', '--admin-bind-address', '127.0.0.1', '--shutdown-grace-period', '1'],
    ...(o.args ?? []),
  ];
  const spawnedAt = performance.now();
  const child = startChild('portico', process.execPath, args, { ...(o.cpus !== undefined ? { cpus: o.cpus } : {}), ...(o.env ? { env: o.env } : {}) });
  return {
    child,
    httpPort: o.httpPort,
    httpsPort: o.httpsPort,
    adminPort: o.adminPort,
    stateDir: o.stateDir,
    waitReady: (timeoutMs, intervalMs = 10) => waitReady(child, o.adminPort, spawnedAt, timeoutMs, intervalMs),
    haproxyRssKb: () => treeRssKb(child.pid, isHaproxy),
    stop: () => child.stop(5000),
  };
}

/** Portico as a data-plane peer: ready, and answering for `probeHost`, before it is measured. */
export async function startPorticoPeer(o: { name?: string; manifestDir: string; stateDir: string; httpPort: number; httpsPort: number; adminPort: number; cpus: string; probeHost: string; args: string[]; controlCpus?: string }): Promise<Peer> {
  const p = startPortico(o);
  await p.waitReady(120_000, 50);
  // Portico's own process (every thread of it) moved to other CPUs, HAProxy left where it started: HAProxy's CPU per
  // request is then measured at the rate it reaches alone, not at the rate Portico's share of one CPU leaves it.
  if (o.controlCpus !== undefined) execFileSync('taskset', ['-a', '-p', '-c', o.controlCpus, String(p.child.pid)], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    const r = await httpGet(o.httpPort, o.probeHost).catch(() => undefined);
    if (r?.status === 200) break;
    if (i > 600) throw new Error(`Portico does not route ${o.probeHost} (last status ${r?.status ?? 'none'})`);
    await sleep(100);
  }
  const info = await haproxyInfo(join(o.stateDir, 'haproxy.sock'));
  return {
    name: o.name ?? 'portico',
    httpPort: o.httpPort,
    httpsPort: o.httpsPort,
    h2: true,
    proxyCpuMicros: () => treeCpuMicros(p.child.pid, isHaproxy),
    proxyRssKb: () => p.haproxyRssKb(),
    controlCpuMicros: () => treeCpuMicros(p.child.pid, (c) => !isHaproxy(c)),
    info: { nbthread: Number(info.Nbthread ?? NaN), version: info.Version ?? '' },
    stop: () => p.stop(),
  };
}
