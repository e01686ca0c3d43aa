// plan(live state, next model) -> the runtime API operations that turn one into the other, or the reason a reload
// is needed. Pure: the golden-style unit tests feed it models and read the operations back.
//
// The configuration text changes only on reload. Between reloads everything routine is a runtime operation:
// servers are added and removed in backend sections, new Services are bound to pre-provisioned spare sections,
// routes are map entries, certificates and SNI names live in HAProxy's certificate store and crt-list.
import type { Backend, BackendPolicy, CaFile, Certificate, HostGroup, RouteTarget, RoutingModel, Server, SniBinding } from '../../model/types.js';
import { cmp } from '../../translate/diagnostics.js';
import { CRT_LIST, DEFAULT_CERT, backendEntries, backendTlsFilesOf, FEATURE_MAPS, MAPS, caFilesOf, caPath, crlPath, crtListEntry, catchAllEntries, certificatePath, defaultCertificatePem, dialledServers, groupEntries, groupFeatures, groupRoutes, inheritSharedEntries, renderMaps, sectionFlavour, spareFlavour, routeFeatures, sharedEntries, sniName, usesSharedLines } from '../render/render.js';
import type { BackendTlsFile, MapEntry, MapName, SectionOf } from '../render/render.js';
import { sameConfigurationText } from '../render/global-settings.js';
import { blockEntries } from '../render/global-access.js';
import { balancesOnHash, serverId } from '../render/server-ids.js';

/** What the running configuration was rendered with: fixed until the next reload. */
export interface Layout {
  /** Directory holding the configuration's maps, certificates and crt-list (paths HAProxy knows them by). */
  filesDir: string;
  /** Backend sections named after a model backend, with their ExternalName target ('' for an ordinary one). */
  named: ReadonlyMap<string, string>;
  /** The policy features the frontend has rules for (render.ts `featuresInUse`). */
  features: ReadonlySet<string>;
}

export interface RuntimeState {
  layout: Layout;
  /** The model HAProxy serves now. */
  model: RoutingModel;
  /** Backends added since the reload -> the spare section serving them. */
  bound: ReadonlyMap<string, string>;
  /** Spare sections serving nothing, in the order they are handed out. */
  free: readonly string[];
  /** PEM of the certificate the HTTPS listener falls back to. */
  defaultCertPem: string;
}

export type Op =
  /** `policy`: the backend's, whose server options the new server must carry as its section's others do. */
  | {
      op: 'add-server';
      section: string;
      server: Server;
      policy?: BackendPolicy;
      /** the files directory (a TLS policy's CA and certificate) */
      dir?: string;
      /** its place on the section's consistent hash (render/server-ids.ts) */
      id?: number;
    }
  | { op: 'del-server'; section: string; server: string }
  | { op: 'map-add' | 'map-set'; file: string; key: string; value: string }
  | { op: 'map-del'; file: string; key: string }
  | { op: 'map-replace'; file: string; content: string }
  | { op: 'cert-new' | 'cert-set'; file: string; pem: string }
  | { op: 'cert-del'; file: string }
  | { op: 'sni-add' | 'sni-del'; list: string; file: string; host: string; /** sni-add: the whole crt-list line (options included) */ line?: string }
  /** A client CA bundle or CRL (auth-tls-secret) in HAProxy's CA store: created, replaced, deleted once unused. */
  | { op: 'ca-new'; kind: 'ca' | 'crl'; file: string; pem: string }
  | { op: 'ca-del'; kind: 'ca' | 'crl'; file: string }
  /** A backend's CA or client certificate (proxy-ssl-secret), named by its content's hash: created before the servers
   * that use it, deleted after them (a server still waiting for its connections keeps it: then it stays, unused). */
  | { op: 'backend-tls-new'; kind: 'ca' | 'cert'; file: string; pem: string }
  | { op: 'backend-tls-del'; kind: 'ca' | 'cert'; file: string };

export type Plan = { reload: string } | { ops: Op[]; next: RuntimeState };

