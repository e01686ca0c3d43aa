// The contract between translate and render. Plain, serialisable data only: the golden tests compare it as JSON.

/** One finding about one object: what `kubectl describe` / the log shows the user. */
export interface Diagnostic {
  level: 'error' | 'warning';
  /** `Kind namespace/name`, or `Kind name` for cluster-scoped objects. */
  object: string;
  /** Dotted field path inside the object, e.g. `spec.rules[0].host`. */
  field: string;
  /** Spec rule id (V6, M3, T5, ...) or a Portico rule name. */
  rule: string;
  message: string;
}

/** The host group key of rules without a host (rule H5's any-host group). */
export const ANY_HOST_KEY = '*';
/** The key of the catch-all default backend (rules D1, D5) wherever host group keys are used: translate's table of
 * groups and render's defaults map. No host group key can take this form (DNS names, `*.` wildcards, `*`). */
export const CATCH_ALL_KEY = '*catch-all*';

export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

/** Where a routing decision came from, so a user can trace a route back to YAML. */
export interface RouteSource {
  ingress: string; // namespace/name
  rule: number;
  path: number;
}

/** The HTTP statuses a redirect annotation may answer with (ingress-nginx accepts 300-308). */
export type RedirectCode = 300 | 301 | 302 | 303 | 304 | 305 | 306 | 307 | 308;

/**
 * What a route does besides choosing its backend: the settings of the Ingress it came from (its annotations, read
 * through src/translate/annotations/), resolved for this route. Each feature family adds its fields; a route with
 * none set is a plain route and costs nothing extra per request.
 */
export interface RoutePolicy {
  /** Plain-HTTP requests get a 308 to HTTPS (rule T9). */
  redirectToHttps: boolean;
  /** `preserve-trailing-slash`: that redirect keeps a `/` ending the request's path and query (else it drops it). */
  preserveTrailingSlash?: true;
  /** `permanent-redirect` / `temporal-redirect`: every request gets this redirect instead of reaching the backend. */
  redirect?: { code: RedirectCode; url: string };
  /** `proxy-read-timeout` / `proxy-send-timeout`: HAProxy's server and tunnel timeouts for this route's requests. */
  serverTimeoutSeconds?: number;
  /** `proxy-body-size`: the largest request body in bytes for this route (0: no limit), instead of the global one. */
  maxBodyBytes?: number;
  /** `upstream-vhost`: the Host header the backend receives. */
  upstreamHost?: string;
  /** `connection-proxy-header: close`: the backend receives `Connection: close` and its connection is not reused. */
  closeUpstreamConnection?: true;
  /** `enable-access-log: "false"`: the route's requests are left out of the access log (a flag of the route's value
   * that Portico's access log reads, src/accesslog/; HAProxy still reports them, for the request metrics). */
  noAccessLog?: true;
  /** `allowlist-source-range` / `denylist-source-range`: which client addresses may use the route, as CIDR blocks
   * (`10.0.0.1` is `10.0.0.1/32`). A client in `deny`, or outside a non-empty `allow`, gets 403. */
  sourceRanges?: { allow: string[]; deny: string[] };
  /** An access annotation of the route's Ingress had a bad value: every request gets 503 (it fails closed). */
  refuseAll?: true;
  /** `satisfy: any` on a route with `sourceRanges` and authentication (`basicAuth` or `externalAuth`), and only there:
   * a client the lists allow needs no credentials; one they refuse must authenticate instead of getting 403. */
  satisfyAny?: true;
  /** `rewrite-target`: the path the backend receives (`target`), `$1`-`$9` taken from the groups of `pattern`, the
   * route's expression (RegexRoute), which the request path matched. */
  rewrite?: { pattern: string; target: string };
  /** `x-forwarded-prefix`, sent only on a route with a rewrite (as ingress-nginx does). */
  forwardedPrefix?: string;
  /** `enable-cors` and the `cors-*` annotations: the route answers CORS preflights and adds CORS headers. */
  cors?: CorsPolicy;
  /** A canary Ingress attached to this route (`canary` and the `canary-*` annotations): some requests go to its backend. */
  canary?: CanaryPolicy;
  /** `default-backend`: name of a backend in `RoutingModel.backends` (the Service's first port, `ServiceRef.port` 0)
   * that receives the route's requests while the section of the route's own backend has no usable server. */
  defaultBackend?: string;
  /** `custom-http-errors`, only with `defaultBackend`: a response of the route's backend with one of `codes` is replaced
   * by the default backend's answer to a GET of `/` carrying ingress-nginx's X-Code, X-Format, X-Original-URI,
   * X-Namespace, X-Ingress-Name, X-Service-Name, X-Service-Port and X-Request-ID (those four from here). */
  customHttpErrors?: CustomHttpErrors;
  /** Header edits of the snippet annotations (`configuration-snippet`, and the host's `server-snippet`). */
  headers?: HeaderEdits;
  /** `custom-headers` (read from its ConfigMap): lowercase name -> literal value, set on every response after the
   * snippets' headers. */
  customHeaders?: Record<string, string>;
  /** `return` in a snippet annotation: the route answers every request itself. */
  respond?: SnippetReturn;
  /** `affinity: cookie` and the `session-cookie-*` annotations: the route's requests stick to a pod by a cookie. */
  affinity?: AffinityPolicy;
  /** `auth-type: basic` with its Secret: requests need one of these users' passwords, else 401. */
  basicAuth?: BasicAuth;
  /** `auth-url` and its companions: an auth service decides first whether a request reaches the backend. */
  externalAuth?: ExternalAuthPolicy;
  /** `mirror-target`, `mirror-host`, `mirror-request-body`: each request is also sent to a mirror, whose answer is
   * thrown away (src/translate/annotations/mirror.ts). */
  mirror?: MirrorPolicy;
  /** `limit-rps`, `limit-rpm`, `limit-connections`: per client address, counted together on all routes of `zone`. */
  rateLimit?: RateLimitPolicy;
  /** `auth-tls-*` of the host (the oldest Ingress on it with `auth-tls-secret`): what a request must show of its
   * client certificate, and what the backend learns of it. Every route of the host has the same. */
  clientCert?: ClientCertPolicy;
  /** `proxy-redirect-from`/`-to`, `proxy-cookie-domain`, `proxy-cookie-path`: edits of the backend's Location, Refresh
   * and Set-Cookie headers, as nginx's proxy_redirect and proxy_cookie_* make them. */
  proxyRewrite?: ProxyRewrite;
  /** `--debug-headers` (not an annotation: src/explain/debug-headers.ts adds it to what HAProxy is given, never to
   * translate's model): the route's Ingress (`namespace/name`) and `<host><path>`, named in X-Portico-Route, and the
   * backends it may be served by (its own, its canary's, its default-backend's) with the `namespace/service:port` that
   * X-Portico-Service names for each. */
  debugHeaders?: { ingress: string; route: string; services: [backend: string, service: string][] };
}

