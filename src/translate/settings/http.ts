// HTTP, controller-wide: the header ConfigMaps (add-headers, proxy-set-headers), hide-headers, which header names
// are let through, the header buffers, HTTP/2, keep-alive with clients and backends, the load-balance default and the
// connection limit. Header names and values never reach the configuration text from here: names pass the snippet
// annotations' grammar (render writes one rule per name), values are map data (render/global-http.ts).
import { bool, integer, quote, size, trimSpaces } from '../annotations/values.js';
import type { ValueGrammar } from '../annotations/values.js';
import { loadBalance } from '../annotations/balance.js';
import { headerNameOf } from '../annotations/snippets.js';
import { setting } from './registry.js';

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const K8S_NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `namespace/name` of a ConfigMap. ingress-nginx looks the value up as a store key, so a bare name finds nothing
 * there; it is refused here rather than guessed. */
export const namespacedName: ValueGrammar<string> = {
  describe: 'namespace/name of a ConfigMap',
  parse: (raw) => {
    const v = trimSpaces(raw);
    const [ns, name, extra] = v.split('/');
    if (extra !== undefined || ns === undefined || name === undefined || !K8S_NAMESPACE.test(ns) || !K8S_NAME.test(name)) return { ok: false, reason: `${quote(raw)} is not namespace/name of a ConfigMap (ingress-nginx finds none by a bare name either)` };
    return { ok: true, value: `${ns}/${name}` };
  },
};

/** Most names hide-headers lists: each is a rule on every response. */
export const MAX_HIDDEN_HEADERS = 32;

/** ingress-nginx's comma-separated list of names (spaces around commas trimmed, empty items dropped). */
const headerNames: ValueGrammar<string[]> = {
  describe: `header names separated by commas (at most ${MAX_HIDDEN_HEADERS})`,
  parse: (raw) => {
    if (raw.length > 8192) return { ok: false, reason: `${quote(raw)} is longer than 8192 characters` };
    const names: string[] = [];
    for (const item of raw.split(',').map(trimSpaces).filter((s) => s !== '')) {
      const n = headerNameOf(item);
      if (!n.ok) return { ok: false, reason: n.reason };
      if (!names.includes(n.value)) names.push(n.value);
    }
    if (names.length === 0) return { ok: false, reason: `${quote(raw)} names no header` };
    if (names.length > MAX_HIDDEN_HEADERS) return { ok: false, reason: `${quote(raw)} names more than ${MAX_HIDDEN_HEADERS} headers` };
    return { ok: true, value: names };
  },
};

/** The most header bytes a request may carry: HAProxy allocates buffers of this size (and 1 KiB more, for its own
 * rewrites) for every stream, so a larger value would cost memory on every connection. */
export const MAX_HEADER_BYTES = 256 * 1024;
/** What HAProxy's default buffer (16 KiB, less 1 KiB kept for rewrites) already holds: a smaller limit needs no line. */
export const DEFAULT_HEADER_BYTES = 15 * 1024;

interface HeaderBuffers {
  number: number;
  size: number;
}

/** nginx's large_client_header_buffers: `<number> <size>`, such as `4 8k`. */
const headerBuffers: ValueGrammar<HeaderBuffers> = {
  describe: 'a number of buffers and an nginx size, such as "4 8k"',
  parse: (raw) => {
    const m = /^ *(\d{1,4}) +(\d{1,9}[kKmM]?) *$/.exec(raw);
    const each = m ? size(MAX_HEADER_BYTES).parse(m[2]!) : undefined;
    const number = m ? Number(m[1]) : 0;
    if (!m || !each?.ok || number < 1 || each.value < 1) return { ok: false, reason: `${quote(raw)} is not ${headerBuffers.describe}` };
    if (number * each.value > MAX_HEADER_BYTES) return { ok: false, reason: `${quote(raw)} allows ${number * each.value} bytes of headers, more than ${MAX_HEADER_BYTES} (HAProxy gives every stream buffers of that size)` };
    return { ok: true, value: { number, size: each.value } };
  },
};

const anySize = size(2 ** 30);

const KEPT_ALIVE = 'HAProxy 2.6 has no limit on the requests of one client connection: it stays open until it idles for `keep-alive` seconds, or the client or a reload closes it.';
const HTTP2_OBSOLETE = 'nginx 1.19.7 made this directive obsolete (ingress-nginx deprecated the key): the headers of an HTTP/2 request are held to the same limit as HTTP/1\'s, `large-client-header-buffers`.';
const UPSTREAM_POOL =
  "HAProxy keeps idle backend connections in a pool per server, shared by every client (`http-reuse safe`), with no count, age or request limit of its own that a dynamically added server would follow: idle ones are closed when the backend closes them or HAProxy's purge (every 5 s, half of those unused since the last) finds them idle.";

