"""RunDetails in a real JupyterLab, in headless Chromium: render, live update, picking, safety.

One notebook drives most of it (starting JupyterLab and a kernel dominates the
time): cell 0 displays the widget on an empty run, cell 1 logs four digits
classifiers (the last one slowly), cell 2 prints what Python sees selected.
A second test follows a run that another process writes while no cell runs, and
walks its table with the arrow keys.
Screenshots go to tests/browser/artifacts/ (kept on failure too).
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout

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
    texts,
    wait_cell_done,
)
from ._server import write_notebook
from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"

SETUP = (
    IMPORTS
    + f"""
XSS = {XSS!r}
X, y = load_digits(return_X_y=True)
y = np.array([XSS if v == 3 else f"digit {{v}}" for v in y], dtype=object)
labels = sorted(set(y.tolist()))
run = rw.Run("browser-sweep", primary_metric="accuracy", labels=labels, store="runs.db")
w = rw.RunDetails(run)
w
"""
)

# KNN, last and slow, becomes the best mid-run.
SWEEP = (
    MODELS
    + """\
for k, (name, model) in enumerate(models):
    with run.iteration(name, params={"k": k, XSS: "<b>bold</b>"}) as it:
        model.fit(X[:1200], y[:1200])
        it.update("train", y[:1200], y_proba=model.predict_proba(X[:1200]))
        it.update("validation", y[1200:], y_proba=model.predict_proba(X[1200:]))
        last = k == len(models) - 1
        for step in range(120 if last else 4):  # the last one runs ~24 s: time to click mid-run
            it.log_loss(1.0 / (step + 1) + 0.05 * k, split="train", step=step)
            if last and step in (50, 110):  # validation: a lone point for ~12 s, then a line
                it.log_loss(0.6 / (step + 1), split="validation", step=step)
            time.sleep(0.2 if last else 0.02)
"""
)

READ_BACK = 'print("SELECTED", w.selected, "SPLIT", w.split, "CELL", w.selected_cell)'

SET_FROM_PYTHON = 'w.selected = str(run.get("DecisionTree").id)\nw.split = "validation"'

REGRESSION = """\
rng = np.random.default_rng(0)
reg = rw.Run("browser-regression", task="regression", primary_metric="r2_score", store="runs.db")
with reg.iteration("Ridge") as it:
    yt = rng.normal(size=400)
    it.update("validation", yt, y_pred=yt + rng.normal(scale=0.3, size=400))
    it.log_feature_importance(["width", "height", XSS], [0.6, -0.3, 0.1])
