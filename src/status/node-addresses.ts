// Rule S3's last resort: with neither --publish-service nor --publish-status-address (the hostnetwork install),
// the published addresses are those of the nodes running a Portico pod: ExternalIP where a node has one, else
// InternalIP. Cached briefly: the leader asks on every status pass.
import { isObject } from '../k8s/objects.js';
import type { KubeClient } from '../sources/kubernetes/client.js';

const CACHE_MS = 30_000;

export class NodeAddresses {
  private cached: { at: number; addresses: string[] } | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly podSelector: string,
  ) {}

  async get(): Promise<string[]> {
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.addresses;
    const q = new URLSearchParams({ labelSelector: this.podSelector });
    const pods = await this.client.request<{ items?: unknown[] }>('GET', `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods?${q.toString()}`);
    const nodes = new Set<string>();
    for (const p of pods.items ?? []) {
      if (!isObject(p) || !isObject(p.spec) || !isObject(p.status)) continue;
      if (p.status.phase === 'Running' && typeof p.spec.nodeName === 'string') nodes.add(p.spec.nodeName);
    }
    const addresses: string[] = [];
    for (const name of [...nodes].sort()) {
      const node = await this.client.request<{ status?: { addresses?: { type?: string; address?: string }[] } }>('GET', `/api/v1/nodes/${encodeURIComponent(name)}`);
      const list = node.status?.addresses ?? [];
      const external = list.filter((a) => a.type === 'ExternalIP' && a.address);
      for (const a of external.length > 0 ? external : list.filter((x) => x.type === 'InternalIP' && x.address)) addresses.push(a.address!);
    }
    this.cached = { at: Date.now(), addresses };
    return addresses;
  }
}
