// connection-proxy-header: the Connection header the backend receives. ingress-nginx's only values are `close` and
// `keep-alive`; HTTP/1.1 keeps a connection alive without saying so, so only `close` changes anything.
import { annotation } from './registry.js';
import { oneOf } from './values.js';

export const CONNECTION_ANNOTATIONS = [
  annotation({
    name: 'connection-proxy-header',
    scope: 'route',
    grammar: oneOf(['close', 'keep-alive']),
    set: (v, x) => (v.connectionProxyHeader = x),
    doc: {
      default: 'none (keep-alive)',
      what:
        '`close`: requests to these paths reach the backend with `Connection: close`, and the backend connection is closed after the response (a new one for the next request). `keep-alive`: connections are kept alive, which is what happens without it. Live: a changed value is a map update; the first route with `close` takes a reload.',
      differences:
        "With `keep-alive`, the backend receives no Connection header, where nginx sends `Connection: keep-alive` (HTTP/1.1 means the same). A WebSocket upgrade still reaches the backend with `Connection: upgrade` and works, where nginx replaces it with the annotation's value and the upgrade fails.",
    },
  }),
];
