// The edge: what HAProxy enforces on every client before a request is routed. Request hygiene (a path routed in its
// normalised form only, ambiguous paths refused, hop-by-hop and smuggling headers removed), the fair share of
// connections between clients, and the TLS settings of the HTTPS listener (the body limit has a module of its own,
// body-limit.ts).
//
// Every rule here runs on every request, so each is written to cost (almost) nothing on a plain one: the work sits
// behind two cheap gates, one on the path and one on the header block, and a plain request only pays for the gates
// and for one variable test per gated rule (bench/README.md lists what each costs).
import type { BodyLimitSettings } from './body-limit.js';

/** What the edge rules need to know; render refuses values outside the grammars below. */
export interface EdgeSettings extends BodyLimitSettings {
  /** Keep `%2F` in paths (encoded, never decoded) instead of answering 400. */
  allowEncodedSlashes: boolean;
  /** Per client address: concurrent connections and new connections per second over 10 s; 0: no limit. */
  perClient: { connections: number; ratePerSecond: number };
  /** With this many client connections open, every response says `Connection: close`, so that no connection idles
   * on a slot another client needs. */
  closeIdleAbove: number;
  /** The Strict-Transport-Security header sent on HTTPS responses for TLS hosts. */
  hsts: HstsSettings;
  tls: { minVersion: string; maxVersion: string; ciphers: string };
  /** Request headers named with `_` reach backends (the settings' enable-underscores-in-headers, or
   * ignore-invalid-headers false); absent or false, they are removed, as nginx ignores them by default. */
  keepUnderscoreHeaders?: boolean;
}

export interface HstsSettings {
  enabled: boolean;
  /** Seconds. */
  maxAge: number;
  includeSubdomains: boolean;
  preload: boolean;
}

/** The Strict-Transport-Security value, or undefined when it is off. */
export function hstsValue(h: HstsSettings): string | undefined {
  if (!h.enabled) return undefined;
  return `max-age=${assertInt(h.maxAge, 'HSTS max-age')}${h.includeSubdomains ? '; includeSubDomains' : ''}${h.preload ? '; preload' : ''}`;
}

/** Name of the table that counts each client address's connections. */
export const PER_CLIENT_TABLE = 'per_client';

const TLS_VERSION = /^TLSv1\.[23]$/;
const CIPHERS = /^[A-Za-z0-9_:+!@=.-]{1,2000}$/;
const HSTS = /^max-age=\d{1,10}(; includeSubDomains)?(; preload)?$/;

/** A whole number of at least `min`, or render refuses it (fail closed). */
export function assertInt(n: number, what: string, min = 0): number {
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`render: refusing ${what} ${n}`);
  return n;
}

/** Lines of the global section: TLS versions and ciphers of every listener. */
export function globalTlsLines(e: EdgeSettings): string[] {
  const { minVersion, maxVersion, ciphers } = e.tls;
  if (!TLS_VERSION.test(minVersion) || !TLS_VERSION.test(maxVersion)) throw new Error(`render: refusing TLS versions ${minVersion}-${maxVersion}`);
  if (!CIPHERS.test(ciphers)) throw new Error(`render: refusing cipher list ${JSON.stringify(ciphers)}`);
  return [
    `ssl-default-bind-ciphers ${ciphers}`,
    // Session tickets stay off as in ingress-nginx: a ticket key that never rotates would undo forward secrecy.
    `ssl-default-bind-options ssl-min-ver ${minVersion} ssl-max-ver ${maxVersion} no-tls-tickets`,
  ];
}

/** Both per-client limits, each checked on its own: a bad rate must not pass because the connection limit is set. */
function checkedPerClient(e: EdgeSettings): EdgeSettings['perClient'] {
  const { connections, ratePerSecond } = e.perClient;
  return { connections: assertInt(connections, 'per-client connections'), ratePerSecond: assertInt(ratePerSecond, 'per-client rate') };
}

