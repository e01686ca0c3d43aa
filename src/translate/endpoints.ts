// Rules B1-B16, service-name, service-port: from a Service reference to the addresses HAProxy dials. Kept apart from
// routes so that endpoint churn can be resolved without re-translating routes. Whatever is skipped is reported: a
// Service the API server would have refused (checked once per object, reported whether used or not), and the parts
// of the EndpointSlices of a used Service that cannot be dialled.
import { isIP } from 'node:net';
import type { Backend, BackendPolicy, Diagnostic, Server, ServiceRef } from '../model/types.js';
import { cmp, objectRef } from './diagnostics.js';
import { isDns1035Label, isDns1123Label, isDns1123Subdomain, isIanaServiceName, isIpAddress, isPortNumber } from './grammar.js';
import { isObject } from '../k8s/objects.js';
import type { Obj } from '../k8s/objects.js';
import { IdentityTracker } from './identity-diff.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface EndpointIndex {
  services: Map<string, Obj>; // namespace/name
  slices: Map<string, Obj[]>; // namespace/service-name
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
  /** What the API server would have refused in each Service (non-empty lists only), reported whether used or not. */
  readonly serviceFindings = new Map<string, Diagnostic[]>();
  private readonly services = new IdentityTracker<Obj>();
  private readonly slices = new IdentityTracker<Obj>();

  update(services: Obj[], slices: Obj[]): Set<string> {
    const changed = new Set<string>();
    const s = this.services.diff(services);
    for (const o of s.removed) {
      const key = serviceKeyOf(o);
      if (this.index.services.get(key) === o) {
        this.index.services.delete(key);
        this.serviceFindings.delete(key);
      }
      changed.add(key);
    }
    for (const o of s.added) {
      const key = serviceKeyOf(o);
      this.index.services.set(key, o);
      const findings = checkService(o).findings;
      if (findings.length > 0) this.serviceFindings.set(key, findings);
      else this.serviceFindings.delete(key);
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

/** A value from an object, for a message: JSON-quoted (a newline cannot forge a log line) and cut short. */
function quote(v: unknown, max: number): string {
  if (v === undefined) return '(missing)';
  const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? typeof v);
  return JSON.stringify(text.slice(0, max));
}

function nsOf(m: Obj): string {
  return typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : 'default';
}

interface ServicePort {
  name: string;
  port: number;
  /** A port number or an IANA port name; the Service port when the Service leaves it unset (API defaulting). */
  targetPort: number | string;
  protocol: string;
}

interface ServiceCheck {
  /** The ports a backend may use: valid, and not ambiguous with another. */
  ports: ServicePort[];
  /** Ports left out, by the number and the name an Ingress could refer to them by, with the reason. */
  refused: { port: unknown; name: unknown; why: string }[];
  findings: Diagnostic[];
}

const PROTOCOLS: readonly unknown[] = ['TCP', 'UDP', 'SCTP'];
const checked = new WeakMap<Obj, ServiceCheck>();

/**
 * The API server's rules for a Service's name and ports (ValidateService): what breaks one leaves that port (or,
 * for the name, the Service, which no valid Ingress can name anyway) out with an error on the Service. Ports that
 * share a name, or a number and protocol, are all left out: which one an Ingress or an EndpointSlice meant is
 * anybody's guess.
 */
function checkService(svc: Obj): ServiceCheck {
  const known = checked.get(svc);
  if (known) return known;
  const m = isObject(svc.metadata) ? svc.metadata : {};
  const spec = isObject(svc.spec) ? svc.spec : {};
  const object = objectRef('Service', { namespace: nsOf(m), name: typeof m.name === 'string' ? m.name : '' });
  const findings: Diagnostic[] = [];
  const error = (field: string, rule: string, message: string): void => {
    findings.push({ level: 'error', object, field, rule, message });
  };
  if (typeof m.name !== 'string' || !isDns1035Label(m.name))
    error('metadata.name', 'service-name', `name ${quote(m.name, 253)} must be a DNS-1035 label (lowercase letters, digits and "-", starting with a letter); no Ingress can use this Service`);
  if (m.namespace !== undefined && m.namespace !== '' && (typeof m.namespace !== 'string' || !isDns1123Label(m.namespace)))
    error('metadata.namespace', 'service-name', `namespace ${quote(m.namespace, 253)} must be a DNS-1123 label`);
  if (spec.ports !== undefined && spec.ports !== null && !Array.isArray(spec.ports)) error('spec.ports', 'service-port', 'ports must be a list');
  const raw = Array.isArray(spec.ports) ? (spec.ports as unknown[]) : [];
  const refused: ServiceCheck['refused'] = [];
  const candidates: { i: number; p: ServicePort }[] = [];
  raw.forEach((p, i) => {
    const field = `spec.ports[${i}]`;
    if (!isObject(p)) {
      error(field, 'service-port', 'each port must be an object');
      return;
    }
    const problems: [string, string][] = [];
    if (!isPortNumber(p.port)) problems.push([`${field}.port`, `port ${quote(p.port, 64)} must be a number between 1 and 65535`]);
    const protocol = p.protocol === undefined || p.protocol === null ? 'TCP' : p.protocol;
    if (!PROTOCOLS.includes(protocol)) problems.push([`${field}.protocol`, `protocol ${quote(protocol, 64)} must be TCP, UDP or SCTP`]);
    const name = p.name === undefined || p.name === null ? '' : p.name;
    if (typeof name !== 'string' || (name !== '' && !isDns1123Label(name))) problems.push([`${field}.name`, `port name ${quote(name, 64)} must be a DNS-1123 label`]);
    else if (name === '' && raw.length > 1) problems.push([`${field}.name`, 'every port needs a name when a Service has several ports']);
    const t = p.targetPort;
    let targetPort: number | string = isPortNumber(p.port) ? p.port : 0;
    if (typeof t === 'number' && t !== 0) {
      if (isPortNumber(t)) targetPort = t;
      else problems.push([`${field}.targetPort`, `targetPort ${quote(t, 32)} must be between 1 and 65535`]);
    } else if (typeof t === 'string' && t !== '') {
      if (isIanaServiceName(t)) targetPort = t;
      else problems.push([`${field}.targetPort`, `targetPort ${JSON.stringify(t.slice(0, 64))} must be a port number or an IANA port name`]);
    } else if (t !== undefined && t !== null && t !== 0 && t !== '') problems.push([`${field}.targetPort`, 'targetPort must be a number or a name']);
    for (const [f, message] of problems) error(f, 'service-port', `${message}; this port is left out`);
    if (problems.length > 0) {
      refused.push({ port: p.port, name, why: `${problems[0]![0]}: ${problems[0]![1]}` });
      return;
    }
    candidates.push({ i, p: { name: name as string, port: p.port as number, targetPort, protocol: protocol as string } });
  });
  // Duplicates: every port sharing a name, or a number and protocol, with another is left out.
  const ambiguous = new Set<number>();
  const firstByName = new Map<string, number>();
  const firstByPort = new Map<string, number>();
  for (const c of candidates) {
    const byName = c.p.name === '' ? undefined : firstByName.get(c.p.name);
    if (c.p.name !== '' && byName === undefined) firstByName.set(c.p.name, c.i);
    if (byName !== undefined) {
      error(`spec.ports[${c.i}].name`, 'service-port', `duplicate port name ${JSON.stringify(c.p.name)} (also spec.ports[${byName}]); both are left out`);
      ambiguous.add(byName).add(c.i);
    }
    const key = `${c.p.port}/${c.p.protocol}`;
    const byPort = firstByPort.get(key);
    if (byPort === undefined) firstByPort.set(key, c.i);
    else {
      error(`spec.ports[${c.i}].port`, 'service-port', `duplicate port ${key} (also spec.ports[${byPort}]); both are left out`);
      ambiguous.add(byPort).add(c.i);
    }
  }
  for (const c of candidates) if (ambiguous.has(c.i)) refused.push({ port: c.p.port, name: c.p.name, why: `spec.ports[${c.i}] is ambiguous with another port` });
  const result = { ports: candidates.filter((c) => !ambiguous.has(c.i)).map((c) => c.p), refused, findings };
  checked.set(svc, result);
  return result;
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

/**
 * A server's name in its section. A protocol other than plain HTTP is part of it: a spare section may serve a backend
 * of another protocol after a server of the same address lingered there (deleted, waiting for its connections), and
 * the runtime path brings such a server back by name; the same name must mean the same server options.
 */
export function serverName(address: string, port: number, policy?: BackendPolicy): string {
  return `ep_${address.replace(/[.:]/g, '_')}_${port}${policy?.protocol ? `_${policy.protocol}` : ''}${policy?.tls ? `_tls${policy.tls.id}` : ''}`;
}

export function resolveBackend(name: string, ref: ServiceRef, users: Iterable<string>, idx: EndpointIndex, policy?: BackendPolicy): { backend: Backend; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const svcKey = refServiceKey(ref);
  const portText = ref.port === 0 ? '(its first port)' : String(ref.port);
  const withPolicy = (b: Backend): Backend => (policy ? { ...b, policy } : b);
  // proxy-ssl-secret unusable: ingress-nginx denies the location (503).
  if (policy?.tls && 'refused' in policy.tls) return { backend: withPolicy({ name, ref, unavailable: `proxy-ssl-secret: ${policy.tls.refused}`, servers: [] }), diagnostics };
  const unavailable = (reason: string, rule: string): { backend: Backend; diagnostics: Diagnostic[] } => {
    for (const u of users) diagnostics.push({ level: 'warning', object: u, field: `backend ${svcKey}:${ref.port}`, rule, message: `${reason}; requests get 503` });
    return { backend: withPolicy({ name, ref, unavailable: reason, servers: [] }), diagnostics };
  };
  const svc = idx.services.get(svcKey);
  if (!svc) return unavailable(`Service ${svcKey} not found`, 'B3');
  const spec = isObject(svc.spec) ? svc.spec : {};
  const check = checkService(svc);
  // Refused ports are matched loosely ("80" for 80), so the message names the port the Ingress meant.
  // Port 0 (default-backend): the Service's first port, as ingress-nginx takes spec.ports[0].
  const first = check.ports[0];
  const named = (p: { port: unknown; name: unknown }): boolean =>
    ref.port === 0 ? first !== undefined && p.port === first.port && p.name === first.name : typeof ref.port === 'number' ? String(p.port) === String(ref.port) : p.name === ref.port;
  const matching = check.ports.filter(named);
  const sp = matching.find((p) => p.protocol === 'TCP');
  const refused = ref.port === 0 ? undefined : check.refused.find(named);
  if (refused) return unavailable(`Service ${svcKey} port ${portText} is invalid (${refused.why})`, 'B3');

  if (spec.type === 'ExternalName') {
    const raw = typeof spec.externalName === 'string' ? spec.externalName : '';
    const host = raw.endsWith('.') ? raw.slice(0, -1) : raw;
    if (!isDns1123Subdomain(host) || forbiddenExternalName(host)) {
      const d = { level: 'error' as const, object: objectRef('Service', { namespace: ref.namespace, name: ref.service }), field: 'spec.externalName', rule: 'B15', message: `externalName ${JSON.stringify(raw.slice(0, 253))} must be a DNS name other than localhost or an IP address` };
      const r = unavailable(`Service ${svcKey} has an unusable externalName`, 'B15');
      r.diagnostics.push(d);
      return r;
    }
    const port = sp ? (typeof sp.targetPort === 'number' ? sp.targetPort : sp.port) : typeof ref.port === 'number' ? ref.port : 0;
    if (!isPortNumber(port)) return unavailable(`Service ${svcKey} has no port ${portText}`, 'B3');
    return { backend: withPolicy({ name, ref, servers: [], externalName: { host, port } }), diagnostics };
  }
  if (!sp) {
    const other = matching[0];
    return unavailable(other ? `Service ${svcKey} port ${portText} is ${other.protocol}; Ingress traffic is TCP` : `Service ${svcKey} has no port ${portText}`, 'B3');
  }
  // service-upstream: the cluster IP and the Service port, as kube-proxy (or a mesh) balances them; a headless Service
  // falls back to its endpoints, as ingress-nginx does when it finds no cluster IP.
  const clusterIp = typeof spec.clusterIP === 'string' ? canonicalIp(spec.clusterIP) : undefined;
  if (policy?.serviceUpstream && clusterIp !== undefined && isPortNumber(sp.port)) {
    return { backend: withPolicy({ name, ref, servers: [{ name: serverName(clusterIp, sp.port, policy), address: clusterIp, port: sp.port, ready: true }] }), diagnostics };
  }

  const ready = new Map<string, Server>();
  const fallback = new Map<string, Server>();
  for (const slice of idx.slices.get(svcKey) ?? []) {
    const meta = isObject(slice.metadata) ? slice.metadata : {};
    const sliceRef = objectRef('EndpointSlice', { namespace: nsOf(meta), name: typeof meta.name === 'string' ? meta.name : '' });
    const report = (level: Diagnostic['level'], field: string, rule: string, message: string): void => {
      diagnostics.push({ level, object: sliceRef, field, rule, message });
    };
    const addressType = slice.addressType;
    if (addressType !== 'IPv4' && addressType !== 'IPv6') {
      // B7: FQDN is deprecated (and was never dialled by kube-proxy); anything else the API server refuses.
      if (addressType === 'FQDN') report('warning', 'addressType', 'B7', `addressType FQDN is not supported (Portico dials IP addresses); this slice is not used for Service ${svcKey}`);
      else report('error', 'addressType', 'B7', `addressType ${quote(addressType, 64)} must be IPv4 or IPv6; this slice is not used`);
      continue;
    }
    const slicePorts = Array.isArray(slice.ports) ? (slice.ports as unknown[]) : [];
    const k = slicePorts.findIndex(
      (p) => isObject(p) && (typeof p.name === 'string' ? p.name : '') === sp.name && (p.protocol === undefined || p.protocol === null || p.protocol === 'TCP'),
    );
    const match = k >= 0 ? (slicePorts[k] as Obj) : undefined;
    let port: number | undefined;
    if (match && isPortNumber(match.port)) port = match.port;
    else if (match) report('error', `ports[${k}].port`, 'B5', `port ${quote(match.port, 64)} must be a number between 1 and 65535; the Service's targetPort is used instead if it is a number`);
    if (port === undefined && typeof sp.targetPort === 'number') port = sp.targetPort; // B6 (targetPort defaults to the port)
    if (port === undefined) {
      const portName = sp.name === '' ? 'unnamed TCP port' : `TCP port named ${JSON.stringify(sp.name)}`;
      report('warning', 'ports', 'B6', `the slice has no usable ${portName}, and Service ${svcKey} port ${sp.port} has the named targetPort ${JSON.stringify(sp.targetPort)}, which only the slice can resolve; this slice is not used`);
      continue;
    }
    const endpoints = Array.isArray(slice.endpoints) ? (slice.endpoints as unknown[]) : [];
    let skipped = 0;
    let first: { field: string; why: string } | undefined;
    const skip = (field: string, why: string): void => {
      skipped++;
      first ??= { field, why };
    };
    endpoints.forEach((ep, i) => {
      if (!isObject(ep)) return skip(`endpoints[${i}]`, 'the endpoint is not an object');
      const addresses = Array.isArray(ep.addresses) ? (ep.addresses as unknown[]) : [];
      const address = addresses[0]; // B8
      if (address === undefined) return skip(`endpoints[${i}].addresses`, 'the endpoint has no address');
      const canonical = typeof address === 'string' ? canonicalIp(address) : undefined;
      const quoted = quote(address, 64);
      if (typeof address !== 'string' || canonical === undefined) return skip(`endpoints[${i}].addresses[0]`, `${quoted} is not an IP address`);
      if ((addressType === 'IPv4') !== (isIP(canonical) === 4)) return skip(`endpoints[${i}].addresses[0]`, `${quoted} is not an ${addressType} address, as the slice's addressType requires`);
      const cond = isObject(ep.conditions) ? ep.conditions : {};
      const isReady = cond.ready !== false; // B9
      const serving = cond.serving === undefined || cond.serving === null ? isReady : cond.serving !== false; // B10
      const terminating = cond.terminating === true;
      const server: Server = { name: serverName(canonical, port, policy), address: canonical, port, ready: isReady };
      if (isReady) ready.set(server.name, server);
      else if (serving && terminating) fallback.set(server.name, { ...server, ready: false }); // B12
    });
    if (first) report('error', first.field, 'B8', `${first.why}; ${skipped === 1 ? 'this endpoint is' : `this endpoint and ${skipped - 1} more of this slice are`} not used`);
  }
  const chosen = ready.size > 0 ? ready : fallback;
  const servers = [...chosen.values()].sort((a, b) => cmp(a.name, b.name));
  if (servers.length === 0) return unavailable(`Service ${svcKey} has no ready endpoints`, 'B13');
  return { backend: withPolicy({ name, ref, servers }), diagnostics };
}

/**
 * An IP address as HAProxy is given it (IPv6 in its shortest form), or undefined. Node's isIP accepts an IPv6 zone
 * (`fe80::1%eth0`), which the API server refuses, a server line cannot carry, and the URL parser throws on.
 */
function canonicalIp(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return address;
  if (family !== 6 || address.includes('%')) return undefined;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}
