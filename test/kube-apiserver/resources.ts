// The resource types this stand-in serves, with the per-type facts the real registry strategies encode
// (pkg/registry/*/strategy.go in kubernetes/kubernetes): scope, subresources, whether metadata.generation tracks spec,
// whether PUT may create, and which field selectors the type accepts (pkg/registry/*/strategy.go GetAttrs /
// AddFieldLabelConversionFunc in pkg/apis/*/v1/conversion.go).
import { createHash } from 'node:crypto';
import type { KubeObject } from './types.js';
import { isMap } from './types.js';

export interface ResourceType {
  group: string;
  version: string;
  /** Plural, lower case: the path segment. */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Has a /status subresource: PUT/PATCH of the main resource leave status alone, and /status changes only status. */
  statusSubresource: boolean;
  /** metadata.generation starts at 1 and bumps whenever anything but metadata and status changes. */
  generation: boolean;
  /** PUT of a missing object creates it (AllowCreateOnUpdate in the registry strategy). */
  createOnUpdate: boolean;
  /** Field selector labels beyond metadata.name and metadata.namespace, and how to read them. */
  fields: Record<string, (o: KubeObject) => string>;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v === undefined || v === null ? '' : JSON.stringify(v);
}

function at(o: unknown, ...path: string[]): unknown {
  let cur = o;
  for (const p of path) cur = isMap(cur) ? cur[p] : undefined;
  return cur;
}

// pkg/apis/core/v1/conversion.go: the field labels the Event type converts.
const eventFields: Record<string, (o: KubeObject) => string> = {
  'involvedObject.kind': (o) => str(at(o, 'involvedObject', 'kind')),
  'involvedObject.namespace': (o) => str(at(o, 'involvedObject', 'namespace')),
  'involvedObject.name': (o) => str(at(o, 'involvedObject', 'name')),
  'involvedObject.uid': (o) => str(at(o, 'involvedObject', 'uid')),
  'involvedObject.apiVersion': (o) => str(at(o, 'involvedObject', 'apiVersion')),
  'involvedObject.resourceVersion': (o) => str(at(o, 'involvedObject', 'resourceVersion')),
  'involvedObject.fieldPath': (o) => str(at(o, 'involvedObject', 'fieldPath')),
  reason: (o) => str(o.reason),
  reportingComponent: (o) => str(o.reportingComponent),
  source: (o) => str(at(o, 'source', 'component')),
  type: (o) => str(o.type),
};

function rt(r: Partial<ResourceType> & Pick<ResourceType, 'group' | 'version' | 'resource' | 'singular' | 'kind' | 'namespaced'>): ResourceType {
  return {
    shortNames: [],
    categories: [],
    verbs: ALL_VERBS,
    statusSubresource: false,
    generation: false,
    createOnUpdate: false,
    fields: {},
    ...r,
  };
}

export const RESOURCE_TYPES: readonly ResourceType[] = [
  rt({ group: '', version: 'v1', resource: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], statusSubresource: true, fields: { 'status.phase': (o) => str(at(o, 'status', 'phase')) } }),
  rt({ group: '', version: 'v1', resource: 'services', singular: 'service', kind: 'Service', namespaced: true, shortNames: ['svc'], categories: ['all'], statusSubresource: true }),
  rt({ group: '', version: 'v1', resource: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true, fields: { type: (o) => str(o.type) } }),
  rt({ group: '', version: 'v1', resource: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] }),
  rt({ group: '', version: 'v1', resource: 'events', singular: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'], createOnUpdate: true, fields: eventFields }),
  rt({ group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', singular: 'ingress', kind: 'Ingress', namespaced: true, shortNames: ['ing'], statusSubresource: true, generation: true }),
  rt({ group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses', singular: 'ingressclass', kind: 'IngressClass', namespaced: false, generation: true }),
  rt({ group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', namespaced: true, generation: true }),
  rt({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', singular: 'lease', kind: 'Lease', namespaced: true }),
];

export function apiVersionOf(t: ResourceType): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

/** `ingresses.networking.k8s.io`, `services`: schema.GroupResource.String(), the form error messages use. */
export function qualifiedResource(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

export function typeKey(t: ResourceType): string {
  return `${t.group}/${t.resource}`;
}

export function findByPath(group: string, version: string, resource: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.resource === resource);
}

export function findByKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
}

/** Discovery's storageVersionHash: opaque to clients, stable per type. */
export function storageVersionHash(t: ResourceType): string {
  return createHash('sha256').update(`${t.group}/${t.version}/${t.kind}`).digest('base64').slice(0, 11) + '=';
}
