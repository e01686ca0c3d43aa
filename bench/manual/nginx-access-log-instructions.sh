#!/usr/bin/env bash
# nginx's own per-request instructions with its access log off and on (ingress-nginx's default `upstreaminfo`
# format), counted as the bench counts HAProxy's: valgrind callgrind, a run of 3,000 requests minus one of 1,000 over
# one kept-alive connection, so start-up is left out. A reference for what Portico's access log costs (bench/README.md,
# "The access log"); not part of `npm run bench` (yet). Needs nginx-light, valgrind and node (with undici, from the
# repository's node_modules). Usage: bash bench/manual/nginx-access-log-instructions.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'kill "$backend" 2>/dev/null || true; rm -rf "$work"' EXIT
ln -s "$repo/node_modules" "$work/node_modules"
cat > "$work/backend.mjs" <<'JS'
import http from 'node:http';
http.createServer((q, r) => { r.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }); r.end('ok'); }).listen(19091, '127.0.0.1');
JS
cat > "$work/send.mjs" <<'JS'
import { Agent, request } from 'undici';
const [port, n] = [Number(process.argv[2]), Number(process.argv[3])];
const agent = new Agent({ connections: 1, pipelining: 1 });
for (let i = 0; i < n; i++) { const r = await request(`http://127.0.0.1:${port}/x/${i % 10}`, { dispatcher: agent, headers: { 'user-agent': 'bench/1.0' } }); await r.body.text(); }
await agent.close();
JS
node "$work/backend.mjs" & backend=$!
for mode in off on; do
  port=$([ "$mode" = on ] && echo 19093 || echo 19092)
  log=$([ "$mode" = on ] && echo "$work/access.log upstreaminfo" || echo off)
  cat > "$work/nginx-$mode.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $work/error-$mode.log;
pid $work/nginx-$mode.pid;
events { worker_connections 1024; }
http {
  log_format upstreaminfo '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent "\$http_referer" "\$http_user_agent" \$request_length \$request_time [\$proxy_upstream_name] [\$proxy_alternative_upstream_name] \$upstream_addr \$upstream_response_length \$upstream_response_time \$upstream_status \$request_id';
  access_log $log;
  upstream be { server 127.0.0.1:19091; keepalive 16; }
  server {
    listen 127.0.0.1:$port;
    set \$proxy_upstream_name "default-web-80";
    set \$proxy_alternative_upstream_name "";
    location / { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://be; }
  }
}
CONF
  count() {
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" nginx -c "$work/nginx-$mode.conf" 2>"$work/vg.err" & local v=$!
    for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
    node "$work/send.mjs" "$port" "$1"
    kill -QUIT "$v"; wait "$v" || true
    grep -o 'Collected : [0-9]*' "$work/vg.err" | awk '{print $3}'
  }
  short=$(count 1000); long=$(count 3000)
  echo "nginx, access log $mode: $(( (long - short) / 2000 )) instructions per request"
done
