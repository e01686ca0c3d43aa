// This machine is shared: other work (a test suite, a build) on the proxy's core would be charged to the proxy as
// lost throughput. So the bench waits for a quiet machine before each cell, and records how much of the proxy
// core went to processes other than the proxy during it.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { sleep } from './processes.js';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface CpuTicks {
  /** user + nice + system: time spent running tasks (interrupt time is not charged to any process either). */
  busy: number;
  total: number;
}

function readCpu(label: string): CpuTicks {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${label} `));
  if (!line) throw new Error(`/proc/stat has no ${label}`);
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0] = v;
  return { busy: user + nice + system, total: v.reduce((a, b) => a + b, 0) };
}

/** Task CPU time on `cpu` (a CPU number) in microseconds, for differencing. */
export function cpuBusyMicros(cpu: number): number {
  return (readCpu(`cpu${cpu}`).busy * 1e6) / CLK_TCK;
}

/**
 * Waits until the whole machine is below `threshold` busy over a 500 ms window, for at most `maxWaitMs`.
 * Resolves with the last observed load, so the caller can say when it measured on a busy machine anyway.
 */
export async function waitForQuiet(threshold: number, maxWaitMs: number): Promise<number> {
  const deadline = performance.now() + maxWaitMs;
  for (;;) {
    const a = readCpu('cpu');
    await sleep(500);
    const b = readCpu('cpu');
    const load = (b.busy - a.busy) / Math.max(1, b.total - a.total);
    if (load < threshold || performance.now() >= deadline) return load;
  }
}
