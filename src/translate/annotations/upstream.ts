// How a request is sent upstream: upstream-vhost, the Host header the backend receives, and backend-protocol, what
// HAProxy speaks to the backend. (The proxy-ssl annotations, proxy-ssl.ts, set how its TLS is checked.)
import type { BackendPolicy, BackendProtocol, BackendTls } from '../../model/types.js';
import { annotation } from './registry.js';
import { wantsAffinity } from './affinity.js';
import { retryPolicyOf } from './retries.js';
import { balancePolicyOf } from './balance.js';
import type { AnnotationValues } from './registry.js';
import { bool, hostAndPort, oneOf, quote, trimSpaces } from './values.js';
import type { ValueGrammar } from './values.js';

/** ingress-nginx's values Portico serves, plus `h2c`, Portico's own (HTTP/2 in clear text to a backend that is not gRPC). */
const PROTOCOL_WORDS = oneOf(['http', 'https', 'grpc', 'grpcs', 'h2c']);

/** ingress-nginx's values Portico does not serve yet, and why, for the A1 message. */
const NOT_YET: ReadonlyMap<string, string> = new Map([
  ['fcgi', 'FastCGI backends are not supported yet'],
  ['auto_http', 'AUTO_HTTP (HTTPS to the backend only for clients that came over HTTPS) is not supported yet'],
]);

/**
 * ingress-nginx's `backend-protocol` values, in any case, with spaces around them (its ValidateOptions trims and
 * lowercases). FCGI and AUTO_HTTP, which ingress-nginx has, are refused with a message that says so.
 */
export const backendProtocol: ValueGrammar<'http' | BackendProtocol> = {
  describe: `${PROTOCOL_WORDS.describe} (any case)`,
  parse: (raw) => {
    const parsed = PROTOCOL_WORDS.parse(raw);
    if (parsed.ok) return parsed;
    const why = NOT_YET.get(trimSpaces(raw).toLowerCase());
    return why === undefined ? parsed : { ok: false, reason: `${quote(raw)}: ${why}; requests go to the backend over plain HTTP` };
  },
};

/** Whether the paths speak TLS to the backend, the only case where the proxy-ssl annotations apply. */
export function speaksTls(v: AnnotationValues): boolean {
  return v.backendProtocol === 'https' || v.backendProtocol === 'grpcs';
}

/** The backend policy an Ingress's paths ask for; undefined for plain HTTP without affinity or retry settings, the default. `tls`: what
 * its proxy-ssl annotations made of their Secret (proxy-ssl.ts `proxySslOf`), taken only for a TLS protocol. */
export function backendPolicyOf(v: AnnotationValues, tls?: BackendTls): BackendPolicy | undefined {
  const protocol = v.backendProtocol === undefined || v.backendProtocol === 'http' ? undefined : v.backendProtocol;
  const affinity = wantsAffinity(v);
  const serviceUpstream = v.serviceUpstream === true;
  const withTls = tls !== undefined && speaksTls(v);
  const retry = retryPolicyOf(v);
  const balance = balancePolicyOf(v, affinity);
  if (protocol === undefined && !affinity && !serviceUpstream && retry === undefined && balance === undefined) return undefined;
  return { ...(protocol ? { protocol } : {}), ...(affinity ? { affinity: true as const } : {}), ...(serviceUpstream ? { serviceUpstream: true as const } : {}), ...(withTls ? { tls } : {}), ...(retry ? { retry } : {}), ...(balance ? { balance } : {}) };
}

export const UPSTREAM_ANNOTATIONS = [
  annotation({
    name: 'service-upstream',
    scope: 'backend',
    grammar: bool,
    set: (v, x) => (v.serviceUpstream = x),
    doc: {
      default: '`false`',
      what: "With `true`, requests go to the Service's cluster IP and port, one server, instead of to its endpoints (for a service mesh that balances itself, as ingress-nginx does). A Service without a cluster IP (headless) is served by its endpoints, as ingress-nginx falls back to. Live: the Service's address is a runtime server change.",
      differences: "the Service port gets a backend section of its own (`..._svc`), so another Ingress without the annotation on the same Service port keeps dialling the endpoints; ingress-nginx has one upstream per Service port, decided by whichever Ingress it read last.",
    },
  }),
  annotation({
    name: 'upstream-vhost',
    scope: 'route',
    grammar: hostAndPort,
    set: (v, x) => (v.upstreamVhost = x),
    doc: {
      default: 'none: the client\'s Host',
      what: 'The Host header the backend receives for this Ingress\'s paths (X-Forwarded-Host still carries the client\'s). Live: a changed value is a map update.',
      differences: 'a host name with an optional port only; ingress-nginx also takes nginx variables and regular-expression characters here, which Portico refuses (A1).',
    },
  }),
  annotation({
    name: 'backend-protocol',
    scope: 'backend',
    grammar: backendProtocol,
    set: (v, x) => (v.backendProtocol = x),
    doc: {
      default: 'HTTP',
      what:
        'How HAProxy speaks to the Service port this Ingress\'s paths send to: HTTP (HTTP/1.1), HTTPS (HTTP/1.1 over TLS, ALPN http/1.1), GRPC (HTTP/2 in clear text), GRPCS (HTTP/2 over TLS, ALPN h2), H2C (HTTP/2 in clear text, for any HTTP/2 backend). ' +
        'TLS to the backend does not verify its certificate and sends no SNI, as ingress-nginx does by default. The client side is unchanged: gRPC clients come over the HTTPS listener (HTTP/2 through ALPN). ' +
        'Ingresses that send to one Service port with different protocols each get their own HAProxy backend (`be_<namespace>_<service>_<port>_<protocol>`; plain HTTP keeps the name without suffix). ' +
        'Live: a new or changed protocol is a backend bound to a spare section with `add server` at runtime, and scaling such a backend is runtime too; no reload (an ExternalName Service, as always, takes one).',
      differences:
        'FCGI and AUTO_HTTP are refused (A1) and the paths are served over plain HTTP: ingress-nginx speaks FastCGI, or HTTPS to the backend for clients that came over HTTPS. H2C is Portico\'s own value (ingress-nginx has no cleartext HTTP/2 to backends other than gRPC). A tab or line break around the word is refused (A1) and the paths are served over HTTP; ingress-nginx trims a tab and uses the value, and with a line break falls back to HTTP as Portico does.',
    },
  }),
];
