"""The package as shipped: the wheel carries the bundle, imports stay light, names load lazily."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import runwatch

ROOT = Path(__file__).resolve().parents[1]

# What a built tree or an install leaves behind: never part of a clean checkout.
_NOT_SOURCE = (
    ".git", ".venv", "node_modules", "static", "__pycache__", ".pytest_cache", ".ruff_cache",
    ".hypothesis", "dist", "build", "*.egg-info", "runwatch.db*", "artifacts",
)  # fmt: skip

# An import of code from the network, minified or not: from"https://…", import("//…").
_REMOTE_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["'`](?:https?:)?//""")
_CDN_HOSTS = (
    "esm.sh", "esm.run", "cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com",
    "cdn.skypack.dev", "ga.jspm.io", "jspm.dev",
)  # fmt: skip


def _clean_checkout(dest: Path) -> Path:
    """Copy the source tree to ``dest`` as a fresh clone would have it (no bundle, no node_modules).

    With git, the files are the tracked and the untracked-but-not-ignored ones, so the working
    copy's uncommitted changes are built too; without it, known build leftovers are skipped.
    """
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
    )
    if listed.returncode == 0 and listed.stdout:
        for name in listed.stdout.decode().split("\0"):
            source = ROOT / name
            if name and source.is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest / name)
    else:
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*_NOT_SOURCE), dirs_exist_ok=True)
    assert not (dest / "src/runwatch/static").exists()
    assert not (dest / "node_modules").exists()
    return dest


@pytest.mark.slow
def test_wheel_ships_the_bundle_built_from_a_clean_checkout(tmp_path):
    tree = _clean_checkout(tmp_path / "checkout")
    out = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(tree)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = f"{built.stdout[-4000:]}\n{built.stderr[-4000:]}"
    assert built.returncode == 0, f"wheel build failed:\n{log}"
    (wheel,) = out.glob("runwatch-*.whl")

    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert {"runwatch/static/widget.js", "runwatch/static/bundle.js"} <= names, sorted(names)
        loader = zf.read("runwatch/static/widget.js").decode("utf-8")
        bundle = zf.read("runwatch/static/bundle.js").decode("utf-8")
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = zf.read(entry_points).decode()

    assert "runwatch/py.typed" in names
    assert not any(n.startswith(("js/", "node_modules/")) or "/node_modules/" in n for n in names)
    assert "export default" in loader, "widget.js is not an ES module"
    assert "export" in bundle, "bundle.js is not an ES module"
    assert len(bundle) > 100_000, "the bundle lacks the front end (vega alone is larger)"
    code = loader + bundle
    remote = _REMOTE_IMPORT.findall(code)
    assert not remote, f"the front end imports code from the network: {remote}"
    cdn = [host for host in _CDN_HOSTS if host in code]
    assert not cdn, f"the front end names CDN hosts {cdn}: the widget must work offline"
    assert "runwatch = runwatch.cli:main" in scripts


@pytest.mark.parametrize("module", ["runwatch", "runwatch.metrics", "runwatch.tracking"])
def test_importing_the_engine_leaves_the_widget_stack_unloaded(module):
    heavy = ["anywidget", "ipywidgets", "traitlets", "altair", "runwatch.widget", "psycopg"]
    if module == "runwatch.metrics":
        heavy.append("pandas")  # DESIGN.md: the engine never imports pandas at import time
    code = (
        "import importlib, json, sys\n"
        f"module = importlib.import_module({module!r})\n"
        f"loaded = sorted(m for m in {heavy!r} if m in sys.modules)\n"
        "print(json.dumps([getattr(module, '__file__', None), loaded]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    error = (done.stderr.strip().splitlines() or ["?"])[-1]
    assert done.returncode == 0, f"import {module} failed: {error}"
    path, loaded = json.loads(done.stdout.splitlines()[-1])
    assert path is not None, f"{module} is a namespace package: its __init__.py is missing"
    assert loaded == [], f"import {module} loaded {loaded}"


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        runwatch.no_such_name  # noqa: B018
    assert not hasattr(runwatch, "no_such_name")
    with pytest.raises(ImportError):
        from runwatch import no_such_name  # noqa: F401


def test_a_missing_submodule_is_named_in_the_error(monkeypatch):
    monkeypatch.setitem(runwatch._LAZY, "Ghost", "runwatch._no_such_module")
    with pytest.raises(AttributeError, match=r"runwatch\.Ghost.*runwatch\._no_such_module"):
        runwatch.Ghost  # noqa: B018


def test_lazy_names_are_imported_on_first_access_and_kept(monkeypatch):
    monkeypatch.setitem(runwatch._LAZY, "dumps", "json")
    try:
        assert "dumps" not in vars(runwatch)
        assert runwatch.dumps is json.dumps
        assert vars(runwatch)["dumps"] is json.dumps  # cached: __getattr__ runs once
    finally:
        vars(runwatch).pop("dumps", None)


def test_dir_lists_the_lazy_names_and_version():
    names = dir(runwatch)
    for name in ("Run", "Iteration", "runs", "open_run", "import_json", "RunDetails"):
        assert name in names
        assert name in runwatch.__all__
    assert isinstance(runwatch.__version__, str) and runwatch.__version__
