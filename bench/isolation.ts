// How long isolation holds a change back, at 1,000 Ingresses (each with its Service and EndpointSlice): the time
// from a change's rename to the moment the good part of it (a probe Ingress in the same change) is served, with
// 0, 1 and 5 objects HAProxy rejects in that change; then a later change of another tenant; then a start with
// those objects present. The rejected objects are Secrets with an RSA-2048 certificate while HAProxy runs at
// OpenSSL security level 3 (OPENSSL_CONF), as in test/e2e/isolation.test.ts.
//
//   npm run build && node dist/bench/isolation.js
//
// Prints one line per measurement, with Portico's own account of the isolation (its duration and the number of
// `haproxy -c` runs), and a summary table. Timings depend on the machine's load: run it on a quiet one.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stageFile } from './lib/atomic-write.js';
import { makeCert } from './lib/certs.js';
import { httpGet, pollUntil } from './lib/probes.js';
import { installCleanupHandlers, startChild, stopAll } from './lib/processes.js';
import type { Child } from './lib/processes.js';
import { writeFleet } from './manifests/fleet.js';
import { ingress, joinDocs, tlsSecret } from './manifests/objects.js';
import { waitReady } from './peers/portico.js';
import { freePort } from '../test/e2e/harness/ports.js';

const FLEET = 1000;
const REPETITIONS = 3;
const TIMEOUT_MS = 120_000;

interface Row {
  what: string;
  ms: number[];
  isolation: string[];
  live: string[];
}

async function rsa2048(dir: string, name: string, host: string): Promise<{ certPem: string; keyPem: string }> {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-subj', `/CN=${host}`, '-days', '30', '-addext', `subjectAltName=DNS:${host}`], { stdio: 'pipe' });
  return { certPem: await readFile(crt, 'utf8'), keyPem: await readFile(key, 'utf8') };
}

// dist/bench/isolation.js -> the repository root.
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** `bin/portico serve`, keeping every log line about isolation (the bench's own launcher keeps only a tail). */
interface Portico {
  child: Child;
  httpPort: number;
  isolations: string[];
  /** Portico's "configuration live" lines: how each change went live (`via`) and its own time for the sync. */
  lives: string[];
}

async function startPortico(manifests: string, stateDir: string, env: NodeJS.ProcessEnv, extra: string[] = []): Promise<{ p: Portico; readyMs: number }> {
  const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const isolations: string[] = [];
  const lives: string[] = [];
  let partial = '';
  const args = [join(repoRoot, 'bin', 'portico'), 'serve', '--manifests', manifests, '--state-dir', stateDir, '--log-format', 'json', '--log-level', 'info'];
  args.push('--http-port', String(httpPort), '--https-port', String(httpsPort), '--admin-port', String(adminPort), '--bind-address', '127.0.0.1', '--admin-bind-address', '127.0.0.1');
  args.push(...extra);
  const spawnedAt = performance.now();
  const child = startChild('portico', process.execPath, args, {
    env,
    onStdout: (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (l.includes('"component":"isolate"')) isolations.push(l);
        if (l.includes('"msg":"configuration live"')) lives.push(l);
      }
    },
  });
  return { p: { child, httpPort, isolations, lives }, readyMs: await waitReady(child, adminPort, spawnedAt, TIMEOUT_MS, 20) };
}

/** Portico's account of the isolations logged since line `since`. */
function isolationSince(p: Portico, since: number): string {
  const lines = p.isolations.slice(since).map((l) => JSON.parse(l) as { ms?: number; checks?: number; objects?: number; msg?: string });
  return lines.map((o) => (o.objects !== undefined ? `${o.objects} left out in ${o.ms} ms (${o.checks} checks)` : String(o.msg))).join(' + ') || 'none';
}

/** The reloads since line `since`, by Portico's account (a change through the runtime API is logged at debug level). */
function livesSince(p: Portico, since: number): string {
  return p.lives.slice(since).map((l) => {
    const o = JSON.parse(l) as { via?: string; ms?: number; waitedMs?: number };
    return `${o.ms} ms${o.waitedMs ? ` after waiting ${o.waitedMs} ms` : ''}`;
  }).join(', ') || 'none';
}

const routed = (p: Portico, host: string) => async (): Promise<boolean> => (await httpGet(p.httpPort, host, '/', 2000)).status !== 404;

