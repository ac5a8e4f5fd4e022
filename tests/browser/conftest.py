"""Jupyter servers for the browser tests (shared/BROWSER-TESTS.md); Chromium is in tests/.

The launcher is in ``_server.py`` (bench_widget.py uses it too).
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


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    """A Notebook 7 (``jupyter notebook``) server for the module's tests."""
    require_chromium()
    with start_jupyter("notebook", tmp_path_factory.mktemp("notebook7")) as server:
        yield server
