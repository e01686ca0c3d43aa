// TLS from HAProxy to an HTTPS or GRPCS backend: the proxy-ssl-* annotations, as ingress-nginx's proxyssl parser
// (internal/ingress/annotations/proxyssl) reads them and its template writes them per location (proxy_ssl_*). They are
// settings of HAProxy's `server` lines, so they belong to the backend (BackendPolicy.tls): Ingresses that send to one
// Service port with different settings get a backend each.
import { secretNameGrammar } from './auth-basic.js';
import { annotation } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { integer, quote } from './values.js';
import type { Parsed, ValueGrammar } from './values.js';

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** ingress-nginx's `^(on|off)$`: lower case, nothing around. */
export const onOff: ValueGrammar<boolean> = {
  describe: '`on` or `off`',
  parse: (raw) => (raw === 'on' ? ok(true) : raw === 'off' ? ok(false) : fail(`${quote(raw)} is not on or off`)),
};

/** A DNS name (what a certificate's name and an SNI can be): labels of letters, digits and `-`, at most 253. */
export const SERVER_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
export const serverNameGrammar: ValueGrammar<string> = {
  describe: 'a DNS name',
  parse: (raw) => {
    const v = raw.trim().toLowerCase();
    return SERVER_NAME.test(v) ? ok(v) : fail(`${quote(raw)} is not a DNS name`);
  },
};

/** ingress-nginx's `^(TLSv1\.2|TLSv1\.3| )*$`, sorted; nothing but spaces is its default, TLSv1.2. */
export const protocolsGrammar: ValueGrammar<('TLSv1.2' | 'TLSv1.3')[]> = {
  describe: '`TLSv1.2` and/or `TLSv1.3`, separated by spaces',
  parse: (raw) => {
    if (!/^(TLSv1\.2|TLSv1\.3| )*$/.test(raw)) return fail(`${quote(raw)} holds something other than TLSv1.2, TLSv1.3 and spaces`);
    const words = [...new Set(raw.split(' ').filter((w) => w !== ''))].sort() as ('TLSv1.2' | 'TLSv1.3')[];
    return ok(words.length === 0 ? ['TLSv1.2'] : words);
  },
};

/** ingress-nginx's `^[A-Za-z0-9\+:\_\-!]*$` (an OpenSSL cipher list), not empty, at most 1,024 characters. */
export const CIPHERS = /^[A-Za-z0-9+:_\-!]{1,1024}$/;
export const ciphersGrammar: ValueGrammar<string> = {
  describe: 'an OpenSSL cipher list (letters, digits and +:_-!)',
  parse: (raw) => (CIPHERS.test(raw) ? ok(raw) : fail(`${quote(raw)} holds something other than letters, digits and +:_-! (or is empty)`)),
};

const ONLY_TLS = 'It applies only to paths with backend-protocol HTTPS or GRPCS (nginx uses it only for https:// upstreams), and only with `proxy-ssl-secret`, as in ingress-nginx.';

