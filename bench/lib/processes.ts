// Every child the bench starts goes through here, in a process group of its own, so that cleanup can take down
// what the child itself started (Portico's HAProxy, nginx's workers) even when the bench is interrupted.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** The last lines of stdout and stderr, for error messages. */
  tail(): string;
  readonly exited: Promise<number | null>;
  readonly hasExited: boolean;
  /** SIGTERM to the group, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  /** Pin to this CPU set (taskset -c) from the first instruction, so children inherit it. */
  cpus?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with each stdout chunk (wrk and h2load results are read from here). */
  onStdout?: (chunk: string) => void;
}

const TAIL_CHARS = 4000;
const live = new Set<Child>();

export function startChild(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Child {
  const [file, argv] = opts.cpus !== undefined ? ['taskset', ['-c', opts.cpus, cmd, ...args]] : [cmd, args];
  const proc = spawn(file, argv, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  let out = '';
  const keep = (s: string): void => {
    out = (out + s).slice(-TAIL_CHARS);
  };
  proc.stdout.setEncoding('utf8').on('data', (s: string) => {
    keep(s);
    opts.onStdout?.(s);
  });
  proc.stderr.setEncoding('utf8').on('data', keep);
  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => {
      done = true;
      resolve(code);
    });
    proc.once('error', (e) => {
      keep(`spawn error: ${e.message}\n`);
      done = true;
      resolve(null);
    });
  });
  const pid = proc.pid;
  const child: Child = {
    name,
    proc,
    pid,
    tail: () => out,
    exited,
    get hasExited() {
      return done;
    },
    async stop(graceMs = 5000) {
      live.delete(child);
      killGroup(pid, 'SIGTERM');
      await Promise.race([exited, sleep(graceMs)]);
      // The leader can exit before the rest of its group (HAProxy's old workers), so the group always gets a KILL.
      killGroup(pid, 'SIGKILL');
    },
  };
  live.add(child);
  return child;
}

/** Runs to completion; rejects on a non-zero exit with the output's tail. */
export async function runChild(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Promise<string> {
  let stdout = '';
  const child = startChild(name, cmd, args, { ...opts, onStdout: (s) => (stdout += s) });
  const code = await child.exited;
  live.delete(child);
  killGroup(child.pid, 'SIGKILL');
  if (code !== 0) throw new Error(`${name} exited with ${code}: ${child.tail()}`);
  return stdout;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop(3000)));
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

let hooked = false;

/** Interrupts and crashes must not leave proxies running: kill every group on the way out. */
export function installCleanupHandlers(onSignal: () => Promise<void>): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) killGroup(c.pid, 'SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping child processes\n`);
      // Children first: they may still be writing into the directories onSignal removes.
      void stopAll()
        .then(onSignal)
        .catch(() => undefined)
        .finally(() => process.exit(130));
    });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
