// wrk with a Lua script that rotates the Host header over a hot set of hosts (requests are formatted once, in
// init, so Lua costs little per request) and prints its summary and latency percentiles as one JSON line.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChild } from '../lib/processes.js';

export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Us: number;
  p99Us: number;
  /** Socket errors, timeouts and non-2xx/3xx answers: a cell with any is not a valid measurement. */
  errors: number;
}

const MARK = 'BENCH_JSON ';

export async function writeWrkScript(dir: string, name: string, hosts: string[]): Promise<string> {
  const file = join(dir, `${name}.lua`);
  await writeFile(
    file,
    `local hosts = { ${hosts.map((h) => JSON.stringify(h)).join(', ')} }
local reqs = {}
local n = 0
local i = 0
function init(args)
  for k, h in ipairs(hosts) do reqs[k] = wrk.format("GET", "/", { Host = h }) end
  n = #reqs
  i = math.random(n) - 1
end
function request()
  i = i % n + 1
  return reqs[i]
end
function done(s, latency, requests)
  local e = s.errors
  io.write(string.format('${MARK}{"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    s.requests, s.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`,
  );
  return file;
}

export async function runWrk(o: { url: string; script: string; connections: number; durationS: number; cpus: string }): Promise<LoadResult> {
  const args = ['-t', '1', '-c', String(o.connections), '-d', `${o.durationS}s`, '--timeout', '5s', '-s', o.script, o.url];
  const out = await runChild('wrk', 'wrk', args, { cpus: o.cpus });
  const line = out.split('\n').find((l) => l.startsWith(MARK));
  if (!line) throw new Error(`wrk printed no result: ${out}`);
  const r = JSON.parse(line.slice(MARK.length)) as { requests: number; duration_us: number; errors: number; p50_us: number; p99_us: number };
  const durationS = r.duration_us / 1e6;
  return { requests: r.requests, durationS, rps: r.requests / durationS, p50Us: r.p50_us, p99Us: r.p99_us, errors: r.errors };
}
