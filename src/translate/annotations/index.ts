// Every annotation family Portico reads, in one list: parsing, `portico check` and docs/annotations.md all go
// through it.
import type { RoutePolicy } from '../../model/types.js';
import type { Findings } from '../diagnostics.js';
import { NGINX_PREFIX, PORTICO_PREFIX, parseAnnotations } from './registry.js';
import type { Annotation, AnnotationValues } from './registry.js';
import { REDIRECT_ANNOTATIONS, redirectOf, redirectsToHttps } from './redirects.js';
import type { HttpsRedirectDefaults } from './redirects.js';
import type { AccessDefaults } from '../settings/access.js';
import { TIMEOUT_ANNOTATIONS, serverTimeoutOf } from './timeouts.js';
import { BODY_ANNOTATIONS } from './body.js';
import { UPSTREAM_ANNOTATIONS } from './upstream.js';
import { ACCESS_ANNOTATIONS } from './access.js';
import { SATISFY_ANNOTATIONS } from './satisfy.js';
import { CORS_ANNOTATIONS, corsOf } from './cors.js';
import { REWRITE_ANNOTATIONS } from './rewrite.js';
import { BUFFER_ANNOTATIONS } from './buffers.js';
import { CANARY_ANNOTATIONS, checkCanaryEnabled } from './canary.js';
import { SNIPPET_ANNOTATIONS, routeSnippets } from './snippets.js';
import { AFFINITY_ANNOTATIONS, checkAffinity, wantsAffinity } from './affinity.js';
import type { SnippetPolicy } from './snippets.js';
import { AUTH_BASIC_ANNOTATIONS, checkAuth } from './auth-basic.js';
import type { BasicAuth, ExternalAuthPolicy, HeaderEdits } from '../../model/types.js';
import { AUTH_EXTERNAL_ANNOTATIONS, checkExternalAuth, externalAuthOf } from './auth-external.js';
import { RATE_LIMIT_ANNOTATIONS, rateLimitOf } from './ratelimit.js';
import { AUTH_TLS_ANNOTATIONS } from './auth-tls.js';
import { PROXY_SSL_ANNOTATIONS } from './proxy-ssl.js';
import { DEFAULT_BACKEND_ANNOTATIONS } from './default-backend.js';
import { RETRY_ANNOTATIONS } from './retries.js';
import { BALANCE_ANNOTATIONS, checkBalance } from './balance.js';
import { PASSTHROUGH_ANNOTATIONS } from './passthrough.js';
import { CONNECTION_ANNOTATIONS } from './connection.js';
import { ACCESS_LOG_ANNOTATIONS } from './access-log.js';
import { TLS_CIPHER_ANNOTATIONS } from './tls-ciphers.js';
import { NOT_IN_HAPROXY_ANNOTATIONS } from './not-in-haproxy.js';
import { MIRROR_ANNOTATIONS, mirrorOf } from './mirror.js';
import { FASTCGI_ANNOTATIONS } from './fastcgi.js';
import { PROXY_REDIRECT_ANNOTATIONS, proxyRewriteOf } from './proxy-redirect.js';
import { CUSTOM_HEADER_ANNOTATIONS } from './custom-headers.js';

export const ANNOTATIONS: readonly Annotation[] = [
  ...ACCESS_ANNOTATIONS,
  ...AUTH_BASIC_ANNOTATIONS,
  ...AUTH_EXTERNAL_ANNOTATIONS,
  ...AUTH_TLS_ANNOTATIONS,
  ...PASSTHROUGH_ANNOTATIONS,
  ...SATISFY_ANNOTATIONS,
  ...REDIRECT_ANNOTATIONS,
  ...TIMEOUT_ANNOTATIONS,
  ...BODY_ANNOTATIONS,
  ...UPSTREAM_ANNOTATIONS,
  ...CONNECTION_ANNOTATIONS,
  ...ACCESS_LOG_ANNOTATIONS,
  ...TLS_CIPHER_ANNOTATIONS,
  ...FASTCGI_ANNOTATIONS,
  ...PROXY_SSL_ANNOTATIONS,
  ...DEFAULT_BACKEND_ANNOTATIONS,
  ...RETRY_ANNOTATIONS,
  ...BALANCE_ANNOTATIONS,
  ...CORS_ANNOTATIONS,
  ...REWRITE_ANNOTATIONS,
  ...PROXY_REDIRECT_ANNOTATIONS,
  ...RATE_LIMIT_ANNOTATIONS,
  ...CANARY_ANNOTATIONS,
  ...AFFINITY_ANNOTATIONS,
  ...SNIPPET_ANNOTATIONS,
  ...CUSTOM_HEADER_ANNOTATIONS,
  ...BUFFER_ANNOTATIONS,
  ...NOT_IN_HAPROXY_ANNOTATIONS,
  ...MIRROR_ANNOTATIONS,
];

