// Rules V1-V24: the checks the API server applies to an Ingress (a failure leaves the whole Ingress out, as the API
// server would have refused it), plus Portico's own rules for paths (path-encoding, path-ambiguous, path-length,
// path-normalised: only that path is left out). Manifests from files never met an API server, so Portico applies
// the same checks itself.
import { isObject } from '../k8s/objects.js';
import type { Obj } from '../k8s/objects.js';
import { parseIngressAnnotations, regexPaths } from './annotations/index.js';
import { pathRegexProblem } from './path-regex.js';
import type { AnnotationValues } from './annotations/registry.js';
import { Findings, objectRef } from './diagnostics.js';
import { canonicalPath } from './path-canonical.js';
import {
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isIanaServiceName,
  isIpAddress,
  isPathSegmentName,
  isPortNumber,
  isQualifiedName,
  isWildcardDns1123Subdomain,
} from './grammar.js';
import type { PathType } from '../model/types.js';

export type BackendSpec =
  | { kind: 'service'; service: string; port: number | string }
  | { kind: 'resource'; resourceKind: string; name: string };

export interface IngressPath {
  /** The canonical form (path-canonical.ts): what requests are matched against, and the map key's path; for a
   * regular-expression path (`regex`), the expression as written, which passed path-regex.ts's grammar. */
  path: string;
  /** The Ingress has `use-regex` or `rewrite-target`: the path is a regular expression. */
  regex?: true;
  /** Position in `http.paths`: a path left out (Portico's path rules) leaves a gap, and diagnostics name the original. */
  index: number;
  pathType: PathType;
  backend: BackendSpec;
}

export interface IngressRule {
  host: string; // '' for a rule without host
  paths: IngressPath[];
}

export interface IngressInfo {
  namespace: string;
  name: string;
  key: string; // namespace/name
  ref: string; // "Ingress namespace/name"
  creationTimestamp: string; // '' when unknown
  /** creationTimestamp in ms since the epoch; a missing or unreadable one counts as newest (manifests have none). */
  created: number;
  className: string | undefined;
  classAnnotation: string | undefined;
  /** Typed values of the annotations Portico reads (src/translate/annotations/). */
  annotations: AnnotationValues;
  defaultBackend: BackendSpec | undefined;
  rules: IngressRule[];
  tls: { hosts: string[]; secretName: string }[];
}

/**
 * Longest path Portico routes, counted in its canonical (percent-encoded) form. A path becomes one map line (host,
 * path and route) that HAProxy reads into a 16 kB buffer, and one `add map` command on the runtime API, whose whole
 * command line (and each payload chunk of a map swap) must stay below the same 16 kB; a request line must also fit
 * HAProxy's 16 kB buffer with its headers. 2,048 leaves room for all of that, and for many entries per chunk.
 */
export const MAX_PATH_LENGTH = 2048;
const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];
const PATH_TYPES: readonly string[] = ['Exact', 'Prefix', 'ImplementationSpecific'];


export interface IngressValidationOptions {
  /** V4 applies on create only; manifests are always "created", objects from an API server were already admitted. */
  checkCreateOnlyRules: boolean;
}

