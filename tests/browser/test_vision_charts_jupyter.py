"""A detector's and a segmenter's charts in JupyterLab and Notebook 7, read back against the engine.

Cell 0 logs a detection run of five classes (boxes jittered from the truth,
some relabelled, some spurious) and shows the widget; cell 1 prints what
the engine says (matrix, PR curves, matched IoUs); cell 2 logs a semantic
segmentation run of ten classes and prints its engine's numbers, cell 3
shows its widget. Screenshots and the latency per event (p50, p95, max) go
to tests/browser/artifacts/.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from . import _latency
from ._page import (
    PageLog,
    cell_json,
    kept_on_failure,
    open_notebook,
    run_cell,
    texts,
)
from ._server import write_notebook
from .conftest import artifact, viewport

pytestmark = pytest.mark.browser

DETECTION = """\
import json
import numpy as np
import runwatch as rw

rng = np.random.default_rng(0)
CLASSES = ["circle", "square", "triangle", "star", "ring"]

def scene(noise):
    n = int(rng.integers(1, 5))
    xy = rng.uniform(0, 200, (n, 2))
    wh = rng.uniform(10, 120, (n, 2))
    labels = rng.choice(CLASSES, n)
    at = xy + rng.normal(0, noise, xy.shape)
    pred = np.hstack([at, at + np.maximum(wh + rng.normal(0, noise, wh.shape), 2)])
    plabels = np.where(rng.random(n) < 0.15, rng.choice(CLASSES, n), labels)
    spurious = rng.uniform(0, 200, (1, 2))
    pred = np.vstack([pred, np.hstack([spurious, spurious + 30])])
    plabels = np.append(plabels, rng.choice(CLASSES))
    scores = np.append(rng.uniform(0.4, 1, n), rng.uniform(0, 0.7))
    truth = {"boxes": np.hstack([xy, xy + wh]), "labels": labels}
    return {"boxes": pred, "scores": scores, "labels": plabels}, truth

det = rw.Run("boxes", task="detection", labels=CLASSES, store="charts.db")
with det.iteration("epoch-1") as it:
    preds, targets = zip(*(scene(6.0) for _ in range(80)))
    it.update("validation", list(preds), list(targets))
det.flush()
rw.RunDetails(det, live=False)
"""

PRINT_DETECTION = """\
m = it.engine("validation")
pr = m.curves()["pr"]
print(json.dumps({
    "matrix": m.confusion_matrix().to_numpy().tolist(),
    "names": [*m.labels, "background"],
    "curves": list(dict.fromkeys(pr.loc[pr["curve"] == "class", "label"])),
    "hist": m.matched_iou_histogram()["count"].tolist(),
}))
"""

SEGMENTATION = """\
LABELS = [f"class {i}" for i in range(10)]
seg = rw.Run("pixels", task="segmentation", labels=LABELS, store="charts.db")
truth = rng.choice(10, (4, 48, 48))
flip = rng.random(truth.shape) < (np.arange(10) / 12)[truth]  # the later, the worse
pred = np.where(flip, rng.integers(0, 10, truth.shape), truth)
with seg.iteration("segmenter") as sit:
    sit.update("validation", truth, pred)
seg.flush()
e = sit.engine("validation")
print(json.dumps({"iou": e.per_class()["iou"].tolist(), "metrics": e.compute(),
                  "matrix": e.confusion_matrix().to_numpy().tolist()}))
