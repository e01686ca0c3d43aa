// h2load over TLS with ALPN h2: one host (h2load takes the authority from its one URI), `streams` concurrent
// streams per connection. Percentiles come from its per-request log, since its summary has none.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runChild } from '../lib/processes.js';
import { percentile } from '../lib/stats.js';
import type { LoadResult } from './wrk.js';

export async function runH2load(o: { port: number; host: string; connections: number; streams: number; durationS: number; warmupS: number; cpus: string; dir: string }): Promise<LoadResult> {
  const log = join(o.dir, 'h2load.log');
  const args = ['-t', '1', '-c', String(o.connections), '-m', String(o.streams), '-D', String(o.durationS), '--warm-up-time', String(o.warmupS)];
  args.push('-H', `:authority: ${o.host}`, '--log-file', log, `https://127.0.0.1:${o.port}/`);
  const out = await runChild('h2load', 'h2load', args, { cpus: o.cpus });
  if (!/Application protocol: h2/.test(out)) throw new Error(`h2load did not negotiate h2: ${out}`);
  const m = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!m || !status) throw new Error(`cannot parse h2load output: ${out}`);
  const latencies: number[] = [];
  for (const line of (await readFile(log, 'utf8')).split('\n')) {
    const f = line.split('\t');
    if (f.length >= 3) latencies.push(Number(f[2]));
  }
  await rm(log, { force: true });
  const done = Number(m[1]);
  const errors = Number(m[3]) + Number(m[4]) + Number(m[5]) + Number(status[3]) + Number(status[4]);
  return { requests: done, durationS: o.durationS, rps: done / o.durationS, p50Us: percentile(latencies, 50), p99Us: percentile(latencies, 99), errors };
}