/**
 * One of nginx's proxied-header rewrites. `prefix`: the value starting with `from` (case-sensitive) has that part
 * replaced by `to`; `domain`: a cookie domain equal to `from` (case-insensitive, a leading `.` ignored on both, and
 * kept on the cookie) becomes `to`; `regex`/`regexCaseless`: a value in which the expression `from` is found
 * anywhere is replaced whole by `to`.
 */
export interface HeaderRewrite {
  kind: 'prefix' | 'domain' | 'regex' | 'regexCaseless';
  from: string;
  to: string;
}

/** What a route does to its backend's response headers (src/translate/annotations/proxy-redirect.ts). */
export interface ProxyRewrite {
  /** proxy_redirect: the Location header, and the URL after `url=` in Refresh. */
  redirect?: HeaderRewrite;
  /** proxy_cookie_domain: the Domain attributes of each Set-Cookie. */
  cookieDomain?: HeaderRewrite;
  /** proxy_cookie_path: the Path attributes of each Set-Cookie. */
  cookiePath?: HeaderRewrite;
  /** `relative-redirects`: a Location the redirect rewrite made relative stays so (nginx's `absolute_redirect off`);
   * otherwise it is made absolute from the request's scheme and Host, as nginx does. */
  relativeRedirects?: true;
  /** `use-port-in-redirects`: that absolute Location names the listener's port unless it is the scheme's default. */
  portInRedirects?: true;
}

/**
 * Client-certificate authentication as a route sees it (src/translate/annotations/auth-tls.ts). The TLS side (which
 * CA the handshake asks for) is the host's SNI line (`SniBinding.clientAuth`); the request side is judged here, so
 * that a missing or bad certificate gets ingress-nginx's answer instead of a failed handshake.
 */
export interface ClientCertPolicy {
  /** `auth-tls-verify-client`; `refuse`: the CA Secret is missing or unusable, or an annotation that fails closed was
   * invalid: every request gets 403, as ingress-nginx's server answers `return 403`. */
  verify: 'on' | 'off' | 'optional' | 'optional_no_ca' | 'refuse';
  /** `auth-tls-pass-certificate-to-upstream`: the `ssl-client-cert` header (URL-encoded PEM). */
  passCertificate: boolean;
  /** `auth-tls-match-cn`: a regular expression searched for in the subject DN (RFC 2253), case-sensitively. */
  matchCn?: string;
  /** `auth-tls-error-page`: where a missing or bad certificate is redirected (302) instead of the 400. */
  errorPage?: string;
}

/** What the error backend of `custom-http-errors` learns of a route (ingress-nginx's location variables). */
export interface CustomHttpErrors {
  /** Status codes 400-599, sorted, without duplicates. */
  codes: number[];
  namespace: string;
  ingress: string;
  service: string;
  /** The Service port as written in the Ingress (number or name). */
  port: string;
}

/** A CA bundle (and CRL) from an `auth-tls-secret`: re-encoded by Portico from parsed certificates, never copied. */
export interface CaFile {
  /** File-safe id `namespace_name` of the Secret. */
  id: string;
  secret: string;
  /** Every certificate of `ca.crt`, re-encoded. */
  pem: string;
  /** `ca.crl`, parsed and re-encoded; absent: no revocation check. */
  crl?: string;
  /** SHA-256 of pem and crl, for golden files and logs. */
  sha256: string;
}

