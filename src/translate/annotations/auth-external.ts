// External authentication: auth-url and the annotations that go with it, as ingress-nginx's authreq parser and its
// template's auth location give them (internal/ingress/annotations/authreq, nginx.tmpl `location = /_external-auth-`).
// Before a request of the route reaches its backend, the service at auth-url is asked, without the request's body;
// 2xx lets the request through (with auth-response-headers copied from the answer), 401 sends the client to
// auth-signin (or answers 401), 403 answers 403, anything else 500.
//
// URLs and the cache key may hold nginx variables, because the oauth2-proxy setup everyone copies does
// (`https://$host/oauth2/auth`, `?rd=$escaped_request_uri`). Only the variables that setup and ingress-nginx's docs
// use are read, each with a fixed meaning the Lua action computes (render/policy/auth-external.ts); any other `$` is
// refused (A1) rather than sent as text, since nginx would have substituted something.
import type { Diagnostic, ExternalAuthPolicy } from '../../model/types.js';
import type { Obj } from '../../k8s/objects.js';
import { configMapNameGrammar, readConfigMap } from '../configmaps.js';
import { configMapHeaders, MAX_CONFIGMAP_HEADERS, proxyHeaderValueOf } from './custom-headers.js';
import { headerNameOf } from './snippets.js';
import type { AnnotationValues } from './registry.js';
import { bool, commaList, integer, quote, trimSpaces } from './values.js';
import type { Findings } from '../diagnostics.js';
import { annotation, NGINX_PREFIX, PORTICO_PREFIX } from './registry.js';
import type { Parsed, ValueGrammar } from './values.js';

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** The variables a URL may hold: what the client's request says, as nginx names it. */
export const URL_VARIABLES = ['host', 'http_host', 'scheme', 'request_uri', 'escaped_request_uri'] as const;
/** The cache key may also hold the client's address, its Basic user, and any header or cookie. */
const KEY_VARIABLES = new Set<string>([...URL_VARIABLES, 'remote_addr', 'remote_user']);
const HEADER_OR_COOKIE = /^(http|cookie)_[a-z0-9_]{1,64}$/;

// nginx reads `$name` greedily over letters, digits and `_`, or `${name}`.
const VARIABLE = /\$(?:\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]*))/g;

/** Every variable of `raw` (lowercased names), or the first reason it has one that is not allowed. */
export function variablesOf(raw: string, allowed: (name: string) => boolean, what: string): Parsed<string[]> {
  const names: string[] = [];
  for (const m of raw.matchAll(VARIABLE)) {
    const name = m[1] ?? m[2] ?? '';
    if (name === '' || !allowed(name)) return fail(`${quote(raw)} holds ${name === '' ? 'a "$" that starts no variable' : `the nginx variable $${name}`}, which Portico does not substitute in ${what} (it reads ${what === 'a cache key' ? '$host, $http_host, $scheme, $request_uri, $escaped_request_uri, $remote_addr, $remote_user, $http_<header> and $cookie_<name>' : '$host, $http_host, $scheme, $request_uri and $escaped_request_uri'})`);
    names.push(name);
  }
  return ok(names);
}

// ingress-nginx's URLWithNginxVariableRegex, less the space (a URL with one is broken in nginx too): letters, digits
// and `- . _ ~ / : , ? & = $`, and the braces of `${name}`. No `%`, `#`, quote or `;`.
const URL_TEMPLATE = /^[-._~A-Za-z0-9/:,?&=${}]{1,2040}$/;
const HOST_PART = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9.]{0,251}[A-Za-z0-9])?|\$host|\$\{host\}|\$http_host|\$\{http_host\})(?::\d{1,5})?$/;

/**
 * A URL as auth-url and auth-signin take it: `http://` or `https://` (or `$scheme://`), a host that is a DNS name, an
 * IP address, `$host` or `$http_host` (optionally with a port), then a path and query of URL characters holding only
 * the variables Portico substitutes.
 */
