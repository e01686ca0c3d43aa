// Rules H5, P1-P16, M1-M8, D1-D6 and T9: owned, valid Ingresses merged into host groups.
import type { Diagnostic, HostGroup, PathRoute, PathType, RouteTarget, ServiceRef } from '../model/types.js';
import { cmp } from './diagnostics.js';
import type { BackendSpec, IngressInfo } from './validate-ingress.js';

export const EMPTY_HOST_KEY = '*';

export interface RouteOptions {
  /** Global switch for the HTTP to HTTPS redirect of TLS hosts (rule T9). */
  sslRedirect: boolean;
}

const SSL_REDIRECT_ANNOTATIONS = ['nginx.ingress.kubernetes.io/ssl-redirect', 'portico.dev/ssl-redirect'];
const FORCE_SSL_REDIRECT_ANNOTATIONS = ['nginx.ingress.kubernetes.io/force-ssl-redirect', 'portico.dev/force-ssl-redirect'];

/** The backend name HAProxy knows a Service port by; every part passed a DNS grammar, none contains `_`. */
export function backendName(ref: ServiceRef): string {
  return `be_${ref.namespace}_${ref.service}_${ref.port}`;
}

/** Oldest first (rules M3, D2), then namespace/name: the order every "first wins" below relies on. */
export function byAge(a: IngressInfo, b: IngressInfo): number {
  return (a.created === b.created ? 0 : a.created < b.created ? -1 : 1) || cmp(a.key, b.key);
}

