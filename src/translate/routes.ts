// Rules H5, P1-P16, M1-M8, D1-D6 and T9: owned, valid Ingresses merged into host groups.
import { ANY_HOST_KEY } from '../model/types.js';
import type { BasicAuth, BackendPolicy, BackendTls, Diagnostic, HostGroup, PathRoute, PathType, RegexRoute, RoutePolicy, RouteTarget, ServiceRef } from '../model/types.js';
import { regexPaths, regexRoutePolicy, routePolicy } from './annotations/index.js';
import type { ConfigMapValues } from './annotations/index.js';
import type { HttpsRedirectDefaults } from './annotations/redirects.js';
import { DEFAULT_NO_AUTH_LOCATIONS } from './settings/access.js';
import type { AccessDefaults } from './settings/access.js';
import type { LoadBalanceWord } from './annotations/balance.js';
import { customHeadersOf } from './annotations/custom-headers.js';
import { authProxyHeadersOf } from './annotations/auth-external.js';
import { canaryPolicyOf, isCanary } from './annotations/canary.js';
import { backendPolicyOf, speaksTls } from './annotations/upstream.js';
import { fastcgiParamsOf } from './annotations/fastcgi.js';
import { proxySslOf } from './proxy-ssl-secret.js';
import { affinityOf, backendKey } from './annotations/affinity.js';
import { authOf } from './annotations/auth-basic.js';
import { hostClientAuth } from './annotations/auth-tls.js';
import type { Obj } from '../k8s/objects.js';
import { literalRegex } from './path-regex.js';
import { cmp } from './diagnostics.js';
import type { BackendSpec, IngressInfo } from './validate-ingress.js';

export interface RouteOptions {
  /** The controller-wide defaults of the HTTP to HTTPS redirect (rule T9): flags, then the ConfigMap's keys. */
  https: HttpsRedirectDefaults;
  /** The ConfigMap's access-list defaults, global authentication and no-auth-locations; absent: none of them, and
   * ingress-nginx's default no-auth-locations. */
  access?: AccessDefaults;
  /** A Secret by namespace/name (basic authentication's users); the translator records which ones a group read, so
   * that a changed Secret rebuilds the groups that use it. Absent: no Secret exists. */
  secret?: (key: string) => Obj | undefined;
  /** A ConfigMap by namespace/name (custom-headers, auth-proxy-set-headers), recorded per group as Secrets are. */
  configMap?: (key: string) => Obj | undefined;
  /** The settings ConfigMap's `load-balance`: the annotation's value for an Ingress without one. */
  loadBalance?: LoadBalanceWord;
  /** The settings ConfigMap's global-allowed-response-headers (lowercase): the only names custom-headers may set. */
  allowedResponseHeaders?: readonly string[] | undefined;
  /** The settings ConfigMap's no-tls-redirect-locations: Ingress paths with one of these prefixes never redirect. */
  noTlsRedirectLocations?: readonly string[] | undefined;
}

/** What an Ingress's routes read from ConfigMaps, its findings pushed once per Ingress and group. */
function configMapResolver(opts: RouteOptions, diagnostics: Diagnostic[]): (ing: IngressInfo) => ConfigMapValues {
  const memo = new Map<IngressInfo, ConfigMapValues>();
  const lookup = opts.configMap ?? (() => undefined);
  return (ing) => {
    const known = memo.get(ing);
    if (known) return known;
    const out: ConfigMapValues = {};
    const custom = customHeadersOf(ing.annotations, ing, lookup, opts.allowedResponseHeaders);
    const proxy = authProxyHeadersOf(ing.annotations, ing, lookup);
    diagnostics.push(...custom.diagnostics, ...proxy.diagnostics);
    if (custom.refuse) out.customHeaders = 'refuse';
    else if (custom.headers) out.customHeaders = custom.headers;
    if (proxy.refuse) out.authProxySetHeaders = 'refuse';
    else if (proxy.headers) out.authProxySetHeaders = proxy.headers;
    memo.set(ing, out);
    return out;
  };
}

/** Whether a path is under no-auth-locations (ingress-nginx compares the Ingress path as written, by prefix). */
function authExempt(path: string, opts: RouteOptions): boolean {
  return (opts.access?.noAuthLocations ?? DEFAULT_NO_AUTH_LOCATIONS).some((l) => path.startsWith(l));
}

/** A path's policy without the redirect to HTTPS when the Ingress's path begins with one of `prefixes`
 * (ingress-nginx's force_no_ssl_redirect: it compares the location's path, not the request's). */
function withNoTlsRedirect(policy: RoutePolicy, path: string, prefixes: readonly string[] | undefined): RoutePolicy {
  if (!policy.redirectToHttps || prefixes === undefined || !prefixes.some((p) => path.startsWith(p))) return policy;
  const { preserveTrailingSlash: _kept, ...rest } = policy;
  return { ...rest, redirectToHttps: false };
}

