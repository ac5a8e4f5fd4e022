"""Helpers for the marimo browser tests: serving an app, reading Python's side, timing round trips.

In a marimo app the widget is wrapped (``mo.ui.anywidget``) and what Python
holds is read back from a cell that marimo reruns when the widget's value
changes: the tests wait for that cell's text. The widget lives in a shadow
root: Playwright's locators pierce it, ``document.querySelector`` does not
(page scripts get the widget's root as an element handle instead).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._browser import require_chromium
from ._page import PageLog
from ._server import Marimo, start_marimo


@contextmanager
def serve_app(folder: Path, source: str) -> Iterator[Marimo]:
    """Write `source` as ``app.py`` in `folder` and serve it (``marimo run``) for the block."""
    require_chromium()
    app_py = folder / "app.py"
    app_py.write_text(source)
    with start_marimo(app_py) as server:
        yield server


def no_errors(page: Any, log: PageLog) -> None:
    """No error in the console, and no toast of a failed model update."""
    errors = [c for c in log.console if c.startswith(("error:", "pageerror:"))]
    assert errors == [], errors
    assert page.get_by_text("Failed to update model value").count() == 0


def python_says(page: Any, css: str, want: str, timeout: float = 15_000) -> None:
    """Wait until the (light DOM) element `css`, a cell's output, reads `want`."""
    page.wait_for_function(
        "([css, want]) => document.querySelector(css)?.textContent === want",
        arg=[css, want],
        timeout=timeout,
    )


def output_text(page: Any, css: str) -> str:
    """The text of the (light DOM) element `css`, once it is there."""
    page.locator(css).wait_for(timeout=30_000)
    return page.locator(css).inner_text()


#: In the page: run `act` (a function of the widget's root), then wait, a check per
#: frame, until the light-DOM element `css` no longer reads what it read before;
#: resolves to the milliseconds between the two and the new text.
_ROUND_TRIP = """async (root, [act, css]) => {
  const read = () => document.querySelector(css)?.textContent;
  const before = read();
  const t0 = performance.now();
  new Function('root', act)(root);
  for (;;) {
    const now = read();
    if (now !== before) return [performance.now() - t0, now];
    if (performance.now() - t0 > 30000) throw new Error(`${css} never changed`);
    await new Promise((r) => requestAnimationFrame(() => r()));
  }
}"""


def round_trip(root: Any, act: str, css: str) -> tuple[float, str]:
    """Time `act` (JS run with ``root``, the widget's root) until Python's cell `css` reruns.

    Returns the milliseconds and the cell's new text: the page -> kernel ->
    cell rerun -> page path a user waits on.
    """
    ms, text = root.evaluate(_ROUND_TRIP, [act, css])
    return ms, text


def wait_json(page: Any, css: str, test: str, timeout: float = 15_000) -> Any:
    """Wait until the JSON in the element `css` passes `test` (a JS expression of ``v``).

    Returns that JSON, parsed.
    """
    page.wait_for_function(
        """([css, test]) => {
          const text = document.querySelector(css)?.textContent;
          if (text === undefined) return false;
          return new Function('v', `return (${test});`)(JSON.parse(text));
        }""",
        arg=[css, test],
        timeout=timeout,
    )
    return json.loads(page.locator(css).inner_text())
