// npm run bench [-- --quick] [-- --only data-plane,convergence,scale]
// Runs the sections in one process, on this machine, and writes bench/results/. Exits 1 if a section failed to
// run (a missed target is a result, not a failure).
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { valgrindAvailable } from './lib/callgrind.js';
import { makeCert } from './lib/certs.js';
import { freePort } from '../test/e2e/harness/ports.js';
import { installCleanupHandlers, stopAll } from './lib/processes.js';
import { startBackend } from './peers/backend.js';
import type { Backend } from './peers/backend.js';
import { writeResults } from './report/write.js';
import type { Results } from './report/types.js';
import { runConvergence } from './sections/convergence.js';
import { runConvergenceApi } from './sections/convergence-api.js';
import { runDataPlane } from './sections/data-plane.js';
import { runCpuAb } from './sections/cpu-ab.js';
import { runInstructions } from './sections/instructions.js';
import { runScale } from './sections/scale.js';
import { settings } from './settings.js';

const SECTIONS = ['scale', 'convergence', 'data-plane', 'cpu-ab', 'instructions'] as const;
type Section = (typeof SECTIONS)[number];

function parseArgs(argv: string[]): { quick: boolean; only: Section[] } {
  let quick = process.env.BENCH_QUICK === '1';
  let only: Section[] = [...SECTIONS];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const list = a === '--only' ? (argv[++i] ?? '') : a.slice('--only='.length);
      only = list.split(',').map((s) => {
        if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`unknown section ${s}; sections: ${SECTIONS.join(', ')}`);
        return s as Section;
      });
    } else throw new Error(`unknown argument ${a}; usage: run.js [--quick] [--only ${SECTIONS.join(',')}]`);
  }
  return { quick, only };
}

function firstLine(cmd: string, args: string[]): string {
  try {
    // nginx -v writes to stderr.
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0] ?? '';
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? '').split('\n')[0] ?? '';
  }
}

function machine(): Results['machine'] {
  const commit = firstLine('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = firstLine('git', ['status', '--porcelain', '--untracked-files=no']) !== '' ? '+dirty' : '';
  const nginx = execFileSync('sh', ['-c', 'nginx -v 2>&1'], { encoding: 'utf8' }).trim();
  return { cpus: cpus().length, kernel: release(), node: process.version, haproxy: firstLine('haproxy', ['-v']).replace(/ - https.*/, ''), nginx, commit: commit + dirty };
}

async function main(): Promise<number> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  const s = settings(quick);
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const log = (line: string): void => {
    process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  };
  const workDir = await mkdtemp(join(tmpdir(), 'portico-bench-'));
  const keep = process.env.BENCH_KEEP === '1';
  installCleanupHandlers(async () => {
    if (!keep) await rm(workDir, { recursive: true, force: true });
  });
  const results: Results = { startedAt, finishedAt: '', mode: quick ? 'quick' : 'full', machine: machine(), peers: {}, dataPlane: [], convergence: [], scale: [], notes: [] };
  let failed = false;
  let backend: Backend | undefined;
  try {
    if (only.some((x) => x !== 'scale')) backend = await startBackend(workDir, await freePort(), s.loadCpus);
    for (const section of only) {
      log(`section ${section}`);
      try {
        if (section === 'scale') results.scale = await runScale({ s, workDir, log });
        if (section === 'convergence') {
          results.convergence = await runConvergence({ s, workDir, backend: backend!, log });
          // The file rows are kept even if the API part fails to run.
          results.convergence.push(...(await runConvergenceApi({ s, workDir, backend: backend!, log })));
        }
        if (section === 'data-plane') {
          const cert = makeCert(workDir, 'proxy', ['bench.example', '*.bench.example']);
          await runDataPlane({ s, workDir, backend: backend!, cert, log, peerInfo: results.peers }, results.dataPlane);
        }
        if (section === 'cpu-ab') results.cpuAb = await runCpuAb({ s, workDir, backend: backend!, cert: makeCert(workDir, 'cpu-ab', ['bench.example', '*.bench.example']), log });
        if (section === 'instructions') {
          if (valgrindAvailable()) results.instructions = await runInstructions({ s, workDir, backend: backend!, cert: makeCert(workDir, 'instructions', ['bench.example']), log });
          else results.notes.push('instructions section skipped: valgrind is not installed (apt-get install -y valgrind)');
        }
      } catch (e) {
        failed = true;
        const msg = `section ${section} failed: ${(e as Error).stack ?? String(e)}`;
        log(msg);
        results.notes.push(msg.split('\n')[0]!);
      }
    }
  } finally {
    await backend?.child.stop();
    await stopAll();
    if (!keep) await rm(workDir, { recursive: true, force: true });
  }
  results.notes.push(...consistencyNotes(results));
  results.finishedAt = new Date().toISOString();
  results.notes.push(`run time ${((performance.now() - t0) / 60_000).toFixed(1)} min`);
  const out = await writeResults(results, !quick && only.length === SECTIONS.length);
  process.stdout.write(out.markdown);
  log(`wrote ${out.json} and ${out.md}${!quick && only.length === SECTIONS.length ? ' and latest.md' : ' (a quick or partial run: latest.md left as it was)'}`);
  return failed ? 1 : 0;
}

/** Things that would make a comparison unfair or a cell meaningless, said out loud in the report. */
function consistencyNotes(r: Results): string[] {
  const notes: string[] = [];
  for (const [key, info] of Object.entries(r.peers)) {
    const scale = key.split('@')[1];
    const ref = r.peers[`haproxy@${scale}`];
    if (key.startsWith('portico@') && ref && info.nbthread !== ref.nbthread) notes.push(`thread counts differ at ${scale}: Portico's HAProxy ${info.nbthread}, hand-written ${ref.nbthread}`);
  }
  const ab = r.cpuAb?.info;
  if (ab?.portico && ab['haproxy-same-work'] && ab.portico.nbthread !== ab['haproxy-same-work'].nbthread) notes.push(`thread counts differ in the CPU a/b rounds: Portico's HAProxy ${ab.portico.nbthread}, hand-written ${ab['haproxy-same-work'].nbthread}`);
  const busy = r.dataPlane.filter((d) => d.otherLoadOnProxyCore > 0.05);
  if (busy.length > 0) notes.push(`cells where other processes took more than 5% of the proxy core (less trustworthy): ${busy.map((d) => `${d.peer} ${d.scale}/${d.protocol}/c${d.connections}: ${(d.otherLoadOnProxyCore * 100).toFixed(0)}%`).join('; ')}`);
  const bad = r.dataPlane.filter((d) => d.errors > 0);
  if (bad.length > 0) notes.push(`cells with errors (not valid measurements): ${bad.map((d) => `${d.peer} ${d.scale}/${d.protocol}/c${d.connections}: ${d.errors}`).join('; ')}`);
  return notes;
}

main().then(
  (code) => process.exit(code),
  async (e: unknown) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
    await stopAll();
    process.exit(2);
  },
);
