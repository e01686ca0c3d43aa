// The annotation registry: how an Ingress's annotations become typed values, once per Ingress. Each feature family
// (one module beside this one) declares its annotations here with `annotation()`: the name, where the value
// applies, the grammar it must pass and where the value goes. Nothing else in translate knows an annotation's name.
import type { BackendProtocol } from '../../model/types.js';
import type { AuthSnippet, SnippetPolicy } from './snippets.js';
import type { NextUpstreamWord } from './retries.js';
import type { LoadBalanceWord } from './balance.js';
import type { HashKeyPart, HeaderRewrite } from '../../model/types.js';
import type { RedirectFrom } from './proxy-redirect.js';
import type { SecretName } from './auth-basic.js';
import type { ConfigMapName } from '../configmaps.js';
import type { Findings } from '../diagnostics.js';
import { INGRESS_NGINX_ANNOTATIONS, MISNOMERS } from './ingress-nginx-names.js';
import { quote } from './values.js';
import type { ValueGrammar } from './values.js';

export const NGINX_PREFIX = 'nginx.ingress.kubernetes.io/';
export const PORTICO_PREFIX = 'portico.dev/';

/**
 * Where a value applies. `route`: the paths (and default backend) of the Ingress that carries it, as ingress-nginx
 * applies location-level annotations; `backend`: the Service port those paths send to (what HAProxy's backend
 * section or server options hold); `ingress`: the Ingress as a whole.
 */
export type Scope = 'route' | 'backend' | 'ingress';