/** A table section for the per-client counters, or nothing when no per-client limit is set. */
export function perClientTable(e: EdgeSettings, maxConnections: number): string[] {
  const { connections, ratePerSecond } = checkedPerClient(e);
  if (connections === 0 && ratePerSecond === 0) return [];
  // One entry per client address currently connected (or seen within the rate period): maxconn bounds the first
  // kind; the rest expire. IPv4 clients are stored as IPv4-mapped IPv6 addresses.
  const size = Math.max(1000, 4 * assertInt(maxConnections, 'maxconn', 1));
  return [`backend ${PER_CLIENT_TABLE}`, `  stick-table type ipv6 size ${size} expire 10s store conn_cur,conn_rate(10s)`];
}

/** tcp-request rules at the start of the frontend: a client over its share of connections is refused at accept. */
export function connectionRules(e: EdgeSettings): string[] {
  const { connections, ratePerSecond } = checkedPerClient(e);
  if (connections === 0 && ratePerSecond === 0) return [];
  // Portico's own listener probes (every second, from loopback) must never be counted, let alone refused.
  const lines = [`tcp-request connection track-sc0 src table ${PER_CLIENT_TABLE} unless { src 127.0.0.1 ::1 }`];
  // conn_cur includes the connection being accepted; an untracked connection has no sc0 and passes.
  if (connections > 0) lines.push(`tcp-request connection reject if { sc0_conn_cur gt ${connections} }`);
  if (ratePerSecond > 0) lines.push(`tcp-request connection reject if { sc0_conn_rate gt ${ratePerSecond * 10} }`);
  return lines;
}

// A path needs normalising when it holds a `%`, a character outside RFC 3986's path characters, an empty segment or
// a segment that starts with a dot; a plain path skips every rule below. `\x27` is the apostrophe, which the
// configuration's single quotes cannot hold.
const UNUSUAL_PATH = String.raw`'[^-A-Za-z0-9._~!$&\x27()*+,;=:@/]|//|/\.'`;
/** Header values with control characters (tab aside; CR and LF end lines in the header block). */
const CONTROL_CHARS = String.raw`[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]`;
/** Header blocks that need a closer look: no Host at all; hop-by-hop and smuggling-prone headers; header names with
 * an underscore; control characters; and a body announced or chunked, which the body limit's rules (body-limit.ts)
 * look at behind this same gate. The lazy scan for `host:` stops at the first header, where clients put it. */
const UNUSUAL_HEADERS = (underscores: boolean): string =>
  String.raw`'(?im)\A(?![\s\S]*?^host:)|^(content-length|transfer-encoding|connection|upgrade|http2-settings|forwarded|proxy-connection|keep-alive${underscores ? String.raw`|[^:]*_[^:]*` : ''}):|${CONTROL_CHARS}'`;
/** True when the header gate found something to look at (set by requestHygieneRules' second rule). */
export const HEADER_GATE = '{ var(txn.odd_headers) -m bool }';
/** Characters HAProxy lets through raw but RFC 3986 keeps out of paths: routed (and forwarded) percent-encoded, as
 * Portico encodes them in Ingress paths. Each is named by its code in the regex, so no quote reaches the parser. */
const ENCODE_IN_PATH: [code: string, encoded: string][] = [
  ['22', '%22'],
  ['3c', '%3C'],
  ['3e', '%3E'],
  ['5b', '%5B'],
  ['5d', '%5D'],
  ['5e', '%5E'],
  ['60', '%60'],
  ['7b', '%7B'],
  ['7c', '%7C'],
  ['7d', '%7D'],
];

/**
 * Request hygiene, before any routing. The path is routed (and forwarded) in the canonical form Portico's translate
 * gives Ingress paths (src/translate/path-canonical.ts; docs/rules.md): percent-encoded unreserved characters
 * decoded, other percent-encodings in uppercase, runs of `/` merged, dot segments removed (nginx's order: slashes
 * first), the characters RFC 3986 keeps out of paths percent-encoded. Forms that backends read in different ways get
 * 400: an encoded `/` (unless allowed) or `\`, a literal `\`, an encoded NUL, and `;` parameters on a dot segment,
 * judged before decoding so that encoded dots count too. `normalize-uri` is HAProxy's own implementation (marked
 * experimental in 2.6: see docs/architecture.md); test/e2e/edge-requests.test.ts holds it to translate's definition.
 *
 * Every 400 comes from one rule, and each gated rule costs a plain request one variable test (about 230 of HAProxy's
 * instructions), which is why the checks are folded together.
 */
