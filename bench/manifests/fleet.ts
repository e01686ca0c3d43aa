// A fleet of N Ingresses, one host and one Service each, written as a few large multi-document files: how a big
// GitOps repository tends to look, and cheap for Portico's once-a-second rescan (one stat per file).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { endpointSlice, ingress, joinDocs, service } from './objects.js';

export interface FleetOptions {
  count: number;
  /** Endpoints of Ingress i's Service. */
  addresses: (i: number) => string[];
  port: number;
  /** Host of Ingress i. */
  host?: (i: number) => string;
  perFile?: number;
  /** Annotations of Ingress i, if any. */
  annotations?: (i: number) => Record<string, string> | undefined;
}

export const fleetHost = (i: number): string => `app-${i}.bench.example`;

export async function writeFleet(dir: string, o: FleetOptions): Promise<void> {
  await mkdir(dir, { recursive: true });
  const host = o.host ?? fleetHost;
  const perFile = o.perFile ?? 1000;
  for (let start = 0; start < o.count; start += perFile) {
    const docs: string[] = [];
    for (let i = start; i < Math.min(o.count, start + perFile); i++) {
      const svc = `app-${i}`;
      const annotations = o.annotations?.(i);
      docs.push(ingress({ name: svc, host: host(i), service: svc, ...(annotations ? { annotations } : {}) }));
      docs.push(service(svc, o.port));
      docs.push(endpointSlice({ name: `${svc}-1`, service: svc, port: o.port, addresses: o.addresses(i) }));
    }
    await writeFile(join(dir, `fleet-${String(start / perFile).padStart(3, '0')}.yaml`), joinDocs(docs));
  }
}

/** `k` hosts spread evenly over a fleet of `count`: the hot set the load generator rotates over. */
export function hotHosts(count: number, k: number): string[] {
  const n = Math.min(count, k);
  return Array.from({ length: n }, (_, j) => fleetHost(Math.floor((j * count) / n)));
}

/**
 * Issue 11's realistic mix: a third of the Ingresses carry three to five annotations (a timeout, a body limit, the
 * HTTPS redirect turned off, for two in three an access list, and for one in three an annotation Portico does not
 * honour yet, which is reported at start).
 */
export function annotationMix(i: number): Record<string, string> | undefined {
  if (i % 3 !== 0) return undefined;
  const p = 'nginx.ingress.kubernetes.io/';
  const all: Record<string, string> = {
    [`${p}proxy-read-timeout`]: '120',
    [`${p}proxy-body-size`]: '8m',
    [`${p}ssl-redirect`]: 'false',
    // Shared blocks and one of 256 blocks of its own: the access lists' cells and flips at a realistic size.
    [`${p}whitelist-source-range`]: `10.0.0.0/8, 172.16.0.0/12, 192.168.${(i / 3) % 256}.0/24`,
    [`${p}proxy-next-upstream-tries`]: '3',
  };
  return Object.fromEntries(Object.entries(all).slice(0, 3 + ((i / 3) % 3)));
}