/**
 * Cookie session affinity on one route (ingress-nginx's sticky balancer). The route's backend is a sticky section
 * (`BackendPolicy.affinity`), which balances on the key the cookie carries; the cookie is written by HAProxy with
 * these attributes, in ingress-nginx's order and form (`NAME=<key>|<backend key>; Expires=...; Max-Age=...;
 * Domain=...; Path=...; Secure; HttpOnly; SameSite=...`).
 */
export interface AffinityPolicy {
  /** The route's backend (its sticky section), named again here for a canary's cookie to lead back to it. */
  backend: string;
  /** `session-cookie-name`, case kept (cookie names are case-sensitive). */
  cookie: string;
  /** `affinity-mode`. */
  mode: 'balanced' | 'persistent';
  /** ingress-nginx's `md5(md5(<upstream>) .. <upstream>)` of the route's Service port (`<namespace>-<service>-<port>`):
   * the cookie's second field, which tells a canary's cookie from its main route's. */
  backendKey: string;
  /** `session-cookie-path`, else the route's path as written in the Ingress. */
  path: string;
  domain?: string;
  /** `session-cookie-max-age`, seconds (may be 0 or negative, as ingress-nginx writes it). */
  maxAge?: number;
  /** `session-cookie-expires`: seconds from the response. */
  expires?: number;
  /** Only the three values browsers read, spelt as they are; ingress-nginx's cookie library drops any other spelling. */
  sameSite?: 'None' | 'Lax' | 'Strict';
  /** `session-cookie-secure`: Secure over plain HTTP too (over HTTPS it is always set). */
  secure: boolean;
  /** `session-cookie-conditional-samesite-none`: no SameSite=None for browsers known to refuse such cookies. */
  conditionalSameSiteNone: boolean;
  /** `session-cookie-change-on-failure`. */
  changeOnFailure: boolean;
  /** The route's canary (affinity-canary-behavior: sticky, the default): a client whose cookie names the canary's
   * backend stays on the canary, one whose cookie names the route's stays off it. */
  canary?: { backend: string; backendKey: string };
}

/**
 * External authentication (src/translate/annotations/auth-external.ts). URLs and the cache key are templates that may
 * hold the nginx variables the grammar admits (`$host`, `$http_host`, `$scheme`, `$request_uri`,
 * `$escaped_request_uri`; in the key also `$remote_addr`, `$remote_user`, `$http_<name>`, `$cookie_<name>`), computed
 * per request by the Lua action.
 */
export interface ExternalAuthPolicy {
  url: string;
  /** auth-method; absent: GET, without the X-Original-URI and X-Scheme headers ingress-nginx adds with a method. */
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  /** Where a 401 is redirected, the redirect parameter already in it; absent: the client gets 401. */
  signin?: string;
  /** Lowercase names copied from the auth answer to the backend's request (and removed from it when absent). */
  responseHeaders: string[];
  /** X-Auth-Request-Redirect; absent: the request URI. */
  requestRedirect?: string;
  cacheKey?: string;
  /** With cacheKey: how long answers are kept per status (statuses empty: any status). */
  cacheDurations?: { statuses: number[]; seconds: number }[];
  alwaysSetCookie: boolean;
  /** auth-snippet's proxy_set_header: lowercase name -> value (nginx variables as `${name}`; empty: not sent). */
  requestHeaders?: [name: string, value: string][];
  /** auth-proxy-set-headers (read from its ConfigMap): lowercase name -> value, nginx variables written `${name}`;
   * an empty value removes the header from the auth request. */
  proxySetHeaders?: Record<string, string>;
}

/** Request mirroring of a route. `url` is a template: an http(s) URL whose written host (a DNS name or an IPv4 address,
 * lowercase, optional port) no variable can change, its path and query possibly holding `$request_uri`,
 * `$escaped_request_uri`, `$host`, `$http_host` or `$scheme`, computed per request by the Lua action. */
export interface MirrorPolicy {
  url: string;
  /** The mirrored request's Host header: mirror-host, else the URL's host without port. */
  host: string;
  /** mirror-request-body: the body goes too (when announced and small enough). */
  body: boolean;
}

/**
 * Basic authentication of a route (`auth-type: basic`, `auth-secret`, `auth-secret-type`, `auth-realm`), with the
 * Secret's content as translate read it. A route whose Secret is missing or unreadable has no `auth` but
 * `refuseAll` (it fails closed, as ingress-nginx denies the location).
 */
export interface BasicAuth {
  /** `auth-type: digest`: HTTP digest authentication (RFC 7616, MD5, qop=auth), `users` holding htdigest's HA1. */
  scheme?: 'digest';
  /** `auth-realm`: ingress-nginx's grammar (letters, digits, space, `-._~/:`), empty by default. */
  realm: string;
  /** The Secret, namespace/name. */
  secret: string;
  /** [user, htpasswd hash (digest: HA1, lowercase hex)] by user name; users whose line was refused are left out. */
  users: [user: string, hash: string][];
}

/**
 * Which requests of a route go to a canary Ingress's backend instead of the route's: the header decides first, then
 * the cookie, then a draw of `weight` out of `weightTotal` (ingress-nginx's balancer.lua order).
 */