export const authUrl: ValueGrammar<string> = {
  describe: 'an http:// or https:// URL of letters, digits and - . _ ~ / : , ? & =, possibly with $host, $http_host, $scheme, $request_uri or $escaped_request_uri',
  parse: (raw) => {
    if (!URL_TEMPLATE.test(raw)) return fail(`${quote(raw)} is not an http:// or https:// URL of letters, digits and - . _ ~ / : , ? & = (and nginx variables)`);
    const m = /^(https?|\$scheme|\$\{scheme\}):\/\/([^/?]*)([/?].*)?$/i.exec(raw);
    if (!m) return fail(`${quote(raw)} does not start with http://, https:// or $scheme:// and a host`);
    const host = m[2]!;
    const port = /:(\d+)$/.exec(host);
    if (!HOST_PART.test(host) || host.includes('..') || (port && (Number(port[1]) < 1 || Number(port[1]) > 65535)))
      return fail(`${quote(raw)} has no host, or a host that is neither a DNS name, an IP address, $host nor $http_host`);
    const vars = variablesOf(raw, (n) => (URL_VARIABLES as readonly string[]).includes(n), 'a URL');
    if (!vars.ok) return vars;
    return ok(raw);
  },
};

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] as const;
type AuthMethod = (typeof METHODS)[number];

/** auth-method: ingress-nginx's list less what HAProxy 2.6's Lua client cannot send (PATCH, OPTIONS, CONNECT, TRACE). */
export const authMethod: ValueGrammar<AuthMethod> = {
  describe: 'GET, HEAD, POST, PUT or DELETE',
  parse: (raw) =>
    (METHODS as readonly string[]).includes(raw)
      ? ok(raw as AuthMethod)
      : fail(/^(PATCH|OPTIONS|CONNECT|TRACE)$/.test(raw) ? `${quote(raw)}: HAProxy 2.6's HTTP client cannot send this method; use GET, HEAD, POST, PUT or DELETE` : `${quote(raw)} is not GET, HEAD, POST, PUT or DELETE (uppercase)`),
};

/** Names the auth service may not set on the request the backend receives: its framing, and Portico's own marker. */
const PROTECTED = /^(content-length|transfer-encoding|connection|keep-alive|proxy-connection|upgrade|te|trailer|host|x-portico-.*)$/;
const headerList = commaList('header names (letters, digits, - and _)', /^[A-Za-z0-9_-]{1,128}$/);

/** auth-response-headers: ingress-nginx's header names, lowercased, each once; never a framing header. */
export const authResponseHeaders: ValueGrammar<string[]> = {
  describe: headerList.describe,
  parse: (raw) => {
    const list = headerList.parse(raw);
    if (!list.ok) return list;
    const names = [...new Set(list.value.toLowerCase().split(','))];
    const bad = names.find((n) => PROTECTED.test(n.replace(/_/g, '-')));
    if (bad !== undefined) return fail(`${quote(bad)} in ${quote(raw)} is a header the auth service may not set on the backend's request`);
    return names.length > 32 ? fail(`${quote(raw)} names more than 32 headers`) : ok(names);
  },
};

// ingress-nginx's URLIsValidRegex, which auth-request-redirect passes: sent as a header value, never substituted.
const REQUEST_REDIRECT = /^[-._~A-Za-z0-9/:?&=]{1,2048}$/;
export const requestRedirect: ValueGrammar<string> = {
  describe: 'letters, digits and - . _ ~ / : ? & =',
  parse: (raw) => (REQUEST_REDIRECT.test(raw) ? ok(raw) : fail(`${quote(raw)} is not made of letters, digits and - . _ ~ / : ? & =`)),
};

/** auth-signin-redirect-param: the name of a query parameter. */
export const redirectParam: ValueGrammar<string> = {
  describe: 'a query parameter name of letters, digits and - . _ ~',
  parse: (raw) => (/^[-._~A-Za-z0-9]{1,64}$/.test(raw) ? ok(raw) : fail(`${quote(raw)} is not a query parameter name of letters, digits and - . _ ~`)),
};

/** auth-cache-key: ingress-nginx's NGINXVariable characters (letters, digits, `-`, `_`, `$`, braces), variables
 * limited to those Portico computes. */
