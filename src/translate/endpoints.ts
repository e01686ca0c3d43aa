// Rules B1-B16: from a Service reference to the addresses HAProxy dials. Kept apart from routes so that endpoint
// churn can be resolved without re-translating routes.
import { isIP } from 'node:net';
import type { Backend, Diagnostic, Server, ServiceRef } from '../model/types.js';
import { cmp, objectRef } from './diagnostics.js';
import { isDns1123Subdomain, isIpAddress, isPortNumber } from './grammar.js';
import { isObject } from './validate-ingress.js';
import { IdentityTracker } from './identity-diff.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

type Obj = Record<string, unknown>;

export interface EndpointIndex {
  services: Map<string, Obj>; // namespace/name
  slices: Map<string, Obj[]>; // namespace/service-name
}

export function indexEndpoints(services: Obj[], slices: Obj[]): EndpointIndex {
  const idx: EndpointIndex = { services: new Map(), slices: new Map() };
  for (const s of services) idx.services.set(serviceKeyOf(s), s);
  for (const s of slices) {
    const key = sliceServiceKeyOf(s);
    if (key === undefined) continue;
    const list = idx.slices.get(key) ?? [];
    list.push(s);
    idx.slices.set(key, list);
  }
  return idx;
}

/** The key a Service is indexed and reported under, from an Ingress backend's reference to it. */
export function refServiceKey(ref: ServiceRef): string {
  return `${ref.namespace}/${ref.service}`;
}

export function serviceKeyOf(svc: Obj): string {
  const m = isObject(svc.metadata) ? svc.metadata : {};
  return `${nsOf(m)}/${typeof m.name === 'string' ? m.name : ''}`;
}

/** `namespace/service` an EndpointSlice belongs to (its kubernetes.io/service-name label), if any. */
export function sliceServiceKeyOf(slice: Obj): string | undefined {
  const m = isObject(slice.metadata) ? slice.metadata : {};
  const labels = isObject(m.labels) ? m.labels : {};
  const svc = labels[SERVICE_NAME_LABEL];
  return typeof svc === 'string' ? `${nsOf(m)}/${svc}` : undefined;
}

/**
 * The same index, kept up to date from one snapshot to the next by object identity: work proportional to the
 * Services and EndpointSlices that changed. `update` returns the `namespace/service` keys whose inputs changed.
 */
export class LiveEndpointIndex {
  readonly index: EndpointIndex = { services: new Map(), slices: new Map() };
  private readonly services = new IdentityTracker<Obj>();
  private readonly slices = new IdentityTracker<Obj>();

  update(services: Obj[], slices: Obj[]): Set<string> {
    const changed = new Set<string>();
    const s = this.services.diff(services);
    for (const o of s.removed) {
      const key = serviceKeyOf(o);
      if (this.index.services.get(key) === o) this.index.services.delete(key);
      changed.add(key);
    }
    for (const o of s.added) {
      const key = serviceKeyOf(o);
      this.index.services.set(key, o);
      changed.add(key);
    }
    const e = this.slices.diff(slices);
    for (const o of e.removed) {
      const key = sliceServiceKeyOf(o);
      if (key === undefined) continue;
      const left = (this.index.slices.get(key) ?? []).filter((x) => x !== o);
      if (left.length > 0) this.index.slices.set(key, left);
      else this.index.slices.delete(key);
      changed.add(key);
    }
    for (const o of e.added) {
      const key = sliceServiceKeyOf(o);
      if (key === undefined) continue;
      this.index.slices.set(key, [...(this.index.slices.get(key) ?? []), o]);
      changed.add(key);
    }
    return changed;
  }
}

function nsOf(m: Obj): string {
  return typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : 'default';
}

interface ServicePort {
  name: string;
  port: number;
  targetPort: number | string | undefined;
  protocol: string;
}

function servicePorts(svc: Obj): ServicePort[] {
  const spec = isObject(svc.spec) ? svc.spec : {};
  const ports = Array.isArray(spec.ports) ? (spec.ports as unknown[]) : [];
  return ports.filter(isObject).map((p) => ({
    name: typeof p.name === 'string' ? p.name : '',
    port: typeof p.port === 'number' ? p.port : 0,
    targetPort: typeof p.targetPort === 'number' || typeof p.targetPort === 'string' ? p.targetPort : undefined,
    protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP',
  }));
}

/**
 * Hostnames an ExternalName Service may not point at: Portico's own loopback (admin port, HAProxy's sockets), and
 * IP literals in any spelling the resolver accepts (`127.1`, `2130706433`, `0x7f000001`): a real DNS name's last
 * label starts with a letter.
 */
