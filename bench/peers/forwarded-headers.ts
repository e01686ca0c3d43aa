// The forwarding headers Portico sends on every request (spec rule X9, in ingress-nginx's default form), written for
// the hand-written HAProxy and for nginx, so that the peers compared with Portico can do the same work; and a check,
// through the running proxy, that the headers reach the backend with the values Portico gives them. A peer that
// claims the same work and fails the check is not measured: its numbers would compare unequal work.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';

/** A listener of the proxy: the headers' values depend on it (X-Forwarded-Proto, X-Forwarded-Port). */
export interface Listener {
  proto: 'http' | 'https';
  port: number;
}

/** The client's address as text, made once per connection and read by the headers that carry it: formatting it for
 * every request (`option forwardfor`, `%[src]`) costs about 1,100 instructions a header (`sprintf`, `inet_ntop`). */
const CLIENT_TEXT = 'tcp-request session set-var(sess.client) src,lower';

/**
 * The four headers rule X9 requires, in the cheapest form HAProxy 2.6 has: constants per listener (one frontend per
 * listener), the Host header copied as it came, and the client address added as a header line of its own after any
 * the client sent (as `option forwardfor` adds it; a backend reads it as the same list as one appended-to line).
 */
export function haproxyRequiredHeaders(l: Listener): string[] {
  return [
    CLIENT_TEXT,
    'http-request add-header X-Forwarded-For %[var(sess.client)]',
    `http-request set-header X-Forwarded-Proto ${l.proto}`,
    'http-request set-header X-Forwarded-Host %[req.hdr(host)]',
    `http-request set-header X-Forwarded-Port ${l.port}`,
  ];
}

/** The two X9 leaves optional and Portico sends, as ingress-nginx does; the X-Request-ID form is Portico's. */
export const HAPROXY_OPTIONAL_HEADERS = [
  'http-request set-header X-Real-IP %[var(sess.client)]',
  'http-request set-header X-Request-ID %[rand,hex,bytes(8,8),lower]%[rand,hex,bytes(8,8),lower]%[rand,hex,bytes(8,8),lower]%[rand,hex,bytes(8,8),lower] unless { req.hdr(x-request-id) -m found }',
];

/** Every header Portico sends, for a hand-written HAProxy frontend serving `l`. */
export function haproxySameWork(l: Listener): string[] {
  return [...haproxyRequiredHeaders(l), ...HAPROXY_OPTIONAL_HEADERS];
}

/**
 * The same headers as ingress-nginx's template sends them by default (http-block level, so every location inherits
 * them): X-Forwarded-For appended to the client's, the scheme and port of the listener, the Host header as sent
 * ($best_http_host), the client address, and the client's X-Request-ID or else nginx's own 32-hex-digit
 * $request_id (ingress-nginx's `$req_id` map).
 */
export const NGINX_SAME_WORK = `  map $http_x_request_id $req_id {
    default $http_x_request_id;
    "" $request_id;
  }
  proxy_set_header X-Request-ID $req_id;
  proxy_set_header X-Real-IP $remote_addr;
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Host $http_host;
  proxy_set_header X-Forwarded-Port $server_port;
  proxy_set_header X-Forwarded-Proto $scheme;`;

/** Path the origin answers with the forwarding headers it received (bench/peers/backend.ts). */
export const ECHO_PATH = '/__forwarded';

/** The origin's echo location: one `name=value` line per header, in nginx syntax. */
export const ORIGIN_ECHO_LOCATION = `location = ${ECHO_PATH} { default_type text/plain; return 200 "xff=$http_x_forwarded_for\\nxfp=$http_x_forwarded_proto\\nxfh=$http_x_forwarded_host\\nxfport=$http_x_forwarded_port\\nxrip=$http_x_real_ip\\nxrid=$http_x_request_id\\n"; }`;

const CLIENT_XFF = '203.0.113.7';
const CLIENT_REQUEST_ID = 'bench-self-check-0001';

/**
 * Sends requests through both listeners of a running proxy and throws, naming every header that did not arrive as
 * Portico sends it. The proxy must route `host`'s every path to the bench origin, and the client is 127.0.0.1.
 */
export async function checkForwardedHeaders(o: { peer: string; host: string; httpPort: number; httpsPort: number }): Promise<void> {
  const problems: string[] = [];
  for (const l of [
    { proto: 'http', port: o.httpPort },
    { proto: 'https', port: o.httpsPort },
  ] as Listener[]) {
    const plain = await echo(l, o.host, { 'x-forwarded-for': CLIENT_XFF });
    const again = await echo(l, o.host, {});
    const withId = await echo(l, o.host, { 'x-request-id': CLIENT_REQUEST_ID });
    const want: [string, string | RegExp][] = [
      ['xff', `${CLIENT_XFF}, 127.0.0.1`],
      ['xfp', l.proto],
      ['xfh', o.host],
      ['xfport', String(l.port)],
      ['xrip', '127.0.0.1'],
      ['xrid', /^[0-9a-f]{32}$/],
    ];
    for (const [k, v] of want) {
      const got = plain[k] ?? '';
      if (typeof v === 'string' ? got !== v : !v.test(got)) problems.push(`${l.proto}: ${k} is ${JSON.stringify(got)}, want ${String(v)}`);
    }
    if (again.xff !== '127.0.0.1') problems.push(`${l.proto}: without a client X-Forwarded-For, xff is ${JSON.stringify(again.xff)}, want "127.0.0.1"`);
    if (again.xrid === plain.xrid) problems.push(`${l.proto}: two requests got the same X-Request-ID ${JSON.stringify(plain.xrid)}`);
    if (withId.xrid !== CLIENT_REQUEST_ID) problems.push(`${l.proto}: the client's X-Request-ID arrived as ${JSON.stringify(withId.xrid)}`);
  }
  if (problems.length > 0) throw new Error(`${o.peer} does not send the forwarding headers Portico sends: ${problems.join('; ')}`);
}

/** One GET of the echo path; the headers as the origin saw them. */
function echo(l: Listener, host: string, headers: Record<string, string>): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port: l.port, path: ECHO_PATH, agent: false as const, headers: { ...headers, host, connection: 'close' }, timeout: 5000 };
    const onResponse = (res: IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${l.proto}://${host}${ECHO_PATH} answered ${res.statusCode}: ${body.slice(0, 200)}`));
        resolve(Object.fromEntries(body.split('\n').flatMap((line) => (line.includes('=') ? [[line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]] : []))));
      });
    };
    const req = l.proto === 'https' ? httpsRequest({ ...opts, servername: host, rejectUnauthorized: false }, onResponse) : httpRequest(opts, onResponse);
    req.on('timeout', () => req.destroy(new Error(`GET ${l.proto}://${host}${ECHO_PATH}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}