export const cacheKey: ValueGrammar<string> = {
  describe: 'letters, digits, - and _ with nginx variables such as $http_authorization or $cookie__oauth2_proxy',
  parse: (raw) => {
    if (!/^[-_A-Za-z0-9${}]{1,512}$/.test(raw)) return fail(`${quote(raw)} is not made of letters, digits, - _ and nginx variables`);
    const vars = variablesOf(raw, (n) => KEY_VARIABLES.has(n.toLowerCase()) || HEADER_OR_COOKIE.test(n.toLowerCase()), 'a cache key');
    return vars.ok ? ok(raw) : vars;
  },
};

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, M: 2_592_000, y: 31_536_000 };
/** The statuses nginx's proxy_cache_valid caches when a duration names none. */
const NGINX_DEFAULT_STATUSES = [200, 301, 302];

export interface CacheDuration {
  /** Empty: any status (nginx's `any`). */
  statuses: number[];
  seconds: number;
}

/**
 * auth-cache-duration: comma-separated proxy_cache_valid arguments, each statuses (three digits, or `any`) then one
 * nginx duration (`200 202 401 5m`; `10m` alone is 200, 301 and 302, as in nginx).
 */
export const cacheDurations: ValueGrammar<CacheDuration[]> = {
  describe: 'comma-separated entries of status codes then a duration, such as "200 202 401 5m"',
  parse: (raw) => {
    if (raw.length > 1024) return fail(`${quote(raw)} is longer than 1024 characters`);
    const out: CacheDuration[] = [];
    for (const entry of raw.split(',').map(trimSpaces).filter((e) => e !== '')) {
      const words = entry.split(' ').filter((w) => w !== '');
      const d = /^(\d{1,9})(ms|s|m|h|d|w|M|y)$/.exec(words.at(-1) ?? '');
      const codes = words.slice(0, -1);
      if (!d || codes.some((c) => !/^([1-5]\d\d|any)$/.test(c))) return fail(`${quote(entry)} in ${quote(raw)} is not status codes (or "any") followed by one duration such as 5m`);
      const any = codes.includes('any');
      const statuses = any ? [] : codes.length === 0 ? NGINX_DEFAULT_STATUSES : [...new Set(codes.map(Number))];
      out.push({ statuses, seconds: Math.min(Number(d[1]) * UNIT_SECONDS[d[2]!]!, 31_536_000) });
    }
    return out.length === 0 ? fail(`${quote(raw)} names no duration`) : ok(out);
  },
};

/** ingress-nginx's DefaultCacheDuration. */
export const DEFAULT_CACHE_DURATIONS: CacheDuration[] = [{ statuses: [200, 202, 401], seconds: 300 }];

/** ingress-nginx reads the keep-alive annotations with strconv.Atoi: an optional sign and decimal digits. Negative or
 * zero values are accepted there too (they turn keep-alive off), so they are here. */
const GO_INT = integer(-2_147_483_648, 2_147_483_647);

const KEEPALIVE_NO_EFFECT =
  "the auth request goes through HAProxy 2.6's Lua HTTP client (core.httpclient), which has no per-call connection settings: it reuses idle connections of HAProxy's own server connection pool (per worker thread, shared by every route and auth service), whatever these annotations say. Measured with HAProxy 2.6.12: one connection carried auth requests spread over 22 s and was closed by HAProxy about 13 s after its last use (or sooner by the auth service). So connections are kept alive with or without auth-keepalive, and their number, requests per connection and idle time are HAProxy's, not the annotation's; ingress-nginx keeps none unless auth-keepalive is above 0 (and auth-url's host holds no variable).";

/** A bad value of these leaves a route that asked for authentication refusing every request, never open. */
const FAIL_CLOSED = {
  set: (v: AnnotationValues) => (v.authBroken = true),
  means: "with auth-url set, every request to this Ingress's paths gets 503 until the value is fixed (external authentication fails closed)",
};

const VARIABLES_DOC =
  'nginx variables: `$host` (the request\'s host, lowercase, without port), `$http_host` (its Host header as sent), `$scheme`, `$request_uri` (path and query as sent) and `$escaped_request_uri` (the same, every byte but letters, digits and `- . _ ~` percent-encoded); any other is refused (A1).';

const PROXY_HEADER_VARIABLES = 'the nginx variables the snippet annotations expand (`$host`, `$http_host`, `$scheme`, `$request_uri`, `$uri`, `$args`, `$query_string`, `$remote_addr`, `$request_id`, `$request_method`, `$server_port`, `$proxy_add_x_forwarded_for`, `$http_<name>`, `$cookie_<name>`, `$arg_<name>`)';
/** The headers' names and values together: their map line (percent-encoded, up to three characters a byte) stays a
 * map word HAProxy takes (4,096 characters). */
