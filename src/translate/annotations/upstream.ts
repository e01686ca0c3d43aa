// How a request is sent upstream: upstream-vhost, the Host header the backend receives, and backend-protocol, what
// HAProxy speaks to the backend. (The proxy-ssl annotations, proxy-ssl.ts, set how its TLS is checked.)
import type { BackendPolicy, BackendProtocol, BackendTls, FastCgiParam } from '../../model/types.js';
import { annotation } from './registry.js';
import { wantsAffinity } from './affinity.js';
import { retryPolicyOf } from './retries.js';
import { balancePolicyOf } from './balance.js';
import { fastcgiPolicyOf } from './fastcgi.js';
import type { AnnotationValues } from './registry.js';
import { bool, hostAndPort, oneOf, quote, trimSpaces } from './values.js';
import type { ValueGrammar } from './values.js';

/** ingress-nginx's values Portico serves, plus `h2c`, Portico's own (HTTP/2 in clear text to a backend that is not gRPC). */
const PROTOCOL_WORDS = oneOf(['http', 'https', 'grpc', 'grpcs', 'h2c', 'fcgi']);

/** ingress-nginx's values Portico does not serve yet, and why, for the A1 message. */
const NOT_YET: ReadonlyMap<string, string> = new Map([
  ['auto_http', 'AUTO_HTTP (HTTPS to the backend only for clients that came over HTTPS) is not supported yet'],
]);

/**
 * ingress-nginx's `backend-protocol` values, in any case, with spaces around them (its ValidateOptions trims and
 * lowercases). AUTO_HTTP, which ingress-nginx has, is refused with a message that says so.
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
 * its proxy-ssl annotations made of their Secret (proxy-ssl.ts `proxySslOf`), taken only for a TLS protocol;
 * `fastcgiParams`: what fastcgi-params-configmap's ConfigMap gave (fastcgi.ts `fastcgiParamsOf`). */
export function backendPolicyOf(v: AnnotationValues, tls?: BackendTls, fastcgiParams: readonly FastCgiParam[] = []): BackendPolicy | undefined {
  const protocol = v.backendProtocol === undefined || v.backendProtocol === 'http' ? undefined : v.backendProtocol;
  const affinity = wantsAffinity(v);
  const serviceUpstream = v.serviceUpstream === true;
  const withTls = tls !== undefined && speaksTls(v);
  const retry = retryPolicyOf(v);
  const balance = balancePolicyOf(v, affinity);
  const fastcgi = fastcgiPolicyOf(v, fastcgiParams);
  if (protocol === undefined && !affinity && !serviceUpstream && retry === undefined && balance === undefined) return undefined;
  return { ...(protocol ? { protocol } : {}), ...(fastcgi ? { fastcgi } : {}), ...(affinity ? { affinity: true as const } : {}), ...(serviceUpstream ? { serviceUpstream: true as const } : {}), ...(withTls ? { tls } : {}), ...(retry ? { retry } : {}), ...(balance ? { balance } : {}) };
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
        'How HAProxy speaks to the Service port this Ingress\'s paths send to: HTTP (HTTP/1.1), HTTPS (HTTP/1.1 over TLS, ALPN http/1.1), GRPC (HTTP/2 in clear text), GRPCS (HTTP/2 over TLS, ALPN h2), H2C (HTTP/2 in clear text, for any HTTP/2 backend), FCGI (FastCGI, as PHP-FPM speaks it: HAProxy\'s `fcgi-app`, servers with `proto fcgi`; see below). ' +
        'TLS to the backend does not verify its certificate and sends no SNI, as ingress-nginx does by default. The client side is unchanged: gRPC clients come over the HTTPS listener (HTTP/2 through ALPN). ' +
        'Ingresses that send to one Service port with different protocols each get their own HAProxy backend (`be_<namespace>_<service>_<port>_<protocol>`; plain HTTP keeps the name without suffix). ' +
        'Live: a new or changed protocol is a backend bound to a spare section with `add server` at runtime, and scaling such a backend is runtime too; no reload (an ExternalName Service, as always, takes one). FCGI is the exception: its backend (`..._fcgi_app<id>`) names an `fcgi-app` section (`use-fcgi-app`), which no spare has, so a new FCGI backend takes one reload; scaling it afterwards is runtime (`add server ... proto fcgi`). ' +
        'FCGI: the application gets the params of nginx\'s `fastcgi_params` as HAProxy 2.6 makes them: QUERY_STRING, REQUEST_METHOD, CONTENT_TYPE, CONTENT_LENGTH, SCRIPT_NAME (the path, with `fastcgi-index` appended to a path ending in `/`), REQUEST_URI, DOCUMENT_URI, DOCUMENT_ROOT (`/usr/local/nginx/html`, nginx\'s $document_root in ingress-nginx\'s image), SERVER_PROTOCOL, REQUEST_SCHEME and HTTPS (from the listener the client came to), GATEWAY_INTERFACE, SERVER_SOFTWARE, REMOTE_ADDR (the client), REMOTE_PORT, SERVER_NAME, SERVER_PORT, REDIRECT_STATUS (200), and every request header as HTTP_<NAME>, Authorization included (HTTP_AUTHORIZATION). The request body is the FastCGI stdin; the application\'s Status header is the response status.',
      differences:
        'AUTO_HTTP is refused (A1) and the paths are served over plain HTTP: ingress-nginx speaks HTTPS to the backend for clients that came over HTTPS. ' +
        'FCGI, what the application sees: HAProxy always sends SCRIPT_FILENAME (DOCUMENT_ROOT followed by SCRIPT_NAME), which nginx\'s fastcgi_params leaves out; SERVER_NAME and SERVER_PORT are the Host header\'s name and the listener\'s port, not nginx\'s server_name; CONTENT_LENGTH is 0 for a request without body (nginx sends it empty) and QUERY_STRING is left out when there is no query; SERVER_ADDR is not sent; REMOTE_PORT is 0 for a request whose body has no length of its own (it reaches the backend through Portico\'s body gate, a unix socket); SERVER_SOFTWARE is HAProxy\'s; the application also sees the headers Portico adds for every backend (HTTP_X_FORWARDED_FOR, HTTP_X_REAL_IP, HTTP_X_FORWARDED_PROTO, HTTP_X_FORWARDED_HOST, HTTP_X_FORWARDED_PORT, HTTP_X_REQUEST_ID), which nginx\'s fastcgi_pass does not add; Proxy-Authorization and a Proxy header are not passed (HAProxy leaves them out; nginx passes them). PATH_INFO is not sent, as in ingress-nginx (no fastcgi_split_path_info). A request body of unknown length (chunked, or HTTP/2 without content-length) larger than HAProxy\'s buffer (16 kB) is answered 400: HAProxy must send CONTENT_LENGTH before the body, so it holds such a body back to count it, and only up to one buffer; nginx buffers the whole body first (fastcgi_request_buffering). A body of known length passes whatever its size. H2C is Portico\'s own value (ingress-nginx has no cleartext HTTP/2 to backends other than gRPC). A tab or line break around the word is refused (A1) and the paths are served over HTTP; ingress-nginx trims a tab and uses the value, and with a line break falls back to HTTP as Portico does.',
    },
  }),
];