/** The basic authentication of an Ingress's routes, its findings pushed once per Ingress and group. */
function authResolver(opts: RouteOptions, diagnostics: Diagnostic[]): (ing: IngressInfo) => BasicAuth | 'refuse' | undefined {
  const memo = new Map<IngressInfo, BasicAuth | 'refuse' | undefined>();
  return (ing) => {
    if (memo.has(ing)) return memo.get(ing);
    const r = authOf(ing.annotations, ing, opts.secret ?? (() => undefined));
    diagnostics.push(...r.diagnostics);
    const result = r.refuse ? 'refuse' : r.auth;
    memo.set(ing, result);
    return result;
  };
}

/**
 * The backend name HAProxy knows a Service port by, and the protocol it is spoken to with: every part passed a DNS
 * grammar and none contains `_`, so a protocol suffix can never be read as a port. Plain HTTP has no suffix.
 */
export function backendName(ref: ServiceRef, policy?: BackendPolicy): string {
  return `be_${ref.namespace}_${ref.service}_${ref.port}${policy?.protocol ? `_${policy.protocol}` : ''}${policy?.fastcgi ? `_app${policy.fastcgi.id}` : ''}${policy?.affinity ? '_sticky' : ''}${policy?.serviceUpstream ? '_svc' : ''}${policy?.tls ? `_tls${policy.tls.id}` : ''}${policy?.retry ? `_retry${policy.retry.id}` : ''}${policy?.balance ? `_lb${policy.balance.id}` : ''}${policy?.passthrough ? '_passthrough' : ''}`;
}

/** A backend as the routes of one host group (or the catch-all) use it: the Service port, how it is spoken to, by whom. */
export interface BackendUse {
  ref: ServiceRef;
  policy?: BackendPolicy;
  users: Set<string>;
}

/** A backend name's Service port and policy, as the routes named it. */
type BackendRefs = Map<string, { ref: ServiceRef; policy?: BackendPolicy }>;

/** Oldest first (rules M3, D2), then namespace/name: the order every "first wins" below relies on. */
export function byAge(a: IngressInfo, b: IngressInfo): number {
  return (a.created === b.created ? 0 : a.created < b.created ? -1 : 1) || cmp(a.key, b.key);
}

/** A path of a canary Ingress, waiting to attach to the route it names. */
interface CanaryPath {
  ing: IngressInfo;
  rule: number;
  pathIndex: number;
  path: string;
  pathType: PathType;
  backend: BackendSpec;
}

const hostOf = (key: string): string => (key === ANY_HOST_KEY ? '(any)' : key);

interface Candidate extends PathRoute {
  ing: IngressInfo;
  rule: number;
  pathIndex: number;
  /** The path is a regular expression (its Ingress has use-regex or rewrite-target). */
  regex?: true;
}

const TYPE_RANK: Record<PathType, number> = { Exact: 0, Prefix: 1, ImplementationSpecific: 2 };

/** Rule P10 among candidates sharing one map key: type, then raw length, then age, name and position. */
function rank(a: Candidate, b: Candidate): number {
  return (
    TYPE_RANK[a.pathType] - TYPE_RANK[b.pathType] ||
    b.path.length - a.path.length ||
    byAge(a.ing, b.ing) ||
    a.rule - b.rule ||
    a.pathIndex - b.pathIndex
  );
}

/** Rule P5: the prefix with one trailing slash removed, plus the `/` the HAProxy lookup appends to the request path. */
export function matchPrefix(path: string): string {
  const p = path === '' ? '/' : path;
  const q = p === '/' ? '' : p.endsWith('/') ? p.slice(0, -1) : p;
  return `${q}/`;
}

/** What one host group (or the catch-all) needs from the rest of translate: the Service ports its winning routes use. */
export type BackendUses = Map<string, BackendUse>;

export interface GroupResult {
  /** Absent when no rule names this host (a host only listed under `tls`). */
  group: HostGroup | undefined;
  uses: BackendUses;
  diagnostics: Diagnostic[];
}

export interface CatchAllResult {
  target: RouteTarget | undefined;
  uses: BackendUses;
  diagnostics: Diagnostic[];
}

/** The host keys an Ingress's routes depend on: its rules' hosts and its TLS hosts (which decide the T9 redirect). */
export function hostKeysOf(ing: IngressInfo): Set<string> {
  const keys = new Set<string>();
  for (const r of ing.rules) keys.add(r.host === '' ? ANY_HOST_KEY : r.host);
  for (const t of ing.tls) for (const h of t.hosts) keys.add(h);
  return keys;
}

/** Rule D1: an Ingress without rules competes for the catch-all default backend. */
export function isCatchAllCandidate(ing: IngressInfo): boolean {
  return ing.rules.length === 0 && ing.defaultBackend !== undefined;
}

/** How an Ingress's backends are spoken to (BackendPolicy), the proxy-ssl Secret read, its findings pushed once per
 * Ingress and group. */
