// The routing model indexed once for lookups that answer exactly as HAProxy's routing maps do (render.ts
// `groupEntries` and the frontend's routing rules), so that explain, and the access log's Ingress and route fields,
// cost a few hash lookups per request at any number of Ingresses.
import { ANY_HOST_KEY, CATCH_ALL_KEY } from '../model/types.js';
import type { Backend, Certificate, HostGroup, RegexRoute, RouteTarget, RoutingModel, SniBinding } from '../model/types.js';

export type RouteKind = 'exact' | 'prefix' | 'regex' | 'default' | 'catch-all';

/** A route and where it sits in the routing maps. */
export interface IndexedRoute {
  route: RouteTarget;
  kind: RouteKind;
  /** The host group's key; absent for the catch-all. */
  group?: string;
}

export interface GroupIndex {
  group: HostGroup;
  /** paths.map keys of the group, without the group key in front: `/a?` (exact, and a prefix's own path), `/a/`. */
  paths: Map<string, IndexedRoute>;
  /** The lengths of the keys ending in `/`: only a prefix of one of these lengths can be a key, so a long request path
   * costs one scan for `/`, not a hash of every prefix. */
  prefixLengths: Set<number>;
  longestPrefix: number;
}

/** How a host name found its group (rule H5's steps). */
export type HostStep = { rule: 'H2'; via: 'host' | 'alias' } | { rule: 'H3'; wildcard: string } | { rule: 'H5'; anyHost: true };

export interface RouteIndex {
  model: RoutingModel;
  /** hosts.map: exact hosts, aliases and `*` -> group. */
  hosts: Map<string, GroupIndex>;
  /** wildcards.map: `*.example.com` (and wildcard aliases) -> group. */
  wildcards: Map<string, GroupIndex>;
  /** host-redirects.map: a host's other name (from-to-www-redirect) -> the host. */
  wwwRedirects: Map<string, string>;
  backends: Map<string, Backend>;
  certificates: Map<string, Certificate>;
  sni: Map<string, SniBinding>;
  /** `namespace/name|rule|path` -> the route built from that path of that Ingress. */
  sources: Map<string, IndexedRoute>;
  /** Every Ingress that has a route or default backend in the model. */
  routed: Set<string>;
}

const indexes = new WeakMap<RoutingModel, RouteIndex>();

/** The index of a model, built on first use and kept while the model lives. */
export function routeIndexOf(model: RoutingModel): RouteIndex {
  let ix = indexes.get(model);
  if (!ix) {
    ix = buildIndex(model);
    indexes.set(model, ix);
  }
  return ix;
}

export function sourceKey(ingress: string, rule: number, path: number): string {
  return `${ingress}|${rule}|${path}`;
}

function buildIndex(model: RoutingModel): RouteIndex {
  const ix: RouteIndex = { model, hosts: new Map(), wildcards: new Map(), wwwRedirects: new Map(), backends: new Map(), certificates: new Map(), sni: new Map(), sources: new Map(), routed: new Set() };
  const note = (r: IndexedRoute): void => {
    const s = r.route.source;
    ix.routed.add(s.ingress);
    if ('rule' in s) ix.sources.set(sourceKey(s.ingress, s.rule, s.path), r);
  };
  for (const g of model.hostGroups) {
    const gi: GroupIndex = { group: g, paths: new Map(), prefixLengths: new Set(), longestPrefix: 0 };
    for (const host of [g.key, ...(g.aliases ?? [])]) (host.startsWith('*.') ? ix.wildcards : ix.hosts).set(host, gi);
    if (g.wwwRedirectFrom !== undefined) ix.wwwRedirects.set(g.wwwRedirectFrom, g.key);
    // The same keys, in the same order of overwriting, as groupEntries: a prefix writes `<p>/` and `<p>?` (`/` only
    // `/`), then an exact route takes `<p>?` even where a prefix had it (rule P3).
    for (const r of g.prefix) {
      const ir: IndexedRoute = { route: r, kind: 'prefix', group: g.key };
      gi.paths.set(r.matchPrefix, ir);
      gi.prefixLengths.add(r.matchPrefix.length);
      gi.longestPrefix = Math.max(gi.longestPrefix, r.matchPrefix.length);
      if (r.matchPrefix !== '/') gi.paths.set(`${r.matchPrefix.slice(0, -1)}?`, ir);
      note(ir);
    }
    for (const r of g.exact) {
      const ir: IndexedRoute = { route: r, kind: 'exact', group: g.key };
      gi.paths.set(`${r.path}?`, ir);
      note(ir);
    }
    for (const r of g.regex ?? []) note({ route: r, kind: 'regex', group: g.key });
    if (g.defaultBackend) note({ route: g.defaultBackend, kind: 'default', group: g.key });
  }
  if (model.catchAll) note({ route: model.catchAll, kind: 'catch-all' });
  for (const b of model.backends) ix.backends.set(b.name, b);
  for (const c of model.certificates) ix.certificates.set(c.id, c);
  for (const s of model.sni) ix.sni.set(s.host, s);
  return ix;
}

