# Sourced by scripts/demo.sh and scripts/test.sh: set the checkout up on a fresh
# machine (a .venv here, an editable install of runwatch with its test extras,
# which runs npm install and bundles js/ into src/runwatch/static/);
# when already set up, only rebuild what changed. Defines $venv and $py.
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
bundle=src/runwatch/static/bundle.js
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "== npm ci"
    npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f "$bundle" ] || [ ! -f src/runwatch/static/widget.js ] \
    || [ -n "$(find js package.json scripts/build-widget.mjs -newer "$bundle" -print -quit)" ]; then
    echo "== npm run build"
    npm run --silent build
fi
[ -s "$bundle" ] || { echo "error: $bundle was not built" >&2; exit 1; }
# The PostgreSQL store's tests start a server of their own from Debian's packages
# (which keep initdb in /usr/lib/postgresql/<version>/bin, off PATH).
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "== apt-get install postgresql"
    apt-get update -qq && apt-get install -y -qq postgresql
fi
