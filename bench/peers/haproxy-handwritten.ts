// The reference: the smallest HAProxy configuration that routes the same hosts to the same endpoints, written the
// way an operator would by hand. It shares Portico's data-plane choices that are not "extra work": same thread
// count (both take it from the CPU pinning), default http-reuse (safe), keep-alive on both sides, same certificate,
// same TLS floor and ALPN. What it leaves out (forwarded headers, request ids, path maps) is what Portico costs.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { haproxyInfo } from '../lib/haproxy-cli.js';
import type { Cert } from '../lib/certs.js';
import { startChild } from '../lib/processes.js';
import { waitForPort } from '../lib/probes.js';
import type { Listener } from './forwarded-headers.js';
import { processPeer } from './peer.js';
import type { Peer } from './peer.js';
import type { Routes } from './routes.js';

export interface HandwrittenOptions {
  dir: string;
  routes: Routes;
  cert: Cert;
  httpPort: number;
  httpsPort: number;
  /** Extra lines at the top of the frontend. Given per listener, each listener gets a frontend of its own, so that
   * what depends on the listener (X-Forwarded-Proto and -Port) can be a constant, HAProxy's cheapest form. */
  frontendExtras?: string[] | ((l: Listener) => string[]);
  /** The peer's label: `haproxy` (minimal) or `haproxy-same-work` (the headers Portico sends). */
  name?: string;
}

/** Writes the configuration (and its host map) into `dir`; returns the configuration file and the admin socket. */
export async function writeHandwrittenConfig(o: HandwrittenOptions): Promise<{ file: string; sock: string }> {
  const map = join(o.dir, 'hosts.map');
  const sock = join(o.dir, 'haproxy.sock');
  await writeFile(map, o.routes.hosts.map((h, i) => `${h} be_${i}\n`).join(''));
  const servers = o.routes.origins.map((a, j) => `  server s${j} ${a}`).join('\n');
  const backends = o.routes.hosts.map((_, i) => `backend be_${i}\n  balance roundrobin\n${servers}\n`).join('\n');
  const http = `bind 127.0.0.1:${o.httpPort}`;
  const https = `bind 127.0.0.1:${o.httpsPort} ssl crt ${o.cert.bundleFile} alpn h2,http/1.1`;
  const frontend = (name: string, lines: string[]): string =>
    [`frontend ${name}`, ...lines, `use_backend %[req.hdr(host),lower,map_str(${map},be_no_route)]`].join('\n  ') + '\n';
  const x = o.frontendExtras ?? [];
  const frontends =
    typeof x === 'function'
      ? [frontend('fe_http', [http, ...x({ proto: 'http', port: o.httpPort })]), frontend('fe_https', [https, ...x({ proto: 'https', port: o.httpsPort })])]
      : [frontend('fe', [http, https, ...x])];
  const cfg = `global
  maxconn 4096
  stats socket ${sock} mode 600 level admin
  tune.ssl.default-dh-param 2048
  ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets

defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s

${frontends.join('\n')}
backend be_no_route
  http-request return status 404

${backends}`;
  const file = join(o.dir, 'haproxy.cfg');
  await writeFile(file, cfg);
  return { file, sock };
}

export async function startHandwrittenHaproxy(o: HandwrittenOptions & { cpus: string }): Promise<Peer> {
  const { file, sock } = await writeHandwrittenConfig(o);
  const name = o.name ?? 'haproxy';
  const child = startChild(name, 'haproxy', ['-db', '-f', file], { cpus: o.cpus });
  await waitForPort(o.httpsPort, 60_000, name, '127.0.0.1', child);
  const info = await haproxyInfo(sock);
  return processPeer({ name, httpPort: o.httpPort, httpsPort: o.httpsPort, h2: true, child, info: { nbthread: Number(info.Nbthread ?? NaN), version: info.Version ?? '' } });
}
