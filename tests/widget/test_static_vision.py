"""The static summary of vision iterations: PR curves, matched IoUs, IoU bars, the matrix."""

from __future__ import annotations

import re

import numpy as np

import runwatch as rw
from runwatch.widget._static import summary_html, summary_snapshot
from runwatch.widget._static_vision import BAR_CLASSES, iou_bars_svg

from .conftest import XSS
from .test_vision_charts import detection_run


def _svg(html: str, title: str) -> str:
    found = re.findall(r"<svg[^>]*><title>" + re.escape(title) + r"</title>.*?</svg>", html)
    assert len(found) == 1, title
    return found[0]


def test_a_detection_summary_draws_the_pr_curves_and_the_matched_ious(db):
    run, it = detection_run(db, 6, images=40)
    html = summary_html(summary_snapshot(run))
    engine = it.engine("validation")
    pr = _svg(html, "Precision-recall at IoU 0.5")
    with_gt = engine.per_class().query("support > 0").index.tolist()
    legend = re.findall(r'<text x="\d+" y="\d+" fill="#333">([^<]*)</text>', pr)
    assert legend == ["mean of the classes", *with_gt]
    assert pr.count("<polyline") == len(with_gt) + 1
    hist = _svg(html, "IoU of the true positives")
    counts = engine.matched_iou_histogram()["count"].tolist()
    bars = re.findall(r"<title>IoU (\d\.\d\d)–(\d\.\d\d): (\d+)</title>", hist)
    assert [int(c) for _, _, c in bars] == counts
    assert bars[0][:2] == ("0.50", "0.55") and bars[-1][:2] == ("0.95", "1.00")
    # The matrix keeps its background row and column.
    matrix = html.split('class="rw-static-confusion"')[1].split("</table>")[0]
    assert matrix.count(">background</th>") == 2


def test_the_summary_escapes_class_names_in_the_curves(db):
    rng = np.random.default_rng(1)
    run = rw.Run("boxes", task="detection", labels=[XSS, "b"], store=db)
    boxes = np.array([[0, 0, 10, 10], [20, 20, 40, 40]], float)
    with run.iteration("m") as it:
        it.update("validation", [{"boxes": boxes + rng.normal(0, 1, (2, 4)).clip(-1, 1),
                                  "scores": [0.9, 0.8], "labels": [XSS, "b"]}],
                  [{"boxes": boxes, "labels": [XSS, "b"]}])  # fmt: skip
    run.flush()
    html = summary_html(summary_snapshot(run))
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Precision-recall at IoU 0.5" in html


def segmentation_run(db, k=10, seed=0):
    rng = np.random.default_rng(seed)
    labels = [f"c{i}" for i in range(k)]
    run = rw.Run("pixels", task="segmentation", labels=labels, store=db)
    truth = rng.choice(k, (4, 40, 40))
    # Class i's pixels go wrong with probability i / k: IoU falls with the index.
    flip = rng.random(truth.shape) < (np.arange(k) / k)[truth]
    pred = np.where(flip, rng.integers(0, k, truth.shape), truth)
    with run.iteration("segmenter") as it:
        it.update("validation", truth, pred)
    run.flush()
    return run, it


def test_a_segmentation_summary_has_its_iou_bars_weakest_first_and_a_folded_matrix(db):
    run, it = segmentation_run(db, k=10)
    html = summary_html(summary_snapshot(run))
    table = it.engine("validation").per_class()
    bars = _svg(html, "IoU per class")
    shown = re.findall(r"<title>(c\d+): IoU ([0-9.]+)</title>", bars)
    order = table["iou"].sort_values(kind="stable").index.tolist()
    assert [label for label, _ in shown] == order
    np.testing.assert_allclose([float(v) for _, v in shown], table["iou"][order], atol=1e-4)
    assert "by IoU, worst first" in bars
    for name in ("mean_iou", "pixel_accuracy", "frequency_weighted_iou"):
        assert f">{name}</td>" in html or f"<b>{name}</b>" in html
    matrix = html.split('class="rw-static-confusion"')[1].split("</table>")[0]
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", matrix)[1:]
    assert len(heads) == 2 * 8 and heads[7] == "(other)"  # 7 classes and "(other)", both ways


def test_iou_bars_draw_the_weakest_twenty_and_undefined_ones_last():
    rows = [{"label": f"c{i}", "iou": (None if i == 0 else 1 - i / 40)} for i in range(30)]
    svg = iou_bars_svg(rows)
    shown = re.findall(r"<title>(c\d+): IoU", svg)
    assert shown == [f"c{i}" for i in range(29, 29 - BAR_CLASSES, -1)]
    assert f"the {BAR_CLASSES} of 30 classes with the lowest IoU, worst first" in svg
    few = iou_bars_svg([{"label": "a", "iou": None}, {"label": "b", "iou": 0.5}])
    assert few.index(">b<") < few.index(">a<") and "—" in few
