// Time from a change in the manifest directory to the first request served by the new configuration, observed
// from outside as a client would: the clock starts just before the rename that makes the change visible and
// stops at the first fresh connection that sees the new state.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stageFile } from '../lib/atomic-write.js';
import { makeCert } from '../lib/certs.js';
import type { Cert } from '../lib/certs.js';
import { applyCounters } from '../lib/metrics.js';
import type { ApplyCounters } from '../lib/metrics.js';
import { freePort } from '../../test/e2e/harness/ports.js';
import { httpGet, pollUntil, tlsFingerprint } from '../lib/probes.js';
import { sleep } from '../lib/processes.js';
import { percentile } from '../lib/stats.js';
import { annotationMix, writeFleet } from '../manifests/fleet.js';
import { endpointSlice, ingress, joinDocs, service, tlsSecret } from '../manifests/objects.js';
import { ECHO_ADDRESSES, ORIGIN_ADDRESSES } from '../peers/backend.js';
import type { Backend } from '../peers/backend.js';
import { startPortico } from '../peers/portico.js';
import type { PorticoProcess } from '../peers/portico.js';
import type { ConvergenceRow } from '../report/types.js';
import type { Settings } from '../settings.js';

export const TARGETS_AT_10K: Partial<Record<ConvergenceRow['change'], number>> = { endpoint: 50, 'new-ingress': 100, annotation: 100 };
export const EP_HOST = 'ep.convergence.example';
export const TLS_HOST = 'tls.convergence.example';
/** A route whose permanent-redirect URL each repetition changes (issue 11: a map-backed annotation, no reload). */
export const REDIRECT_HOST = 'redirect.convergence.example';
export const redirectUrl = (r: number): string => `https://r-${r}.convergence.example/`;
const SETTLE_QUIET_MS = 500;
const SETTLE_MAX_MS = 30_000;

export interface Context {
  s: Settings;
  workDir: string;
  backend: Backend;
  log: (line: string) => void;
}

export interface Sample {
  ms: number | undefined;
  reloads: number;
  runtimeUpdates: number;
}

export async function runConvergence(ctx: Context): Promise<ConvergenceRow[]> {
  const rows: ConvergenceRow[] = [];
  for (const size of ctx.s.convergence.sizes) {
    ctx.log(`convergence: ${size} Ingresses`);
    rows.push(...(await runSize(ctx, size)));
  }
  return rows;
}

async function runSize(ctx: Context, size: number): Promise<ConvergenceRow[]> {
  const c = ctx.s.convergence;
  const dir = join(ctx.workDir, `convergence-${size}`);
  const manifests = join(dir, 'manifests');
  const stateDir = join(dir, 'state');
  await mkdir(stateDir, { recursive: true });
  const certs: Cert[] = Array.from({ length: c.repetitions + 1 }, (_, i) => makeCert(dir, `rot-${i}`, [TLS_HOST]));
  const port = ctx.backend.port;
  // Two of the Ingresses are the ones under test; the rest are ballast that every render has to carry, a third of it
  // annotated as in the scale section (issue 11: the targets hold with annotations in play).
  await writeFleet(manifests, { count: size - 2, addresses: () => ORIGIN_ADDRESSES, port, annotations: annotationMix });
  await writeFile(join(manifests, 'target.yaml'), joinDocs([ingress({ name: 'ep', host: EP_HOST, service: 'target' }), ingress({ name: 'tls', host: TLS_HOST, service: 'target', tlsSecret: 'rotated' }), service('target', port)]));
  const slice = (addr: string): string => endpointSlice({ name: 'target-1', service: 'target', port, addresses: [addr] });
  await writeFile(join(manifests, 'target-slice.yaml'), slice(ECHO_ADDRESSES[0]!));
  await writeFile(join(manifests, 'target-secret.yaml'), tlsSecret('rotated', certs[0]!.certPem, certs[0]!.keyPem));
  const redirecting = (r: number): string => ingress({ name: 'redirect', host: REDIRECT_HOST, service: 'target', annotations: { 'nginx.ingress.kubernetes.io/permanent-redirect': redirectUrl(r) } });
  await writeFile(join(manifests, 'redirect.yaml'), redirecting(0));

  const p = startPortico({ manifestDir: manifests, stateDir, httpPort: await freePort(), httpsPort: await freePort(), adminPort: await freePort() });
  try {
    await p.waitReady(120_000, 50);
    const initial = await pollUntil(async () => (await httpGet(p.httpPort, EP_HOST)).body === ECHO_ADDRESSES[0], performance.now(), 50, 60_000);
    if (initial === undefined) throw new Error(`Portico never routed ${EP_HOST} to ${ECHO_ADDRESSES[0]}`);
    await settle(p);

    const samples: Record<ConvergenceRow['change'], Sample[]> = { endpoint: [], 'new-ingress': [], certificate: [], annotation: [] };
    for (let r = 0; r < c.repetitions; r++) {
      const echo = ECHO_ADDRESSES[(r + 1) % ECHO_ADDRESSES.length]!;
      samples.endpoint.push(await timeChange(ctx, p, manifests, 'target-slice.yaml', slice(echo), async () => (await httpGet(p.httpPort, EP_HOST)).body === echo));

      const host = `new-${r}.convergence.example`;
      const text = ingress({ name: `new-${r}`, host, service: 'target' });
      samples['new-ingress'].push(await timeChange(ctx, p, manifests, `new-${r}.yaml`, text, async () => (await httpGet(p.httpPort, host)).status !== 404));

      const cert = certs[r + 1]!;
      const secret = tlsSecret('rotated', cert.certPem, cert.keyPem);
      samples.certificate.push(await timeChange(ctx, p, manifests, 'target-secret.yaml', secret, async () => (await tlsFingerprint(p.httpsPort, TLS_HOST)) === cert.fingerprint256));

      samples.annotation.push(await timeChange(ctx, p, manifests, 'redirect.yaml', redirecting(r + 1), async () => (await httpGet(p.httpPort, REDIRECT_HOST)).location === redirectUrl(r + 1)));
    }
    return (Object.keys(samples) as ConvergenceRow['change'][]).map((change) => summarise(ctx, 'file', size, change, samples[change]));
  } finally {
    await p.stop();
  }
}

