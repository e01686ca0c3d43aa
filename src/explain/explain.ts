// `portico explain`: what Portico's HAProxy configuration does with one request, step by step with the rule ids of
// docs/ingress-v1.md, from the routing model alone (pure and deterministic: no clock, no I/O, no randomness). Routing
// goes through route-index.ts, which answers as the routing maps do; the policies follow the frontend's phase order
// (docs/architecture.md, "Annotations and route policies").
import { BlockList, isIP } from 'node:net';
import type { Backend, Diagnostic, RoutePolicy, RouteTarget, RoutingModel, TranslateResult } from '../model/types.js';
import type { Snapshot } from '../k8s/kinds.js';
import { normaliseHost, requestPath } from './request.js';
import type { ExplainRequest } from './request.js';
import { matchRoute, routeIndexOf } from './route-index.js';
import type { HostStep, IndexedRoute, RouteIndex, RouteKind } from './route-index.js';
import { candidatesOf } from './candidates.js';
import type { Candidate } from './candidates.js';
import { certificateFor } from './certificate.js';
import type { CertificateChoice } from './certificate.js';

export type { Candidate, CertificateChoice };

/** One step of the decision, with the rule it follows. */
export interface Step {
  rule: string;
  text: string;
}

export type Phase = 'routing' | 'access' | 'answer' | 'https-redirect' | 'limit' | 'upstream' | 'backend' | 'response';

/** One policy of the route on the request's way, in the order HAProxy applies them. */
export interface PolicyStep {
  phase: Phase;
  /** The annotation family (`allowlist-source-range`, `rewrite-target`, `canary`, ...). */
  policy: string;
  text: string;
  /** Set when this policy answers the request itself (the backend is never asked). */
  answers?: { status: number; location?: string };
}

export type Outcome = 'routed' | 'answered' | 'not-found' | 'bad-request';

export interface Explanation {
  request: { method: string; scheme: 'http' | 'https'; host: string; path: string; query?: string };
  /** routed: a backend answers; answered: Portico answers itself (redirect, refusal, preflight); not-found: 404;
   * bad-request: 400 before routing. */
  outcome: Outcome;
  /** The status Portico answers with when it answers itself; absent when the backend's answer passes through. */
  status?: number;
  location?: string;
  steps: Step[];
  /** The host group chosen (rule H5), its key. */
  hostGroup?: string;
  route?: {
    kind: RouteKind;
    ingress: string;
    rule?: number;
    path?: number;
    /** The path as the Ingress wrote it (canonical form), and its type. */
    ingressPath?: string;
    pathType?: string;
    pattern?: string;
  };
  policies: PolicyStep[];
  backend?: BackendExplanation;
  /** The canary's backend, when the canary decision sends the request there. */
  canary?: { ingress: string; decision: 'canary' | 'main' | 'weighted'; why: string; backend?: BackendExplanation };
  /** The path and query the backend receives. */
  upstreamPath?: string;
  certificate?: CertificateChoice;
  candidates: Candidate[];
}

export interface BackendExplanation {
  name: string;
  service: string;
  port: string;
  servers: { address: string; port: number; ready: boolean }[];
  externalName?: string;
  /** Some server can take the request (or an ExternalName is dialled). */
  usable: boolean;
  unavailable?: string;
}

export interface ExplainInput {
  result: TranslateResult;
  /** The objects the result was translated from: with them, Ingresses that are not in the model (not owned, invalid,
   * a path lost to an older Ingress) are named among the candidates. */
  snapshot?: Snapshot;
}

export interface ExplainOptions {
  /** The port HTTPS redirects name (`--https-redirect-port`; 443 is left out). */
  httpsRedirectPort?: number;
  /** Leave out the candidates (the access log's lookup needs the route only). */
  candidates?: boolean;
}

const ACME = '/.well-known/acme-challenge/';
const REDIRECT_HOST = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;