export interface CanaryPolicy {
  /** Name of a backend in `RoutingModel.backends`: the canary's Service port, spoken to with the route's protocol. */
  backend: string;
  /** The canary Ingress, namespace/name. */
  ingress: string;
  /** `canary-by-header` (lowercase), with `canary-by-header-value` (exact) or `-pattern` (a regex searched for); with
   * neither, `always` and `never` decide. */
  header?: { name: string; value?: string; pattern?: string };
  /** `canary-by-cookie` (lowercase; matched in any case): `always` and `never` decide. */
  cookie?: string;
  weight: number;
  /** At least 100 (ingress-nginx counts a smaller total as 100). */
  weightTotal: number;
}

/**
 * What the snippet annotations' header directives do to a route's requests and responses, by lowercase header name
 * (a name that passed src/translate/annotations/snippets.ts's grammar: letters, digits, `-`, `_`). A name ending in
 * `*` (clears only) stands for every name that starts with what precedes it. Empty lists and maps are left out.
 * A value holding `$` is a template: text with nginx variables written `${name}` (lowercase, one of the snippet
 * grammar's SNIPPET_VARIABLES or `http_`/`cookie_`/`arg_<name>`), expanded per request; no other value holds `$`.
 */
export interface HeaderEdits {
  /** The request header the backend receives, replacing the client's (proxy_set_header, more_set_input_headers). */
  requestSet?: Record<string, string>;
  /** Request headers the backend does not receive (more_clear_input_headers, proxy_set_header with "" as value). */
  requestClear?: string[];
  /** Response headers set on every status, replacing the backend's (more_set_headers). */
  responseSet?: Record<string, string>;
  /** Response headers added on 200, 201, 204, 206, 301, 302, 303, 304, 307 and 308 only (add_header). */
  responseAdd?: Record<string, string>;
  /** Response headers added on every status (add_header ... always). */
  responseAddAlways?: Record<string, string>;
  /** Response headers removed (more_clear_headers, more_set_headers with an empty value). */
  responseClear?: string[];
}

/**
 * A snippet's `return`: `location` for 301, 302, 303, 307 and 308 (the Location header), `text` for another status
 * (the body), neither for an empty body. Code 444 closes the connection without an answer, as nginx does. A
 * `location` or `text` holding `$` is a template, as HeaderEdits' values are.
 */
export interface SnippetReturn {
  code: number;
  location?: string;
  text?: string;
}

/**
 * A route's rate limits (ingress-nginx's limit_req and limit_conn zones). At least one limit is set; absent: none.
 */
export interface RateLimitPolicy {
  /** The Ingress (`namespace/name`): its routes count a client's requests together, as its nginx zones do. */
  zone: string;
  /** Requests per second, with `rps × burstMultiplier` more at once. */
  rps?: number;
  /** Requests per minute, with `rpm × burstMultiplier` more at once. */
  rpm?: number;
  /** Requests in progress at once. */
  connections?: number;
  /** Set with `rps` or `rpm`. */
  burstMultiplier?: number;
  /** Clients in these CIDR blocks are neither limited nor counted. */
  allowlist: string[];
}

/**
 * A route's CORS settings, in canonical form: lists are comma-separated without spaces (the same list to a browser as
 * ingress-nginx's `GET, PUT`), origins lowercase.
 */
export interface CorsPolicy {
  /** `*`: any origin (and `Access-Control-Allow-Origin: *`); else `scheme://host[:port]`, `scheme://*.domain[:port]`
   * (exactly one label) or `null`. Empty: no origin is allowed (an invalid `cors-allow-origin`). */
  origins: '*' | string[];
  methods: string;
  headers: string;
  /** Absent: no Access-Control-Expose-Headers. */
  exposeHeaders?: string;
  credentials: boolean;
  maxAgeSeconds: number;
}

/** What a matched request is sent to. */
export interface RouteTarget {
  /** Name of a backend in `RoutingModel.backends`. */
  backend: string;
  policy: RoutePolicy;
  source: RouteSource | { ingress: string; defaultBackend: true };
}

export interface PathRoute extends RouteTarget {
  path: string;
  pathType: PathType;
}

/** A path of a host whose paths are regular expressions (`use-regex`, `rewrite-target`; src/translate/routes.ts). */
export interface RegexRoute extends PathRoute {
  /** What the request path must match from its start, case-insensitively: the path as written (it passed
   * src/translate/path-regex.ts), or, for a path of an Ingress without those annotations, that path as literal text. */
  pattern: string;
}

/**
 * All rules sharing one host key (rule H5): an exact host `foo.com`, a wildcard `*.foo.com`, or `*` for rules with
 * no host. Exact paths are matched first; among prefixes the longest trimmed prefix wins (rule P10), which is
 * exactly one entry per `matchPrefix` after translate resolved ties.
 */
