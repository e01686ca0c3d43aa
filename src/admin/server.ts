// The admin port: liveness and readiness for probes, and Prometheus metrics. Never on the traffic ports, never fed user input.
import { createServer } from 'node:http';
import type { Server } from 'node:http';

export interface AdminState {
  /** Why Portico cannot take traffic now (no configuration live yet, HAProxy down, shutting down); undefined when it can. */
  notReady: () => string | undefined;
  /** Prometheus text exposition. */
  metrics: () => Promise<{ contentType: string; body: string }>;
  /** `/debug/*` (src/explain/debug-endpoint.ts); absent with --debug-endpoints=false: those paths are 404. */
  debug?: { explain: (query: URLSearchParams) => { status: number; contentType: string; body: string } };
}

export function startAdminServer(host: string, port: number, state: AdminState): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/healthz') return send(200, 'ok\n');
    if (path === '/metrics') {
      state.metrics().then(
        (m) => {
          res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store' });
          res.end(m.body);
        },
        () => send(500, 'metrics unavailable\n'),
      );
      return;
    }
    // explain (issue 13 §3): the query is the request to explain; the answer comes from the live model.
    if (path === '/debug/explain' && state.debug) {
      const a = state.debug.explain(new URLSearchParams((req.url ?? '').slice((req.url ?? '').indexOf('?') + 1 || (req.url ?? '').length)));
      res.writeHead(a.status, { 'content-type': a.contentType, 'cache-control': 'no-store' });
      return void res.end(a.body);
    }
    if (path === '/readyz') {
      const reason = state.notReady();
      return reason === undefined ? send(200, 'ready\n') : send(503, `not ready: ${reason}\n`);
    }
    return send(404, 'not found\n');
  });
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host === '' ? undefined : host, () => resolve(server));
  });
}