type PolicyResolver = (ing: IngressInfo) => BackendPolicy | undefined;
function backendPolicyResolver(opts: RouteOptions, diagnostics: Diagnostic[]): PolicyResolver {
  const memo = new Map<IngressInfo, BackendPolicy | undefined>();
  return (ing) => {
    if (memo.has(ing)) return memo.get(ing);
    const v = ing.annotations;
    let tls: BackendTls | undefined;
    if (v.proxySslSecret !== undefined && !speaksTls(v)) {
      diagnostics.push({ level: 'warning', object: ing.ref, field: 'metadata.annotations', rule: 'proxy-ssl-secret', message: 'the proxy-ssl annotations apply only with backend-protocol HTTPS or GRPCS; they are not used' });
    } else if (v.proxySslSecret !== undefined) {
      const r = proxySslOf(v, ing, opts.secret ?? (() => undefined));
      diagnostics.push(...r.diagnostics);
      tls = r.tls;
    }
    const fastcgi = fastcgiParamsOf(v, ing, opts.configMap ?? (() => undefined));
    diagnostics.push(...fastcgi.diagnostics);
    const policy = backendPolicyOf(v.loadBalance === undefined && opts.loadBalance !== undefined ? { ...v, loadBalance: opts.loadBalance } : v, tls, fastcgi.params);
    memo.set(ing, policy);
    return policy;
  };
}

/** Rule D6 and the backend name for one Ingress backend; records the Service port it uses. `policy`: how it is spoken
 * to, when not as the Ingress's own annotations say (a canary's backend is spoken to as its main route's). */
function resolveTarget(
  ing: IngressInfo,
  backend: BackendSpec,
  field: string,
  refs: BackendRefs,
  diagnostics: Diagnostic[],
  as: { policy: BackendPolicy | undefined },
): string | undefined {
  if (backend.kind === 'resource') {
    diagnostics.push({
      level: 'warning',
      object: ing.ref,
      field,
      rule: 'D6',
      message: `resource backends (${JSON.stringify(`${backend.resourceKind}/${backend.name}`)}) are not supported; this backend is skipped`,
    });
    return undefined;
  }
  const ref: ServiceRef = { namespace: ing.namespace, service: backend.service, port: backend.port };
  const { policy } = as;
  const name = backendName(ref, policy);
  refs.set(name, policy ? { ref, policy } : { ref });
  return name;
}

function useOf(refs: BackendRefs, targets: RouteTarget[], byKey: Map<string, IngressInfo>): BackendUses {
  // Only routes that won become backends: a shadowed path must not produce a backend or warnings about it.
  const uses: BackendUses = new Map();
  const use = (backend: string, ingress: string): void => {
    const entry = uses.get(backend) ?? { ...refs.get(backend)!, users: new Set<string>() };
    const ing = byKey.get(ingress);
    if (ing) entry.users.add(ing.ref);
    uses.set(backend, entry);
  };
  for (const t of targets) {
    use(t.backend, t.source.ingress);
    // A canary's Service is a backend of its own, with a section and endpoints like any other.
    if (t.policy.canary) use(t.policy.canary.backend, t.policy.canary.ingress);
    // So is the default-backend annotation's.
    if (t.policy.defaultBackend) use(t.policy.defaultBackend, t.source.ingress);
  }
  return uses;
}

/**
 * One host group from the Ingresses with a rule or a TLS host on `key`. A group depends on nothing else, which is
 * what lets translate rebuild only the groups a change touches.
 */