export interface HostGroup {
  key: string;
  exact: PathRoute[];
  /** `matchPrefix` is the trimmed prefix (rule P5) followed by `/`: a request path r matches iff `r + "/"` starts with it. */
  prefix: (PathRoute & { matchPrefix: string })[];
  defaultBackend?: RouteTarget;
  /** Set when some Ingress on the host has `use-regex` or `rewrite-target`: every path of the host is here instead of
   * in `exact` and `prefix` (both empty), in the order they are tried, the first match winning. */
  regex?: RegexRoute[];
  /** `server-alias` of the oldest Ingress on the host that has one: more host names routed as this one, none of them
   * another group's key or alias. */
  aliases?: string[];
  /** `from-to-www-redirect`: the host's other name (`www.` added or removed), whose requests are redirected here (308);
   * no group's key or alias. */
  wwwRedirectFrom?: string;
  /** `app-root` of the oldest Ingress on the host that has one: a request for `/` is redirected here (302). */
  appRoot?: string;
  /** Set when the host is listed in some owned Ingress's tls block: its HTTPS responses carry HSTS. */
  tlsHost?: true;
  /** `auth-tls-secret` of the oldest Ingress on the host that has one, with a usable CA and a verify mode other than
   * `off`: the host's SNI line (and its aliases') asks clients for a certificate of this CA. */
  clientAuth?: { ca: CaFile; depth: number };
  /** `ssl-passthrough`: the TCP backend (BackendPolicy.passthrough) that TLS connections whose SNI is this host go to,
   * unterminated; `''`: none could be chosen (no `/` path, no default backend), and those connections are refused. */
  passthrough?: string;
  /** `ssl-ciphers` of the oldest Ingress on the host that has one: the OpenSSL cipher list (TLS 1.2 and below) of the
   * host's SNI line and its aliases'. */
  sslCiphers?: string;
}

export interface ServiceRef {
  namespace: string;
  service: string;
  /** Service port number or name, as written in the Ingress; 0: the Service's first port (default-backend). */
  port: number | string;
}

export interface Server {
  /** Stable name: derived from address and port so that runtime updates can address it. */
  name: string;
  address: string;
  port: number;
  /** False for a terminating-but-serving endpoint used only as a fallback (rule B12). */
  ready: boolean;
}

/**
 * How HAProxy speaks to a backend's endpoints (`backend-protocol`), other than plain HTTP/1: `https` is HTTP/1.1 over
 * TLS, `grpc` and `h2c` are HTTP/2 in clear text, `grpcs` is HTTP/2 over TLS. TLS to the backend verifies nothing and
 * sends no SNI, as ingress-nginx's defaults do, unless the proxy-ssl annotations say otherwise (BackendPolicy.tls).
 * `fcgi` is FastCGI (`proto fcgi`), always with `BackendPolicy.fastcgi`, the section's `fcgi-app`.
 */
export type BackendProtocol = 'https' | 'grpc' | 'grpcs' | 'h2c' | 'fcgi';

/**
 * What the Ingresses sending to a Service port ask of the connection to it: settings that live on HAProxy's `server`
 * lines (and so in every `add server` at runtime). Part of the backend's identity: Ingresses asking for different
 * settings on one Service port get a backend each (routes.ts `backendName`).
 */
export interface BackendPolicy {
  /** Absent: plain HTTP/1. */
  protocol?: BackendProtocol;
  /** Some route balances on an affinity cookie: a sticky section (`balance hash` on the cookie's key). */
  affinity?: true;
  /** `service-upstream`: one server, the Service's cluster IP and port, instead of its endpoints. */
  serviceUpstream?: true;
  /** `proxy-ssl-*`: how the TLS to an `https` or `grpcs` backend is checked and what it presents. */
  tls?: BackendTls;
  /** `proxy-connect-timeout` and `proxy-next-upstream*`: lines of the backend's own section (no spare has them). */
  retry?: RetryPolicy;
  /** `load-balance: ewma` and `upstream-hash-by`: the section's balance lines (no spare has them). Never with affinity,
   * whose cookie key decides the server (ingress-nginx's balancer does the same). */
  balance?: BalancePolicy;
  /** `ssl-passthrough`: a TCP section whose servers get the client's TLS connection as it is (nothing else set). */
  passthrough?: true;
  /** `backend-protocol: FCGI`: the `fcgi-app` the section uses (no spare has `use-fcgi-app`). Present exactly when
   * `protocol` is `fcgi`. */
  fastcgi?: FastCgiPolicy;
}

/**
 * What HAProxy's `fcgi-app` tells a FastCGI application beyond what it derives from the request
 * (src/translate/annotations/fastcgi.ts): a backend with one has a section of its own, written by a reload, named
 * with `_app<id>`, and backends with equal policies share one `fcgi-app` section.
 */
export interface FastCgiPolicy {
  /** Short hash of everything below: the suffix of the backend's name and of its fcgi-app's. */
  id: string;
  /** `fastcgi-index`: the file name appended to a path ending in `/` for SCRIPT_NAME and SCRIPT_FILENAME. */
  index?: string;
  /** Params to send as given (nginx's fastcgi_param lines from `fastcgi-params-configmap`, once ConfigMaps are
   * read), each name and value as the grammars of translate/annotations/fastcgi.ts passed them (render checks again). A
   * param named here replaces the one Portico or HAProxy would send under that name. */
  params: FastCgiParam[];
}

export interface FastCgiParam {
  name: string;
  value: string;
}

/** nginx variables `upstream-hash-by` may name, each rendered from a fixed HAProxy sample (render.ts `HASH_SAMPLES`);
 * `http`, `cookie` and `arg` take a name (nginx's `$http_<name>`, `$cookie_<name>`, `$arg_<name>`). */
export type HashVariable = 'request_uri' | 'uri' | 'args' | 'host' | 'remote_addr' | 'binary_remote_addr' | 'request_method' | 'http' | 'cookie' | 'arg';

