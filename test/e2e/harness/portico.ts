// Runs the real `bin/portico serve` as a child process. Portico starts HAProxy as its own child, so each Portico is
// spawned in a process group of its own: cleanup can then kill HAProxy too even if Portico leaked it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { httpGet } from './client.js';
import { freePort } from './ports.js';

/** One parsed JSON log line. */
export type LogLine = Record<string, unknown>;

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface PorticoOptions {
  /** Files or directories, each passed as --manifests. */
  manifests: string | string[];
  /** Extra command-line arguments, placed last so they can override the harness's own. */
  args?: string[];
  httpPort?: number;
  httpsPort?: number;
  adminPort?: number;
  /** Default: a fresh temporary directory. */
  stateDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Run Portico (and so HAProxy) as this user instead of the test's (root ignores file permissions). */
  user?: { uid: number; gid: number };
}

export interface Portico {
  httpPort: number;
  httpsPort: number;
  adminPort: number;
  stateDir: string;
  proc: ChildProcess;
  /** Everything written to stdout and stderr so far: raw lines, and the lines that were JSON objects. */
  logs: { lines: string[]; entries: LogLine[] };
  /** Set once the process has exited. */
  readonly exit: ExitResult | null;
  /** The first log entry, past or future, matching `predicate`. */
  waitForLog(predicate: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves once /readyz answers 200; rejects if that takes too long or the process exits first. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Sends `signal` to Portico alone (its shutdown is what is under test) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<ExitResult>;
}

const STOP_TIMEOUT_MS = 20_000;
const TAIL_LINES = 30;

// dist/test/e2e/harness/portico.js -> the repository root.
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

const running = new Set<Portico>();
const tempDirs = new Set<string>();
const keepTemp = process.env.PORTICO_E2E_KEEP === '1';
const verbose = process.env.PORTICO_E2E_VERBOSE === '1';

// Detached children do not die with us. If a test file crashes or forgets stopAll(), still take them down, and
// remove our temporary directories (unless PORTICO_E2E_KEEP=1, for looking at them after a failure).
process.on('exit', () => {
  for (const p of running) {
    try {
      killGroup(p.proc, 'SIGKILL');
    } catch {
      // Nothing more can be done while exiting.
    }
  }
  // A throw here would not end the process: the test runner's uncaughtException handler would keep it alive.
  if (!keepTemp) {
    for (const d of tempDirs) {
      try {
        rmSync(d, { recursive: true, force: true });
      } catch {
        // Leave it: exiting matters more.
      }
    }
  }
});
// The test runner stops a file that overran --test-timeout with a signal, and 'exit' handlers do not run then: the
// detached Porticos would outlive the run. Take them down first.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    for (const p of running) {
      try {
        killGroup(p.proc, 'SIGKILL');
      } catch {
        // Nothing more can be done while exiting.
      }
    }
    process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
  });
}

