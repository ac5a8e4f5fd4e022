"""The score-threshold control in JupyterLab and Notebook 7, read back in Python both ways.

One notebook: cell 0 logs a finished binary classification iteration and
shows its widget; after the test drags the slider, cell 1 prints
``widget.threshold`` and the engine's matrix there; cell 2 sets an arbitrary
threshold from Python (not one of the slider's stops) and prints the
engine's matrix, which the page must show. Cells 3-5 do the same for a
detection run (its matrix with the background row and column, and the
per-class P/R/F1). The arrow keys move the slider as a drag does. Screenshots
and the per-move latency (p50, p95, max) go to tests/browser/artifacts/.
"""

from __future__ import annotations

import numpy as np
import pytest

from . import _latency
from ._page import (
    PageLog,
    cell_json,
    drag_slider,
    kept_on_failure,
    matrix_numbers,
    open_notebook,
    run_cell,
    wait_cell_done,
)
from ._server import write_notebook
from .conftest import artifact, viewport

pytestmark = pytest.mark.browser

BINARY = """\
import json
import numpy as np
import runwatch as rw
import runwatch.views
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

X, y = make_classification(n_samples=600, n_features=8, weights=[0.7], flip_y=0.08, random_state=0)
labels = np.array(["no", "yes"])[y]
model = LogisticRegression(max_iter=300).fit(X[:300], labels[:300])
run = rw.Run("threshold", task="classification", labels=["no", "yes"], store="threshold.db")
with run.iteration("logreg") as it:
    it.update("validation", labels[300:], y_proba=model.predict_proba(X[300:]))
run.flush()

def matrix_at(engine, t):
    r = engine.at_threshold(t)
    return {"threshold": r["threshold"], "matrix": r["matrix"].to_numpy().tolist(),
            "precision": r["precision"], "recall": r["recall"], "f1": r["f1"]}

w = rw.RunDetails(run, live=False)
w
"""

READ_BACK = """\
print(json.dumps({"t": w.threshold, **matrix_at(run.best().engine("validation"), w.threshold)}))
"""

SET_FROM_PYTHON = """\
w.threshold = 0.4237
print(json.dumps(matrix_at(run.best().engine("validation"), 0.4237)))
"""

DETECTION = """\
rng = np.random.default_rng(1)
CLASSES = ["circle", "square"]

def scene():
    n = int(rng.integers(1, 4))
    xy = rng.uniform(0, 200, (n, 2))
    wh = rng.uniform(10, 120, (n, 2))
    boxes = np.hstack([xy, xy + wh])
    truth = rng.choice(CLASSES, n)
    at = xy + rng.normal(0, 6, xy.shape)
    pred = np.hstack([at, at + np.maximum(wh + rng.normal(0, 6, wh.shape), 2)])
    plabels = np.where(rng.random(n) < 0.2, rng.choice(CLASSES, n), truth)
    spurious = rng.uniform(0, 200, (2, 2))
    pred = np.vstack([pred, np.hstack([spurious, spurious + 30])])
    plabels = np.append(plabels, rng.choice(CLASSES, 2))
    scores = np.append(rng.uniform(0.3, 1, n), rng.uniform(0, 0.7, 2))
    return {"boxes": pred, "scores": scores, "labels": plabels}, {"boxes": boxes, "labels": truth}

det = rw.Run("boxes", task="detection", labels=CLASSES, store="threshold.db")
with det.iteration("detector") as it:
    preds, targets = zip(*(scene() for _ in range(40)))
    it.update("validation", list(preds), list(targets))
det.flush()

def det_at(t):
    r = det.best().engine("validation").at_threshold(t)
    return {"t": t, "matrix": r["confusion_matrix"].to_numpy().tolist(),
            "precision": r["per_class"]["precision"].tolist(),
            "recall": r["per_class"]["recall"].tolist(),
            "iou": r["per_class"]["mean_iou"].fillna(-1).tolist()}

wd = rw.RunDetails(det, live=False)
wd
"""

DET_READ_BACK = """\
print(json.dumps(det_at(wd.threshold)))
"""