export const MAX_PROXY_HEADER_CHARS = 1200;

export const AUTH_EXTERNAL_ANNOTATIONS = [
  annotation({
    name: 'auth-url',
    scope: 'route',
    grammar: authUrl,
    set: (v, x) => (v.authUrl = x),
    invalid: { set: (v) => (v.authUrlBroken = true), means: "every request to this Ingress's paths gets 503 until the value is fixed (external authentication fails closed, as in ingress-nginx)" },
    doc: {
      default: 'none: no external authentication',
      what: `Before a request reaches this Ingress's backend, Portico asks this URL (HAProxy's Lua HTTP client, from the request's own thread) with the client's headers and without its body, plus X-Original-URL, X-Original-Method, X-Sent-From, X-Real-IP, X-Forwarded-For, X-Auth-Request-Redirect, X-Request-ID and Host as ingress-nginx's auth location sets them. 2xx: the request goes on; 401: a 302 to \`auth-signin\` (401 without it, with the service's WWW-Authenticate); 403: 403; any other answer, or no answer: 500. ${VARIABLES_DOC} A host written \`$host\` or \`$http_host\` is dialled on Portico's own listener (the port of the URL's scheme) with that Host and SNI, which is where the client's DNS name leads; any other host name is resolved through \`--resolvers\` (HAProxy's resolvers read neither /etc/hosts nor search domains: write \`oauth2-proxy.auth.svc.cluster.local\`). Paths under the settings ConfigMap's \`no-auth-locations\` (by default \`/.well-known/acme-challenge\`, as in ingress-nginx) are not authenticated. Live: a changed URL or setting is a map update.`,
      differences:
        "the request to the auth service carries Portico's X-Forwarded-Host and -Port, and `User-Agent`/`Accept` as the client sent them (HAProxy's client adds `Accept: */*` and `User-Agent: HAProxy` only when the client sent none). An auth service that cannot be reached is retried by HAProxy's client (3 more times, about 1 s apart), so the 500 comes after about 3 s, where nginx answers at once; one that does not answer gets 500 after 4 tries of 2.5 s (10 s; nginx waits 60 s once). HTTPS certificates of the auth service are not verified (neither are they by ingress-nginx). The 401, 403 and 500 bodies are one line of plain text, not nginx's HTML page. A bad value refuses every request to the paths with 503 (as ingress-nginx's LocationDenied).",
    },
  }),
  annotation({
    name: 'auth-method',
    scope: 'route',
    grammar: authMethod,
    set: (v, x) => (v.authMethod = x),
    invalid: FAIL_CLOSED,
    doc: {
      default: '`GET`',
      what: 'The method of the request to the auth service; with it set, X-Original-URI and X-Scheme are sent too, as in ingress-nginx. The request has no body whatever the method.',
      differences: 'PATCH, OPTIONS, CONNECT and TRACE are refused (A1, and the paths answer 503): HAProxy 2.6\'s Lua HTTP client cannot send them.',
    },
  }),
  annotation({
    name: 'auth-signin',
    scope: 'route',
    grammar: authUrl,
    set: (v, x) => (v.authSignin = x),
    doc: {
      default: 'none: a 401 from the auth service is answered with 401',
      what: `Where a client the auth service answered 401 is sent (302). Unless its query already has the \`auth-signin-redirect-param\` parameter, \`?rd=<scheme>://<Host header><escaped request URI>\` (or \`&rd=\`) is appended, as ingress-nginx does. ${VARIABLES_DOC} The 302 carries the auth service's Set-Cookie.`,
      differences: 'a request whose Host header is not a plain host name with an optional port (which only an Ingress without host can receive) gets 400 instead of a redirect built from it.',
    },
  }),
  annotation({
    name: 'auth-signin-redirect-param',
    scope: 'route',
    grammar: redirectParam,
    set: (v, x) => (v.authSigninRedirectParam = x),
    doc: { default: '`rd`', what: 'The query parameter of `auth-signin` that carries the URL the client asked for.' },
  }),
  annotation({
    name: 'auth-response-headers',
    scope: 'route',
    grammar: authResponseHeaders,
    set: (v, x) => (v.authResponseHeaders = x),
    invalid: FAIL_CLOSED,
    doc: {
      default: 'none',
      what: "Headers copied from the auth service's 2xx answer to the request the backend receives, comma-separated. A listed header the answer lacks is removed from the request, so a client can never send its own `X-Auth-Request-User`: the backend sees only the auth service's (or none); a client header whose name differs only by `_` for `-` is removed too, since many backends read both alike. Several values of one header are joined with `, `.",
      differences: 'Host, Content-Length, Transfer-Encoding, Connection, Keep-Alive, TE, Trailer, Upgrade and `x-portico-*` are refused (A1, and the paths answer 503); at most 32 names. ingress-nginx does not remove the `_` variant, which nginx passes only when `underscores_in_headers` is on.',
    },
  }),
  annotation({
    name: 'auth-request-redirect',
    scope: 'route',
    grammar: requestRedirect,
    set: (v, x) => (v.authRequestRedirect = x),
    invalid: FAIL_CLOSED,
    doc: { default: 'the request URI', what: 'The X-Auth-Request-Redirect header sent to the auth service.', differences: 'a bad value refuses the paths with 503; ingress-nginx drops external authentication altogether then.' },
  }),
  annotation({
    name: 'auth-cache-key',
    scope: 'route',
    grammar: cacheKey,
    set: (v, x) => (v.authCacheKey = x),
    doc: {
      default: 'none: every request asks the auth service',
      what: "With a key, the auth service's answers are kept per route and key (its nginx variables computed per request: `$http_authorization`, `$cookie__oauth2_proxy`, `$remote_user`, `$remote_addr`, and the URL variables) for `auth-cache-duration`, in HAProxy's memory (at most 10,000 answers; all are dropped when full), as nginx's proxy_cache would; an answer with Set-Cookie or `Cache-Control: no-store`, `no-cache` or `private` is not kept (nginx's defaults).",
      differences: 'kept in the memory of the HAProxy process (lost on reload), not on disk; `Cache-Control: max-age` and `Expires` do not shorten the duration.',
    },
  }),
  annotation({
    name: 'auth-cache-duration',
    scope: 'route',
    grammar: cacheDurations,
    set: (v, x) => (v.authCacheDurations = x),
    invalid: FAIL_CLOSED,
    doc: {
      default: '`200 202 401 5m`',
      what: 'How long answers are kept, per status, as proxy_cache_valid arguments, comma-separated: `200 202 401 5m`, `200 10m, 401 30s`; a duration alone is for 200, 301 and 302; `any` for every status. Only with `auth-cache-key`.',
      differences: 'a bad value refuses the paths with 503; ingress-nginx drops external authentication altogether then.',
    },
  }),
  annotation({
    name: 'auth-always-set-cookie',
    scope: 'route',
    grammar: bool,
    set: (v, x) => (v.authAlwaysSetCookie = x),
    invalid: FAIL_CLOSED,
    doc: {
      default: '`false`',
      what: "The auth service's Set-Cookie headers (of a 2xx, or of the 401 behind a signin redirect) are added to the client's response only on 200, 201, 204, 206, 301, 302, 303, 304, 307 and 308, as nginx's add_header; with `true`, on every status.",
      differences: 'up to 4 Set-Cookie headers are passed (oauth2-proxy splits a large session over several); nginx passes the first only (before 1.23) or all joined into one header (1.23 and later), which browsers read as one cookie.',
    },
  }),
  annotation({
    name: 'auth-keepalive',
    scope: 'route',
    grammar: GO_INT,
    set: (v) => (v.authKeepalive = true),
    doc: {
      default: '`0`: no connection kept',
      what: "Accepted and checked (a whole number, as ingress-nginx's strconv.Atoi reads it; anything else is reported, A1, and ignored).",
      noEffect: KEEPALIVE_NO_EFFECT,
    },
  }),
  annotation({
    name: 'auth-keepalive-requests',
    scope: 'route',
    grammar: GO_INT,
    set: (v) => (v.authKeepalive = true),
    doc: { default: '`1000`', what: 'Accepted and checked (a whole number; anything else is reported, A1, and ignored).', noEffect: KEEPALIVE_NO_EFFECT },
  }),
  annotation({
    name: 'auth-keepalive-timeout',
    scope: 'route',
    grammar: GO_INT,
    set: (v) => (v.authKeepalive = true),
    doc: { default: '`60` (seconds)', what: 'Accepted and checked (a whole number; anything else is reported, A1, and ignored).', noEffect: KEEPALIVE_NO_EFFECT },
  }),
  annotation({
    name: 'auth-keepalive-share-vars',
    scope: 'route',
    grammar: bool,
    set: (v) => (v.authKeepalive = true),
    doc: {
      default: '`false`',
      what: 'Accepted and checked (`true` or `false`, as Go\'s strconv.ParseBool reads them; anything else is reported, A1, and ignored).',
      noEffect:
        "ingress-nginx uses it only on its keep-alive path, where a Lua subrequest may share nginx's variables with the client's request; Portico has no keep-alive path and builds the auth request from the client's request every time, so there is nothing to share.",
    },
  }),
  annotation({
    name: 'auth-proxy-set-headers',
    scope: 'route',
    grammar: configMapNameGrammar,
    set: (v, x) => (v.authProxySetHeaders = x),
    invalid: FAIL_CLOSED,
    doc: {
      default: 'none',
      what: `A ConfigMap (\`name\` in the Ingress's namespace, or \`namespace/name\`) whose \`data\` are headers of the request to the auth service (auth-url): each key a header name, its value the header's text, which may hold ${PROXY_HEADER_VARIABLES}; an empty value removes the header (nginx's proxy_set_header with an empty value). They replace the client's header of that name and the ones Portico sets itself (X-Original-URL and the others), but never Host or a framing header. A ConfigMap that does not exist or lies in another namespace, or a key or value Portico refuses, makes every request to the paths get 503 until it is fixed (external authentication fails closed, as ingress-nginx denies the location). Only with auth-url. Live: a change of the ConfigMap's data, a new header name included, is a map update (the first route with the annotation takes one reload, which loads its rule).`,
      differences:
        `a \`name\` without namespace is the Ingress's own namespace, as in ingress-nginx. Names: letters, digits, \`-\` and \`_\`, never Host, Content-Length, Transfer-Encoding, Connection, Keep-Alive, Proxy-Connection, Upgrade, TE, Trailer or \`x-portico-*\`; values printable ASCII of at most 1,024 characters; at most ${MAX_CONFIGMAP_HEADERS} headers and ${MAX_PROXY_HEADER_CHARS} characters of names and values together. Variables: ${PROXY_HEADER_VARIABLES}; any other (\`$msec\`, \`$request_time\`...) is refused, where nginx would substitute it. A value that fails the grammar of the annotation itself refuses the paths (503), where ingress-nginx ignores the annotation. A control character a variable brings in (\`$uri\` decodes the path) is sent as \`%XX\`.`,
    },
  }),
  annotation({
    name: 'enable-global-auth',
    scope: 'route',
    grammar: bool,
    set: (v, x) => (v.enableGlobalAuth = x),
    doc: {
      default: '`true`',
      what: "`false` exempts this Ingress's paths from the settings ConfigMap's `global-auth-url` (docs/configmap.md). An Ingress with its own `auth-url` uses its own whatever this says. A bad value is reported (A1) and global authentication applies, as in ingress-nginx. Live: a route update.",
    },
  }),
];

