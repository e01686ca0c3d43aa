// Who the client is: ingress-nginx's realip keys (use-forwarded-headers, enable-real-ip, forwarded-for-header,
// proxy-real-ip-cidr), its PROXY protocol listeners (use-proxy-protocol) and what it forwards from a trusted proxy
// (compute-full-forwarded-for). The render side is src/haproxy/render/client-address.ts.
import { bool, cidrList, quote } from '../annotations/values.js';
import type { ValueGrammar } from '../annotations/values.js';
import { setting } from './registry.js';

/** Headers the forwarded-for header may not be: Portico drops or rewrites them before any rule could read them
 * (edge.ts's hygiene), or they frame the request. */
const NOT_AN_ADDRESS_HEADER = new Set(['host', 'connection', 'forwarded', 'keep-alive', 'proxy-connection', 'http2-settings', 'upgrade', 'content-length', 'transfer-encoding']);

/** A header name as nginx's real_ip_header takes one: letters, digits and `-` (a name with `_` never reaches
 * Portico's rules: the edge drops such headers, as nginx does), lowercased. */
const addressHeader: ValueGrammar<string> = {
  describe: 'an HTTP header name of letters, digits and -, such as X-Forwarded-For',
  parse: (raw) => {
    const name = raw.toLowerCase();
    if (!/^[a-z][a-z0-9-]{0,63}$/.test(name)) return { ok: false, reason: `${quote(raw)} is not a header name of letters, digits and - (at most 64)` };
    if (NOT_AN_ADDRESS_HEADER.has(name)) return { ok: false, reason: `${quote(raw)} cannot carry the client address: Portico drops or rewrites that header before reading it` };
    return { ok: true, value: name };
  },
};

/** At most this many trusted blocks: more is not a list of proxies but a mistake (or an attack on the parser). */
const MAX_TRUSTED = 1000;
const trustedList: ValueGrammar<string[]> = {
  describe: `a comma-separated list of at most ${MAX_TRUSTED} IP addresses or CIDR blocks`,
  parse: (raw) => {
    if (raw.length > MAX_TRUSTED * 50) return { ok: false, reason: `the list is longer than ${MAX_TRUSTED * 50} characters` };
    // cidrList trims each item with String.trim, which would let a line break pass around an address.
    if (/[^\x20-\x7e]/.test(raw)) return { ok: false, reason: `${quote(raw)} holds a character other than printable ASCII` };
    const parsed = cidrList.parse(raw);
    if (parsed.ok && parsed.value.length > MAX_TRUSTED) return { ok: false, reason: `more than ${MAX_TRUSTED} blocks` };
    return parsed;
  },
};

/** ingress-nginx's ProxyProtocolHeaderTimeout is a Go duration (time.ParseDuration); only its form is checked. */
const goDuration: ValueGrammar<string> = {
  describe: 'a Go duration such as 5s or 1m',
  parse: (raw) => (/^((\d{1,9}(\.\d{1,9})?)(ns|us|µs|ms|s|m|h)){1,6}$/.test(raw) ? { ok: true, value: raw } : { ok: false, reason: `${quote(raw)} is not a duration such as 5s or 1m` }),
};

const TRUST =
  'A request\'s client is its peer (the TCP peer, or the PROXY header\'s source); while that peer is within `proxy-real-ip-cidr`, it is the right-most address of `forwarded-for-header` that is not itself within it (nginx\'s real_ip_recursive), up to 5 trusted proxies in a row. Access lists (`whitelist-source-range`, `denylist-source-range`), rate limits, X-Real-IP, X-Forwarded-For (the client alone, replacing what was sent, unless `compute-full-forwarded-for`), `upstream-hash-by $remote_addr` and the nginx variable `$remote_addr` all read that client.';
const DEPTH = 'The walk through trusted addresses stops after 5 of them (the fifth from the right is then the client), where nginx walks the whole list; an element that is not an IP address ends the walk at the last trusted one, as in nginx. The per-client connection limits of the edge (`--max-connections-per-client`) count the peer, never a header.';