/** Above this many entry changes, a map is swapped whole (prepare/commit) rather than edited line by line. */
export const MAP_REPLACE_THRESHOLD = 1000;

export function sectionResolver(layout: Layout, bound: ReadonlyMap<string, string>): SectionOf {
  return (b) => (layout.named.has(b) ? b : (bound.get(b) ?? b));
}

export function externalKey(b: Backend): string {
  return b.externalName ? JSON.stringify(b.externalName) : '';
}

/** Walks two arrays sorted by key, yielding the pairs that differ by reference (undefined = absent on that side). */
function* changedPairs<T>(before: readonly T[], after: readonly T[], key: (t: T) => string): Generator<[T | undefined, T | undefined]> {
  if (before === after) return;
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const a = before[i];
    const b = after[j];
    const c = a === undefined ? 1 : b === undefined ? -1 : cmp(key(a), key(b));
    if (c < 0) {
      yield [a, undefined];
      i++;
    } else if (c > 0) {
      yield [undefined, b];
      j++;
    } else {
      if (a !== b) yield [a, b];
      i++;
      j++;
    }
  }
}

export function plan(state: RuntimeState, next: RoutingModel, generatedDefaultCertPem: string): Plan {
  const { layout } = state;
  const prev = state.model;
  const bound = new Map(state.bound);
  const free = [...state.free];
  const freed: string[] = [];
  const serverAdds: Op[] = [];
  const serverDels: Op[] = [];
  if (!sameConfigurationText(prev.global, next.global)) return { reload: 'the settings of the --configmap ConfigMap changed' };

  for (const [before, after] of changedPairs(prev.backends, next.backends, (b) => b.name)) {
    const name = (after ?? before)!.name;
    if (after && (after.externalName || layout.named.get(name))) {
      // ExternalName servers resolve a DNS name from the configuration: a new or changed one needs a reload.
      if (layout.named.get(name) !== externalKey(after)) return { reload: `backend ${name}: ExternalName Service added or changed` };
      continue;
    }
    // The name holds the protocol, so a backend's server options never change under it; should that ever break,
    // servers already in the section would keep the old options, which only a reload rewrites.
    if (before && after && (before.policy?.protocol !== after.policy?.protocol || before.policy?.affinity !== after.policy?.affinity || before.policy?.tls?.id !== after.policy?.tls?.id || before.policy?.retry?.id !== after.policy?.retry?.id || before.policy?.balance?.id !== after.policy?.balance?.id || before.policy?.fastcgi?.id !== after.policy?.fastcgi?.id)) return { reload: `backend ${name}: protocol, affinity, TLS, retry, balance or FastCGI policy changed` };
    let section = layout.named.has(name) ? name : bound.get(name);
    if (!after) {
      if (section === undefined) continue;
      for (const s of dialledServers(before!)) serverDels.push({ op: 'del-server', section, server: s.name });
      if (bound.delete(name)) freed.push(section);
      continue;
    }
    let old: Server[] = before ? dialledServers(before) : [];
    // A retry policy's lines (timeout connect, retries, retry-on) are configuration text no spare carries.
    if (section === undefined && after.policy?.retry) return { reload: `backend ${name}: a retry policy needs a section of its own` };
    // So are a balance policy's (balance leastconn, balance hash and its key).
    if (section === undefined && after.policy?.balance) return { reload: `backend ${name}: a balance policy needs a section of its own` };
    // And a FastCGI backend's `use-fcgi-app` with the fcgi-app section it names (index and params are its lines).
    if (section === undefined && after.policy?.fastcgi) return { reload: `backend ${name}: a FastCGI backend needs a section of its own` };
    if (section === undefined) {
      // A sticky backend needs a sticky spare (its balance line is configuration text), a passthrough one a TCP spare
      // (its mode is), any other a plain one.
      const flavour = spareFlavour(after);
      const at = free.findIndex((f) => sectionFlavour(f) === flavour);
      section = at < 0 ? undefined : free.splice(at, 1)[0];
      if (section === undefined) return { reload: `no ${flavour === 'plain' ? '' : `${flavour} `}spare backend section left for ${name}` };
      bound.set(name, section);
      old = [];
    }
    const now = dialledServers(after);
    const keep = new Set(now.map((s) => s.name));
    const had = new Set(old.map((s) => s.name));
    const hashed = balancesOnHash(after.policy);
    for (const s of now) if (!had.has(s.name)) serverAdds.push({ op: 'add-server', section, server: s, ...(after.policy ? { policy: after.policy, dir: layout.filesDir } : {}), ...(hashed ? { id: serverId(s.name) } : {}) });
    for (const s of old) if (!keep.has(s.name)) serverDels.push({ op: 'del-server', section, server: s.name });
  }

  // Lines that depend on several routes together, compared whole whenever some route may have changed.
  const shared = sharedLinesMayDiffer(state.model, next) ? { before: sharedEntries(state.model), after: sharedEntries(next) } : undefined;
  if (!shared) inheritSharedEntries(state.model, next);
  // The block lists' lines, compared whole when the settings changed (sameConfigurationText let only their lines differ).
  const blocks = state.model.global === next.global ? undefined : { before: blockEntries(state.model.global), after: blockEntries(next.global) };
  const missing = missingFeature(state, next, [...(shared?.after ?? []), ...(blocks?.after ?? [])]);
  if (missing !== undefined) return { reload: `the frontend has no rule for ${missing} yet` };
  // Unlike a rule left behind, the SNI frontend costs every HTTPS connection a hop: it goes with the last host using it.
  if (state.layout.features.has('passthrough') && state.model.hostGroups !== next.hostGroups && !next.hostGroups.some((g) => g.passthrough !== undefined)) return { reload: 'no host passes TLS through any more' };
  const mapOps = planMaps(state, next, bound, shared, blocks);
  const certOps = planCertificates(state, next, generatedDefaultCertPem);
  const tlsOps = planBackendTls(state, next);
  const ops = [...certOps.create, ...tlsOps.create, ...serverAdds, ...mapOps.upserts, ...mapOps.deletes, ...certOps.remove, ...serverDels, ...tlsOps.remove];
  return {
    ops,
    next: { layout, model: next, bound, free: [...free, ...freed], defaultCertPem: certOps.defaultCertPem },
  };
}

