"""RunDetails in a real JupyterLab, in headless Chromium: render, live update, picking, safety.

One notebook drives everything (starting JupyterLab and a kernel dominates the
time): cell 0 displays the widget on an empty run, cell 1 logs four digits
classifiers (the last one slowly), cell 2 prints what Python sees selected.
Screenshots go to tests/browser/artifacts/ (kept on failure too).
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from .conftest import ARTIFACTS, write_notebook

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"

SETUP = f"""\
import time
import numpy as np
import runwatch as rw
import runwatch.views  # load the chart stack before the loop
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

XSS = {XSS!r}
X, y = load_digits(return_X_y=True)
y = np.array([XSS if v == 3 else f"digit {{v}}" for v in y], dtype=object)
labels = sorted(set(y.tolist()))
run = rw.Run("browser-sweep", primary_metric="accuracy", labels=labels, store="runs.db")
w = rw.RunDetails(run)
w
"""

SWEEP = """\
models = [
    ("GaussianNB", GaussianNB()),
    ("DecisionTree", DecisionTreeClassifier(max_depth=4, random_state=0)),
    ("LogisticRegression", LogisticRegression(max_iter=200)),
    ("KNN", KNeighborsClassifier()),  # the best, and the slow one: the best moves mid-run
]
for k, (name, model) in enumerate(models):
    with run.iteration(name, params={"k": k}) as it:
        model.fit(X[:1200], y[:1200])
        it.update("train", y[:1200], y_proba=model.predict_proba(X[:1200]))
        it.update("validation", y[1200:], y_proba=model.predict_proba(X[1200:]))
        last = k == len(models) - 1
        for step in range(120 if last else 4):  # the last one runs ~24 s: time to click mid-run
            it.log_loss(1.0 / (step + 1) + 0.05 * k, split="train", step=step)
            time.sleep(0.2 if last else 0.02)
"""

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


def run_cell(page, index: int) -> None:
    """Select cell `index` and run it; retried once if the kernel was not ready to take it."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    for _ in range(2):
        cell.locator(".jp-InputPrompt").click()
        # Not awaited: the command's promise resolves only when the cell ends.
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-cell'); }")
        try:
            page.wait_for_function(
                "(i) => !document.querySelectorAll('.jp-Notebook .jp-Cell')[i]"
                ".querySelector('.jp-InputPrompt').textContent.includes('[ ]')",
                arg=index,
                timeout=10_000,
            )
            return
        except Exception:
            continue
    raise AssertionError(f"cell {index} did not start")


def texts(locator) -> list[str]:
    """The text of every element (SVG text has no inner_text)."""
    return locator.evaluate_all("(els) => els.map((e) => e.textContent)")


def prompt(page, index: int) -> str:
    # textContent, not inner_text: the prompt is read even when scrolled out of view.
    return page.evaluate(
        "(i) => document.querySelectorAll('.jp-Notebook .jp-Cell')[i]"
        ".querySelector('.jp-InputPrompt').textContent",
        index,
    )


def test_run_details_in_jupyterlab(lab, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(
        lab.root / "details.ipynb",
        [SETUP, SWEEP, READ_BACK, SET_FROM_PYTHON, "w", REGRESSION],
    )
    # Tall enough for the whole widget to fit in JupyterLab's scrolling notebook panel.
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    try:
        page.goto(lab.notebook_url("details.ipynb"))
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        accept = page.locator(".jp-Dialog .jp-mod-accept")
        page.wait_for_timeout(500)
        if accept.count():
            accept.first.click()
        page.locator(".jp-StatusBar-Widget", has_text="Idle").first.wait_for(timeout=60_000)

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
        assert "*" in prompt(page, 1), "cell 1 should still be running"
        rows = page.locator(".rw-iterations tr.rw-row")
        assert rows.nth(3).locator("td").nth(2).inner_text() == "running"

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
        assert page.locator(".rw-root img").count() == 0
        assert dialogs == []

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
        out = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-OutputArea-output")
        out.wait_for(timeout=30_000)
        text = out.inner_text()
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
        assert third.locator(".rw-chart-importance g.mark-rect path").count() == 3
        assert third.locator(".rw-metrics tbody tr").nth(1).get_attribute("data-metric") == (
            "r2_score"
        )
        third.screenshot(path=str(ARTIFACTS / "widget-regression.png"))

        # Offline: nothing but the Jupyter server was asked for anything.
        web = [u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss")]
        hosts = {urlparse(u).hostname for u in web}
        assert hosts == {"127.0.0.1"}, sorted(u for u in requests if "127.0.0.1" not in u)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
        (ARTIFACTS / "failure-console.txt").write_text("\n".join(console))
        raise
    finally:
        page.close()
