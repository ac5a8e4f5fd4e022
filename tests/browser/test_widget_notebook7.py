"""RunDetails in Notebook 7 (``jupyter notebook``), in headless Chromium.

Notebook 7 is built from JupyterLab's pieces but is its own page (one notebook,
no status bar, other settings flags), so the widget is checked there too:
render, rows arriving while the cell runs, picking an iteration (and Python
reading the pick), the confusion-matrix mode switch, and no request leaving
127.0.0.1. Cell 1's last iteration logs until the test drops a ``stop`` file,
so the mid-run window lasts exactly as long as the test needs it.
"""

from __future__ import annotations

import pytest

from . import _iterations
from ._cells import IMPORTS, MODELS
from ._page import (
    PageLog,
    cell_output,
    detail_title_is,
    kept_on_failure,
    open_notebook,
    prompt,
    run_cell,
    wait_cell_done,
)
from ._server import write_notebook
from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

SETUP = (
    IMPORTS
    + """
X, y = load_digits(return_X_y=True)
y = np.array([f"digit {v}" for v in y], dtype=object)
run = rw.Run("nb7-sweep", primary_metric="accuracy", labels=sorted(set(y)), store="runs.db")
w = rw.RunDetails(run)
w
"""
)

SWEEP = (
    MODELS
    + """\
for k, (name, model) in enumerate(models):
    with run.iteration(name, params={"k": k}) as it:
        model.fit(X[:1200], y[:1200])
        it.update("validation", y[1200:], y_proba=model.predict_proba(X[1200:]))
        last = k == len(models) - 1
        deadline = time.monotonic() + 60  # the cell ends even if the test never says stop
        step = 0
        while step < 4 or (last and not os.path.exists("stop") and time.monotonic() < deadline):
            it.log_loss(1.0 / (step + 1) + 0.05 * k, split="train", step=step)
            step += 1
            time.sleep(0.25 if last else 0.01)
"""
)

READ_BACK = 'print("SELECTED", w.selected)'


def test_run_details_in_notebook7(notebook7, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(notebook7.root / "nb7.ipynb", [SETUP, SWEEP, READ_BACK])
    # Notebook 7 scrolls the notebook inside its own panel, under a fixed header: tall
    # enough that the whole widget is in view, or element screenshots come out clipped.
    page = browser.new_page(viewport={"width": 1400, "height": 3400})
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "failure-notebook7"):
        open_notebook(page, notebook7.notebook_url("nb7.ipynb"))
        assert page.locator("#main-panel, .jp-NotebookPanel").count() >= 1
        assert "/notebooks/nb7.ipynb" in page.url

        # Render: the widget appears on the empty run.
        run_cell(page, 0)
        root = page.locator(".rw-root")
        root.wait_for(timeout=90_000)
        assert root.locator(".rw-title").inner_text() == "nb7-sweep"
        wait_cell_done(page, 0)

        # Live: the rows arrive while cell 1 still runs (its last iteration waits for us).
        run_cell(page, 1)
        # (The new row may show "queued" for a beat: created, not yet entered.)
        page.wait_for_function(
            "() => document.querySelectorAll('.rw-iterations tr.rw-row').length === 4"
            " && document.querySelector('.rw-count').textContent.startsWith('3 of 4')"
            " && document.querySelectorAll('.rw-iterations tr.rw-row')[3]"
            ".cells[2].textContent === 'running'",
            timeout=60_000,
        )
        assert "*" in prompt(page, 1), "cell 1 should still be running"
        rows = page.locator(".rw-iterations tr.rw-row")
        assert page.locator(".rw-badge").inner_text() == "running"

        # Until the user picks, the details follow the best iteration (the running KNN).
        # Waiting for it also keeps this test off a race the JupyterLab test covers: the
        # kernel moving its automatic selection just after a click in the page.
        detail_title_is(page, "Iteration #4: KNN", timeout=15_000)

        # Pick an iteration mid-run: the page shows it at once.
        picked = rows.filter(has_text="DecisionTree")
        picked_id = picked.get_attribute("data-id")
        picked.click()
        detail_title_is(page, "Iteration #2: DecisionTree")
        assert page.locator(".rw-iterations tr.rw-selected").get_attribute("data-id") == picked_id
        page.locator(".rw-matrix").wait_for(timeout=5_000)

        # The confusion matrix's classes: 7 most confused + "(other)", all 10, most common.
        def headers() -> list[str]:
            return page.locator(".rw-matrix thead th").all_inner_texts()

        assert len(headers()) == 9 and headers()[-1] == "(other)"
        page.select_option(".rw-mode select", "all")
        assert len(headers()) == 11 and "(other)" not in headers()
        assert page.locator(".rw-matrix td.rw-other").count() == 0
        page.select_option(".rw-mode select", "common")
        assert len(headers()) == 9 and headers()[-1] == "(other)"
        assert page.locator(".rw-matrix td.rw-other").count() == 15
        page.select_option(".rw-norm select", "row")
        assert page.locator(".rw-matrix td.rw-diag").first.inner_text().startswith(("0.", "1."))
        assert "*" in prompt(page, 1), "the details must show while the cell still runs"
        root.screenshot(path=str(ARTIFACTS / "notebook7-mid-run.png"))

        # Let the last iteration end: four done, the run completed.
        (notebook7.root / "stop").touch()
        page.wait_for_function(
            "() => document.querySelector('.rw-count').textContent.startsWith('4 of 4')"
            " && document.querySelector('.rw-badge').textContent === 'completed'",
            timeout=30_000,
        )
        wait_cell_done(page, 1)

        # Python reads the pick made in the page.
        run_cell(page, 2)
        text = cell_output(page, 2)
        assert f"SELECTED {picked_id}" in text, text

        # The end of cell 1 re-displayed the widget (so a saved notebook's summary shows
        # the finished run): a view drawn anew, before cell 2's output arrived. Its
        # details and mode switch work too.
        page.locator(".rw-chart-roc svg").first.wait_for(timeout=15_000)
        assert root.count() == 1
        assert page.locator(".rw-detail-title").inner_text() == "Iteration #2: DecisionTree"
        page.select_option(".rw-mode select", "all")
        assert len(headers()) == 11
        page.select_option(".rw-mode select", "common")
        assert len(headers()) == 9 and headers()[-1] == "(other)"
        root.screenshot(path=str(ARTIFACTS / "notebook7-widget.png"))
        page.screenshot(path=str(ARTIFACTS / "notebook7-full.png"), full_page=True)

        assert log.dialogs == []
        log.assert_offline()


def test_new_rows_never_wait_for_details_in_notebook7(notebook7, browser):
    # Twelve classes with probabilities: each finished iteration's details take a few
    # hundred ms to build and to draw. The next iteration's row must not wait for them.
    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(notebook7.root / "costly.ipynb", [_iterations.SETUP, _iterations.LOOP])
    page = browser.new_page(viewport={"width": 1400, "height": 3400})
    page.add_init_script(_iterations.SPY)
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "failure-notebook7-costly"):
        open_notebook(page, notebook7.notebook_url("costly.ipynb"))
        marks, seen = _iterations.run_sweep(page)
        print(_iterations.check_rows_never_wait_for_details(marks, seen))
        page.locator(".rw-root").first.screenshot(path=str(ARTIFACTS / "notebook7-costly.png"))
