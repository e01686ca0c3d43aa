// The Kubernetes source: one reflector per kind Portico reads, feeding the same Snapshot the manifest source does.
import type { Logger } from '../../log.js';
import type { Snapshot } from '../../translate/translate.js';
import type { KubeClient } from './client.js';
import { Reflector } from './reflector.js';
import type { ReflectorOptions, ResourceSpec } from './reflector.js';

type Obj = Record<string, unknown>;

export const RESOURCES: Record<keyof Snapshot, ResourceSpec> = {
  ingresses: { groupVersion: '/apis/networking.k8s.io/v1', resource: 'ingresses', namespaced: true },
  ingressClasses: { groupVersion: '/apis/networking.k8s.io/v1', resource: 'ingressclasses', namespaced: false },
  services: { groupVersion: '/api/v1', resource: 'services', namespaced: true },
  endpointSlices: { groupVersion: '/apis/discovery.k8s.io/v1', resource: 'endpointslices', namespaced: true },
  secrets: { groupVersion: '/api/v1', resource: 'secrets', namespaced: true },
};

export interface KubernetesSourceOptions extends Omit<ReflectorOptions, 'namespace'> {
  watchNamespace?: string | undefined;
  /** Bursts of events (a rollout, a relist) are coalesced into one snapshot. */
  debounceMs: number;
}

export class KubernetesSource {
  private readonly reflectors: Record<keyof Snapshot, Reflector>;
  private timer: NodeJS.Timeout | undefined;
  private firstSync: (() => void) | undefined;

  constructor(
    client: KubeClient,
    o: KubernetesSourceOptions,
    private readonly onSnapshot: (s: Snapshot) => void,
    private readonly log: Logger,
  ) {
    const make = (spec: ResourceSpec): Reflector =>
      new Reflector(client, spec, { ...o, namespace: o.watchNamespace }, () => this.changed(o.debounceMs), log);
    this.reflectors = {
      ingresses: make(RESOURCES.ingresses),
      ingressClasses: make(RESOURCES.ingressClasses),
      services: make(RESOURCES.services),
      endpointSlices: make(RESOURCES.endpointSlices),
      secrets: make(RESOURCES.secrets),
    };
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
  private readonly lists = new Map<keyof Snapshot, { version: number; list: Obj[] }>();

  snapshot(): Snapshot {
    const list = (k: keyof Snapshot): Obj[] => {
      const r = this.reflectors[k];
      const cached = this.lists.get(k);
      if (cached?.version === r.version) return cached.list;
      const fresh = [...r.items.values()];
      this.lists.set(k, { version: r.version, list: fresh });
      return fresh;
    };
    return { ingresses: list('ingresses'), ingressClasses: list('ingressClasses'), services: list('services'), endpointSlices: list('endpointSlices'), secrets: list('secrets') };
  }

  /** The stored object for a diagnostic or status write, by kind and namespace/name. */
  get(kind: keyof Snapshot, key: string): Obj | undefined {
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
