#!/usr/bin/env bash
# Run the Python SDK's tests against a real `tengine` binary.
# The binary: $TENGINE_BIN, else ${CARGO_TARGET_DIR:-<repo>/target}/debug/tengine.
# Creates .venv here if missing, installs the package with its dev extras, runs pytest.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv || exit 1
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]" || exit 1
log="$(mktemp)"
.venv/bin/python -m pytest "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary="$(grep -E '^(=+ )?([0-9]+ (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)|no tests ran)' "$log" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//')"
rm -f "$log"
echo "python sdk: ${summary:-no pytest summary} (exit $status)"
exit "$status"