export function explainRequest(input: ExplainInput | TranslateResult, req: ExplainRequest, o: ExplainOptions = {}): Explanation {
  const { result, snapshot } = 'result' in input ? input : { result: input, snapshot: undefined };
  const ix = routeIndexOf(result.model);
  const host = normaliseHost(req.host ?? '');
  const ex: Explanation = { request: { method: req.method, scheme: req.scheme, host, path: req.path, ...(req.query !== undefined ? { query: req.query } : {}) }, outcome: 'not-found', steps: [], policies: [], candidates: [] };
  if (req.scheme === 'https') {
    ex.certificate = certificateFor(ix, req.sni ?? host);
    // ssl-passthrough: the SNI listener hands the TLS connection to the host's TCP section before any HTTP is read.
    const through = ex.certificate.passthrough === undefined ? undefined : ix.hosts.get(ex.certificate.sni)?.group.passthrough;
    if (through !== undefined) {
      ex.steps.push({ rule: 'ssl-passthrough', text: through === '' ? `TLS for ${ex.certificate.sni} is passed through, but no backend could be chosen: the connection is refused` : `TLS for ${ex.certificate.sni} is passed through unterminated to ${through}; no HTTP rule sees the request` });
      if (through === '') return { ...ex, outcome: 'answered' };
      ex.outcome = 'routed';
      ex.backend = backendExplanation(ix, through);
      return ex;
    }
  }
  const canonical = requestPath(req.path);
  if (!canonical.ok) {
    ex.outcome = 'bad-request';
    ex.status = 400;
    ex.steps.push({ rule: 'path-canonical', text: `400 before routing: ${canonical.reason}` });
    return ex;
  }
  ex.request.path = canonical.path;
  if (canonical.path !== req.path) ex.steps.push({ rule: 'path-canonical', text: `the path is routed (and forwarded) as ${canonical.path}` });
  const m = matchRoute(ix, host, canonical.path);
  ex.steps.push(hostStepText(host, req.host, m.host?.step, m.host?.group.group.key, result.model));
  if (m.host) ex.hostGroup = m.host.group.group.key;
  const group = m.host?.group.group;
  const wantCandidates = o.candidates !== false;
  const finish = (): Explanation => {
    if (wantCandidates) ex.candidates = candidatesOf(ix, result.diagnostics, snapshot, host, canonical.path, m.host?.group, m.route);
    return ex;
  };
  if (m.route) {
    ex.steps.push(pathStepText(m.route, canonical.path, m.rules));
    ex.route = routeOf(m.route);
  }
  // app-root answers a request for `/` of its host before the 404 rule, whichever route (or none) serves it.
  // Its Location is the Host header as sent, so only a plain host[:port] qualifies (no open redirect through Host).
  if (group?.appRoot !== undefined && canonical.path === '/' && /^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/.test(req.host ?? '')) {
    ex.steps.push({ rule: 'app-root', text: `the host's app-root: 302 to ${group.appRoot}` });
    return answered(ex, 302, `${req.scheme}://${req.host ?? ''}${group.appRoot}`, finish);
  }
  if (!m.route) {
    const www = m.host ? undefined : ix.wwwRedirects.get(host);
    if (www !== undefined) {
      const code = result.model.global?.httpRedirectCode ?? 308;
      ex.steps.push({ rule: 'from-to-www-redirect', text: `${host} is the other name of host ${www}: ${code} there` });
      return answered(ex, code, `${req.scheme}://${www}${stripSlash(uri(req))}`, finish);
    }
    ex.steps.push(m.host ? { rule: 'H6', text: `no path of host group ${m.host.group.group.key} matches ${canonical.path} and it has no default backend: 404 (the choice of group is final; P16, D4)` } : { rule: 'H7', text: 'no host group matches and there is no catch-all default backend: 404 (D4)' });
    ex.outcome = 'not-found';
    ex.status = 404;
    return finish();
  }
  const done = policySteps(ex, m.route.route, req, canonical.path, ix, o);
  if (!done) ex.outcome = 'routed';
  return finish();
}

