// The admin port: liveness and readiness for probes, Prometheus metrics, and the debug views (explain, the dashboard).
// Never on the traffic ports, never fed user input.
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import { ASSET_PREFIX, CONTENT_SECURITY_POLICY, ICON, PAGE, STYLE } from './dashboard/assets.js';
import { SCRIPT } from './dashboard/script.js';

/** The dashboard's files: fixed text, the only things served under `/` and ASSET_PREFIX. */
const DASHBOARD_FILES = new Map<string, { type: string; body: string }>([
  ['/', { type: 'text/html; charset=utf-8', body: PAGE }],
  [`${ASSET_PREFIX}app.js`, { type: 'text/javascript; charset=utf-8', body: SCRIPT }],
  [`${ASSET_PREFIX}app.css`, { type: 'text/css; charset=utf-8', body: STYLE }],
  [`${ASSET_PREFIX}icon.svg`, { type: 'image/svg+xml', body: ICON }],
]);

function sendDashboardFile(res: ServerResponse, file: { type: string; body: string }): void {
  res.writeHead(200, {
    'content-type': file.type,
    'cache-control': 'no-store',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  });
  res.end(file.body);
}

export interface AdminState {
  /** Why Portico cannot take traffic now (no configuration live yet, HAProxy down, shutting down); undefined when it can. */
  notReady: () => string | undefined;
  /** Prometheus text exposition. */
  metrics: () => Promise<{ contentType: string; body: string }>;
  /** `/debug/*` (src/explain/debug-endpoint.ts); absent with --debug-endpoints=false: those paths are 404. */
  debug?: { explain: (query: URLSearchParams) => { status: number; contentType: string; body: string } };
  /** The dashboard at `/` and its data at /debug/dashboard.json (src/admin/dashboard/); absent with --dashboard=false
   * or --debug-endpoints=false: those paths are 404. */
  dashboard?: { json: (query: URLSearchParams) => Promise<{ status: number; contentType: string; body: string }> };
}

function query(url: string | undefined): URLSearchParams {
  const u = url ?? '';
  const at = u.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : u.slice(at + 1));
}

export function startAdminServer(host: string, port: number, state: AdminState): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
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
      const a = state.debug.explain(query(req.url));
      res.writeHead(a.status, { 'content-type': a.contentType, 'cache-control': 'no-store' });
      return void res.end(a.body);
    }
    if (state.dashboard) {
      const file = DASHBOARD_FILES.get(path);
      if (file) return sendDashboardFile(res, file);
      if (path === '/debug/dashboard.json') {
        state.dashboard.json(query(req.url)).then(
          (a) => {
            res.writeHead(a.status, { 'content-type': a.contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
            res.end(a.body);
          },
          () => send(500, 'dashboard data unavailable\n'),
        );
        return;
      }
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
