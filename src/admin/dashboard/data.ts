// GET /debug/dashboard.json?view=hosts|ingresses|certificates|problems&q=&page=&limit=: what the dashboard shows,
// one page of one view at a time, filtered on the server. With 10,000 Ingresses a browser never gets more than a
// page; the rows of each view are derived once per live model, and a request costs a filter over them plus the
// health and traffic of the rows on its page.
import type { Backend, Diagnostic, HostGroup, RouteTarget, RoutingModel, TranslateResult } from '../../model/types.js';
import { endpointKey } from './endpoint-health.js';
import type { EndpointHealth, Health } from './endpoint-health.js';
import type { TrafficSummary, TrafficWindow } from './traffic-window.js';

export const VIEWS = ['hosts', 'ingresses', 'certificates', 'problems'] as const;
export type View = (typeof VIEWS)[number];
/** Hosts and Ingresses by name, by request rate or by 5xx rate over the window (busiest first). */
export const SORTS = ['name', 'rate', 'errors'] as const;
export type Sort = (typeof SORTS)[number];
export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 200;
const MAX_QUERY = 256;
/** A diagnostic quotes the value it refused, which may be a megabyte: a page shows its start. */
const MAX_TEXT = 1000;
/** A host with thousands of paths, a Service with thousands of endpoints: a page shows this many, the rest counted. */
const MAX_ROUTES_SHOWN = 50;
const MAX_ENDPOINTS_SHOWN = 50;
const EXPIRING_SOON_MS = 14 * 24 * 3600 * 1000;

export interface DashboardTraffic {
  /** Keyed by host group key (`*` for rules without host). */
  hosts: TrafficWindow;
  /** Keyed by `namespace/name`. */
  ingresses: TrafficWindow;
  /** One key, ALL_TRAFFIC: every request a route served. */
  all: TrafficWindow;
}
export const ALL_TRAFFIC = 'all';
/** The host row (and traffic key) of the catch-all default backend: no host group key takes this form. */
export const CATCH_ALL_HOST = '(catch-all default backend)';

interface RouteRow {
  search: string;
  path: string;
  pathType: string;
  ingress: string;
  backend: string;
  canary?: string;
}

interface HostRow {
  host: string;
  aliases: string[];
  tls: boolean;
  routes: RouteRow[];
  search: string;
}

interface IngressRow {
  ingress: string;
  status: 'ok' | 'invalid' | 'ignored';
  reason: string;
  search: string;
}

interface CertificateRow {
  secret: string;
  hosts: string[];
  notBefore: string;
  notAfter: string;
  search: string;
}

interface Rows {
  hosts: HostRow[];
  ingresses: IngressRow[];
  certificates: CertificateRow[];
  problems: (Diagnostic & { search: string })[];
  backends: Map<string, Backend>;
  diagnosticsByObject: Map<string, number>;
  counts: { ok: number; invalid: number; ignored: number };
}

export interface Query {
  view: View;
  sort: Sort;
  q: string;
  page: number;
  limit: number;
}

export class QueryError extends Error {}

/** The query string, strictly: an unknown view or a page that is not a small positive integer is an error, not a guess. */
export function parseQuery(p: URLSearchParams): Query {
  const view = p.get('view') ?? 'hosts';
  if (!(VIEWS as readonly string[]).includes(view)) throw new QueryError(`view= must be one of ${VIEWS.join(', ')}`);
  const sort = p.get('sort') ?? 'name';
  if (!(SORTS as readonly string[]).includes(sort)) throw new QueryError(`sort= must be one of ${SORTS.join(', ')}`);
  const q = (p.get('q') ?? '').trim().toLowerCase();
  if (q.length > MAX_QUERY) throw new QueryError(`q= is longer than ${MAX_QUERY} characters`);
  const int = (name: string, dflt: number, max: number): number => {
    const v = p.get(name);
    if (v === null || v === '') return dflt;
    if (!/^[0-9]{1,7}$/.test(v) || Number(v) < 1) throw new QueryError(`${name}= must be a positive integer`);
    return Math.min(Number(v), max);
  };
  return { view: view as View, sort: sort as Sort, q, page: int('page', 1, 1_000_000), limit: int('limit', DEFAULT_LIMIT, MAX_LIMIT) };
}