/** Rule H5 on a normalised host (request.ts `normaliseHost`), as the frontend's three lookups do it. */
export function hostGroupOf(ix: RouteIndex, host: string): { group: GroupIndex; step: HostStep } | undefined {
  const exact = ix.hosts.get(host);
  if (exact && host !== ANY_HOST_KEY) return { group: exact, step: { rule: 'H2', via: exact.group.key === host ? 'host' : 'alias' } };
  // Only a first label of DNS characters is replaced (`^[a-z0-9-]+\.`): exactly one label, rule H3.
  if (/^[a-z0-9-]+\./.test(host)) {
    const wildcard = host.replace(/^[^.]+\./, '*.');
    const w = ix.wildcards.get(wildcard);
    if (w) return { group: w, step: { rule: 'H3', wildcard } };
  }
  const any = ix.hosts.get(ANY_HOST_KEY);
  return any ? { group: any, step: { rule: 'H5', anyHost: true } } : undefined;
}

// Regular expressions are compiled once per route and kept as long as the route object lives.
const compiled = new WeakMap<RegexRoute, RegExp | null>();

/** A regex route's expression as the regex paths map applies it: anchored at the path's start, case-insensitive. */
export function regexOf(r: RegexRoute): RegExp | null {
  let re = compiled.get(r);
  if (re === undefined) {
    try {
      re = new RegExp(`^(?:${r.pattern})`, 'i');
    } catch {
      re = null;
    }
    compiled.set(r, re);
  }
  return re;
}

/**
 * The paths map's `map_beg` on `<group><path>?`: the longest key that begins it. Keys end in `?` (the whole path) or
 * `/` (an element boundary), so the candidates are the whole path and each prefix ending at a `/`, longest first.
 */
export function pathRouteOf(gi: GroupIndex, path: string): IndexedRoute | undefined {
  const whole = gi.paths.get(`${path}?`);
  if (whole) return whole;
  for (let i = path.lastIndexOf('/', gi.longestPrefix - 1); i >= 0; i = i === 0 ? -1 : path.lastIndexOf('/', i - 1)) {
    if (!gi.prefixLengths.has(i + 1)) continue;
    const r = gi.paths.get(path.slice(0, i + 1));
    if (r) return r;
  }
  return undefined;
}

/** The regex paths map: the group's regex routes in their order, the first whose expression matches. */
export function regexRouteOf(gi: GroupIndex, path: string): { route: RegexRoute; index: number } | undefined {
  const list = gi.group.regex ?? [];
  for (let i = 0; i < list.length; i++) if (regexOf(list[i]!)?.test(path)) return { route: list[i]!, index: i };
  return undefined;
}

/** What routing alone decides for a normalised host and a canonical path: the route, or none (404). */
export interface RouteMatch {
  host?: { group: GroupIndex; step: HostStep };
  route?: IndexedRoute;
  /** Rule ids of the path step: P3 (exact), P4-P6/P10 (longest prefix), use-regex, D3/M8 (the group's default),
   * D1/D5 (the catch-all), H6 (the group's choice is final), D4 (404). */
  rules: string[];
}

/** Routing as the frontend does it (fast and slow path give the same answer): host group, then path, then defaults. */
export function matchRoute(ix: RouteIndex, host: string, path: string): RouteMatch {
  const found = hostGroupOf(ix, host);
  if (!found) {
    if (ix.model.catchAll) return { rules: ['D1', 'D5'], route: { route: ix.model.catchAll, kind: 'catch-all' } };
    return { rules: ['H7', 'D4'] };
  }
  const gi = found.group;
  const byPath = pathRouteOf(gi, path);
  if (byPath) return { host: found, route: byPath, rules: byPath.kind === 'exact' ? ['P3', 'P10'] : ['P4', 'P5', 'P6', 'P10'] };
  const re = regexRouteOf(gi, path);
  if (re) return { host: found, route: { route: re.route, kind: 'regex', group: gi.group.key }, rules: ['use-regex'] };
  if (gi.group.defaultBackend) return { host: found, route: { route: gi.group.defaultBackend, kind: 'default', group: gi.group.key }, rules: ['H6', 'D3', 'M8'] };
  return { host: found, rules: ['H6', 'P16', 'D4'] };
}

export { CATCH_ALL_KEY };
