// The picture Portico is built for: several replicas behind an L4 (TCP) load balancer. The balancer here is a
// hand-written HAProxy in TCP mode on loopback that health-checks each replica's /readyz, as a cloud load balancer or
// an external router does; the request loop plays the users, on fresh and on kept-alive connections, and records
// every request, so that a test can say which ones failed, when, and on which connection.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import type { Agent as HttpAgent } from 'node:http';
import { Agent } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { waitFor } from './client.js';
import { freePort } from './ports.js';
import { manifestDir } from './portico.js';

export interface Replica {
  /** The balancer's name for the server, also how the test names the replica. */
  name: string;
  httpPort: number;
  adminPort: number;
}

export interface L4BalancerOptions {
  name: string;
  replicas: Replica[];
  /**
   * false: a connection the chosen replica refuses is closed, and the client sees the failure, as with most cloud
   * L4 load balancers, IPVS and kube-proxy, which forward a SYN and cannot take it back. true: HAProxy tries another
   * replica (`retries` with `option redispatch`), which only an L4 proxy that terminates TCP itself can do.
   */
  retryRefused: boolean;
  /** Health check: every `intervalMs`; `fall` failures in a row take a replica out, `rise` successes bring it back. */
  intervalMs?: number;
  fall?: number;
  rise?: number;
}

