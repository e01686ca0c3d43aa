// The ConfigMap's settings (model.global) over the options render was given from flags: a key the ConfigMap sets
// wins, one it leaves unset keeps the flag's value. Pure, so that render stays a function of (model, options).
import type { GlobalSettings } from '../../model/types.js';
import { BLOCK_LIST_SETTING_KEYS, NEITHER_TEXT_NOR_ROUTE_SETTING_KEYS, ROUTE_SETTING_KEYS } from '../../model/settings-route-keys.js';
import type { RenderOptions } from './render.js';

/** The statuses of answers the configuration text holds, from the ConfigMap or ingress-nginx's defaults. */
export interface StatusCodes {
  /** `limit-req-status-code`. */
  limitReq: number;
  /** `limit-conn-status-code`. */
  limitConn: number;
  /** `http-redirect-code`: rule T9's redirect to HTTPS and from-to-www-redirect. */
  httpsRedirect: number;
}

export function statusCodes(g: GlobalSettings | undefined): StatusCodes {
  return { limitReq: g?.limitReqStatus ?? 503, limitConn: g?.limitConnStatus ?? 503, httpsRedirect: g?.httpRedirectCode ?? 308 };
}

/** What responses say of the server: `add` on a response without a Server header, or remove every Server header
 * (`strip`), or leave the backend's alone and add none (`pass`). */
export type ServerHeaderRule = { add: string } | 'strip' | 'pass';

export function serverHeaderRule(o: RenderOptions, g: GlobalSettings | undefined): ServerHeaderRule {
  if (g?.serverTokens !== false) return { add: o.serverHeader };
  return g.allowBackendServerHeader === true ? 'pass' : 'strip';
}

export function withGlobalSettings(o: RenderOptions, g: GlobalSettings | undefined): RenderOptions {
  if (!g) return o;
  const { edge, timeouts } = o;
  return {
    ...o,
    // worker-processes, disable-ipv6 (settings/listeners.ts).
    threads: g.threads ?? o.threads,
    ipv6: o.ipv6 && g.disableIpv6 !== true,
    hardStopAfterSeconds: g.workerShutdownTimeout ?? o.hardStopAfterSeconds,
    // max-worker-connections (global-http.ts has the other HTTP and TLS tuning keys).
    maxConnections: g.maxConnections ?? o.maxConnections,
    timeouts: {
      ...timeouts,
      connect: g.connectTimeout ?? timeouts.connect,
      server: g.serverTimeout ?? timeouts.server,
      httpRequest: g.clientHeaderTimeout ?? timeouts.httpRequest,
      keepAlive: g.keepAlive ?? timeouts.keepAlive,
    },
    edge: {
      ...edge,
      maxBodyBytes: g.maxBodyBytes ?? edge.maxBodyBytes,
      bodyTimeoutSeconds: g.clientBodyTimeout ?? edge.bodyTimeoutSeconds,
      hsts: {
        enabled: g.hsts ?? edge.hsts.enabled,
        maxAge: g.hstsMaxAge ?? edge.hsts.maxAge,
        includeSubdomains: g.hstsIncludeSubdomains ?? edge.hsts.includeSubdomains,
        preload: g.hstsPreload ?? edge.hsts.preload,
      },
      tls: { minVersion: g.tlsVersions?.min ?? edge.tls.minVersion, maxVersion: g.tlsVersions?.max ?? edge.tls.maxVersion, ciphers: g.sslCiphers ?? edge.tls.ciphers },
      // max-worker-connections: the idle-close threshold is 90% of maxconn, as the flags make it.
      ...(g.maxConnections !== undefined ? { closeIdleAbove: Math.max(1, Math.floor(g.maxConnections * 0.9)) } : {}),
      // enable-underscores-in-headers, ignore-invalid-headers: nginx drops such names only with both at their defaults.
      ...(g.underscoresInHeaders === true || g.ignoreInvalidHeaders === false ? { keepUnderscoreHeaders: true } : {}),
    },
  };
}

/** Whether two sets of settings render the same configuration text: the route-level keys reach HAProxy through the
 * routes (map values), the access log's through Portico's reading of each record, the block lists through maps of
 * their own (settings-route-keys.ts); every other setting through the text, which only a reload changes. */
export function sameConfigurationText(a: GlobalSettings | undefined, b: GlobalSettings | undefined): boolean {
  if (a === b) return true;
  const textual = (g: GlobalSettings | undefined): string => JSON.stringify(withoutAccessData(g ?? {}));
  return textual(a) === textual(b);
}

const NOT_TEXT: ReadonlySet<string> = new Set<string>([...ROUTE_SETTING_KEYS, ...NEITHER_TEXT_NOR_ROUTE_SETTING_KEYS]);

/** The settings as far as the text holds them: none of the route-level or access log keys, and of a block list only
 * whether it has lines, its rule being written only then. */
function withoutAccessData(g: GlobalSettings): Record<string, unknown> {
  const rest = Object.fromEntries(Object.entries(g).filter(([k]) => !NOT_TEXT.has(k)));
  const inUse = BLOCK_LIST_SETTING_KEYS.map((k) => ((g[k]?.length ?? 0) > 0 ? '1' : '0')).join('');
  return inUse === '000' ? rest : { ...rest, blockListsInUse: inUse };
}
