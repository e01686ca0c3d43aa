#!/usr/bin/env bash
# The test command of the README and of CI: set up, lint, then the whole suite (unit, golden, end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run -s lint
node --test --test-concurrency=1 --test-timeout=120000 dist/test/
