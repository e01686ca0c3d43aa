// Who the client is, when the settings ConfigMap says Portico stands behind proxies (use-proxy-protocol,
// use-forwarded-headers, enable-real-ip; src/translate/settings/client-address.ts): the PROXY header on the
// listeners, nginx's realip walk through a trusted proxy's forwarded-for header, and the forwarded headers a trusted
// proxy may set. None of it is written while those keys are off: a plain configuration keeps its one
// `sess.client` per connection and its constant forwarded headers (render.ts).
//
// The walk ends in `http-request set-src`, which HAProxy applies to the request's stream only: everything after it
// (access lists' `src`, rate limits' `sess.client`, Lua's `txn.f:src()`, the backends' `src` hash) reads the
// resolved client, as everything in nginx reads $remote_addr after its realip module, and the next request on the
// same connection starts again from the peer.
import { isIP } from 'node:net';
import type { GlobalSettings } from '../../model/types.js';

/** The client-address settings render needs, resolved from the ConfigMap's keys as ingress-nginx combines them. */
export interface ClientAddress {
  /** Connections start with a PROXY header (use-proxy-protocol). */
  proxyProtocol: boolean;
  /** The header (lowercase) a trusted peer names the client in; undefined: the peer (or PROXY source) is the client. */
  header?: string;
  /** X-Forwarded-Proto, -Port and -Host from a trusted peer pass as sent (use-forwarded-headers). */
  forwardedHeaders: boolean;
  /** A trusted peer's X-Forwarded-For is appended to (compute-full-forwarded-for with use-forwarded-headers). */
  appendForwardedFor: boolean;
  /** proxy-real-ip-cidr: the peers trusted to name the client. */
  trusted: string[];
}

/** ingress-nginx's default for proxy-real-ip-cidr. */
const TRUST_ALL_IPV4 = ['0.0.0.0/0'];
const DEFAULT_HEADER = 'x-forwarded-for';
/** How many trusted proxies in a row the walk looks through (each costs two rules while the walk is on). */
export const REAL_IP_DEPTH = 5;
/** The trusted blocks, one a line: an ACL file, so that a long list never makes a line longer than HAProxy reads. */
export const TRUSTED_FILE = 'client-address/trusted.lst';

/** Whether and how the client address is taken from proxies, or undefined while every such key is off (or unset). */
export function clientAddressOf(g: GlobalSettings | undefined): ClientAddress | undefined {
  if (!g || !(g.useForwardedHeaders || g.enableRealIp || g.useProxyProtocol)) return undefined;
  const forwardedHeaders = g.useForwardedHeaders === true;
  const proxyProtocol = g.useProxyProtocol === true;
  // nginx's real_ip_header: with the PROXY protocol alone (enable-real-ip or not) the PROXY source; with
  // use-forwarded-headers, or enable-real-ip without the PROXY protocol, the forwarded-for header.
  const readsHeader = forwardedHeaders || (g.enableRealIp === true && !proxyProtocol);
  return {
    proxyProtocol,
    ...(readsHeader ? { header: g.forwardedForHeader ?? DEFAULT_HEADER } : {}),
    forwardedHeaders,
    appendForwardedFor: forwardedHeaders && g.computeFullForwardedFor === true,
    trusted: g.proxyRealIpCidr ?? TRUST_ALL_IPV4,
  };
}

const HEADER = /^[a-z][a-z0-9-]{0,63}$/;

function checkedHeader(h: string): string {
  if (!HEADER.test(h)) throw new Error(`render: refusing forwarded-for header ${JSON.stringify(h)}`);
  return h;
}

function checkedBlock(c: string): string {
  const [address = '', bits, extra] = c.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined || bits === undefined || !/^\d{1,3}$/.test(bits) || Number(bits) > (family === 6 ? 128 : 32)) throw new Error(`render: refusing trusted block ${JSON.stringify(c)}`);
  return c;
}

/** The files the rules read: the trusted blocks. */
export function clientAddressFiles(ca: ClientAddress | undefined): Map<string, string> {
  if (!ca) return new Map();
  return new Map([[TRUSTED_FILE, ca.trusted.map((c) => `${checkedBlock(c)}\n`).join('')]]);
}

/**
 * The tcp-request rules at the start of a listener (both, or ssl-passthrough's SNI listener), around the edge's
 * per-client connection rules (`perClient`). With the PROXY protocol, a connection must start with a PROXY header
 * (v1 or v2) or it is closed, except from `self` (HAProxy's own requests to its listeners: auth-url's `$host`),
 * which come from this host and never carry one. A connection rule sees the TCP peer, the only time HAProxy shows
 * it once the header has been read, so the peer is kept there; a peer outside the trusted blocks stays the client
 * whatever its header says (nginx's set_real_ip_from with real_ip_header proxy_protocol). The per-client limits move
 * to the session, so that they count clients and not the load balancer. Without the PROXY protocol: `perClient`.
 */