export function buildGroup(key: string, contributors: IngressInfo[], opts: RouteOptions): GroupResult {
  const ingresses = [...contributors].sort(byAge);
  const diagnostics: Diagnostic[] = [];
  const refs: BackendRefs = new Map();
  // A canary Ingress's TLS section is not used, as ingress-nginx skips canaries when it sets up servers.
  const tlsHost = ingresses.some((i) => !isCanary(i.annotations) && i.tls.some((t) => t.hosts.includes(key)));

  // server-snippet applies to the whole host, as ingress-nginx's server block: the oldest Ingress with a rule on the
  // host that has one provides it (ingress-nginx keeps the first it sees, in the same order), the others are told.
  const onHost = (ing: IngressInfo): boolean => ing.rules.some((r) => (r.host === '' ? ANY_HOST_KEY : r.host) === key);
  const serverFrom = ingresses.find((ing) => ing.annotations.serverSnippet !== undefined && onHost(ing));
  for (const ing of ingresses) {
    if (ing === serverFrom || ing.annotations.serverSnippet === undefined || !onHost(ing)) continue;
    diagnostics.push({
      level: 'warning',
      object: ing.ref,
      field: 'metadata.annotations',
      rule: 'A5',
      message: `server-snippet: host ${key === ANY_HOST_KEY ? '(any)' : key} already has the server-snippet of ${serverFrom!.ref} (oldest first; same age: namespace/name order); this one is not used there`,
    });
  }
  const serverSnippet = serverFrom?.annotations.serverSnippet;
  const authFor = authResolver(opts, diagnostics);
  const configMapsFor = configMapResolver(opts, diagnostics);
  const policyFor = backendPolicyResolver(opts, diagnostics);
  // Client authentication is the host's (nginx's server): the oldest Ingress on it with auth-tls-secret decides for
  // every route of the host, whichever Ingress the route came from.
  const hostAuth = hostClientAuth(ingresses.filter((ing) => !isCanary(ing.annotations) && onHost(ing)), opts.secret ?? (() => undefined));
  if (hostAuth) diagnostics.push(...hostAuth.diagnostics);
  const policyOf = (ing: IngressInfo): RoutePolicy => {
    const base = routePolicy(ing.annotations, tlsHost, opts.https, serverSnippet, authFor(ing), configMapsFor(ing), opts.access);
    return hostAuth ? { ...base, clientCert: hostAuth.policy } : base;
  };
  // Paths under no-auth-locations take the Ingress's policy made without external authentication, once per Ingress.
  const exemptPolicies = new Map<IngressInfo, RoutePolicy>();
  const policyAt = (ing: IngressInfo, path: string, policy: RoutePolicy): RoutePolicy => {
    if (!authExempt(path, opts)) return policy;
    let p = exemptPolicies.get(ing);
    if (!p) {
      const base = routePolicy(ing.annotations, tlsHost, opts.https, serverSnippet, authFor(ing), configMapsFor(ing), opts.access, true);
      p = hostAuth ? { ...base, clientCert: hostAuth.policy } : base;
      exemptPolicies.set(ing, p);
    }
    return p;
  };

  const exact = new Map<string, Candidate[]>();
  const prefix = new Map<string, Candidate[]>();
  /** Where a path's candidates share one lookup key: the exact table, or the prefix table under P5's key. */
  const slot = (pathType: PathType, path: string): [Map<string, Candidate[]>, string] => (pathType === 'Exact' ? [exact, path] : [prefix, matchPrefix(path)]);
  const all: Candidate[] = [];
  let dflt: RouteTarget | undefined;
  let dfltFrom: IngressInfo | undefined;
  let declared = false;
  const canaries: CanaryPath[] = [];
  for (const ing of ingresses) {
    if (isCanary(ing.annotations)) {
      collectCanary(key, ing, canaries, diagnostics);
      continue;
    }
    let declares = false;
    ing.rules.forEach((rule, ri) => {
      if ((rule.host === '' ? ANY_HOST_KEY : rule.host) !== key) return;
      declares = true;
      const policy = policyOf(ing);
      rule.paths.forEach((p) => {
        const pi = p.index;
        const be = resolveTarget(ing, p.backend, `spec.rules[${ri}].http.paths[${pi}].backend`, refs, diagnostics, { policy: policyFor(ing) });
        if (be === undefined) return;
        const path = p.path === '' ? '/' : p.path;
        const pathPolicy = withNoTlsRedirect(policyAt(ing, path, policy), path, opts.noTlsRedirectLocations);
        const c: Candidate = { path, pathType: p.pathType, backend: be, policy: withDefaultBackend(withAffinity(pathPolicy, ing, path, be, refs), ing, refs, policyFor, be), source: { ingress: ing.key, rule: ri, path: pi }, ing, rule: ri, pathIndex: pi, ...(p.regex ? { regex: true as const } : {}) };
        all.push(c);
        const [table, k] = slot(p.pathType, path);
        const list = table.get(k) ?? [];
        list.push(c);
        table.set(k, list);
      });
    });
    declared ||= declares;
    if (!declares || !ing.defaultBackend) continue;
    const be = resolveTarget(ing, ing.defaultBackend, 'spec.defaultBackend', refs, diagnostics, { policy: policyFor(ing) });
    if (be === undefined) continue;
    if (dfltFrom) {
      diagnostics.push({
        level: 'warning',
        object: ing.ref,
        field: 'spec.defaultBackend',
        rule: 'D3',
        message: `host ${key === ANY_HOST_KEY ? '(any)' : key} already uses the default backend of ${dfltFrom.ref} (oldest first; same age: namespace/name order)`,
      });
      continue;
    }
    dflt = { backend: be, policy: withDefaultBackend(withAffinity(policyAt(ing, '/', policyOf(ing)), ing, '/', be, refs), ing, refs, policyFor, be), source: { ingress: ing.key, defaultBackend: true } };
    dfltFrom = ing;
  }
  const regexHost = ingresses.some((ing) => !isCanary(ing.annotations) && regexPaths(ing.annotations) && ing.rules.some((r) => (r.host === '' ? ANY_HOST_KEY : r.host) === key));
  // Which route answers a candidate's requests: on a plain host, the first by rank among those sharing its lookup key
  // (Prefix /foo/ over Prefix /foo). A regex host keeps one location per path text, so a kept candidate serves.
  const servedBy = (c: Candidate): Candidate => {
    if (regexHost) return c;
    const [table, k] = slot(c.pathType, c.path);
    return [...(table.get(k) ?? [c])].sort(rank)[0]!;
  };
  attachCanaries(key, canaries, all, refs, diagnostics, policyFor, servedBy);
  if (!declared) return { group: undefined, uses: new Map(), diagnostics };
  const passthrough = passthroughOf(key, ingresses.filter((ing) => !isCanary(ing.annotations) && onHost(ing)), all, dflt, refs, diagnostics);

  const pick = (list: Candidate[]): Candidate => {
    const sorted = [...list].sort(rank);
    const winner = sorted[0]!;
    for (const loser of sorted.slice(1)) {
      if (loser.path !== winner.path || loser.pathType !== winner.pathType) continue; // shadowed, not a conflict
      const sameIngress = loser.ing === winner.ing;
      diagnostics.push({
        level: 'warning',
        object: loser.ing.ref,
        field: `spec.rules[${loser.rule}].http.paths[${loser.pathIndex}]`,
        rule: sameIngress ? 'M4' : 'M3',
        message: sameIngress
          ? `duplicate of spec.rules[${winner.rule}].http.paths[${winner.pathIndex}] (${winner.pathType} ${winner.path} on ${key}); the first one wins`
          : `${winner.pathType} ${winner.path} on host ${key === ANY_HOST_KEY ? '(any)' : key} is already routed by ${winner.ing.ref}, which wins (oldest first; same age: namespace/name order); this path is ignored`,
      });
    }
    return winner;
  };
  const strip = (c: Candidate): PathRoute => ({ path: c.path, pathType: c.pathType, backend: c.backend, policy: c.policy, source: c.source });
  const group: HostGroup = regexHost
    ? { key, exact: [], prefix: [], regex: regexLocations(key, all, diagnostics) }
    : {
        key,
        exact: [...exact.entries()].sort(([a], [b]) => cmp(a, b)).map(([, list]) => strip(pick(list))),
        prefix: [...prefix.entries()].sort(([a], [b]) => cmp(a, b)).map(([k, list]) => ({ ...strip(pick(list)), matchPrefix: k })),
      };
  if (dflt) group.defaultBackend = dflt;
  // Oldest first, as ingress-nginx keeps the first Ingress's aliases for a server (translate.ts drops an alias that
  // another group has as its key or alias).
  const aliases = ingresses.find((ing) => ing.annotations.serverAlias !== undefined && ing.rules.some((r) => (r.host === '' ? ANY_HOST_KEY : r.host) === key))?.annotations.serverAlias?.filter((a) => a !== key);
  if (aliases && aliases.length > 0) group.aliases = aliases;
  // Any Ingress of the host asking for it makes the redirect server (ingress-nginx's BuildRedirects); a wildcard or
  // the any-host group has no other name.
  if (!key.startsWith('*') && ingresses.some((ing) => ing.annotations.fromToWwwRedirect === true && ing.rules.some((r) => r.host === key))) {
    group.wwwRedirectFrom = key.startsWith('www.') ? key.slice(4) : `www.${key}`;
  }
  // Oldest first: the first Ingress declaring this host with an app-root decides (nginx keeps the first `if`).
  const appRoot = ingresses.find((ing) => ing.annotations.appRoot !== undefined && ing.rules.some((r) => (r.host === '' ? ANY_HOST_KEY : r.host) === key))?.annotations.appRoot;
  if (appRoot !== undefined) group.appRoot = appRoot;
  if (tlsHost) group.tlsHost = true;
  if (hostAuth?.tls && key !== ANY_HOST_KEY) group.clientAuth = hostAuth.tls;
  if (passthrough) group.passthrough = passthrough.backend;
  // Oldest first: the first Ingress on the host with ssl-ciphers decides (ingress-nginx keeps the server's first).
  // The any-host group has no SNI name of its own to carry them.
  const sslCiphers = ingresses.find((ing) => !isCanary(ing.annotations) && ing.annotations.sslCiphers !== undefined && onHost(ing))?.annotations.sslCiphers;
  if (sslCiphers !== undefined && key !== ANY_HOST_KEY) group.sslCiphers = sslCiphers;
  const targets: RouteTarget[] = [...group.exact, ...group.prefix, ...(group.regex ?? []), ...(dflt ? [dflt] : [])];
  const uses = useOf(refs, targets, new Map(ingresses.map((i) => [i.key, i])));
  if (passthrough?.backend) uses.set(passthrough.backend, { ...refs.get(passthrough.backend)!, users: new Set([passthrough.from.ref]) });
  return { group, uses, diagnostics };
}