/** One part of an `upstream-hash-by` expression: literal text (letters, digits, `-` and `_`) or a variable. */
export type HashKeyPart = { text: string } | { variable: HashVariable; name?: string };

/**
 * How a backend picks a server (src/translate/annotations/balance.ts), other than round robin: a backend with one has
 * a section of its own, written by a reload, named with `_lb<id>`.
 */
export interface BalancePolicy {
  /** Short hash of everything below: the suffix of the backend's name. */
  id: string;
  /** `leastconn`: `load-balance: ewma`; `hash`: a consistent hash of `key` (`upstream-hash-by`). */
  algorithm: 'leastconn' | 'hash';
  /** With `hash`: the parsed expression, at least one variable. */
  key?: HashKeyPart[];
}

/**
 * How a backend connects and retries (src/translate/annotations/retries.ts), as HAProxy section lines: a backend with
 * one has a section of its own, written by a reload, named with `_retry<id>`.
 */
export interface RetryPolicy {
  /** Short hash of everything below: the suffix of the backend's name. */
  id: string;
  /** `timeout connect`, seconds; absent: the `--upstream-connect-timeout` of every section. */
  connectSeconds?: number;
  /** `retries`: attempts after the first. */
  retries: number;
  /** `retry-on` keywords and status codes, in HAProxy's spelling; `['none']`: never retry. */
  retryOn: string[];
  /** Without `non_idempotent`: requests with POST, LOCK or PATCH are retried only when the connection failed. */
  idempotentOnly: boolean;
}

/**
 * TLS to a backend as the `proxy-ssl-*` annotations ask for it (src/translate/annotations/proxy-ssl.ts). Files are
 * named by the SHA-256 of what they hold, so a rotated CA or client certificate is another file and another backend
 * (`BackendTls.id`): a server never changes what it trusts or presents under one name.
 */
export type BackendTls =
  | {
      /** Short hash of everything below: the suffix of the backend's and its servers' names. */
      id: string;
      /** `proxy-ssl-verify: on`: the backend's certificate must chain to `ca`. */
      verify: boolean;
      /** `proxy-ssl-verify-depth` (0 counts as 1); kept in the model, HAProxy 2.6 has no server setting for it. */
      depth: number;
      /** `ca.crt` of the Secret, re-encoded; absent when the Secret has none (nothing is then verified). */
      ca?: { sha256: string; pem: string };
      /** `tls.crt` + `tls.key`, re-encoded (leaf, chain, key): the client certificate the backend is shown. */
      cert?: { sha256: string; pem: string };
      /** `proxy-ssl-name`: the name the backend's certificate must hold (with verify), and the SNI (with serverName). */
      name?: string;
      serverName: boolean;
      /** `proxy-ssl-protocols`, lowest and highest, when the Secret has a CA (as ingress-nginx's template writes them). */
      minVersion?: 'TLSv1.2' | 'TLSv1.3';
      maxVersion?: 'TLSv1.2' | 'TLSv1.3';
      /** `proxy-ssl-ciphers` (OpenSSL cipher list, TLS 1.2 and below), when the Secret has a CA. */
      ciphers?: string;
    }
  /** The Secret is missing, in another namespace or unusable: the backend answers 503 (ingress-nginx denies the location). */
  | { id: 'refused'; refused: string };

export interface Backend {
  /** HAProxy backend name: a validated token built from namespace, service, port and (unless plain HTTP) protocol. */
  name: string;
  ref: ServiceRef;
  /** Absent: plain HTTP/1, as ingress-nginx's default `backend-protocol: HTTP`. */
  policy?: BackendPolicy;
  /** Why the backend answers 503, when it does (rules B3, B13). */
  unavailable?: string;
  servers: Server[];
  /** ExternalName Services are dialled by DNS name (rule B15). */
  externalName?: { host: string; port: number };
}

export interface Certificate {
  /** File-safe id `namespace_name` (both validated DNS names). */
  id: string;
  secret: string; // namespace/name
  /** Leaf first, then chain, then key: re-encoded by Portico, never copied from the Secret byte for byte. */
  pem: string;
  dnsNames: string[];
  /** The leaf's validity (ISO 8601). Expired or not-yet-valid certificates are served and reported (certificate-validity.ts). */
  notBefore: string;
  notAfter: string;
  sha256: string;
}

export interface SniBinding {
  /** Exact host or `*.wildcard` host the certificate is bound to. */
  host: string;
  /** Certificate.id, or `default` (DEFAULT_CERTIFICATE_ID) for a host that needs a line of its own for client
   * authentication but has no certificate: the listener's default certificate. */
  certificate: string;
  /** The handshake asks for a client certificate of this CA (CaFile.id), verified with HAProxy's `verify optional`;
   * the request rules decide what a missing or bad one gets. */
  clientAuth?: { ca: string; depth: number };
  /** The host's OpenSSL cipher list for TLS 1.2 and below (`ssl-ciphers`), a crt-list option. */
  ciphers?: string;
}

/** SniBinding.certificate of a line that serves the listener's default certificate (never a Secret's id, which holds `_`). */
export const DEFAULT_CERTIFICATE_ID = 'default';

export interface IngressSummary {
  ingress: string;
  owned: boolean;
  valid: boolean;
  /** Class resolution outcome (rules C1-C9). */
  classReason: string;
}