DET_SET = """\
wd.threshold = 0.555
print(json.dumps(det_at(0.555)))
"""


# Per move: the input event to the matrix redrawn and painted (the next frame), then to
# the ROC chart's mark moved (vega redraws it asynchronously).
LATENCY = """async (root) => {
  const slider = root.querySelector('.rw-threshold input[type=range]');
  const roc = () => root.querySelector('.rw-chart-roc g.rw_threshold_point_marks path');
  const mark = () => roc()?.getAttribute('transform');
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const matrix = [], marks = [];
  for (let i = 0; i < 40; i++) {
    slider.value = String((Number(slider.value) + 7) % (Number(slider.max) + 1));
    const before = mark();
    const start = performance.now();
    slider.dispatchEvent(new Event('input'));
    await frame();
    matrix.push(performance.now() - start);
    while (mark() === before && performance.now() - start < 2000) await frame();
    marks.push(performance.now() - start);
  }
  return { matrix, marks };
}"""


def test_threshold_slider_and_python_agree(jupyter, browser):
    cells = [BINARY, READ_BACK, READ_BACK, SET_FROM_PYTHON, DETECTION, DET_READ_BACK, DET_SET]
    write_notebook(jupyter.root / "threshold.ipynb", cells)
    page = browser.new_page(viewport=viewport(jupyter, 1800))
    log = PageLog(page)
    with kept_on_failure(page, log, artifact(jupyter, "failure-threshold")):
        open_notebook(page, jupyter.notebook_url("threshold.ipynb"))
        run_cell(page, 0)
        wait_cell_done(page, 0)
        root = page.locator(".rw-root").first
        control = root.locator(".rw-threshold")
        control.wait_for(timeout=60_000)
        root.locator(".rw-chart-roc svg").wait_for(timeout=30_000)
        off = matrix_numbers(root)

        # Switch it on (0.5), then drag the thumb with the mouse to a fifth of the track.
        control.locator("input[type=checkbox]").check()
        slider = control.locator("input[type=range]")
        assert not slider.is_disabled()
        drag_slider(page, slider, 0.2)
        page.wait_for_function(
            "(r) => !r.querySelector('.rw-threshold-value').textContent.includes('0.5')",
            arg=root.element_handle(),
        )
        shown = control.locator(".rw-threshold-value").inner_text()
        back = cell_json(page, 1)
        assert back["t"] is not None and back["t"] < 0.5, back
        assert shown == "\u2265 " + repr(float(format(back["t"], ".4g"))), (shown, back)
        assert matrix_numbers(root) == back["matrix"] != off
        scores = control.locator(".rw-threshold-scores").inner_text()
        assert f"precision {back['precision']:.3f}" in scores
        assert f"F1 {back['f1']:.3f}" in scores
        # The point on ROC and PR, the cutoff on lift and gains.
        for chart in ("roc", "pr", "gains", "lift"):
            point = root.locator(f".rw-chart-{chart} g.rw_threshold_point_marks path")
            point.wait_for(timeout=10_000)
            assert point.count() == 1
        for chart in ("gains", "lift"):
            assert root.locator(f".rw-chart-{chart} g.rw_threshold_rule_marks line").count() == 1
        root.screenshot(path=str(artifact(jupyter, "threshold-binary.png")))

        # The keyboard: focused, the slider takes the arrow keys (a stop each), and the
        # notebook does not (its active cell stays where it was).
        active = "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"
        at = int(slider.input_value())
        slider.focus()  # (the notebook makes the widget's cell the active one)
        cell_before = page.evaluate(active)
        for key in ("ArrowRight", "ArrowRight", "ArrowRight", "ArrowLeft"):
            page.keyboard.press(key)
        assert int(slider.input_value()) == at + 2
        assert page.evaluate(active) == cell_before
        assert page.evaluate("() => document.activeElement?.type") == "range"
        by_keys = control.locator(".rw-threshold-value").inner_text()
        keyed = cell_json(page, 2)
        assert keyed["t"] > back["t"], (keyed, back)
        assert by_keys == "\u2265 " + repr(float(format(keyed["t"], ".4g"))), (by_keys, keyed)
        assert matrix_numbers(root) == keyed["matrix"]
        # A select of the widget takes its arrow keys too (ArrowDown once moved the
        # notebook to its next cell instead).
        mode = root.locator(".rw-mode select")
        mode.focus()
        cell_before = page.evaluate(active)
        page.keyboard.press("ArrowDown")
        assert mode.input_value() == "common"
        assert page.evaluate(active) == cell_before
        page.keyboard.press("ArrowUp")
        assert mode.input_value() == "confused"

        # Set from Python, between the slider's stops: the page shows the engine's counts.
        exact = cell_json(page, 3)
        page.wait_for_function(
            "(r) => r.querySelector('.rw-threshold-value').textContent === '\u2265 0.4237'",
            arg=root.element_handle(),
            timeout=10_000,
        )
        assert matrix_numbers(root) == exact["matrix"]
        scores = control.locator(".rw-threshold-scores").inner_text()
        for name in ("precision", "recall", "F1"):
            assert f"{name} {exact[name.lower()]:.3f}" in scores, (name, scores, exact)

        took = root.evaluate(LATENCY)

        # Off again: the arg-max matrix, no marks.
        control.locator("input[type=checkbox]").uncheck()
        page.wait_for_function(
            "(r) => !r.querySelector('.rw-chart-roc g.rw_threshold_point_marks path')",
            arg=root.element_handle(),
            timeout=10_000,
        )
        assert matrix_numbers(root) == off and slider.is_disabled()

        # Detection: the matrix with its background row and column, and the per-class table.
        run_cell(page, 4)
        wait_cell_done(page, 4)
        droot = page.locator(".rw-root").nth(1)
        dcontrol = droot.locator(".rw-threshold")
        dcontrol.wait_for(timeout=60_000)
        bars = droot.locator(".rw-chart-per_class g.mark-rect path")
        bars.first.wait_for(timeout=30_000)
        widths = "(els) => els.map((e) => Math.round(e.getBBox().width))"
        before = bars.evaluate_all(widths)
        dcontrol.locator("input[type=checkbox]").check()
        drag_slider(page, dcontrol.locator("input[type=range]"), 0.8)
        dback = cell_json(page, 5)
        assert dback["t"] is not None and dback["t"] > 0.5, dback
        droot.locator(".rw-matrix").wait_for()
        assert "background" in droot.locator(".rw-matrix thead").inner_text()
        assert matrix_numbers(droot) == dback["matrix"]
        precision = droot.locator("table.rw-per-class tbody tr td:nth-child(4)")
        got = [float(x) for x in precision.all_inner_texts()]
        np.testing.assert_allclose(got, dback["precision"], atol=5e-5)
        page.wait_for_timeout(300)  # not for correctness: vega redraws the bars asynchronously
        assert bars.evaluate_all(widths) != before  # the bars moved with the table
        droot.screenshot(path=str(artifact(jupyter, "threshold-detection.png")))

        dexact = cell_json(page, 6)
        page.wait_for_function(
            "(r) => r.querySelector('.rw-threshold-value').textContent === '\u2265 0.555'",
            arg=droot.element_handle(),
            timeout=10_000,
        )
        assert matrix_numbers(droot) == dexact["matrix"]
        recall = droot.locator("table.rw-per-class tbody tr td:nth-child(5)")
        np.testing.assert_allclose(
            [float(x) for x in recall.all_inner_texts()], dexact["recall"], atol=5e-5
        )
        iou = droot.locator("table.rw-per-class tbody tr td:nth-child(7)").all_inner_texts()
        np.testing.assert_allclose(
            [-1.0 if x == "\u2014" else float(x) for x in iou], dexact["iou"], atol=5e-5
        )
        _latency.report(
            artifact(jupyter, "threshold-latency.json"),
            {"slider input -> matrix painted": took["matrix"],
             "slider input -> ROC mark moved": took["marks"]},
        )  # fmt: skip
        log.assert_offline()