/**
 * ssl-passthrough for one host (ingress-nginx's `getConfiguration`): when any Ingress with a rule on the host asks for
 * it, the host's TLS goes to the Service of its `/` location, whichever Ingress routes `/` (else the host's default
 * backend, which is what ingress-nginx's root location falls to). `backend` is '' when there is neither: the SNI's
 * connections are refused, as ingress-nginx's proxy fails to dial. The routes of the host to that Service port are
 * switched to HTTPS in place (`all` and `dflt` are changed), because the port speaks TLS: nginx proxies a passthrough
 * upstream with `https://` on its HTTP port.
 */
function passthroughOf(key: string, onHost: IngressInfo[], all: Candidate[], dflt: RouteTarget | undefined, refs: BackendRefs, diagnostics: Diagnostic[]): { backend: string; from: IngressInfo } | undefined {
  const asking = onHost.filter((ing) => ing.annotations.sslPassthrough === true);
  const first = asking[0];
  if (!first) return undefined;
  if (key === ANY_HOST_KEY || key.startsWith('*.')) {
    // ingress-nginx compares the SNI with the host as a string: a rule without host or a wildcard never matches one.
    for (const ing of asking) diagnostics.push({ level: 'warning', object: ing.ref, field: 'metadata.annotations', rule: 'A1', message: `ssl-passthrough: ${key === ANY_HOST_KEY ? 'a rule without host' : `the wildcard host ${key}`} matches no SNI exactly; its TLS stays terminated by Portico` });
    return undefined;
  }
  // A Prefix (or ImplementationSpecific) `/` serves the whole host; an Exact one only its root.
  const root = all.filter((c) => c.path === '/').sort((a, b) => Number(a.pathType === 'Exact') - Number(b.pathType === 'Exact') || rank(a, b))[0];
  const rootBackend = root?.backend ?? dflt?.backend;
  const from = root?.ing ?? onHost.find((ing) => ing.key === dflt?.source.ingress) ?? first;
  if (rootBackend === undefined) {
    diagnostics.push({ level: 'warning', object: first.ref, field: 'metadata.annotations', rule: 'A1', message: `ssl-passthrough: host ${key} has no path / and no default backend to pass its TLS connections to; they are refused` });
    return { backend: '', from };
  }
  const used = refs.get(rootBackend)!;
  // service-upstream keeps its meaning (the cluster IP, which is what ingress-nginx's proxy always dials); nothing
  // else of the route's backend policy concerns raw TLS.
  const tcp: BackendPolicy = used.policy?.serviceUpstream ? { passthrough: true, serviceUpstream: true } : { passthrough: true };
  const backend = backendName(used.ref, tcp);
  refs.set(backend, { ref: used.ref, policy: tcp });
  if (used.policy?.protocol === undefined) {
    const policy: BackendPolicy = { ...used.policy, protocol: 'https' };
    const https = backendName(used.ref, policy);
    refs.set(https, { ref: used.ref, policy });
    for (const c of all) if (c.backend === rootBackend) c.backend = https;
    if (dflt?.backend === rootBackend) dflt.backend = https;
  }
  return { backend, from };
}

