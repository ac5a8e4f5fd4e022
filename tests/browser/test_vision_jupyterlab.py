"""RunDetails of vision runs in a real JupyterLab: metric groups, per-class columns, IoU bars.

One notebook: cell 0 logs two epochs of a detection run (boxes jittered from
the ground truth, some labelled wrong, some spurious) and shows the widget;
cell 1 prints what the engine's per_class() says; cell 2 does the same for a
semantic segmentation run. Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from ._page import (
    PageLog,
    cell_json,
    cell_output,
    detail_title_is,
    kept_on_failure,
    open_notebook,
    run_cell,
    texts,
    wait_cell_done,
)
from ._server import write_notebook
from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

DETECTION = """\
import json
import numpy as np
import runwatch as rw
import runwatch.views

rng = np.random.default_rng(0)
CLASSES = ["circle", "square", "triangle"]

def scene(noise):
    n = int(rng.integers(1, 4))
    xy = rng.uniform(0, 200, (n, 2))
    wh = rng.uniform(10, 120, (n, 2))
    boxes = np.hstack([xy, xy + wh])
    labels = rng.choice(CLASSES, n)
    at = xy + rng.normal(0, noise, xy.shape)
    pred = np.hstack([at, at + np.maximum(wh + rng.normal(0, noise, wh.shape), 2)])
    wrong = rng.random(n) < noise / 40
    plabels = np.where(wrong, rng.choice(CLASSES, n), labels)
    spurious = rng.uniform(0, 200, (1, 2))
    pred = np.vstack([pred, np.hstack([spurious, spurious + 30])])
    plabels = np.append(plabels, rng.choice(CLASSES))
    scores = np.append(rng.uniform(0.5, 1, n), rng.uniform(0, 0.6))
    return {"boxes": pred, "scores": scores, "labels": plabels}, {"boxes": boxes, "labels": labels}

det = rw.Run("boxes", task="detection", labels=CLASSES, store="vision.db")
for epoch, noise in enumerate([12.0, 4.0]):
    with det.iteration(f"epoch-{epoch + 1}") as it:
        preds, targets = zip(*(scene(noise) for _ in range(40)))
        it.update("validation", list(preds), list(targets))
det.flush()
rw.RunDetails(det, live=False)
"""

PRINT_DETECTION = """\
t = det.best().engine("validation").per_class()
print(json.dumps({"best": det.best().name, "ap": t["ap"].tolist(), "f1": t["f1"].tolist()}))
"""

SEGMENTATION = """\
LABELS = ["sky", "road", "car", "person"]
seg = rw.Run("pixels", task="segmentation", labels=LABELS, metric_options={"ignore_index": 255},
             store="vision.db")
with seg.iteration("segmenter") as it:
    truth = rng.choice(4, (6, 48, 48), p=[0.5, 0.3, 0.15, 0.05])
    # The rarer the class, the more of its pixels go wrong: weakest IoU last in the label list.
    flip = rng.random(truth.shape) < np.array([0.05, 0.2, 0.4, 0.7])[truth]
    pred = np.where(flip, rng.integers(0, 4, truth.shape), truth)
    it.update("validation", truth, pred)
