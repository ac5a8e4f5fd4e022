"""Fixtures shared by every test folder: a store path, store clean-up, the headless browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runwatch.tracking.store import Store

from ._browser import chromium


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Path of a store file that does not exist yet."""
    return str(tmp_path / "runs.db")


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    # Each test gets fresh Store objects; stop the writer threads it started.
    yield
    for store in list(Store._instances.values()):
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for the module's tests; a missing Chromium fails them."""
    with chromium() as b:
        yield b