reg.flush()
rw.RunDetails(reg, live=False)
"""


def test_run_details_in_jupyterlab(lab, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(
        lab.root / "details.ipynb",
        [SETUP, SWEEP, READ_BACK, SET_FROM_PYTHON, "w", REGRESSION],
    )
    # Tall enough for the whole widget to fit in JupyterLab's scrolling notebook panel.
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "failure"):
        open_notebook(page, lab.notebook_url("details.ipynb"))

        # Render: the widget appears on an empty run.
        run_cell(page, 0)
        root = page.locator(".rw-root")
        root.wait_for(timeout=90_000)
        assert "browser-sweep" in root.locator(".rw-title").inner_text()

        # Live: rows arrive while cell 1 is still running.
        run_cell(page, 1)
        page.wait_for_function(
            "() => document.querySelectorAll('.rw-iterations tr.rw-row').length === 4"
            " && document.querySelector('.rw-count').textContent.startsWith('3 of 4')",
            timeout=60_000,
        )
        rows = page.locator(".rw-iterations tr.rw-row")
        # The new row may show "queued" for a beat (created, not yet entered).
        page.wait_for_function(
            "() => document.querySelectorAll('.rw-iterations tr.rw-row')[3]"
            ".cells[2].textContent === 'running'",
            timeout=10_000,
        )
        assert "*" in prompt(page, 1), "cell 1 should still be running"
        # The header's elapsed time runs with the run.
        ticking = page.locator(".rw-elapsed").inner_text()
        page.wait_for_function(
            "(t) => document.querySelector('.rw-elapsed').textContent !== t",
            arg=ticking,
            timeout=5_000,
        )

        # Pick iteration 1 mid-run: its details are already in the page.
        first = rows.filter(has_text="GaussianNB")
        first_id = first.get_attribute("data-id")
        first.click()
        page.wait_for_function(
            "() => document.querySelector('.rw-detail-title').textContent"
            " === 'Iteration #1: GaussianNB'",
            timeout=5_000,
        )
        assert page.locator(".rw-matrix").is_visible()
        assert page.locator(".rw-iterations tr.rw-selected").get_attribute("data-id") == first_id
        assert "*" in prompt(page, 1), "the details must show while the cell still runs"
        root.screenshot(path=str(ARTIFACTS / "widget-mid-run.png"))

        # Live loss: pick the running iteration; its loss line grows while the cell runs.
        rows.filter(has_text="KNN").click()
        line = page.locator(".rw-loss g.mark-line path").first
        line.wait_for(timeout=5_000)
        before = line.get_attribute("d")
        page.wait_for_function(
            "(d) => document.querySelector('.rw-loss g.mark-line path').getAttribute('d') !== d",
            arg=before,
            timeout=5_000,
        )
        assert "*" in prompt(page, 1), "the loss line must grow while the cell still runs"
        # Its validation loss, one point so far: a visible dot; a second point makes it
        # a line, and the dot goes (both arrive by changeset while the cell runs).
        lone_dots = (
            "() => [...document.querySelectorAll('.rw-loss g.mark-symbol.role-mark path')]"
            ".filter((p) => Number(p.getAttribute('opacity') ?? 1) > 0).length"
        )
        page.wait_for_function(f"({lone_dots})() === 1", timeout=15_000)
        page.locator(".rw-loss").screenshot(path=str(ARTIFACTS / "loss-live-lone-point.png"))
        page.wait_for_function(
            f"({lone_dots})() === 0 && document.querySelectorAll("
            "'.rw-loss g.mark-line.layer_0_marks path').length === 2",
            timeout=20_000,
        )
        page.locator(".rw-loss").screenshot(path=str(ARTIFACTS / "loss-live-two-points.png"))
        assert "*" in prompt(page, 1), "the validation line must come while the cell runs"
        first.click()
        page.wait_for_function(
            "() => document.querySelector('.rw-detail-title').textContent"
            " === 'Iteration #1: GaussianNB'",
            timeout=5_000,
        )

        # The run finishes: four done, one best row, the page still on the pick.
        page.wait_for_function(
            "() => document.querySelector('.rw-count').textContent.startsWith('4 of 4')",
            timeout=60_000,
        )
        page.wait_for_function(
            "() => !document.querySelectorAll('.jp-Notebook .jp-Cell')[1]"
            ".querySelector('.jp-InputPrompt').textContent.includes('*')",
            timeout=60_000,
        )
        # The elapsed time stopped with the run (the KNN loop alone takes ~24 s).
        took = page.locator(".rw-elapsed").inner_text()
        assert re.fullmatch(r"elapsed (\d\d\.\d s|\d+ min \d\d s)", took), took
        page.wait_for_timeout(1_500)
        assert page.locator(".rw-elapsed").inner_text() == took
        # The kernel's automatic selection moved to the new best (#4) meanwhile; the
        # page keeps the user's pick, which the kernel only hears about after the cell.
        best = page.locator(".rw-iterations tr.rw-best")
        assert best.count() == 1 and "KNN" in best.inner_text()
        assert page.locator(".rw-detail-title").inner_text() == "Iteration #1: GaussianNB"
        page.locator(".rw-chart-roc svg, .rw-chart-roc canvas").first.wait_for(timeout=15_000)

        # The detail panels: metrics by kind, per-class bars, every classification chart.
        groups = page.locator(".rw-metrics tr.rw-group").all_inner_texts()
        assert groups[0].lower() == "label" and {"threshold-free", "binary"} <= {
            g.lower() for g in groups
        }
        assert page.locator(".rw-metrics tbody tr").nth(1).get_attribute("data-metric") == (
            "accuracy"
        )
        for name in ("per_class", "roc", "pr", "lift", "gains", "calibration"):
            page.locator(f".rw-chart-{name} svg").first.wait_for(timeout=15_000)
        assert (
            page.locator(".rw-per-class-panel .rw-chart-per_class g.mark-rect path").count() == 20
        )
        # The loss legend lists only the splits with points (train here).
        legend = page.locator(".rw-loss .role-legend-label text")
        legend.first.wait_for(timeout=5_000)
        assert texts(legend) == ["train"]

        # The iterations chart: a point per iteration; clicking one selects it.
        points = page.locator(".rw-chart-iterations g.mark-symbol path")
        page.wait_for_function(
            "() => document.querySelectorAll('.rw-chart-iterations g.mark-symbol path').length"
            " === 4",
            timeout=10_000,
        )
        assert page.locator(".rw-chart-iterations g.mark-line path").count() == 1  # best so far
        points.nth(1).click()
        page.wait_for_function(
            "() => document.querySelector('.rw-detail-title').textContent"
            " === 'Iteration #2: DecisionTree'",
            timeout=5_000,
        )
        assert page.locator(".rw-iterations tr.rw-selected td").nth(1).inner_text() == (
            "DecisionTree"
        )
        # The metric picker swaps the charted metric.
        picker = page.locator(".rw-metric-picker select")
        options = picker.locator("option").all_inner_texts()
        assert options[0] == "accuracy" and "log_loss" in options and len(options) >= 20
        axis = page.locator(".rw-chart-iterations .role-axis-title text")
        assert "accuracy" in texts(axis)
        picker.select_option("log_loss")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.rw-chart-iterations .role-axis-title text')]"
            ".some((t) => t.textContent === 'log_loss')",
            timeout=5_000,
        )
        page.wait_for_function(
            "() => document.querySelectorAll('.rw-chart-iterations g.mark-symbol path').length"
            " === 4",
            timeout=5_000,
        )
        root.screenshot(path=str(ARTIFACTS / "widget-panels.png"))

        # A click on a curve's legend entry highlights its line (the other eleven, ten
        # classes and two averages, fade); a click on an empty spot brings them back.
        faded = (
            "() => [...document.querySelectorAll('.rw-chart-roc g.mark-line path')]"
            ".filter((p) => Number(p.getAttribute('opacity') ?? 1) < 0.5).length"
        )
        entry = page.locator(".rw-chart-roc .role-legend-label text", has_text="digit 0")
        assert page.evaluate(faded) == 0
        entry.click()
        page.wait_for_function(f"() => ({faded})() === 11", timeout=5_000)
        page.locator(".rw-chart-roc").screenshot(path=str(ARTIFACTS / "widget-roc-picked.png"))
        _click_empty_spot(page, ".rw-chart-roc")
        page.wait_for_function(f"() => ({faded})() === 0", timeout=5_000)
        points.nth(0).click()
        page.wait_for_function(
            "() => document.querySelector('.rw-detail-title').textContent"
            " === 'Iteration #1: GaussianNB'",
            timeout=5_000,
        )

        # Sorting by the metric puts the best row first.
        page.locator(".rw-iterations th[data-key=metric]").click()
        assert "rw-best" in (rows.first.get_attribute("class") or "")

        # A label that is markup shows as text, and nothing ran it.
        per_class = page.locator(".rw-per-class td").filter(has_text=re.compile("^<img"))
        assert per_class.count() == 1 and per_class.inner_text() == XSS
        page.select_option(".rw-mode select", "all")
        headers = page.locator(".rw-matrix thead th").all_inner_texts()
        assert XSS in headers and len(headers) == 11
        # So does a parameter's name or value (the detail lists the iteration's parameters).
        params = page.locator(".rw-detail .rw-params")
        assert texts(params.locator(".rw-param")) == ["k = 0", f"{XSS} = <b>bold</b>"]
        assert params.locator("b").count() == 0
        assert page.locator(".rw-root img").count() == 0
        assert log.dialogs == []

        # Matrix modes: top 7 + "(other)"; row-normalised values.
        page.select_option(".rw-mode select", "common")
        headers = page.locator(".rw-matrix thead th").all_inner_texts()
        assert len(headers) == 9 and headers[-1] == "(other)"
        page.select_option(".rw-norm select", "row")
        assert re.fullmatch(r"[01]\.\d\d", page.locator(".rw-matrix td.rw-diag").first.inner_text())
        # "(other)" cells are grey, outside the colour scale.
        grey = page.locator(".rw-matrix td.rw-other")
        assert grey.count() == 15
        assert grey.last.evaluate("(e) => getComputedStyle(e).backgroundColor") == (
            "rgb(232, 232, 232)"
        )

        # The class filter: pick any classes; the rest fold into "(other)".
        page.select_option(".rw-mode select", "pick")
        boxes = page.locator(".rw-class-filter input[type=checkbox]")
        assert boxes.count() == 10
        assert sum(boxes.nth(i).is_checked() for i in range(10)) == 7  # starts from the shown
        for i in range(10):
            if boxes.nth(i).is_checked():
                boxes.nth(i).uncheck()
        page.locator(".rw-class-filter label", has_text="digit 8").locator("input").check()
        page.locator(".rw-class-filter label", has_text=XSS).locator("input").check()
        headers = page.locator(".rw-matrix thead th").all_inner_texts()
        assert headers[1:] == [XSS, "digit 8", "(other)"], headers
        assert grey.count() == 5

        # Split selector: train metrics differ from validation's.
        def accuracy() -> str:
            return page.locator(".rw-metrics tr.rw-primary td").nth(1).inner_text()

        validation = accuracy()
        page.locator("button.rw-split[data-split=train]").click()
        page.wait_for_function(
            "() => document.querySelector('button.rw-split.rw-active').dataset.split === 'train'"
        )
        assert accuracy() != validation

        # Click an off-diagonal cell, then Python reads the picks.
        cell = page.locator(".rw-matrix td.rw-clickable:not(.rw-diag)").first
        title = cell.get_attribute("title") or ""
        cell.click()
        true, pred = (
            re.search(rf"^{k}: (.*)$", title, re.M).group(1) for k in ("true", "predicted")
        )
        root.screenshot(path=str(ARTIFACTS / "widget-final.png"))
        run_cell(page, 2)
        text = cell_output(page, 2)
        assert f"SELECTED {first_id} SPLIT train CELL ({true!r}, {pred!r})" in text, text
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-full.png"), full_page=True)

        # Setting the traits from Python moves the page.
        run_cell(page, 3)
        page.wait_for_function(
            "() => document.querySelector('.rw-detail-title').textContent"
            " === 'Iteration #2: DecisionTree'"
            " && document.querySelector('.rw-split.rw-active').dataset.split === 'validation'",
            timeout=15_000,
        )
        selected = page.locator(".rw-iterations tr.rw-selected")
        assert selected.locator("td").nth(1).inner_text() == "DecisionTree"

        # A view opened after the run starts from the snapshot trait: all four rows.
        run_cell(page, 4)
        second = page.locator(".rw-root").nth(1)
        second.wait_for(timeout=15_000)
        page.wait_for_function(
            "() => document.querySelectorAll('.rw-root')[1]"
            ".querySelectorAll('.rw-iterations tr.rw-row').length === 4",
            timeout=10_000,
        )
        assert second.locator(".rw-count").inner_text().startswith("4 of 4")
        assert second.locator(".rw-detail-title").inner_text() == "Iteration #2: DecisionTree"
        second.locator(".rw-chart-iterations g.mark-symbol path").first.wait_for(timeout=10_000)

        # A regression run: predicted vs true, residuals and feature importance.
        run_cell(page, 5)
        third = page.locator(".rw-root").nth(2)
        for name in ("predicted_vs_true", "residuals", "importance"):
            third.locator(f".rw-chart-{name} svg").first.wait_for(timeout=30_000)
        assert third.locator(".rw-matrix").count() == 0
        assert not third.locator(".rw-loss").is_visible()  # no losses logged: no empty frame
        # vega may put the svg in before its marks: wait for the bars, then count them.
        bars = third.locator(".rw-chart-importance g.mark-rect path")
        bars.nth(2).wait_for(timeout=10_000)
        assert bars.count() == 3
        assert third.locator(".rw-metrics tbody tr").nth(1).get_attribute("data-metric") == (
            "r2_score"
        )
        third.screenshot(path=str(ARTIFACTS / "widget-regression.png"))

        # Offline: nothing but the Jupyter server was asked for anything.
        log.assert_offline()


TABLES = (
    IMPORTS
    + """
