#!/usr/bin/env bash
# Installs what Portico needs on a Debian machine (run as root): HAProxy and openssl from Debian, the npm
# dependencies, and the compiled JavaScript. Safe to run again: each step is skipped when already done. Arguments
# name more Debian packages by their command, e.g. `bash scripts/setup.sh valgrind` for test/perf/ or
# `bash scripts/setup.sh chromium` for the dashboard's browser test (CI installs both in .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v haproxy >/dev/null 2>&1 || need_apt+=(haproxy)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
for extra in "$@"; do command -v "$extra" >/dev/null 2>&1 || need_apt+=("$extra"); done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js >= 20.18 is required (Debian bookworm's nodejs is 18; use the NodeSource or official build)" >&2
  exit 1
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<18)) { console.error("setup: Node.js >= 20.18 is required, found "+process.versions.node); process.exit(1) }'

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run -s build
echo "setup: ready (haproxy $(haproxy -v | head -1 | awk '{print $3}'), node $(node --version))"