export function validateIngress(
  raw: Obj,
  opts: IngressValidationOptions,
): { info: IngressInfo | undefined; findings: Findings } {
  const meta = isObject(raw.metadata) ? raw.metadata : {};
  const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  const name = typeof meta.name === 'string' ? meta.name : '';
  const f = new Findings(objectRef('Ingress', { namespace, name }));

  if (!isDns1123Subdomain(name)) f.error('metadata.name', 'V2', `name ${JSON.stringify(name)} must be a DNS-1123 subdomain`);
  if (!isDns1123Label(namespace))
    f.error('metadata.namespace', 'V2', `namespace ${JSON.stringify(namespace)} must be a DNS-1123 label`);

  // The API server admits annotations only as strings under qualified-name keys (kubectl refuses `ssl-redirect: false`
  // unquoted): anything else is left out, with an error, and the rest of the Ingress is served.
  const rawAnnotations: Record<string, string> = {};
  if (isObject(meta.annotations)) {
    for (const [k, v] of Object.entries(meta.annotations)) {
      if (!isQualifiedName(k)) {
        f.errorInPart('metadata.annotations', 'V1', `annotation key ${JSON.stringify(k.slice(0, 80))} is not a qualified name ([prefix/]name); it is ignored`);
      } else if (typeof v !== 'string') {
        f.errorInPart(`metadata.annotations[${k}]`, 'V1', `annotation values must be strings (quote ${JSON.stringify(v)?.slice(0, 40) ?? 'the value'} in YAML); it is ignored`);
      } else {
        rawAnnotations[k] = v;
      }
    }
  } else if (meta.annotations !== undefined && meta.annotations !== null) {
    f.errorInPart('metadata.annotations', 'V1', 'annotations must be a map of strings; they are ignored');
  }
  // Before the paths: use-regex and rewrite-target decide whether they are regular expressions.
  const annotations = parseIngressAnnotations(rawAnnotations, f, `${namespace}/${name}`);
  const regex = regexPaths(annotations);
  const spec = isObject(raw.spec) ? raw.spec : {};
  if (raw.spec !== undefined && !isObject(raw.spec)) f.error('spec', 'V1', 'spec must be an object');

  let className: string | undefined;
  if (spec.ingressClassName !== undefined && spec.ingressClassName !== null) {
    if (typeof spec.ingressClassName !== 'string' || !isDns1123Subdomain(spec.ingressClassName))
      f.error('spec.ingressClassName', 'V3', 'ingressClassName must be a DNS-1123 subdomain');
    else className = spec.ingressClassName;
  }
  const classAnnotation = rawAnnotations['kubernetes.io/ingress.class'];
  if (opts.checkCreateOnlyRules && className !== undefined && classAnnotation !== undefined && classAnnotation !== className)
    f.error(
      'metadata.annotations[kubernetes.io/ingress.class]',
      'V4',
      `annotation ${JSON.stringify(classAnnotation)} must match spec.ingressClassName ${JSON.stringify(className)}`,
    );

  const defaultBackend = spec.defaultBackend === undefined || spec.defaultBackend === null
    ? undefined
    : validateBackend(spec.defaultBackend, 'spec.defaultBackend', f);

  const rules: IngressRule[] = [];
  if (spec.rules !== undefined && spec.rules !== null && !Array.isArray(spec.rules)) f.error('spec.rules', 'V1', 'rules must be a list');
  const rawRules = Array.isArray(spec.rules) ? (spec.rules as unknown[]) : [];
  if (rawRules.length === 0 && spec.defaultBackend == null)
    f.error('spec', 'V1', 'either defaultBackend or rules must be specified');

  rawRules.forEach((r, i) => {
    const field = `spec.rules[${i}]`;
    if (!isObject(r)) {
      f.error(field, 'V1', 'rule must be an object');
      return;
    }
    const host = r.host === undefined || r.host === null ? '' : r.host;
    if (typeof host !== 'string') {
      f.error(`${field}.host`, 'V7', 'host must be a string');
      return;
    }
    if (host !== '') validateHost(host, `${field}.host`, f);
    const rule: IngressRule = { host, paths: [] };
    if (r.http !== undefined && r.http !== null) {
      const http = isObject(r.http) ? r.http : {};
      const paths = Array.isArray(http.paths) ? (http.paths as unknown[]) : [];
      if (paths.length === 0) f.error(`${field}.http.paths`, 'V9', 'paths must be a non-empty list when http is set');
      paths.forEach((p, j) => {
        const parsed = validatePath(p, j, `${field}.http.paths[${j}]`, f, regex);
        if (parsed) rule.paths.push(parsed);
      });
    }
    rules.push(rule);
  });

  const tls: { hosts: string[]; secretName: string }[] = [];
  if (spec.tls !== undefined && spec.tls !== null && !Array.isArray(spec.tls)) f.error('spec.tls', 'V24', 'tls must be a list');
  const rawTls = Array.isArray(spec.tls) ? (spec.tls as unknown[]) : [];
  rawTls.forEach((t, i) => {
    const field = `spec.tls[${i}]`;
    if (!isObject(t)) {
      f.error(field, 'V24', 'tls entry must be an object');
      return;
    }
    const hosts: string[] = [];
    const rawHosts = Array.isArray(t.hosts) ? (t.hosts as unknown[]) : [];
    rawHosts.forEach((h, j) => {
      if (typeof h !== 'string' || !(isDns1123Subdomain(h) || isWildcardDns1123Subdomain(h)) || isIpAddress(h))
        f.error(`${field}.hosts[${j}]`, 'V24', `TLS host ${JSON.stringify(h)} must be a DNS-1123 subdomain or a wildcard`);
      else hosts.push(h);
    });
    let secretName = '';
    if (t.secretName !== undefined && t.secretName !== null && t.secretName !== '') {
      if (typeof t.secretName !== 'string' || !isDns1123Subdomain(t.secretName))
        f.error(`${field}.secretName`, 'V24', 'secretName must be a DNS-1123 subdomain');
      else secretName = t.secretName;
    }
    tls.push({ hosts, secretName });
  });

  const meta2 = meta as { creationTimestamp?: unknown };
  const creationTimestamp = typeof meta2.creationTimestamp === 'string' ? meta2.creationTimestamp : '';
  const info: IngressInfo = {
    namespace,
    name,
    key: `${namespace}/${name}`,
    ref: f.object,
    creationTimestamp,
    created: creationTimestamp === '' || Number.isNaN(Date.parse(creationTimestamp)) ? Number.POSITIVE_INFINITY : Date.parse(creationTimestamp),
    className,
    classAnnotation,
    annotations,
    defaultBackend,
    rules,
    tls,
  };
  return { info: f.hasErrors ? undefined : info, findings: f };
}

