// `--debug-headers`: the model HAProxy is given carries, on every route, the names X-Portico-Route shows (its
// Ingress, and its host and path); render's family (render/policy/debug-headers.ts) writes them as map data.
// Translate's model (what explain, check and the goldens see) never has them. Host groups are rewritten once each
// and kept by identity while translate keeps the group, so the planner still sees unchanged groups as unchanged.
import { CATCH_ALL_KEY } from '../model/types.js';
import type { HostGroup, RouteTarget, RoutingModel } from '../model/types.js';

const groups = new WeakMap<HostGroup, HostGroup>();
const catchAlls = new WeakMap<RouteTarget, RouteTarget>();
const models = new WeakMap<RoutingModel, RoutingModel>();

type ServiceOf = (backend: string) => string | undefined;

function named<T extends RouteTarget>(r: T, route: string, serviceOf: ServiceOf): T {
  const backends = [r.backend, ...(r.policy.canary ? [r.policy.canary.backend] : []), ...(r.policy.defaultBackend !== undefined ? [r.policy.defaultBackend] : [])];
  const services = [...new Set(backends)].flatMap((b): [string, string][] => {
    const s = serviceOf(b);
    return s === undefined ? [] : [[b, s]];
  });
  return { ...r, policy: { ...r.policy, debugHeaders: { ingress: r.source.ingress, route, services } } };
}

// A backend's name is made from its Service reference (routes.ts `backendName`), so a group kept by translate names
// the same Services: its rewritten copy stays valid.
function groupWithNames(g: HostGroup, serviceOf: ServiceOf): HostGroup {
  let out = groups.get(g);
  if (!out) {
    out = {
      ...g,
      exact: g.exact.map((r) => named(r, g.key + r.path, serviceOf)),
      prefix: g.prefix.map((r) => named(r, g.key + r.path, serviceOf)),
      ...(g.regex ? { regex: g.regex.map((r) => named(r, g.key + r.path, serviceOf)) } : {}),
      ...(g.defaultBackend ? { defaultBackend: named(g.defaultBackend, g.key, serviceOf) } : {}),
    };
    groups.set(g, out);
  }
  return out;
}

export function withDebugHeaders(model: RoutingModel): RoutingModel {
  let out = models.get(model);
  if (!out) {
    const refs = new Map(model.backends.map((b) => [b.name, `${b.ref.namespace}/${b.ref.service}${b.ref.port === 0 ? '' : `:${b.ref.port}`}`]));
    const serviceOf: ServiceOf = (b) => refs.get(b);
    let catchAll = model.catchAll && catchAlls.get(model.catchAll);
    if (model.catchAll && !catchAll) {
      catchAll = named(model.catchAll, CATCH_ALL_KEY, serviceOf);
      catchAlls.set(model.catchAll, catchAll);
    }
    out = { ...model, hostGroups: model.hostGroups.map((g) => groupWithNames(g, serviceOf)), ...(catchAll ? { catchAll } : {}) };
    models.set(model, out);
  }
  return out;
}