function answered(ex: Explanation, status: number, location: string | undefined, finish: () => Explanation): Explanation {
  ex.outcome = 'answered';
  ex.status = status;
  if (location !== undefined) ex.location = location;
  return finish();
}

function uri(req: ExplainRequest): string {
  return req.path + (req.query !== undefined ? `?${req.query}` : '');
}

/** ingress-nginx's redirects drop one `/` ending the path and query. */
function stripSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

function hostStepText(host: string, raw: string | undefined, step: HostStep | undefined, key: string | undefined, model: RoutingModel): Step {
  const shown = raw === undefined ? 'no Host header' : `Host ${JSON.stringify(raw)}${host !== raw ? ` (normalised ${JSON.stringify(host)}, rule H1)` : ''}`;
  if (!step) return { rule: model.catchAll ? 'D1' : 'H7', text: `${shown}: no host group matches (no exact host, no one-label wildcard, no rule without host)${model.catchAll ? '; the catch-all default backend takes it' : ''}` };
  if (step.rule === 'H2') return { rule: 'H2', text: `${shown}: exact host group ${key}${step.via === 'alias' ? ` (by its server-alias ${host})` : ''}` };
  if (step.rule === 'H3') return { rule: 'H3', text: `${shown}: no exact host; wildcard group ${step.wildcard} covers it by one label` };
  return { rule: 'H5', text: `${shown}: no exact host or wildcard matches; the group of rules without host (H4)` };
}

function pathStepText(r: IndexedRoute, path: string, rules: string[]): Step {
  const t = r.route as RouteTarget & { path?: string; pathType?: string; pattern?: string };
  const from = sourceText(r.route);
  if (r.kind === 'exact') return { rule: 'P3', text: `Exact path ${t.path} equals ${path}: ${from} (an exact match outranks every prefix, P10)` };
  if (r.kind === 'prefix') return { rule: 'P10', text: `${t.pathType} path ${t.path} is the longest element-wise prefix of ${path} (${rules.join(', ')}): ${from}` };
  if (r.kind === 'regex') return { rule: 'use-regex', text: `the host's paths are regular expressions (use-regex or rewrite-target on one of its Ingresses); the first in ingress-nginx's order matching ${path} from its start, case-insensitively, is ${JSON.stringify(t.pattern)}: ${from}` };
  if (r.kind === 'default') return { rule: 'D3', text: `no path of the group matches ${path}: the group's default backend, ${from} (H6, D3, M8)` };
  return { rule: 'D1', text: `the catch-all default backend: ${from} (D1, D5)` };
}

function sourceText(t: RouteTarget): string {
  const s = t.source;
  return 'rule' in s ? `Ingress ${s.ingress}, spec.rules[${s.rule}].http.paths[${s.path}]` : `Ingress ${s.ingress}, spec.defaultBackend`;
}

function routeOf(r: IndexedRoute): NonNullable<Explanation['route']> {
  const t = r.route as RouteTarget & { path?: string; pathType?: string; pattern?: string };
  const s = t.source;
  return {
    kind: r.kind,
    ingress: s.ingress,
    ...('rule' in s ? { rule: s.rule, path: s.path } : {}),
    ...(t.path !== undefined ? { ingressPath: t.path } : {}),
    ...(t.pathType !== undefined ? { pathType: t.pathType } : {}),
    ...(r.kind === 'regex' && t.pattern !== undefined ? { pattern: t.pattern } : {}),
  };
}

export function backendExplanation(ix: RouteIndex, name: string): BackendExplanation {
  const b: Backend | undefined = ix.backends.get(name);
  if (!b) return { name, service: '?', port: '?', servers: [], usable: false, unavailable: 'not in the model' };
  const usable = b.unavailable === undefined && (b.externalName !== undefined || b.servers.length > 0);
  return {
    name,
    service: `${b.ref.namespace}/${b.ref.service}`,
    port: b.ref.port === 0 ? '(first port)' : String(b.ref.port),
    servers: b.servers.map((s) => ({ address: s.address, port: s.port, ready: s.ready })),
    ...(b.externalName ? { externalName: `${b.externalName.host}:${b.externalName.port}` } : {}),
    usable,
    ...(b.unavailable !== undefined ? { unavailable: b.unavailable } : !usable ? { unavailable: 'no usable endpoint (B13)' } : {}),
  };
}