X, y = load_digits(return_X_y=True)
run = rw.Run("tables", primary_metric="accuracy", store="tables.db")
with run.iteration("GaussianNB") as it:
    model = GaussianNB().fit(X[:1200], y[:1200])
    it.update("validation", y[1200:], y_proba=model.predict_proba(X[1200:]))
with run.iteration("net") as it:  # a training loop that logs losses only
    for step in range(20):
        it.log_loss(1.0 / (step + 1), split="train", step=step)
        it.log_loss(1.2 / (step + 1), split="validation", step=step)
run.flush()
rw.RunDetails(run, live=False)
"""
)

LOSSES_ONLY = """\
losses = rw.Run("losses-only", primary_metric="accuracy", store="tables.db")
for k in range(2):
    with losses.iteration(f"epochs-{k}") as it:
        for step in range(10):
            it.log_loss(1.0 / (step + 1) + k, split="train", step=step)
        it.log_loss(0.5 + k, split="validation", step=9)  # once: a lone point, no line
losses.flush()
rw.RunDetails(losses, live=False)
"""

#: Where the decimal point of every number cell of a table is, by column: [text, x] pairs.
POINTS = """(table) => {
  const columns = {};
  for (const td of table.querySelectorAll("tbody td.rw-num")) {
    const text = td.textContent;
    const at = text.indexOf(".");
    if (at < 0 || text.includes("e") || td.firstChild === null) continue;
    const range = document.createRange();
    range.setStart(td.firstChild, at);
    range.setEnd(td.firstChild, at + 1);
    (columns[td.cellIndex] ??= []).push([text, range.getBoundingClientRect().left]);
  }
  return columns;
}"""

NO_PREDICTIONS = "No predictions were logged for this iteration; its loss is charted below."


def test_numbers_line_up_and_a_loss_only_iteration_says_so(lab, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(lab.root / "tables.ipynb", [TABLES, LOSSES_ONLY])
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "failure-tables"):
        open_notebook(page, lab.notebook_url("tables.ipynb"))
        run_cell(page, 0)
        root = page.locator(".rw-root").first
        root.locator(".rw-per-class tbody tr").first.wait_for(timeout=90_000)

        # Every number column: one number of decimals, the points at one x.
        for table in (".rw-metrics", ".rw-per-class", ".rw-iterations"):
            columns = root.locator(f"table{table}").evaluate(POINTS)
            assert columns, table
            for at, cells in columns.items():
                if table == ".rw-iterations" and at not in ("4", "5"):
                    continue  # the index and the durations ("2.4 s") are not metrics
                decimals = {len(text.split(".")[1]) for text, _ in cells}
                assert len(decimals) == 1, (table, at, cells)
                xs = [x for _, x in cells]
                assert max(xs) - min(xs) < 0.5, (table, at, cells)
        style = root.locator(".rw-per-class td.rw-num").first.evaluate(
            "(td) => [getComputedStyle(td).textAlign, getComputedStyle(td).fontVariantNumeric]"
        )
        assert style == ["right", "tabular-nums"]
        root.locator(".rw-panels").screenshot(path=str(ARTIFACTS / "tables-aligned.png"))

        # The loss-only iteration: what is missing, its loss chart, no chart placeholder.
        root.locator(".rw-iterations tr.rw-row").filter(has_text="net").click()
        detail_title_is(page, "Iteration #2: net")
        assert root.locator(".rw-detail > p.rw-empty").inner_text() == NO_PREDICTIONS
        assert "Charts appear" not in root.locator(".rw-detail").inner_text()
        root.locator(".rw-loss svg").wait_for(timeout=10_000)
        assert root.locator(".rw-chart-iterations").is_visible()  # GaussianNB has a value
        root.screenshot(path=str(ARTIFACTS / "loss-only-iteration.png"))

        # A run of loss-only iterations draws no empty accuracy chart above its table.
        run_cell(page, 1)
        second = page.locator(".rw-root").nth(1)
        second.locator(".rw-loss svg").wait_for(timeout=30_000)
        detail_title_is(page, "Iteration #2: epochs-1", root=1)
        assert second.locator(".rw-detail > p.rw-empty").inner_text() == NO_PREDICTIONS
        assert not second.locator(".rw-iterchart").is_visible()
        # The validation loss logged once has no line: it must still be drawn, as a dot
        # in its split's colour (the hover points beside it are invisible).
        lone = (
            "(root) => [...root.querySelectorAll('.rw-loss g.mark-symbol.role-mark path')]"
            ".filter((p) => Number(p.getAttribute('opacity') ?? 1) > 0)"
            ".map((p) => p.getAttribute('fill'))"
        )
        page.wait_for_function(
            f"(r) => ({lone})(r).length > 0", arg=second.element_handle(), timeout=10_000
        )
        assert page.evaluate(lone, second.element_handle()) == ["#f58518"]
        second.locator(".rw-loss").screenshot(path=str(ARTIFACTS / "loss-lone-point.png"))
        second.screenshot(path=str(ARTIFACTS / "loss-only-run.png"))


# A run that another process logs into the store: created, then one phase per line it
# reads from stdin, each phase flushed to the store before it answers (lockstep with
# the test, so no timing decides what the page may show).
WRITER = """\
import sys
import numpy as np
import runwatch as rw