/** One page of `rows` matching `q` (a substring of a row's search text), and how many matched in all; with `by`, the
 * matching rows in that order first (the rows derived per model keep theirs). */
export function pageOf<T extends { search: string }>(rows: readonly T[], q: Query, by?: (a: T, b: T) => number): { total: number; page: number; pages: number; rows: T[] } {
  let matching = q.q === '' ? rows : rows.filter((r) => r.search.includes(q.q));
  if (by) matching = [...matching].sort(by);
  const pages = Math.max(1, Math.ceil(matching.length / q.limit));
  const page = Math.min(q.page, pages);
  return { total: matching.length, page, pages, rows: matching.slice((page - 1) * q.limit, page * q.limit) };
}

const rowsByModel = new WeakMap<RoutingModel, Rows>();

function rowsOf(result: TranslateResult): Rows {
  const model = result.model;
  let r = rowsByModel.get(model);
  if (r) return r;
  const diagnosticsByObject = new Map<string, number>();
  for (const d of result.diagnostics) diagnosticsByObject.set(d.object, (diagnosticsByObject.get(d.object) ?? 0) + 1);
  const backends = new Map(model.backends.map((b) => [b.name, b]));
  const hosts = model.hostGroups.map((g) => hostRow(g, backends));
  if (model.catchAll) hosts.push(withSearch({ host: CATCH_ALL_HOST, aliases: [], tls: false, routes: [routeRow('', '', model.catchAll, backends)] }));
  hosts.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  const firstError = new Map<string, Diagnostic>();
  for (const d of result.diagnostics) if (d.level === 'error' && !firstError.has(d.object)) firstError.set(d.object, d);
  const ingresses: IngressRow[] = model.ingresses.map((i) => {
    // An invalid Ingress is not owned either: invalid says more.
    const status = !i.valid ? 'invalid' : !i.owned ? 'ignored' : 'ok';
    const d = firstError.get(`Ingress ${i.ingress}`);
    const reason = clip(status === 'ignored' ? i.classReason : status === 'invalid' && d ? `${d.rule}: ${d.message}` : '');
    return { ingress: i.ingress, status, reason, search: `${i.ingress} ${status}`.toLowerCase() };
  });
  ingresses.sort((a, b) => (a.ingress < b.ingress ? -1 : a.ingress > b.ingress ? 1 : 0));
  const hostsOfCert = new Map<string, string[]>();
  for (const s of model.sni) hostsOfCert.set(s.certificate, [...(hostsOfCert.get(s.certificate) ?? []), s.host]);
  const certificates: CertificateRow[] = model.certificates.map((c) => {
    const h = hostsOfCert.get(c.id) ?? [];
    return { secret: c.secret, hosts: h, notBefore: c.notBefore, notAfter: c.notAfter, search: `${c.secret} ${h.join(' ')} ${c.dnsNames.join(' ')}`.toLowerCase() };
  });
  certificates.sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter));
  const problems = result.diagnostics.map((d) => ({ ...d, search: `${d.level} ${d.object} ${d.field} ${d.rule} ${d.message}`.toLowerCase() }));
  problems.sort((a, b) => (a.level === b.level ? 0 : a.level === 'error' ? -1 : 1));
  const counts = { ok: 0, invalid: 0, ignored: 0 };
  for (const i of ingresses) counts[i.status]++;
  r = { hosts, ingresses, certificates, problems, backends, diagnosticsByObject, counts };
  rowsByModel.set(model, r);
  return r;
}

function routeRow(path: string, pathType: string, t: RouteTarget, backends: Map<string, Backend>): RouteRow {
  const canary = t.policy.canary ? backends.get(t.policy.canary.backend) : undefined;
  const b = backends.get(t.backend);
  const search = `${path} ${t.source.ingress} ${b ? `${b.ref.namespace}/${b.ref.service}` : t.backend}`.toLowerCase();
  return { search, path, pathType, ingress: t.source.ingress, backend: t.backend, ...(canary ? { canary: canary.name } : {}) };
}

