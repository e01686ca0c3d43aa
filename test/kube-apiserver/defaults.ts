// Per-kind defaulting and the few validations a test is likely to trip over, as the real registry strategies and
// pkg/apis/*/v1/defaults.go do them. Deliberately partial: see PROTOCOL.md.
import type { FieldError } from './api-errors.js';
import type { ResourceType } from './resources.js';
import type { JsonMap, KubeObject } from './types.js';
import { isMap } from './types.js';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

// k8s.io/apimachinery/pkg/util/validation/validation.go messages.
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_1123_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL_1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

export function validateName(t: ResourceType, name: string): FieldError[] {
  if (t.resource === 'namespaces') {
    if (name.length > 63) return [{ field: 'metadata.name', type: 'Invalid', value: name, detail: 'must be no more than 63 characters' }];
    return LABEL_1123.test(name) ? [] : [{ field: 'metadata.name', type: 'Invalid', value: name, detail: LABEL_1123_MSG }];
  }
  if (t.resource === 'services') {
    if (name.length > 63) return [{ field: 'metadata.name', type: 'Invalid', value: name, detail: 'must be no more than 63 characters' }];
    return LABEL_1035.test(name) ? [] : [{ field: 'metadata.name', type: 'Invalid', value: name, detail: LABEL_1035_MSG }];
  }
  if (name.length > 253) return [{ field: 'metadata.name', type: 'Invalid', value: name, detail: 'must be no more than 253 characters' }];
  return SUBDOMAIN.test(name) ? [] : [{ field: 'metadata.name', type: 'Invalid', value: name, detail: SUBDOMAIN_MSG }];
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** pkg/apis/networking/validation: pathType is required in v1, and Exact/Prefix paths must be absolute. */
function validateIngress(o: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isMap(o.spec) ? o.spec : {};
  list(spec.rules).forEach((rule, i) => {
    const http = isMap(rule) && isMap(rule.http) ? rule.http : undefined;
    list(http?.paths).forEach((p, j) => {
      if (!isMap(p)) return;
      const base = `spec.rules[${i}].http.paths[${j}]`;
      const pt = p.pathType;
      if (pt === undefined || pt === null || pt === '') errs.push({ field: `${base}.pathType`, type: 'Required', detail: 'pathType must be specified' });
      else if (pt !== 'Exact' && pt !== 'Prefix' && pt !== 'ImplementationSpecific')
        errs.push({ field: `${base}.pathType`, type: 'Unsupported', value: pt, detail: 'supported values: "Exact", "ImplementationSpecific", "Prefix"' });
      else if (pt !== 'ImplementationSpecific' && (typeof p.path !== 'string' || !p.path.startsWith('/')))
        errs.push({ field: `${base}.path`, type: 'Invalid', value: p.path ?? '', detail: 'must be an absolute path' });
    });
  });
  return errs;
}

/**
 * pkg/apis/core/validation/events.go legacyValidateEvent, the rules for Events written through core/v1: without
 * eventTime the Event must live in its involved object's namespace (or "default" for a cluster-scoped object); with
 * eventTime, the reporting fields are required.
 */
function validateEvent(o: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const ns = o.metadata.namespace ?? '';
  const involved = isMap(o.involvedObject) ? o.involvedObject : {};
  const involvedNs = typeof involved.namespace === 'string' ? involved.namespace : '';
  const mismatch: FieldError = { field: 'involvedObject.namespace', type: 'Invalid', value: involvedNs, detail: 'does not match event.namespace' };
  if (!o.eventTime) {
    if (involvedNs === '' ? ns !== '' && ns !== 'default' : ns !== involvedNs) errs.push(mismatch);
    return errs;
  }
  if (involvedNs === '' && ns !== 'default' && ns !== 'kube-system') errs.push(mismatch);
  const required = (field: string, v: unknown): void => {
    if (typeof v !== 'string' || v === '') errs.push({ field, type: 'Required', detail: '' });
    else if (field !== 'reportingComponent' && v.length > 128) errs.push({ field, type: 'Invalid', value: '', detail: 'can have at most 128 characters' });
  };
  required('reportingComponent', o.reportingComponent);
  required('reportingInstance', o.reportingInstance);
  required('action', o.action);
  required('reason', o.reason);
  return errs;
}

// pkg/apis/core/validation ValidateConfigMap: keys are IsConfigMapKey, values strings, the whole at most 1 MiB.
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;
const CONFIG_MAP_MAX_BYTES = 1024 * 1024;

function validateConfigMap(o: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  let bytes = 0;
  for (const field of ['data', 'binaryData'] as const) {
    const m = o[field];
    if (m === undefined || m === null) continue;
    if (!isMap(m)) {
      errs.push({ field, type: 'Invalid', value: '', detail: 'must be a map of strings' });
      continue;
    }
    for (const [k, v] of Object.entries(m)) {
      if (k.length > 253 || !CONFIG_MAP_KEY.test(k) || k === '.' || k === '..' || k.startsWith('..'))
        errs.push({ field: `${field}[${k}]`, type: 'Invalid', value: k, detail: "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')" });
      if (typeof v !== 'string') errs.push({ field: `${field}[${k}]`, type: 'Invalid', value: '', detail: 'must be a string' });
      else bytes += k.length + (field === 'data' ? Buffer.byteLength(v) : Math.floor((v.length * 3) / 4));
    }
  }
  if (bytes > CONFIG_MAP_MAX_BYTES) errs.push({ field: '', type: 'TooLong', value: '', detail: `must have at most ${CONFIG_MAP_MAX_BYTES} bytes` });
  return errs;
}

export function validate(t: ResourceType, o: KubeObject): FieldError[] {
  if (t.resource === 'ingresses') return validateIngress(o);
  if (t.resource === 'configmaps') return validateConfigMap(o);
  if (t.resource === 'events') return validateEvent(o);
  return [];
}

export class Allocator {
  private nextIp = 1;
  private nextNodePort = 30000;

  /** From the default service CIDR 10.96.0.0/12; 10.96.0.1 is the kubernetes Service's in a real cluster. */
  clusterIp(): string {
    const n = ++this.nextIp;
    return `10.96.${(n >> 8) & 255}.${n & 255}`;
  }

  nodePort(): number {
    return this.nextNodePort++;
  }
}

/** pkg/apis/core/v1/defaults.go SetDefaults_Service, plus the ClusterIP / NodePort allocation of the service REST storage. */
function defaultService(o: KubeObject, old: KubeObject | undefined, alloc: Allocator): void {
  const spec: JsonMap = isMap(o.spec) ? o.spec : (o.spec = {});
  const oldSpec = old && isMap(old.spec) ? old.spec : undefined;
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  const ports = list(spec.ports).filter(isMap);
  for (const p of ports) {
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
  }
  if (spec.type === 'ExternalName') return;
  // An update that omits allocated values keeps them (service REST "patchAllocatedValues").
  if (oldSpec) {
    spec.clusterIP ??= oldSpec.clusterIP;
    spec.clusterIPs ??= oldSpec.clusterIPs;
  }
  if (spec.clusterIP === undefined || spec.clusterIP === '') spec.clusterIP = alloc.clusterIp();
  spec.clusterIPs ??= [spec.clusterIP];
  spec.ipFamilies ??= ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
  spec.internalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
    spec.externalTrafficPolicy ??= 'Cluster';
    const oldPorts = list(oldSpec?.ports).filter(isMap);
    for (const p of ports) p.nodePort ??= oldPorts.find((q) => q.port === p.port)?.nodePort ?? alloc.nodePort();
  }
}

