// nginx as a reverse proxy: one server block and one upstream block per host, with upstream keep-alive on (without
// it nginx opens a connection per request and falls to under half its throughput, which would be no comparison).
import { join } from 'node:path';
import type { Cert } from '../lib/certs.js';
import { waitForPort } from '../lib/probes.js';
import { NGINX_SAME_WORK } from './forwarded-headers.js';
import { nginxConf, startNginx } from './nginx-process.js';
import { processPeer } from './peer.js';
import type { Peer } from './peer.js';
import type { Routes } from './routes.js';

/** ingress-nginx's default log_format (`upstreaminfo`), with the variables nginx 1.22 has ($request_id for $req_id;
 * $proxy_alternative_upstream_name empty, as for a request no canary took). */
const UPSTREAMINFO = `  log_format upstreaminfo '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $request_id';
  map $host $proxy_alternative_upstream_name { default ""; }`;

export async function startNginxProxy(o: {
  dir: string;
  routes: Routes;
  cert: Cert;
  httpPort: number;
  httpsPort: number;
  cpus: string;
  /** Idle upstream connections kept per upstream block: must cover the concurrency one host can see. */
  keepalive: number;
  /** Send the forwarding headers Portico sends, as ingress-nginx does (peer `nginx-same-work`). */
  forwardedHeaders?: boolean;
  /** Also write ingress-nginx's default access log line (`upstreaminfo`) to a file, as ingress-nginx does by default
   * (peer `nginx-same-work-access-log`, with forwardedHeaders). */
  accessLog?: boolean;
}): Promise<Peer> {
  const name = o.forwardedHeaders === true ? (o.accessLog === true ? 'nginx-same-work-access-log' : 'nginx-same-work') : 'nginx';
  const prefix = join(o.dir, name);
  const servers = o.routes.origins.map((a) => `    server ${a};`).join('\n');
  // One server block per host with a literal proxy_pass: server names are looked up in a hash. (A map from $host
  // to an upstream name with `proxy_pass http://$var` would be shorter, but nginx then finds the upstream block by
  // a linear search over all of them, which at 10,000 hosts costs it several times its throughput.)
  // With the access log, each location names its upstream as ingress-nginx's does ($proxy_upstream_name, logged).
  const logLines = (i: number | undefined): string => (o.accessLog === true ? `    access_log ${prefix}/access.log upstreaminfo;\n    set $proxy_upstream_name "${i === undefined ? '-' : `default-up-${i}-80`}";\n` : '');
  const serverBlock = (host: string, i: number): string => `  server {\n    listen 127.0.0.1:${o.httpPort};\n    listen 127.0.0.1:${o.httpsPort} ssl http2;\n    server_name ${host};\n${logLines(i)}    location / { proxy_pass http://up_${i}; }\n  }`;
  const http = `  server_names_hash_max_size ${Math.max(1024, o.routes.hosts.length * 2)};
  server_names_hash_bucket_size 128;
  ssl_certificate ${o.cert.certFile};
  ssl_certificate_key ${o.cert.keyFile};
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_tickets off;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host $host;
${o.forwardedHeaders === true ? `${NGINX_SAME_WORK}\n` : ''}${o.accessLog === true ? `${UPSTREAMINFO}\n` : ''}${o.routes.hosts.map((_, i) => `  upstream up_${i} {\n${servers}\n    keepalive ${o.keepalive};\n  }`).join('\n')}
  server {
    listen 127.0.0.1:${o.httpPort} default_server backlog=4096;
    listen 127.0.0.1:${o.httpsPort} ssl http2 default_server backlog=4096;
${logLines(undefined)}    return 404;
  }
${o.routes.hosts.map(serverBlock).join('\n')}`;
  const child = await startNginx(name, prefix, nginxConf(prefix, http), o.cpus);
  await waitForPort(o.httpsPort, 60_000, name, '127.0.0.1', child);
  return processPeer({ name, httpPort: o.httpPort, httpsPort: o.httpsPort, h2: true, child, info: { workers: 1, keepalive: o.keepalive } });
}