const AUTH_FAIL_CLOSED = "every request to this Ingress's paths gets 503 until it is fixed (external authentication fails closed, as ingress-nginx denies the location)";

/** A header name the auth request may carry from auth-proxy-set-headers: the snippet's names, never Host. */
function proxyHeaderNameOf(raw: string): Parsed<string> {
  const name = headerNameOf(raw);
  if (name.ok && name.value === 'host') return fail(`${quote(raw)} is the auth request's Host, which the URL decides`);
  return name;
}

/**
 * auth-proxy-set-headers, read from its ConfigMap: the headers, or the refusal (503) of a route with auth-url whose
 * ConfigMap is missing, in another namespace or holds an entry Portico refuses (a header the auth service expects
 * and does not get could let a request through).
 */
export function authProxyHeadersOf(v: AnnotationValues, ing: { namespace: string; ref: string }, lookup: (key: string) => Obj | undefined): { headers?: Record<string, string>; refuse?: true; diagnostics: Diagnostic[] } {
  if (v.authProxySetHeaders === undefined || v.authUrl === undefined) return { diagnostics: [] };
  const field = v.authProxySetHeadersField ?? `metadata.annotations[${NGINX_PREFIX}auth-proxy-set-headers]`;
  const read = readConfigMap(v.authProxySetHeaders, ing, field, 'auth-proxy-set-headers', lookup, AUTH_FAIL_CLOSED);
  if ('refused' in read) return { refuse: true, diagnostics: [read.refused] };
  const consequence = `every request to the paths of ${ing.ref} gets 503 until it is fixed (external authentication fails closed, as ingress-nginx denies the location)`;
  const { headers, diagnostics } = configMapHeaders(read.data, 'auth-proxy-set-headers', proxyHeaderNameOf, proxyHeaderValueOf, MAX_PROXY_HEADER_CHARS, consequence);
  if (diagnostics.length > 0) return { refuse: true, diagnostics };
  return Object.keys(headers).length > 0 ? { headers, diagnostics } : { diagnostics };
}

