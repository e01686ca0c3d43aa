// YAML builders for the objects Portico reads. They produce what the Kubernetes API would hand out for the same
// object (empty lists left out, EndpointSlice conditions spelled out) so tests exercise realistic input.
import { stringify } from 'yaml';
import type { Echo } from './echo.js';

// lineWidth 0: never fold long strings, so hostile or huge values reach Portico on one line as written.
const yaml = (obj: unknown): string => stringify(obj, { lineWidth: 0 });

/** Joins documents into one multi-document YAML text; empty strings are skipped. */
export function docs(...texts: string[]): string {
  return texts
    .filter((t) => t.trim() !== '')
    .map((t) => (t.endsWith('\n') ? t : `${t}\n`))
    .join('---\n');
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

export function service(o: { ns?: string; name: string; ports?: ServicePort[]; type?: string; externalName?: string; clusterIP?: string }): string {
  const spec: Record<string, unknown> = {};
  if (o.type !== undefined) spec.type = o.type;
  if (o.clusterIP !== undefined) spec.clusterIP = o.clusterIP;
  if (o.externalName !== undefined) spec.externalName = o.externalName;
  if (o.ports && o.ports.length > 0) {
    spec.ports = o.ports.map((p) => ({
      ...(p.name !== undefined ? { name: p.name } : {}),
      protocol: p.protocol ?? 'TCP',
      port: p.port,
      ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
    }));
  }
  return yaml({ apiVersion: 'v1', kind: 'Service', metadata: { name: o.name, namespace: o.ns ?? 'default' }, spec });
}

export function configMap(o: { ns?: string; name: string; data: Record<string, string> }): string {
  return yaml({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: o.name, namespace: o.ns ?? 'default' }, data: o.data });
}

export interface SliceEndpoint {
  ip: string;
  /** Default true. */
  ready?: boolean;
  /** Default: the value of ready, as the EndpointSlice controller sets it for a pod that is not terminating. */
  serving?: boolean;
  /** Default false. */
  terminating?: boolean;
}

export function endpointSlice(o: {
  ns?: string;
  name: string;
  service: string;
  ports: { name?: string; port: number; protocol?: string }[];
  endpoints: SliceEndpoint[];
  addressType?: string;
}): string {
  return yaml({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: o.name, namespace: o.ns ?? 'default', labels: { 'kubernetes.io/service-name': o.service } },
    addressType: o.addressType ?? 'IPv4',
    ports: o.ports.map((p) => ({ ...(p.name !== undefined ? { name: p.name } : {}), protocol: p.protocol ?? 'TCP', port: p.port })),
    endpoints: o.endpoints.map((e) => {
      const ready = e.ready ?? true;
      return { addresses: [e.ip], conditions: { ready, serving: e.serving ?? ready, terminating: e.terminating ?? false } };
    }),
  });
}

export interface IngressPath {
  path?: string;
  pathType: 'Exact' | 'Prefix' | 'ImplementationSpecific';
  service: string;
  /** A number, or the name of a Service port. */
  port: number | string;
}

export interface IngressOptions {
  ns?: string;
  name: string;
  /** Default 'portico'; null leaves spec.ingressClassName out. */
  className?: string | null;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  defaultBackend?: { service: string; port: number | string };
  tls?: { hosts?: string[]; secretName?: string }[];
  rules?: { host?: string; paths?: IngressPath[] }[];
}

const backend = (service: string, port: number | string) => ({ service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } });

export function ingress(o: IngressOptions): string {
  const metadata: Record<string, unknown> = { name: o.name, namespace: o.ns ?? 'default' };
  if (o.creationTimestamp !== undefined) metadata.creationTimestamp = o.creationTimestamp;
  if (o.annotations !== undefined) metadata.annotations = o.annotations;
  const spec: Record<string, unknown> = {};
  const className = o.className === undefined ? 'portico' : o.className;
  if (className !== null) spec.ingressClassName = className;
  if (o.defaultBackend) spec.defaultBackend = backend(o.defaultBackend.service, o.defaultBackend.port);
  if (o.tls && o.tls.length > 0) {
    spec.tls = o.tls.map((t) => ({ ...(t.hosts && t.hosts.length > 0 ? { hosts: t.hosts } : {}), ...(t.secretName !== undefined ? { secretName: t.secretName } : {}) }));
  }
  if (o.rules && o.rules.length > 0) {
    spec.rules = o.rules.map((r) => ({
      ...(r.host !== undefined ? { host: r.host } : {}),
      ...(r.paths !== undefined
        ? { http: { paths: r.paths.map((p) => ({ ...(p.path !== undefined ? { path: p.path } : {}), pathType: p.pathType, backend: backend(p.service, p.port) })) } }
        : {}),
    }));
  }
  return yaml({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata, spec });
}

export function ingressClass(o: { name: string; controller: string; isDefault?: boolean }): string {
  return yaml({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: o.name, ...(o.isDefault ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}) },
    spec: { controller: o.controller },
  });
}

/**
 * A Service and its EndpointSlices for a set of echo pods. Pods listening on different ports need a named
 * targetPort (as with container port names); they then get one slice per port number, as Kubernetes does.
 */
export function backendSet(o: { ns?: string; service: string; port?: number; portName?: string; targetPort?: number | string; pods: Echo[] }): string {
  const byPort = new Map<number, Echo[]>();
  for (const p of o.pods) byPort.set(p.port, [...(byPort.get(p.port) ?? []), p]);
  const only = byPort.size === 1 ? [...byPort.keys()][0] : undefined;
  const targetPort = o.targetPort ?? only;
  if (targetPort === undefined) throw new Error(`backendSet ${o.service}: pods listen on several ports; give a named targetPort`);
  const ns = o.ns ?? 'default';
  const sp = o.portName;
  const slices = [...byPort].map(([port, pods], i) =>
    endpointSlice({ ns, name: `${o.service}-${i + 1}`, service: o.service, ports: [{ ...(sp !== undefined ? { name: sp } : {}), port }], endpoints: pods.map((p) => ({ ip: p.ip })) }),
  );
  return docs(service({ ns, name: o.service, ports: [{ ...(sp !== undefined ? { name: sp } : {}), port: o.port ?? 80, targetPort }] }), ...slices);
}
