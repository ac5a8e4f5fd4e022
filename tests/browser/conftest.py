"""Jupyter servers for the browser tests (shared/BROWSER-TESTS.md); Chromium is in tests/.

The launcher is in ``_server.py`` (bench_widget.py uses it too). A test that
takes ``jupyter`` runs once per front end, JupyterLab then Notebook 7: the
page helpers (``_page.py``) work in both, so one test body covers both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .._browser import require_chromium
from ._server import Jupyter, start_jupyter

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    """A JupyterLab server for the module's tests."""
    require_chromium()
    with start_jupyter("lab", tmp_path_factory.mktemp("lab")) as server:
        yield server


@pytest.fixture(scope="module", params=["lab", "notebook"], ids=["jupyterlab", "notebook7"])
def jupyter(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Jupyter]:
    """JupyterLab, then Notebook 7: one server of each for the module's tests."""
    require_chromium()
    with start_jupyter(request.param, tmp_path_factory.mktemp(request.param)) as server:
        yield server


def artifact(server: Jupyter, stem: str) -> Path:
    """Where a screenshot or figure `stem` of a test run on `server`'s front end goes.

    JupyterLab's keep their names; Notebook 7's get "-notebook7" before the suffix.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / stem
    if server.app == "lab":
        return path
    return path.with_name(f"{path.stem}-notebook7{path.suffix}")


def viewport(server: Jupyter, height: int) -> dict[str, int]:
    """The page size for `server`'s front end: `height`, or taller in Notebook 7.

    Notebook 7 scrolls the notebook inside its own panel, under a fixed header:
    its window is tall enough for the whole widget to be in view, or element
    screenshots come out clipped.
    """
    return {"width": 1400, "height": height if server.app == "lab" else max(height, 3400)}


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    """A Notebook 7 (``jupyter notebook``) server for the module's tests."""
    require_chromium()
    with start_jupyter("notebook", tmp_path_factory.mktemp("notebook7")) as server:
        yield server
