// What the machine gives Portico: the CPUs HAProxy may use, and whether IPv6 sockets can be opened.
import { readFileSync } from 'node:fs';
import { createServer, isIP } from 'node:net';
import { availableParallelism } from 'node:os';

/**
 * HAProxy threads for this process: the CPU limit of its cgroup (a pod's `resources.limits.cpu`), rounded up, and
 * never more than the CPUs it may run on. HAProxy's own default is every CPU of the node, which on a 64-core node
 * with a 2-CPU limit means 64 threads throttled by the quota.
 */
export function threadsForCpuLimit(read: (path: string) => string | undefined = readText): number {
  const cpus = availableParallelism();
  const quota = cgroupCpuLimit(read);
  return quota === undefined ? cpus : Math.max(1, Math.min(cpus, Math.ceil(quota)));
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The smallest CPU quota (in CPUs) on the way from this process's cgroup to the root, cgroup v2 or v1. */
export function cgroupCpuLimit(read: (path: string) => string | undefined): number | undefined {
  const self = read('/proc/self/cgroup') ?? '';
  let limit: number | undefined;
  const take = (n: number | undefined): void => {
    if (n !== undefined && n > 0 && (limit === undefined || n < limit)) limit = n;
  };
  for (const line of self.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined) continue;
    if (controllers === '') {
      // v2: "max 100000" or "200000 100000".
      for (const dir of ancestors('/sys/fs/cgroup', path)) {
        const [q, p] = (read(`${dir}/cpu.max`) ?? '').trim().split(/\s+/);
        if (q && p && q !== 'max') take(Number(q) / Number(p));
      }
    } else if (controllers!.split(',').includes('cpu')) {
      // v1: the hierarchy is mounted under the controllers' names; quota -1 means none.
      for (const mount of [`/sys/fs/cgroup/${controllers}`, '/sys/fs/cgroup/cpu']) {
        for (const dir of ancestors(mount, path)) {
          const q = Number((read(`${dir}/cpu.cfs_quota_us`) ?? '').trim());
          const p = Number((read(`${dir}/cpu.cfs_period_us`) ?? '').trim());
          if (q > 0 && p > 0) take(q / p);
        }
      }
    }
  }
  return limit;
}

/** `root/a/b`, `root/a`, `root`: in a container the path is `/`, outside one the process's own cgroup. */
function ancestors(root: string, path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = parts.length; i >= 0; i--) out.push([root, ...parts.slice(0, i)].join('/'));
  return out;
}

/** Whether a dual-stack listener (`[::]` taking IPv4 too) can be opened: false where IPv6 is disabled. */
export function ipv6Available(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '::', port: 0, ipv6Only: false }, () => s.close(() => resolve(true)));
  });
}

/** The nameservers of a resolv.conf text, as `ip:53` (what `auto` DNS means; a pod's file names the cluster DNS). */
export function resolvConfNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)\s*$/.exec(line);
    // A link-local IPv6 address with a zone (fe80::1%eth0) cannot be written into HAProxy's configuration.
    if (m && isIP(m[1]!) !== 0) out.push(`${m[1]}:53`);
  }
  return out;
}

export function systemNameservers(): string[] {
  return resolvConfNameservers(readText('/etc/resolv.conf') ?? '');
}