export interface RoutingModel {
  hostGroups: HostGroup[];
  /** Rule-less Ingress defaultBackend: traffic that matches no host group (rules D1, D2, D5). */
  catchAll?: RouteTarget;
  backends: Backend[];
  certificates: Certificate[];
  /** SNI name -> certificate, with rule T4's steps 1-3 already resolved; anything else gets the default certificate. */
  sni: SniBinding[];
  /** Certificate id from `--default-ssl-certificate`; absent means Portico's generated self-signed one (T4 step 4). */
  defaultCertificate?: string;
  ingresses: IngressSummary[];
  /** The `--configmap` ConfigMap's settings (src/translate/settings/): absent when it sets none. */
  global?: GlobalSettings;
}

/**
 * Controller-wide settings read from ingress-nginx's keys in the `--configmap` ConfigMap: only the keys it sets with a
 * valid value. A key left unset keeps the value of Portico's flag of the same name (or Portico's default), so render
 * merges the two (render.ts `withGlobalSettings`). Every field passed its key's grammar.
 */
/** The settings ConfigMap's access-log keys: read by Portico's access log (src/accesslog/), never by HAProxy. */
export interface AccessLogSettings {
  /** `disable-access-log`, `disable-http-access-log`: no access log line at all. */
  disabled?: boolean;
  /** `skip-access-log-urls`: request URIs (path and query, as sent) left out, exactly as written. */
  skipUrls?: string[];
  /** `enable-access-log-for-default-backend`: log the requests no route matched. */
  defaultBackend?: boolean;
}

export interface GlobalSettings {
  /** The access log's keys (AccessLogSettings): a change is never a reload. */
  accessLog?: AccessLogSettings;
  /** `hsts`, `hsts-max-age`, `hsts-include-subdomains`, `hsts-preload`. */
  hsts?: boolean;
  hstsMaxAge?: number;
  hstsIncludeSubdomains?: boolean;
  hstsPreload?: boolean;
  /** `ssl-protocols`: the lowest and highest TLS version the HTTPS listener accepts. */
  tlsVersions?: { min: 'TLSv1.2' | 'TLSv1.3'; max: 'TLSv1.2' | 'TLSv1.3' };
  /** `ssl-ciphers`, in OpenSSL's syntax (checked by OpenSSL when read). */
  sslCiphers?: string;
  /** `proxy-body-size` in bytes (0: no limit); a route's annotation overrides it. */
  maxBodyBytes?: number;
  /** Seconds: `client-header-timeout`, `client-body-timeout`, `keep-alive`, `proxy-connect-timeout`, and HAProxy's one
   * server-side inactivity timeout from `proxy-read-timeout` and `proxy-send-timeout` (the larger). */
  clientHeaderTimeout?: number;
  clientBodyTimeout?: number;
  keepAlive?: number;
  connectTimeout?: number;
  serverTimeout?: number;
  /** `worker-shutdown-timeout`: seconds the workers of a replaced configuration may keep serving. */
  workerShutdownTimeout?: number;
  /** `limit-req-status-code`, `limit-conn-status-code`: the status of a request over a rate or connection limit. */
  limitReqStatus?: number;
  limitConnStatus?: number;
  /** `server-tokens`: true, responses without a Server header get `Server: portico`; false, they get none. */
  serverTokens?: boolean;
  /** `allow-backend-server-header`: with `server-tokens: false`, a backend's own Server header is kept. */
  allowBackendServerHeader?: boolean;
  /** `ssl-redirect`, `force-ssl-redirect`: the defaults of the annotations of the same names (rule T9). */
  sslRedirect?: boolean;
  forceSslRedirect?: boolean;
  /** `http-redirect-code`: the status of rule T9's redirect to HTTPS. */
  httpRedirectCode?: 301 | 302 | 307 | 308;
  // Client addresses (settings/client-address.ts, render/client-address.ts).
  /** `use-forwarded-headers`: the client from a trusted proxy's forwarded-for header, and X-Forwarded-Proto, -Port and
   * -Host passed from it. */
  useForwardedHeaders?: boolean;
  /** `enable-real-ip`: the client from a trusted proxy's forwarded-for header, the other forwarded headers replaced. */
  enableRealIp?: boolean;
  /** `forwarded-for-header`, lowercase: where a trusted proxy names the client. */
  forwardedForHeader?: string;
  /** `proxy-real-ip-cidr`, canonical CIDR blocks: the peers trusted to name the client. */
  proxyRealIpCidr?: string[];
  /** `compute-full-forwarded-for`: a trusted peer's X-Forwarded-For is appended to, not replaced. */
  computeFullForwardedFor?: boolean;
  /** `use-proxy-protocol`: the listeners take only connections that start with a PROXY header. */
  useProxyProtocol?: boolean;