export async function startPortico(opts: PorticoOptions): Promise<Portico> {
  const bin = join(repoRoot, 'bin', 'portico');
  if (!existsSync(bin)) throw new Error(`startPortico: ${bin} not found; is the harness running from dist/test/e2e/harness/?`);
  // Portico binds its listeners on every address, so the ports must be free on every address, not just loopback.
  const httpPort = opts.httpPort ?? (await freePort('0.0.0.0'));
  const httpsPort = opts.httpsPort ?? (await freePort('0.0.0.0'));
  const adminPort = opts.adminPort ?? (await freePort('0.0.0.0'));
  const stateDir = opts.stateDir ?? (await tempDir('portico-e2e-state-'));
  const manifests = typeof opts.manifests === 'string' ? [opts.manifests] : opts.manifests;
  const args = [
    bin,
    'serve',
    ...manifests.flatMap((m) => ['--manifests', m]),
    ...['--http-port', String(httpPort), '--https-port', String(httpsPort), '--admin-port', String(adminPort)],
    ...['--state-dir', stateDir, '--log-format', 'json'],
    ...(opts.args ?? []),
  ];
  const proc = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, ...(opts.user ?? {}) });

  const lines: string[] = [];
  const entries: LogLine[] = [];
  const watchers = new Set<{ predicate: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  const tail = (): string => `last ${TAIL_LINES} log lines of Portico (pid ${proc.pid ?? '?'}):\n${lines.slice(-TAIL_LINES).join('\n')}`;

  const onLine = (line: string): void => {
    lines.push(line);
    if (verbose) process.stderr.write(`[portico :${httpPort}] ${line}\n`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return;
    const entry = parsed as LogLine;
    entries.push(entry);
    for (const w of watchers) {
      if (w.predicate(entry)) {
        watchers.delete(w);
        w.resolve(entry);
      }
    }
  };
  createInterface({ input: proc.stdout }).on('line', onLine);
  createInterface({ input: proc.stderr }).on('line', onLine);

  let exit: ExitResult | null = null;
  const exited = new Promise<ExitResult>((resolve) => {
    proc.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  // A failed spawn emits 'error' and never 'exit'; record it as an exit so that waits end promptly.
  proc.once('error', (e) => {
    lines.push(`spawn error: ${e.message}`);
    exit ??= { code: null, signal: null };
  });

  let stopping: Promise<ExitResult> | undefined;
  const stopProcess = async (signal: NodeJS.Signals): Promise<ExitResult> => {
    if (exit) return exit;
    proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
    });
    const result = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      killGroup(proc, 'SIGKILL');
      throw new Error(`Portico did not exit within ${STOP_TIMEOUT_MS} ms of ${signal}; killed its process group; ${tail()}`);
    }
    return result;
  };

  const portico: Portico = {
    httpPort,
    httpsPort,
    adminPort,
    stateDir,
    proc,
    logs: { lines, entries },
    get exit() {
      return exit;
    },

    waitForLog(predicate, timeoutMs = 5000) {
      const past = entries.find(predicate);
      if (past) return Promise.resolve(past);
      return new Promise((resolve, reject) => {
        const w = {
          predicate,
          resolve: (l: LogLine) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        const timer = setTimeout(() => {
          watchers.delete(w);
          reject(new Error(`waitForLog: no matching log line within ${timeoutMs} ms; ${tail()}`));
        }, timeoutMs);
        watchers.add(w);
      });
    },

    async waitReady(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (exit) throw new Error(`Portico exited (code ${exit.code}, signal ${exit.signal}) before it was ready; ${tail()}`);
        const status = await httpGet(adminPort, { path: '/readyz', timeoutMs: 2000 }).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200) return;
        if (Date.now() >= deadline) throw new Error(`Portico not ready within ${timeoutMs} ms (last /readyz: ${status || 'no answer'}); ${tail()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },

    stop(signal = 'SIGTERM') {
      // A second signal could mean "hurry up" to Portico; a stop already under way is joined instead.
      stopping ??= stopProcess(signal);
      return stopping;
    },
  };

  running.add(portico);
  return portico;
}

/**
 * Stops every Portico this process started (SIGTERM, then the stop timeout), then SIGKILLs each process group so a
 * leaked HAProxy cannot outlive the test file. For a file's final after() hook. Rejects if any stop failed.
 */
export async function stopAll(): Promise<void> {
  const all = [...running];
  running.clear();
  const results = await Promise.allSettled(all.map((p) => p.stop()));
  for (const p of all) killGroup(p.proc, 'SIGKILL');
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length > 0) throw new AggregateError(errors, `stopAll: ${errors.length} Portico(s) did not stop cleanly`);
}

/** A fresh temporary directory for manifests, removed when the test process exits. */
export function manifestDir(): Promise<string> {
  return tempDir('portico-e2e-');
}

let tmpCounter = 0;

/**
 * Writes `dir/name` (subdirectories created) atomically: Portico watches the directory, and must never read a
 * half-written file. The temporary name starts with a dot and ends in .tmp so Portico ignores it.
 */
export async function writeManifest(dir: string, name: string, text: string): Promise<string> {
  const target = join(dir, name);
  await mkdir(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${++tmpCounter}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, target);
  return target;
}

export async function removeManifest(dir: string, name: string): Promise<void> {
  await rm(join(dir, name));
}

async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.pid === undefined) return;
  try {
    process.kill(-proc.pid, signal);
  } catch (e) {
    // ESRCH: the group is already empty, which is the normal case after a clean stop.
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}
