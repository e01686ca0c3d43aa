// The ConfigMap's settings (model.global) over the options render was given from flags: a key the ConfigMap sets
// wins, one it leaves unset keeps the flag's value. Pure, so that render stays a function of (model, options).
import type { GlobalSettings } from '../../model/types.js';
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
    },
  };
}

/** Whether two sets of settings render the same configuration text: the redirect defaults and the other route-level
 * keys (annotation defaults, allowed response headers, no-redirect paths, retry-non-idempotent) reach HAProxy through
 * the routes (map values), every other setting through the text, which only a reload changes. */
export function sameConfigurationText(a: GlobalSettings | undefined, b: GlobalSettings | undefined): boolean {
  if (a === b) return true;
  const textual = (g: GlobalSettings | undefined): string => {
    const { sslRedirect: _s, forceSslRedirect: _f, annotationDefaults: _a, allowedResponseHeaders: _h, noTlsRedirectLocations: _n, retryNonIdempotent: _r, ...rest } = g ?? {};
    return JSON.stringify(rest);
  };
  return textual(a) === textual(b);
}