function inBlocks(address: string, cidrs: readonly string[]): boolean {
  const list = new BlockList();
  for (const c of cidrs) {
    const [a, bits] = c.split('/');
    const family = isIP(a ?? '') === 6 ? 'ipv6' : 'ipv4';
    if (isIP(a ?? '') !== 0) list.addSubnet(a!, Number(bits ?? (family === 'ipv6' ? 128 : 32)), family);
  }
  return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/** The route's policies in phase order; true when one of them answers the request (ex is then final). */
function policySteps(ex: Explanation, t: RouteTarget, req: ExplainRequest, path: string, ix: RouteIndex, o: ExplainOptions): boolean {
  const p: RoutePolicy = t.policy;
  const add = (s: PolicyStep): boolean => {
    ex.policies.push(s);
    if (!s.answers) return false;
    ex.outcome = 'answered';
    ex.status = s.answers.status;
    if (s.answers.location !== undefined) ex.location = s.answers.location;
    return true;
  };
  const client = req.clientAddress !== undefined && isIP(req.clientAddress) !== 0 ? req.clientAddress : undefined;
  // 1. access
  if (p.refuseAll && add({ phase: 'access', policy: 'refused', text: 'an access annotation of the Ingress (or a ConfigMap default it takes) had a bad value: every request gets 503 until it is fixed (fails closed)', answers: { status: 503 } })) return true;
  if (p.clientCert) {
    const v = p.clientCert.verify;
    if (v === 'refuse' && add({ phase: 'access', policy: 'auth-tls', text: 'auth-tls: the CA Secret is unusable or an annotation was refused: 403', answers: { status: 403 } })) return true;
    if (v !== 'refuse') add({ phase: 'access', policy: 'auth-tls', text: `auth-tls-verify-client ${v}: ${v === 'on' ? 'a request without a valid client certificate gets 400' : 'a client certificate is asked for'}${p.clientCert.matchCn ? `; its subject must match ${JSON.stringify(p.clientCert.matchCn)}` : ''}${req.scheme === 'http' ? ' (plain HTTP carries none)' : ''}` });
  }
  let listsAllowed = false;
  if (p.sourceRanges) {
    const { allow, deny } = p.sourceRanges;
    const lists = `allow [${allow.join(', ')}], deny [${deny.join(', ')}]`;
    if (client === undefined) add({ phase: 'access', policy: 'source-range', text: `${lists}: decided by the client address (give one to decide; a refused client gets 403)` });
    else {
      const refused = inBlocks(client, deny) || (allow.length > 0 && !inBlocks(client, allow));
      listsAllowed = !refused;
      if (refused && p.satisfyAny && (p.basicAuth || p.externalAuth)) add({ phase: 'access', policy: 'source-range', text: `${lists}: ${client} is refused, and with satisfy: any it must authenticate instead` });
      else if (add({ phase: 'access', policy: 'source-range', text: `${lists}: ${client} is ${refused ? 'refused: 403' : 'allowed'}`, ...(refused ? { answers: { status: 403 } } : {}) })) return true;
    }
  }
  // 2. answer
  if (p.cors) {
    const origin = req.headers.origin?.toLowerCase();
    const allowed = p.cors.origins === '*' || (origin !== undefined && corsAllows(p.cors.origins, origin));
    const text = `CORS: origins ${p.cors.origins === '*' ? '*' : `[${p.cors.origins.join(', ')}]`}, methods ${p.cors.methods}`;
    if (req.method === 'OPTIONS' && allowed) {
      if (add({ phase: 'answer', policy: 'enable-cors', text: `${text}: a preflight (OPTIONS) from an allowed origin gets 204 with the CORS headers`, answers: { status: 204 } })) return true;
    } else add({ phase: 'answer', policy: 'enable-cors', text: `${text}: ${allowed ? 'the origin is allowed; the response carries the CORS headers' : 'no allowed Origin: no CORS headers'}` });
  }
  if (p.respond) {
    const r = p.respond;
    if (add({ phase: 'answer', policy: 'configuration-snippet return', text: `a snippet's return: ${r.code}${r.location ? ` to ${r.location}` : ''}${r.code === 444 ? ' (the connection is closed without an answer)' : ''}`, answers: { status: r.code, ...(r.location !== undefined ? { location: r.location } : {}) } })) return true;
  }
  if (p.redirect) {
    if (add({ phase: 'answer', policy: p.redirect.code === 301 || p.redirect.code === 308 ? 'permanent-redirect' : 'temporal-redirect', text: `every request is redirected: ${p.redirect.code} to ${p.redirect.url}`, answers: { status: p.redirect.code, location: p.redirect.url } })) return true;
  }
  // 3. rule T9
  if (p.redirectToHttps) {
    const port = o.httpsRedirectPort === undefined || o.httpsRedirectPort === 443 ? '' : `:${o.httpsRedirectPort}`;
    const code = ix.model.global?.httpRedirectCode ?? 308;
    if (req.scheme === 'https') add({ phase: 'https-redirect', policy: 'ssl-redirect', text: 'the host is in a tls block: plain HTTP would get a redirect; this request is HTTPS' });
    else if (path.startsWith(ACME)) add({ phase: 'https-redirect', policy: 'ssl-redirect', text: 'ACME HTTP-01 challenge paths are never redirected (T9)' });
    else if (!REDIRECT_HOST.test(ex.request.host)) add({ phase: 'https-redirect', policy: 'ssl-redirect', text: 'the Host is not a plain host name, so no redirect is built from it (T9)' });
    else {
      // capture.req.uri: the request's URI as the client sent it, before normalisation.
      const u = uri(req);
      const location = `https://${ex.request.host}${port}${p.preserveTrailingSlash ? u : stripSlash(u)}`;
      if (add({ phase: 'https-redirect', policy: 'ssl-redirect', text: `rule T9: the host is in a tls block: ${code} to HTTPS`, answers: { status: code, location } })) return true;
    }
  }
  // 4. limit
  if (p.rateLimit) {
    const r = p.rateLimit;
    const parts = [r.rps !== undefined ? `${r.rps} requests/s` : '', r.rpm !== undefined ? `${r.rpm} requests/min` : '', r.connections !== undefined ? `${r.connections} connections` : ''].filter((s) => s !== '');
    add({ phase: 'limit', policy: 'limit-rps/rpm/connections', text: `per client address, counted over Ingress ${r.zone}: ${parts.join(', ')}${r.burstMultiplier !== undefined ? `, burst ×${r.burstMultiplier}` : ''}; over it: ${ix.model.global?.limitReqStatus ?? 503}` });
  }
  // 5. upstream: authentication, then what the backend receives, then the section
  const exempt = listsAllowed && p.satisfyAny === true;
  if (p.basicAuth) {
    const b = p.basicAuth;
    const has = (req.headers.authorization ?? '').toLowerCase().startsWith(b.scheme === 'digest' ? 'digest ' : 'basic ');
    const text = `${b.scheme === 'digest' ? 'digest' : 'basic'} authentication (Secret ${b.secret}, ${b.users.length} users, realm ${JSON.stringify(b.realm)})`;
    if (exempt) add({ phase: 'upstream', policy: 'auth-type', text: `${text}: skipped, the access lists allowed the client (satisfy: any)` });
    else if (!has) {
      if (add({ phase: 'upstream', policy: 'auth-type', text: `${text}: no credentials: 401`, answers: { status: 401 } })) return true;
    } else add({ phase: 'upstream', policy: 'auth-type', text: `${text}: credentials sent; a wrong password gets 401` });
  }
  if (p.externalAuth) add({ phase: 'upstream', policy: 'auth-url', text: `${exempt ? 'skipped (satisfy: any, the lists allowed the client): ' : ''}the auth service ${p.externalAuth.url} (${p.externalAuth.method ?? 'GET'}) decides first: 2xx passes, 401/403 are returned${p.externalAuth.signin ? ` (401 redirects to ${p.externalAuth.signin})` : ''}` });
  if (p.mirror) add({ phase: 'upstream', policy: 'mirror-target', text: `a copy goes to ${p.mirror.url} (Host ${p.mirror.host}${p.mirror.body ? ', with the body' : ''}); its answer is dropped` });
  if (p.upstreamHost !== undefined) add({ phase: 'upstream', policy: 'upstream-vhost', text: `the backend receives Host ${p.upstreamHost}` });
  let upstreamPath = path;
  if (p.rewrite) {
    const rewritten = rewritePath(p.rewrite.pattern, p.rewrite.target, path);
    add({ phase: 'upstream', policy: 'rewrite-target', text: rewritten === undefined ? `rewrite-target ${p.rewrite.target}: the expression ${JSON.stringify(p.rewrite.pattern)} does not match, the path stays` : `rewrite-target ${p.rewrite.target} (expression ${JSON.stringify(p.rewrite.pattern)}): the backend receives ${rewritten}${p.forwardedPrefix !== undefined ? `, with X-Forwarded-Prefix ${p.forwardedPrefix}` : ''}` });
    if (rewritten !== undefined) upstreamPath = rewritten;
  }
  ex.upstreamPath = upstreamPath + (req.query !== undefined ? `?${req.query}` : '');
  const h = p.headers;
  if (h?.requestSet || h?.requestClear) add({ phase: 'upstream', policy: 'configuration-snippet', text: `request headers: ${[...Object.entries(h.requestSet ?? {}).map(([k, v]) => `${k}: ${v}`), ...(h.requestClear ?? []).map((k) => `-${k}`)].join(', ')}` });
  let section = t.backend;
  if (p.canary) {
    const c = canaryDecision(p, req);
    const cb = backendExplanation(ix, p.canary.backend);
    const goes = c.decision === 'canary' && cb.usable;
    ex.canary = { ingress: p.canary.ingress, decision: c.decision, why: c.why + (c.decision === 'canary' && !cb.usable ? '; but the canary has no usable endpoint, so the main backend serves' : ''), backend: cb };
    add({ phase: 'upstream', policy: 'canary', text: `canary Ingress ${p.canary.ingress}: ${ex.canary.why}` });
    if (goes) section = p.canary.backend;
  }
  if (p.affinity) add({ phase: 'upstream', policy: 'affinity', text: `cookie affinity (${p.affinity.mode}): cookie ${p.affinity.cookie} keeps the client on one pod${req.headers.cookie?.includes(`${p.affinity.cookie}=`) ? '; the request carries it' : '; the response sets it'}` });
  let be = backendExplanation(ix, section);
  if (p.defaultBackend !== undefined && !be.usable) {
    const d = backendExplanation(ix, p.defaultBackend);
    if (d.usable) {
      add({ phase: 'upstream', policy: 'default-backend', text: `the route's backend ${be.service} has no usable endpoint: the default-backend ${d.service} serves` });
      be = d;
    }
  } else if (p.defaultBackend !== undefined) add({ phase: 'upstream', policy: 'default-backend', text: `default-backend ${backendExplanation(ix, p.defaultBackend).service} serves only while the route's backend has no usable endpoint` });
  ex.backend = be;
  if (!be.usable) {
    ex.policies.push({ phase: 'backend', policy: 'B13', text: `Service ${be.service} port ${be.port}: ${be.unavailable ?? 'no usable endpoint'}: 503`, answers: { status: 503 } });
    ex.outcome = 'answered';
    ex.status = 503;
  }
  // 7. response
  if (h?.responseSet || h?.responseAdd || h?.responseAddAlways || h?.responseClear) add({ phase: 'response', policy: 'configuration-snippet', text: `response headers: ${[...Object.entries({ ...h.responseSet, ...h.responseAdd, ...h.responseAddAlways }).map(([k, v]) => `${k}: ${v}`), ...(h.responseClear ?? []).map((k) => `-${k}`)].join(', ')}` });
  if (p.customHeaders) add({ phase: 'response', policy: 'custom-headers', text: `response headers: ${Object.entries(p.customHeaders).map(([k, v]) => `${k}: ${v}`).join(', ')}` });
  if (p.proxyRewrite) add({ phase: 'response', policy: 'proxy-redirect', text: 'the backend\'s Location, Refresh and Set-Cookie headers are rewritten (proxy-redirect-*, proxy-cookie-*)' });
  return !be.usable;
}

function corsAllows(origins: readonly string[], origin: string): boolean {
  if (origins.includes(origin)) return true;
  const wild = origin.replace(/:\/\/[a-z0-9-]+\./, '://*.');
  return wild !== origin && origins.includes(wild);
}

/** The rewrite Lua action: the expression anchored at the path's start, `$0`-`$9` filled from its groups. */
export function rewritePath(pattern: string, target: string, path: string): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${pattern})`, 'i');
  } catch {
    return undefined;
  }
  const m = re.exec(path);
  if (!m) return undefined;
  return target.replace(/\$(\d)/g, (_, d: string) => m[Number(d)] ?? '');
}

/** ingress-nginx's balancer.lua order: the header decides first, then the cookie, then the weight. */
function canaryDecision(p: RoutePolicy, req: ExplainRequest): { decision: 'canary' | 'main' | 'weighted'; why: string } {
  const c = p.canary!;
  if (c.header) {
    const v = req.headers[c.header.name];
    if (v !== undefined) {
      if (c.header.value !== undefined) {
        if (v === c.header.value) return { decision: 'canary', why: `header ${c.header.name} equals ${JSON.stringify(c.header.value)}: the canary` };
      } else if (c.header.pattern !== undefined) {
        let hit = false;
        try {
          hit = new RegExp(c.header.pattern).test(v);
        } catch {
          hit = false;
        }
        if (hit) return { decision: 'canary', why: `header ${c.header.name} matches ${JSON.stringify(c.header.pattern)}: the canary` };
      } else if (v === 'always') return { decision: 'canary', why: `header ${c.header.name}: always: the canary` };
      else if (v === 'never') return { decision: 'main', why: `header ${c.header.name}: never: the main backend` };
    }
  }
  if (c.cookie !== undefined) {
    const cookie = cookieValue(req.headers.cookie, c.cookie);
    if (cookie === 'always') return { decision: 'canary', why: `cookie ${c.cookie}=always: the canary` };
    if (cookie === 'never') return { decision: 'main', why: `cookie ${c.cookie}=never: the main backend` };
  }
  if (c.weight <= 0) return { decision: 'main', why: `${c.header ? `header ${c.header.name} did not decide; ` : ''}${c.cookie !== undefined ? `cookie ${c.cookie} did not decide; ` : ''}weight 0: the main backend` };
  if (c.weight >= c.weightTotal) return { decision: 'canary', why: `weight ${c.weight} of ${c.weightTotal}: the canary` };
  return { decision: 'weighted', why: `${c.header ? `header ${c.header.name} did not decide; ` : ''}drawn: the canary ${c.weight} times in ${c.weightTotal}, else the main backend` };
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim().toLowerCase() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The diagnostics of one object (`Ingress ns/name`). */
export function diagnosticsOf(diagnostics: readonly Diagnostic[], object: string): Diagnostic[] {
  return diagnostics.filter((d) => d.object === object);
}