export function listenerRules(ca: ClientAddress | undefined, perClient: string[], dir: string, self: string[]): string[] {
  if (!ca?.proxyProtocol) return perClient;
  return [
    'tcp-request connection set-var(sess.peer) src',
    `tcp-request connection expect-proxy layer4 unless { src ${self.map(checkedAddress).join(' ')} }`,
    `tcp-request session set-src var(sess.peer) unless { var(sess.peer) -m ip -f ${dir}/${TRUSTED_FILE} }`,
    ...perClient.map((r) => {
      if (!r.startsWith('tcp-request connection ')) throw new Error(`render: refusing per-client rule ${JSON.stringify(r)}`);
      return `tcp-request session ${r.slice('tcp-request connection '.length)}`;
    }),
  ];
}

function checkedAddress(a: string): string {
  if (isIP(a) === 0) throw new Error(`render: refusing address ${JSON.stringify(a)}`);
  return a;
}

/**
 * The request rules that decide the client and the forwarded headers, in place of render.ts's constant ones. `port`
 * is the listener's; `tls` whether it terminates TLS.
 */
export function clientAddressRules(ca: ClientAddress, dir: string, tls: boolean, port: number): string[] {
  const trustedFile = `${dir}/${TRUSTED_FILE}`;
  const trusted = '{ var(txn.peer) -m found }';
  const rules: string[] = [];
  const readsPeer = ca.header !== undefined || ca.forwardedHeaders;
  // The peer as text, only when it is trusted: its presence is the trust test of every rule below.
  if (readsPeer) rules.push(`http-request set-var(txn.peer) src,lower if { src -f ${trustedFile} }`);
  if (ca.header !== undefined) {
    const h = checkedHeader(ca.header);
    // nginx's real_ip_recursive: the right-most address that is not itself trusted. Each level reads one address
    // further left, and only while the one before it was trusted and an address (hdr_ip yields nothing otherwise,
    // which ends the walk at the last trusted one, as nginx does); the deepest level reached is the client.
    for (let k = 1; k <= REAL_IP_DEPTH; k++) {
      const cond = k === 1 ? trusted : `{ var(txn.rip${k - 1}) -m ip -f ${trustedFile} }`;
      rules.push(`http-request set-var(txn.rip${k}) req.hdr_ip(${h},-${k}) if ${cond}`);
    }
    for (let k = 1; k <= REAL_IP_DEPTH; k++) rules.push(`http-request set-src var(txn.rip${k}) if { var(txn.rip${k}) -m found }`);
    // Every request: sess.client lives as long as the connection, and the next request may name another client.
    rules.push('http-request set-var(sess.client) src,lower');
  }
  if (!tls) {
    // The request reached the proxy in front over HTTPS: no redirect to HTTPS (rule T9), as ingress-nginx's
    // pass_access_scheme decides it.
    if (ca.forwardedHeaders) rules.push(`http-request set-var(txn.offloaded) bool(true) if ${trusted} { req.fhdr(x-forwarded-proto,1) -m found } !{ req.fhdr(x-forwarded-proto,1) -m str http }`);
    if (ca.proxyProtocol) rules.push('http-request set-var(txn.offloaded) bool(true) if { dst_port 443 }');
  }
  const sent = (name: string): string => (ca.forwardedHeaders ? ` unless ${trusted} { req.hdr(${name}) -m found }` : '');
  if (ca.appendForwardedFor) {
    rules.push(`http-request set-header X-Forwarded-For %[var(sess.client)] unless ${trusted}`);
    rules.push(`http-request add-header X-Forwarded-For %[var(txn.peer)] if ${trusted}`);
  } else {
    rules.push('http-request set-header X-Forwarded-For %[var(sess.client)]');
  }
  rules.push(`http-request set-header X-Forwarded-Proto ${tls ? 'https' : 'http'}${sent('x-forwarded-proto')}`);
  if (ca.proxyProtocol && !tls) rules.push('http-request set-header X-Forwarded-Proto https if { dst_port 443 }');
  if (ca.forwardedHeaders) rules.push(`http-request set-header X-Forwarded-Host %[req.hdr(x-forwarded-host,1)] if ${trusted} { req.hdr(x-forwarded-host) -m found }`);
  rules.push(`http-request set-header X-Forwarded-Host %[req.hdr(host)]${sent('x-forwarded-host')}`);
  rules.push(`http-request set-header X-Forwarded-Port ${ca.proxyProtocol ? '%[dst_port]' : checkedPort(port)}${sent('x-forwarded-port')}`);
  rules.push('http-request set-header X-Real-IP %[var(sess.client)]');
  return rules;
}

function checkedPort(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`render: refusing port ${n}`);
  return n;
}

/** The condition the redirect to HTTPS gets while a proxy in front may have terminated TLS. */
export function notOffloaded(ca: ClientAddress | undefined): string {
  return ca && (ca.forwardedHeaders || ca.proxyProtocol) ? ' !{ var(txn.offloaded) -m bool }' : '';
}
