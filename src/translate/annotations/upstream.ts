// How a request is sent upstream: upstream-vhost, the Host header the backend receives. (backend-protocol and the
// proxy-ssl annotations join this family.)
import { annotation } from './registry.js';
import { hostAndPort } from './values.js';

export const UPSTREAM_ANNOTATIONS = [
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
];
