// render(model) -> HAProxy artefacts: pure. User data (hosts, paths) only ever lands in map files, as keys that
// passed the DNS and RFC 3986 grammars in translate; the configuration text holds only names built from DNS labels
// and port numbers, and addresses that parsed as IPs. `assertToken` re-checks that here, so a future bug in
// translate fails closed instead of writing configuration.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { ANY_HOST_KEY, CATCH_ALL_KEY } from '../../model/types.js';
import { DEFAULT_CERTIFICATE_ID } from '../../model/types.js';
import type { Backend, BackendPolicy, BackendProtocol, BackendTls, CaFile, RetryPolicy, BalancePolicy, FastCgiPolicy, HashKeyPart, HashVariable, HostGroup, SniBinding, PathRoute, RegexRoute, RouteTarget, RoutingModel, Server } from '../../model/types.js';
import { bodyGateSections, bodyLimitFiles, bodySessionRules, bodyRules, globalBodyLimitLines } from './body-limit.js';
import type { Phase, PolicyDatum, PolicyFamily } from './policy/family.js';
import { CORS_FAMILY } from './policy/cors.js';
import { REDIRECT_FAMILY } from './policy/redirect.js';
import { CONNECTION_CLOSE_FAMILY } from './policy/connection-close.js';
import { UPSTREAM_VHOST_FAMILY } from './policy/upstream-vhost.js';
import { BODY_SIZE_FAMILY } from './policy/body-size.js';
import { TIMEOUT_FAMILY } from './policy/timeouts.js';
import { SOURCE_RANGE_FAMILY } from './policy/source-ranges.js';
import { AUTH_BASIC_FAMILY } from './policy/auth-basic.js';
import { REWRITE_FAMILY } from './policy/rewrite.js';
import { PROXY_REDIRECT_FAMILY } from './policy/proxy-redirect.js';
import { DEBUG_HEADERS_FAMILY } from './policy/debug-headers.js';
import { CANARY_FAMILY } from './policy/canary.js';
import { DEFAULT_BACKEND_FAMILY } from './policy/default-backend.js';
import { CUSTOM_ERRORS_FAMILY } from './policy/custom-http-errors.js';
import { AFFINITY_FAMILY } from './policy/affinity.js';
import { AUTH_FAMILY } from './policy/auth-external.js';
import { SATISFY_FAMILY } from './policy/satisfy.js';
import { SNIPPET_HEADERS_FAMILY, SNIPPET_RETURN_FAMILY } from './policy/snippets.js';
import { CUSTOM_HEADERS_FAMILY } from './policy/custom-headers.js';
import { SNIPPET_VARS_FAMILY } from './policy/snippet-variables.js';
import { RATE_LIMIT_FAMILY } from './policy/rate-limit.js';
import { AUTH_TLS_FAMILY } from './policy/auth-tls.js';
import { PASSTHROUGH_MAP, REFUSED, hopBind, passthroughSections, tcpSpareCount } from './passthrough.js';
import { MIRROR_FAMILY } from './policy/mirror.js';
import { assertInt, connectionRules, globalTlsLines, perClientTable, requestHygieneRules, responseEdgeRules } from './edge.js';
import type { EdgeSettings } from './edge.js';
import { serverHeaderRule, statusCodes, withGlobalSettings } from './global-settings.js';
import { compressionLines } from './compression.js';
import { requestIdLines } from './request-headers.js';
import { accessLogFrontendLines, accessLogGlobalLines, accessLogRequestIdRules, accessLogRingSection } from './access-log.js';
import { QUIET_ROUTE_FLAG } from '../../accesslog/wire.js';
import { balancesOnHash, MAX_SERVER_ID, serverIds } from './server-ids.js';
import type { StatusCodes } from './global-settings.js';
import { clientAddressFiles, clientAddressOf, clientAddressRules, listenerRules, notOffloaded } from './client-address.js';
import { BLOCK_MAPS, blockEntries, blockFeatures, blockRules } from './global-access.js';
import { globalDefaultsLines, globalSettingsFiles, globalRequestHeaderRules, globalRequestSaveRules, globalResponseHeaderRules, globalTuningLines, GLOBAL_HEADERS_MAP, httpsBindOptions } from './global-http.js';

export interface RenderOptions {
  /** Absolute directory for HAProxy's sockets: stable across configurations. */
  stateDir: string;
  /** Absolute directory holding this configuration's maps and certificates: one per generation, so a candidate
   * can be checked with `haproxy -c` without touching the files the running one uses. */
  filesDir: string;
  httpPort: number;
  httpsPort: number;
  /** Address the listeners bind to ('' = all addresses). */
  bindAddress: string;
  /** With no bind address: listen on every IPv6 address as well as every IPv4 address. */
  ipv6: boolean;
  /** HAProxy threads; 0 leaves HAProxy's own choice (every CPU it may run on). */
  threads: number;
  /** DNS servers (`ip:port`) HAProxy asks again and again for ExternalName targets; empty: names are resolved when a
   * configuration is loaded only. */
  resolvers: string[];
  /** Port the HTTP->HTTPS redirect points at (443 leaves it out of the URL). */
  httpsRedirectPort: number;
  maxConnections: number;
  /** Seconds old workers may keep serving long connections after a reload. */
  hardStopAfterSeconds: number;
  serverHeader: string;
  /** Empty backend sections (`spare_N`) that new Services are bound to at runtime, so that they need no reload. */
  spareBackends: number;
  timeouts: { connect: number; client: number; server: number; tunnel: number; httpRequest: number; keepAlive: number };
  edge: EdgeSettings;
  /** HAProxy writes a line per request for Portico's access log (src/accesslog/); absent: on. */
  accessLog?: boolean;
  /** Bytes of each worker's access log ring (`--access-log-buffer`); absent: ACCESS_LOG_RING_BYTES. */
  accessLogBufferBytes?: number;
}

export interface Artefacts {
  /** haproxy.cfg */
  config: string;
  /** Relative path inside stateDir -> file content: maps, certificates, crt-list. */
  files: Map<string, string>;
}

export const MAPS = {
  hosts: 'maps/hosts.map',
  wildcards: 'maps/wildcards.map',
  paths: 'maps/paths.map',
  defaults: 'maps/defaults.map',
  ...AUTH_TLS_FAMILY.maps,
  ...SOURCE_RANGE_FAMILY.maps,
  ...AUTH_BASIC_FAMILY.maps,
  ...RATE_LIMIT_FAMILY.maps,
  ...REDIRECT_FAMILY.maps,
  ...AUTH_FAMILY.maps,
  // After the authentication maps: a route's satisfy line is added after its users or auth URL, removed before them.
  ...SATISFY_FAMILY.maps,
  ...MIRROR_FAMILY.maps,
  ...TIMEOUT_FAMILY.maps,
  ...BODY_SIZE_FAMILY.maps,
  ...UPSTREAM_VHOST_FAMILY.maps,
  ...CONNECTION_CLOSE_FAMILY.maps,
  ...CORS_FAMILY.maps,
  ...REWRITE_FAMILY.maps,
  ...PROXY_REDIRECT_FAMILY.maps,
  ...CANARY_FAMILY.maps,
  ...DEFAULT_BACKEND_FAMILY.maps,
  ...CUSTOM_ERRORS_FAMILY.maps,
  ...AFFINITY_FAMILY.maps,
  ...SNIPPET_VARS_FAMILY.maps,
  ...SNIPPET_RETURN_FAMILY.maps,
  ...SNIPPET_HEADERS_FAMILY.maps,
  ...CUSTOM_HEADERS_FAMILY.maps,
  // --debug-headers (explain, issue 13).
  ...DEBUG_HEADERS_FAMILY.maps,
  /** The paths of hosts with regular-expression paths (use-regex, rewrite-target), in the order they are tried. */
  regexPaths: 'maps/paths-regex.map',
  /** Host group key -> the path its `/` redirects to (app-root). */
  appRoots: 'maps/app-roots.map',
  /** A host's other name (from-to-www-redirect) -> the host it redirects to. */
  hostRedirects: 'maps/host-redirects.map',
  /** A passthrough host (ssl-passthrough) -> the TCP section its TLS connections go to (passthrough.ts). */
  passthrough: PASSTHROUGH_MAP,
  /** The settings ConfigMap's block lists (global-access.ts), keyed by block or pattern. */
  ...BLOCK_MAPS,
} as const;
/** Ends every lookup in the paths map. HAProxy's `path` stops before the query, so it never holds a `?`: a key that
 * ends in one matches the whole request path only, while a key that ends in `/` matches every path below it. */
const PATH_END = '?';
export const CRT_LIST = 'certs/crt-list.txt';
export const DEFAULT_CERT = 'certs/default.pem';
export const ADMIN_SOCKET = 'haproxy.sock';
/** Header on HAProxy's own 503 page, removed before the response leaves: tells it apart from a backend's 503. */
const INTERNAL_MARK = 'x-portico-internal-error';

const TOKEN = /^[A-Za-z0-9_.:-]{1,300}$/;
/** A map key or value: no whitespace, nothing that starts a comment, nothing a map line could be split on. */
const MAP_WORD = /^[\x21-\x22\x24-\x7e]{1,4096}$/;

function assertToken(s: string, what: string): string {
  if (!TOKEN.test(s)) throw new Error(`render: refusing ${what} ${JSON.stringify(s)}: not a safe token`);
  return s;
}

function assertMapWord(s: string, what: string): string {
  if (!MAP_WORD.test(s)) throw new Error(`render: refusing ${what} ${JSON.stringify(s)}: not a safe map word`);
  return s;
}

function assertAddress(s: string): string {
  if (isIP(s) === 0) throw new Error(`render: refusing server address ${JSON.stringify(s)}`);
  return isIP(s) === 6 ? `[${s}]` : s;
}

function assertIntAtMost(n: number, max: number, what: string): number {
  if (n > max) throw new Error(`render: refusing ${what} ${n}: at most ${max}`);
  return n;
}

function assertPort(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`render: refusing port ${n}`);
  return n;
}

const APP_ROOT = /^\/[-._~A-Za-z0-9/:]{0,2047}$/;

