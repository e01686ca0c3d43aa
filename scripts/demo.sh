#!/usr/bin/env bash
# The demo of the README: echo "pods" on loopback addresses and Portico serving examples/ on ports 8080/8443.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh curl
# A certificate for secure.example.com, made here so that no private key is ever committed.
tls_dir=$(mktemp -d)
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=secure.example.com \
  -addext subjectAltName=DNS:secure.example.com -keyout "$tls_dir/tls.key" -out "$tls_dir/tls.crt" 2>/dev/null
cat > "$tls_dir/secret.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata: { name: secure-example-tls, namespace: demo }
type: kubernetes.io/tls
data:
  tls.crt: $(base64 -w0 "$tls_dir/tls.crt")
  tls.key: $(base64 -w0 "$tls_dir/tls.key")
YAML

node examples/echo-pods.mjs 127.0.1.1:3000=web-1 127.0.1.2:3000=web-2 127.0.1.3:3000=web-3 127.0.2.1:3000=api-1 &
pods=$!
trap 'kill $pods 2>/dev/null || true; rm -rf "$tls_dir"' EXIT
cat <<'HINT'

Portico is starting on http://127.0.0.1:8080 and https://127.0.0.1:8443 (admin: http://127.0.0.1:10254/readyz).
Try, from another terminal:
  curl -H 'Host: shop.example.com' http://127.0.0.1:8080/            # web-1, web-2, web-3 in turn
  curl -H 'Host: shop.example.com' http://127.0.0.1:8080/api/items   # api-1
  curl -H 'Host: pr-42.preview.example.com' http://127.0.0.1:8080/   # wildcard host -> api-1
  curl -i -H 'Host: secure.example.com' http://127.0.0.1:8080/       # 308 to HTTPS
  curl -kv --resolve secure.example.com:8443:127.0.0.1 https://secure.example.com:8443/  # its own certificate
  curl -i http://127.0.0.1:8080/                                     # 404 from Portico
  node bin/portico explain --manifests examples http://shop.example.com/api/items   # which route, and why
Open http://127.0.0.1:10254/ for the dashboard (routes, endpoints, rates, explain); one line per request is logged (as text: --access-log json for JSON).
Edit examples/demo.yaml while it runs: changes are live within a second. Ctrl-C stops.

HINT
node bin/portico serve --manifests examples --manifests "$tls_dir/secret.yaml" --log-format text --access-log text "$@"
