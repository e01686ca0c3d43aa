// Render side of proxy-read-timeout / proxy-send-timeout (src/translate/annotations/timeouts.ts). HAProxy 2.6 sets a
// stream's server and tunnel timeouts only from a backend's rules (`http-request set-timeout`), so the rules sit in
// the defaults section the backend sections inherit (render.ts `ROUTE_DEFAULTS`): written once, whatever the number of
// backends, and present only while some route sets a timeout. The value is map data keyed by the route's id.
import { policyFamily } from './family.js';

export const TIMEOUT_MAPS = { serverTimeout: 'maps/server-timeout.map' } as const;
/** The map value: milliseconds, as `set-timeout` reads a number. */
export function serverTimeoutValue(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > 2_147_483) throw new Error(`render: refusing server timeout ${seconds}`);
  return String(seconds * 1000);
}

/**
 * The backend rules: the route's timeout for the connection to the server and for a tunnel after an upgrade, looked up
 * once.
 */
export function serverTimeoutRules(mapFile: string, hasId: string, routeId: string): string[] {
  return [
    `http-request set-var(txn.server_timeout) ${routeId},map_str_int(${mapFile}) if ${hasId}`,
    ...['server', 'tunnel'].map((t) => `http-request set-timeout ${t} var(txn.server_timeout) if { var(txn.server_timeout) -m found }`),
  ];
}

/** The body gate's own rules, after the inherited ones: twice the route's timeout. */
export function gateTimeoutRules(gateFactor: number): string[] {
  return ['server', 'tunnel'].map((t) => `http-request set-timeout ${t} var(txn.server_timeout),mul(${gateFactor}) if { var(txn.server_timeout) -m found }`);
}

export const TIMEOUT_FAMILY = policyFamily({
  maps: TIMEOUT_MAPS,
  data: (p) => (p.serverTimeoutSeconds === undefined ? [] : [['serverTimeout', serverTimeoutValue(p.serverTimeoutSeconds)]]),
  rules: {
    backend: (c) => [
      '# The timeout annotations (proxy-read-timeout, proxy-send-timeout) of the route a request took.',
      ...serverTimeoutRules(c.file('serverTimeout'), c.hasId, c.routeId),
    ],
    // The gate follows the same defaults, so it has the rules above too; then it doubles what they found.
    gate: () => gateTimeoutRules(2),
  },
});
