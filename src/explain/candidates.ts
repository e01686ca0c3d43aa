// Why not: every other path that could have served the request, and the rule that kept it out. From the model: the
// routes of the host groups the request's host matches (H5 chose one, H6 keeps to it) and of the chosen group (P3,
// P4, P10). From the objects, when given: the paths of Ingresses that are not in the model (class ownership C*, an
// invalid Ingress, a path lost to an older Ingress M3/M4, a canary attached to a main route).
import { ANY_HOST_KEY } from '../model/types.js';
import type { Diagnostic, PathRoute, RegexRoute, RouteTarget } from '../model/types.js';
import type { Snapshot } from '../k8s/kinds.js';
import { isObject, stringMap } from '../k8s/objects.js';
import { canonicalPath } from '../translate/path-canonical.js';
import { regexOf, sourceKey } from './route-index.js';
import type { GroupIndex, IndexedRoute, RouteIndex } from './route-index.js';

export interface Candidate {
  ingress: string;
  rule?: number;
  path?: number;
  host: string;
  ingressPath?: string;
  pathType?: string;
  /** The rule that kept it out (H5, P10, C3, M3, ...). */
  ruleId: string;
  reason: string;
  diagnostics?: Diagnostic[];
}

/** Ingress Prefix semantics (P4-P6) and Exact (P3) on canonical paths. */
function pathMatches(type: string, p: string, request: string): boolean {
  if (type === 'Exact') return p === request;
  if (p === '/' || p === '') return true;
  const q = p.endsWith('/') ? p.slice(0, -1) : p;
  return request === q || request.startsWith(`${q}/`);
}

function routePathMatches(r: PathRoute, kind: IndexedRoute['kind'] | 'regex', request: string): boolean {
  if (kind === 'regex') return regexOf(r as RegexRoute)?.test(request) === true;
  return pathMatches(r.pathType, r.path, request);
}

function hostMatches(ruleHost: string, host: string): boolean {
  if (ruleHost === '' || ruleHost === ANY_HOST_KEY) return true;
  if (ruleHost.startsWith('*.')) {
    const dot = host.indexOf('.');
    return dot > 0 && host.slice(dot) === ruleHost.slice(1);
  }
  return ruleHost === host;
}

function describe(t: RouteTarget): Pick<Candidate, 'ingress' | 'rule' | 'path'> {
  const s = t.source;
  return 'rule' in s ? { ingress: s.ingress, rule: s.rule, path: s.path } : { ingress: s.ingress };
}

