// The route of one request in a few map lookups, for callers that need it per request (the access log's Ingress,
// route and Service fields): the same host normalisation, path canonicalisation and routing as explainRequest, none
// of its policies or candidates. The model's index is built once per model (route-index.ts).
import type { RoutingModel } from '../model/types.js';
import { normaliseHost, requestPath } from './request.js';
import { matchRoute, routeIndexOf } from './route-index.js';
import type { RouteKind } from './route-index.js';

export interface RouteLookup {
  /** The Ingress, `namespace/name`. */
  ingress: string;
  rule?: number;
  path?: number;
  kind: RouteKind;
  /** The host group's key (`*` for rules without host); absent for the catch-all. */
  host?: string;
  /** The path as written in the Ingress (canonical form), and its type; absent for default backends. */
  ingressPath?: string;
  pathType?: string;
  /** The route's own backend (a canary's or default-backend's swap is decided per request, not here). */
  backend: string;
  service: string;
  port: string;
  /** The route's canary (a canary Ingress attached to it): its backend, and its Service as `namespace/name:port`. */
  canary?: { backend: string; service: string };
}

/** The route HAProxy picks for a Host header and a request path (as sent), or undefined (400 or 404). */
export function lookupRoute(model: RoutingModel, hostHeader: string | undefined, rawPath: string): RouteLookup | undefined {
  const ix = routeIndexOf(model);
  const p = requestPath(rawPath);
  if (!p.ok) return undefined;
  const m = matchRoute(ix, normaliseHost(hostHeader ?? ''), p.path);
  if (!m.route) return undefined;
  const t = m.route.route as typeof m.route.route & { path?: string; pathType?: string };
  const s = t.source;
  const b = ix.backends.get(t.backend);
  const canary = t.policy.canary ? ix.backends.get(t.policy.canary.backend) : undefined;
  return {
    ingress: s.ingress,
    ...('rule' in s ? { rule: s.rule, path: s.path } : {}),
    kind: m.route.kind,
    ...(m.route.group !== undefined ? { host: m.route.group } : {}),
    ...(t.path !== undefined ? { ingressPath: t.path } : {}),
    ...(t.pathType !== undefined ? { pathType: t.pathType } : {}),
    backend: t.backend,
    service: b ? `${b.ref.namespace}/${b.ref.service}` : '?',
    port: b ? String(b.ref.port) : '?',
    ...(canary ? { canary: { backend: canary.name, service: `${canary.ref.namespace}/${canary.ref.service}:${canary.ref.port}` } } : {}),
  };
}
