"""The replay slider in a marimo app (``marimo run``), in headless Chromium (issue 16).

marimo's model fires a change event on every ``set`` and applies a kernel
update one key at a time: a slider move must set ``replay_step`` once, reach
Python (a second cell, rerun with the widget's value, prints it with the
accuracy of that step) and come back without a loop; "Δ vs best" must draw.
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

    run = rw.Run("marimo-replay", store="runs.db")
    if len(run.iterations()) == 0:
        rng = np.random.default_rng(0)
        labels = np.array(["cat", "dog", "eel"])
        with run.iteration("epochs") as it:
            for e in range(5):
                y = rng.choice(labels, 100)
                it.update("validation", y, step=e,
                          y_pred=np.where(rng.random(100) < 0.4 + 0.1 * e, y, "cat"))
        with run.iteration("strong") as strong:
            y = rng.choice(labels, 100)
            strong.update("validation", y, y_pred=y)
    widget = rw.RunDetails(run)
    widget.selected = str(run.get("epochs").id)
    view = mo.ui.anywidget(widget)
    view
    return mo, run, view


@app.cell
def _(mo, run, view):
    step = view.widget.replay_step
    snaps = run.get("epochs").steps("validation")
    acc = [s.metrics["accuracy"] for s in snaps if s.step == step]
    mo.Html(f'<p class="replayed">REPLAY {step} {acc[0] if acc else None}</p>')
    return


if __name__ == "__main__":
    app.run()
"""


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marimo]:
    """The app above, served by ``marimo run``."""
    require_chromium()
    app_py = tmp_path_factory.mktemp("marimo-replay") / "app.py"
    app_py.write_text(APP)
    with start_marimo(app_py) as server:
        yield server


def _python_says(page) -> str:
    return page.locator(".replayed").inner_text()


def test_replay_reaches_python_in_marimo(marimo_app, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 3400})
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "replay-failure-marimo"):
        page.goto(marimo_app.page_url())
        slider = page.locator(".rw-root .rw-replay input[type=range]")
        slider.wait_for(timeout=90_000)
        page.locator(".replayed", has_text="REPLAY None None").wait_for(timeout=15_000)
        assert slider.get_attribute("max") == "4" and slider.input_value() == "4"
        slider.evaluate("(s) => { s.value = '1'; s.dispatchEvent(new Event('input')); }")
        page.locator(".replayed", has_text="REPLAY 1 ").wait_for(timeout=15_000)
        accuracy = float(_python_says(page).split()[-1])
        name = page.locator("td:text-is('accuracy')")
        shown = page.locator(".rw-root table.rw-metrics tr", has=name)
        assert float(shown.first.locator("td").nth(1).inner_text()) == pytest.approx(
            accuracy, abs=5e-5
        )
        assert page.locator(".rw-replay-value").inner_text() == "1 \u00b7 2 of 5"
        page.locator(".rw-replay input[type=checkbox]").check()
        page.locator(".rw-replay-matrix .rw-diff-matrix").wait_for(timeout=5_000)
        page.locator(".rw-root").screenshot(path=str(ARTIFACTS / "replay-marimo.png"))
        # back to the latest: None in Python, the slider at its end
        slider.evaluate("(s) => { s.value = s.max; s.dispatchEvent(new Event('input')); }")
        page.locator(".replayed", has_text="REPLAY None None").wait_for(timeout=15_000)
        assert slider.input_value() == "4"
        page.wait_for_timeout(500)  # not for correctness: lets a late error or toast show
        errors = [c for c in log.console if c.startswith(("error:", "pageerror:"))]
        assert errors == [], errors
        assert page.get_by_text("Failed to update model value").count() == 0
        log.assert_offline()
