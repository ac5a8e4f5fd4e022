"""The failure panels of vision runs: by attribute, importance, top losses, a cell's images."""

from __future__ import annotations

import json

import numpy as np
import pytest

from runwatch.tracking import Run
from runwatch.widget import RunDetails
from runwatch.widget._samples import CELL_SAMPLES, TOP_LOSSES, failures_detail
from runwatch.widget._static import summary_html, summary_snapshot

LABELS = ["circle", "square"]


def _detection(db: str, n: int = 60):
    rng = np.random.default_rng(4)
    run = Run("boxes", task="detection", labels=LABELS, store=db)
    it = run.iteration("model").start()
    preds, targets = [], []
    dark = rng.random(n) < 0.5
    for i in range(n):
        m = int(rng.integers(1, 4))
        corner = rng.uniform(0, 80, (m, 2))
        gt = np.c_[corner, corner + rng.uniform(10, 30, (m, 2))]
        noise = 8 if dark[i] else 1  # dark images: badly placed boxes
        det = gt + rng.normal(0, noise, gt.shape)
        det[:, 2:] = np.maximum(det[:, 2:], det[:, :2])
        preds.append({"boxes": det, "scores": rng.uniform(0.3, 1, m),
                      "labels": rng.choice(LABELS, m)})  # fmt: skip
        targets.append({"boxes": gt, "labels": rng.choice(LABELS, m), "image_id": i})
    attrs = {"brightness": np.where(dark, 0.2, 0.8) + rng.normal(0, 0.05, n),
             "source": np.where(dark, "night", "day")}  # fmt: skip
    it.update("validation", preds, targets, sample_ids=[f"im-{i}" for i in range(n)],
              attributes=attrs)  # fmt: skip
    it.complete()
    run.flush()
    return run, it


def test_the_detection_payload_holds_the_engine_tables(db):
    run, it = _detection(db)
    engine = it.engine("validation")
    f = failures_detail(engine)
    json.dumps(f, allow_nan=False)
    assert f["labels"] == []
    assert f["top_columns"] == ["Objects", "Found, false, missed", "1 \u2212 F1"]
    names = engine.attribute_importance()["attribute"].tolist()
    assert [a["name"] for a in f["attributes"]] == names
    for table in f["attributes"]:
        want = engine.by_attribute(table["name"])
        assert table["count"] == want["count"].tolist()
        assert set(table["metrics"]) == {"mAP", "mAP_50", "precision", "recall", "f1"}
        for metric, values in table["metrics"].items():
            assert values == pytest.approx(want[metric].tolist(), rel=1e-3, nan_ok=True)
        assert table["recall"] == []
    top = engine.top_losses(TOP_LOSSES)
    assert [r["id"] for r in f["top_losses"]] == top["id"].tolist()
    first = top.iloc[0]
    assert f["top_losses"][0]["true"] == str(first["objects"])
    assert f["top_losses"][0]["predicted"] == f"{first['tp']}, {first['fp']}, {first['fn']}"
    assert f["chart"] is not None and f["importance"] is not None
    domain = f["importance"]["encoding"]["color"]["scale"]["domain"]
    assert domain == ["any error", "1 \u2212 F1"]  # not the classifier's log loss


def test_a_clicked_detection_cell_lists_its_images_background_included(db):
    run, it = _detection(db)
    engine = it.engine("validation")
    made: list = []
    w = RunDetails(run, live=False, thumbnail=lambda i: made.append(i) or np.zeros((8, 8)))
    try:
        w.selected_cell = ("background", "square")
        want = engine.samples("background", "square", k=CELL_SAMPLES)
        assert want and w.selected_samples == want
        w.selected_cell = ("circle", "background")
        assert w.selected_samples == engine.samples("circle", "background", k=CELL_SAMPLES)
        w._gallery_request = {"iteration": w.selected, "split": "validation"}
        top = engine.top_losses(TOP_LOSSES)["id"].tolist()
        assert set(made) == set(w.selected_samples) | set(top)
        assert set(w._gallery["images"]) == set(made)
    finally:
        w.close()


def test_segmentation_runs_carry_the_panels_and_the_static_page_shows_them(db):
    rng = np.random.default_rng(8)
    run = Run("masks", task="segmentation", labels=["sky", "road"], store=db)
    with run.iteration("model") as it:
        truth = rng.integers(0, 2, (20, 6, 6))
        noise = rng.random((20, 1, 1))
        pred = np.where(rng.random(truth.shape) < noise, 1 - truth, truth)
        it.update("validation", truth, pred, attributes={"noise": noise.ravel()})
    run.flush()
    f = failures_detail(it.engine("validation"))
    assert set(f["attributes"][0]["metrics"]) == {"mean_iou", "pixel_accuracy"}
    assert f["top_columns"] == ["Pixels", "Pixel error", "1 \u2212 mean IoU"]
    assert f["attributes"][0]["with_loss"] > 0.5
    html = summary_html(summary_snapshot(run))
    assert "By attribute: noise" in html and "Mean IoU" in html and "Pixel error" in html


def test_a_vision_state_stored_before_per_image_rows_has_no_panels(db):
    run, it = _detection(db)
    engine = it.engine("validation")
    old = {k: v for k, v in engine.state_dict().items() if not k.startswith("images.")}
    assert failures_detail(type(engine).from_state_dict(old)) is None
