// Request bodies: proxy-body-size per route, ingress-nginx's client_max_body_size for the Ingress's locations.
import { annotation } from './registry.js';
import { size } from './values.js';

/** 2^50 bytes (a petabyte): far beyond any body, and exact in a JavaScript number and HAProxy's integers. */
const BODY_SIZE = size(2 ** 50);

export const BODY_ANNOTATIONS = [
  annotation({
    name: 'proxy-body-size',
    scope: 'route',
    grammar: BODY_SIZE,
    set: (v, x) => (v.proxyBodySize = x),
    doc: {
      default: '`--proxy-body-size` (1m)',
      what: 'The largest request body this Ingress\'s paths accept; `0`: no limit. A larger body gets 413: at once when its Content-Length says so, as it streams otherwise (chunked uploads, HTTP/2 without content-length). Live: a changed value is a map update.',
      differences: 'as for `--proxy-body-size` (docs/rules.md): part of a streamed body below the limit may reach the backend before the 413, where nginx buffers the whole body first.',
    },
  }),
];