export function candidatesOf(ix: RouteIndex, diagnostics: readonly Diagnostic[], snapshot: Snapshot | undefined, host: string, path: string, chosenGroup: GroupIndex | undefined, chosen: IndexedRoute | undefined): Candidate[] {
  const out: Candidate[] = [];
  const seen = new Set<string>();
  const chosenRoute = chosen?.route;
  const push = (c: Candidate): void => {
    const key = `${c.ingress}|${c.rule ?? 'd'}|${c.path ?? 'd'}|${c.host}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(c);
  };
  // The groups the host matches, most specific first (rule H5).
  const groups: GroupIndex[] = [];
  const exact = ix.hosts.get(host);
  if (exact && host !== ANY_HOST_KEY) groups.push(exact);
  if (/^[a-z0-9-]+\./.test(host)) {
    const w = ix.wildcards.get(host.replace(/^[^.]+\./, '*.'));
    if (w) groups.push(w);
  }
  const any = ix.hosts.get(ANY_HOST_KEY);
  if (any) groups.push(any);
  for (const gi of groups) {
    const g = gi.group;
    const routes: [PathRoute, IndexedRoute['kind']][] = [...g.exact.map((r): [PathRoute, 'exact'] => [r, 'exact']), ...g.prefix.map((r): [PathRoute, 'prefix'] => [r, 'prefix']), ...(g.regex ?? []).map((r): [PathRoute, 'regex'] => [r, 'regex'])];
    for (const [r, kind] of routes) {
      if (r === chosenRoute) continue;
      const base = { ...describe(r), host: g.key, ingressPath: r.path, pathType: r.pathType };
      const matches = routePathMatches(r, kind, path);
      if (gi !== chosenGroup) {
        if (matches) push({ ...base, ruleId: 'H5', reason: `host group ${g.key} matches too, but ${chosenGroup ? `the more specific group ${chosenGroup.group.key} was chosen` : 'none was chosen'} and that choice is final (H5, H6)` });
        continue;
      }
      if (matches) {
        const win = chosenRoute && 'path' in chosenRoute ? `${(chosenRoute as PathRoute).pathType} ${(chosenRoute as PathRoute).path}` : 'another route';
        push({ ...base, ruleId: kind === 'regex' ? 'use-regex' : 'P10', reason: kind === 'regex' ? `an earlier expression in ingress-nginx's order (${win}) matched first` : `matches, but ${win} ranks first (longest path, then Exact before Prefix: P9, P10)` });
      } else if (kind !== 'regex' && path.startsWith(r.path.endsWith('/') && r.path !== '/' ? r.path.slice(0, -1) : r.path)) {
        push({ ...base, ruleId: r.pathType === 'Exact' ? 'P3' : 'P4', reason: r.pathType === 'Exact' ? `Exact ${r.path} matches ${r.path} only, byte for byte (P3)` : `${r.pathType} ${r.path} matches whole path elements only: ${path} continues the last element (P4)` });
      }
    }
    if (g.defaultBackend && chosenRoute !== g.defaultBackend && gi === chosenGroup) push({ ...describe(g.defaultBackend), host: g.key, ruleId: 'D3', reason: 'the group\'s default backend serves only paths no rule matches (D3)' });
  }
  if (ix.model.catchAll && chosenRoute !== ix.model.catchAll) push({ ...describe(ix.model.catchAll), host: '*', ruleId: 'D5', reason: `the catch-all serves only requests whose host matches no group (D5); ${chosenGroup ? `group ${chosenGroup.group.key} matched` : ''}` });
  if (snapshot) fromObjects(ix, diagnostics, snapshot, host, path, push, chosenRoute?.policy.canary?.ingress);
  return out;
}