interface Candidate extends PathRoute {
  ing: IngressInfo;
  rule: number;
  pathIndex: number;
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

export interface RoutesResult {
  hostGroups: HostGroup[];
  catchAll: RouteTarget | undefined;
  serviceRefs: Map<string, { ref: ServiceRef; users: Set<string> }>;
  diagnostics: Diagnostic[];
}

export function buildRoutes(owned: IngressInfo[], opts: RouteOptions): RoutesResult {
  const ingresses = [...owned].sort(byAge);
  const diagnostics: Diagnostic[] = [];
  const refs = new Map<string, ServiceRef>();
  const tlsHosts = new Set(ingresses.flatMap((i) => i.tls.flatMap((t) => t.hosts)));

  const redirectFor = (ing: IngressInfo, hostKey: string): boolean => {
    const flag = (names: string[], field: string): boolean | undefined => {
      for (const n of names) {
        const v = ing.annotations[n];
        if (v === undefined) continue;
        if (v === 'true' || v === 'false') return v === 'true';
        diagnostics.push({
          level: 'warning',
          object: ing.ref,
          field: `metadata.annotations[${n}]`,
          rule: field,
          message: `value ${JSON.stringify(v.slice(0, 64))} is not "true" or "false"; using the default`,
        });
      }
      return undefined;
    };
    if (flag(FORCE_SSL_REDIRECT_ANNOTATIONS, 'T9') === true) return true;
    const perIngress = flag(SSL_REDIRECT_ANNOTATIONS, 'T9');
    return tlsHosts.has(hostKey) && (perIngress ?? opts.sslRedirect);
  };

  const target = (ing: IngressInfo, backend: BackendSpec, field: string): string | undefined => {
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
    const name = backendName(ref);
    refs.set(name, ref);
    return name;
  };

  const groups = new Map<string, { exact: Map<string, Candidate[]>; prefix: Map<string, Candidate[]>; dflt?: RouteTarget; dfltFrom?: IngressInfo }>();
  const group = (key: string) => {
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { exact: new Map(), prefix: new Map() }));
    return g;
  };

  let catchAll: { target: RouteTarget; ing: IngressInfo } | undefined;
  for (const ing of ingresses) {
    if (ing.rules.length === 0) {
      if (!ing.defaultBackend) continue;
      const be = target(ing, ing.defaultBackend, 'spec.defaultBackend');
      if (be === undefined) continue;
      if (catchAll) {
        diagnostics.push({
          level: 'warning',
          object: ing.ref,
          field: 'spec.defaultBackend',
          rule: 'D2',
          message: `the catch-all default backend of ${catchAll.ing.ref} wins (oldest first; same age: namespace/name order)`,
        });
        continue;
      }
      catchAll = { ing, target: { backend: be, redirectToHttps: false, source: { ingress: ing.key, defaultBackend: true } } };
      continue;
    }
    const declared = new Set<string>();
    ing.rules.forEach((rule, ri) => {
      const key = rule.host === '' ? EMPTY_HOST_KEY : rule.host;
      const g = group(key);
      declared.add(key);
      const redirectToHttps = redirectFor(ing, key);
      rule.paths.forEach((p, pi) => {
        const be = target(ing, p.backend, `spec.rules[${ri}].http.paths[${pi}].backend`);
        if (be === undefined) return;
        const path = p.path === '' ? '/' : p.path;
        const c: Candidate = { path, pathType: p.pathType, backend: be, redirectToHttps, source: { ingress: ing.key, rule: ri, path: pi }, ing, rule: ri, pathIndex: pi };
        const [table, k] = p.pathType === 'Exact' ? [g.exact, path] : [g.prefix, matchPrefix(path)];
        const list = table.get(k) ?? [];
        list.push(c);
        table.set(k, list);
      });
    });
    if (ing.defaultBackend) {
      for (const key of declared) {
        const g = group(key);
        const be = target(ing, ing.defaultBackend, 'spec.defaultBackend');
        if (be === undefined) continue;
        if (g.dflt && g.dfltFrom) {
          diagnostics.push({
            level: 'warning',
            object: ing.ref,
            field: 'spec.defaultBackend',
            rule: 'D3',
            message: `host ${key === EMPTY_HOST_KEY ? '(any)' : key} already uses the default backend of ${g.dfltFrom.ref} (oldest first; same age: namespace/name order)`,
          });
          continue;
        }
        g.dflt = { backend: be, redirectToHttps: redirectFor(ing, key), source: { ingress: ing.key, defaultBackend: true } };
        g.dfltFrom = ing;
      }
    }
  }

  const pick = (groupKey: string, list: Candidate[]): Candidate => {
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
          ? `duplicate of spec.rules[${winner.rule}].http.paths[${winner.pathIndex}] (${winner.pathType} ${winner.path} on ${groupKey}); the first one wins`
          : `${winner.pathType} ${winner.path} on host ${groupKey === EMPTY_HOST_KEY ? '(any)' : groupKey} is already routed by ${winner.ing.ref}, which wins (oldest first; same age: namespace/name order); this path is ignored`,
      });
    }
    return winner;
  };
  const strip = (c: Candidate): PathRoute => ({ path: c.path, pathType: c.pathType, backend: c.backend, redirectToHttps: c.redirectToHttps, source: c.source });

  const hostGroups: HostGroup[] = [...groups.entries()]
    .sort(([a], [b]) => cmp(a, b))
    .map(([key, g]) => {
      const hg: HostGroup = {
        key,
        exact: [...g.exact.entries()].sort(([a], [b]) => cmp(a, b)).map(([, list]) => strip(pick(key, list))),
        prefix: [...g.prefix.entries()]
          .sort(([a], [b]) => cmp(a, b))
          .map(([k, list]) => ({ ...strip(pick(key, list)), matchPrefix: k })),
      };
      if (g.dflt) hg.defaultBackend = g.dflt;
      return hg;
    });

  // Only routes that won become backends: a shadowed path must not produce a backend or warnings about it.
  const serviceRefs = new Map<string, { ref: ServiceRef; users: Set<string> }>();
  const byKey = new Map(ingresses.map((i) => [i.key, i] as const));
  const use = (t: RouteTarget): void => {
    const entry = serviceRefs.get(t.backend) ?? { ref: refs.get(t.backend)!, users: new Set<string>() };
    const ing = byKey.get(t.source.ingress);
    if (ing) entry.users.add(ing.ref);
    serviceRefs.set(t.backend, entry);
  };
  for (const g of hostGroups) {
    for (const r of [...g.exact, ...g.prefix]) use(r);
    if (g.defaultBackend) use(g.defaultBackend);
  }
  if (catchAll) use(catchAll.target);

  return { hostGroups, catchAll: catchAll?.target, serviceRefs, diagnostics };
}