export const PROXY_SSL_ANNOTATIONS = [
  annotation({
    name: 'proxy-ssl-secret',
    scope: 'backend',
    grammar: secretNameGrammar,
    set: (v, x) => (v.proxySslSecret = x),
    invalid: { means: 'the paths answer 503 (ingress-nginx denies the location)', set: (v: AnnotationValues) => (v.proxySslSecret = 'invalid') },
    doc: {
      default: 'none: TLS to the backend verifies nothing and presents no certificate',
      what:
        "The Secret (`namespace/name`, in the Ingress's namespace) holding `ca.crt`, the CA certificates that verify the backend (with `proxy-ssl-verify: on`), and/or `tls.crt` and `tls.key`, the client certificate HAProxy presents to the backend. " +
        ONLY_TLS +
        ' Every other proxy-ssl annotation needs it. A Secret that is missing, in another namespace, or with neither a usable `ca.crt` nor a usable `tls.crt`/`tls.key` makes the paths answer 503, as ingress-nginx denies the location. ' +
        'Live: the files are written by Portico from the parsed certificates and named by their hash; a new or rotated Secret is a new backend section bound to a spare at runtime (`new ssl ca-file`, `new ssl cert`, `add server ... ca-file ... crt ...`), no reload.',
      differences: 'a plain `name` is taken in the Ingress\'s namespace (ingress-nginx wants `namespace/name`); a Secret in another namespace is always refused (ingress-nginx allows it with `allow-cross-namespace-resources`). `ca.crl` is not used (nor does ingress-nginx for backends).',
    },
  }),
  annotation({
    name: 'proxy-ssl-verify',
    scope: 'backend',
    grammar: onOff,
    set: (v, x) => (v.proxySslVerify = x),
    invalid: { means: 'the default, off, applies', set: (v: AnnotationValues) => (v.proxySslVerify = false) },
    doc: {
      default: '`off`',
      what: "`on`: the backend's certificate must chain to the Secret's `ca.crt` (HAProxy `verify required ca-file`), and hold `proxy-ssl-name` when it is set; otherwise the request gets 502. " + ONLY_TLS,
      differences: "without `proxy-ssl-name` only the chain is verified; nginx checks the certificate against its upstream's name (`upstream_balancer`), which a backend's certificate rarely holds. `on` with a Secret that has no `ca.crt` verifies nothing, as nginx's template then writes no proxy_ssl_verify.",
    },
  }),
  annotation({
    name: 'proxy-ssl-verify-depth',
    scope: 'backend',
    grammar: integer(0, 100),
    set: (v, x) => (v.proxySslVerifyDepth = x),
    doc: {
      default: '1',
      what: "The longest chain accepted between the backend's certificate and the CA (0 counts as 1, as in ingress-nginx).",
      differences: "HAProxy 2.6 has no verify depth for servers: the value is kept in the model, but chains are verified with OpenSSL's default depth (100).",
    },
  }),
  annotation({
    name: 'proxy-ssl-name',
    scope: 'backend',
    grammar: serverNameGrammar,
    set: (v, x) => (v.proxySslName = x),
    doc: {
      default: 'none',
      what: "The name the backend's certificate must hold when `proxy-ssl-verify` is on (HAProxy `verifyhost`), and the SNI sent with `proxy-ssl-server-name: on` (`sni str(<name>)`). " + ONLY_TLS,
      differences: 'a DNS name only; ingress-nginx also takes nginx variables. Without it no SNI is sent (nginx sends `upstream_balancer` with `proxy-ssl-server-name: on`).',
    },
  }),
  annotation({
    name: 'proxy-ssl-server-name',
    scope: 'backend',
    grammar: onOff,
    set: (v, x) => (v.proxySslServerName = x),
    invalid: { means: 'the default, off, applies', set: (v: AnnotationValues) => (v.proxySslServerName = false) },
    doc: {
      default: '`off`',
      what: '`on`: the TLS handshake with the backend sends `proxy-ssl-name` as SNI. ' + ONLY_TLS,
      differences: 'nothing is sent without `proxy-ssl-name`.',
    },
  }),
  annotation({
    name: 'proxy-ssl-protocols',
    scope: 'backend',
    grammar: protocolsGrammar,
    set: (v, x) => (v.proxySslProtocols = x),
    doc: {
      default: '`TLSv1.2`',
      what: 'The TLS versions offered to the backend (HAProxy `ssl-min-ver`/`ssl-max-ver`, the lowest and highest given), when the Secret has a `ca.crt` (as nginx\'s template writes proxy_ssl_protocols only then). An invalid value is ignored and the default applies, as in ingress-nginx. ' + ONLY_TLS,
      differences: 'HAProxy takes a range: `TLSv1.2 TLSv1.3` is both, as in nginx; there is no way to name versions that are not contiguous, nor does ingress-nginx accept any but these two.',
    },
  }),
  annotation({
    name: 'proxy-ssl-ciphers',
    scope: 'backend',
    grammar: ciphersGrammar,
    set: (v, x) => (v.proxySslCiphers = x),
    doc: {
      default: '`DEFAULT`',
      what: 'The OpenSSL cipher list (TLS 1.2 and below) offered to the backend (HAProxy `ciphers`), when the Secret has a `ca.crt`. An invalid value is ignored and the default applies, as in ingress-nginx. ' + ONLY_TLS,
      differences: 'none known.',
    },
  }),
];
