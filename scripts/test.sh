#!/usr/bin/env bash
# Run every check: vitest and tsc (front end), ruff, pytest.
#
#   bash scripts/test.sh [pytest arguments...]
#
# Sets itself up on a fresh machine first (a .venv here, an editable install of
# runwatch with its test extras, which runs npm install and bundles js/ into
# src/runwatch/static/widget.js); when already set up it only rebuilds what changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# --- set-up (the same block as in scripts/demo.sh) ----------------------------
venv=.venv
py="$venv/bin/python"
if [ ! -x "$py" ]; then
    echo "== creating $venv"
    python3 -m venv "$venv"
fi
stamp="$venv/.runwatch-install-stamp"
want="$(cat pyproject.toml package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ] \
    || ! "$py" -c 'import runwatch, sys; sys.exit(not runwatch.__file__.startswith(sys.argv[1]))' \
        "$PWD/src/" 2>/dev/null; then
    log="$venv/runwatch-install.log"
    echo "== pip install -e \".[test]\" (npm install + front-end build included); log: $log"
    if ! "$py" -m pip install --disable-pip-version-check --progress-bar off -e ".[test]" \
        >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "error: pip install -e \".[test]\" failed; the full log is $log" >&2
        exit 1
    fi
    echo "$want" >"$stamp"
fi
# An editable install does not rebuild the bundle when js/ changes later: do it here.
bundle=src/runwatch/static/widget.js
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "== npm ci"
    npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f "$bundle" ] || [ -n "$(find js package.json -newer "$bundle" -print -quit)" ]; then
    echo "== npm run build"
    npm run --silent build
fi
[ -s "$bundle" ] || { echo "error: $bundle was not built" >&2; exit 1; }
command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
# ------------------------------------------------------------------------------

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