export function requestHygieneRules(e: EdgeSettings): string[] {
  const odd = '{ var(txn.odd_path) -m bool }';
  const hx = HEADER_GATE;
  const dot = String.raw`(\.|%2e)`;
  const ambiguous = [...(e.allowEncodedSlashes ? [] : ['%2f']), '%5c', '%00', String.raw`\\`, `/${dot}{1,2}(;|%3b)`].join('|');
  const encode = ENCODE_IN_PATH.map(([code, enc]) => String.raw`regsub(\\x${code},${enc},g)`).join(',');
  return [
    `http-request set-var(txn.odd_path) bool(true) if { path -m reg ${UNUSUAL_PATH} }`,
    // One scan of the header block decides whether any header rule below has work to do.
    `http-request set-var(txn.odd_headers) bool(true) if { req.hdrs -m reg ${UNUSUAL_HEADERS(e.keepUnderscoreHeaders !== true)} }`,
    // HTTP/1.1 (and HTTP/2) requests must name a Host; only HTTP/1.0 may leave it out.
    `http-request deny deny_status 400 if ${odd} { path -m reg -i '${ambiguous}' } or ${hx} { req.hdrs -m reg '${CONTROL_CHARS}' } or ${hx} !{ req.hdr(host) -m found } !{ req.ver 1.0 }`,
    `http-request normalize-uri percent-decode-unreserved strict if ${odd}`,
    `http-request normalize-uri percent-to-uppercase strict if ${odd}`,
    `http-request normalize-uri path-merge-slashes if ${odd}`,
    `http-request normalize-uri path-strip-dot if ${odd}`,
    `http-request normalize-uri path-strip-dotdot full if ${odd}`,
    `http-request set-path '%[path,${encode}]' if ${odd} { path -m reg '[\\x22<>^\\x60{|}\\x5b\\x5d]' }`,
    // A client's Forwarded header would pass for Portico's own (RFC 7239 readers prefer it to X-Forwarded-*), and
    // HTTP2-Settings only serves an h2c upgrade; underscores in header names are dropped as nginx drops them
    // (`X_Forwarded_For` reads as X-Forwarded-For in CGI-style backends).
    // Connection goes too: headers a client names in it could be dropped by a proxy behind Portico, X-Forwarded-For
    // among them (HAProxy has read what it says about keep-alive already). One rule for all: each costs a request.
    `http-request del-header ^(connection|forwarded|http2-settings|proxy-connection|keep-alive${e.keepUnderscoreHeaders === true ? '' : '|[^_]*_.*'})$ -m reg if ${hx}`,
    // Only a WebSocket upgrade passes: an h2c (or any other) upgrade would turn the connection into a tunnel that
    // carries requests no rule ever sees.
    `http-request del-header upgrade if ${hx} !{ req.fhdr(upgrade) -i websocket } or ${hx} { req.fhdr_cnt(upgrade) gt 1 }`,
    `http-request set-header Connection upgrade if ${hx} { req.fhdr(upgrade) -m found }`,
  ];
}

/** Response rules: on HTTPS, HSTS for hosts listed in a tls block (route flag `s`); `Connection: close` under
 * connection pressure. The pressure is judged per listener (`fe_conn` is the frontend's own count): when the
 * connections of one listener alone pass the threshold. */
export function responseEdgeRules(e: EdgeSettings, tls: boolean): string[] {
  const lines: string[] = [];
  const hsts = hstsValue(e.hsts);
  if (hsts !== undefined && tls) {
    if (!HSTS.test(hsts)) throw new Error(`render: refusing HSTS value ${JSON.stringify(hsts)}`);
    lines.push(`http-after-response set-header Strict-Transport-Security "${hsts}" if { var(txn.route) -m sub s| }`);
  }
  lines.push(`http-after-response set-header Connection close if { fe_conn gt ${assertInt(e.closeIdleAbove, 'idle-close threshold', 1)} }`);
  return lines;
}