/** Whether an Ingress's paths are regular expressions, and its hosts' paths with them (ingress-nginx's
 * `enforceRegexModifier`: `use-regex`, or a rewrite target). */
export function regexPaths(v: AnnotationValues): boolean {
  return v.useRegex === true || v.rewriteTarget !== undefined;
}

const PLAIN_POLICIES = [Object.freeze({ redirectToHttps: false }), Object.freeze({ redirectToHttps: true })] as const;

/** What an Ingress's annotations read from ConfigMaps (routes.ts reads them through translate's lookup); `refuse`: the
 * ConfigMap is missing or refused, and the route fails closed. */
export interface ConfigMapValues {
  customHeaders?: Record<string, string> | 'refuse';
  authProxySetHeaders?: Record<string, string> | 'refuse';
}

/** The policy of the routes one Ingress contributes to a host group (`tlsHost`: the group's host has TLS;
 * `serverSnippet`: the host's server-snippet, from the oldest Ingress on it that has one; `access`: the settings
 * ConfigMap's defaults, access lists and global authentication; `authExempt`: the path is under no-auth-locations, so
 * it gets no external authentication, though a refused auth-url of its own still refuses it). */
export function routePolicy(v: AnnotationValues, tlsHost: boolean, https: HttpsRedirectDefaults, serverSnippet?: SnippetPolicy, basicAuth?: BasicAuth | 'refuse', configMaps: ConfigMapValues = {}, access?: AccessDefaults, authExempt = false): RoutePolicy {
  const redirectToHttps = redirectsToHttps(v, tlsHost, https);
  const policy: RoutePolicy = { redirectToHttps };
  if (redirectToHttps && v.preserveTrailingSlash === true) policy.preserveTrailingSlash = true;
  const redirect = redirectOf(v);
  if (redirect) policy.redirect = redirect;
  const serverTimeout = serverTimeoutOf(v);
  if (serverTimeout !== undefined) policy.serverTimeoutSeconds = serverTimeout;
  if (v.proxyBodySize !== undefined) policy.maxBodyBytes = v.proxyBodySize;
  if (v.upstreamVhost !== undefined) policy.upstreamHost = v.upstreamVhost;
  if (v.connectionProxyHeader === 'close') policy.closeUpstreamConnection = true;
  if (v.enableAccessLog === false) policy.noAccessLog = true;
  // An Ingress's own list replaces the ConfigMap's, each list on its own (ingress-nginx's annotation parsers take the
  // ConfigMap's value as their default).
  const allow = v.allowSourceRange ?? (access?.allow === 'refuse' ? undefined : access?.allow);
  const deny = v.denySourceRange ?? (access?.deny === 'refuse' ? undefined : access?.deny);
  if (allow !== undefined || deny !== undefined) policy.sourceRanges = { allow: allow ?? [], deny: deny ?? [] };
  const listRefused = (v.allowSourceRange === undefined && access?.allow === 'refuse') || (v.denySourceRange === undefined && access?.deny === 'refuse');
  const own = externalAuthOf(v, configMaps.authProxySetHeaders);
  const external: { auth?: ExternalAuthPolicy; refuse: boolean } = authExempt ? { refuse: own.refuse } : { ...own };
  const global = !authExempt && v.authUrl === undefined && v.authUrlBroken !== true && v.enableGlobalAuth !== false ? access?.externalAuth : undefined;
  if (global === 'refuse') external.refuse = true;
  else if (global) external.auth = global;
  if (v.refuseAll || listRefused || basicAuth === 'refuse' || external.refuse || configMaps.customHeaders === 'refuse') policy.refuseAll = true;
  else {
    if (basicAuth) policy.basicAuth = basicAuth;
    if (external.auth) policy.externalAuth = external.auth;
    // satisfy: any changes only a route with a list and authentication; elsewhere it is left out of the model.
    if (v.satisfy === 'any' && policy.sourceRanges && (policy.basicAuth || policy.externalAuth)) policy.satisfyAny = true;
  }
  const cors = corsOf(v);
  if (cors) policy.cors = cors;
  const { headers: snippetHeaders, respond } = routeSnippets(v, serverSnippet);
  const headers = snippetHeaders && policy.externalAuth ? withoutAuthHeaders(snippetHeaders, policy.externalAuth.responseHeaders) : snippetHeaders;
  if (headers) policy.headers = headers;
  if (configMaps.customHeaders !== undefined && configMaps.customHeaders !== 'refuse') policy.customHeaders = configMaps.customHeaders;
  if (respond) policy.respond = respond;
  const rateLimit = v.rateLimitZone === undefined ? undefined : rateLimitOf(v, v.rateLimitZone);
  if (rateLimit) policy.rateLimit = rateLimit;
  const proxyRewrite = proxyRewriteOf(v);
  if (proxyRewrite) policy.proxyRewrite = proxyRewrite;
  // A route that refuses every request sends nothing to a mirror either.
  const mirror = policy.refuseAll ? undefined : mirrorOf(v);
  if (mirror) policy.mirror = mirror;
  // Most routes set nothing else: they share one of two frozen objects (10,000 Ingresses, 10,000 fewer objects kept).
  return Object.keys(policy).length === 1 ? PLAIN_POLICIES[redirectToHttps ? 1 : 0] : policy;
}

