"""Compare mode in a marimo app (``marimo run``), in headless Chromium (issue 16).

marimo's model fires a change event on every ``set``, equal or not, and applies a
kernel update one key at a time: a shift-click must set ``compared`` once, reach
Python (a second cell, rerun with the widget's value, prints it) and come back
without a loop; Esc must clear it the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .._browser import require_chromium
from ._page import PageLog, kept_on_failure
from ._server import Marimo, start_marimo
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
    view = mo.ui.anywidget(rw.RunDetails(run))
    view
    return mo, view


@app.cell
def _(mo, view):
    mo.Html(f'<p class="compared">COMPARED {view.widget.compared}</p>')
    return


if __name__ == "__main__":
    app.run()
"""


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marimo]:
    """The app above, served by ``marimo run``."""
    require_chromium()
    app_py = tmp_path_factory.mktemp("marimo-compare") / "app.py"
    app_py.write_text(APP)
    with start_marimo(app_py) as server:
        yield server


def _python_holds(page, value: str) -> None:
    page.wait_for_function(
        "(want) => document.querySelector('.compared')?.textContent === want",
        arg=f"COMPARED {value}",
        timeout=15_000,
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
        page.wait_for_timeout(500)  # not for correctness: lets a late error or toast show
        errors = [c for c in log.console if c.startswith(("error:", "pageerror:"))]
        assert errors == [], errors
        assert page.get_by_text("Failed to update model value").count() == 0
        log.assert_offline()
