// The line HAProxy writes for each request, shared by render (which writes the log-format) and the parser (which
// reads it): one JSON object per line whose string values are either base64 (everything a client can send: the
// request line, Host, User-Agent, X-Request-ID, SNI) or tokens Portico or HAProxy made (section and server names,
// addresses, the route's value, the TLS version, the termination state). Base64 rather than the `json` converter:
// no client byte can end a string or the line, and the worst case grows by a third instead of sixfold (`\u00XX`), so
// the longest line (a 1,024-byte request line, the HAProxy default that bounds the method and URI captures, and three
// 256-byte headers) stays under HAPROXY_LINE_MAX, the ring's longest message: no line is ever truncated into
// something that is not JSON.

/** The route-value flag of a route whose requests stay out of the access log (enable-access-log: "false"). */
export const QUIET_ROUTE_FLAG = 'q';

/** Captured headers, in the order of their `capture request header` lines (their slots in `capture.req.hdr`). */
export const CAPTURED_HEADERS = [
  ['Host', 256],
  ['User-Agent', 256],
] as const;
/** The slot of X-Request-ID's capture, which follows the header captures: it is taken after Portico set the header. */
export const REQUEST_ID_SLOT = CAPTURED_HEADERS.length;
export const REQUEST_ID_CAPTURE_LEN = 128;

type Kind = 'number' | 'base64' | 'token';
/**
 * Key in HAProxy's line, log-format expression, and how the value is written. Each field costs HAProxy a few hundred
 * instructions per request, so what Portico can work out itself is left out: the scheme (a TLS version means HTTPS),
 * the section (the route value's second field), the endpoint (the server's address in the model, by its name). The
 * client is `sess.client`, the text the frontend made once per connection (and again after a trusted proxy's
 * set-src), instead of %ci, which formats the address anew: 2,200 instructions fewer.
 */
const FIELDS: readonly (readonly [key: string, expr: string, kind: Kind])[] = [
  ['k', '%pid.%rt', 'token'],
  ['t', '%Ts%ms', 'number'],
  ['ci', '%[var(sess.client)]', 'token'],
  ['m', '%[capture.req.method,base64]', 'base64'],
  ['u', '%[capture.req.uri,base64]', 'base64'],
  ['v', '%[capture.req.ver,base64]', 'base64'],
  ['h', '%[capture.req.hdr(0),base64]', 'base64'],
  ['ua', '%[capture.req.hdr(1),base64]', 'base64'],
  ['id', `%[capture.req.hdr(${REQUEST_ID_SLOT}),base64]`, 'base64'],
  ['st', '%ST', 'number'],
  ['bi', '%U', 'number'],
  ['bo', '%B', 'number'],
  ['tc', '%Tc', 'number'],
  ['tr', '%Tr', 'number'],
  // %Td: the response's body after its headers (so the backend's whole answer is Tr + Td); %Ta: the request from its
  // first byte to the response's last, which is nginx's $request_time. Not %Tt, which also counts the idle time of a
  // kept-alive connection before the request.
  ['td', '%Td', 'number'],
  ['ta', '%Ta', 'number'],
  ['r', '%[var(txn.route)]', 'token'],
  ['s', '%s', 'token'],
  ['tls', '%sslv', 'token'],
  ['sni', '%[ssl_fc_sni,base64]', 'base64'],
  ['ts', '%tsc', 'token'],
];

export const WIRE_KEYS: ReadonlyMap<string, Kind> = new Map(FIELDS.map(([k, , kind]) => [k, kind]));

/** The `log-format` argument (quoted for HAProxy's configuration parser: `"` and `\` escaped). */
export function haproxyLogFormat(): string {
  const body = FIELDS.map(([k, expr, kind]) => (kind === 'number' ? `"${k}":${expr}` : `"${k}":"${expr}"`)).join(',');
  return `"${`{${body}}`.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The longest line HAProxy may write (its `len`): above every line the fields above can make. */
export const HAPROXY_LINE_MAX = 4096;
