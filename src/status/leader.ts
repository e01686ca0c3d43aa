// Leader election on a coordination.k8s.io/v1 Lease with client-go's algorithm and timings: a lease is held for
// leaseDuration after the holder's last renewal *as observed locally* (clocks of replicas are never compared),
// the leader renews every retryPeriod and steps down if it cannot renew within renewDeadline.
import type { Logger } from '../log.js';
import { ApiError } from '../sources/kubernetes/client.js';
import type { KubeClient } from '../sources/kubernetes/client.js';

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** MicroTime, as the API expects it: RFC 3339 with microseconds. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private observed: { record: string; at: number } | undefined;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly o: LeaderOptions,
    private readonly log: Logger,
    private readonly onChange: (leading: boolean) => void,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.o.namespace)}/leases/${encodeURIComponent(this.o.name)}`;
  }

  start(): void {
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    // client-go jitters the acquire retries by up to 20% so that candidates do not collide.
    const wait = this.leading ? this.o.retryPeriodMs : this.o.retryPeriodMs * (1 + Math.random() * 0.2);
    this.timer = setTimeout(() => void this.tick(), wait);
  }

  private async tick(): Promise<void> {
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (e) {
      this.log.warn({ component: 'leader', err: (e as Error).message }, 'lease request failed');
    }
    if (this.stopped) return;
    const now = Date.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) this.setLeading(true);
    } else if (this.leading && now - this.lastRenew > this.o.renewDeadlineMs) {
      this.setLeading(false);
    }
    this.schedule();
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.log.info({ component: 'leader', identity: this.o.identity, lease: `${this.o.namespace}/${this.o.name}` }, leading ? 'became leader' : 'lost leadership');
    this.onChange(leading);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const mine = (old: LeaseSpec | undefined): LeaseSpec => {
      const keep = old?.holderIdentity === this.o.identity;
      return {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: Math.round(this.o.leaseDurationMs / 1000),
        acquireTime: keep && old?.acquireTime ? old.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (old?.leaseTransitions ?? 0) + (keep || !old?.holderIdentity ? 0 : 1),
      };
    };
    let lease: Lease;
    try {
      lease = await this.client.request<Lease>('GET', this.path, { timeoutMs: this.o.renewDeadlineMs });
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
      try {
        await this.client.request('POST', `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.o.namespace)}/leases`, {
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace }, spec: mine(undefined) },
        });
        return true;
      } catch (e2) {
        if (e2 instanceof ApiError && e2.status === 409) return false; // another replica created it first
        throw e2;
      }
    }
    const record = JSON.stringify(lease.spec ?? {});
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
    const holder = lease.spec?.holderIdentity ?? '';
    const duration = (lease.spec?.leaseDurationSeconds ?? Math.round(this.o.leaseDurationMs / 1000)) * 1000;
    if (holder !== '' && holder !== this.o.identity && this.observed.at + duration > Date.now()) return false;
    try {
      await this.client.request('PUT', this.path, { body: { ...lease, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec: mine(lease.spec) }, timeoutMs: this.o.renewDeadlineMs });
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) return false;
      throw e;
    }
  }

  /** On a clean shutdown the leader hands the lease back, so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.client.request<Lease>('GET', this.path, { timeoutMs: 2000 });
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      const spec: LeaseSpec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) };
      await this.client.request('PUT', this.path, { body: { ...lease, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec }, timeoutMs: 2000 });
      this.log.info({ component: 'leader' }, 'released the lease');
    } catch (e) {
      this.log.warn({ component: 'leader', err: (e as Error).message }, 'could not release the lease');
    }
  }
}