function validateHost(host: string, field: string, f: Findings): void {
  if (isIpAddress(host)) {
    f.error(field, 'V6', `host ${JSON.stringify(host)} must be a DNS name, not an IP address`);
  } else if (host.includes('*')) {
    if (!isWildcardDns1123Subdomain(host))
      f.error(field, 'V8', `wildcard host ${JSON.stringify(host)} must be "*." followed by a DNS-1123 subdomain`);
  } else if (!isDns1123Subdomain(host)) {
    f.error(field, 'V7', `host ${JSON.stringify(host)} must be a lowercase DNS-1123 subdomain without port or trailing dot`);
  }
}

function validatePath(raw: unknown, index: number, field: string, f: Findings, regex: boolean): IngressPath | undefined {
  if (!isObject(raw)) {
    f.error(field, 'V9', 'path entry must be an object');
    return undefined;
  }
  const pathType = raw.pathType;
  if (pathType === undefined || pathType === null) {
    f.error(`${field}.pathType`, 'V11', 'pathType must be specified');
    return undefined;
  }
  if (typeof pathType !== 'string' || !PATH_TYPES.includes(pathType)) {
    f.error(`${field}.pathType`, 'V12', `pathType ${JSON.stringify(pathType)} is not one of Exact, Prefix, ImplementationSpecific`);
    return undefined;
  }
  const path = raw.path === undefined || raw.path === null ? '' : raw.path;
  const backend = validateBackend(raw.backend, `${field}.backend`, f);
  if (typeof path !== 'string') {
    f.error(`${field}.path`, 'V13', 'path must be a string');
    return undefined;
  }
  const pf = `${field}.path`;
  let apiValid = true;
  const refuse = (rule: string, message: string): void => {
    apiValid = false;
    f.error(pf, rule, message);
  };
  if (pathType === 'ImplementationSpecific') {
    if (path !== '' && !path.startsWith('/')) refuse('V16', `path ${quotePath(path)} must be empty or start with "/"`);
  } else {
    if (!path.startsWith('/')) refuse('V13', `path ${quotePath(path)} must start with "/" for pathType ${pathType}`);
    for (const seq of INVALID_PATH_SEQUENCES)
      if (path.includes(seq)) refuse('V14', `path must not contain ${JSON.stringify(seq)} for pathType ${pathType}`);
    for (const suf of INVALID_PATH_SUFFIXES)
      if (path.endsWith(suf)) refuse('V15', `path must not end with ${JSON.stringify(suf)} for pathType ${pathType}`);
  }
  if (!backend || !apiValid) return undefined;
  // Portico's own rules: only this path is left out, the rest of the Ingress is served.
  if (regex) {
    const expression = path === '' ? '/' : path;
    const problem = pathRegexProblem(expression);
    if (problem === undefined) return { path: expression, regex: true, index, pathType: pathType as PathType, backend };
    f.errorInPart(pf, 'path-regex', `path ${quotePath(path)} ${problem} (the Ingress has use-regex or rewrite-target); this path is left out`);
    return undefined;
  }
  const c = canonicalPath(path);
  if (!c.ok) {
    f.errorInPart(pf, c.problem === 'ambiguous' ? 'path-ambiguous' : 'path-encoding', `path ${quotePath(path)} ${c.reason}; this path is left out`);
    return undefined;
  }
  if (c.path.length > MAX_PATH_LENGTH) {
    f.errorInPart(pf, 'path-length', `path is ${c.path.length} characters in its canonical (percent-encoded) form; the limit is ${MAX_PATH_LENGTH}; this path is left out`);
    return undefined;
  }
  if (c.normalised)
    f.warn(pf, 'path-normalised', `path ${quotePath(path)} is served as ${quotePath(c.path)}: requests are matched with dot segments removed and runs of "/" merged, so the path as written could never match`);
  return { path: c.path, index, pathType: pathType as PathType, backend };
}

