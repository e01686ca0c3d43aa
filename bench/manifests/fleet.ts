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
