// `portico check --kubeconfig`: one consistent read of the kinds Portico reads, by list only (no watch, no writes), so
// that a check needs nothing but read access. Secrets are optional: a check without the right to read them still
// classifies every annotation, and says what it could not see.
import type { Logger } from '../log.js';
import type { Obj } from '../k8s/objects.js';
import { isObject } from '../k8s/objects.js';
import { KINDS, KIND_FIELDS, emptySnapshot, groupVersionPath } from '../k8s/kinds.js';
import type { Snapshot } from '../k8s/kinds.js';
import { ApiError, KubeClient } from '../sources/kubernetes/client.js';

const PAGE = 500;

/** Every object of every kind (of `namespace`'s only, when given), listed page by page. */
export async function snapshotFromApi(client: KubeClient, namespace: string | undefined, log: Logger): Promise<Snapshot> {
  const snapshot = emptySnapshot();
  for (const field of KIND_FIELDS) {
    const spec = KINDS[field];
    const collection = `${groupVersionPath(spec)}${spec.namespaced && namespace !== undefined ? `/namespaces/${namespace}` : ''}/${spec.resource}`;
    try {
      snapshot[field] = await listAll(client, collection, spec.kind, `${spec.group === '' ? '' : `${spec.group}/`}${spec.version}`);
    } catch (e) {
      // Without Secrets the check still classifies annotations; TLS and authentication findings are then incomplete.
      if (e instanceof ApiError && (e.status === 403 || e.status === 401) && field === 'secrets') {
        log.warn({ component: 'check', resource: spec.resource, status: e.status }, `cannot list ${spec.resource} (${e.status}): certificates and Secrets named by annotations are reported as missing`);
        continue;
      }
      throw e;
    }
  }
  return snapshot;
}

async function listAll(client: KubeClient, collection: string, kind: string, apiVersion: string): Promise<Obj[]> {
  const items: Obj[] = [];
  let cont = '';
  for (;;) {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (cont) q.set('continue', cont);
    const page = await client.request<{ metadata?: { continue?: string }; items?: unknown[] }>('GET', `${collection}?${q.toString()}`);
    // A list's items carry no kind or apiVersion: the manifest path and translate expect them, as kubectl shows them.
    for (const it of page.items ?? []) if (isObject(it)) items.push({ apiVersion, kind, ...it });
    cont = page.metadata?.continue ?? '';
    if (!cont) return items;
  }
}
