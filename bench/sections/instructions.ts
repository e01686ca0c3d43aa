// Instructions HAProxy executes per request, counted by valgrind's callgrind: the same count on every run, where CPU
// time on this shared machine swings by tens of percent between runs. It answers what the data-plane ratio cannot:
// how much of Portico's cost over the minimal hand-written HAProxy is the headers every Ingress controller adds
// (spec rule X9), and how much is Portico's own routing. The four configurations differ in nothing else.
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { startChild } from '../lib/processes.js';
import { httpGet, waitForPort } from '../lib/probes.js';
import { treeCpuMicros, treeUserCpuMicros } from '../lib/proc-stats.js';
import { freePort } from '../../test/e2e/harness/ports.js';
import { runWrk, writeWrkScript } from '../load/wrk.js';
import { fleetHost, writeFleet } from '../manifests/fleet.js';
import { ORIGIN_ADDRESSES } from '../peers/backend.js';
import { writeHandwrittenConfig } from '../peers/haproxy-handwritten.js';
import { startPortico } from '../peers/portico.js';
import type { Routes } from '../peers/routes.js';
import type { InstructionsResult, InstructionsRow } from '../report/types.js';
import { RATIO_TARGET } from './data-plane.js';
import type { Context as DataPlaneContext } from './data-plane.js';

/** What the data-plane section gets, less the peer table this section does not fill. */
type Context = Omit<DataPlaneContext, 'peerInfo'>;

/** The headers rule X9 requires, in the cheapest form a hand-written configuration can give them. */
const X9_REQUIRED = (httpPort: number): string[] => [
  'option forwardfor',
  'http-request set-header X-Forwarded-Proto http',
  'http-request set-header X-Forwarded-Host %[req.hdr(host)]',
  `http-request set-header X-Forwarded-Port ${httpPort}`,
];
/** The two X9 leaves optional and Portico sends, as ingress-nginx does. */
const X9_OPTIONAL = ['http-request set-header X-Real-IP %[src]', 'http-request set-header X-Request-ID %[rand,hex,bytes(8,8),lower]%[rand,hex,bytes(8,8),lower]%[rand,hex,bytes(8,8),lower]%[rand,hex,bytes(8,8),lower] unless { req.hdr(x-request-id) -m found }'];

