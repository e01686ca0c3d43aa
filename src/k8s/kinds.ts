// The one registry of the object kinds Portico reads. Sources (manifest files, the Kubernetes API), the store,
// translate's input and per-object isolation all take their list of kinds from here: reading a new kind is one entry
// here plus the code that uses it.
import type { Obj } from './objects.js';
import { isObject, objectName } from './objects.js';

export interface KindSpec {
  /** `kind` as written in objects. */
  kind: string;
  /** API group ('' for the core group) and version, as in `apiVersion`. */
  group: string;
  version: string;
  /** The API's plural resource name (the URL path segment and the RBAC resource). */
  resource: string;
  namespaced: boolean;
  /** The objects' content is `data` (Secrets, ConfigMaps): what an isolation diagnostic names as the field at fault
   * (`metadata` otherwise). */
  dataKind?: true;
  /** What of an object is kept once read (sources call it on every object): for kinds that are many and large, of
   * which Portico reads a little. Absent: the whole object. */
  retain?: (o: Obj) => Obj;
}

/**
 * A ConfigMap as translate reads it: its name, resourceVersion and creation time (isolation and events), and `data`.
 * Every namespace has one (kube-root-ca.crt, about 1.2 KB of certificate); kubectl's last-applied annotation doubles a
 * ConfigMap, managedFields add as much again, and binaryData no annotation reads: those are dropped.
 */
export function retainConfigMap(o: Obj): Obj {
  const m = isObject(o.metadata) ? o.metadata : {};
  const metadata: Obj = {};
  for (const k of ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp'] as const) if (m[k] !== undefined) metadata[k] = m[k];
  const out: Obj = { metadata };
  if (typeof o.apiVersion === 'string') out.apiVersion = o.apiVersion;
  if (typeof o.kind === 'string') out.kind = o.kind;
  if (o.data !== undefined) out.data = o.data;
  return out;
}

/**
 * By the Snapshot field that holds each kind's objects. The order is the order of dependence, which per-object
 * isolation bisects in (src/isolate.ts): an object that only matters through another comes before it.
 */
export const KINDS = {
  ingressClasses: { kind: 'IngressClass', group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses', namespaced: false },
  ingresses: { kind: 'Ingress', group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', namespaced: true },
  services: { kind: 'Service', group: '', version: 'v1', resource: 'services', namespaced: true },
  endpointSlices: { kind: 'EndpointSlice', group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespaced: true },
  secrets: { kind: 'Secret', group: '', version: 'v1', resource: 'secrets', namespaced: true, dataKind: true },
  configMaps: { kind: 'ConfigMap', group: '', version: 'v1', resource: 'configmaps', namespaced: true, dataKind: true, retain: retainConfigMap },
} as const satisfies Record<string, KindSpec>;

export type KindField = keyof typeof KINDS;

/** Every kind's field, in the registry's order. */
export const KIND_FIELDS = Object.keys(KINDS) as KindField[];

/** The objects translate reads: what a source put in the store, one list per kind. */
export type Snapshot = Record<KindField, Obj[]>;

export function emptySnapshot(): Snapshot {
  return perKind(() => []);
}

/** One value per kind, made by `make`. */
export function perKind<T>(make: (field: KindField) => T): Record<KindField, T> {
  return Object.fromEntries(KIND_FIELDS.map((f) => [f, make(f)])) as Record<KindField, T>;
}

const BY_KIND = new Map<string, KindField>(KIND_FIELDS.map((f) => [KINDS[f].kind, f]));

/** The field an object of a kind Portico reads belongs in (by `kind` and `apiVersion`'s group), else undefined. */
export function kindFieldOf(o: Obj): KindField | undefined {
  const field = BY_KIND.get(typeof o.kind === 'string' ? o.kind : '');
  if (field === undefined) return undefined;
  const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return group === KINDS[field].group ? field : undefined;
}

/** `namespace/name`, or `name` for a cluster-scoped kind: how an object is known within its kind. */
export function keyOf(field: KindField, o: Obj): string {
  return objectName(isObject(o) ? o : {}, KINDS[field].namespaced);
}

/** The API path prefix of a kind's collection, e.g. `/apis/networking.k8s.io/v1`. */
export function groupVersionPath(spec: KindSpec): string {
  return spec.group === '' ? `/api/${spec.version}` : `/apis/${spec.group}/${spec.version}`;
}
