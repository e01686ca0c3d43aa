// Render side of connection-proxy-header: close (src/translate/annotations/connection.ts): the backend receives
// `Connection: close`, and HAProxy, which reads the header it sends, closes that backend connection after the response,
// as nginx does. A marker in a map keyed by the route's id; WebSocket upgrades keep their `Connection: upgrade`.
import { policyFamily } from './family.js';

export const CONNECTION_CLOSE_MAPS = { connectionClose: 'maps/connection-close.map' } as const;

export const CONNECTION_CLOSE_FAMILY = policyFamily({
  maps: CONNECTION_CLOSE_MAPS,
  data: (p) => (p.closeUpstreamConnection ? [['connectionClose', '1']] : []),
  rules: {
    upstream: (c) => [
      '# connection-proxy-header: close: the backend connection is not kept alive after this request (upgrades excepted).',
      `http-request set-header Connection close if ${c.hasId} !{ req.hdr(upgrade) -m found } { ${c.routeId},map_str(${c.file('connectionClose')}) -m found }`,
    ],
  },
});