function hostRow(g: HostGroup, backends: Map<string, Backend>): HostRow {
  const routes: RouteRow[] = [];
  for (const p of g.regex ?? []) routes.push(routeRow(p.path, `${p.pathType} (regex)`, p, backends));
  for (const p of g.exact) routes.push(routeRow(p.path, p.pathType, p, backends));
  for (const p of g.prefix) routes.push(routeRow(p.path, p.pathType, p, backends));
  if (g.defaultBackend) routes.push(routeRow('', 'default backend', g.defaultBackend, backends));
  return withSearch({ host: g.key, aliases: g.aliases ?? [], tls: g.tlsHost === true, routes });
}

function withSearch(h: Omit<HostRow, 'search'>): HostRow {
  return { ...h, search: [h.host, ...h.aliases, ...h.routes.map((r) => r.search)].join(' ').toLowerCase() };
}

export function clip(text: string): string {
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT)}… (${text.length - MAX_TEXT} more characters)`;
}

const endpointText = (address: string, port: number): string => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);

interface EndpointView {
  endpoint: string;
  health: Health | 'terminating';
  failedAttempts: number;
}

interface ServiceView {
  service: string;
  port: string;
  /** Why the Service answers 503 (no endpoints, no such Service...), when it does. */
  unavailable?: string;
  /** The unhealthy first, at most MAX_ENDPOINTS_SHOWN. */
  endpoints: EndpointView[];
  /** Endpoints not in `endpoints`, and how many of them are healthy. */
  moreEndpoints: number;
  moreHealthy: number;
}

const HEALTH_ORDER: Record<EndpointView['health'], number> = { down: 0, failing: 0, terminating: 1, unknown: 2, up: 3 };

function serviceView(b: Backend | undefined, health: EndpointHealth, now: number): ServiceView | undefined {
  if (!b) return undefined;
  const { namespace, service } = b.ref;
  const port = String(b.ref.port);
  const endpoints = b.externalName ? [{ address: b.externalName.host, port: b.externalName.port, ready: true }] : b.servers;
  const all: EndpointView[] = endpoints.map((s) => {
    const text = b.externalName ? `${s.address}:${s.port}` : endpointText(s.address, s.port);
    const h = health.of(endpointKey(namespace, service, port, text), now);
    return { endpoint: text, health: h.health === 'up' && !s.ready ? 'terminating' : h.health, failedAttempts: h.failedAttempts };
  });
  // Stable: endpoints of one health keep the model's order.
  all.sort((x, y) => HEALTH_ORDER[x.health] - HEALTH_ORDER[y.health]);
  const rest = all.slice(MAX_ENDPOINTS_SHOWN);
  const view: ServiceView = {
    service: `${namespace}/${service}`,
    port,
    endpoints: all.slice(0, MAX_ENDPOINTS_SHOWN),
    moreEndpoints: rest.length,
    moreHealthy: rest.filter((e) => e.health === 'up').length,
  };
  if (b.unavailable !== undefined) view.unavailable = b.unavailable;
  else if (endpoints.length === 0) view.unavailable = 'no endpoints';
  return view;
}

const rounded = (t: TrafficSummary): TrafficSummary => ({
  requests: t.requests,
  rate: Math.round(t.rate * 100) / 100,
  errorRate: Math.round(t.errorRate * 10_000) / 10_000,
  latencyMeanMs: Math.round(t.latencyMeanMs * 10) / 10,
  latencyP95Ms: t.latencyP95Ms,
});

/** The busiest (or most failing) first, then by name: the rows' own order, which sort() keeps for ties. */
function byTraffic<T>(sort: Sort, window: TrafficWindow, keyOf: (row: T) => string): ((a: T, b: T) => number) | undefined {
  if (sort === 'name') return undefined;
  const cache = new Map<string, number>();
  const value = (row: T): number => {
    const key = keyOf(row);
    let v = cache.get(key);
    if (v === undefined) {
      const t = window.summary(key);
      v = sort === 'rate' ? t.rate : t.errorRate * t.requests;
      cache.set(key, v);
    }
    return v;
  };
  return (a, b) => value(b) - value(a);
}

export interface DashboardInput {
  result: TranslateResult | undefined;
  traffic: DashboardTraffic;
  health: EndpointHealth;
  now: number;
  windowSeconds: number;
}

/** The JSON answer for one query. */
export function dashboardJson(input: DashboardInput, q: Query): unknown {
  const { result, traffic, health, now } = input;
  if (!result) return { live: false, view: q.view, total: 0, page: 1, pages: 1, items: [] };
  const rows = rowsOf(result);
  const summary = {
    hosts: rows.hosts.length,
    ingresses: rows.counts.ok,
    invalid: rows.counts.invalid,
    ignored: rows.counts.ignored,
    problems: rows.problems.length,
    certificates: rows.certificates.length,
    expiringSoon: rows.certificates.filter((c) => Date.parse(c.notAfter) - now < EXPIRING_SOON_MS).length,
    traffic: rounded(traffic.all.summary(ALL_TRAFFIC)),
  };
  const base = { live: true, generatedAt: new Date(now).toISOString(), windowSeconds: input.windowSeconds, summary, view: q.view, q: q.q, limit: q.limit };
  switch (q.view) {
    case 'hosts': {
      const p = pageOf(rows.hosts, q, byTraffic(q.sort, traffic.hosts, (h: HostRow) => h.host));
      const items = p.rows.map((h) => {
        // A search that names a path, Ingress or Service shows those routes of the host; one naming the host, all.
        const matching = q.q === '' || h.host.includes(q.q) ? h.routes : h.routes.filter((r) => r.search.includes(q.q));
        const routes = matching.length > 0 ? matching : h.routes;
        return {
          host: h.host,
          aliases: h.aliases,
          tls: h.tls,
          traffic: rounded(traffic.hosts.summary(h.host)),
          moreRoutes: Math.max(0, routes.length - MAX_ROUTES_SHOWN),
          routes: routes.slice(0, MAX_ROUTES_SHOWN).map((r) => ({
            path: r.path,
            pathType: r.pathType,
            ingress: r.ingress,
            service: serviceView(rows.backends.get(r.backend), health, now),
            ...(r.canary !== undefined ? { canary: serviceView(rows.backends.get(r.canary), health, now) } : {}),
          })),
        };
      });
      return { ...base, total: p.total, page: p.page, pages: p.pages, items };
    }
    case 'ingresses': {
      const p = pageOf(rows.ingresses, q, byTraffic(q.sort, traffic.ingresses, (i: IngressRow) => i.ingress));
      const items = p.rows.map((i) => ({
        ingress: i.ingress,
        status: i.status,
        reason: i.reason,
        diagnostics: rows.diagnosticsByObject.get(`Ingress ${i.ingress}`) ?? 0,
        traffic: rounded(traffic.ingresses.summary(i.ingress)),
      }));
      return { ...base, total: p.total, page: p.page, pages: p.pages, items };
    }
    case 'certificates': {
      const p = pageOf(rows.certificates, q);
      const items = p.rows.map((c) => ({ secret: c.secret, hosts: c.hosts, notBefore: c.notBefore, notAfter: c.notAfter, daysLeft: Math.floor((Date.parse(c.notAfter) - now) / 86_400_000) }));
      return { ...base, total: p.total, page: p.page, pages: p.pages, items };
    }
    case 'problems': {
      const p = pageOf(rows.problems, q);
      const items = p.rows.map((d) => ({ level: d.level, object: clip(d.object), field: clip(d.field), rule: clip(d.rule), message: clip(d.message) }));
      return { ...base, total: p.total, page: p.page, pages: p.pages, items };
    }
  }
}