export const HTTP_SETTINGS = [
  setting({
    key: 'add-headers',
    grammar: namespacedName,
    set: (s, key) => (s.addHeadersConfigMap = key),
    doc: {
      default: '',
      what:
        'A ConfigMap (`namespace/name`) whose `data` are response headers: each key a header name, its value the text (nginx variables among `$scheme`, `$server_port`, `$remote_addr`, `$host`, `$http_host`, `$request_uri`, `$uri`, `$args`, `$query_string`, `$request_method`, `$request_id`, `$http_<name>`, `$cookie_<name>`, `$arg_<name>` expanded from the request), set on every response, HAProxy\'s own answers included, before the routes\' custom-headers and snippet headers (which replace it for one name). An empty value removes the header, and a header whose variables all came out empty is not sent, as nginx does. The ConfigMap is watched: a change to it applies as a change of this key does.',
      differences:
        "A key that is not a header name Portico writes (letters, digits, `-` and `_`; never Content-Length, Transfer-Encoding, Connection, Keep-Alive, Proxy-Connection, Upgrade, TE, Trailer or `x-portico-*`), a value longer than 1,024 characters or not printable ASCII, a variable outside that list, and entries past 32 are left out with a warning on the ConfigMap (rule add-headers), where ingress-nginx writes them into nginx's configuration (and a bad one fails its reload for everyone). A bare name is refused (G1): ingress-nginx finds no ConfigMap by one either. Names are sent lowercase.",
      live: 'reload',
    },
  }),
  setting({
    key: 'proxy-set-headers',
    grammar: namespacedName,
    set: (s, key) => (s.proxySetHeadersConfigMap = key),
    doc: {
      default: '',
      what:
        "A ConfigMap (`namespace/name`) whose `data` are request headers sent to every backend: each key a header name, its value the text, with the nginx variables `add-headers` expands; it replaces what the client sent under that name, and runs before the routes' own request headers (snippet `proxy_set_header`, `upstream-vhost`), which replace it for one name. An empty value removes the header (the client's too), and so does a value whose variables all came out empty, as nginx sends no empty header. The ConfigMap is watched.",
      differences: 'The same limits as `add-headers` (rule proxy-set-headers); Portico sets one header per name where nginx sends a second line for a name it also sets itself (X-Forwarded-For, say), so a ConfigMap entry for one of Portico\'s forwarding headers replaces it.',
      live: 'reload',
    },
  }),
  setting({
    key: 'hide-headers',
    grammar: headerNames,
    set: (s, names) => (s.hideHeaders = names),
    doc: { default: '', what: "Response headers removed from every backend's response before it reaches the client (nginx's proxy_hide_header); HAProxy's own answers keep theirs.", differences: `Names as \`add-headers\`'s keys, at most ${MAX_HIDDEN_HEADERS}; one that is not is refused (G1) with the whole list.`, live: 'reload' },
  }),
  setting({
    key: 'use-http2',
    grammar: bool,
    set: (s, b) => (s.http2 = b),
    doc: { default: 'true', what: '`false`: the HTTPS listener offers `http/1.1` only in ALPN, so clients speak HTTP/1.1; `true`: `h2` and `http/1.1`. Plain HTTP never speaks HTTP/2 (no h2c upgrade), as in ingress-nginx.', live: 'reload' },
  }),
  setting({
    key: 'enable-underscores-in-headers',
    grammar: bool,
    set: (s, b) => (s.underscoresInHeaders = b),
    doc: {
      default: 'false',
      what: '`false`: a request header whose name holds `_` is removed before the request is routed, as nginx ignores it (`X_Forwarded_For` would read as X-Forwarded-For in CGI-style backends); `true`: it reaches the backend.',
      live: 'reload',
    },
  }),
  setting({
    key: 'ignore-invalid-headers',
    grammar: bool,
    set: (s, b) => (s.ignoreInvalidHeaders = b),
    notes: (b) => (b ? [] : ["ignore-invalid-headers \"false\": only names with `_` now reach the backend; HAProxy still answers 400 to a name that is not an RFC 9110 token (`@`, a space), where nginx would pass it"]),
    doc: {
      default: 'true',
      what: 'With `true` (and `enable-underscores-in-headers` false), request headers with `_` in their names are removed; `false` lets them through, as nginx does.',
      differences:
        'HAProxy 2.6 answers 400 to a header name that is not an RFC 9110 token (holding `@`, `(`, a space...), with either value, where nginx ignores the header (true) or passes it (false); a token with characters nginx counts invalid (`.`, `~`, `!`...) reaches the backend, where nginx (true) drops it.',
      live: 'reload',
    },
  }),
  setting({
    key: 'large-client-header-buffers',
    grammar: headerBuffers,
    set: (s, b) => (s.headerBytes = b.number * b.size),
    notes: (b) => (b.number * b.size < DEFAULT_HEADER_BYTES ? [`a limit of ${b.number * b.size} bytes is not enforced: HAProxy's buffer holds ${DEFAULT_HEADER_BYTES} bytes of request line and headers at least`] : []),
    doc: {
      default: 'HAProxy\'s (about 15 KiB)',
      what: `The most bytes of request line and headers a request may have (the number of buffers times their size, at most ${MAX_HEADER_BYTES}); a larger request gets 400, as from nginx. Above 15 KiB HAProxy's buffers (\`tune.bufsize\`) grow to hold it, for every stream.`,
      differences: 'The limit is on the whole header block: nginx also refuses one line longer than one buffer (414 for the request line). A limit below 15 KiB is not enforced (G4). HAProxy also refuses more than 101 header lines with 400.',
      live: 'reload',
    },
  }),
  setting({
    key: 'client-header-buffer-size',
    grammar: anySize,
    set: () => undefined,
    doc: { default: '1k', what: 'Read and checked.', noEffect: "nginx's first buffer for a request's headers: a larger request moves to `large-client-header-buffers`, which is the limit; HAProxy reads every request into one buffer.", live: 'none' },
  }),
  setting({
    key: 'http2-max-concurrent-streams',
    grammar: integer(1, 10_000),
    set: (s, n) => (s.http2MaxConcurrentStreams = n),
    doc: { default: "HAProxy's (100)", what: 'The most streams an HTTP/2 client may have open on one connection (`tune.h2.max-concurrent-streams`).', differences: "unset, HAProxy's 100 applies where ingress-nginx's default is 128.", live: 'reload' },
  }),
  setting({
    key: 'http2-max-field-size',
    grammar: anySize,
    set: () => undefined,
    doc: { default: '', what: 'Read and checked.', noEffect: HTTP2_OBSOLETE, live: 'none' },
  }),
  setting({
    key: 'http2-max-header-size',
    grammar: anySize,
    set: () => undefined,
    doc: { default: '', what: 'Read and checked.', noEffect: HTTP2_OBSOLETE, live: 'none' },
  }),
  setting({
    key: 'http2-max-requests',
    grammar: integer(0, 2 ** 31 - 1),
    set: () => undefined,
    notes: (n) => (n > 0 ? ['HAProxy 2.6 has no limit on the streams of one HTTP/2 connection (tune.h2.fe.max-total-streams came in 2.8): connections are not closed after this many requests'] : []),
    doc: { default: '0', what: 'Read and checked.', noEffect: 'nginx 1.19.7 made this directive obsolete (`keep-alive-requests` applies to HTTP/2 too), and HAProxy 2.6 has no such limit.', live: 'none' },
  }),
  setting({
    key: 'keep-alive-requests',
    grammar: integer(0, 2 ** 31 - 1),
    set: () => undefined,
    notes: () => [KEPT_ALIVE],
    doc: { default: '', what: 'Read and checked.', differences: KEPT_ALIVE, live: 'none' },
  }),
  setting({
    key: 'load-balance',
    grammar: loadBalance,
    set: (s, w) => (s.loadBalance = w),
    doc: {
      default: 'round_robin',
      what: 'The default of the `load-balance` annotation for every Ingress without one: `ewma` is HAProxy\'s `leastconn` (docs/annotations.md). An Ingress\'s annotation, `upstream-hash-by` or affinity wins over it.',
      differences:
        "as the annotation's: with `ewma` each Service port gets a backend section of its own (`..._lb<id>`), so a Service no route used before takes a reload (no spare section carries these lines).",
      live: 'routes',
    },
  }),
  setting({
    key: 'upstream-keepalive-connections',
    grammar: integer(0, 1_000_000),
    set: (s, n) => (s.upstreamKeepalive = n > 0),
    doc: { default: '320', what: '`0`: no backend connection is reused (`http-reuse never`): every request opens one. Above 0, connections are reused as HAProxy\'s pool allows.', differences: UPSTREAM_POOL, live: 'reload' },
  }),
  setting({
    key: 'upstream-keepalive-timeout',
    grammar: integer(0, 2_147_483),
    set: () => undefined,
    doc: { default: '60', what: 'Read and checked.', noEffect: UPSTREAM_POOL, live: 'none' },
  }),
  setting({
    key: 'upstream-keepalive-time',
    grammar: { describe: 'an nginx time such as 1h', parse: (raw) => (/^\d{1,9}(ms|s|m|h|d)?$/.test(raw) ? { ok: true, value: raw } : { ok: false, reason: `${quote(raw)} is not an nginx time such as 1h` }) },
    set: () => undefined,
    doc: { default: '1h', what: 'Read and checked.', noEffect: UPSTREAM_POOL, live: 'none' },
  }),
  setting({
    key: 'upstream-keepalive-requests',
    grammar: integer(0, 2 ** 31 - 1),
    set: () => undefined,
    doc: { default: '10000', what: 'Read and checked.', noEffect: UPSTREAM_POOL, live: 'none' },
  }),
  setting({
    key: 'max-worker-connections',
    grammar: integer(0, 9000),
    set: (s, n) => {
      if (n > 0) s.maxConnections = n;
    },
    doc: {
      default: '`--max-connections`',
      what: "The most client connections HAProxy holds at once (`maxconn`; connections past it wait in the kernel's queue); responses say `Connection: close` from 90% of it. `0` (nginx: from the open-file limit) keeps the flag's value.",
      differences: "nginx's value is per worker process and counts backend connections too; HAProxy's is for the whole process and counts clients only. At most 9000, as the flag. The per-client share (`--max-connections-per-client auto`) stays computed from the flag.",
      live: 'reload',
    },
  }),
];