/** A canary Ingress's paths on `key`; its default backend is reported once, in the group of its first rule. */
function collectCanary(key: string, ing: IngressInfo, out: CanaryPath[], diagnostics: Diagnostic[]): void {
  ing.rules.forEach((rule, ri) => {
    if ((rule.host === '' ? ANY_HOST_KEY : rule.host) !== key) return;
    for (const p of rule.paths) out.push({ ing, rule: ri, pathIndex: p.index, path: p.path === '' ? '/' : p.path, pathType: p.pathType, backend: p.backend });
  });
  const first = ing.rules[0];
  if (ing.defaultBackend && first && (first.host === '' ? ANY_HOST_KEY : first.host) === key) diagnostics.push(canaryDefaultBackend(ing));
}

function canaryDefaultBackend(ing: IngressInfo): Diagnostic {
  return {
    level: 'warning',
    object: ing.ref,
    field: 'spec.defaultBackend',
    rule: 'canary-unmatched',
    message: 'the default backend of a canary Ingress is not used: Portico attaches a canary to the routes of its paths only',
  };
}

/**
 * ingress-nginx's mergeAlternativeBackends, per route: each canary path attaches to the routes of Ingresses without
 * `canary` that have its host, path and path type, winners and losers of a conflict alike (only winners are kept),
 * oldest canary first; a route keeps the first canary it got (balancer.lua uses the first alternative backend only).
 * The canary's backend is spoken to with the route's protocol, as nginx's location decides the proxy_pass scheme.
 */
