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

log="$(mktemp)"
node --test --test-reporter=spec --test-concurrency="${TEST_CONCURRENCY:-4}" dist-test/*.test.js 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# One line, like the Python runner's: "typescript sdk: 63 tests, 63 pass, 0 fail, 0 skipped".
count() { grep -E "^ℹ $1 [0-9]+" "$log" | tail -n 1 | awk '{print $3}'; }
echo "typescript sdk: $(count tests) tests, $(count pass) pass, $(count fail) fail, $(count skipped) skipped (exit $status)"
rm -f "$log"
exit $status