async function timeChange(ctx: Context, p: PorticoProcess, dir: string, file: string, text: string, check: () => Promise<boolean>): Promise<Sample> {
  const c = ctx.s.convergence;
  const staged = await stageFile(dir, file, text);
  const before = await applyCounters(p.adminPort);
  const t0 = performance.now();
  await staged.commit();
  const ms = await pollUntil(check, t0, c.pollIntervalMs, c.timeoutMs);
  const after = await settle(p, before);
  return { ms, reloads: after.reloads - before.reloads, runtimeUpdates: after.runtimeUpdates - before.runtimeUpdates };
}

/**
 * Waits until Portico has counted the change (a reload or a runtime update; the count can lag the first request
 * served by seconds at 10,000 Ingresses) and its counters then stay still, so that one change's reload does not
 * overlap the next change's measurement and each count lands on the change that caused it.
 */
export async function settle(p: Pick<PorticoProcess, 'adminPort'>, before?: ApplyCounters): Promise<ApplyCounters> {
  const total = (c: ApplyCounters): number => c.reloads + c.runtimeUpdates;
  let last = await applyCounters(p.adminPort);
  let quietSince = performance.now();
  const deadline = performance.now() + SETTLE_MAX_MS;
  while (performance.now() < deadline) {
    await sleep(50);
    const now = await applyCounters(p.adminPort);
    if (total(now) !== total(last)) quietSince = performance.now();
    last = now;
    const counted = before === undefined || total(now) > total(before);
    if (counted && performance.now() - quietSince >= SETTLE_QUIET_MS) break;
  }
  return last;
}

export function summarise(ctx: Context, source: ConvergenceRow['source'], size: number, change: ConvergenceRow['change'], samples: Sample[]): ConvergenceRow {
  const timeoutMs = ctx.s.convergence.timeoutMs;
  // A change that never showed up counts at the timeout, so it drags p99 rather than vanishing from it.
  const ms = samples.map((x) => x.ms ?? timeoutMs);
  const row: ConvergenceRow = {
    ingresses: size,
    source,
    change,
    samples: samples.length,
    timeouts: samples.filter((x) => x.ms === undefined).length,
    p50Ms: percentile(ms, 50),
    p99Ms: percentile(ms, 99),
    maxMs: Math.max(...ms),
    reloads: samples.filter((x) => x.reloads > 0).length,
    runtimeUpdates: samples.filter((x) => x.runtimeUpdates > 0).length,
  };
  const limit = TARGETS_AT_10K[change];
  if (limit !== undefined && size >= 10_000) row.target = { want: `p99 <= ${limit} ms`, pass: row.p99Ms <= limit && row.timeouts === 0 };
  ctx.log(`  ${change}${source === 'api' ? ' (API)' : ''}: p50 ${row.p50Ms.toFixed(1)} ms, p99 ${row.p99Ms.toFixed(1)} ms over ${row.samples} (${row.reloads} with a reload, ${row.runtimeUpdates} via runtime API${row.timeouts ? `, ${row.timeouts} TIMED OUT` : ''})`);
  return row;
}