labels = ["bird", "cat", "dog"]
run = rw.Run("from-elsewhere", primary_metric="accuracy", labels=labels, store=sys.argv[1])
rng = np.random.default_rng(0)
y = rng.choice(labels, size=300)


def proba(noise):
    p = np.eye(3)[[labels.index(v) for v in y]] + rng.uniform(0, noise, size=(300, 3))
    return p / p.sum(axis=1, keepdims=True)


def phase(done):
    run.flush()
    print(done, flush=True)
    if not sys.stdin.readline():
        sys.exit("the test went away")


phase("created")
with run.iteration("alpha", params={"lr": 0.1}) as it:
    for step in range(5):
        it.log_loss(1.0 / (step + 1), step=step)
    phase("alpha running")
    it.update("validation", y, y_proba=proba(2.0))
with run.iteration("beta", params={"lr": 0.01}) as it:
    for step in range(3):
        it.log_loss(0.8 / (step + 1), step=step)
    phase("alpha completed, beta running")
    it.update("validation", y, y_proba=proba(0.5))
run.flush()
print("finished", flush=True)
"""


def test_run_written_by_another_process(lab, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    store = lab.root / "elsewhere.db"
    write_notebook(
        lab.root / "elsewhere.ipynb",
        [f"import runwatch as rw\nrw.RunDetails(rw.Run('from-elsewhere', store={str(store)!r}))"],
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pool = ThreadPoolExecutor(1)

    def said(expected: str) -> None:
        """Wait for the writer's next report (a phase written to the store)."""
        try:
            line = pool.submit(writer.stdout.readline).result(timeout=60)
        except FuturesTimeout:
            raise AssertionError(f"the writer did not report {expected!r}") from None
        assert line.strip() == expected, (line, writer.stderr.read() if not line else "")

    def go_on() -> None:
        writer.stdin.write("go\n")
        writer.stdin.flush()

    def status(name: str) -> str:
        row = page.locator(".rw-iterations tr.rw-row").filter(has_text=name)
        return row.locator("td").nth(2).inner_text()

    def shows(rows: dict[str, str], count: str, badge: str) -> None:
        """Wait until the table reads `rows` (name: status), the count and the run's badge."""
        page.wait_for_function(
            "([rows, count, badge]) => {"
            " const seen = [...document.querySelectorAll('.rw-iterations tr.rw-row')]"
            "   .map((tr) => tr.cells[1].textContent.replace(' \\u2605', '') + ':'"
            "     + tr.cells[2].textContent).sort().join(',');"
            " return seen === rows"
            "   && document.querySelector('.rw-count').textContent.startsWith(count)"
            "   && document.querySelector('.rw-badge').textContent === badge; }",
            arg=[",".join(sorted(f"{k}:{v}" for k, v in rows.items())), count, badge],
            timeout=30_000,
        )

    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    log = PageLog(page)
    try:
        with kept_on_failure(page, log, ARTIFACTS / "failure-other-process"):
            said("created")
            open_notebook(page, lab.notebook_url("elsewhere.ipynb"))
            run_cell(page, 0)
            page.locator(".rw-root .rw-title", has_text="from-elsewhere").wait_for(timeout=60_000)
            wait_cell_done(page, 0)
            assert page.locator(".rw-iterations tr.rw-row").count() == 0

            # The other process starts an iteration and logs losses: the row shows running,
            # its loss line draws; no cell runs in this notebook meanwhile.
            go_on()
            said("alpha running")
            shows({"alpha": "running"}, "0 of 1", "running")
            assert writer.poll() is None and "*" not in prompt(page, 0)
            page.locator(".rw-iterations tr.rw-row", has_text="alpha").click()
            detail_title_is(page, "Iteration #1: alpha")
            page.locator(".rw-loss g.mark-line path").first.wait_for(timeout=10_000)
            assert "No predictions logged" in page.locator(".rw-detail").inner_text()

            # Predictions complete the first iteration; a second one runs.
            go_on()
            said("alpha completed, beta running")
            shows({"alpha": "completed", "beta": "running"}, "1 of 2", "running")
            assert writer.poll() is None and "*" not in prompt(page, 0)
            page.locator(".rw-matrix").wait_for(timeout=10_000)  # alpha's, from its predictions
            assert page.locator(".rw-metrics tr.rw-primary").count() == 1
            assert page.locator(".rw-detail-title").inner_text() == "Iteration #1: alpha"

            # Arrow keys on the focused table move the selection along the rows shown (and
            # not the notebook's active cell), a running row included; the first row is as
            # far up as it goes.
            active = "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"
            cell_before = page.evaluate(active)
            selected = page.locator(".rw-iterations tr.rw-selected")
            alpha_id = selected.get_attribute("data-id")
            page.locator(".rw-table-wrap").focus()
            page.keyboard.press("ArrowDown")
            detail_title_is(page, "Iteration #2: beta")
            assert selected.count() == 1 and "beta" in selected.inner_text()
            assert page.evaluate(active) == cell_before
            page.keyboard.press("ArrowUp")
            detail_title_is(page, "Iteration #1: alpha")
            assert selected.get_attribute("data-id") == alpha_id
            page.keyboard.press("ArrowUp")
            assert selected.get_attribute("data-id") == alpha_id
            assert page.locator(".rw-detail-title").inner_text() == "Iteration #1: alpha"

            # The writer ends: both completed, the run completed, the better one best.
            go_on()
            said("finished")
            assert writer.wait(30) == 0, writer.stderr.read()
            shows({"alpha": "completed", "beta": "completed"}, "2 of 2", "completed")
            best = page.locator(".rw-iterations tr.rw-best")
            page.wait_for_function(
                "() => document.querySelectorAll('.rw-iterations tr.rw-best').length === 1",
                timeout=10_000,
            )
            assert "beta" in best.inner_text()
            assert "*" not in prompt(page, 0)
            page.locator(".rw-root").screenshot(path=str(ARTIFACTS / "widget-other-process.png"))

            # The page opened again (saved, reloaded; the kernel runs on): the widget comes
            # back from the kernel's models, the front end's shared one among them, which the
            # page gets in no set order (the loader waits for it).
            page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
            open_notebook(page, lab.notebook_url("elsewhere.ipynb"))
            shows({"alpha": "completed", "beta": "completed"}, "2 of 2", "completed")
            page.locator(".rw-matrix").wait_for(timeout=10_000)
            assert page.locator(".rw-root").count() == 1
            log.assert_offline()
    finally:  # the writer process goes whatever happened
        if writer.poll() is None:
            writer.kill()
        writer.wait()
        pool.shutdown(wait=False)
        for f in (writer.stdin, writer.stdout, writer.stderr):
            f.close()