/** The typed values of one Ingress's annotations. Each family adds its fields; absent means not set (or invalid). */
export interface AnnotationValues {
  sslRedirect?: boolean;
  preserveTrailingSlash?: boolean;
  appRoot?: string;
  serverAlias?: string[];
  fromToWwwRedirect?: boolean;
  forceSslRedirect?: boolean;
  permanentRedirect?: string;
  permanentRedirectCode?: number;
  temporalRedirect?: string;
  temporalRedirectCode?: number;
  proxyReadTimeout?: number;
  proxySendTimeout?: number;
  proxyBodySize?: number;
  upstreamVhost?: string;
  serviceUpstream?: boolean;
  /** `proxy-connect-timeout`, seconds. */
  proxyConnectTimeout?: number;
  /** `proxy-next-upstream`, its words (lowercase, duplicates dropped). */
  proxyNextUpstream?: NextUpstreamWord[];
  /** `proxy-next-upstream-tries`, 0 = unlimited. */
  proxyNextUpstreamTries?: number;
  /** `proxy-next-upstream-timeout`: only 0 (none) is accepted. */
  proxyNextUpstreamTimeout?: 0;
  /** `load-balance`. */
  loadBalance?: LoadBalanceWord;
  /** `upstream-hash-by`, parsed (balance.ts). */
  upstreamHashBy?: HashKeyPart[];
  /** `upstream-hash-by-subset`, `-subset-size`: read and checked, not served. */
  upstreamHashBySubset?: boolean;
  upstreamHashBySubsetSize?: number;
  useRegex?: boolean;
  rewriteTarget?: string;
  forwardedPrefix?: string;
  /** `backend-protocol`, `http` included: a valid `portico.dev/` value wins over an `nginx.ingress.kubernetes.io/` one. */
  backendProtocol?: 'http' | BackendProtocol;
  /** `fastcgi-index` (fastcgi.ts), used only with `backendProtocol: 'fcgi'`. */
  fastcgiIndex?: string;
  /** `proxy-ssl-*` (proxy-ssl.ts); `proxySslSecret: 'invalid'`: the annotation was set but unreadable. */
  proxySslSecret?: { namespace?: string; name: string } | 'invalid';
  proxySslVerify?: boolean;
  proxySslVerifyDepth?: number;
  proxySslName?: string;
  proxySslServerName?: boolean;
  proxySslProtocols?: ('TLSv1.2' | 'TLSv1.3')[];
  proxySslCiphers?: string;
  allowSourceRange?: string[];
  denySourceRange?: string[];
  /** An annotation that fails closed had a bad value: the Ingress's paths refuse every request. */
  refuseAll?: true;
  /** `satisfy`: how the access lists and authentication combine (`all` when unset). */
  satisfy?: 'any' | 'all';
  enableCors?: boolean;
  corsAllowOrigin?: '*' | string[];
  corsAllowMethods?: string;
  corsAllowHeaders?: string;
  corsExposeHeaders?: string;
  corsAllowCredentials?: boolean;
  corsMaxAge?: number;
  canary?: boolean;
  /** Lowercase, `_` read as `-`. */
  canaryHeader?: string;
  canaryHeaderValue?: string;
  canaryHeaderPattern?: string;
  /** Lowercase. */
  canaryCookie?: string;
  canaryWeight?: number;
  canaryWeightTotal?: number;
  configurationSnippet?: SnippetPolicy;
  serverSnippet?: SnippetPolicy;
  /** Its proxy_set_header directives become headers of the request to auth-url (the rest is reported). */
  authSnippet?: AuthSnippet;
  affinity?: 'cookie';
  affinityMode?: 'balanced' | 'persistent';
  affinityCanaryBehavior?: 'sticky' | 'legacy';
  sessionCookieName?: string;
  sessionCookiePath?: string;
  sessionCookieDomain?: string;
  sessionCookieMaxAge?: number;
  sessionCookieExpires?: number;
  /** As written (any case): only `None`, `Lax` and `Strict` reach the cookie. */
  sessionCookieSameSite?: string;
  sessionCookieSecure?: boolean;
  sessionCookieConditionalSameSiteNone?: boolean;
  sessionCookieChangeOnFailure?: boolean;
  /** `invalid`: the annotation had a bad value (authentication fails closed). */
  authType?: 'basic' | 'digest' | 'invalid';
  authSecret?: SecretName | 'invalid';
  /** The annotation key auth-secret was read from, for findings about its Secret. */
  authSecretField?: string;
  authSecretType?: 'auth-file' | 'auth-map' | 'invalid';
  authRealm?: string;
  /** auth-url and its companions (auth-external.ts). */
  authUrl?: string;
  /** auth-url had a bad value: the paths refuse every request. */
  authUrlBroken?: true;
  /** `enable-global-auth`: false exempts the Ingress from the ConfigMap's global-auth-url. */
  enableGlobalAuth?: boolean;
  /** A companion of auth-url that fails closed had a bad value: with auth-url set, the paths refuse every request. */
  authBroken?: true;
  authMethod?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  authSignin?: string;
  authSigninRedirectParam?: string;
  /** Lowercase. */
  authResponseHeaders?: string[];
  authRequestRedirect?: string;
  authCacheKey?: string;
  authCacheDurations?: { statuses: number[]; seconds: number }[];
  authAlwaysSetCookie?: boolean;
  /** One of the auth-keepalive annotations was set (they have no effect; only their absence of auth-url is reported). */
  authKeepalive?: true;
  limitRps?: number;
  limitRpm?: number;
  limitConnections?: number;
  limitBurstMultiplier?: number;
  limitAllowlist?: string[];
  /** The Ingress (`namespace/name`) the values came from: the zone its rate limits share. Set only with a limit. */
  rateLimitZone?: string;
  /** `invalid`: the annotation had a bad value (client authentication fails closed, 403 for the host). */
  authTlsSecret?: SecretName | 'invalid';
  authTlsVerifyClient?: 'on' | 'off' | 'optional' | 'optional_no_ca';
  authTlsVerifyDepth?: number;
  authTlsPassCertificate?: boolean;
  authTlsErrorPage?: string;
  authTlsMatchCn?: string;
  /** auth-tls-match-cn had a bad value: the host fails closed. */
  authTlsBroken?: true;
  /** `default-backend`: a Service name of the Ingress's namespace. */
  defaultBackend?: string;
  /** `custom-http-errors`: status codes, sorted, without duplicates. */
  customHttpErrors?: number[];
  /** `ssl-passthrough`: the Ingress's hosts' TLS goes to their `/` Service unterminated (routes.ts). */
  sslPassthrough?: boolean;
  /** `disable-proxy-intercept-errors`: custom-http-errors does not replace this Ingress's responses. */
  disableProxyInterceptErrors?: boolean;
  /** `enable-access-log`: false leaves the route's requests out of the access log (src/accesslog/). */
  enableAccessLog?: boolean;
  /** `connection-proxy-header`. */
  connectionProxyHeader?: 'close' | 'keep-alive';
  /** `ssl-ciphers`: an OpenSSL cipher list OpenSSL accepts. */
  sslCiphers?: string;
  /** `ssl-prefer-server-ciphers`. */
  sslPreferServerCiphers?: boolean;
  /** `mirror-target`: scheme and host lowercased (mirror.ts). */
  mirrorTarget?: string;
  mirrorRequestBody?: boolean;
  mirrorHost?: string;
  /** proxy-redirect.ts: proxy_redirect's parameters, proxy_cookie_domain's and _path's, and how a relative Location
   * the rewrite made is completed. */
  proxyRedirectFrom?: RedirectFrom;
  proxyRedirectTo?: string;
  proxyCookieDomain?: 'off' | HeaderRewrite;
  proxyCookiePath?: 'off' | HeaderRewrite;
  usePortInRedirects?: boolean;
  relativeRedirects?: boolean;
  /** `custom-headers`: the ConfigMap of response headers. */
  customHeaders?: ConfigMapName;
  /** `auth-proxy-set-headers`: the ConfigMap of headers sent to the auth service. */
  authProxySetHeaders?: ConfigMapName;
  /** The annotation keys those were read from, for findings about their ConfigMaps. */
  customHeadersField?: string;
  /** `fastcgi-params-configmap`: the ConfigMap of FastCGI params, and the key it was read from. */
  fastcgiParamsConfigMap?: ConfigMapName;
  fastcgiParamsField?: string;
  authProxySetHeadersField?: string;
}