/**
 * A feature some changed route needs and the running configuration has no rule for. Only routes that changed are
 * looked at; a feature no route uses any more keeps its rule, which then matches nothing, until the next reload.
 */
function missingFeature(state: RuntimeState, next: RoutingModel, shared: readonly MapEntry[]): string | undefined {
  const has = state.layout.features;
  for (const [map] of shared) if (!has.has(map)) return map;
  for (const [, g] of changedPairs<HostGroup>(state.model.hostGroups, next.hostGroups, (x) => x.key)) {
    for (const f of g ? groupFeatures(g) : []) if (!has.has(f)) return f;
    for (const r of g ? groupRoutes(g) : []) for (const f of routeFeatures(r)) if (!has.has(f)) return f;
  }
  for (const f of next.catchAll ? routeFeatures(next.catchAll) : []) if (!has.has(f)) return f;
  return undefined;
}

/** Adds go in before the lookups that lead to them (feature data, then paths, then hosts); removals in the opposite
 * order. */
const UPSERT_ORDER: MapName[] = [...FEATURE_MAPS, 'paths', 'defaults', 'wildcards', 'hosts'];

/**
 * Whether a route that has (or had) lines shared with other routes changed. Shared lines are recomputed from every such
 * route (thousands with access lists at scale: tens of milliseconds), so a change elsewhere, the usual one, skips them.
 */
function sharedLinesMayDiffer(a: RoutingModel, b: RoutingModel): boolean {
  if (!sameTarget(a.catchAll, b.catchAll) && [a.catchAll, b.catchAll].some((t) => t !== undefined && usesSharedLines(t))) return true;
  for (const [before, after] of changedPairs<HostGroup>(a.hostGroups, b.hostGroups, (g) => g.key)) {
    for (const g of [before, after]) if (g && groupRoutes(g).some(usesSharedLines)) return true;
  }
  return false;
}