export const CLIENT_ADDRESS_SETTINGS = [
  setting({
    key: 'use-forwarded-headers',
    grammar: bool,
    set: (s, b) => (s.useForwardedHeaders = b),
    doc: {
      default: 'false',
      what: `\`true\`: Portico stands behind proxies it trusts (\`proxy-real-ip-cidr\`). ${TRUST} From such a peer, X-Forwarded-Proto and X-Forwarded-Port pass to the backend as sent, X-Forwarded-Host as the first host it lists, and a plain-HTTP request whose X-Forwarded-Proto is not \`http\` is not redirected to HTTPS (the proxy terminated TLS).`,
      differences: `ingress-nginx passes X-Forwarded-Proto, -Port and -Host from every client; Portico only from a peer within \`proxy-real-ip-cidr\` (from any other they are replaced, as without the key). With the default \`0.0.0.0/0\` every IPv4 peer is trusted in both, so a client can name any address it likes: set \`proxy-real-ip-cidr\` to the proxies' addresses. The Host sent to the backend stays the request's own, where ingress-nginx sends X-Forwarded-Host's. ${DEPTH}`,
      live: 'reload',
    },
  }),
  setting({
    key: 'enable-real-ip',
    grammar: bool,
    set: (s, b) => (s.enableRealIp = b),
    doc: {
      default: 'false',
      what: `\`true\`: the client address comes from \`forwarded-for-header\` as with \`use-forwarded-headers\`, without passing the other forwarded headers. ${TRUST}`,
      differences: DEPTH,
      live: 'reload',
    },
  }),
  setting({
    key: 'forwarded-for-header',
    grammar: addressHeader,
    set: (s, h) => (s.forwardedForHeader = h),
    doc: { default: 'X-Forwarded-For', what: 'The header a trusted proxy names the client in (comma-separated addresses, the nearest last), read with `use-forwarded-headers` or `enable-real-ip`.', differences: 'headers Portico drops or rewrites before reading it (Host, Forwarded, Connection, ...) and names with `_` are refused (G1).', live: 'reload' },
  }),
  setting({
    key: 'proxy-real-ip-cidr',
    grammar: trustedList,
    set: (s, l) => (s.proxyRealIpCidr = l),
    doc: {
      default: '0.0.0.0/0',
      what: 'The proxies Portico trusts: a peer within these blocks may name the client (its `forwarded-for-header`, or with `use-proxy-protocol` its PROXY header) and, with `use-forwarded-headers`, the scheme, port and host. Any other peer is the client itself and its forwarded headers are replaced.',
      differences: 'an untrusted peer\'s X-Forwarded-Proto, -Port and -Host are replaced (ingress-nginx passes anyone\'s with `use-forwarded-headers`), and with `compute-full-forwarded-for` its X-Forwarded-For too (ingress-nginx appends to it). As in nginx, the default trusts no IPv6 peer. With both `use-proxy-protocol` and `use-forwarded-headers`, a trusted PROXY source that sends no X-Forwarded-For is the client, where ingress-nginx falls back to the load balancer\'s own address.',
      live: 'reload',
    },
  }),
  setting({
    key: 'compute-full-forwarded-for',
    grammar: bool,
    set: (s, b) => (s.computeFullForwardedFor = b),
    doc: {
      default: 'false',
      what: 'With `use-forwarded-headers`: a trusted peer\'s X-Forwarded-For reaches the backend with the peer\'s address appended (a header line of its own), instead of being replaced by the client address. Without `use-forwarded-headers` it does nothing, as in ingress-nginx.',
      differences: "an untrusted peer's X-Forwarded-For is replaced by the client address, never appended to.",
      live: 'reload',
    },
  }),
  setting({
    key: 'use-proxy-protocol',
    grammar: bool,
    set: (s, b) => (s.useProxyProtocol = b),
    doc: {
      default: 'false',
      what: '`true`: both listeners (and the ssl-passthrough listener) take only connections that start with a PROXY protocol header (v1 or v2), as a load balancer in front sends it; any other connection is closed. A peer within `proxy-real-ip-cidr` names the client with it (the source is then the client for everything: access lists, rate limits, per-client connection limits, X-Forwarded-For, X-Real-IP); X-Forwarded-Port is the header\'s destination port, and a plain-HTTP request that reached the load balancer on port 443 counts as HTTPS (X-Forwarded-Proto, no redirect), as in ingress-nginx.',
      differences: 'connections from 127.0.0.1, ::1 and `--bind-address` need no header: HAProxy\'s own requests to its listeners (auth-url\'s `$host`) come from there and carry none. A connection that sends no header is closed after `--client-timeout` (`proxy-protocol-header-timeout` cannot be honoured on HAProxy 2.6). The edge\'s per-client connection limits count the PROXY source (checked once the header arrived, not at accept). X-Forwarded-For is the client alone, as in ingress-nginx, where Portico without the key appends the peer to what the client sent.',
      live: 'reload',
    },
  }),
  setting({
    key: 'proxy-protocol-header-timeout',
    grammar: goDuration,
    set: () => undefined,
    notes: () => ["HAProxy 2.6 has no timeout of its own for the PROXY header: a connection that sends none is closed after the client timeout (`--client-timeout`)"],
    doc: { default: '5s', what: 'Read and checked.', differences: "HAProxy 2.6 has no timeout of its own for the PROXY header: a connection that sends none is closed after the client timeout (`--client-timeout`), which also bounds every other wait for the client.", live: 'none' },
  }),
  setting({
    key: 'forwarded-for-proxy-protocol-header',
    grammar: addressHeader,
    set: () => undefined,
    doc: { default: 'X-Forwarded-For-Proxy-Protocol', what: 'Read and checked.', noEffect: "ingress-nginx needs this intermediate header to combine the PROXY header with `use-forwarded-headers`; Portico reads the two in order (the PROXY source first, then the trusted proxies' `forwarded-for-header`) and sends no such header.", live: 'none' },
  }),
];
