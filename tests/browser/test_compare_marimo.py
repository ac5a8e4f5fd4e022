"""Compare mode in a marimo app (``marimo run``), in headless Chromium (issue 16).

marimo's model fires a change event on every ``set``, equal or not, and applies a
kernel update one key at a time: a shift-click must set ``compared`` once, reach
Python (a second cell, rerun with the widget's value, prints it) and come back
without a loop; Esc must clear it the same way. A button runs a cell that sets
``compared`` from Python: the page must follow. The shift-click's round trip
to Python is timed per event (p50, p95, max).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import _latency
from ._marimo import no_errors, python_says, round_trip, serve_app
from ._page import PageLog, kept_on_failure
from ._server import Marimo
from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

APP = """\
import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo
    import numpy as np
    import runwatch as rw

    run = rw.Run("marimo-compare", primary_metric="accuracy", store="runs.db")
    if len(run.iterations()) == 0:
        rng = np.random.default_rng(0)
        for k in range(3):
            with run.iteration(f"model-{k}") as it:
                for split in ("train", "validation"):
                    y = rng.integers(0, 3, 200)
                    p = rng.dirichlet(np.ones(3), 200)
                    p[np.arange(200), y] += 0.3 * k + (0.4 if split == "train" else 0.0)
                    it.update(split, y, y_proba=p / p.sum(1, keepdims=True))
    # The cell that sets `compared` names the widget, not the wrapper: a cell naming
    # the wrapper reruns on each change of its value (and would set it again).
    widget = rw.RunDetails(run)
    view = mo.ui.anywidget(widget)
    view
    return mo, view, widget


@app.cell
def _(mo, view):
    mo.Html(f'<p class="compared">COMPARED {view.widget.compared}</p>')
    return


@app.cell
def _(mo):
    compare_first = mo.ui.button(label="compare model-1 from Python", value=0,
                                 on_click=lambda n: n + 1)
    compare_first
    return (compare_first,)


@app.cell
def _(compare_first, mo, widget):
    if compare_first.value:
        widget.compared = widget.run.get("model-1").id
    mo.Html(f'<p class="set-compared">SET {compare_first.value} {widget.compared}</p>')
    return


if __name__ == "__main__":
    app.run()
"""


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marimo]:
    """The app above, served by ``marimo run``."""
    with serve_app(tmp_path_factory.mktemp("marimo-compare"), APP) as server:
        yield server


def _python_holds(page, value: str) -> None:
    python_says(page, ".compared", f"COMPARED {value}")


#: JS run with the widget's root: shift-click the row of the iteration whose id is in `{}`.
SHIFT_CLICK = (
    "root.querySelector('tr.rw-row[data-id=\"{}\"]')"
    ".dispatchEvent(new MouseEvent('click', {{bubbles: true, shiftKey: true}}));"
)


def test_compare_reaches_python_in_marimo(marimo_app, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 3400})
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "compare-failure-marimo"):
        page.goto(marimo_app.page_url())
        rows = page.locator(".rw-root .rw-iterations tr.rw-row")
        rows.nth(2).wait_for(timeout=90_000)
        _python_holds(page, "None")
        ids = {f"model-{k}": rows.nth(k).get_attribute("data-id") for k in range(3)}
        rows.filter(has_text="model-0").click()
        page.locator(".rw-detail-title", has_text="Iteration #1: model-0").wait_for(timeout=5_000)

        rows.filter(has_text="model-2").click(modifiers=["Shift"])
        page.locator(".rw-compare-title", has_text="#1: model-0  vs  #3: model-2").wait_for(
            timeout=5_000
        )
        _python_holds(page, ids["model-2"])
        page.locator(".rw-diff-matrix").wait_for(timeout=5_000)
        page.locator(".rw-root").screenshot(path=str(ARTIFACTS / "compare-marimo.png"))

        page.locator(".rw-compare-metrics").click()
        page.keyboard.press("Escape")
        page.locator(".rw-detail-title", has_text="Iteration #1: model-0").wait_for(timeout=5_000)
        _python_holds(page, "None")
        assert page.locator(".rw-compare-title").count() == 0

        # Per event: a shift-click -> Python's cell rerun with the compared id.
        root = page.locator(".rw-root")
        took = []
        for k in range(12):
            name = ("model-1", "model-2")[k % 2]
            ms, text = round_trip(root, SHIFT_CLICK.format(ids[name]), ".compared")
            assert text == f"COMPARED {ids[name]}", text
            took.append(ms)
        _latency.report(
            ARTIFACTS / "compare-marimo-latency.json",
            {"shift-click -> Python's cell rerun": took},
        )

        # From Python: a button's cell sets `compared`; the page follows.
        page.get_by_role("button", name="compare model-1 from Python").click()
        python_says(page, ".set-compared", f"SET 1 {ids['model-1']}")
        page.locator(".rw-compare-title", has_text="#1: model-0  vs  #2: model-1").wait_for(
            timeout=10_000
        )
        page.wait_for_timeout(500)  # not for correctness: lets a late error or toast show
        no_errors(page, log)
        log.assert_offline()