function forbiddenExternalName(host: string): boolean {
  const last = host.slice(host.lastIndexOf('.') + 1);
  return host === 'localhost' || host.endsWith('.localhost') || isIpAddress(host) || !/^[a-z]/.test(last);
}

export function serverName(address: string, port: number): string {
  return `ep_${address.replace(/[.:]/g, '_')}_${port}`;
}

export function resolveBackend(name: string, ref: ServiceRef, users: Iterable<string>, idx: EndpointIndex): { backend: Backend; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const svcKey = refServiceKey(ref);
  const unavailable = (reason: string, rule: string): { backend: Backend; diagnostics: Diagnostic[] } => {
    for (const u of users) diagnostics.push({ level: 'warning', object: u, field: `backend ${svcKey}:${ref.port}`, rule, message: `${reason}; requests get 503` });
    return { backend: { name, ref, unavailable: reason, servers: [] }, diagnostics };
  };
  const svc = idx.services.get(svcKey);
  if (!svc) return unavailable(`Service ${svcKey} not found`, 'B3');
  const spec = isObject(svc.spec) ? svc.spec : {};
  const ports = servicePorts(svc);
  const sp = ports.find((p) => (typeof ref.port === 'number' ? p.port === ref.port : p.name === ref.port));

  if (spec.type === 'ExternalName') {
    const raw = typeof spec.externalName === 'string' ? spec.externalName : '';
    const host = raw.endsWith('.') ? raw.slice(0, -1) : raw;
    if (!isDns1123Subdomain(host) || forbiddenExternalName(host)) {
      const d = { level: 'error' as const, object: objectRef('Service', { namespace: ref.namespace, name: ref.service }), field: 'spec.externalName', rule: 'B15', message: `externalName ${JSON.stringify(raw.slice(0, 253))} must be a DNS name other than localhost or an IP address` };
      const r = unavailable(`Service ${svcKey} has an unusable externalName`, 'B15');
      r.diagnostics.push(d);
      return r;
    }
    const port = sp
      ? typeof sp.targetPort === 'number' && sp.targetPort !== 0 ? sp.targetPort : sp.port
      : typeof ref.port === 'number' ? ref.port : 0;
    if (!isPortNumber(port)) return unavailable(`Service ${svcKey} has no port ${ref.port}`, 'B3');
    return { backend: { name, ref, servers: [], externalName: { host, port } }, diagnostics };
  }
  if (!sp) return unavailable(`Service ${svcKey} has no port ${ref.port}`, 'B3');

  const ready = new Map<string, Server>();
  const fallback = new Map<string, Server>();
  for (const slice of idx.slices.get(svcKey) ?? []) {
    const addressType = slice.addressType;
    if (addressType !== 'IPv4' && addressType !== 'IPv6') continue; // B7: FQDN is deprecated
    const slicePorts = (Array.isArray(slice.ports) ? (slice.ports as unknown[]) : []).filter(isObject);
    const match = slicePorts.find(
      (p) => (typeof p.name === 'string' ? p.name : '') === sp.name && (p.protocol === undefined || p.protocol === null || p.protocol === 'TCP'),
    );
    let port: number | undefined = match && isPortNumber(match.port) ? match.port : undefined;
    if (port === undefined && typeof sp.targetPort === 'number' && isPortNumber(sp.targetPort)) port = sp.targetPort; // B6
    if (port === undefined && sp.targetPort === undefined && slicePorts.length === 0) port = sp.port; // targetPort defaults to port
    if (port === undefined) continue;
    const endpoints = (Array.isArray(slice.endpoints) ? (slice.endpoints as unknown[]) : []).filter(isObject);
    for (const ep of endpoints) {
      const addresses = Array.isArray(ep.addresses) ? (ep.addresses as unknown[]) : [];
      const address = addresses[0]; // B8
      if (typeof address !== 'string' || !isIpAddress(address)) continue;
      if ((addressType === 'IPv4') !== (isIP(address) === 4)) continue;
      const canonical = isIP(address) === 6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
      const cond = isObject(ep.conditions) ? ep.conditions : {};
      const isReady = cond.ready !== false; // B9
      const serving = cond.serving === undefined || cond.serving === null ? isReady : cond.serving !== false; // B10
      const terminating = cond.terminating === true;
      const server: Server = { name: serverName(canonical, port), address: canonical, port, ready: isReady };
      if (isReady) ready.set(server.name, server);
      else if (serving && terminating) fallback.set(server.name, { ...server, ready: false }); // B12
    }
  }
  const chosen = ready.size > 0 ? ready : fallback;
  const servers = [...chosen.values()].sort((a, b) => cmp(a.name, b.name));
  if (servers.length === 0) return unavailable(`Service ${svcKey} has no ready endpoints`, 'B13');
  return { backend: { name, ref, servers }, diagnostics };
}
