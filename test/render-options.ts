// The render options the golden cases and render's unit tests use: serve's defaults for the edge, so the goldens show
// the configuration users get, and fixed paths, ports and timeouts.
import type { RenderOptions } from '../src/haproxy/render/render.js';
import { parseFlags } from '../src/cli/flags.js';
import { edgeSettings } from '../src/cli/render-options.js';

export function testRenderOptions(over: Partial<RenderOptions> = {}): RenderOptions {
  return {
    stateDir: '/var/run/portico',
    filesDir: '/var/run/portico/gen/1',
    httpPort: 8080,
    httpsPort: 8443,
    bindAddress: '',
    ipv6: true,
    threads: 2,
    resolvers: ['10.96.0.10:53'],
    httpsRedirectPort: 443,
    maxConnections: 4096,
    hardStopAfterSeconds: 3600,
    serverHeader: 'portico',
    spareBackends: 2,
    timeouts: { connect: 5, client: 60, server: 60, tunnel: 3600, httpRequest: 10, keepAlive: 60 },
    edge: edgeSettings(parseFlags('serve', ['--manifests', 'unused'])),
    ...over,
  };
}