"""

SHOW_SEGMENTATION = "rw.RunDetails(seg, live=False)"


def _matrix(root) -> tuple[list[str], list[list[str]]]:
    table = root.locator("table.rw-matrix")
    heads = texts(table.locator("thead th"))[1:]
    rows = table.locator("tbody tr")
    cells = [texts(rows.nth(i).locator("td")) for i in range(rows.count())]
    return heads, cells


#: A spot of the PR plot no curve reaches (high recall and precision), below the title.
EMPTY = {"x": 280, "y": 50}


def _timed(action, done, n=8) -> list[float]:
    took = []
    for _ in range(n):
        start = time.perf_counter()
        action()
        done()
        took.append(1000 * (time.perf_counter() - start))
    return took


def test_detection_and_segmentation_charts(jupyter, browser):
    write_notebook(
        jupyter.root / "charts.ipynb", [DETECTION, PRINT_DETECTION, SEGMENTATION, SHOW_SEGMENTATION]
    )
    page = browser.new_page(viewport=viewport(jupyter, 2200))
    log = PageLog(page)
    with kept_on_failure(page, log, artifact(jupyter, "failure-vision-charts")):
        open_notebook(page, jupyter.notebook_url("charts.ipynb"))
        run_cell(page, 0)
        det = page.locator(".rw-root").first
        det.locator(".rw-chart-matched_iou g.mark-rect path").first.wait_for(timeout=90_000)
        want = cell_json(page, 1)

        # The matrix: five classes and the background, both ways, every count as the engine's.
        heads, cells = _matrix(det)
        assert heads == want["names"] and heads[-1] == "background"
        assert [[int(c) for c in row] for row in cells] == want["matrix"]
        assert texts(det.locator("table.rw-matrix tbody th"))[-1] == "background"

        # The PR curves: a line per class with ground truth and the mean, legend first.
        pr = det.locator(".rw-chart-pr")
        legend = texts(pr.locator("g.role-legend-label text"))
        assert legend == ["macro average", *want["curves"]]
        assert pr.locator("g.mark-line path").count() == len(want["curves"]) + 1
        assert texts(pr.locator("g.role-title-text text")) == ["Precision-recall at IoU 0.5"]

        # A legend click lights one line and fades the rest; a click on an empty spot resets.
        def faint(n_min, n_max):
            page.wait_for_function(
                "([lo, hi]) => { const n = [...document.querySelectorAll("
                "'.rw-chart-pr g.mark-line path')].filter((p) => Number("
                "p.getAttribute('opacity') ?? 1) < 0.5).length;"
                " return n >= lo && n <= hi; }",
                arg=[n_min, n_max],
                timeout=10_000,
            )

        n_lines = len(want["curves"]) + 1
        pr.locator("g.role-legend-label text", has_text="triangle").first.click()
        faint(n_lines - 1, n_lines - 1)
        lit = pr.locator("g.mark-line path").evaluate_all(
            "(els) => els.filter((e) => Number(e.getAttribute('opacity') ?? 1) === 1)"
            ".map((e) => [e.getAttribute('aria-label'), e.getAttribute('stroke-width')])"
        )
        assert len(lit) == 1 and "series: triangle;" in lit[0][0] and lit[0][1] == "3.5"
        det.locator(".rw-chart-pr").screenshot(path=str(artifact(jupyter, "vision-pr-picked.png")))
        pr.locator("svg").click(position=EMPTY)
        faint(0, 0)

        # The histogram: ten bins, each as tall as the engine's count says.
        bars = det.locator(".rw-chart-matched_iou g.mark-rect path")
        assert bars.count() == 10
        heights = bars.evaluate_all("(els) => els.map((e) => e.getBBox().height)")
        counts = want["hist"]
        assert max(counts) > 0
        np.testing.assert_allclose(
            np.array(heights) / max(heights), np.array(counts) / max(counts), atol=0.02
        )
        det.screenshot(path=str(artifact(jupyter, "vision-detection-charts.png")))

        # Semantic segmentation: metrics, IoU bars weakest first, a 7 + "(other)" matrix.
        got = cell_json(page, 2)
        run_cell(page, 3)
        seg = page.locator(".rw-root").nth(1)
        seg.locator(".rw-chart-per_class g.mark-rect path").nth(9).wait_for(timeout=60_000)
        shown = {r: seg.locator(f'.rw-metrics tr[data-metric="{r}"] td').nth(1).inner_text()
                 for r in ("mean_iou", "pixel_accuracy", "frequency_weighted_iou")}  # fmt: skip
        for name, text in shown.items():
            assert float(text) == pytest.approx(got["metrics"][name], abs=5e-5), name
        labels = [f"class {i}" for i in range(10)]
        iou = got["iou"]
        axis = seg.locator(".rw-chart-per_class g.role-axis-label text")
        ys = axis.evaluate_all("(els) => els.map((e) => [e.textContent, e.getBBox().y])")
        order = [t for t, _ in sorted(ys, key=lambda p: p[1]) if t in labels]
        assert order == [labels[i] for i in np.argsort(iou, kind="stable")]
        heads, cells = _matrix(seg)
        assert len(heads) == 8 and heads[-1] == "(other)"
        total = sum(int(c.replace(",", "")) for row in cells for c in row)
        assert total == int(np.sum(got["matrix"]))  # folding loses no pixel
        seg.screenshot(path=str(artifact(jupyter, "vision-segmentation-charts.png")))

        # Latency per event: a legend pick of the PR chart until every other line is
        # faint, the reset until none is, and a mode switch of the matrix until redrawn.
        names = iter(want["curves"] * 4)
        modes = iter(["common", "confused"] * 8)
        mode = det.locator(".rw-mode select")
        latency = {"pr_legend_pick": [], "pr_reset": []}
        for _ in range(8):
            name = next(names)
            for key, act, done in (
                ("pr_legend_pick",
                 lambda n=name: pr.locator("g.role-legend-label text", has_text=n).first.click(),
                 lambda: faint(n_lines - 1, n_lines - 1)),
                ("pr_reset",
                 lambda: pr.locator("svg").click(position=EMPTY),
                 lambda: faint(0, 0)),
            ):  # fmt: skip
                start = time.perf_counter()
                act()
                done()
                latency[key].append(1000 * (time.perf_counter() - start))
        latency["matrix_mode"] = _timed(
            lambda: mode.select_option(next(modes)),
            lambda: det.locator("table.rw-matrix").wait_for(),
        )
        _latency.report(artifact(jupyter, "vision-charts-latency.json"), latency)
        log.assert_offline()
