// default-backend and custom-http-errors: a Service of the Ingress's namespace that serves its paths while their own
// Service has no usable endpoint, and (ingress-nginx) the error pages of the statuses custom-http-errors lists.
import { annotation } from './registry.js';
import { isDns1035Label } from '../grammar.js';
import { bool, quote, trimSpaces } from './values.js';
import type { ValueGrammar } from './values.js';

/** A Service name (a DNS-1035 label, as the API server requires), spaces around it ignored. The Service is the
 * Ingress's namespace's: a `/` is refused, as ingress-nginx's ValidateServiceName does. */
export const serviceName: ValueGrammar<string> = {
  describe: 'a Service name of the Ingress\'s namespace (a DNS-1035 label)',
  parse: (raw) => {
    const s = trimSpaces(raw);
    return isDns1035Label(s) ? { ok: true, value: s } : { ok: false, reason: `${quote(raw)} is not a Service name (a DNS-1035 label)` };
  },
};

/** ingress-nginx's `^(?:[4,5]\d{2},?)*$`: status codes 400-599, comma-separated; spaces around a code are ignored, as
 * its parser trims them. Sorted, without duplicates. */
export const httpErrorCodes: ValueGrammar<number[]> = {
  describe: 'a comma-separated list of HTTP status codes between 400 and 599',
  parse: (raw) => {
    if (raw.length > 4096) return { ok: false, reason: `${quote(raw)} is longer than 4096 characters` };
    const items = raw.split(',').map(trimSpaces).filter((i) => i !== '');
    const bad = items.find((i) => !/^[45][0-9]{2}$/.test(i));
    if (items.length === 0 || bad !== undefined) return { ok: false, reason: `${quote(raw)} is not a comma-separated list of HTTP status codes between 400 and 599` };
    return { ok: true, value: [...new Set(items.map(Number))].sort((a, b) => a - b) };
  },
};

export const DEFAULT_BACKEND_ANNOTATIONS = [
  annotation({
    name: 'default-backend',
    scope: 'route',
    grammar: serviceName,
    set: (v, x) => (v.defaultBackend = x),
    doc: {
      default: 'none',
      what:
        "A Service of the Ingress's namespace (its first port, as ingress-nginx takes it) that receives this Ingress's requests while the Service of the path they matched has no usable server (no ready endpoint, missing Service or port): the request goes to it instead of getting 503, when it has a usable server itself. Its endpoints are resolved and kept current like any backend's (a spare section, so a new default-backend Service takes no reload). Live: a changed value is a map update; the first route with it takes a reload.",
      differences:
        'The Service is spoken to as the Ingress\'s paths speak to theirs (backend-protocol, proxy-ssl), without session affinity. A request whose route has a canary goes to the canary when the canary wins and has a usable server, else to the default backend.',
    },
  }),
  annotation({
    name: 'custom-http-errors',
    scope: 'route',
    grammar: httpErrorCodes,
    set: (v, x) => (v.customHttpErrors = x),
    doc: {
      default: 'none',
      what:
        "With the `default-backend` annotation: a response of this Ingress's backend whose status is listed is replaced by the default backend's answer to `GET /` (HAProxy's Lua HTTP client, dialling one of its usable servers in turn), sent with ingress-nginx's X-Code (the status), X-Format (the client's Accept), X-Original-URI (as the client sent it), X-Namespace, X-Ingress-Name, X-Service-Name, X-Service-Port (as written in the Ingress), X-Request-ID, X-Forwarded-For and the client's Host; the client gets that answer's status, Content-Type and body, as nginx's `error_page <code> = @custom_...`. Live: changed codes are a map update; the first route with it takes a reload.",
      differences:
        "Portico has no controller-wide default backend yet: without the `default-backend` annotation on the Ingress, responses are left unchanged (ingress-nginx sends them to its global default backend). HAProxy's own 503 (no usable server) is not replaced by this annotation: `default-backend` already serves those requests. The error page is always a GET (nginx keeps the request's method), fetched in plain HTTP/1 from the default backend's servers: with a `backend-protocol` other than HTTP the annotation has no effect; the default backend's other response headers are not passed on; when the error backend gives no answer within 5 s (or has no usable server), the client gets the backend's original response instead of nginx's 502/504. Answers HAProxy makes itself (access lists, auth, redirects, body limits) are never replaced, as nginx's proxy_intercept_errors only sees upstream responses.",
    },
  }),
  annotation({
    name: 'disable-proxy-intercept-errors',
    scope: 'route',
    grammar: bool,
    set: (v, x) => (v.disableProxyInterceptErrors = x),
    doc: {
      default: 'false',
      what:
        "`true`: this Ingress's responses are never replaced by custom-http-errors: the client gets the backend's own answer, whatever its status, as nginx's `proxy_intercept_errors off`. The default backend of `default-backend` still serves requests whose Service has no usable server. Live: a change is a map update.",
    },
  }),
];