# 14 classes of unequal difficulty (the per-class bars and the legend must be read) and
# a noisy loss that drops fast (train every step, validation every tenth).
CHARTS_RUN = """\
import numpy as np
import runwatch as rw
rng = np.random.default_rng(0)
labels = [f"class {i:02d}" for i in range(14)]
run = rw.Run("charts", labels=labels, store="charts.db")
y = rng.integers(0, 14, 3000)
logits = rng.normal(size=(3000, 14)) + rng.uniform(0.3, 3, 14)[y, None] * np.eye(14)[y]
proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
with run.iteration("model") as it:
    it.update("validation", np.asarray(labels, dtype=object)[y], y_proba=proba)
    for s in range(300):
        it.log_loss(2 * np.exp(-s / 30) + 0.02 + 0.05 * rng.random(), split="train", step=s)
        if s % 10 == 0:
            v = 2 * np.exp(-s / 35) + 0.08 + 0.03 * rng.random()
            it.log_loss(v, split="validation", step=s)
run.flush()
f1 = run.get("model").engine("validation").per_class()["f1"]
print("WORST_FIRST", "|".join(f1.sort_values(kind="stable").index))
w = rw.RunDetails(run, live=False)
w
"""

# Each ROC line's stroke, opacity and width, and the legend's colour of each series.
LINES = """(root) => [...root.querySelectorAll('.rw-chart-roc g.mark-line path')].map((p) => ({
  stroke: p.getAttribute('stroke'), opacity: Number(p.getAttribute('opacity') ?? 1),
  width: Number(p.getAttribute('stroke-width')), dash: p.getAttribute('stroke-dasharray')}))"""
