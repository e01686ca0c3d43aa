// `portico check --kubeconfig`: one consistent read of the kinds Portico reads, by GET only (no watch, no writes), so
// that a check needs nothing but read access. Secrets are optional: a check without the right to read them still
// classifies every annotation, and says what it could not see. The --configmap ConfigMap and the objects its keys name
// (add-headers, proxy-set-headers, ssl-dh-param) are read one by one, by name, when the lists did not hold them (another
// namespace than --namespace, Secrets not listable): a Role may grant `get` on exactly those, never all Secrets.
import type { Logger } from '../log.js';
import type { Obj } from '../k8s/objects.js';
import { isObject, objectName } from '../k8s/objects.js';
import { KINDS, KIND_FIELDS, emptySnapshot, groupVersionPath } from '../k8s/kinds.js';
import type { KindField, KindSpec, Snapshot } from '../k8s/kinds.js';
import { configMapEntries } from '../translate/configmaps.js';
import { readGlobalSettings, settingReferences } from '../translate/settings/index.js';
import { ApiError, KubeClient } from '../sources/kubernetes/client.js';

const PAGE = 500;

const apiVersionOf = (spec: KindSpec): string => `${spec.group === '' ? '' : `${spec.group}/`}${spec.version}`;

/** Every object of every kind (of `namespace`'s only, when given), listed page by page; then the settings ConfigMap
 * `configMap` (`namespace/name`) and the objects it names, each by name if the lists did not hold it. */
export async function snapshotFromApi(client: KubeClient, namespace: string | undefined, log: Logger, configMap?: string): Promise<Snapshot> {
  const snapshot = emptySnapshot();
  for (const field of KIND_FIELDS) {
    const spec = KINDS[field];
    const collection = `${groupVersionPath(spec)}${spec.namespaced && namespace !== undefined ? `/namespaces/${namespace}` : ''}/${spec.resource}`;
    try {
      snapshot[field] = await listAll(client, collection, spec.kind, apiVersionOf(spec));
    } catch (e) {
      // Without Secrets the check still classifies annotations; TLS and authentication findings are then incomplete.
      if (e instanceof ApiError && (e.status === 403 || e.status === 401) && field === 'secrets') {
        log.warn({ component: 'check', resource: spec.resource, status: e.status }, `cannot list ${spec.resource} (${e.status}): certificates and Secrets named by annotations are reported as missing`);
        continue;
      }
      throw e;
    }
  }
  if (configMap !== undefined) await addSettingsObjects(client, snapshot, configMap, log);
  return snapshot;
}

async function addSettingsObjects(client: KubeClient, snapshot: Snapshot, configMap: string, log: Logger): Promise<void> {
  const settings = await namedObject(client, snapshot, 'configMaps', configMap, log);
  if (!settings) return;
  // The same read translate makes, so that exactly the objects it will look up are fetched.
  const { settings: read } = readGlobalSettings(configMapEntries(settings), `ConfigMap ${configMap}`);
  for (const ref of settingReferences(read)) await namedObject(client, snapshot, ref.kind === 'Secret' ? 'secrets' : 'configMaps', ref.name, log);
}

/** The object `key` (`namespace/name`) of a kind: from the lists, else one GET, added to the snapshot. Not found, or
 * not readable (reported: translate then finds it missing, as serve would not): undefined. */
async function namedObject(client: KubeClient, snapshot: Snapshot, field: KindField, key: string, log: Logger): Promise<Obj | undefined> {
  const listed = snapshot[field].find((o) => objectName(o, true) === key);
  if (listed) return listed;
  const spec = KINDS[field];
  const slash = key.indexOf('/');
  const path = `${groupVersionPath(spec)}/namespaces/${encodeURIComponent(key.slice(0, slash))}/${spec.resource}/${encodeURIComponent(key.slice(slash + 1))}`;
  try {
    const o = await client.request<unknown>('GET', path);
    if (!isObject(o)) return undefined;
    const got: Obj = { apiVersion: apiVersionOf(spec), kind: spec.kind, ...o };
    snapshot[field].push(got);
    return got;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return undefined;
    if (e instanceof ApiError && (e.status === 403 || e.status === 401)) {
      log.warn({ component: 'check', resource: spec.resource, object: key, status: e.status }, `cannot get ${spec.kind} ${key} (${e.status}): it is reported as missing`);
      return undefined;
    }
    throw e;
  }
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
