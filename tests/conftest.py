"""Fixtures shared by every test folder: the headless browser (``tests/_browser.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ._browser import chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for the module's tests; a missing Chromium fails them."""
    with chromium() as b:
        yield b