function attachCanaries(
  key: string,
  canaries: CanaryPath[],
  mains: Candidate[],
  refs: BackendRefs,
  diagnostics: Diagnostic[],
  policyFor: PolicyResolver,
  servedBy: (c: Candidate) => Candidate,
): void {
  const attached = new Map<Candidate, IngressInfo>();
  for (const k of canaries) {
    const field = `spec.rules[${k.rule}].http.paths[${k.pathIndex}]`;
    const warn = (rule: string, message: string): void => void diagnostics.push({ level: 'warning', object: k.ing.ref, field, rule, message });
    const matches = mains.filter((c) => c.path === k.path && c.pathType === k.pathType);
    if (matches.length === 0) {
      warn('canary-unmatched', `no Ingress without canary routes ${k.pathType} ${k.path} on host ${hostOf(key)}: this canary path serves nothing`);
      continue;
    }
    if (k.backend.kind === 'resource') {
      resolveTarget(k.ing, k.backend, `${field}.backend`, refs, diagnostics, { policy: undefined });
      continue;
    }
    // The route that serves: pick (and regexLocations, which takes candidates in this same order) keeps the first of
    // equal paths by rank, i.e. M3 then M4. A loser is dropped anyway, so only the kept route can make the canary
    // change nothing (it already sends to that Service port) or leave it unused (it already has an older canary).
    const kept = [...matches].sort(rank)[0]!;
    // The kept route may itself answer nothing: another path with the same lookup key outranks it (a longer raw path,
    // or Prefix over ImplementationSpecific). ingress-nginx splits by Service, so its canary would still get traffic.
    const serving = servedBy(kept);
    if (serving !== kept) {
      warn('canary-unmatched', `${k.pathType} ${k.path} on host ${hostOf(key)} is answered by ${serving.pathType} ${serving.path} of ${serving.ing.ref}, which outranks it (rule P10): this canary path serves nothing`);
      continue;
    }
    let shadowedBy: IngressInfo | undefined;
    let samePort = false;
    for (const c of matches) {
      const other = attached.get(c);
      if (other) {
        // Only a canary on the kept route shadows this one: one attached to a loser serves nothing.
        if (c === kept) shadowedBy = other;
        continue;
      }
      // affinity-canary-behavior (the canary Ingress's): sticky, the default, gives the canary the route's affinity,
      // as ingress-nginx copies the main upstream's affinity to the alternative one; legacy leaves it out.
      const sticky = c.policy.affinity !== undefined && k.ing.annotations.affinityCanaryBehavior !== 'legacy';
      const mainPolicy = policyFor(c.ing);
      const canaryPolicy = sticky || !mainPolicy?.affinity ? mainPolicy : mainPolicy.protocol ? { protocol: mainPolicy.protocol, ...(mainPolicy.tls ? { tls: mainPolicy.tls } : {}), ...(mainPolicy.fastcgi ? { fastcgi: mainPolicy.fastcgi } : {}) } : undefined;
      const be = resolveTarget(k.ing, k.backend, `${field}.backend`, refs, diagnostics, { policy: canaryPolicy });
      if (be === undefined) continue;
      if (be === c.backend) {
        if (c === kept) samePort = true;
        continue;
      }
      const affinity = c.policy.affinity && sticky ? { ...c.policy.affinity, canary: { backend: be, backendKey: backendKey(refs.get(be)!.ref) } } : c.policy.affinity;
      c.policy = { ...c.policy, canary: canaryPolicyOf(k.ing.annotations, be, k.ing.key), ...(affinity ? { affinity } : {}) };
      attached.set(c, k.ing);
    }
    if (shadowedBy)
      warn('canary-shadowed', `${k.pathType} ${k.path} on host ${hostOf(key)} already has the canary of ${shadowedBy.ref} (oldest first; same age: namespace/name order); this canary path is not used`);
    if (samePort) warn('canary-unmatched', `${k.pathType} ${k.path} on host ${hostOf(key)} already sends to this Service port; the canary changes nothing there`);
  }
}

/**
 * The paths of a host some Ingress of which has `use-regex` or `rewrite-target`, as ingress-nginx writes such a
 * server: every path becomes a location `~* "^<path>"` (case-insensitive, anchored at the start only), whatever its
 * type and whichever Ingress it comes from; a Prefix path of an Ingress without those annotations first becomes two,
 * `<path>/` and `<path>` (its `updateServerLocations`), unless an Exact path already is `<path>`. The locations are
 * tried longest path first, equal lengths in reverse byte order (its sort in `createServers`), and the first match
 * wins. Two Ingresses with one location path: the oldest wins (M3), as everywhere.
 *
 * Differences, written in docs/annotations.md: a path of an Ingress without the annotations is matched as literal
 * text (nginx reads its `.` as any character), and each top-level `|` branch is anchored too (`^/a|/b` in nginx
 * finds `/b` anywhere).
 */
function regexLocations(key: string, candidates: Candidate[], diagnostics: Diagnostic[]): RegexRoute[] {
  const exactPaths = new Set(candidates.filter((c) => c.pathType === 'Exact').map((c) => c.path));
  const byPath = new Map<string, RegexRoute & { from: Candidate }>();
  const add = (c: Candidate, path: string): void => {
    const winner = byPath.get(path);
    if (winner) {
      if (winner.from !== c)
        diagnostics.push({
          level: 'warning',
          object: c.ing.ref,
          field: `spec.rules[${c.rule}].http.paths[${c.pathIndex}]`,
          rule: winner.from.ing === c.ing ? 'M4' : 'M3',
          message: `path ${path} on host ${key === ANY_HOST_KEY ? '(any)' : key} (a host with regular-expression paths) is already routed by ${winner.from.ing.ref}${winner.from.ing === c.ing ? '' : ', which wins (oldest first; same age: namespace/name order)'}; this path is ignored`,
        });
      return;
    }
    const pattern = c.regex ? c.path : literalRegex(path);
    byPath.set(path, { path, pathType: c.pathType, backend: c.backend, policy: regexRoutePolicy(c.ing.annotations, c.policy, path, pattern), source: c.source, pattern, from: c });
  };
  // Candidates come oldest Ingress first, each in its own order: the first to claim a location path keeps it.
  for (const c of candidates) {
    if (c.regex || c.pathType !== 'Prefix' || c.path === '/') {
      add(c, c.path);
      continue;
    }
    add(c, c.path.endsWith('/') ? c.path : `${c.path}/`);
    if (!exactPaths.has(c.path)) add(c, c.path);
  }
  return [...byPath.values()]
    .sort((a, b) => b.path.length - a.path.length || cmp(b.path, a.path))
    .map(({ from: _from, ...route }) => route);
}