/** Render's own check of an app-root path (translate's grammar is the same). */
function assertAppRoot(path: string): string {
  if (!APP_ROOT.test(path)) throw new Error(`render: refusing app-root ${JSON.stringify(path)}`);
  return path;
}

/** Which HAProxy backend section serves a model backend: its own, or a spare it was bound to at runtime. */
export type SectionOf = (backend: string) => string;
const OWN_SECTION: SectionOf = (b) => b;

/**
 * The value every routing map returns: `<flags>|<section>`, and `|<route id>` for a route with policy data. Two
 * flags, `-` when off: `r` asks for the HTTPS redirect (rule T9), `s` marks a host listed in a tls block, whose
 * HTTPS responses carry HSTS. Between them, only when set (so no other route's value changes), `q`: the route's
 * requests stay out of the access log (enable-access-log), which Portico reads from the logged value, and which no
 * rule of HAProxy tests: the redirect's test is on the first character, HSTS's on `s|`.
 */
export function routeValue(t: RouteTarget, sectionOf: SectionOf = OWN_SECTION, tlsHost = false): string {
  const redirect = t.policy.redirectToHttps ? (t.policy.preserveTrailingSlash ? 'R' : 'r') : '-';
  return `${redirect}${t.policy.noAccessLog ? QUIET_ROUTE_FLAG : ''}${tlsHost ? 's' : '-'}|${assertToken(sectionOf(t.backend), 'backend name')}`;
}

export type MapName = keyof typeof MAPS;
/** The rule of the HTTPS redirect that keeps a trailing slash: a feature without a map, read from the route's flags. */
const KEEP_TRAILING_SLASH = 'keepTrailingSlash';
/** What the frontend may have rules for: a feature map, or a rule of its own. */
export type Feature = MapName | typeof KEEP_TRAILING_SLASH;
/** The policy families' render sides (src/haproxy/render/policy/), in the order their rules run within a phase. */
// Every name a family's data and rules use is one of its own maps' names, which MAPS holds: the cast only merges
// the families' map-name types into MapName. Access lists come first (who may use the route at all); basic
// authentication's rules are the first of the upstream phase (after everything nginx answers in its rewrite phase,
// before what the backend receives is changed); then CORS, whose
// preflight answer precedes the redirect annotations' as in ingress-nginx's locations, where the CORS `return 204`
// is written before the redirect's `return`. A snippet's `return` sits between the two, as ingress-nginx writes the
// configuration-snippet between them; its header edits come last in their phases, as the snippet's directives come
// after the annotations' in a location (its headers replace those of CORS and upstream-vhost). Canaries come last:
// their action swaps the route's section after every other family has read the route's id, and before the body
// rules, which carry the section to the body gate. Affinity follows the canary: a sticky canary's cookie overrides
// the canary's draw. The default-backend annotation's action comes after both: it tests the section they left, and
// replaces it only when that one has no usable server; custom-http-errors keeps the request's side after it (its
// response rule is in the backends' defaults). Basic authentication comes right after the access lists, so it is first in the upstream phase;
// external authentication opens the upstream phase too, in the same place as nginx's auth_request (after the rewrite
// phase's CORS preflight, returns and HTTPS redirect, and before anything edits the request the backend receives).
// The rate limits have a phase of their own, between the HTTPS redirect and the upstream phase (nginx's preaccess
// phase, before its access phase's auth). The snippets' nginx variables are expanded at the start of the answer
// phase, before the CORS preflight and the snippet's return, from the request as the client sent it (and Portico's
// forwarding headers), before any family edits what the backend receives. The mirror follows authentication (nginx
// mirrors in its precontent phase, after access) and precedes every edit of the backend's request, so the mirror gets
// the request as the client sent it (and Portico's forwarding headers), its $request_uri before any rewrite.
const FAMILIES = [AUTH_TLS_FAMILY, SOURCE_RANGE_FAMILY, AUTH_BASIC_FAMILY, SNIPPET_VARS_FAMILY, CORS_FAMILY, SNIPPET_RETURN_FAMILY, REDIRECT_FAMILY, AUTH_FAMILY, SATISFY_FAMILY, MIRROR_FAMILY, TIMEOUT_FAMILY, BODY_SIZE_FAMILY, UPSTREAM_VHOST_FAMILY, CONNECTION_CLOSE_FAMILY, REWRITE_FAMILY, SNIPPET_HEADERS_FAMILY, CUSTOM_HEADERS_FAMILY, CANARY_FAMILY, AFFINITY_FAMILY, DEFAULT_BACKEND_FAMILY, CUSTOM_ERRORS_FAMILY, RATE_LIMIT_FAMILY, PROXY_REDIRECT_FAMILY, DEBUG_HEADERS_FAMILY] as readonly PolicyFamily<string>[] as readonly PolicyFamily<MapName>[];
const ROUTING_MAPS: ReadonlySet<MapName> = new Set(['hosts', 'wildcards', 'paths', 'defaults']);

