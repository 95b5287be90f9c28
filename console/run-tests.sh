#!/usr/bin/env bash
# The console's tests in Debian's Chromium (playwright-core) against the real tengine
# binary, on SQLite and then on PostgreSQL, plus the committed-build check.
# The server binary: $TENGINE_BIN, else ${CARGO_TARGET_DIR:-../target}/debug/tengine.
# Installs Chromium with apt when it is missing (as root), and the npm packages.
# Exits non-zero if any run fails; prints one summary line per backend.
set -uo pipefail
cd "$(dirname "$0")"

if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "console: installing Debian's chromium"
    (apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }) || exit $?
  else
    echo "console: chromium is missing; install Debian's chromium (apt-get install chromium) or set CHROMIUM" >&2
    exit 1
  fi
fi
if [ ! -d node_modules ]; then npm ci --no-audit --no-fund || exit $?; fi
rm -rf dist-tests
npx tsc -p tsconfig.test.json || exit $?

target="${CARGO_TARGET_DIR:-$(cd .. && pwd)/target}"
export TENGINE_BIN="${TENGINE_BIN:-$target/debug/tengine}"
export CARGO_TARGET_DIR="$target"
status=0
for backend in sqlite postgres; do
  log="$(mktemp)"
  # The committed-build check does not depend on the backend: it runs with SQLite only.
  files=(dist-tests/*.test.js)
  if [ "$backend" = postgres ]; then files=("${files[@]/dist-tests\/build.test.js}"); fi
  TENGINE_CONSOLE_BACKEND=$backend node --test --test-reporter=spec --test-concurrency=1 ${files[@]} 2>&1 | tee "$log"
  s=${PIPESTATUS[0]}
  count() { grep -E "^ℹ $1 [0-9]+" "$log" | tail -n 1 | awk '{print $3}'; }
  echo "console ($backend): $(count tests) tests, $(count pass) pass, $(count fail) fail, $(count skipped) skipped (exit $s)"
  rm -f "$log"
  [ "$s" = 0 ] || status=$s
done
echo "console: screenshots in $target/console-screenshots"
exit $status