/** What docs/annotations.md says of an annotation (generated from the registry, so the two cannot disagree). */
export interface AnnotationDoc {
  /** The value that applies when the annotation is unset. */
  default: string;
  /** What it does in Portico, in a sentence. */
  what: string;
  /** How what a client sees differs from ingress-nginx; absent: it does not. */
  differences?: string;
  /** For an annotation that is read (its value must pass the grammar) but needs nothing done in HAProxy: why. */
  noEffect?: string;
  /** The "honoured" column when the annotation is read but not honoured (auth-snippet, stream-snippet). */
  status?: string;
}

export interface AnnotationSpec<T> {
  /** The name after the prefix, as ingress-nginx spells it: `ssl-redirect`. */
  name: string;
  scope: Scope;
  grammar: ValueGrammar<T>;
  set(values: AnnotationValues, value: T): void;
  /** What a value that fails the grammar means when no valid one is set under the other prefix; absent: the
   * default. For an annotation whose default grants what its value restricts, so that a typo narrows what is allowed
   * instead of widening it: an access list (every request refused) or cors-allow-origin (default `*`: no origin). */
  invalid?: InvalidValue;
  /** The rule of the finding for a value that fails the grammar, when it is not A1 (the snippets' A4). */
  refusal?: string;
  /** What a valid value does not do, reported with the `refusal` rule (a directive without effect), or `notesRule`. */
  notes?: (value: T) => string[];
  /** The rule of the `notes` findings when it is not the `refusal` one (A6: a valid value HAProxy 2.6 cannot honour). */
  notesRule?: string;
  doc: AnnotationDoc;
}

export interface InvalidValue {
  /** How finding A1 ends: `no origin is allowed`. */
  means: string;
  set(values: AnnotationValues): void;
}

/** An annotation with its value type erased, so that families with different types share one list. */
export interface Annotation {
  name: string;
  scope: Scope;
  describe: string;
  doc: AnnotationDoc;
  /** Parses `raw` into `values`: the reason when the value fails the grammar, else what it does not do. */
  apply(values: AnnotationValues, raw: string): { reason: string } | { notes: string[] };
  /** The rule of its findings (A1 unless said). */
  rule: string;
  /** The rule of what a valid value does not do (`rule` unless said). */
  notesRule: string;
  /** What an invalid value means, when that is not the default (AnnotationSpec.invalid). */
  invalid?: InvalidValue;
}