seg.flush()
t = it.engine("validation").per_class()
print(json.dumps({"iou": t["iou"].tolist()}))
rw.RunDetails(seg, live=False)
"""

DET_HEADS = ["Class", "AP", "AP50", "Precision", "Recall", "F1", "Matched IoU", "Support"]
SEG_HEADS = ["Class", "IoU", "Precision", "Recall", "Support (pixels)"]


def _numbers(cells: list[str]) -> list[float]:
    return [float("nan") if c == "\u2014" else float(c) for c in cells]


def test_detection_and_segmentation_details_in_jupyterlab(lab, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(lab.root / "vision.ipynb", [DETECTION, PRINT_DETECTION, SEGMENTATION])
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "failure-vision"):
        open_notebook(page, lab.notebook_url("vision.ipynb"))
        run_cell(page, 0)
        det = page.locator(".rw-root").first
        det.locator(".rw-per-class tbody tr").first.wait_for(timeout=90_000)
        want = cell_json(page, 1)
        detail_title_is(page, f"Iteration #2: {want['best']}")

        # Groups: mAP's first (the primary metric on top), then mAR's and matching; no "other".
        groups = det.locator(".rw-metrics tr.rw-group")
        assert texts(groups) == ["average precision", "average recall", "matching"]
        assert groups.first.inner_text() == "Average Precision"  # as shown: capitalised
        first = det.locator(".rw-metrics tr.rw-metric-row").first
        assert first.get_attribute("data-metric") == "mAP"
        assert "rw-primary" in (first.get_attribute("class") or "")

        # The per-class table: the engine's columns, its AP and F1 to the digits shown.
        table = det.locator("table.rw-per-class")
        assert texts(table.locator("thead th")) == DET_HEADS
        rows = table.locator("tbody tr")
        assert texts(rows.locator("td:nth-child(1)")) == ["circle", "square", "triangle"]
        ap = _numbers(texts(rows.locator("td:nth-child(2)")))
        f1 = _numbers(texts(rows.locator("td:nth-child(6)")))
        np.testing.assert_allclose(ap, want["ap"], atol=5e-5)
        np.testing.assert_allclose(f1, want["f1"], atol=5e-5)
        det.locator(".rw-per-class").first.wait_for()
        det.screenshot(path=str(ARTIFACTS / "vision-detection.png"))

        # Latency of picking an iteration: click to its per-class table drawn.
        names = ["epoch-1", "epoch-2"]
        took = []
        for k in range(12):
            name = names[k % 2]
            start = time.perf_counter()
            det.locator(".rw-iterations tr.rw-row").filter(has_text=name).click()
            detail_title_is(page, f"Iteration #{k % 2 + 1}: {name}")
            det.locator(".rw-per-class tbody tr").nth(2).wait_for(timeout=10_000)
            took.append(1000 * (time.perf_counter() - start))
        (ARTIFACTS / "vision-pick-latency.json").write_text(
            json.dumps(
                {
                    "p50_ms": float(np.percentile(took, 50)),
                    "p95_ms": float(np.percentile(took, 95)),
                    "max_ms": max(took),
                    "n": len(took),
                }
            )
        )

        # Semantic segmentation: its group, IoU columns, and IoU bars weakest first.
        run_cell(page, 2)
        wait_cell_done(page, 2)
        iou = json.loads(cell_output(page, 2))["iou"]
        seg = page.locator(".rw-root").nth(1)
        seg.locator(".rw-per-class tbody tr").first.wait_for(timeout=30_000)
        assert texts(seg.locator(".rw-metrics tr.rw-group")) == ["segmentation"]
        assert (
            seg.locator(".rw-metrics tr.rw-metric-row").first.get_attribute("data-metric")
            == "mean_iou"
        )
        stable = seg.locator("table.rw-per-class")
        assert texts(stable.locator("thead th")) == SEG_HEADS
        shown = _numbers(texts(stable.locator("tbody tr td:nth-child(2)")))
        np.testing.assert_allclose(shown, iou, atol=5e-5)
        labels = ["sky", "road", "car", "person"]
        weakest_first = [labels[i] for i in np.argsort(iou, kind="stable")]
        bars = seg.locator(".rw-chart-per_class g.mark-rect path")
        bars.nth(3).wait_for(timeout=10_000)
        assert bars.count() == 4
        axis = seg.locator(".rw-chart-per_class g.role-axis-label text")
        ys = axis.evaluate_all("(els) => els.map((e) => [e.textContent, e.getBBox().y])")
        assert [t for t, _ in sorted(ys, key=lambda p: p[1]) if t in labels] == weakest_first
        title = texts(seg.locator(".rw-chart-per_class g.role-title text"))
        assert title[:2] == ["IoU per class", "by IoU, worst first"]
        seg.screenshot(path=str(ARTIFACTS / "vision-segmentation.png"))
        log.assert_offline()
