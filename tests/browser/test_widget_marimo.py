"""RunDetails in a marimo app (``marimo run``), in headless Chromium.

marimo's anywidget model differs from Jupyter's where it matters here: its
``set`` fires a change event on every call, even of an equal value, and a
kernel update applies its keys one at a time. The test clicks an iteration
and waits for a second cell, which marimo reruns with the widget's value,
to print the pick that Python holds; it times that round trip, checks that
no error reached the console or a toast, and that the header takes one line
at the width marimo gives a cell. A second visit (a second session: marimo
runs each viewer's session in the same process) must get a working widget too.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator

import pytest

from ._marimo import no_errors, serve_app
from ._page import PageLog, header_fits, kept_on_failure
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

    run = rw.Run("marimo-sweep", primary_metric="accuracy", store="runs.db")
    if len(run.iterations()) == 0:  # each visit runs the app anew: log the run once
        rng = np.random.default_rng(0)
        for k in range(4):
            with run.iteration(f"model-{k}", params={"k": k}) as it:
                y = rng.integers(0, 3, 200)
                p = rng.dirichlet(np.ones(3), 200)
                p[np.arange(200), y] += 0.2 * k  # later models are better: model-3 is best
                it.update("validation", y, y_proba=p / p.sum(1, keepdims=True))
                for step in range(3):
                    it.log_loss(1.0 / (step + 1), split="train", step=step)
    view = mo.ui.anywidget(rw.RunDetails(run))
    view
    return mo, view


@app.cell
def _(mo, view):
    # marimo reruns this cell when the widget's value changes: Python's pick, in the page.
    mo.Html(f'<p class="picked">SELECTED {view.widget.selected}</p>')
    return


if __name__ == "__main__":
    app.run()
"""

#: Clicks timed for the click -> Python -> page round trip.
CLICKS = 20

#: In the page: click the row, then wait (a check per frame) until the picked cell
#: shows `id`; resolves to the milliseconds between the two.
ROUND_TRIP = """(tr, id) => new Promise((resolve, reject) => {
  const want = `SELECTED ${id}`;
  const t0 = performance.now();
  tr.click();
  const check = () => {
    if (document.querySelector('.picked')?.textContent === want) resolve(performance.now() - t0);
    else if (performance.now() - t0 > 30000) reject(new Error(`Python never read ${id}`));
    else requestAnimationFrame(check);
  };
  check();
})"""


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marimo]:
    """The app above, served by ``marimo run``."""
    with serve_app(tmp_path_factory.mktemp("marimo"), APP) as server:
        yield server


def picked(page) -> str:
    """What the second cell printed: Python's ``view.widget.selected``."""
    return page.locator(".picked").inner_text()


def open_app(page, marimo_app: Marimo) -> None:
    """Open the app and wait for the widget and for the second cell's first output."""
    page.goto(marimo_app.page_url())
    page.locator(".rw-root .rw-iterations tr.rw-row").nth(3).wait_for(timeout=90_000)
    page.locator(".picked").wait_for(timeout=30_000)


def test_pick_reaches_python_in_marimo(marimo_app, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    # marimo scrolls the app inside a box of the window's height: tall enough for the
    # whole widget, or element screenshots come out blank below the fold.
    page = browser.new_page(viewport={"width": 1400, "height": 3400})
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "failure-marimo"):
        open_app(page, marimo_app)
        rows = page.locator(".rw-iterations tr.rw-row")
        names = [f"model-{k}" for k in range(4)]
        ids = {name: rows.filter(has_text=name).get_attribute("data-id") for name in names}
        # Until a pick, Python holds the best iteration.
        assert picked(page) == f"SELECTED {ids['model-3']}"

        # A click reaches Python, and the page says nothing went wrong.
        rows.filter(has_text="model-1").click()
        # (The widget lives in a shadow root: locators pierce it, document.querySelector does not.)
        page.locator(".rw-detail-title", has_text="Iteration #2: model-1").wait_for(timeout=5_000)
        page.wait_for_function(
            "(want) => document.querySelector('.picked')?.textContent === want",
            arg=f"SELECTED {ids['model-1']}",
            timeout=15_000,
        )
        page.wait_for_timeout(500)  # not for correctness: lets a late error or toast show
        no_errors(page, log)

        # The round trip, click after click, each to another row.
        order = ["model-0", "model-2", "model-3", "model-1"]
        times = []
        for k in range(CLICKS):
            name = order[k % len(order)]
            row = rows.filter(has_text=name)
            times.append(row.evaluate(ROUND_TRIP, ids[name]))
        no_errors(page, log)
        times.sort()
        p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
        summary = (
            f"click -> Python -> page, {CLICKS} clicks: "
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {times[-1]:.0f} ms"
        )
        (ARTIFACTS / "marimo-round-trip.txt").write_text(summary + "\n")
        print(summary)

        # The header: one line at the width marimo gives a cell, nothing cut short.
        page.locator(".rw-header").screenshot(path=str(ARTIFACTS / "marimo-header-1400.png"))
        page.locator(".rw-root").screenshot(path=str(ARTIFACTS / "marimo-1400.png"))
        header_fits(page)
        assert page.locator(".rw-finished").inner_text().startswith("finished ")
        log.assert_offline()


def test_a_second_visit_gets_a_working_widget(marimo_app, browser):
    # Another session in the same marimo process, in a narrower window.
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 900, "height": 3400})
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "failure-marimo-second"):
        open_app(page, marimo_app)
        rows = page.locator(".rw-iterations tr.rw-row")
        assert rows.count() == 4
        row = rows.filter(has_text="model-2")
        want = row.get_attribute("data-id")
        row.click()
        page.wait_for_function(
            "(want) => document.querySelector('.picked')?.textContent === want",
            arg=f"SELECTED {want}",
            timeout=15_000,
        )
        # The details reach this session's page too (the kernel's messages, not only its state).
        page.locator(".rw-detail .rw-split").wait_for(timeout=15_000)
        page.locator(".rw-header").screenshot(path=str(ARTIFACTS / "marimo-header-900.png"))
        page.locator(".rw-root").screenshot(path=str(ARTIFACTS / "marimo-900.png"))
        header_fits(page)
        no_errors(page, log)
