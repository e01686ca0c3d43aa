// CPU time and memory from /proc, summed over process trees: HAProxy and nginx do their work in children of the
// process we started, and Portico's HAProxy is a grandchild.
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface Stat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
  /** utime alone: user space, where a proxy's configuration shows (the kernel's part is the same for all). */
  userTicks: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm is in parentheses and may contain spaces: split after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  // Fields from 3 on (state is field 3): ppid is 4, utime 14, stime 15.
  return { pid, comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), userTicks: Number(f[11]) };
}

function allStats(): Stat[] {
  const out: Stat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** `root` and every descendant, with their command names. */
export function processTree(root: number): Stat[] {
  const stats = allStats();
  const byParent = new Map<number, Stat[]>();
  for (const s of stats) byParent.set(s.ppid, [...(byParent.get(s.ppid) ?? []), s]);
  const rootStat = stats.find((s) => s.pid === root);
  if (!rootStat) return [];
  const out: Stat[] = [];
  const queue = [rootStat];
  while (queue.length > 0) {
    const s = queue.shift()!;
    out.push(s);
    queue.push(...(byParent.get(s.pid) ?? []));
  }
  return out;
}

/** Summed CPU time in microseconds of the processes in `root`'s tree whose command passes `filter`. */
export function treeCpuMicros(root: number, filter: (comm: string) => boolean = () => true): number {
  return processTree(root)
    .filter((s) => filter(s.comm))
    .reduce((sum, s) => sum + (s.ticks * 1e6) / CLK_TCK, 0);
}

/** Summed user-space CPU time in microseconds of `root`'s tree. */
export function treeUserCpuMicros(root: number): number {
  return processTree(root).reduce((sum, s) => sum + (s.userTicks * 1e6) / CLK_TCK, 0);
}

/** Pids in `root`'s tree whose command passes `filter`. */
export function treePids(root: number, filter: (comm: string) => boolean = () => true): number[] {
  return processTree(root)
    .filter((s) => filter(s.comm))
    .map((s) => s.pid);
}

/** A field of /proc/PID/status in kB (VmRSS, VmHWM), 0 when the process is gone. */
export function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function treeRssKb(root: number, filter: (comm: string) => boolean = () => true): number {
  return treePids(root, filter).reduce((sum, pid) => sum + statusKb(pid, 'VmRSS'), 0);
}
