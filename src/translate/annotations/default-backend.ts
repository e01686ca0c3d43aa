// default-backend and custom-http-errors: a Service of the Ingress's namespace that serves its paths while their own
// Service has no usable endpoint, and (ingress-nginx) the error pages of the statuses custom-http-errors lists.
import { annotation } from './registry.js';
import { isDns1035Label } from '../grammar.js';
import { quote, trimSpaces } from './values.js';
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
];
// custom-http-errors is not registered yet: until error responses are replaced, warning A2 tells its users so. Its
// grammar (httpErrorCodes, above) is ready for it.
