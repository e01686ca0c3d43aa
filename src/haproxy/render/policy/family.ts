// What every policy family's render side declares, so that render.ts, the runtime planner and the goldens treat
// all families alike: the feature maps it owns (keyed by route id), a route's lines in them, and its rules in the
// frontend's phases. A family whose maps hold no line has no rules in the configuration at all, so a plain route
// pays nothing for it; a changed value is a map update, and a route that needs a map the running configuration has
// no rule for takes a reload (runtime/plan.ts).
import type { Backend, RoutePolicy } from '../../../model/types.js';
import type { StatusCodes } from '../global-settings.js';

/**
 * Where a family's rules go, in the order a request meets them (docs/architecture.md, "Annotations and route
 * policies"). Every phase comes after routing: a route's policy is known once its id is.
 * - `access`: who may use the route at all (allow and deny lists), before anything answers on its behalf;
 * - `answer`: the route answers itself (redirect annotations, CORS preflight), before rule T9's HTTPS redirect;
 * - `limit`: how much a client may use the route (rate limits), after T9: nginx's limit_req and limit_conn run in
 *   its preaccess phase, after the rewrite phase that answers redirects and CORS preflights, so those are never limited;
 * - `upstream`: what the backend receives (after T9, which reads the client's Host);
 * - `response`: what the client receives (`http-after-response`, so HAProxy's own answers get it too);
 * - `backend`: rules in the defaults section the backend sections follow (what HAProxy sets from backends only);
 * - `gate`: the body gate's own backend rules, after the inherited `backend` ones.
 */
export type Phase = 'access' | 'answer' | 'limit' | 'upstream' | 'response' | 'backend' | 'gate';

export interface RuleContext<M extends string> {
  /** The absolute path of one of the family's maps. */
  file: (map: M) => string;
  /** Which of the family's maps have lines (the rules of a map with none must not be written: the file is absent). */
  inUse: ReadonlySet<M>;
  /** The cheap test that the request's route has an id at all. */
  hasId: string;
  /** The sample expression of the request's route id. */
  routeId: string;
  /** The frontend is the HTTPS one. */
  tls: boolean;
  /** The family's rule keys in use (PolicyFamily.ruleKeys), sorted: the rules it writes per key. */
  keys: readonly string[];
  /** The statuses of answers set controller-wide (the ConfigMap's `limit-req-status-code`, ...). */
  statuses: StatusCodes;
  /** Portico's own listeners as `ip:port` HAProxy can dial from inside (external authentication's `$host` URLs). */
  self: { http: string; https: string };
  /** While some route has `satisfy: any`: the absolute path of `satisfy-any.map` (policy/satisfy.ts), which the access
   * lists' rules read, and the authentication rules then skip a request whose address the lists allowed. */
  satisfyAny?: string;
}

/** A route with policy data and its id. */
export interface IdentifiedRoute {
  id: string;
  policy: RoutePolicy;
}
/** One line of a route's data: the map, the value, and what follows the route id in the key (a route with several
 * lines in one map, such as its CORS origins, tells them apart by it). */
export type PolicyDatum<M extends string> = [map: M, value: string, keySuffix?: string];

export interface PolicyFamily<M extends string> {
  /** Map name -> file, relative to the configuration's directory. */
  maps: Readonly<Record<M, string>>;
  /** A route's values, each with the map it goes in. Values are checked here: a value that could break a map line
   * or the rule that reads it throws (render fails closed). `sectionOf`: the section serving a model backend (its
   * own, or a spare bound at runtime), for a value that names one (a canary's). */
  data(p: RoutePolicy, sectionOf: (backend: string) => string): PolicyDatum<M>[];
  /**
   * Lines that depend on several routes together rather than on one route alone (the access lists' address blocks):
   * computed from every route that `uses` the family, and recomputed whole whenever some route changed.
   */
  shared?: { uses(p: RoutePolicy): boolean; data(routes: readonly IdentifiedRoute[]): [map: M, key: string, value: string][] };
  /**
   * Rules written once per value of something the configuration text holds (a header name, a status code), for the
   * families whose data cannot choose it at runtime: a route's keys, each starting with `prefix`. Keys are features
   * like the maps: the configuration has a rule per key in use, and a route needing a key the running configuration
   * lacks takes a reload. A key must pass the family's own check before render writes it.
   */
  ruleKeys?: { prefix: string; of(p: RoutePolicy): string[] };
  /**
   * Maps whose lines always come with another's (a CORS route writes its origins and its methods): what the rules may
   * take for granted about which maps are in use. The unit test that checks every family's rules against every set
   * of its maps in use (test/unit/policy-families.test.ts) only tries the sets these allow.
   */
  implies?: Partial<Record<M, readonly M[]>>;
  /**
   * Lines made from backends rather than routes (cookie affinity's pods), in a map of the family that exists, even
   * empty, whenever the route map `with` has lines: pods come and go at runtime, so the rules reading the map must not
   * depend on whether some pod is there. `section`: the section serving the backend (its own, or a bound spare).
   */
  backendData?: { map: M; with: M; data(b: Backend, section: string): [key: string, value: string][] };
  /** A Lua script the family's rules call, loaded (`lua-load`) while the family is in use. */
  lua?: { file: string; text: string };
  /** Sections of their own (stick tables), given which of the family's maps are in use: each an array of lines, the
   * header first. */
  sections?: (inUse: ReadonlySet<M>) => string[][];
  /** Configuration lines per phase (comments included), given which of the family's maps are in use. */
  rules?: Partial<Record<Phase, (c: RuleContext<M>) => string[]>>;
}

/** The identity function that checks a family's shape and keeps its map names' type. */
export function policyFamily<M extends string>(f: PolicyFamily<M>): PolicyFamily<M> {
  return f;
}