export function annotation<T>(spec: AnnotationSpec<T>): Annotation {
  return {
    name: spec.name,
    scope: spec.scope,
    describe: spec.grammar.describe,
    doc: spec.doc,
    apply: (values, raw) => {
      const parsed = spec.grammar.parse(raw);
      if (!parsed.ok) return { reason: parsed.reason };
      spec.set(values, parsed.value);
      return { notes: spec.notes?.(parsed.value) ?? [] };
    },
    rule: spec.refusal ?? 'A1',
    notesRule: spec.notesRule ?? spec.refusal ?? 'A1',
    ...(spec.invalid ? { invalid: spec.invalid } : {}),
  };
}

const field = (key: string): string => `metadata.annotations[${key}]`;

const NO_VALUES: AnnotationValues = Object.freeze({});

/**
 * Rules A1-A3 (docs/rules.md): the values of the annotations in `registry`, each read from `portico.dev/<name>`
 * first, else from `nginx.ingress.kubernetes.io/<name>`. An empty value counts as unset, as in ingress-nginx. A value
 * that fails its grammar is reported and that key is skipped (the other prefix's value, if valid, is used; else
 * the default, or what the annotation says an invalid value means). Keys under either prefix that Portico does not read are reported too.
 */
export function parseAnnotations(annotations: Record<string, string>, registry: readonly Annotation[], f: Findings): AnnotationValues {
  // Most Ingresses carry no annotation Portico reads: they share one frozen, empty set of values.
  if (!Object.keys(annotations).some((k) => k.startsWith(NGINX_PREFIX) || k.startsWith(PORTICO_PREFIX))) return NO_VALUES;
  const values: AnnotationValues = {};
  const known = new Set<string>();
  for (const a of registry) {
    known.add(a.name);
    let invalid = false;
    for (const key of [PORTICO_PREFIX + a.name, NGINX_PREFIX + a.name]) {
      const raw = annotations[key];
      if (raw === undefined || raw === '') continue;
      const result = a.apply(values, raw);
      if ('notes' in result) {
        for (const note of result.notes) f.warn(field(key), a.notesRule, note);
        invalid = false;
        break;
      }
      invalid = true;
      f.warn(field(key), a.rule, a.rule === 'A1' ? `${result.reason}; ${a.invalid?.means ?? 'the annotation is ignored'}` : result.reason);
    }
    if (invalid) a.invalid?.set(values);
  }
  for (const key of Object.keys(annotations).sort()) {
    const nginx = key.startsWith(NGINX_PREFIX);
    if (!nginx && !key.startsWith(PORTICO_PREFIX)) continue;
    const name = key.slice((nginx ? NGINX_PREFIX : PORTICO_PREFIX).length);
    if (known.has(name)) continue;
    // An ingress-nginx name under either prefix: not honoured yet (under portico.dev/ it would mean the same).
    if (INGRESS_NGINX_ANNOTATIONS.has(name)) {
      f.warn(field(key), 'A2', `Portico does not support this ingress-nginx annotation yet: it has no effect (docs/annotations.md)`);
      continue;
    }
    const hint = closestName(name, known);
    f.warn(field(key), 'A3', `${quote(key)} is not an annotation ${nginx ? 'ingress-nginx or Portico' : 'Portico'} knows: it has no effect${hint ? `; did you mean ${quote(NGINX_PREFIX + hint)}?` : ''}`);
  }
  return values;
}

/** The real name a mistaken one most likely meant: a known misnomer, else a name within a small edit distance. */
export function closestName(name: string, supported: ReadonlySet<string>): string | undefined {
  const misnomer = MISNOMERS[name];
  if (misnomer !== undefined) return misnomer;
  // A typo, not another word: at most one edit per four characters, and never more than three.
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.max(1, Math.floor(name.length / 4))) + 1;
  for (const candidate of [...supported, ...INGRESS_NGINX_ANNOTATIONS]) {
    const d = editDistance(name, candidate, bestDistance);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, or `cap` as soon as it is certain to be at least that. */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin >= cap) return cap;
    prev = row;
  }
  return Math.min(prev[b.length]!, cap);
}
