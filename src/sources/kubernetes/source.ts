// The Kubernetes source: one reflector per kind Portico reads, feeding the same Snapshot the manifest source does.
import { KINDS, perKind } from '../../k8s/kinds.js';
import type { KindField, Snapshot } from '../../k8s/kinds.js';
import type { Obj } from '../../k8s/objects.js';
import type { Logger } from '../../log.js';
import type { KubeClient } from './client.js';
import { Reflector } from './reflector.js';
import type { ReflectorOptions } from './reflector.js';

export interface KubernetesSourceOptions extends Omit<ReflectorOptions, 'namespace'> {
  watchNamespace?: string | undefined;
  /** Bursts of events (a rollout, a relist) are coalesced into one snapshot. */
  debounceMs: number;
}

export class KubernetesSource {
  private readonly reflectors: Record<KindField, Reflector>;
  private timer: NodeJS.Timeout | undefined;
  private firstSync: (() => void) | undefined;

  constructor(
    client: KubeClient,
    o: KubernetesSourceOptions,
    private readonly onSnapshot: (s: Snapshot) => void,
    private readonly log: Logger,
  ) {
    this.reflectors = perKind((f) => new Reflector(client, KINDS[f], { ...o, namespace: o.watchNamespace }, () => this.changed(o.debounceMs), log));
  }

  get synced(): boolean {
    return Object.values(this.reflectors).every((r) => r.synced);
  }

  /** Starts every reflector; resolves once all have listed, so the first configuration is never a partial one. */
  start(): Promise<void> {
    const done = new Promise<void>((resolve) => (this.firstSync = resolve));
    for (const r of Object.values(this.reflectors)) r.start();
    return done;
  }

  /** Lists every kind again (SIGHUP); resolves with the number of objects once every list has succeeded. */
  async relist(): Promise<number> {
    const all = Object.values(this.reflectors);
    await Promise.all(all.map((r) => r.relist()));
    return all.reduce((n, r) => n + r.items.size, 0);
  }

  stop(): void {
    for (const r of Object.values(this.reflectors)) r.stop();
    if (this.timer) clearTimeout(this.timer);
  }

  /** Lists handed out by the last snapshot: a kind with no change since keeps its list, which translate skips. */
  private readonly lists = new Map<KindField, { version: number; list: Obj[] }>();

  snapshot(): Snapshot {
    const list = (k: KindField): Obj[] => {
      const r = this.reflectors[k];
      const cached = this.lists.get(k);
      if (cached?.version === r.version) return cached.list;
      const fresh = [...r.items.values()];
      this.lists.set(k, { version: r.version, list: fresh });
      return fresh;
    };
    return perKind(list);
  }

  /** The stored object for a diagnostic or status write, by kind and namespace/name. */
  get(kind: KindField, key: string): Obj | undefined {
    return this.reflectors[kind].items.get(key);
  }

  private changed(debounceMs: number): void {
    if (!this.synced) return;
    if (this.firstSync) {
      const f = this.firstSync;
      this.firstSync = undefined;
      this.log.info({ component: 'kubernetes' }, 'initial list complete for every resource');
      f();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onSnapshot(this.snapshot());
    }, debounceMs);
  }
}
