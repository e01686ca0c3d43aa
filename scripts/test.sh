#!/usr/bin/env bash
# The test command of the README and of CI: set up, lint, then the whole suite (unit, golden, end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run -s lint
# The TAP stream, then the failures again at its end (scripts/failures-reporter.mjs), where a CI log's tail shows them.
node --test --test-concurrency=1 --test-timeout=120000 \
  --test-reporter=tap --test-reporter-destination=stdout \
  --test-reporter=./scripts/failures-reporter.mjs --test-reporter-destination=stdout \
  dist/test/
