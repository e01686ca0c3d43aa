// Render side of upstream-vhost (src/translate/annotations/upstream.ts): the Host header sent to the backend, map data
// keyed by the route's id, set after the HTTPS redirect (which builds its Location from the client's Host) and after
// X-Forwarded-Host took the client's value.
import { policyFamily } from './family.js';

export const UPSTREAM_VHOST_MAPS = { upstreamVhost: 'maps/upstream-vhost.map' } as const;
const HOST_AND_PORT = /^[A-Za-z0-9]([-A-Za-z0-9.]{0,251}[A-Za-z0-9])?(:\d{1,5})?$/;

/** Render's own check (translate's grammar is the same): a map word that is a host name and an optional port. */
export function upstreamVhostValue(host: string): string {
  if (!HOST_AND_PORT.test(host)) throw new Error(`render: refusing upstream host ${JSON.stringify(host)}`);
  return host;
}

export function upstreamVhostRules(mapFile: string, hasId: string, routeId: string): string[] {
  const host = `${routeId},map_str(${mapFile})`;
  return [`http-request set-header Host %[${host}] if ${hasId} { ${host} -m found }`];
}

export const UPSTREAM_VHOST_FAMILY = policyFamily({
  maps: UPSTREAM_VHOST_MAPS,
  data: (p) => (p.upstreamHost === undefined ? [] : [['upstreamVhost', upstreamVhostValue(p.upstreamHost)]]),
  rules: {
    upstream: (c) => [
      "# upstream-vhost: the Host the backend receives (after X-Forwarded-Host and the HTTPS redirect read the client's).",
      ...upstreamVhostRules(c.file('upstreamVhost'), c.hasId, c.routeId),
    ],
  },
});