/** The route's external authentication, or undefined. `refuse`: a bad value must leave the route refusing requests.
 * `proxySetHeaders`: auth-proxy-set-headers as read from its ConfigMap. */
export function externalAuthOf(v: AnnotationValues, proxySetHeaders?: Record<string, string> | 'refuse'): { auth?: ExternalAuthPolicy; refuse: boolean } {
  if (v.authUrl === undefined) return { refuse: v.authUrlBroken === true };
  if (v.authBroken || proxySetHeaders === 'refuse') return { refuse: true };
  const auth: ExternalAuthPolicy = { url: v.authUrl, ...(v.authMethod !== undefined ? { method: v.authMethod } : {}), responseHeaders: v.authResponseHeaders ?? [], alwaysSetCookie: v.authAlwaysSetCookie ?? false };
  if (v.authSignin !== undefined) auth.signin = signinUrl(v.authSignin, v.authSigninRedirectParam ?? 'rd');
  if (v.authRequestRedirect !== undefined) auth.requestRedirect = v.authRequestRedirect;
  if (v.authSnippet !== undefined && v.authSnippet.headers.length > 0) auth.requestHeaders = v.authSnippet.headers;
  if (proxySetHeaders !== undefined) auth.proxySetHeaders = proxySetHeaders;
  if (v.authCacheKey !== undefined) {
    auth.cacheKey = v.authCacheKey;
    auth.cacheDurations = v.authCacheDurations ?? DEFAULT_CACHE_DURATIONS;
  }
  return { auth, refuse: false };
}

