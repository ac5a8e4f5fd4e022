#!/usr/bin/env bash
# Run every check: vitest and tsc (front end), ruff, pytest.
#
#   bash scripts/test.sh [pytest arguments...]
#
# Sets itself up on a fresh machine first (a .venv here, an editable install of
# runwatch with its test extras, which runs npm install and bundles js/ into
# src/runwatch/static/); when already set up it only rebuilds what changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/_setup.sh
source scripts/_setup.sh
# The browser tests drive Debian's Chromium (Playwright's own download cannot run here).
command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# Every check runs even when an earlier one fails; the script fails if any did.
failed=()
echo "== vitest"
npm test --silent || failed+=(vitest)
echo "== tsc"
npm run --silent typecheck || failed+=(tsc)
echo "== ruff"
"$venv/bin/ruff" check . || failed+=(ruff)
echo "== pytest"
rc=0
"$py" -m pytest "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "error: pytest collected no tests; that is a failure, not a pass" >&2
fi
[ "$rc" -eq 0 ] || failed+=("pytest (exit $rc)")
if [ "${#failed[@]}" -gt 0 ]; then
    echo "scripts/test.sh: failed: ${failed[*]}" >&2
    exit 1
fi
