#!/usr/bin/env bash
# Builds @tengineai/sdk and runs its tests (node --test) against a real tengine server.
# The server binary: $TENGINE_BIN, else ${CARGO_TARGET_DIR:-../../target}/debug/tengine.
# Exits with the test runner's status.
set -uo pipefail
cd "$(dirname "$0")"

if [ ! -d node_modules ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund || exit $?; else npm install --no-audit --no-fund || exit $?; fi
fi
npm run --silent build || exit $?
rm -rf dist-test
npm run --silent build:test || exit $?

node --test --test-reporter=spec --test-concurrency="${TEST_CONCURRENCY:-4}" dist-test/*.test.js
status=$?
exit $status