  // Access, controller-wide (src/translate/settings/access.ts).
  /** `block-cidrs`: CIDR blocks (canonical, `address/bits`) whose clients get 403 on every request. */
  blockCidrs?: string[];
  /** `block-user-agents`, `block-referers`: PCRE2 patterns matched against the request's first User-Agent or Referer
   * header (a plain string entry became an anchored, case-insensitive pattern of its escaped text); a match gets 403. */
  blockUserAgents?: string[];
  blockReferers?: string[];
  /** `whitelist-source-range`, `denylist-source-range`: the defaults of the annotations of the same names, each
   * replaced by an Ingress's own; `refuse`: the value was refused, and routes without their own list answer 503. */
  allowSourceRange?: string[] | 'refuse';
  denySourceRange?: string[] | 'refuse';
  /** `global-auth-*`: external authentication of every route without its own auth-url (unless `enable-global-auth`
   * is false). Only the keys set; `refused`: a key that fails closed had a bad value. */
  globalAuth?: GlobalAuthSettings;
  /** `no-auth-locations`: Ingress paths starting with one of these get no external authentication. Unset:
   * `/.well-known/acme-challenge`. */
  noAuthLocations?: string[];

  // HTTP and TLS tuning (translate/settings/http.ts, tls-tuning.ts; render/global-http.ts).
  /** `add-headers`, `proxy-set-headers`: the ConfigMap (`namespace/name`) each names, and the headers read from it
   * (lowercase name -> value; `${name}` is an nginx variable, expanded per request; empty removes the header). */
  addHeadersConfigMap?: string;
  addHeaders?: Record<string, string>;
  proxySetHeadersConfigMap?: string;
  proxySetHeaders?: Record<string, string>;
  /** `hide-headers`: lowercase names removed from backends' responses. */
  hideHeaders?: string[];
  /** `use-http2`: false, ALPN offers http/1.1 only. */
  http2?: boolean;
  /** `enable-underscores-in-headers`, `ignore-invalid-headers`: request headers named with `_` are removed unless the
   * first is true or the second false. */
  underscoresInHeaders?: boolean;
  ignoreInvalidHeaders?: boolean;
  /** `large-client-header-buffers`: bytes of request line and headers (number times size). */
  headerBytes?: number;
  /** `http2-max-concurrent-streams`. */
  http2MaxConcurrentStreams?: number;
  /** `load-balance`: the default of the annotation of the same name (travels through the routes, not the text). */
  loadBalance?: 'round_robin' | 'ewma';
  /** `upstream-keepalive-connections`: false (`0`), backend connections are never reused. */
  upstreamKeepalive?: boolean;
  /** `max-worker-connections` (above 0): HAProxy's maxconn. */
  maxConnections?: number;
  /** `ssl-session-cache`, `ssl-session-cache-size` (in sessions), `ssl-session-timeout` (seconds). */
  sslSessionCache?: boolean;
  sslSessionCacheSessions?: number;
  sslSessionTimeout?: number;
  /** `ssl-ecdh-curve` other than `auto`: OpenSSL group names joined by `:`. */
  sslCurves?: string;
  /** `ssl-dh-param`: the Secret (`namespace/name`) it names, and its parameters as PEM, once they passed the checks. */
  sslDhParamSecret?: string;
  sslDhParam?: string;

  // Compression, listeners and the defaults of route annotations (settings/compression.ts, listeners.ts,
  // route-defaults.ts).
  /** `use-gzip`: responses of the listed types are gzip-compressed for clients that accept it. */
  gzip?: boolean;
  /** `gzip-types`: the MIME types compressed (lowercase, text/html always among them); `any`: nginx's `*`. */
  gzipTypes?: string[] | 'any';
  /** `disable-ipv6`: true, the listeners bind no IPv6 address, whatever --ipv6 found. */
  disableIpv6?: boolean;
  /** `worker-processes` as a number: HAProxy's threads (`auto` leaves the --threads value). */
  threads?: number;
  /** `generate-request-id`: false, a request without X-Request-ID gets none. */
  generateRequestId?: boolean;
  /** `proxy-add-original-uri-header`: requests reach backends with X-Original-URI (the URI as the client sent it). */
  addOriginalUri?: boolean;
  /**
   * ConfigMap keys that are the defaults of the route annotations of the same names, by name: the value as written,
   * which passed the annotation's own grammar. An Ingress's own annotation wins. Routes carry them (map updates),
   * never the configuration text.
   */
  annotationDefaults?: Record<string, string>;
  /** `global-allowed-response-headers`, lowercase: the only names a custom-headers ConfigMap may set; unset: any. */
  allowedResponseHeaders?: string[];
  /** `no-tls-redirect-locations`: Ingress paths starting with one of these are never redirected to HTTPS. */
  noTlsRedirectLocations?: string[];
  /** `retry-non-idempotent`: every route's proxy-next-upstream gets `non_idempotent` (routes, not text). */
  retryNonIdempotent?: boolean;
}

/** The `global-auth-*` keys, as read (src/translate/settings/access.ts). */
export interface GlobalAuthSettings {
  url?: string;
  method?: ExternalAuthPolicy['method'];
  signin?: string;
  signinRedirectParam?: string;
  responseHeaders?: string[];
  requestRedirect?: string;
  cacheKey?: string;
  cacheDurations?: { statuses: number[]; seconds: number }[];
  alwaysSetCookie?: boolean;
  /** global-auth-snippet's proxy_set_header: lowercase name -> value, as auth-snippet's. */
  requestHeaders?: [name: string, value: string][];
  /** The keys that fail closed and had a bad value: every route global authentication covers answers 503. */
  refused?: string[];
}

export interface TranslateResult {
  model: RoutingModel;
  diagnostics: Diagnostic[];
}