/** ingress-nginx's buildAuthSignURL: the redirect parameter appended unless the query already has it. */
export function signinUrl(signin: string, param: string): string {
  const q = signin.indexOf('?');
  const query = q < 0 ? '' : signin.slice(q + 1);
  if (query.split('&').some((kv) => kv.split('=')[0] === param && (kv.split('=')[1] ?? '') !== '')) return signin;
  return `${signin}${q < 0 ? '?' : query === '' ? '' : '&'}${param}=$scheme://$http_host$escaped_request_uri`;
}

/** The companions of auth-url that do nothing without it, as in ingress-nginx, reported so the user is not surprised. */
export function checkExternalAuth(v: AnnotationValues, raw: Record<string, string>, f: Findings): void {
  if (v.authUrl !== undefined || v.authUrlBroken) return;
  const key = (name: string): string => `metadata.annotations[${raw[PORTICO_PREFIX + name] ? PORTICO_PREFIX + name : NGINX_PREFIX + name}]`;
  if (v.authSnippet !== undefined) f.warn(key('auth-snippet'), 'auth-ignored', 'auth-snippet applies to the request to auth-url, and this Ingress has no auth-url: it has no effect, as in ingress-nginx');
  if (v.authKeepalive) {
    const name = ['auth-keepalive', 'auth-keepalive-requests', 'auth-keepalive-timeout', 'auth-keepalive-share-vars'].find((n) => raw[PORTICO_PREFIX + n] || raw[NGINX_PREFIX + n])!;
    f.warn(key(name), 'auth-ignored', 'the auth-keepalive annotations configure the connections to auth-url, and this Ingress has no auth-url: they have no effect, as in ingress-nginx');
  }
}
