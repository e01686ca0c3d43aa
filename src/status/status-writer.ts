// Rules S1-S8: the leader writes status.loadBalancer.ingress on owned Ingresses, only when it differs, through
// the /status subresource with a merge patch; it clears what it wrote when an Ingress stops being owned, and it
// never touches an Ingress it does not own.
import { isIP } from 'node:net';
import type { Logger } from '../log.js';
import { isObject } from '../k8s/objects.js';
import type { Obj } from '../k8s/objects.js';
import { ApiError } from '../sources/kubernetes/client.js';
import type { KubeClient } from '../sources/kubernetes/client.js';
import { keyOf } from '../sources/kubernetes/reflector.js';

export interface LbEntry {
  ip?: string;
  hostname?: string;
}

export interface StatusOptions {
  /** NAMESPACE/NAME of the Service whose address is published (--publish-service). */
  publishService?: string | undefined;
  /** Fixed addresses (--publish-status-address). */
  publishAddresses: string[];
}

/**
 * Rule S3: the published Service's load-balancer ingress, else its externalIPs, else its clusterIP; else the
 * fixed addresses; else the addresses of the nodes running Portico.
 */
export function publishedAddresses(o: StatusOptions, service: Obj | undefined, nodeAddresses: string[] = []): LbEntry[] {
  const entries: LbEntry[] = [];
  const add = (a: unknown): void => {
    if (typeof a !== 'string' || a === '' || a === 'None') return;
    entries.push(isIP(a) ? { ip: a } : { hostname: a });
  };
  if (o.publishService !== undefined) {
    const spec = isObject(service?.spec) ? service.spec : {};
    const status = isObject(service?.status) ? service.status : {};
    const lb = isObject(status.loadBalancer) && Array.isArray(status.loadBalancer.ingress) ? (status.loadBalancer.ingress as unknown[]) : [];
    for (const e of lb) if (isObject(e)) add(e.ip ?? e.hostname);
    if (entries.length === 0 && spec.type === 'ExternalName') add(spec.externalName);
    if (entries.length === 0 && Array.isArray(spec.externalIPs)) for (const ip of spec.externalIPs as unknown[]) add(ip);
    if (entries.length === 0) add(spec.clusterIP);
  }
  if (entries.length === 0) for (const a of o.publishAddresses) add(a);
  if (entries.length === 0) for (const a of nodeAddresses) add(a);
  return sortEntries(entries);
}

/** Rule S4: hostnames, then IPs, each sorted; duplicates dropped. */
function sortEntries(list: LbEntry[]): LbEntry[] {
  const seen = new Set<string>();
  const key = (e: LbEntry): string => (e.hostname !== undefined ? `0${e.hostname}` : `1${e.ip ?? ''}`);
  return list
    .filter((e) => !seen.has(key(e)) && seen.add(key(e)))
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export function currentEntries(ing: Obj): LbEntry[] {
  const status = isObject(ing.status) ? ing.status : {};
  const lb = isObject(status.loadBalancer) && Array.isArray(status.loadBalancer.ingress) ? (status.loadBalancer.ingress as unknown[]) : [];
  return sortEntries(
    lb.filter(isObject).map((e) => ({ ...(typeof e.ip === 'string' ? { ip: e.ip } : {}), ...(typeof e.hostname === 'string' ? { hostname: e.hostname } : {}) })),
  );
}

const same = (a: LbEntry[], b: LbEntry[]): boolean => JSON.stringify(a) === JSON.stringify(b);

export class StatusWriter {
  /** Ingresses this process published an address on, with the address, so it can clear exactly that. */
  private readonly published = new Map<string, LbEntry[]>();

  constructor(
    private readonly client: KubeClient,
    private readonly o: StatusOptions,
    private readonly log: Logger,
  ) {}

  /**
   * One pass over the Ingresses ownership was decided on (`owned` holds namespace/name of the owned ones). Every
   * write is conditional on the object's resourceVersion: an Ingress changed since it was judged (moved to another
   * class, or given an address by another controller) is left for the pass that judges its new version, so an
   * address Portico does not own is never written over. Writes run one at a time: a status burst at 10,000
   * Ingresses must not open 10,000 connections.
   */
  async sync(ingresses: Obj[], owned: Set<string>, publishService: Obj | undefined, nodeAddresses: string[] = []): Promise<number> {
    const want = publishedAddresses(this.o, publishService, nodeAddresses);
    let writes = 0;
    for (const ing of ingresses) {
      const key = keyOf(ing);
      const current = currentEntries(ing);
      if (owned.has(key)) {
        const outcome = same(current, want) ? 'unchanged' : await this.patch(ing, want);
        if (outcome === 'written') writes++;
        if (outcome !== 'stale') this.published.set(key, want);
      } else {
        // Rule S5: clear only what this process wrote; an address another controller wrote since then is theirs,
        // and an Ingress never seen owned is never touched (S2).
        const ours = this.published.get(key);
        const outcome = ours && current.length > 0 && same(current, ours) ? await this.patch(ing, []) : 'unchanged';
        if (outcome === 'written') writes++;
        // A stale object may still carry our address in its newer version: remember it until that one is judged.
        if (outcome !== 'stale') this.published.delete(key);
      }
    }
    const present = new Set(ingresses.map(keyOf));
    for (const key of [...this.published.keys()]) if (!present.has(key)) this.published.delete(key);
    return writes;
  }

  private async patch(ing: Obj, entries: LbEntry[]): Promise<'written' | 'stale' | 'failed'> {
    const key = keyOf(ing);
    const [ns, name] = key.split('/') as [string, string];
    const meta = isObject(ing.metadata) ? ing.metadata : {};
    // A merge patch carrying metadata.resourceVersion is refused with 409 unless the object is still that version.
    const precondition = typeof meta.resourceVersion === 'string' && meta.resourceVersion !== '' ? { metadata: { resourceVersion: meta.resourceVersion } } : {};
    const path = `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/ingresses/${encodeURIComponent(name)}/status`;
    try {
      await this.client.request('PATCH', path, { body: { ...precondition, status: { loadBalancer: { ingress: entries } } }, contentType: 'application/merge-patch+json' });
      this.log.info({ component: 'status', ingress: key, addresses: entries.map((e) => e.ip ?? e.hostname) }, entries.length ? 'status address written' : 'status address cleared');
      return 'written';
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 409)) {
        this.log.debug({ component: 'status', ingress: key, status: e.status }, 'Ingress changed since it was judged; status is decided again on its new version');
        return 'stale';
      }
      this.log.warn({ component: 'status', ingress: key, err: (e as Error).message }, 'status update failed; will retry on the next sync');
      return 'failed';
    }
  }
}
