// Start-up at scale: 10,000 Ingresses (distinct hosts, one Service each) and 50,000 endpoints. Nothing listens on
// the endpoint addresses and nothing needs to: HAProxy does not connect to a server until a request needs it.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../test/e2e/harness/ports.js';
import { sleep } from '../lib/processes.js';
import { statusKb } from '../lib/proc-stats.js';
import { annotationMix, writeFleet } from '../manifests/fleet.js';
import { startPortico } from '../peers/portico.js';
import type { ScaleRow } from '../report/types.js';
import type { Settings } from '../settings.js';

export const READY_TARGET_MS = 5000;
export const RSS_TARGET_MB = 250;
const SETTLE_MS = 3000;

interface Context {
  s: Settings;
  workDir: string;
  log: (line: string) => void;
}

/** Endpoint e as 127.1.x.y: distinct loopback addresses, never 127.0.0.x where the bench's own servers live. */
function endpointAddress(e: number): string {
  const n = e + 1;
  return `127.${1 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}


export async function runScale(ctx: Context): Promise<ScaleRow[]> {
  return [await runFleet(ctx, 'plain'), await runFleet(ctx, 'annotated')];
}

async function runFleet(ctx: Context, kind: 'plain' | 'annotated'): Promise<ScaleRow> {
  const { ingresses, endpointsPerService, runs } = ctx.s.scale;
  const dir = join(ctx.workDir, `scale-${kind}`);
  const manifests = join(dir, 'manifests');
  ctx.log(`scale: writing ${ingresses} Ingresses, ${ingresses * endpointsPerService} endpoints${kind === 'annotated' ? ', a third of them with 3-5 annotations' : ''}`);
  await writeFleet(manifests, {
    count: ingresses,
    port: 8080,
    addresses: (i) => Array.from({ length: endpointsPerService }, (_, j) => endpointAddress(i * endpointsPerService + j)),
    ...(kind === 'annotated' ? { annotations: annotationMix } : {}),
  });
  const readyMs: number[] = [];
  let porticoRssMb = 0;
  let porticoPeakRssMb = 0;
  let haproxyRssMb = 0;
  for (let run = 0; run < runs; run++) {
    const stateDir = join(dir, `state-${run}`);
    await mkdir(stateDir, { recursive: true });
    // Not pinned: start-up has the machine to itself, as a controller pod starting on a node would.
    const p = startPortico({ manifestDir: manifests, stateDir, httpPort: await freePort(), httpsPort: await freePort(), adminPort: await freePort() });
    try {
      const ms = await p.waitReady(120_000, 10);
      readyMs.push(ms);
      // Memory after the first configuration is live and the process has had time to drop its start-up garbage.
      await sleep(SETTLE_MS);
      porticoRssMb = Math.max(porticoRssMb, statusKb(p.child.pid, 'VmRSS') / 1024);
      porticoPeakRssMb = Math.max(porticoPeakRssMb, statusKb(p.child.pid, 'VmHWM') / 1024);
      haproxyRssMb = Math.max(haproxyRssMb, p.haproxyRssKb() / 1024);
      ctx.log(`  run ${run + 1}: ready in ${Math.round(ms)} ms; Portico RSS ${porticoRssMb.toFixed(0)} MB (peak ${porticoPeakRssMb.toFixed(0)} MB), HAProxy RSS ${haproxyRssMb.toFixed(0)} MB`);
    } finally {
      await p.stop();
    }
  }
  return {
    ...(kind === 'annotated' ? { annotations: 'a third carry 3-5' } : {}),
    ingresses,
    endpoints: ingresses * endpointsPerService,
    runs,
    readyMs,
    porticoRssMb,
    porticoPeakRssMb,
    haproxyRssMb,
    targets: {
      // Every run, not the median: a controller that is sometimes slow to start is slow to start.
      ready: { want: `<= ${READY_TARGET_MS} ms (every run)`, pass: Math.max(...readyMs) <= READY_TARGET_MS },
      // The peak, not the settled value: a pod's memory limit has to cover the peak.
      rss: { want: `peak <= ${RSS_TARGET_MB} MB`, pass: porticoPeakRssMb <= RSS_TARGET_MB },
    },
  };
}
