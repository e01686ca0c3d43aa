// `--debug-headers`: the model HAProxy is given carries, on every route, the names X-Portico-Route shows (its
// Ingress, and its host and path); render's family (render/policy/debug-headers.ts) writes them as map data.
// Translate's model (what explain, check and the goldens see) never has them. Host groups are rewritten once each
// and kept by identity while translate keeps the group, so the planner still sees unchanged groups as unchanged.
import { CATCH_ALL_KEY } from '../model/types.js';
import type { HostGroup, RouteTarget, RoutingModel } from '../model/types.js';

const groups = new WeakMap<HostGroup, HostGroup>();
const catchAlls = new WeakMap<RouteTarget, RouteTarget>();
const models = new WeakMap<RoutingModel, RoutingModel>();

function named<T extends RouteTarget>(r: T, route: string): T {
  return { ...r, policy: { ...r.policy, debugHeaders: { ingress: r.source.ingress, route } } };
}

function groupWithNames(g: HostGroup): HostGroup {
  let out = groups.get(g);
  if (!out) {
    out = {
      ...g,
      exact: g.exact.map((r) => named(r, g.key + r.path)),
      prefix: g.prefix.map((r) => named(r, g.key + r.path)),
      ...(g.regex ? { regex: g.regex.map((r) => named(r, g.key + r.path)) } : {}),
      ...(g.defaultBackend ? { defaultBackend: named(g.defaultBackend, g.key) } : {}),
    };
    groups.set(g, out);
  }
  return out;
}

export function withDebugHeaders(model: RoutingModel): RoutingModel {
  let out = models.get(model);
  if (!out) {
    let catchAll = model.catchAll && catchAlls.get(model.catchAll);
    if (model.catchAll && !catchAll) {
      catchAll = named(model.catchAll, CATCH_ALL_KEY);
      catchAlls.set(model.catchAll, catchAll);
    }
    out = { ...model, hostGroups: model.hostGroups.map(groupWithNames), ...(catchAll ? { catchAll } : {}) };
    models.set(model, out);
  }
  return out;
}