// Lua names are global to HAProxy: two families registering one would leave the first and refuse the other's rules
// (with both in use, the whole configuration). Checked once, when render is loaded.
const LUA_NAMES = FAMILIES.flatMap((f) => [...(f.lua?.text ?? '').matchAll(/core\.register_(?:action|filter|service|converters|fetches)\('([A-Za-z0-9_]+)'/g)].map((m) => m[1]!));
if (new Set(LUA_NAMES).size !== LUA_NAMES.length) throw new Error(`render: two policy families register the same Lua name (${LUA_NAMES.join(', ')})`);

/** The policy families, for the tests that check every family's rules against every set of its maps in use. */
export const POLICY_FAMILIES: readonly PolicyFamily<MapName>[] = FAMILIES;
/** The maps of the policy features, keyed by route id. */
export const FEATURE_MAPS: readonly MapName[] = (Object.keys(MAPS) as MapName[]).filter((m) => !ROUTING_MAPS.has(m));
export type MapEntry = [map: MapName, key: string, value: string];

/** A route id starts with this; no backend section name holds `|p.`, so finding it in a route's value is the test. */
const ROUTE_ID_PREFIX = 'p.';
const HAS_ROUTE_ID = `{ var(txn.route) -m sub |${ROUTE_ID_PREFIX} }`;
// The id is the value's last field: the body gate inserts its own section name in front of the backend's.
const ROUTE_ID = 'var(txn.route),field(-1,|)';

/**
 * A route's id: the prefix and 16 hex digits of a hash of its key in the routing maps (the key of its paths-map line,
 * or of its defaults-map line), stable for as long as the route exists. The feature maps are keyed by it.
 */
export function routeId(routingKey: string): string {
  return ROUTE_ID_PREFIX + createHash('sha256').update(routingKey).digest('hex').slice(0, 16);
}

/**
 * A route's policy data: each value with the feature map it goes in (keyed there by the route's id). These maps are
 * also the route's features: each feature's rules read its own map, so a feature is in use exactly while its map has
 * a line, and the configuration has the rules of the features in use and no others. A plain route thus pays nothing
 * for features nobody uses; a route that needs one the running configuration lacks takes a reload (runtime/plan.ts),
 * while changed data of a feature in place is a map update.
 */
function policyData(p: RouteTarget['policy'], sectionOf: SectionOf): PolicyDatum<MapName>[] {
  return FAMILIES.flatMap((f) => f.data(p, sectionOf));
}

/** The sections of the families in use (their stick tables), in FAMILIES order. */
function familySections(features: ReadonlySet<string>): string[][] {
  return FAMILIES.flatMap((f) => {
    const inUse = new Set((Object.keys(f.maps) as MapName[]).filter((m) => features.has(m)));
    if (!f.sections || inUse.size === 0) return [];
    return f.sections(inUse).map((lines) => {
      // Written as given: a section header is a fixed name, each line a constant of the family.
      if (!/^backend [a-z_]{1,40}$/.test(lines[0] ?? '') || lines.slice(1).some((l) => !/^ {2}[ -~]{1,400}$/.test(l))) throw new Error(`render: refusing section ${JSON.stringify(lines[0])}`);
      return lines;
    });
  });
}

/** The rules of one phase: those of every family with a map in use, in FAMILIES order. */
const NO_LISTENERS = { http: '127.0.0.1:80', https: '127.0.0.1:443' };

function phaseRules(phase: Phase, features: ReadonlySet<string>, map: (file: string) => string, tls = false, self = NO_LISTENERS, statuses: StatusCodes = statusCodes(undefined)): string[] {
  return FAMILIES.flatMap((f) => {
    const rules = f.rules?.[phase];
    const inUse = new Set((Object.keys(f.maps) as MapName[]).filter((m) => features.has(m)));
    const prefix = f.ruleKeys?.prefix;
    const keys = prefix === undefined ? [] : [...features].filter((k) => k.startsWith(prefix)).sort();
    // A family is in use while a map of its own has lines, or a rule key of its own is in use (a snippet header whose
    // only values are templates: its rules read the variables of snippet-variables.ts, not a map of the family).
    if (!rules || (inUse.size === 0 && keys.length === 0)) return [];
    const satisfyAny = features.has('satisfyAny') ? { satisfyAny: map(MAPS.satisfyAny) } : {};
    return rules({ file: (m) => map(MAPS[m]), inUse, hasId: HAS_ROUTE_ID, routeId: ROUTE_ID, tls, keys, self, statuses, ...satisfyAny });
  });
}

/** The keys route ids are made from: a route's key in the routing maps (its paths-map or defaults-map line). */
const ID_KEY = {
  prefix: (g: HostGroup, r: HostGroup['prefix'][number]): string => g.key + r.matchPrefix,
  exact: (g: HostGroup, r: PathRoute): string => g.key + r.path + PATH_END,
  defaults: (groupKey: string): string => ` default ${groupKey}`,
  // A space: no routing key holds one, so no regex route's id can be another route's.
  regex: (g: HostGroup, r: RegexRoute): string => `${g.key} ~${r.path}`,
};

/**
 * A regular-expression path's key in the regex paths map, matched (`map_reg`) against the group key followed by the
 * request path: the group key as literal text, then the path's expression, case-insensitive and anchored as a whole
 * (a top-level `|` inside must not escape the anchor).
 */
export function regexPathKey(groupKey: string, pattern: string): string {
  return assertMapWord(`^${groupKey.replace(/[.*]/g, '\\$&')}(?i)(?:${pattern})`, 'regex path');
}

/** Every route of the model with the key its id is made from. */
function* keyedRoutes(model: RoutingModel): Generator<[key: string, route: RouteTarget]> {
  for (const g of model.hostGroups) {
    for (const r of g.prefix) yield [ID_KEY.prefix(g, r), r];
    for (const r of g.exact) yield [ID_KEY.exact(g, r), r];
    for (const r of g.regex ?? []) yield [ID_KEY.regex(g, r), r];
    if (g.defaultBackend) yield [ID_KEY.defaults(g.key), g.defaultBackend];
  }
  if (model.catchAll) yield [ID_KEY.defaults(CATCH_ALL_KEY), model.catchAll];
}

// plan asks for the lines of the model it applied again at the next change: computed once per model.
const sharedOf = new WeakMap<RoutingModel, MapEntry[]>();

/** The feature map lines that depend on several routes together (PolicyFamily.shared). */
export function sharedEntries(model: RoutingModel): MapEntry[] {
  const known = sharedOf.get(model);
  if (known) return known;
  const out: MapEntry[] = [];
  for (const f of FAMILIES) {
    if (!f.shared) continue;
    const routes = [];
    for (const [key, r] of keyedRoutes(model)) if (f.shared.uses(r.policy)) routes.push({ id: routeId(key), policy: r.policy });
    if (routes.length > 0) out.push(...f.shared.data(routes));
  }
  sharedOf.set(model, out);
  return out;
}

/** Whether a route's policy contributes to some family's shared lines. */
export function usesSharedLines(t: RouteTarget): boolean {
  return FAMILIES.some((f) => f.shared?.uses(t.policy) === true);
}

/** `next`'s shared lines are `prev`'s (plan found no change that could touch them): not computed again. */
export function inheritSharedEntries(prev: RoutingModel, next: RoutingModel): void {
  const known = sharedOf.get(prev);
  if (known && !sharedOf.has(next)) sharedOf.set(next, known);
}

/** A route's value in the routing maps and its lines in the feature maps. */
function routeEntries(t: RouteTarget, routingKey: string, sectionOf: SectionOf, tlsHost: boolean): { value: string; data: MapEntry[] } {
  const value = routeValue(t, sectionOf, tlsHost);
  const data = policyData(t.policy, sectionOf);
  if (data.length === 0) return { value, data: [] };
  const id = routeId(routingKey);
  return { value: `${value}|${id}`, data: data.map(([map, v, suffix]): MapEntry => [map, id + (suffix ?? ''), v]) };
}

/** The features a route needs: the feature maps it has lines in (`redirect301`, `serverTimeout`, ...), the rule
 * keys of its families (PolicyFamily.ruleKeys: `snippet-header:res-set:x-frame-options`, ...) and the HTTPS redirect
 * that keeps a trailing slash. */
export function routeFeatures(t: RouteTarget): string[] {
  const keys = FAMILIES.flatMap((f) => f.ruleKeys?.of(t.policy) ?? []);
  const features = [...new Set<string>([...policyData(t.policy, OWN_SECTION).map(([map]) => map), ...keys])];
  return t.policy.redirectToHttps && t.policy.preserveTrailingSlash ? [...features, KEEP_TRAILING_SLASH] : features;
}

/** Every route of a host group, default backend included. */
export function groupRoutes(g: HostGroup): RouteTarget[] {
  return [...g.exact, ...g.prefix, ...(g.regex ?? []), ...(g.defaultBackend ? [g.defaultBackend] : [])];
}

/** The features a host group itself needs, besides its routes': maps keyed by the group. */
export function groupFeatures(g: HostGroup): Feature[] {
  return [
    ...((g.regex?.length ?? 0) > 0 ? ['regexPaths' as const] : []),
    ...(g.appRoot !== undefined ? ['appRoots' as const] : []),
    ...(g.wwwRedirectFrom !== undefined ? ['hostRedirects' as const] : []),
    ...(g.passthrough !== undefined ? ['passthrough' as const] : []),
  ];
}

export function featuresInUse(model: RoutingModel): Set<string> {
  const out = new Set<string>();
  for (const g of model.hostGroups) for (const r of groupRoutes(g)) for (const f of routeFeatures(r)) out.add(f);
  for (const f of model.catchAll ? routeFeatures(model.catchAll) : []) out.add(f);
  for (const [map] of sharedEntries(model)) out.add(map);
  for (const g of model.hostGroups) for (const f of groupFeatures(g)) out.add(f);
  for (const f of FAMILIES) if (f.backendData && out.has(f.backendData.with)) out.add(f.backendData.map);
  for (const f of blockFeatures(model.global)) out.add(f);
  return out;
}

/** A backend's lines in the families' backend maps (PolicyFamily.backendData), keyed as the family keys them. */
export function backendEntries(b: Backend, sectionOf: SectionOf = OWN_SECTION): MapEntry[] {
  if (b.externalName) return [];
  const section = sectionOf(b.name);
  return FAMILIES.flatMap((f) => (f.backendData ? f.backendData.data(b, section).map(([k, v]): MapEntry => [f.backendData!.map, k, v]) : []));
}

/**
 * One host group's lines in the routing maps. Every key starts with the group key and a `/` or `?` (group keys
 * hold neither), so groups never share a key. Both path types live in one map, looked up once for the longest key
 * that begins the request's `group + path + "?"` (rules P3-P10):
 * - Exact `/a` is `group/a?`: only the path `/a` reaches the `?`, and nothing can be longer.
 * - Prefix `/a` is `group/a/` (every path below it) and `group/a?` (the path `/a` itself), which outranks shorter
 *   prefixes. Exact `/a` and Prefix `/a` share that second key; the exact route takes it (rule P3).
 */
export function groupEntries(g: HostGroup, sectionOf: SectionOf = OWN_SECTION): MapEntry[] {
  const hostMap = (host: string): MapName => (host.startsWith('*.') ? 'wildcards' : 'hosts');
  // An alias (server-alias) leads to the group's key; its requests take the slow path, whose lookup goes by group.
  const out: MapEntry[] = [g.key, ...(g.aliases ?? [])].map((host): MapEntry => [hostMap(host), assertMapWord(host, 'map key'), g.key]);
  const paths = new Map<string, string>();
  const data: MapEntry[] = [];
  const tls = g.tlsHost === true;
  for (const r of g.prefix) {
    const e = routeEntries(r, ID_KEY.prefix(g, r), sectionOf, tls);
    paths.set(g.key + r.matchPrefix, e.value);
    // The prefix `/` already covers the path `/`.
    if (r.matchPrefix !== '/') paths.set(g.key + r.matchPrefix.slice(0, -1) + PATH_END, e.value);
    data.push(...e.data);
  }
  for (const r of g.exact) {
    // An exact route whose key a prefix route also has (Prefix /a is also `group/a?`) takes it (rule P3); its id
    // differs from that prefix route's, which is keyed by `group/a/`.
    const key = ID_KEY.exact(g, r);
    const e = routeEntries(r, key, sectionOf, tls);
    paths.set(key, e.value);
    data.push(...e.data);
  }
  for (const [key, value] of paths) out.push(['paths', assertMapWord(key, 'map key'), value]);
  if (g.appRoot !== undefined) out.push(['appRoots', g.key, assertAppRoot(g.appRoot)]);
  if (g.wwwRedirectFrom !== undefined) out.push(['hostRedirects', assertMapWord(g.wwwRedirectFrom, 'map key'), g.key]);
  // Keyed by the host alone: the SNI frontend looks up the ClientHello's name, lowercased, as it is.
  if (g.passthrough !== undefined) out.push(['passthrough', assertMapWord(g.key, 'map key'), g.passthrough === '' ? REFUSED : assertToken(sectionOf(g.passthrough), 'backend name')]);
  for (const r of g.regex ?? []) {
    const e = routeEntries(r, ID_KEY.regex(g, r), sectionOf, tls);
    out.push(['regexPaths', regexPathKey(g.key, r.pattern), e.value]);
    data.push(...e.data);
  }
  if (g.defaultBackend) {
    const e = routeEntries(g.defaultBackend, ID_KEY.defaults(g.key), sectionOf, tls);
    out.push(['defaults', assertMapWord(g.key, 'map key'), e.value], ...e.data);
  }
  return [...out, ...data];
}

export function catchAllEntries(t: RouteTarget | undefined, sectionOf: SectionOf = OWN_SECTION): MapEntry[] {
  if (!t) return [];
  const e = routeEntries(t, ID_KEY.defaults(CATCH_ALL_KEY), sectionOf, false);
  return [['defaults', CATCH_ALL_KEY, e.value], ...e.data];
}

export function renderMaps(model: RoutingModel, sectionOf: SectionOf = OWN_SECTION): Map<string, string> {
  const lines = Object.fromEntries(Object.keys(MAPS).map((m) => [m, [] as string[]])) as Record<MapName, string[]>;
  const add = ([map, k, v]: MapEntry): void => {
    lines[map].push(`${assertMapWord(k, 'map key')} ${assertMapWord(v, 'map value')}\n`);
  };
  for (const g of model.hostGroups) groupEntries(g, sectionOf).forEach(add);
  catchAllEntries(model.catchAll, sectionOf).forEach(add);
  sharedEntries(model).forEach(add);
  for (const b of model.backends) backendEntries(b, sectionOf).forEach(add);
  blockEntries(model.global).forEach(add);
  // The routing maps always exist; a feature's map only while some route uses the feature (as its rules do), and a
  // backend map whenever its route map has lines, even without a line of its own.
  const companions = new Set(FAMILIES.flatMap((f) => (f.backendData && lines[f.backendData.with].length > 0 ? [f.backendData.map] : [])));
  return new Map((Object.keys(MAPS) as MapName[]).filter((m) => ROUTING_MAPS.has(m) || lines[m].length > 0 || companions.has(m)).map((m) => [MAPS[m], lines[m].join('')]));
}

/** What the HTTPS listener serves when no SNI line matches: --default-ssl-certificate's Secret, else the generated one. */
export function defaultCertificatePem(model: RoutingModel, generatedPem: string): string {
  const id = model.defaultCertificate;
  return (id ? model.certificates.find((c) => c.id === id)?.pem : undefined) ?? generatedPem;
}

export function renderCertificates(model: RoutingModel, filesDir: string, defaultCertPem: string): Map<string, string> {
  const dir = safeDir(filesDir);
  const files = new Map<string, string>();
  files.set(DEFAULT_CERT, defaultCertificatePem(model, defaultCertPem));
  const lines: string[] = [];
  for (const c of model.certificates) files.set(`certs/${assertToken(c.id, 'certificate id')}.pem`, c.pem);
  for (const ca of caFilesOf(model)) {
    files.set(caRelative(ca), checkedPem(ca.pem, CA_PEM, 'CA file'));
    if (ca.crl !== undefined) files.set(crlRelative(ca), checkedPem(ca.crl, CRL_PEM, 'CRL file'));
  }
  for (const f of backendTlsFilesOf(model)) files.set(f.file, checkedPem(f.pem, f.kind === 'ca' ? CA_PEM : KEY_AND_CERT_PEM, f.kind === 'ca' ? 'backend CA file' : 'backend client certificate'));
  const cas = new Map(caFilesOf(model).map((c) => [c.id, c]));
  // One line per SNI name: HAProxy picks exact names before wildcards, which is rule T4's order.
  for (const b of model.sni) lines.push(crtListEntry(dir, b, cas));
  files.set(CRT_LIST, lines.map((l) => `${l}\n`).join(''));
  return files;
}

/** Where a certificate lives, by the name HAProxy's certificate store knows it (configuration and runtime API alike).
 * The `default` id is the listener's default certificate (a Secret's id always holds `_`). */
export function certificatePath(dir: string, id: string): string {
  if (id === DEFAULT_CERTIFICATE_ID) return `${safeDir(dir)}/${DEFAULT_CERT}`;
  return `${safeDir(dir)}/certs/${assertToken(id, 'certificate id')}.pem`;
}

/** The client CAs hosts ask for (HostGroup.clientAuth), once each, by id. */
export function caFilesOf(model: RoutingModel): CaFile[] {
  const byId = new Map<string, CaFile>();
  for (const g of model.hostGroups) if (g.clientAuth) byId.set(g.clientAuth.ca.id, g.clientAuth.ca);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

// CA and CRL files are named `ca.<id>.<content hash>` and `crl.<id>.<content hash>` (a certificate id starts with a
// namespace, which holds no `.`), so that at runtime they are only ever created and deleted, never changed: on HAProxy
// 2.6 a CA or CRL file changed in place (`set`/`commit ssl ca-file`) unlinks the TLS contexts it rebuilds from their
// certificate, so a later certificate update is answered "Success!" and never served, and the next CA change
// crashes the worker (HAProxy issue #3165, fixed in 2025 after 2.6.12; reproduced on 2.6.12).
const caHash = (ca: CaFile): string => {
  if (!/^[0-9a-f]{64}$/.test(ca.sha256)) throw new Error(`render: refusing CA hash ${JSON.stringify(ca.sha256)}`);
  return ca.sha256.slice(0, 16);
};
const caRelative = (ca: CaFile): string => `certs/ca.${assertToken(ca.id, 'CA id')}.${caHash(ca)}.pem`;
const crlRelative = (ca: CaFile): string => `certs/crl.${assertToken(ca.id, 'CA id')}.${caHash(ca)}.pem`;
export const caPath = (dir: string, ca: CaFile): string => `${safeDir(dir)}/${caRelative(ca)}`;
export const crlPath = (dir: string, ca: CaFile): string => `${safeDir(dir)}/${crlRelative(ca)}`;

const CA_PEM = /^(-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n)+$/;
const CRL_PEM = /^(-----BEGIN X509 CRL-----\n[A-Za-z0-9+/=\n]+-----END X509 CRL-----\n)+$/;

/** translate re-encoded these from parsed objects; render still refuses anything but PEM blocks of base64. */
function checkedPem(pem: string, re: RegExp, what: string): string {
  if (!re.test(pem)) throw new Error(`render: refusing ${what}: not PEM as Portico writes it`);
  return pem;
}

/**
 * One crt-list line: the certificate, the options of its host: client authentication (its CA, and CRL, with
 * `verify optional`: the request rules answer a missing or bad certificate) and ssl-ciphers, the SNI name. Shared with the runtime
 * API's `add ssl crt-list`, which takes the same line.
 */
export function crtListEntry(dir: string, b: SniBinding, cas: ReadonlyMap<string, CaFile>): string {
  const cert = certificatePath(dir, b.certificate);
  const options: string[] = [];
  if (b.clientAuth) {
    const ca = cas.get(b.clientAuth.ca);
    if (!ca) throw new Error(`render: SNI ${JSON.stringify(b.host)} names CA ${JSON.stringify(b.clientAuth.ca)}, which no host has`);
    options.push(`ca-file ${caPath(dir, ca)} verify optional${ca.crl !== undefined ? ` crl-file ${crlPath(dir, ca)}` : ''}`);
  }
  if (b.ciphers !== undefined) options.push(`ciphers ${cipherListOption(b.ciphers)}`);
  return `${cert}${options.length > 0 ? ` [${options.join(' ')}]` : ''} ${sniName(b.host)}`;
}

/** Render's own check of ssl-ciphers (translate also had OpenSSL accept it): one token of OpenSSL's cipher-list
 * characters, so it cannot end the crt-list option or the line. */
function cipherListOption(list: string): string {
  if (!/^[A-Za-z0-9!:+@=_-]{1,2048}$/.test(list)) throw new Error(`render: refusing cipher list ${JSON.stringify(list)}`);
  return list;
}

export function sniName(host: string): string {
  return assertMapWord(host, 'SNI name');
}

function safeDir(dir: string): string {
  if (!/^\/[A-Za-z0-9_./-]*$/.test(dir)) throw new Error(`render: directory ${JSON.stringify(dir)} must be an absolute path of safe characters`);
  return dir;
}

/**
 * The `server` options of each backend protocol (docs/annotations.md, `backend-protocol`). TLS verifies nothing and
 * sends no SNI, as nginx's proxy_ssl_verify and proxy_ssl_server_name are off unless set. ALPN says which HTTP the
 * TLS connection carries; `proto h2` holds HTTP/2 even where a backend's TLS offers no ALPN (gRPC is HTTP/2 only,
 * and nginx's grpc_pass speaks nothing else), and gives HTTP/2 to a clear-text connection, which has no ALPN.
 */
const PROTOCOL_OPTIONS: Readonly<Record<BackendProtocol, readonly string[]>> = {
  https: ['ssl', 'verify', 'none', 'alpn', 'http/1.1'],
  grpc: ['proto', 'h2'],
  h2c: ['proto', 'h2'],
  grpcs: ['ssl', 'verify', 'none', 'alpn', 'h2', 'proto', 'h2'],
  // The section's `use-fcgi-app` (sectionText) says what the FastCGI params are; a server only says FastCGI.
  fcgi: ['proto', 'fcgi'],
};
/** A word of a server option: what the table above holds, nothing that could start another option, a comment or a line. */
const OPTION_WORD = /^[a-z0-9][a-z0-9./]{0,15}$/;

/** The options a backend policy adds to each `server` line; empty for plain HTTP. Fails closed on anything unknown.
 * `dir`: the files directory, where a TLS policy's CA and client certificate are (required for one). */
export function serverOptions(policy: BackendPolicy | undefined, dir?: string): string {
  if (policy?.protocol === undefined) return '';
  const words = Object.hasOwn(PROTOCOL_OPTIONS, policy.protocol) ? PROTOCOL_OPTIONS[policy.protocol] : undefined;
  if (!words) throw new Error(`render: refusing backend protocol ${JSON.stringify(policy.protocol)}`);
  for (const w of words) if (!OPTION_WORD.test(w)) throw new Error(`render: refusing server option ${JSON.stringify(w)}`);
  const tls = policy.tls && !('refused' in policy.tls) && words[0] === 'ssl' ? tlsOptions(policy.tls, dir) : undefined;
  if (!tls) return ` ${words.join(' ')}`;
  // `ssl verify none` becomes the policy's verification; the protocol's other words (ALPN, proto) stay.
  return ` ssl ${tls.join(' ')} ${words.slice(3).join(' ')}`;
}

/** A name for verifyhost and SNI: a DNS name, as the translator's grammar (proxy-ssl.ts) passed it. */
const TLS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const TLS_CIPHERS = /^[A-Za-z0-9+:_\-!]{1,1024}$/;
const TLS_VERSIONS: ReadonlySet<string> = new Set(['TLSv1.2', 'TLSv1.3']);
const SHA256 = /^[0-9a-f]{64}$/;

/** `proxy-ssl-*` as server options (docs/annotations.md), each token re-checked. */
function tlsOptions(t: Extract<BackendTls, { verify: boolean }>, dir: string | undefined): string[] {
  if (dir === undefined) throw new Error('render: a backend TLS policy needs the files directory');
  const out: string[] = [];
  if (t.verify) {
    if (!t.ca) throw new Error('render: refusing backend TLS verification without a CA');
    out.push('verify', 'required', 'ca-file', backendCaPath(dir, t.ca.sha256));
    if (t.name !== undefined) out.push('verifyhost', tlsName(t.name));
  } else out.push('verify', 'none');
  if (t.serverName && t.name !== undefined) out.push('sni', `str(${tlsName(t.name)})`);
  if (t.cert) out.push('crt', backendCertPath(dir, t.cert.sha256));
  for (const [word, v] of [['ssl-min-ver', t.minVersion], ['ssl-max-ver', t.maxVersion]] as const) {
    if (v === undefined) continue;
    if (!TLS_VERSIONS.has(v)) throw new Error(`render: refusing TLS version ${JSON.stringify(v)}`);
    out.push(word, v);
  }
  if (t.ciphers !== undefined) {
    if (!TLS_CIPHERS.test(t.ciphers)) throw new Error(`render: refusing ciphers ${JSON.stringify(t.ciphers)}`);
    out.push('ciphers', t.ciphers);
  }
  return out;
}

function tlsName(name: string): string {
  if (!TLS_NAME.test(name)) throw new Error(`render: refusing TLS name ${JSON.stringify(name)}`);
  return name;
}

// A backend's CA and client certificate are named by the SHA-256 of what they hold (a Secret id holds `_`, never `.`).
const backendCaRelative = (sha: string): string => `certs/pxca.${checkedSha(sha)}.pem`;
const backendCertRelative = (sha: string): string => `certs/pxcrt.${checkedSha(sha)}.pem`;
export const backendCaPath = (dir: string, sha: string): string => `${safeDir(dir)}/${backendCaRelative(sha)}`;
export const backendCertPath = (dir: string, sha: string): string => `${safeDir(dir)}/${backendCertRelative(sha)}`;
function checkedSha(sha: string): string {
  if (!SHA256.test(sha)) throw new Error(`render: refusing file hash ${JSON.stringify(sha)}`);
  return sha.slice(0, 32);
}

/** The CA bundles and client certificates backends' TLS uses (proxy-ssl-secret), once each, sorted by file. */
export interface BackendTlsFile {
  kind: 'ca' | 'cert';
  /** Relative to the files directory. */
  file: string;
  pem: string;
}
export function backendTlsFilesOf(model: RoutingModel): BackendTlsFile[] {
  const byFile = new Map<string, BackendTlsFile>();
  for (const b of model.backends) {
    const t = b.policy?.tls;
    if (!t || 'refused' in t || b.policy?.protocol === undefined || PROTOCOL_OPTIONS[b.policy.protocol][0] !== 'ssl') continue;
    if (t.ca && t.verify) byFile.set(backendCaRelative(t.ca.sha256), { kind: 'ca', file: backendCaRelative(t.ca.sha256), pem: t.ca.pem });
    if (t.cert) byFile.set(backendCertRelative(t.cert.sha256), { kind: 'cert', file: backendCertRelative(t.cert.sha256), pem: t.cert.pem });
  }
  return [...byFile.values()].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

const KEY_AND_CERT_PEM = /^(-----BEGIN [A-Z ]{1,40}-----\n[A-Za-z0-9+/=\n]+-----END [A-Z ]{1,40}-----\n)+$/;

/**
 * What a runtime `add server` adds to serverArgs: HAProxy's own defaults for a server of the configuration, which
 * 2.6.12 does not give a dynamic one (pool-purge-delay 0, pool-max-conn 0: fixed upstream in 2024, commit 8a31783b6).
 * Without them a server added at runtime keeps no idle connection, so every request to a pod scaled up, or to a
 * Service bound to a spare, opened a new connection (and for TLS backends a full handshake) until the next reload.
 */
export const RUNTIME_SERVER_OPTIONS = ' pool-purge-delay 5s pool-max-conn -1';

/** Arguments of a `server` line, the same in the configuration and in a runtime `add server`: the backend's policy
 * must reach both, or a server added at runtime would speak another protocol than its section's others. `id`: its
 * place on a consistent hash's ring (server-ids.ts). */
export function serverArgs(s: Server, policy?: BackendPolicy, dir?: string, id?: number): string {
  const idWords = id === undefined ? '' : ` id ${assertIntAtMost(assertInt(id, 'server id', 1), MAX_SERVER_ID, 'server id')}`;
  return `${assertToken(s.name, 'server name')} ${assertAddress(s.address)}:${assertPort(s.port)}${idWords}${serverOptions(policy, dir)}`;
}

/**
 * The servers HAProxy dials for a backend. A lone endpoint is listed twice, under two names: HAProxy waits a second
 * (MIN(1 s, timeout connect)) before each retry on the same server, so a lone endpoint that refuses connections
 * answered 502 only after two such turn-arounds; with a second server, round robin retries on "the other" one at
 * once, and the 502 comes in a millisecond, as from nginx. Both entries dial the same address: load and connection
 * reuse are unchanged, and several endpoints need no twin.
 */
export function dialledServers(b: Pick<Backend, 'servers'>): Server[] {
  const [only, ...rest] = b.servers;
  if (!only || rest.length > 0) return b.servers;
  return [only, { ...only, name: `${only.name}_twin` }];
}

export function spareName(i: number): string {
  return `spare_${i}`;
}

/** A spare of the sticky flavour (cookie affinity), which only a sticky backend may be bound to. */
export function stickySpareName(i: number): string {
  return `spare_sticky_${i}`;
}

export function isStickySection(name: string): boolean {
  return name.startsWith('spare_sticky_');
}

/** A spare of the TCP flavour (ssl-passthrough), which only a passthrough backend may be bound to. */
export function tcpSpareName(i: number): string {
  return `spare_tcp_${i}`;
}

export function isTcpSection(name: string): boolean {
  return name.startsWith('spare_tcp_');
}

/** The flavour of spare a backend needs: its section's balance lines or mode are configuration text. */
export function spareFlavour(b: Pick<Backend, 'policy'>): 'sticky' | 'tcp' | 'plain' {
  return b.policy?.passthrough ? 'tcp' : b.policy?.affinity ? 'sticky' : 'plain';
}

export function sectionFlavour(section: string): 'sticky' | 'tcp' | 'plain' {
  return isTcpSection(section) ? 'tcp' : isStickySection(section) ? 'sticky' : 'plain';
}

/** TCP spares a configuration carries (passthrough.ts `tcpSpareCount`). */
export function tcpSpares(model: RoutingModel): string[] {
  const n = model.backends.filter((b) => b.policy?.passthrough && !b.externalName).length;
  return Array.from({ length: tcpSpareCount(n) }, (_, i) => tcpSpareName(i));
}

/** Sticky spares a configuration carries: none until some backend is sticky (the first one takes a reload, as a
 * feature the configuration lacks), then two, or one per ten sticky backends. */
export function stickySpares(model: RoutingModel): string[] {
  const sticky = model.backends.filter((b) => b.policy?.affinity && !b.externalName).length;
  return Array.from({ length: sticky === 0 ? 0 : Math.max(2, Math.ceil(sticky / 10)) }, (_, i) => stickySpareName(i));
}

export const RESOLVERS = 'portico_dns';

/**
 * The DNS servers ExternalName targets are resolved with while HAProxy runs, so that a name that moves is followed
 * within seconds and without a reload: the name is asked for again every second, and a name that stops resolving
 * keeps its last address for 30 s. HAProxy's resolvers read no /etc/hosts and apply no search domains, so targets
 * must be names DNS knows (as a Service's CNAME target must be).
 */
function resolversSection(servers: string[]): string[] {
  if (servers.length === 0) return [];
  return [
    `resolvers ${RESOLVERS}`,
    ...servers.map((s, i) => {
      const m = /^(.*):(\d+)$/.exec(s);
      if (!m) throw new Error(`render: refusing DNS server ${JSON.stringify(s)}: not address:port`);
      return `  nameserver dns${i + 1} ${assertAddress(m[1]!)}:${assertPort(Number(m[2]))}`;
    }),
    '  accepted_payload_size 8192',
    '  resolve_retries 3',
    '  timeout resolve 1s',
    '  timeout retry 1s',
    '  hold valid 10s',
    '  hold other 30s',
    '  hold refused 30s',
    '  hold nx 30s',
    '  hold timeout 30s',
    // A record that leaves the answer is dropped at once: the server follows a name that moved to another address.
    '  hold obsolete 0s',
  ];
}

/** The `retry-on` words a retry policy may write (translate/annotations/retries.ts), HAProxy 2.6's. */
const RETRY_ON_WORDS = new Set(['none', 'conn-failure', 'empty-response', 'junk-response', 'response-timeout', '403', '404', '500', '502', '503', '504']);

/** A section's connect and retry lines: Portico's (3 tries on connection failures, the defaults' connect timeout), or
 * a retry policy's, re-checked here (fails closed). Without `non_idempotent`, nginx retries POST, LOCK and PATCH only
 * before they were sent: HAProxy's connection-failure retries still apply to them, its layer-7 ones do not. */
export function retryLines(r: RetryPolicy | undefined): string[] {
  if (!r) return ['  retries 2'];
  for (const w of r.retryOn) if (!RETRY_ON_WORDS.has(w)) throw new Error(`render: refusing retry-on ${JSON.stringify(w)}`);
  if (r.retryOn.length === 0 || new Set(r.retryOn).size !== r.retryOn.length) throw new Error('render: refusing an empty or repeated retry-on list');
  const lines = [`  retries ${assertIntAtMost(assertInt(r.retries, 'retries'), 1000, 'retries')}`, `  retry-on ${r.retryOn.join(' ')}`];
  if (r.connectSeconds !== undefined) lines.push(`  timeout connect ${assertIntAtMost(assertInt(r.connectSeconds, 'connect timeout', 1), 2_147_483, 'connect timeout')}s`);
  if (r.idempotentOnly && r.retryOn.some((w) => w !== 'none' && w !== 'conn-failure')) lines.push('  http-request disable-l7-retry if { method POST LOCK PATCH }');
  return lines;
}

/** Each `upstream-hash-by` variable's HAProxy 2.6 sample (translate/annotations/balance.ts): the only text a hash key
 * is written with, besides checked names and literal text. */
const HASH_SAMPLES: Readonly<Record<HashVariable, (name: string) => string>> = {
  request_uri: () => 'capture.req.uri',
  uri: () => 'path',
  args: () => 'query',
  host: () => 'req.fhdr(host),lower,field(1,:)',
  remote_addr: () => 'src',
  binary_remote_addr: () => 'src',
  request_method: () => 'method',
  http: (n) => `req.fhdr(${n},1)`,
  cookie: (n) => `req.cook(${n})`,
  arg: (n) => `url_param(${n})`,
};
const NAMED_SAMPLES: ReadonlySet<HashVariable> = new Set(['http', 'cookie', 'arg']);
const HASH_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const HASH_TEXT = /^[A-Za-z0-9_-]{1,256}$/;
/** The variable a joined key is set in before `balance hash` reads it. */
const HASH_VAR = 'txn.hash_key';

function hashSample(p: HashKeyPart): string {
  if (!('variable' in p)) throw new Error('render: a hash key part is not a variable');
  if (!Object.hasOwn(HASH_SAMPLES, p.variable)) throw new Error(`render: refusing hash variable ${JSON.stringify(p.variable)}`);
  const named = NAMED_SAMPLES.has(p.variable);
  if (named !== (p.name !== undefined) || (p.name !== undefined && !HASH_NAME.test(p.name))) throw new Error(`render: refusing hash variable name ${JSON.stringify(p.name)}`);
  return HASH_SAMPLES[p.variable](p.name ?? '');
}

/** A section's balance lines: round robin, or a balance policy's, re-checked here (fails closed). A key of one variable
 * is hashed as its sample; several parts are joined in a transaction variable first (backend rules run before the
 * server is picked). */
export function balanceLines(b: BalancePolicy | undefined): string[] {
  if (!b) return ['  balance roundrobin'];
  if (b.algorithm === 'leastconn') {
    if (b.key !== undefined) throw new Error('render: refusing a hash key with leastconn');
    return ['  balance leastconn'];
  }
  if (b.algorithm !== 'hash') throw new Error(`render: refusing balance ${JSON.stringify(b.algorithm)}`);
  const key = b.key ?? [];
  if (key.length === 0 || key.length > 8 || !key.some((p) => 'variable' in p)) throw new Error('render: refusing a hash key without variable or with too many parts');
  const hashType = '  hash-type consistent sdbm avalanche';
  const [only] = key;
  if (key.length === 1 && only) return [`  balance hash ${hashSample(only)}`, hashType];
  const fmt = key
    .map((p) => {
      if ('variable' in p) return `%[${hashSample(p)}]`;
      if (!HASH_TEXT.test(p.text)) throw new Error(`render: refusing hash text ${JSON.stringify(p.text)}`);
      return p.text;
    })
    .join('');
  return [`  http-request set-var-fmt(${HASH_VAR}) ${fmt}`, `  balance hash var(${HASH_VAR})`, hashType];
}

/** The `fcgi-app` sections FastCGI backends use, one per distinct policy. The docroot is nginx's $document_root in
 * ingress-nginx's image (its prefix's html directory), sent as DOCUMENT_ROOT; HAProxy also prefixes SCRIPT_FILENAME
 * with it. HAProxy leaves Authorization out unless passed (nginx passes every header). REMOTE_ADDR and the scheme come
 * (and the listener's port) from Portico's own forwarding headers, set on every request (never a client's), because a body that takes the body
 * gate reaches the backend through the gate's unix socket, whose connection is neither the client's nor TLS.
 * REDIRECT_STATUS and DOCUMENT_URI are lines of nginx's fastcgi_params that HAProxy does not send. A param the policy
 * names replaces Portico's line of that name (HAProxy compares names uppercased, with `_` for any other character). */
function fastCgiAppSections(model: RoutingModel): string[] {
  const byId = new Map<string, FastCgiPolicy>();
  for (const b of model.backends) if (b.policy?.fastcgi) byId.set(b.policy.fastcgi.id, b.policy.fastcgi);
  return [...byId.values()]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((f) => {
      const own = new Set(f.params.map((p) => fastCgiParamKey(p.name)));
      const portico = FASTCGI_PORTICO_PARAMS.filter(([name]) => !own.has(fastCgiParamKey(name))).map(([name, value]) => `  set-param ${name} ${value}`);
      const params = f.params.map((p) => `  set-param ${checkedFastCgiParamName(p.name)} ${p.value === '' ? '%[str()]' : checkedFastCgiParamValue(p.value)}`);
      return [`fcgi-app ${fastCgiAppName(f.id)}`, `  docroot ${FASTCGI_DOCROOT}`, ...(f.index !== undefined ? [`  index ${checkedFastCgiIndex(f.index)}`] : []), '  pass-header Authorization', ...portico, ...params].join('\n');
    });
}

const FASTCGI_DOCROOT = '/usr/local/nginx/html';
const FASTCGI_PORTICO_PARAMS: readonly (readonly [name: string, value: string])[] = [
  ['REMOTE_ADDR', '%[req.hdr(x-real-ip)]'],
  ['REQUEST_SCHEME', '%[req.hdr(x-forwarded-proto)]'],
  ['SERVER_PORT', '%[req.hdr(x-forwarded-port)]'],
  ['HTTPS', 'on if { req.hdr(x-forwarded-proto) https }'],
  ['DOCUMENT_URI', '%[path]'],
  ['REDIRECT_STATUS', '200'],
];
/** translate/annotations/fastcgi.ts's grammars, checked again: each is one word of configuration text. */
const FASTCGI_NAME = /^[A-Za-z0-9._-]{1,255}$/;
const FASTCGI_VALUE = /^[A-Za-z0-9_/.-]{1,1024}$/;
const FASTCGI_ID = /^[0-9a-f]{8}$/;

function fastCgiParamKey(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}
function checkedFastCgiParamName(name: string): string {
  if (!FASTCGI_NAME.test(name)) throw new Error(`render: refusing FastCGI param name ${JSON.stringify(name)}`);
  return name;
}
function checkedFastCgiParamValue(value: string): string {
  if (!FASTCGI_VALUE.test(value)) throw new Error(`render: refusing FastCGI param value ${JSON.stringify(value)}`);
  return value;
}
function checkedFastCgiIndex(index: string): string {
  if (!FASTCGI_NAME.test(index) || index === '.' || index === '..') throw new Error(`render: refusing FastCGI index ${JSON.stringify(index)}`);
  return index;
}
export function fastCgiAppName(id: string): string {
  if (!FASTCGI_ID.test(id)) throw new Error(`render: refusing FastCGI policy id ${JSON.stringify(id)}`);
  return `fcgi_${id}`;
}

/** A FastCGI backend's `use-fcgi-app`; a FastCGI protocol without its policy (or the reverse) is refused, since
 * servers with `proto fcgi` in a section without an fcgi-app would not know what to send. */
function useFastCgiLines(policy: BackendPolicy | undefined): string[] {
  const fcgi = policy?.protocol === 'fcgi';
  if (fcgi !== (policy?.fastcgi !== undefined)) throw new Error('render: refusing a FastCGI protocol without its fcgi-app, or an fcgi-app without FastCGI');
  return policy?.fastcgi ? [`  use-fcgi-app ${fastCgiAppName(policy.fastcgi.id)}`] : [];
}

/** Every backend section is alike, so that a spare can stand in for any Service at runtime (ExternalName sections
 * and sections with a retry or balance policy, which only a reload creates, aside; sticky sections have spares of their own). */
function sectionText(name: string, b: Backend | undefined, resolvers: boolean, dir: string, sticky = b?.policy?.affinity === true): string {
  // A sticky section balances on the affinity cookie's key (policy/affinity.ts) with a consistent hash, so that pods
  // added or removed move only the keys that hash near them (ingress-nginx's sticky_balanced); with no key it is
  // round robin. A hash of the key's text alone, with avalanche: keys differ mostly in their last digits.
  // A balance policy (load-balance, upstream-hash-by) never comes with affinity (translate/annotations/balance.ts).
  const balance = sticky ? ['  balance hash var(txn.affinity_key)', '  hash-type consistent sdbm avalanche'] : balanceLines(b?.policy?.balance);
  // Persistent affinity names the pod: the frontend resolved the cookie to a server of this very section
  // (policy/affinity.ts), and HAProxy looks the name up among this section's servers only, skipping one in
  // maintenance; a connection failure redispatches to the balance as for any other request.
  const pin = sticky ? ['  use-server %[var(txn.affinity_server)] if { var(txn.affinity_server) -m found }'] : [];
  const lines = [`backend ${assertToken(name, 'backend name')}`, ...balance, ...pin, ...retryLines(b?.policy?.retry), '  option redispatch 1', ...useFastCgiLines(b?.policy)];
  if (b?.externalName) {
    // Rule B15 (a TCP section has no HTTP status to change: a failed connection is closed): an ExternalName that does not resolve leaves its server without an address, never picked, so the
    // frontend's B17 rule does not apply; a bad gateway all the same. Backend rules run before the frontend's.
    if (!b.policy?.passthrough) lines.push(`  http-after-response set-status 502 if { status 503 } { res.hdr(${INTERNAL_MARK}) -m found }`);
    const host = b.externalName.host;
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(host)) throw new Error(`render: refusing externalName ${JSON.stringify(host)}`);
    const dns = resolvers ? ` resolvers ${RESOLVERS} resolve-prefer ipv4` : '';
    lines.push(`  server ${assertToken('external', '')} ${host}:${assertPort(b.externalName.port)}${serverOptions(b.policy, dir)}${dns} init-addr last,libc,none`);
  }
  const servers = b ? dialledServers(b) : [];
  const ids = balancesOnHash(b?.policy) ? serverIds(servers) : undefined;
  for (const s of servers) lines.push(`  server ${serverArgs(s, b?.policy, dir, ids?.get(s.name))}`);
  return lines.join('\n');
}

/**
 * The bind lines of one listener: the given address, or every IPv4 address plus, when enabled, every IPv6 address on
 * a socket of its own (`v6only`): one dual-stack socket would show IPv4 clients as `::ffff:a.b.c.d` to backends
 * and in X-Forwarded-For.
 */
function bindLines(o: RenderOptions, port: number, options: string): string[] {
  const p = assertPort(port);
  if (o.bindAddress !== '') return [`bind ${assertAddress(o.bindAddress)}:${p}${options}`];
  return [`bind :${p}${options}`, ...(o.ipv6 ? [`bind [::]:${p} v6only${options}`] : [])];
}

/** Where HAProxy can reach its own listeners: the bind address, or loopback when it binds every address. */
function selfListeners(o: RenderOptions): { http: string; https: string } {
  const a = o.bindAddress === '' || o.bindAddress === '0.0.0.0' ? '127.0.0.1' : o.bindAddress === '::' ? '::1' : o.bindAddress;
  return { http: `${assertAddress(a)}:${assertPort(o.httpPort)}`, https: `${assertAddress(a)}:${assertPort(o.httpsPort)}` };
}

/** The addresses HAProxy's own connections to its listeners (selfListeners) come from. */
function selfSources(o: RenderOptions): string[] {
  const wildcard = o.bindAddress === '' || o.bindAddress === '0.0.0.0' || o.bindAddress === '::';
  return [...new Set(['127.0.0.1', '::1', ...(wildcard ? [] : [o.bindAddress])])];
}

/** The defaults sections: the settings, what the listeners follow, and what backends follow while they have rules. */
const BASE_DEFAULTS = 'portico';
const LISTENER_DEFAULTS = 'portico_listeners';
const ROUTE_DEFAULTS = 'portico_routes';

/** The frontends of the two listeners (by these names in HAProxy's logs and statistics). */
export const HTTP_FRONTEND = 'portico_http';
export const HTTPS_FRONTEND = 'portico_https';

function checkedTimeouts(t: RenderOptions['timeouts']): RenderOptions['timeouts'] {
  const c = (k: keyof RenderOptions['timeouts']): number => assertInt(t[k], `timeout ${k}`, 1);
  return { connect: c('connect'), client: c('client'), server: c('server'), tunnel: c('tunnel'), httpRequest: c('httpRequest'), keepAlive: c('keepAlive') };
}

/** While some host verifies client certificates: a certificate that fails verification still completes the handshake
 * (HAProxy would otherwise close it), so the request rules can answer as nginx does. Only lines with `verify` verify. */
const CLIENT_CERT_BIND = ' ca-ignore-err all crt-ignore-err all';

export function renderConfig(model: RoutingModel, flagOptions: RenderOptions, features: ReadonlySet<string> = featuresInUse(model)): string {
  const o = withGlobalSettings(flagOptions, model.global);
  const codes = statusCodes(model.global);
  const redirectCode = assertIntAtMost(assertInt(codes.httpsRedirect, 'redirect code', 301), 308, 'redirect code');
  const dir = safeDir(o.filesDir);
  const clientAddress = clientAddressOf(model.global);
  const listenerStart = (): string[] => listenerRules(clientAddress, connectionRules(o.edge), dir, selfSources(o));
  // Every number written below passes the same check as the rest of the text: a NaN or a negative value from a
  // caller that skipped the flag parser is refused, never written as text HAProxy would read some other way.
  const t = checkedTimeouts(o.timeouts);
  const maxConnections = assertInt(o.maxConnections, 'maxconn', 1);
  const hardStopAfter = assertInt(o.hardStopAfterSeconds, 'hard-stop-after', 1);
  const serverHeader = serverHeaderRule(o, model.global);
  const redirectPort = assertPort(o.httpsRedirectPort) === 443 ? '' : `:${o.httpsRedirectPort}`;
  const accessLog = o.accessLog !== false;
  const map = (m: string): string => `${dir}/${m}`;
  const found = (v: string): string => `{ var(${v}) -m found }`;
  const noRoute = `!${found('txn.route')}`;
  const slow = '{ var(txn.slow) -m bool }';
  const normalHost = 'req.fhdr(host),lower,field(1,:),regsub(\\.$,)';
  const indent = (lines: string[]): string => lines.map((l) => `  ${l}`).join('\n');
  // HAProxy 2.6 runs at most 64 threads (MAX_THREADS on Debian's build); more is a configuration it rejects.
  const threads = assertInt(o.threads, 'threads') > 0 ? `\n  nbthread ${assertIntAtMost(o.threads, 64, 'threads')}` : '';
  const spares = assertInt(o.spareBackends, 'spare backends');
  const table = perClientTable(o.edge, maxConnections);
  const dns = resolversSection(o.resolvers);
  const tables = [table, ...familySections(features), dns].filter((l) => l.length > 0).map((l) => l.join('\n'));
  const withDns = dns.length > 0;
  const backendVerdict = [
    `http-after-response set-status 502 if { status 503 } { res.hdr(${INTERNAL_MARK}) -m found } { srv_id -m found }`,
    `http-after-response del-header ${INTERNAL_MARK} if { status 502:503 }`,
  ];
  const routeRules = phaseRules('backend', features, map);
  const gateRules = phaseRules('gate', features, map);
  const bodyLimits = features.has('bodySize') ? { lookup: `${ROUTE_ID},map_str_int(${map(MAPS.bodySize)})`, hasId: HAS_ROUTE_ID } : undefined;
  const [gateBackend, gateFrontend] = bodyGateSections(o.edge, safeDir(o.stateDir), t.server, backendVerdict, gateRules, bodyLimits);
  // Backend rules (HAProxy 2.6 sets a stream's server timeout from a backend only) go in a defaults section of their
  // own that only backends follow: HAProxy refuses frontends and backends sharing a defaults section with rules.
  const httpsRedirects: [flag: string, uri: string][] = [['r', 'capture.req.uri,regsub(/$,)'], ...(features.has(KEEP_TRAILING_SLASH) ? [['R', 'capture.req.uri'] as [string, string]] : [])];
  const routeDefaults = routeRules.length > 0 ? [`defaults ${ROUTE_DEFAULTS} from ${BASE_DEFAULTS}\n${indent(routeRules)}`] : [];
  /** A phase's rules as lines of a frontend, or nothing. */
  const self = selfListeners(o);
  const blocks = blockRules(features, (m) => map(MAPS[m]));
  const phase = (p: Phase, tls: boolean): string => {
    const rules = phaseRules(p, features, map, tls, self, codes);
    return rules.length > 0 ? `${indent(rules)}\n` : '';
  };
  /**
   * One frontend per listener, so that what differs between HTTP and HTTPS is decided once, when the configuration
   * is written, instead of on every request: X-Forwarded-Proto and -Port are constants, the HTTP->HTTPS redirect is
   * only on HTTP, HSTS and the HTTP/2 body tests only on HTTPS (bench/README.md: about 1,100 instructions fewer per
   * plain HTTP request than one frontend for both). Both use the same maps, so a map change reaches both.
   */
  // ssl-passthrough: the SNI frontend holds the HTTPS port, and the per-client limits, which must see the client's
  // own address at accept (a unix socket's connection has none; the PROXY header counts from the session on).
  const tcpBackends = model.backends.filter((b) => b.policy?.passthrough);
  const passthrough = features.has('passthrough') || tcpBackends.length > 0;
  const httpsOptions = ` ssl crt ${dir}/${DEFAULT_CERT} crt-list ${dir}/${CRT_LIST}${httpsBindOptions(model.global)}${features.has('authTls') ? CLIENT_CERT_BIND : ''}`;
  const httpsBinds = passthrough ? [hopBind(safeDir(o.stateDir), httpsOptions)] : bindLines(o, o.httpsPort, httpsOptions);
  const tcpSections = passthrough
    ? [
        ...passthroughSections({ binds: bindLines(o, o.httpsPort, ''), connectionRules: listenerStart(), stateDir: safeDir(o.stateDir), mapFile: map(MAPS.passthrough), timeouts: t }),
        ...tcpBackends.map((b) => sectionText(b.name, b, withDns, o.filesDir)),
        ...tcpSpares(model).map((n) => sectionText(n, undefined, withDns, o.filesDir)),
      ]
    : [];
  // Behind the hop each terminated connection holds two of maxconn (the client's and the hop's), so the terminating
  // frontend starts closing idle connections at half its usual count, before the process runs out.
  const hopEdge = { ...o.edge, closeIdleAbove: Math.max(1, Math.floor(assertInt(o.edge.closeIdleAbove, 'idle-close threshold', 1) / 2)) };
  // The settings ConfigMap's controller-wide headers (global-http.ts): nothing while its keys are unset.
  const globalRules = (rules: string[]): string => (rules.length > 0 ? `${indent(rules)}\n` : '');
  const headerMap = map(GLOBAL_HEADERS_MAP);
  const frontendText = (f: { name: string; tls: boolean; port: number; binds: string[] }): string => `frontend ${f.name}
${indent(f.binds)}
  # An HTTP/1 connection may not turn into HTTP/2 by sending the HTTP/2 preface (h2c with prior knowledge): HTTP/2 is
  # offered through TLS's ALPN only, as ingress-nginx offers it, so the HTTP/2 tests below see every HTTP/2 request.
  option disable-h2-upgrade
${accessLog ? `${indent(accessLogFrontendLines(true))}\n` : ''}${indent([...compressionLines(model.global), ...(f.tls && passthrough ? [] : listenerStart()), ...(f.tls ? bodySessionRules(o.edge, bodyLimits) : [])])}
  # The client's address as text (lower casts it to a string), made once per connection: formatted for every request
  # (option forwardfor, %[src]) it cost about 2,200 instructions a request. A rule that changes the client address
  # per request (set-src from a trusted proxy's header) must set this variable again.
  tcp-request session set-var(sess.client) src,lower
${indent(requestHygieneRules(o.edge))}
${clientAddress ? `  # The client and the forwarded headers as the settings ConfigMap says a proxy in front names them (client-address.ts).
${indent(clientAddressRules(clientAddress, dir, f.tls, f.port))}
` : `  # X9: the client address appended (a header of its own after any the client sent, as option forwardfor adds it).
  http-request add-header X-Forwarded-For %[var(sess.client)]
  http-request set-header X-Forwarded-Proto ${f.tls ? 'https' : 'http'}
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  http-request set-header X-Forwarded-Port ${assertPort(f.port)}
  http-request set-header X-Real-IP %[var(sess.client)]
`}${indent([...requestIdLines(model.global), ...accessLogRequestIdRules(accessLog)])}
${blocks.length > 0 ? `${indent(blocks)}\n` : ''}${globalRules(globalRequestSaveRules(model.global, f))}  # The usual request in one lookup: a Host header that is already a configured host name (the hosts map holds only
  # lowercase names without port or trailing dot) keys the paths map as it is: base is that header followed by the path.
  # The whole header (fhdr) must match, so a Host holding a comma or a slash never steers the lookup.
  http-request set-var(txn.route) base,concat(${PATH_END}),map_beg(${map(MAPS.paths)}) if { req.fhdr(host),map_str(${map(MAPS.hosts)}) -m found }
  # Any other request takes the rules below; a request the lookup above routed skips each at the test of an unset
  # boolean, the cheapest test there is (a set string variable costs about 100 instructions more per rule).
  http-request set-var(txn.slow) bool(true) if ${noRoute}
  # Rule H1: the host without port or trailing dot, lowercased (an IPv6 literal matches no Ingress host either way);
  # then rule H5: exact, wildcard (first label a DNS label, rule H3), then the any-host group.
  http-request set-var(txn.host) ${normalHost} if ${slow}
  http-request set-var(txn.group) var(txn.host),map_str(${map(MAPS.hosts)}) if ${slow}
  http-request set-var(txn.group) var(txn.host),regsub(^[^.]+\\.,*.),map_str(${map(MAPS.wildcards)}) if ${slow} !${found('txn.group')} { var(txn.host) -m reg ^[a-z0-9-]+\\. }
  http-request set-var(txn.group) str(${ANY_HOST_KEY}),map_str(${map(MAPS.hosts)}) if ${slow} !${found('txn.group')}
  # Rules P3-P10: the exact path, else the longest element-wise prefix (see the paths map's keys).
  http-request set-var(txn.path) path if ${slow} ${found('txn.group')}
  http-request set-var(txn.route) var(txn.group),concat(,txn.path,${PATH_END}),map_beg(${map(MAPS.paths)}) if ${slow} ${found('txn.group')}
${features.has('regexPaths') ? `  # Hosts with regular-expression paths (use-regex, rewrite-target): each path in turn, as ingress-nginx orders them.
  http-request set-var(txn.route) var(txn.group),concat(,txn.path),map_reg(${map(MAPS.regexPaths)}) if ${slow} ${found('txn.group')} ${noRoute}
` : ''}  # Rules D3/M8 (the group's own default backend) and D1/D5 (the catch-all, only when no host group matched).
  http-request set-var(txn.route) var(txn.group),map_str(${map(MAPS.defaults)}) if ${slow} ${found('txn.group')} ${noRoute}
  http-request set-var(txn.route) str(${CATCH_ALL_KEY}),map_str(${map(MAPS.defaults)}) if ${slow} !${found('txn.group')}
${features.has('appRoots') ? `  # app-root: a request for the root of a host that has one is redirected, whichever route (or none) serves it, before
  # anything else, as ingress-nginx's server-level \`if ($uri = /)\`. The routed request's group is its Host header.
  http-request set-var(txn.app_root) req.fhdr(host),map_str(${map(MAPS.appRoots)}) if { path / } !${found('txn.group')}
  http-request set-var(txn.app_root) var(txn.group),map_str(${map(MAPS.appRoots)}) if { path / } ${found('txn.group')}
  http-request redirect location ${f.tls ? 'https' : 'http'}://%[req.fhdr(host)]%[var(txn.app_root)] code 302 if ${found('txn.app_root')} { req.fhdr(host) -m reg ^[A-Za-z0-9.-]+(:[0-9]{1,5})?$ }
` : ''}${features.has('hostRedirects') ? `  # from-to-www-redirect: a host's other name, which no group has, redirects to the host (ingress-nginx's redirect server).
  http-request set-var(txn.www_to) var(txn.host),map_str(${map(MAPS.hostRedirects)}) if ${slow} !${found('txn.group')}
  http-request redirect location ${f.tls ? 'https' : 'http'}://%[var(txn.www_to)]%[capture.req.uri,regsub(/$,)] code ${redirectCode} if ${found('txn.www_to')}
` : ''}  http-request return status 404 content-type "text/plain; charset=utf-8" string "404 Not Found: no Ingress rule matches this host and path\\n" if ${slow} ${noRoute}
${phase('access', f.tls)}${phase('answer', f.tls)}${f.tls ? '' : `  # Rule T9: TLS hosts redirect plain HTTP with 308, except ACME HTTP-01 challenges.
  # The Location is built from the Host header, so only a plain host name qualifies (no open redirect via Host). As
  # ingress-nginx's, it drops one "/" ending the path and query, unless the route keeps it (preserve-trailing-slash).
${indent(httpsRedirects.map(([flag, uri]) => `http-request redirect location https://%[${normalHost}]${redirectPort}%[${uri}] code ${redirectCode} if { var(txn.route) -m beg ${flag} } !{ path_beg /.well-known/acme-challenge/ } { ${normalHost} -m reg ^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$ }${notOffloaded(clientAddress)}`))}
`}${phase('limit', f.tls)}${globalRules(globalRequestHeaderRules(model.global, headerMap, f))}${phase('upstream', f.tls)}${indent(bodyRules(o.edge, f.tls, bodyLimits))}
  # Rule B17: HAProxy answers 503 when it cannot connect; when it had picked an endpoint (srv_id) that is the backend
  # failing, which users know as 502, while a backend with no endpoint to pick stays 503. HAProxy's own 503 carries a
  # marker header (see defaults), so a 503 from the backend itself passes through untouched (X10). One rule here
  # instead of one per backend section: 10,000 sections parse a third of a second faster and take 32 MB less.
${indent(backendVerdict)}
  ${serverHeader === 'strip' ? 'http-after-response del-header Server' : serverHeader === 'pass' ? '# server-tokens: false; a backend\'s own Server header passes (allow-backend-server-header)' : `http-after-response set-header Server ${assertToken(serverHeader.add, 'server header')} if !{ res.hdr(server) -m found }`}
${indent(responseEdgeRules(f.tls && passthrough ? hopEdge : o.edge, f.tls))}
${globalRules(globalResponseHeaderRules(model.global, headerMap, f))}${phase('response', f.tls)}  use_backend %[var(txn.route),field(2,|)]`;
  return `# Generated by Portico. Do not edit: every change is overwritten.
global
  master-worker${threads}
  # For http-request normalize-uri, which HAProxy 2.6 marks experimental (docs/architecture.md says why it is used).
  expose-experimental-directives
  # A port someone else holds is an error, never shared: without this HAProxy binds with SO_REUSEPORT, and a second
  # HAProxy (one left behind by a killed Portico, say) would answer part of the requests. Reloads pass the listening
  # sockets to the new worker (expose-fd listeners), so they need no SO_REUSEPORT.
  noreuseport
  # HAProxy's HTTP client serves external authentication (auth-url) and mirrors (mirror-target) only, neither of which
  # verifies the certificate of the service it calls, as ingress-nginx's proxy_ssl_verify is off; left at its default,
  # every HAProxy start (each reload and each haproxy -c of a candidate) loads the system CA store for it: about 200
  # million instructions, 8 times the rest.
  httpclient.ssl.verify none${withDns && (features.has('auth') || features.has('mirror')) ? `
  # ${[features.has('auth') ? 'auth-url' : '', features.has('mirror') ? 'mirror-target' : ''].filter((n) => n !== '').join(' and ')} host names resolve through the same DNS servers as ExternalName targets.
  httpclient.resolvers.id ${RESOLVERS}
  httpclient.resolvers.prefer ipv4` : ''}
  stats socket ${safeDir(o.stateDir)}/${ADMIN_SOCKET} mode 600 level admin expose-fd listeners
  maxconn ${maxConnections}
  hard-stop-after ${hardStopAfter}s
  tune.ssl.default-dh-param 2048
${indent([...accessLogGlobalLines(accessLog), ...globalTlsLines(o.edge), ...globalTuningLines(model.global, dir)])}
${indent(globalBodyLimitLines(o.edge, dir, bodyLimits))}${familyLua(features).map(([file]) => `\n  lua-load ${dir}/${file}`).join('')}
${accessLog ? `\n${accessLogRingSection(true, o.accessLogBufferBytes === undefined ? undefined : assertInt(o.accessLogBufferBytes, 'access log ring size', 65_536)).join('\n')}\n` : ''}
# Named, so that the backends' own defaults (below, while some route sets a timeout) can start from it; every
# proxy follows the last defaults section before it.
defaults ${BASE_DEFAULTS}
  mode http
${accessLog ? '  # Only the listener frontends log (the access log): no internal hop writes a line of its own.' : '  log global'}
  option http-keep-alive
  # During a reload, idle keep-alive connections of the old worker are closed only after one more response
  # (with Connection: close), so a client never writes into a connection that is being torn down.
  option idle-close-on-response
  timeout connect ${t.connect}s
  timeout client ${t.client}s
  timeout server ${t.server}s
  timeout tunnel ${t.tunnel}s
  timeout http-request ${t.httpRequest}s
  timeout http-keep-alive ${t.keepAlive}s
  timeout queue ${t.connect}s
${globalDefaultsLines(model.global).map((l) => `  ${l}\n`).join('')}  http-error status 502 content-type "text/plain; charset=utf-8" string "502 Bad Gateway: the backend failed to answer\\n"
  http-error status 503 content-type "text/plain; charset=utf-8" hdr ${INTERNAL_MARK} 1 string "Service unavailable: no endpoint of this route could take the request\\n"
  http-error status 504 content-type "text/plain; charset=utf-8" string "504 Gateway Timeout: the backend did not answer in time\\n"

# What the listeners follow: HAProxy warns when one defaults section is both named by others and followed by proxies.
defaults ${LISTENER_DEFAULTS} from ${BASE_DEFAULTS}

${frontendText({ name: HTTP_FRONTEND, tls: false, port: o.httpPort, binds: bindLines(o, o.httpPort, '') })}

${frontendText({ name: HTTPS_FRONTEND, tls: true, port: o.httpsPort, binds: httpsBinds })}

${[...tables, ...fastCgiAppSections(model), ...(gateFrontend ? [gateFrontend] : []), ...routeDefaults, ...(gateBackend ? [gateBackend] : []), ...model.backends.filter((b) => !b.policy?.passthrough).map((b) => sectionText(b.name, b, withDns, o.filesDir)), ...Array.from({ length: spares }, (_, i) => sectionText(spareName(i), undefined, withDns, o.filesDir)), ...stickySpares(model).map((n) => sectionText(n, undefined, withDns, o.filesDir, true)), ...tcpSections].join('\n\n')}
`;
}

/** The Lua scripts of the families in use: file (relative to the configuration's directory) and text. */
function familyLua(features: ReadonlySet<string>): [file: string, text: string][] {
  return FAMILIES.filter((f) => f.lua && (Object.keys(f.maps) as MapName[]).some((m) => features.has(m))).map((f) => [f.lua!.file, f.lua!.text]);
}

export function render(model: RoutingModel, flagOptions: RenderOptions, defaultCertPem: string): Artefacts {
  const features = featuresInUse(model);
  const o = withGlobalSettings(flagOptions, model.global);
  const files = new Map([...renderMaps(model), ...renderCertificates(model, o.filesDir, defaultCertPem), ...bodyLimitFiles(o.edge, features.has('bodySize')), ...familyLua(features), ...clientAddressFiles(clientAddressOf(model.global)), ...globalSettingsFiles(model.global)]);
  return { config: renderConfig(model, o, features), files };
}