LEGEND = """(root) => {
  const chart = root.querySelector('.rw-chart-roc');
  const names = [...chart.querySelectorAll('.role-legend-label text')].map((t) => t.textContent);
  const colours = [...chart.querySelectorAll('.role-legend-symbol path')]
    .map((p) => p.getAttribute('stroke'));
  return names.map((n, i) => [n, colours[i]]);
}"""


def _click_empty_spot(page, chart: str, root: int = 0) -> None:
    """Click the plot of a curve chart where no line runs: below its diagonal, at the right."""
    box = (
        page.locator(".rw-root").nth(root).locator(f"{chart} g.mark-rule.role-mark").bounding_box()
    )
    page.mouse.click(box["x"] + 0.92 * box["width"], box["y"] + 0.9 * box["height"])


def _lit(lines: list[dict]) -> list[str]:
    """The strokes of the lines drawn opaque while the others are faint."""
    if all(line["opacity"] == 1 for line in lines):
        return []
    assert {line["opacity"] for line in lines} == {1, 0.15}, lines
    return [line["stroke"] for line in lines if line["opacity"] == 1]


def test_curve_highlights_bars_order_and_loss_controls(lab, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(lab.root / "charts.ipynb", [CHARTS_RUN, "w"])
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "failure-charts"):
        open_notebook(page, lab.notebook_url("charts.ipynb"))
        run_cell(page, 0)
        root = page.locator(".rw-root").first
        root.locator(".rw-chart-roc g.mark-line path").first.wait_for(timeout=90_000)
        worst = cell_output(page, 0).split("WORST_FIRST ", 1)[1].split("\n")[0].split("|")

        # The per-class bars: lowest F1 at the top, as the subtitle says.
        bars = root.locator(".rw-chart-per_class")
        bars.locator("g.mark-rect path").first.wait_for(timeout=30_000)
        for name in ("calibration", "loss"):
            root.locator(f".rw-chart-{name} svg, .rw-{name} svg").first.wait_for(timeout=30_000)
        labels = texts(bars.locator(".role-axis-label text"))
        assert labels[-14:] == worst or labels[:14] == worst, labels
        assert "by F1, worst first" in texts(bars.locator(".role-title-subtitle text"))

        # The averages lead the legend, black and dark grey, dashed and thicker.
        legend = dict(page.evaluate(LEGEND, root.element_handle()))
        names = [n for n, _ in page.evaluate(LEGEND, root.element_handle())]
        assert names[:2] == ["micro average", "macro average"] and len(names) == 16
        assert legend["micro average"] == "#000000" and legend["macro average"] == "#555555"
        lines = page.evaluate(LINES, root.element_handle())
        averages = [line for line in lines if line["stroke"] in ("#000000", "#555555")]
        assert len(averages) == 2 and all(a["dash"] and a["width"] == 2.5 for a in averages)
        assert len(set(legend.values())) == 16  # a colour each
        assert _lit(lines) == []
        roc = root.locator(".rw-chart-roc")
        roc.screenshot(path=str(ARTIFACTS / "charts-roc-before.png"))

        # Hover: the line under the pointer is lit and thicker, every other faint.
        target = page.evaluate(
            """(root) => {
              const pts = [...root.querySelectorAll('.rw-chart-roc g.mark-symbol path')]
                .filter((p) => (p.getAttribute('aria-label') || '').includes('line: class 05;'));
              const r = pts[Math.floor(pts.length / 3)].getBoundingClientRect();
              return [r.x + r.width / 2, r.y + r.height / 2];
            }""",
            root.element_handle(),
        )
        page.mouse.move(*target)
        under = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).getAttribute('aria-label')", target
        )
        series = re.search(r"line: ([^;]+);", under).group(1)  # the topmost point there
        page.wait_for_function(
            f"(r) => ({LINES})(r).some((l) => l.width === 3.5)", arg=root.element_handle()
        )
        lines = page.evaluate(LINES, root.element_handle())
        assert _lit(lines) == [legend[series]]
        assert [line["width"] for line in lines if line["opacity"] == 1] == [3.5]
        roc.screenshot(path=str(ARTIFACTS / "charts-roc-hover.png"))
        page.mouse.move(5, 5)
        page.wait_for_function(
            f"(r) => ({LINES})(r).every((l) => l.opacity === 1)", arg=root.element_handle()
        )

        # Legend: a click picks one line, a shift-click adds one, an empty spot resets.
        entry = roc.locator(".role-legend-label text")
        entry.filter(has_text="class 07").click()
        page.mouse.move(5, 5)
        page.wait_for_function(
            f"(r) => ({LINES})(r).some((l) => l.opacity < 1)", arg=root.element_handle()
        )
        assert _lit(page.evaluate(LINES, root.element_handle())) == [legend["class 07"]]
        entry.filter(has_text="micro average").click(modifiers=["Shift"])
        page.mouse.move(5, 5)
        page.wait_for_function(
            f"(r) => ({LINES})(r).filter((l) => l.opacity === 1).length === 2",
            arg=root.element_handle(),
        )
        assert sorted(_lit(page.evaluate(LINES, root.element_handle()))) == sorted(
            [legend["class 07"], "#000000"]
        )
        roc.screenshot(path=str(ARTIFACTS / "charts-roc-picked.png"))
        _click_empty_spot(page, ".rw-chart-roc")
        page.wait_for_function(
            f"(r) => ({LINES})(r).every((l) => l.opacity === 1)", arg=root.element_handle()
        )
        root.locator(".rw-chart-calibration").screenshot(
            path=str(ARTIFACTS / "charts-calibration.png")
        )
        assert root.locator(".rw-chart-calibration .role-legend").count() == 1  # no size legend

        # Loss: the log axis and TensorBoard's smoothing, under the chart.
        loss = root.locator(".rw-loss")
        y_labels = (
            "(root) => [...root.querySelectorAll('.rw-loss .role-axis-label text')]"
            ".map((t) => t.textContent)"
        )
        linear = page.evaluate(y_labels, root.element_handle())
        assert "0.5" in linear and "0.01" not in linear
        # [opacity, d] of each split's raw line (layer 0), then of its smoothed one (layer 1).
        paths = (
            "(root) => [0, 1].map((i) => [...root.querySelectorAll("
            "`.rw-loss g.mark-line.layer_${i}_marks path`)].map((p) =>"
            " [Number(p.getAttribute('opacity') ?? 1), p.getAttribute('d')]))"
        )
        raw, smooth = page.evaluate(paths, root.element_handle())
        assert [o for o, _ in raw] == [0.25, 0.25] and [o for o, _ in smooth] == [1, 1]
        assert loss.locator(".rw-loss-smoothing-value").inner_text() == "0.60"
        loss.screenshot(path=str(ARTIFACTS / "charts-loss-default.png"))
        loss.locator(".rw-loss-log").check()
        page.wait_for_function(
            f"(r) => ({y_labels})(r).includes('0.01')", arg=root.element_handle(), timeout=10_000
        )
        loss.screenshot(path=str(ARTIFACTS / "charts-loss-log.png"))
        at_06 = page.evaluate(paths, root.element_handle())[1][0][1]
        loss.locator(".rw-loss-smoothing").fill("0.9")
        page.wait_for_function(
            f"([r, d]) => ({paths})(r)[1][0][1] !== d", arg=[root.element_handle(), at_06]
        )
        loss.screenshot(path=str(ARTIFACTS / "charts-loss-log-0.9.png"))
        loss.locator(".rw-loss-smoothing").fill("0")
        page.wait_for_function(
            f"(r) => ({paths})(r)[0].every(([o]) => o === 1)"
            f" && ({paths})(r)[1].every(([o]) => o === 0)",
            arg=root.element_handle(),
        )
        raw, smooth = page.evaluate(paths, root.element_handle())
        assert [d for _, d in raw] == [d for _, d in smooth]  # weight 0: the raw values
        loss.locator(".rw-loss-smoothing").fill("0.9")

        # Another view of the same widget keeps the settings (the widget's view memory).
        run_cell(page, 1)
        second = page.locator(".rw-root").nth(1)
        second.locator(".rw-loss g.mark-line path").first.wait_for(timeout=30_000)
        assert second.locator(".rw-loss-log").is_checked()
        assert second.locator(".rw-loss-smoothing-value").inner_text() == "0.90"
        assert "0.01" in page.evaluate(y_labels, second.element_handle())
        second.locator(".rw-loss").screenshot(path=str(ARTIFACTS / "charts-loss-again.png"))
        assert not [c for c in log.console if "pageerror" in c]
        log.assert_offline()


def test_new_rows_never_wait_for_details_in_jupyterlab(lab, browser):
    # Twelve classes with probabilities: each finished iteration's details take a few
    # hundred ms to build and to draw. The next iteration's row must not wait for them.
    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(lab.root / "costly.ipynb", [_iterations.SETUP, _iterations.LOOP])
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    page.add_init_script(_iterations.SPY)
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "failure-jupyterlab-costly"):
        open_notebook(page, lab.notebook_url("costly.ipynb"))
        marks, seen = _iterations.run_sweep(page)
        print(_iterations.check_rows_never_wait_for_details(marks, seen))
        page.locator(".rw-root").first.screenshot(path=str(ARTIFACTS / "jupyterlab-costly.png"))
