// The HAProxy configuration Portico generates for a fleet of Ingresses, taken from a real `bin/portico serve` and
// made runnable on its own: instruction counts run HAProxy under callgrind, which follows one process, so Portico
// and HAProxy's master process are left out.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../test/e2e/harness/ports.js';
import { fleetHost, writeFleet } from '../manifests/fleet.js';
import { ORIGIN_ADDRESSES } from './backend.js';
import { startFixedOrigin } from './fixed-origin.js';
import type { FixedOrigin } from './fixed-origin.js';
import { startPortico } from './portico.js';

export interface PorticoConfig {
  /** The configuration, without master-worker. */
  file: string;
  /** The configuration as Portico wrote it. */
  text: string;
}

/**
 * Starts Portico on `count` Ingresses (hosts fleetHost(0..count-1), every Service on `addresses`:`port`), waits until
 * it is ready, stops it, and writes its configuration to `dir`/portico.cfg. The maps and certificates stay where the
 * configuration points (a given --state-dir is not removed).
 */
export async function porticoGeneratedConfig(o: {
  dir: string;
  addresses: string[];
  port: number;
  httpPort: number;
  httpsPort: number;
  count?: number;
  annotations?: (i: number) => Record<string, string> | undefined;
  /** More `serve` flags (`--access-log off`, say). */
  args?: string[];
}): Promise<PorticoConfig> {
  const manifestDir = join(o.dir, 'portico-manifests');
  const stateDir = join(o.dir, 'portico-state');
  await writeFleet(manifestDir, { count: o.count ?? 1, addresses: () => o.addresses, port: o.port, ...(o.annotations ? { annotations: o.annotations } : {}) });
  const p = startPortico({ manifestDir, stateDir, httpPort: o.httpPort, httpsPort: o.httpsPort, adminPort: await freePort(), ...(o.args ? { args: o.args } : {}) });
  try {
    await p.waitReady(60_000, 50);
  } finally {
    await p.stop();
  }
  const text = await readFile(join(stateDir, 'haproxy.cfg'), 'utf8');
  const file = join(o.dir, 'portico.cfg');
  await writeFile(file, withOneThread(withoutMasterWorker(text)));
  return { file, text };
}

/**
 * One thread, as the data-plane section measures HAProxy: Portico writes a thread per CPU it may use, and callgrind
 * runs threads one at a time, so a thread spinning on a lock another holds (the access log's ring: the requests
 * write it, its reader reads it) would count thousands of instructions that take nanoseconds on two CPUs.
 */
function withOneThread(cfg: string): string {
  const out = cfg.replace(/^ {2}nbthread \d+$/m, '  nbthread 1');
  if (!/^ {2}nbthread 1$/m.test(out)) throw new Error('Portico\'s configuration has no "nbthread" line: has the global section changed?');
  return out;
}

export function withoutMasterWorker(cfg: string): string {
  const out = cfg.replace(/^ {2}master-worker\n/m, '');
  if (out === cfg) throw new Error('Portico\'s configuration has no "master-worker" line to remove: has the global section changed?');
  return out;
}

/** What an instruction count of Portico's configuration needs: the configuration, its origin, where to send. */
export interface PorticoCountSetup {
  /** Portico's configuration for one plain HTTP Ingress, runnable alone. */
  file: string;
  text: string;
  /** Its plain HTTP listener, on 127.0.0.1, and the Ingress's host. */
  port: number;
  host: string;
  origin: FixedOrigin;
  close(): Promise<void>;
}

/**
 * One Ingress (host fleetHost(0), path `/` Prefix, a Service with the two origin endpoints), served by the fixed
 * origin: the setup behind both the bench's count and the CI guard test/perf/instructions.test.ts.
 */
export async function porticoCountSetup(dir: string, fleet: { count?: number; annotations?: (i: number) => Record<string, string> | undefined } = {}): Promise<PorticoCountSetup> {
  const origin = await startFixedOrigin();
  try {
    const [port, httpsPort] = [await freePort(), await freePort()];
    const cfg = await porticoGeneratedConfig({ dir, addresses: ORIGIN_ADDRESSES, port: origin.port, httpPort: port, httpsPort, ...fleet });
    return { ...cfg, port, host: fleetHost(0), origin, close: () => origin.close() };
  } catch (e) {
    await origin.close();
    throw e;
  }
}