/** A path for a message: JSON-quoted (a newline cannot forge a log line) and at most 100 characters of it. */
function quotePath(path: string): string {
  return path.length > 100 ? `${JSON.stringify(path.slice(0, 100))}... (${path.length} characters)` : JSON.stringify(path);
}

function validateBackend(raw: unknown, field: string, f: Findings): BackendSpec | undefined {
  if (!isObject(raw)) {
    f.error(field, 'V18', 'resource or service backend is required');
    return undefined;
  }
  const hasService = raw.service !== undefined && raw.service !== null;
  const hasResource = raw.resource !== undefined && raw.resource !== null;
  if (hasService && hasResource) {
    f.error(field, 'V18', 'cannot set both resource and service backends');
    return undefined;
  }
  if (!hasService && !hasResource) {
    f.error(field, 'V18', 'resource or service backend is required');
    return undefined;
  }
  if (hasResource) {
    const res = isObject(raw.resource) ? raw.resource : {};
    const kind = typeof res.kind === 'string' ? res.kind : '';
    const name = typeof res.name === 'string' ? res.name : '';
    let ok = true;
    if (!isPathSegmentName(kind)) {
      ok = false;
      f.error(`${field}.resource.kind`, 'V23', 'resource kind is required and must be a valid path segment name');
    }
    if (!isPathSegmentName(name)) {
      ok = false;
      f.error(`${field}.resource.name`, 'V23', 'resource name is required and must be a valid path segment name');
    }
    if (res.apiGroup !== undefined && res.apiGroup !== null && (typeof res.apiGroup !== 'string' || !isDns1123Subdomain(res.apiGroup))) {
      ok = false;
      f.error(`${field}.resource.apiGroup`, 'V23', 'apiGroup must be a DNS-1123 subdomain');
    }
    return ok ? { kind: 'resource', resourceKind: kind, name } : undefined;
  }
  const svc = isObject(raw.service) ? raw.service : {};
  let ok = true;
  const name = svc.name;
  if (typeof name !== 'string' || name === '') {
    ok = false;
    f.error(`${field}.service.name`, 'V19', 'service name is required');
  } else if (!isDns1035Label(name)) {
    ok = false;
    f.error(`${field}.service.name`, 'V19', `service name ${JSON.stringify(name)} must be a DNS-1035 label`);
  }
  const port = isObject(svc.port) ? svc.port : {};
  const hasName = port.name !== undefined && port.name !== null && port.name !== '';
  const hasNumber = port.number !== undefined && port.number !== null && port.number !== 0;
  let portValue: number | string = 0;
  if (hasName && hasNumber) {
    ok = false;
    f.error(`${field}.service.port`, 'V20', 'cannot set both port name and port number');
  } else if (!hasName && !hasNumber) {
    ok = false;
    f.error(`${field}.service.port`, 'V20', 'port name or number is required');
  } else if (hasNumber) {
    if (!isPortNumber(port.number)) {
      ok = false;
      f.error(`${field}.service.port.number`, 'V21', 'port number must be between 1 and 65535');
    } else portValue = port.number;
  } else if (typeof port.name !== 'string' || !isIanaServiceName(port.name)) {
    ok = false;
    f.error(`${field}.service.port.name`, 'V22', `port name ${JSON.stringify(port.name)} must be an IANA service name`);
  } else portValue = port.name;
  return ok && typeof name === 'string' ? { kind: 'service', service: name, port: portValue } : undefined;
}