/**
 * A snippet's request edits without those of the headers the auth service answers (auth-response-headers): its values
 * must reach the backend, whatever a snippet of the route's Ingress or of another Ingress on the host (server-snippet)
 * sets, as nginx's auth copy (proxy_set_header, in the content phase) replaces what more_set_input_headers set before.
 * A clear with a wildcard that would take one of them is left out whole.
 */
function withoutAuthHeaders(h: HeaderEdits, authHeaders: readonly string[]): HeaderEdits | undefined {
  if (authHeaders.length === 0) return h;
  // Backends that read `_` as `-` (CGI-style) would see X_Auth_User as X-Auth-User: it is guarded too.
  const guarded = (raw: string): boolean => {
    const name = raw.replace(/_/g, '-');
    return authHeaders.some((a) => a === name || (name.endsWith('*') && a.startsWith(name.slice(0, -1))));
  };
  const out: HeaderEdits = { ...h };
  if (h.requestSet) {
    const set = Object.fromEntries(Object.entries(h.requestSet).filter(([name]) => !guarded(name)));
    if (Object.keys(set).length > 0) out.requestSet = set;
    else delete out.requestSet;
  }
  if (h.requestClear) {
    const clear = h.requestClear.filter((name) => !guarded(name));
    if (clear.length > 0) out.requestClear = clear;
    else delete out.requestClear;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** An Ingress's annotations as typed values; findings for invalid values and for keys Portico does not read.
 * `ingress` (`namespace/name`) names the zone its rate limits share. */
export function parseIngressAnnotations(annotations: Record<string, string>, f: Findings, ingress = ''): AnnotationValues {
  const values = parseAnnotations(annotations, ANNOTATIONS, f);
  checkCanaryEnabled(values, annotations, f);
  checkAffinity(values, f);
  checkBalance(values, wantsAffinity(values), f);
  checkAuth(values, annotations, f);
  checkExternalAuth(values, annotations, f);
  checkConfigMapRefs(values, annotations, f);
  if (rateLimitOf(values, ingress)) values.rateLimitZone = ingress;
  return values;
}

/** Where the ConfigMap references were read from (their findings name the key), and auth-proxy-set-headers without
 * auth-url, which has no effect (as in ingress-nginx). */
function checkConfigMapRefs(v: AnnotationValues, raw: Record<string, string>, f: Findings): void {
  const key = (name: string): string => `metadata.annotations[${raw[PORTICO_PREFIX + name] ? PORTICO_PREFIX + name : NGINX_PREFIX + name}]`;
  if (v.customHeaders !== undefined) v.customHeadersField = key('custom-headers');
  if (v.fastcgiParamsConfigMap !== undefined) v.fastcgiParamsField = key('fastcgi-params-configmap');
  if (v.authProxySetHeaders !== undefined) {
    v.authProxySetHeadersField = key('auth-proxy-set-headers');
    if (v.authUrl === undefined && v.authUrlBroken === undefined) f.warn(key('auth-proxy-set-headers'), 'auth-ignored', 'auth-proxy-set-headers has no effect without auth-url, as in ingress-nginx');
  }
}

/**
 * The policy of one regular-expression path: the Ingress's, plus its rewrite when it has a target other than the path
 * itself (ingress-nginx's `needsRewrite`), and X-Forwarded-Prefix only with a rewrite (its `buildProxyPass`).
 */
export function regexRoutePolicy(v: AnnotationValues, base: RoutePolicy, path: string, pattern: string): RoutePolicy {
  if (v.rewriteTarget === undefined || v.rewriteTarget === path) return base;
  return { ...base, rewrite: { pattern, target: v.rewriteTarget }, ...(v.forwardedPrefix !== undefined ? { forwardedPrefix: v.forwardedPrefix } : {}) };
}