async function main(): Promise<void> {
  const load0 = loadavg().map((x) => x.toFixed(1)).join(' ');
  const work = await mkdtemp(join(tmpdir(), 'portico-bench-isolation-'));
  installCleanupHandlers(() => rm(work, { recursive: true, force: true }));
  const manifests = join(work, 'manifests');
  await mkdir(manifests, { recursive: true });
  const opensslConf = join(work, 'openssl.cnf');
  await writeFile(opensslConf, ['openssl_conf = openssl_init', '[openssl_init]', 'ssl_conf = ssl_sect', '[ssl_sect]', 'system_default = sys', '[sys]', 'CipherString = DEFAULT@SECLEVEL=3', ''].join('\n'));
  // No endpoints: a route that exists answers 503 at once, one that does not 404. (An endpoint that refuses
  // connections would take HAProxy's retries, two seconds, to answer.)
  await writeFleet(manifests, { count: FLEET, addresses: () => [], port: 9 });
  const env = { ...process.env, OPENSSL_CONF: opensslConf };
  const start = async (extra: string[] = []): Promise<{ p: Portico; readyMs: number }> => startPortico(manifests, await mkdtemp(join(work, 'state-')), env, extra);
  // A stand-in for a broken HAProxy: `haproxy -c` fails, whatever the configuration, while the marker exists.
  const marker = join(work, 'haproxy-broken');
  const wrapper = join(work, 'haproxy-wrapper.sh');
  await writeFile(wrapper, `#!/bin/sh\nif [ "$1" = "-c" ] && [ -e ${marker} ]; then echo "[ALERT] (0) : config : broken by the bench" >&2; exit 1; fi\nexec haproxy "$@"\n`, { mode: 0o755 });

  const rows: Row[] = [];
  const row = (what: string): Row => {
    const r: Row = { what, ms: [], isolation: [], live: [] };
    rows.push(r);
    return r;
  };
  const first = await start();
  let p = first.p;
  await pollUntil(routed(p, 'app-0.bench.example'), performance.now(), 50, TIMEOUT_MS);
  row(`start, ${FLEET} Ingresses, nothing rejected`).ms.push(first.readyMs);

  /** One change: `bad` Ingresses with a certificate HAProxy rejects, a good probe Ingress; ms until the probe serves. */
  const change = async (r: Row, tag: string, bad: number, goodCert: boolean): Promise<void> => {
    const docs: string[] = [];
    for (let i = 0; i < bad; i++) {
      const host = `${tag}-bad-${i}.iso.example`;
      const c = goodCert ? makeCert(work, `${tag}-${i}`, [host]) : await rsa2048(work, `${tag}-${i}`, host);
      docs.push(tlsSecret(`${tag}-bad-${i}`, c.certPem, c.keyPem), ingress({ name: `${tag}-bad-${i}`, host, service: 'app-0', tlsSecret: `${tag}-bad-${i}` }));
    }
    docs.push(ingress({ name: `${tag}-probe`, host: `${tag}-probe.iso.example`, service: 'app-1' }));
    const before = p.isolations.length;
    const livesBefore = p.lives.length;
    const staged = await stageFile(manifests, `${tag}.yaml`, joinDocs(docs));
    const t0 = performance.now();
    await staged.commit();
    const ms = await pollUntil(routed(p, `${tag}-probe.iso.example`), t0, 10, TIMEOUT_MS);
    if (ms === undefined) throw new Error(`${tag}: the probe never went live: ${p.child.tail()}`);
    r.ms.push(ms);
    // Past the reload interval, so that the next change is not deferred behind this one's reload; Portico logs a
    // sync after HAProxy serves it.
    await new Promise((res) => setTimeout(res, 2500));
    r.isolation.push(isolationSince(p, before));
    r.live.push(livesSince(p, livesBefore));
    process.stderr.write(`${r.what}: ${ms.toFixed(0)} ms; isolation: ${r.isolation[r.isolation.length - 1]}; reload: ${r.live[r.live.length - 1]}\n`);
  };

  const good = row('a change with 1 new TLS Ingress, certificate accepted (baseline)');
  for (let i = 0; i < REPETITIONS; i++) await change(good, `good${i}`, 1, true);
  const one = row('a change with 1 Secret HAProxy rejects');
  for (let i = 0; i < REPETITIONS; i++) await change(one, `one${i}`, 1, false);
  const five = row('a change with 5 Secrets HAProxy rejects');
  for (let i = 0; i < REPETITIONS; i++) await change(five, `five${i}`, 5, false);
  const later = row("another tenant's change afterwards (rejected Secrets still present)");
  for (let i = 0; i < REPETITIONS; i++) await change(later, `later${i}`, 0, false);

  await p.child.stop();
  const restarted = await start(['--haproxy-bin', wrapper]);
  p = restarted.p;
  const t0 = performance.now();
  const probeMs = await pollUntil(routed(p, 'later0-probe.iso.example'), t0, 20, TIMEOUT_MS);
  const startRow = row(`start, ${FLEET} Ingresses + ${REPETITIONS * 6} Secrets HAProxy rejects`);
  startRow.ms.push(restarted.readyMs + (probeMs ?? NaN));
  startRow.isolation.push(isolationSince(p, 0));

  // HAProxy broken: every check fails, with or without objects. A change that needs a reload (an ExternalName
  // Service) must blame nothing, quickly; the clock stops at Portico's log line saying so.
  await writeFile(marker, '');
  const broken = row('HAProxy rejects every configuration (no object to blame): until Portico says so');
  const before = p.isolations.length;
  const externalService = `apiVersion: v1\nkind: Service\nmetadata: { name: external, namespace: bench }\nspec: { type: ExternalName, externalName: external.invalid, ports: [{ name: http, port: 80 }] }\n`;
  const staged = await stageFile(manifests, 'external.yaml', joinDocs([externalService, ingress({ name: 'external', host: 'external.iso.example', service: 'external' })]));
  const t1 = performance.now();
  await staged.commit();
  const saidMs = await pollUntil(() => Promise.resolve(p.isolations.length > before), t1, 10, TIMEOUT_MS);
  broken.ms.push(saidMs ?? NaN);
  broken.isolation.push(p.isolations.slice(before).map((l) => {
    const o = JSON.parse(l) as { ms?: number; checks?: number; msg?: string };
    return `${o.msg} (${o.ms} ms, ${o.checks} checks)`;
  }).join(' + '));
  await p.child.stop();

  process.stdout.write(`\nload average ${loadavg().map((x) => x.toFixed(1)).join(' ')} (at the start: ${load0})\n`);
  process.stdout.write(`\n| ${FLEET} Ingresses | ms until served (each run) | isolation (Portico's log) | reload (Portico's log: whole sync) |\n|---|---|---|---|\n`);
  for (const r of rows) process.stdout.write(`| ${r.what} | ${r.ms.map((x) => x.toFixed(0)).join(', ')} | ${r.isolation.join('; ') || '-'} | ${r.live.join('; ') || '-'} |\n`);
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`bench isolation: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => void stopAll());