const ORDERED_MAPS: ReadonlySet<MapName> = new Set(['regexPaths']);

function planMaps(state: RuntimeState, next: RoutingModel, bound: ReadonlyMap<string, string>, shared: { before: MapEntry[]; after: MapEntry[] } | undefined, blocks?: { before: MapEntry[]; after: MapEntry[] }): { upserts: Op[]; deletes: Op[] } {
  const oldSection = sectionResolver(state.layout, state.bound);
  const newSection = sectionResolver(state.layout, bound);
  const before = new Map<MapName, Map<string, string>>();
  const after = new Map<MapName, Map<string, string>>();
  const put = (into: Map<MapName, Map<string, string>>) => (e: MapEntry) => {
    const m = into.get(e[0]) ?? new Map<string, string>();
    m.set(e[1], e[2]);
    into.set(e[0], m);
  };
  for (const [a, b] of changedPairs<HostGroup>(state.model.hostGroups, next.hostGroups, (g) => g.key)) {
    if (a) groupEntries(a, oldSection).forEach(put(before));
    if (b) groupEntries(b, newSection).forEach(put(after));
  }
  if (!sameTarget(state.model.catchAll, next.catchAll)) {
    catchAllEntries(state.model.catchAll, oldSection).forEach(put(before));
    catchAllEntries(next.catchAll, newSection).forEach(put(after));
  }
  shared?.before.forEach(put(before));
  shared?.after.forEach(put(after));
  blocks?.before.forEach(put(before));
  blocks?.after.forEach(put(after));
  // Lines made from a backend's servers (cookie affinity's pods) follow the servers: a pod added or removed is a map
  // update, like the server itself.
  for (const [a, b] of changedPairs<Backend>(state.model.backends, next.backends, (x) => x.name)) {
    if (a) backendEntries(a, oldSection).forEach(put(before));
    if (b) backendEntries(b, newSection).forEach(put(after));
  }
  const upserts: Op[] = [];
  const deletes: Op[] = [];
  let full: Map<string, string> | undefined;
  for (const name of UPSERT_ORDER) {
    const file = `${state.layout.filesDir}/${MAPS[name]}`;
    const was = before.get(name) ?? new Map<string, string>();
    const now = after.get(name) ?? new Map<string, string>();
    const ups: Op[] = [];
    const dels: Op[] = [];
    for (const [key, value] of now) {
      const old = was.get(key);
      if (old === value) continue;
      ups.push({ op: old === undefined ? 'map-add' : 'map-set', file, key, value });
    }
    for (const key of was.keys()) if (!now.has(key)) dels.push({ op: 'map-del', file, key });
    // The regex paths are tried in file order, and `add map` appends: a changed line takes a swap of the whole map.
    if (ups.length + dels.length > (ORDERED_MAPS.has(name) ? 0 : MAP_REPLACE_THRESHOLD)) {
      full ??= renderMaps(next, newSection);
      upserts.push({ op: 'map-replace', file, content: full.get(MAPS[name]) ?? '' });
      continue;
    }
    upserts.push(...ups);
    deletes.unshift(...dels);
  }
  return { upserts, deletes };
}

function sameTarget(a: RouteTarget | undefined, b: RouteTarget | undefined): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The certificates HAProxy holds under their own file: those an SNI line names. One used only as the default (from
 * --default-ssl-certificate) is served through `certs/default.pem`; HAProxy never loaded its own file, and refuses
 * `set ssl cert` on it.
 */
function inCertificateStore(m: RoutingModel): Certificate[] {
  const named = new Set(m.sni.map((b) => b.certificate));
  return m.certificates.filter((c) => named.has(c.id));
}

