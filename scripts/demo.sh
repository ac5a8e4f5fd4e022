#!/usr/bin/env bash
# The demo: a sweep of scikit-learn classifiers on the digits data, watched in the RunDetails widget.
#
#   bash scripts/demo.sh              # JupyterLab on notebooks/quickstart.ipynb (Ctrl-C to stop)
#   bash scripts/demo.sh --headless   # no browser: run the notebook, write a self-contained page
#
# The headless path is taken by itself when there is nobody to look: --headless,
# CI set, no display (no DISPLAY or WAYLAND_DISPLAY, outside macOS), no terminal,
# or no web browser Python can start. It prints the metrics table of
# examples/digits_sweep.py (the engine alone), then executes the quickstart
# notebook in build/runwatch-demo/ and writes runwatch-demo.html there (the
# widget on the finished run, opens offline in any browser).
#
# Sets itself up on a fresh machine first (a .venv here, an editable install of
# runwatch with its test extras, which runs npm install and bundles js/ into
# src/runwatch/static/); when already set up it only rebuilds what changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/_setup.sh
source scripts/_setup.sh


headless=0
lab=0
for arg in "$@"; do
    case "$arg" in
        --headless) headless=1 ;;
        --lab) lab=1 ;;
        *) echo "usage: bash scripts/demo.sh [--headless | --lab]" >&2; exit 2 ;;
    esac
done
if [ "$lab" = 0 ]; then
    case "${CI:-}" in "" | 0 | false | False | FALSE) ;; *) headless=1 ;; esac
    if [ "$(uname -s)" != Darwin ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then headless=1; fi
    if [ ! -t 0 ] || [ ! -t 1 ]; then headless=1; fi  # nobody to press Ctrl-C
    if [ "$headless" = 0 ] && ! "$py" -c 'import webbrowser; webbrowser.get()' 2>/dev/null; then
        headless=1
    fi
fi

if [ "$headless" = 0 ]; then
    echo "== JupyterLab on notebooks/quickstart.ipynb (Run > Run All Cells; Ctrl-C here to stop)"
    exec "$py" -m jupyter lab notebooks/quickstart.ipynb
fi

echo "== the engine alone: examples/digits_sweep.py"
"$py" examples/digits_sweep.py
echo
out=build/runwatch-demo
echo "== headless: executing notebooks/quickstart.ipynb in $out/"
rm -rf "$out"
mkdir -p "$out"
"$py" - "$out" <<'PY'
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

out = Path(sys.argv[1]).resolve()
nb = nbformat.read("notebooks/quickstart.ipynb", as_version=4)
started = time.perf_counter()
NotebookClient(
    nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(out)}}
).execute()
nbformat.write(nb, out / "quickstart.ipynb")
page = out / "quickstart.html"
if not page.is_file():
    sys.exit(f"error: the notebook did not write {page}")
final = page.replace(out / "runwatch-demo.html")
print(f"executed in {time.perf_counter() - started:.1f} s")
print(f"notebook with outputs: {out / 'quickstart.ipynb'}")
print(f"page (open it in a browser, works offline): {final}")
PY
