// From flags to what render takes: shared by serve and the golden tests, so the goldens render the defaults users get.
import type { EdgeSettings } from '../haproxy/render/edge.js';
import type { ServeFlags } from './flags.js';

export function edgeSettings(f: ServeFlags): EdgeSettings {
  const e = f.edge;
  return {
    allowEncodedSlashes: e.allowEncodedSlashes,
    maxBodyBytes: e.proxyBodySize,
    bodyTimeoutSeconds: e.clientBodyTimeout,
    perClient: { connections: e.maxConnectionsPerClient, ratePerSecond: e.maxConnectionRatePerClient },
    // Nine in ten slots taken: no connection may idle any more (every response closes it).
    closeIdleAbove: Math.max(1, Math.floor(f.maxConnections * 0.9)),
    hsts: e.hsts,
    tls: { minVersion: e.tlsVersions.min, maxVersion: e.tlsVersions.max, ciphers: e.sslCiphers },
  };
}
