// The object store: the latest object of each kind by namespace/name, whichever source filled it.
import type { Snapshot } from '../translate/translate.js';
import { emptySnapshot } from '../translate/translate.js';
import { isObject } from '../translate/validate-ingress.js';

type Obj = Record<string, unknown>;

/** The kinds Portico reads, by `apiVersion` group and kind; anything else in a manifest is ignored. */
const KINDS: Record<string, { group: string; field: keyof Snapshot; namespaced: boolean }> = {
  Ingress: { group: 'networking.k8s.io', field: 'ingresses', namespaced: true },
  IngressClass: { group: 'networking.k8s.io', field: 'ingressClasses', namespaced: false },
  Service: { group: '', field: 'services', namespaced: true },
  EndpointSlice: { group: 'discovery.k8s.io', field: 'endpointSlices', namespaced: true },
  Secret: { group: '', field: 'secrets', namespaced: true },
};

export function kindOf(o: Obj): (typeof KINDS)[string] | undefined {
  const kind = typeof o.kind === 'string' ? o.kind : '';
  const k = KINDS[kind];
  if (!k) return undefined;
  const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return group === k.group ? k : undefined;
}

export function objectKey(o: Obj): string {
  const m = isObject(o.metadata) ? o.metadata : {};
  const k = kindOf(o);
  const name = typeof m.name === 'string' ? m.name : '';
  if (k && !k.namespaced) return `${String(o.kind)}/${name}`;
  const ns = typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : 'default';
  return `${String(o.kind)}/${ns}/${name}`;
}

export interface Duplicate {
  key: string;
  kept: string;
  ignored: string;
}

/**
 * Merges per-file objects into one snapshot. The same object in two files is a user mistake: the file that sorts
 * first wins, deterministically, and the other copy is reported.
 */
interface Entry {
  key: string;
  field: keyof Snapshot;
  obj: Obj;
}

/** Per file, the objects Portico reads with their keys: computed once per parsed file, not on every change. */
const entriesOf = new WeakMap<Obj[], Entry[]>();

function fileEntries(objects: Obj[]): Entry[] {
  let entries = entriesOf.get(objects);
  if (entries) return entries;
  entries = [];
  for (const o of objects) {
    const k = kindOf(o);
    if (!k) continue;
    const meta = isObject(o.metadata) ? o.metadata : {};
    // Manifests may leave the namespace out, as `kubectl apply` does: they land in "default".
    const obj = k.namespaced && (typeof meta.namespace !== 'string' || meta.namespace === '') ? { ...o, metadata: { ...meta, namespace: 'default' } } : o;
    entries.push({ key: objectKey(o), field: k.field, obj });
  }
  entriesOf.set(objects, entries);
  return entries;
}

export function snapshotFromFiles(files: Map<string, Obj[]>): { snapshot: Snapshot; duplicates: Duplicate[] } {
  const snapshot = emptySnapshot();
  const owners = new Map<string, string>();
  const duplicates: Duplicate[] = [];
  for (const [file, objects] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const { key, field, obj } of fileEntries(objects)) {
      const owner = owners.get(key);
      if (owner !== undefined) {
        duplicates.push({ key, kept: owner, ignored: file });
        continue;
      }
      owners.set(key, file);
      snapshot[field].push(obj);
    }
  }
  return { snapshot, duplicates };
}