function planCertificates(state: RuntimeState, next: RoutingModel, generatedDefaultCertPem: string): { create: Op[]; remove: Op[]; defaultCertPem: string } {
  const dir = state.layout.filesDir;
  const list = `${dir}/${CRT_LIST}`;
  const fileOf = (id: string): string => certificatePath(dir, id);
  const create: Op[] = [];
  const remove: Op[] = [];
  for (const [a, b] of changedPairs<Certificate>(inCertificateStore(state.model), inCertificateStore(next), (c) => c.id)) {
    if (b && !a) create.push({ op: 'cert-new', file: fileOf(b.id), pem: b.pem });
    else if (b && a && a.pem !== b.pem) create.push({ op: 'cert-set', file: fileOf(b.id), pem: b.pem });
    else if (a && !b) remove.push({ op: 'cert-del', file: fileOf(a.id) });
  }
  const defaultCertPem = defaultCertificatePem(next, generatedDefaultCertPem);
  if (defaultCertPem !== state.defaultCertPem) create.push({ op: 'cert-set', file: `${dir}/${DEFAULT_CERT}`, pem: defaultCertPem });
  // Client CAs and CRLs (auth-tls-secret) before the lines that name them, removed after. Their files are named by
  // their content (render.ts caRelative), so new content is a new file and the lines that name it are swapped, never
  // a file changed in place, which HAProxy 2.6 gets wrong (issue #3165).
  const caRemove: Op[] = [];
  const casBefore = caFilesOf(state.model);
  const casAfter = caFilesOf(next);
  for (const [a, b] of changedPairs<CaFile>(casBefore, casAfter, (c) => c.id)) {
    if (a && b && a.sha256 === b.sha256) continue;
    if (b) {
      create.push({ op: 'ca-new', kind: 'ca', file: caPath(dir, b), pem: b.pem });
      if (b.crl !== undefined) create.push({ op: 'ca-new', kind: 'crl', file: crlPath(dir, b), pem: b.crl });
    }
    if (a) {
      caRemove.push({ op: 'ca-del', kind: 'ca', file: caPath(dir, a) });
      if (a.crl !== undefined) caRemove.push({ op: 'ca-del', kind: 'crl', file: crlPath(dir, a) });
    }
  }
  const casOf = (list: CaFile[]): Map<string, CaFile> => new Map(list.map((c) => [c.id, c]));
  const [cb, ca] = [casOf(casBefore), casOf(casAfter)];
  const sniDels: Op[] = [];
  for (const [a, b] of changedPairs<SniBinding>(state.model.sni, next.sni, (s) => s.host)) {
    const lineAfter = b ? crtListEntry(dir, b, ca) : undefined;
    if (a && b && crtListEntry(dir, a, cb) === lineAfter) continue;
    // The new line goes in before the old one leaves, so the name never falls back to the default certificate (nor
    // a host with client authentication to a handshake that asks for none).
    if (b) create.push({ op: 'sni-add', list, file: fileOf(b.certificate), host: sniName(b.host), line: lineAfter! });
    if (a) sniDels.push({ op: 'sni-del', list, file: fileOf(a.certificate), host: a.host });
  }
  return { create, remove: [...sniDels, ...remove, ...caRemove], defaultCertPem };
}

/** The backends' CA files and client certificates (proxy-ssl-secret): content-addressed, so only created or deleted. */
function planBackendTls(state: RuntimeState, next: RoutingModel): { create: Op[]; remove: Op[] } {
  if (state.model.backends === next.backends) return { create: [], remove: [] };
  const dir = state.layout.filesDir;
  const create: Op[] = [];
  const remove: Op[] = [];
  for (const [a, b] of changedPairs<BackendTlsFile>(backendTlsFilesOf(state.model), backendTlsFilesOf(next), (f) => f.file)) {
    if (b && !a) create.push({ op: 'backend-tls-new', kind: b.kind, file: `${dir}/${b.file}`, pem: b.pem });
    else if (a && !b) remove.push({ op: 'backend-tls-del', kind: a.kind, file: `${dir}/${a.file}` });
  }
  return { create, remove };
}