export function valgrindAvailable(): boolean {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function runInstructions(ctx: Context): Promise<InstructionsResult> {
  const dir = join(ctx.workDir, 'instructions');
  await mkdir(dir, { recursive: true });
  const host = fleetHost(0);
  const routes: Routes = { hosts: [host], origins: ORIGIN_ADDRESSES.map((a) => `${a}:${ctx.backend.port}`) };
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const handwritten = async (name: string, frontendExtras: string[]): Promise<string> => {
    const sub = join(dir, name);
    await mkdir(sub, { recursive: true });
    return (await writeHandwrittenConfig({ dir: sub, routes, cert: ctx.cert, httpPort, httpsPort, frontendExtras })).file;
  };
  const configs: [InstructionsRow['config'], string][] = [
    ['haproxy', await handwritten('minimal', [])],
    ['haproxy + X9 required headers', await handwritten('x9', X9_REQUIRED(httpPort))],
    ['haproxy + the headers Portico sends', await handwritten('x9-all', [...X9_REQUIRED(httpPort), ...X9_OPTIONAL])],
    ['portico', await porticoConfig(ctx, dir, httpPort, httpsPort)],
  ];
  const [few, many] = ctx.s.instructions.requests;
  const rows: InstructionsRow[] = [];
  for (const [config, file] of configs) {
    ctx.log(`instructions: ${config}`);
    const a = await countInstructions(file, httpPort, host, few, join(dir, `${rows.length}-few.callgrind`));
    const b = await countInstructions(file, httpPort, host, many, join(dir, `${rows.length}-many.callgrind`));
    // The difference leaves out start-up (parsing, certificates) and shutdown: what remains is per request.
    rows.push({ config, perRequest: (b - a) / (many - few) });
  }
  const userShare = await handwrittenUserShare(ctx, configs[0]![1], httpPort, host, dir);
  const base = rows[0]!.perRequest;
  for (const r of rows) {
    r.ratio = r.perRequest / base;
    r.impliedThroughputRatio = 1 / (userShare * r.ratio + (1 - userShare));
  }
  ctx.log(`instructions: ${rows.map((r) => `${r.config} ${Math.round(r.perRequest)}`).join(', ')}; hand-written user share ${(userShare * 100).toFixed(0)}%`);
  return { rows, userShare, target: RATIO_TARGET };
}

/** The configuration Portico generates for one Ingress, with its maps and certificates, run without Portico. */
async function porticoConfig(ctx: Context, dir: string, httpPort: number, httpsPort: number): Promise<string> {
  const manifestDir = join(dir, 'portico-manifests');
  const stateDir = join(dir, 'portico-state');
  await writeFleet(manifestDir, { count: 1, addresses: () => ORIGIN_ADDRESSES, port: ctx.backend.port });
  const p = startPortico({ manifestDir, stateDir, httpPort, httpsPort, adminPort: await freePort() });
  try {
    await p.waitReady(60_000, 50);
  } finally {
    await p.stop();
  }
  // The maps and certificates stay where the configuration points (a given --state-dir is not removed); only the
  // master process goes, since callgrind follows one process.
  const cfg = (await readFile(join(stateDir, 'haproxy.cfg'), 'utf8')).replace(/^ {2}master-worker\n/m, '');
  const file = join(dir, 'portico.cfg');
  await writeFile(file, cfg);
  return file;
}

/** Instructions HAProxy executes from start to exit, serving `n` GETs one after another on one connection. */
async function countInstructions(cfg: string, port: number, host: string, n: number, out: string): Promise<number> {
  const child = startChild('callgrind-haproxy', 'valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, 'haproxy', '-db', '-f', cfg]);
  try {
    await waitForPort(port, 180_000, 'HAProxy under valgrind', '127.0.0.1', child);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < n; i++) {
        const { status } = await httpGet(port, host, '/', 30_000, '127.0.0.1', agent);
        if (status !== 200) throw new Error(`GET ${host}/ answered ${status} (request ${i + 1} of ${n})`);
      }
    } finally {
      agent.destroy();
    }
    // Soft stop: HAProxy exits on its own once the connection is gone, and callgrind writes its counts.
    process.kill(child.pid, 'SIGUSR1');
    await child.exited;
  } finally {
    await child.stop();
  }
  const m = /^(?:summary|totals): (\d+)/m.exec(await readFile(out, 'utf8'));
  if (!m) throw new Error(`no instruction total in ${out}`);
  return Number(m[1]);
}

/** Share of the hand-written HAProxy's CPU time spent in user space under load: the part a configuration changes. */
async function handwrittenUserShare(ctx: Context, cfg: string, port: number, host: string, dir: string): Promise<number> {
  const child = startChild('haproxy-user-share', 'haproxy', ['-db', '-f', cfg], { cpus: ctx.s.proxyCpus });
  try {
    await waitForPort(port, 60_000, 'hand-written HAProxy', '127.0.0.1', child);
    const script = await writeWrkScript(dir, 'one-host', [host]);
    const url = `http://127.0.0.1:${port}/`;
    const d = ctx.s.dataPlane;
    await runWrk({ url, script, connections: 64, durationS: d.warmupS, cpus: ctx.s.loadCpus });
    const [all0, user0] = [treeCpuMicros(child.pid), treeUserCpuMicros(child.pid)];
    await runWrk({ url, script, connections: 64, durationS: d.durationS, cpus: ctx.s.loadCpus });
    return (treeUserCpuMicros(child.pid) - user0) / (treeCpuMicros(child.pid) - all0);
  } finally {
    await child.stop();
  }
}