/**
 * A route's policy with its Ingress's default-backend annotation: the Service's first port (ingress-nginx takes
 * `spec.ports[0]`), spoken to as the Ingress's paths speak to theirs (ingress-nginx copies the route's upstream), without
 * affinity. A default backend that is the route's own backend changes nothing and is left out.
 */
function withDefaultBackend(policy: RoutePolicy, ing: IngressInfo, refs: BackendRefs, policyFor: PolicyResolver, route: string): RoutePolicy {
  const service = ing.annotations.defaultBackend;
  if (service === undefined) return policy;
  const main = policyFor(ing);
  const { affinity: _affinity, ...rest } = main ?? {};
  const as: BackendPolicy | undefined = Object.keys(rest).length > 0 ? rest : undefined;
  const ref: ServiceRef = { namespace: ing.namespace, service, port: 0 };
  const name = backendName(ref, as);
  refs.set(name, as ? { ref, policy: as } : { ref });
  // The error page is fetched from the default backend's servers in plain HTTP/1 (policy/custom-http-errors.ts).
  const plain = as?.protocol === undefined;
  return withCustomHttpErrors({ ...policy, defaultBackend: name }, ing, plain ? refs.get(route)?.ref : undefined);
}

/**
 * A route's policy with its Ingress's custom-http-errors, which needs the default-backend annotation (Portico has no
 * controller-wide default backend): the error backend learns the route's Ingress and Service port, as ingress-nginx's
 * location variables hold them.
 */
function withCustomHttpErrors(policy: RoutePolicy, ing: IngressInfo, ref: ServiceRef | undefined): RoutePolicy {
  const codes = ing.annotations.customHttpErrors;
  // disable-proxy-intercept-errors: nginx's proxy_intercept_errors stays off, so the backend's own answer goes out.
  if (codes === undefined || codes.length === 0 || ref === undefined || ing.annotations.disableProxyInterceptErrors === true) return policy;
  return { ...policy, customHttpErrors: { codes: [...codes], namespace: ing.namespace, ingress: ing.name, service: ref.service, port: String(ref.port) } };
}

/** A route's policy with its Ingress's affinity, whose cookie path defaults to the route's path as written. */
function withAffinity(policy: RoutePolicy, ing: IngressInfo, path: string, backend: string, refs: BackendRefs): RoutePolicy {
  const affinity = affinityOf(ing.annotations, path, backend, refs.get(backend)!.ref);
  return affinity ? { ...policy, affinity } : policy;
}

/** Rules D1, D2: the oldest rule-less Ingress with a default backend takes the traffic no host group matches. */
export function buildCatchAll(candidates: IngressInfo[], opts: RouteOptions): CatchAllResult {
  const diagnostics: Diagnostic[] = [];
  const refs: BackendRefs = new Map();
  let winner: { target: RouteTarget; ing: IngressInfo } | undefined;
  const authFor = authResolver(opts, diagnostics);
  const configMapsFor = configMapResolver(opts, diagnostics);
  const policyFor = backendPolicyResolver(opts, diagnostics);
  for (const ing of [...candidates].sort(byAge)) {
    if (!ing.defaultBackend) continue;
    if (isCanary(ing.annotations)) {
      diagnostics.push(canaryDefaultBackend(ing));
      continue;
    }
    const be = resolveTarget(ing, ing.defaultBackend, 'spec.defaultBackend', refs, diagnostics, { policy: policyFor(ing) });
    if (be === undefined) continue;
    if (winner) {
      diagnostics.push({
        level: 'warning',
        object: ing.ref,
        field: 'spec.defaultBackend',
        rule: 'D2',
        message: `the catch-all default backend of ${winner.ing.ref} wins (oldest first; same age: namespace/name order)`,
      });
      continue;
    }
    winner = { ing, target: { backend: be, policy: withDefaultBackend(withAffinity(routePolicy(ing.annotations, false, opts.https, undefined, authFor(ing), configMapsFor(ing), opts.access, authExempt('/', opts)), ing, '/', be, refs), ing, refs, policyFor, be), source: { ingress: ing.key, defaultBackend: true } } };
  }
  const uses: BackendUses = winner ? useOf(refs, [winner.target], new Map([[winner.ing.key, winner.ing]])) : new Map<string, BackendUse>();
  return { target: winner?.target, uses, diagnostics };
}