/** The paths of Ingresses that did not become the routes above. */
function fromObjects(ix: RouteIndex, diagnostics: readonly Diagnostic[], snapshot: Snapshot, host: string, path: string, push: (c: Candidate) => void, attachedCanary: string | undefined): void {
  const summaries = new Map(ix.model.ingresses.map((s) => [s.ingress, s]));
  const byObject = new Map<string, Diagnostic[]>();
  for (const d of diagnostics) {
    const list = byObject.get(d.object);
    if (list) list.push(d);
    else byObject.set(d.object, [d]);
  }
  for (const o of snapshot.ingresses) {
    const meta = isObject(o.metadata) ? o.metadata : {};
    const name = `${typeof meta.namespace === 'string' ? meta.namespace : 'default'}/${typeof meta.name === 'string' ? meta.name : ''}`;
    const spec = isObject(o.spec) ? o.spec : {};
    const rules = Array.isArray(spec.rules) ? spec.rules : [];
    const summary = summaries.get(name);
    const objectDiagnostics = byObject.get(`Ingress ${name}`) ?? [];
    const canary = stringMap(meta.annotations)['nginx.ingress.kubernetes.io/canary'] === 'true';
    rules.forEach((rule, i) => {
      if (!isObject(rule)) return;
      const ruleHost = typeof rule.host === 'string' ? rule.host : '';
      if (!hostMatches(ruleHost.toLowerCase(), host)) return;
      const http = isObject(rule.http) ? rule.http : {};
      const paths = Array.isArray(http.paths) ? http.paths : [];
      paths.forEach((p, j) => {
        if (!isObject(p)) return;
        const raw = typeof p.path === 'string' ? p.path : '';
        const type = typeof p.pathType === 'string' ? p.pathType : '?';
        const c = canonicalPath(raw === '' ? '/' : raw);
        if (!c.ok || !pathMatches(type === 'Exact' ? 'Exact' : 'Prefix', c.path, path)) return;
        if (ix.sources.has(sourceKey(name, i, j))) return; // a route: judged above
        const base = { ingress: name, rule: i, path: j, host: ruleHost === '' ? '*' : ruleHost, ingressPath: raw, pathType: type };
        const field = `spec.rules[${i}].http.paths[${j}]`;
        const own = objectDiagnostics.filter((d) => d.field === field || d.field.startsWith(`${field}.`));
        if (!summary) push({ ...base, ruleId: 'isolated', reason: 'not in the model: left out (HAProxy rejected it, see its diagnostics) or not read', ...(objectDiagnostics.length > 0 ? { diagnostics: objectDiagnostics } : {}) });
        // An invalid Ingress of Portico's has its errors as the reason; one of another class is not reported (C8), so
        // its class is the reason.
        else if (!summary.valid && (summary.owned || objectDiagnostics.some((d) => d.level === 'error'))) push({ ...base, ruleId: objectDiagnostics.find((d) => d.level === 'error')?.rule ?? 'invalid', reason: 'the Ingress is invalid and serves nothing', diagnostics: objectDiagnostics.filter((d) => d.level === 'error') });
        else if (!summary.owned) push({ ...base, ruleId: /\((C\d)\)/.exec(summary.classReason)?.[1] ?? 'C1', reason: `not Portico's: ${summary.classReason}` });
        else if (canary && attachedCanary === name) push({ ...base, ruleId: 'canary', reason: 'the canary of the route that serves: see the canary step for its decision', ...(own.length > 0 ? { diagnostics: own } : {}) });
        else if (own.length > 0) push({ ...base, ruleId: own[0]!.rule, reason: own.map((d) => d.message).join('; '), diagnostics: own });
        else if (canary) push({ ...base, ruleId: 'canary', reason: 'a canary Ingress: it never routes by itself; it is attached to the main route of the same host, path and type (see the canary step)' });
        else if (shadowedBy(ix, ruleHost, c.path, type, name, raw)) push({ ...base, ...shadowedBy(ix, ruleHost, c.path, type, name, raw)! });
        else push({ ...base, ruleId: 'unknown', reason: 'not in the routing model', ...(objectDiagnostics.length > 0 ? { diagnostics: objectDiagnostics } : {}) });
      });
    });
  }
}

/**
 * A path that trims to the same paths-map key as another (Prefix /a and /a/, ImplementationSpecific /a) has one winner,
 * chosen by translate with rule P10's later steps and reported by no diagnostic: which one, and by which step.
 */
function shadowedBy(ix: RouteIndex, ruleHost: string, path: string, type: string, ingress: string, raw: string): Pick<Candidate, 'ruleId' | 'reason'> | undefined {
  const key = ruleHost === '' ? ANY_HOST_KEY : ruleHost;
  const gi = key.startsWith('*.') ? ix.wildcards.get(key) : ix.hosts.get(key);
  if (!gi || gi.group.key !== key) return undefined;
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const winner = gi.paths.get(type === 'Exact' ? `${path}?` : trimmed === '/' ? '/' : `${trimmed}/`);
  if (!winner || !('path' in winner.route)) return undefined;
  const w = winner.route as PathRoute;
  const step = w.pathType !== type ? `type: ${w.pathType} ranks before ${type} (P10.2)` : w.path.length !== raw.length ? `raw length: ${w.path} is longer (P10.3)` : w.source.ingress !== ingress ? 'age, then namespace/name: the older Ingress wins (P10.4, P10.5)' : 'position in the Ingress (P10.6)';
  return { ruleId: 'P10', reason: `the same element-wise prefix as ${w.pathType} ${w.path} of Ingress ${w.source.ingress}, which wins on ${step}` };
}