/** Secret: stringData is write-only and merged into data (pkg/apis/core/v1/conversion.go); type defaults to Opaque. */
function defaultSecret(o: KubeObject): void {
  o.type ??= 'Opaque';
  if (isMap(o.stringData)) {
    const data: JsonMap = isMap(o.data) ? o.data : (o.data = {});
    for (const [k, v] of Object.entries(o.stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  }
  delete o.stringData;
}

function defaultNamespace(o: KubeObject): void {
  const name = o.metadata.name ?? '';
  // The NamespaceDefaultLabelName feature: every namespace carries its own name as a label.
  o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
  o.spec = { finalizers: ['kubernetes'], ...(isMap(o.spec) ? o.spec : {}) };
}

function defaultEndpointSlice(o: KubeObject): void {
  for (const p of list(o.ports).filter(isMap)) p.protocol ??= 'TCP';
}

export function applyDefaults(t: ResourceType, o: KubeObject, old: KubeObject | undefined, alloc: Allocator): void {
  switch (t.resource) {
    case 'services':
      defaultService(o, old, alloc);
      break;
    case 'secrets':
      defaultSecret(o);
      break;
    case 'namespaces':
      defaultNamespace(o);
      break;
    case 'endpointslices':
      defaultEndpointSlice(o);
      break;
  }
}

/**
 * The status a freshly created object has: PrepareForCreate of types with a status subresource drops what the client
 * sent. Go's encoder then writes the empty struct, so an Ingress comes back with `status: {loadBalancer: {}}`.
 */
export function initialStatus(t: ResourceType): unknown {
  switch (t.resource) {
    case 'ingresses':
    case 'services':
      return { loadBalancer: {} };
    case 'namespaces':
      return { phase: 'Active' };
    default:
      return {};
  }
}