export interface L4Balancer {
  name: string;
  port: number;
  /** Each server's health as HAProxy reports it (`UP`, `DOWN`, `UP 1/2` while falling, ...). */
  states(): Promise<Record<string, string>>;
  /** Resolves with performance.now() at the first poll (every 10 ms) that saw `server` in `state` exactly. */
  waitState(server: string, state: 'UP' | 'DOWN', timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export async function startL4Balancer(o: L4BalancerOptions): Promise<L4Balancer> {
  const dir = await manifestDir();
  const port = await freePort('127.0.0.1');
  const stats = join(dir, 'stats.sock');
  const { intervalMs = 200, fall = 2, rise = 2 } = o;
  // Not `on-marked-down shutdown-sessions`: a replica taken out of rotation because it is draining must keep the
  // connections it has until it closes them itself, or the requests in flight on them would fail.
  const cfg = `global
  stats socket ${stats} mode 600 level admin
  maxconn 4000

defaults
  mode tcp
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout check 1s
  ${o.retryRefused ? 'retries 2\n  option redispatch 1' : 'retries 0'}

frontend ${o.name}
  bind 127.0.0.1:${port}
  default_backend replicas

backend replicas
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server check inter ${intervalMs}ms fall ${fall} rise ${rise}
${o.replicas.map((r) => `  server ${r.name} 127.0.0.1:${r.httpPort} check port ${r.adminPort}`).join('\n')}
`;
  const cfgPath = join(dir, 'balancer.cfg');
  await writeFile(cfgPath, cfg);
  const output: string[] = [];
  const proc = spawn('haproxy', ['-db', '-f', cfgPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  const keep = (b: Buffer): void => {
    output.push(...b.toString('utf8').split('\n').filter(Boolean));
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  void exited.then(() => running.delete(proc));

  const states = async (): Promise<Record<string, string>> => {
    const csv = await cli(stats, 'show stat');
    const [header, ...rows] = csv.split('\n').filter(Boolean);
    const cols = (header ?? '').replace(/^# /, '').split(',');
    const at = (name: string): number => cols.indexOf(name);
    const out: Record<string, string> = {};
    for (const row of rows) {
      const f = row.split(',');
      if (f[at('pxname')] === 'replicas' && f[at('svname')] !== 'BACKEND') out[f[at('svname')]!] = f[at('status')]!;
    }
    return out;
  };

  await waitFor(async () => proc.exitCode === null && Object.keys(await states()).length === o.replicas.length, {
    timeoutMs: 5000,
    message: () => `balancer ${o.name} did not start: ${output.join(' | ')}`,
  });

  return {
    name: o.name,
    port,
    states,
    async waitState(server, state, timeoutMs = 5000) {
      let last = '';
      let seenAt = 0;
      await waitFor(
        async () => {
          last = (await states())[server] ?? '(no such server)';
          seenAt = performance.now();
          return last === state;
        },
        { timeoutMs, intervalMs: 10, message: () => `balancer ${o.name}: ${server} never ${state} (last: ${last})` },
      );
      return seenAt;
    },
    async close() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Closes every balancer still running: for a test file's after() hook. */
export async function stopBalancers(): Promise<void> {
  await Promise.all(
    [...running].map(async (p) => {
      const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
      p.kill('SIGKILL');
      await gone;
    }),
  );
}

function cli(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    let out = '';
    s.setTimeout(2000, () => s.destroy(new Error(`${command}: no answer from ${socketPath}`)));
    s.on('data', (d: Buffer) => (out += d.toString('utf8')));
    s.once('error', reject);
    s.once('end', () => resolve(out));
    s.once('connect', () => s.write(`${command}\n`));
  });
}

/** One request of the loop, with performance.now() times. */
export interface LoopRecord {
  client: string;
  /** Which balancer the client talks to. */
  target: string;
  keepAlive: boolean;
  start: number;
  end: number;
  /** When the connection the request went out on was opened (equal to `start` on a fresh connection). */
  connOpened: number;
  ok: boolean;
  status?: number;
  /** The replica that answered, by the X-Forwarded-Port its HAProxy set (each replica has its own port). */
  replicaPort?: number;
  error?: string;
}

export interface RequestLoop {
  readonly records: LoopRecord[];
  /** Ends every client after its current request. */
  stop(): Promise<void>;
}

export interface RequestLoopOptions {
  targets: { name: string; port: number }[];
  host: string;
  /** Per target: clients that reuse one kept-alive connection (reopened when the server closes it). */
  keepAliveClients: number;
  /** Per target: clients that open a new connection for every request. */
  freshClients: number;
  /** Pause between two requests of one client. */
  pauseMs: number;
  timeoutMs?: number;
}

/**
 * Clients as users are: each sends a request, waits for the whole answer, pauses, sends the next. Node's http client
 * never retries, so every connection that breaks under a request is a failure here.
 */
export function startRequestLoop(o: RequestLoopOptions): RequestLoop {
  const records: LoopRecord[] = [];
  let stopped = false;
  const opened = new WeakMap<Socket, number>();
  const loops: Promise<void>[] = [];

  const once = (client: string, target: { name: string; port: number }, agent: HttpAgent | false): Promise<void> =>
    new Promise((resolve) => {
      const start = performance.now();
      const rec: LoopRecord = { client, target: target.name, keepAlive: agent !== false, start, end: 0, connOpened: start, ok: false };
      const done = (fields: Partial<LoopRecord>): void => {
        if (rec.end !== 0) return;
        Object.assign(rec, fields, { end: performance.now() });
        records.push(rec);
        resolve();
      };
      const req = request({ host: '127.0.0.1', port: target.port, path: '/', headers: { host: o.host }, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => done({ error: `response: ${e.message}` }));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let replicaPort: number | undefined;
          try {
            replicaPort = Number((JSON.parse(body) as { headers: Record<string, string> }).headers['x-forwarded-port']);
          } catch {
            // Not the echo pod's answer: the status says what happened.
          }
          done({ ok: res.statusCode === 200 && replicaPort !== undefined, status: res.statusCode, replicaPort, ...(res.statusCode === 200 ? {} : { error: `status ${res.statusCode}: ${body.slice(0, 100)}` }) });
        });
      });
      req.on('socket', (s: Socket) => {
        if (!opened.has(s)) opened.set(s, performance.now());
        rec.connOpened = opened.get(s)!;
      });
      req.setTimeout(o.timeoutMs ?? 5000, () => req.destroy(new Error('timed out')));
      req.on('error', (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message }));
      req.end();
    });

  for (const target of o.targets) {
    const clients: { name: string; agent: HttpAgent | false }[] = [
      ...Array.from({ length: o.keepAliveClients }, (_, i) => ({ name: `${target.name}-keepalive-${i + 1}`, agent: new Agent({ keepAlive: true, maxSockets: 1 }) })),
      ...Array.from({ length: o.freshClients }, (_, i) => ({ name: `${target.name}-fresh-${i + 1}`, agent: false as const })),
    ];
    for (const c of clients) {
      loops.push(
        (async () => {
          while (!stopped) {
            await once(c.name, target, c.agent);
            await new Promise((r) => setTimeout(r, o.pauseMs));
          }
          if (c.agent) c.agent.destroy();
        })(),
      );
    }
  }
  return {
    records,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}
