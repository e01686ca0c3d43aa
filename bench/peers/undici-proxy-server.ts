// A reverse proxy in Node.js on undici: what a team would get writing the data plane in the control plane's own
// language. Run as its own process (node dist/bench/peers/undici-proxy-server.js CONFIG.json) so it can be pinned
// and measured like the other proxies. HTTP/1.1 only: Node's https server does not speak h2 with this API.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';

interface Config {
  httpPort: number;
  httpsPort: number;
  certFile: string;
  keyFile: string;
  hosts: string[];
  origins: string[];
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

const configPath = process.argv[2];
if (!configPath) throw new Error('usage: undici-proxy-server CONFIG.json');
const config = JSON.parse(readFileSync(configPath, 'utf8')) as Config;

// One pool per origin, shared by every host routed there: undici keeps connections per origin anyway.
const pools = config.origins.map((o) => new Pool(`http://${o}`, { keepAliveTimeout: 60_000, pipelining: 1 }));
const routes = new Map<string, { next: number }>(config.hosts.map((h) => [h, { next: 0 }]));

function forwardHeaders(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
  const route = routes.get(host);
  if (!route) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  const pool = pools[route.next++ % pools.length]!;
  const bodyless = req.method === 'GET' || req.method === 'HEAD';
  const opts: Dispatcher.RequestOptions = { path: req.url ?? '/', method: req.method ?? 'GET', headers: forwardHeaders(req.headers), body: bodyless ? null : req };
  pool
    .stream(opts, ({ statusCode, headers }) => {
      const out: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(statusCode, out);
      return res;
    })
    .catch(() => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway\n');
      else res.destroy();
    });
}

const serverOptions = { keepAliveTimeout: 60_000, headersTimeout: 65_000, requestTimeout: 0 };
createServer(serverOptions, handle).listen(config.httpPort, '127.0.0.1', 4096);
createTlsServer({ ...serverOptions, cert: readFileSync(config.certFile), key: readFileSync(config.keyFile), minVersion: 'TLSv1.2' }, handle).listen(config.httpsPort, '127.0.0.1', 4096);
