// Instructions HAProxy executes per request, counted by valgrind's callgrind: unlike CPU time on this shared machine,
// the count hardly moves from run to run. Shared by the bench's instructions section and the CI guard
// test/perf/instructions.test.ts, so that the number the test holds to a baseline is the number the bench reports.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { startChild } from './processes.js';
import { httpGet, waitForPort } from './probes.js';

export function valgrindAvailable(): boolean {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface CountOptions {
  /** An HAProxy configuration without master-worker: callgrind follows the one process it starts. */
  cfg: string;
  /** The plain HTTP listener of `cfg`, on 127.0.0.1. */
  port: number;
  host: string;
  /** Callgrind's output file; the total is read back from it. */
  outFile: string;
  /** A new connection for every request (each says `Connection: close`) instead of one kept-alive connection: what
   * per-connection rules (accept-time tracking) cost shows only here. */
  connectionPerRequest?: boolean;
  /** The status every request must get (200 unless the route answers itself, a redirect say). */
  expectStatus?: number;
  /** Read the access log's ring while counting (`show events <ring> -w` on the stats socket), as Portico does. */
  readRing?: boolean;
}

/**
 * Where the counting client connects from. Not 127.0.0.1: Portico exempts that address (its own listener probes) from
 * per-client connection tracking, and a real client is tracked.
 */
export const CLIENT_ADDRESS = '127.0.0.9';

/**
 * The CPU HAProxy is pinned to while counted: HAProxy starts a thread per CPU it may run on, and is counted, as it is
 * measured in the data-plane section, with one thread, which does the work of a request and nothing else.
 */
export function countingCpu(): string {
  const m = /^Cpus_allowed_list:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m?.[1] ?? '0';
}

/**
 * Instructions HAProxy executes in its event loop while it serves `requests` GETs one after another, and until it
 * exits. Start-up is not counted: it does not cancel out between two runs, because it draws random numbers whose
 * values decide how much work it does (the DH key of `tune.ssl.default-dh-param`: a random exponent that is shorter
 * about one start in ten, 4.2 million instructions fewer, which moved a count over 1,000 requests by up to 13%).
 */
export async function countInstructions(o: CountOptions & { requests: number }): Promise<number> {
  const args = ['--tool=callgrind', '--toggle-collect=run_poll_loop', `--callgrind-out-file=${o.outFile}`, 'haproxy', '-db', '-f', o.cfg];
  const child = startChild('callgrind-haproxy', 'valgrind', args, { cpus: countingCpu() });
  let ring: RingSession | undefined;
  try {
    await waitForPort(o.port, 180_000, 'HAProxy under valgrind', '127.0.0.1', child);
    if (o.readRing === true) ring = readRing(readFileSync(o.cfg, 'utf8'));
    const agent = new Agent({ keepAlive: o.connectionPerRequest !== true, maxSockets: 1, localAddress: CLIENT_ADDRESS });
    try {
      for (let i = 0; i < o.requests; i++) {
        const { status } = await httpGet(o.port, o.host, '/', 30_000, '127.0.0.1', agent);
        if (status !== (o.expectStatus ?? 200)) throw new Error(`GET ${o.host}/ answered ${status} (request ${i + 1} of ${o.requests})`);
      }
    } finally {
      agent.destroy();
    }
    // Every line reached the reader (it read as the requests went), and its session is closed: it would hold HAProxy.
    if (ring) await ring.close(o.requests);
    // Soft stop: HAProxy exits on its own once the connection is gone, and callgrind writes its counts.
    process.kill(child.pid, 'SIGUSR1');
    await child.exited;
  } finally {
    ring?.sock.destroy();
    await child.stop();
  }
  const m = /^(?:summary|totals): (\d+)/m.exec(await readFile(o.outFile, 'utf8'));
  if (!m) throw new Error(`no instruction total in ${o.outFile}`);
  const total = Number(m[1]);
  // An HAProxy build without the run_poll_loop symbol would be counted as doing nothing at all, and pass any limit.
  if (total < o.requests * 1000) throw new Error(`callgrind counted ${total} instructions for ${o.requests} requests: does this HAProxy export run_poll_loop (nm -D)?`);
  return total;
}

interface RingSession {
  sock: Socket;
  /** Waits until `lines` request lines arrived, then ends the session. */
  close(lines: number): Promise<void>;
}

/**
 * A reader on the access log's ring, as Portico runs one: HAProxy's work of handing each line to it (the `show events
 * -w` session waking, copying, sending) is part of what a request costs. Requests one after another are its worst
 * case, a wake-up per line; under load it hands over dozens of lines a wake-up, and the count moves with how the
 * wake-ups fall (3% between counts), so the CI guard counts without it.
 */
function readRing(cfg: string): RingSession | undefined {
  const ring = /^ {2}log ring@(\S+) /m.exec(cfg)?.[1];
  const socket = /^ {2}stats socket (\S+) /m.exec(cfg)?.[1];
  if (ring === undefined || socket === undefined) return undefined;
  let sock: Socket;
  let lines = 0;
  let failure = '';
  // The stats socket is bound with the listeners, but may answer a moment after the HTTP port: a refused connect is
  // tried again.
  const connect = (attempt: number): void => {
    sock = createConnection(socket);
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => (lines += chunk.split('\n').length - 1));
    sock.on('error', (e) => {
      failure = e.message;
      if (attempt < 50 && lines === 0) setTimeout(() => connect(attempt + 1), 100);
    });
    sock.write(`show events ${ring} -w\n`);
  };
  connect(0);
  return {
    get sock() {
      return sock;
    },
    close: async (want) => {
      for (let i = 0; i < 600 && lines < want; i++) await new Promise((r) => setTimeout(r, 50));
      if (lines < want) throw new Error(`the ring reader got ${lines} lines for ${want} requests${failure ? `: ${failure}` : ''}`);
      sock.destroy();
    },
  };
}

/**
 * User-space instructions per request: a long run minus a short one, divided by the difference in requests, so that
 * the event loop's fixed work (the first connections, the soft stop) cancels out. `outFile` gets a `-few` and a
 * `-many` suffix.
 */
export async function instructionsPerRequest(o: CountOptions & { requests: [few: number, many: number] }): Promise<number> {
  const [few, many] = o.requests;
  const a = await countInstructions({ ...o, requests: few, outFile: `${o.outFile}-few` });
  const b = await countInstructions({ ...o, requests: many, outFile: `${o.outFile}-many` });
  return (b - a) / (many - few);
}
