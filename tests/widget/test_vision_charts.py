"""A detection iteration's PR curves and matched-IoU histogram: the page's specs, plain data."""

from __future__ import annotations

import json

import numpy as np
import pytest

import runwatch as rw
from runwatch.widget._payload import SHOWN_CLASSES, iteration_detail
from runwatch.widget._vision_charts import PR_POINTS, _corners

from .conftest import chart_rows


def detection_run(db, classes, images=60, seed=0, task="detection"):
    """One finished iteration of a noisy detector over ``classes`` classes, some never found."""
    rng = np.random.default_rng(seed)
    labels = [f"class {i}" for i in range(classes)]
    run = rw.Run("boxes", task=task, labels=labels, store=db)
    preds, targets = [], []
    for _ in range(images):
        n = int(rng.integers(1, 6))
        xy = rng.uniform(0, 300, (n, 2))
        wh = rng.uniform(10, 120, (n, 2))
        truth = rng.integers(0, classes, n)
        noise = rng.uniform(1, 30)  # some classes' boxes land well, some badly
        at = xy + rng.normal(0, noise, xy.shape)
        boxes = np.hstack([at, at + np.maximum(wh + rng.normal(0, noise, wh.shape), 2)])
        named = np.where(rng.random(n) < 0.15, rng.integers(0, classes, n), truth)
        names = np.asarray(labels)
        preds.append({"boxes": boxes, "scores": rng.uniform(0, 1, n), "labels": names[named]})
        targets.append({"boxes": np.hstack([xy, xy + wh]), "labels": names[truth]})
    with run.iteration("model") as it:
        it.update("validation", preds, targets)
    run.flush()
    return run, it


def interpolate(points, at):
    """A drawn line's value at recall ``at`` (linear between its points, as Vega draws it)."""
    r, p = zip(*points)
    return np.interp(at, r, p)


def test_the_pr_chart_draws_cocos_curves_of_the_weakest_classes_by_ap50(db):
    run, it = detection_run(db, 30, images=120)
    split = json.loads(json.dumps(iteration_detail(it)))["splits"]["validation"]
    engine = it.engine("validation")
    table = engine.per_class()
    spec = split["charts"]["pr"]
    rows = chart_rows(spec)
    assert spec["data"]["name"] == "pr"
    series = sorted({(r["rank"], r["series"]) for r in rows})
    ap50 = table["ap_50"].to_numpy()
    with_gt = [i for i in np.argsort(np.where(np.isnan(ap50), np.inf, ap50), kind="stable")]
    worst = [table.index[i] for i in with_gt[:SHOWN_CLASSES]]
    assert [s for _, s in series] == ["macro average", *worst]
    assert spec["title"]["text"] == "Precision-recall at IoU 0.5"
    assert spec["title"]["subtitle"] == [
        "the 20 of 30 classes with the lowest AP50, worst first; the mean is over all"
    ]
    # Each drawn line is COCO's curve (rounded to 4 digits): exactly where dropping the
    # flat runs' inner points was enough, else thinned evenly to PR_POINTS, ends kept.
    pr = engine.curves()["pr"]
    grid = np.linspace(0, 1, 101)
    exact = 0
    for name in ["macro average", *worst]:
        mine = sorted((r["recall"], r["precision"]) for r in rows if r["series"] == name)
        assert 2 <= len(mine) <= PR_POINTS
        part = pr[pr["label"] == ("macro" if name == "macro average" else name)]
        want = part["precision"].to_numpy()
        assert mine[0] == pytest.approx((0.0, want[0]), abs=1e-4)
        assert mine[-1] == pytest.approx((1.0, want[-1]), abs=1e-4)
        if len(_corners(part, max_points=101)) <= PR_POINTS:
            np.testing.assert_allclose(interpolate(mine, grid), want, atol=2e-4)
            exact += 1
    assert exact >= 10
    # The same lines travel as plain data for the static summary, the mean first.
    lines = split["plots"]["pr"]["lines"]
    assert [ln["label"] for ln in lines] == ["mean of the classes", *worst]
    assert split["plots"]["pr"]["note"] == spec["title"]["subtitle"][0]


def test_few_classes_draw_every_class_with_ground_truth(db):
    run, it = detection_run(db, 4, images=30, seed=3)
    split = iteration_detail(it)["splits"]["validation"]
    names = {r["series"] for r in chart_rows(split["charts"]["pr"])}
    with_gt = it.engine("validation").per_class()["support"] > 0
    assert names == {"macro average", *with_gt[with_gt].index}
    assert split["charts"]["pr"]["title"]["subtitle"] == [
        "COCO: 101-point interpolated, area all, 100 detections"
    ]


@pytest.mark.parametrize("task", ["detection", "instance_segmentation"])
def test_the_matched_iou_histogram_is_the_engines(task, db):
    from ..tracking.test_vision import feed, make_batches, new_run

    run = new_run(task, "vision", db)
    with run.iteration("model") as it:
        feed(it, task, make_batches(task, 8))
    split = json.loads(json.dumps(iteration_detail(it)))["splits"]["validation"]
    want = it.engine("validation").matched_iou_histogram()
    rows = chart_rows(split["charts"]["matched_iou"])
    assert [r["count"] for r in rows] == want["count"].tolist()
    assert split["plots"]["matched_iou"]["count"] == want["count"].tolist()
    np.testing.assert_allclose([r["lo"] for r in rows], want["lo"], atol=1e-12)
    assert sum(r["count"] for r in rows) == it.engine("validation").per_class()["tp"].sum()
    assert {"pr", "matched_iou", "per_class"} <= set(split["charts"])
    assert not {"roc", "lift", "gains", "calibration"} & set(split["charts"])


def test_a_summary_built_without_charts_keeps_the_plots(db):
    run, it = detection_run(db, 5, images=20)
    split = iteration_detail(it, charts=False)["splits"]["validation"]
    assert split["charts"] == {}
    assert split["plots"]["pr"]["lines"] and sum(split["plots"]["matched_iou"]["count"]) > 0


def test_classification_and_segmentation_have_no_plots(sweep, db):
    from ..tracking.test_vision import feed, make_batches, new_run

    split = iteration_detail(sweep.run.iteration_list()[0])["splits"]["validation"]
    assert split["plots"] == {} and "pr" in split["charts"]
    run = new_run("segmentation", "seg", db)
    with run.iteration("model") as it:
        feed(it, "segmentation", make_batches("segmentation", 2))
    split = iteration_detail(it)["splits"]["validation"]
    assert split["plots"] == {} and set(split["charts"]) == {"per_class"}


def test_corners_drop_only_points_inside_flat_runs():
    import pandas as pd

    p = np.array([1, 1, 1, 0.8, 0.8, 0.5, 0.5, 0.5, 0.5, 0])
    frame = pd.DataFrame({"curve": "class", "label": "a", "recall": np.arange(10) / 9,
                          "precision": p})  # fmt: skip
    kept = _corners(frame)
    assert kept["precision"].tolist() == [1, 1, 0.8, 0.8, 0.5, 0.5, 0]
    np.testing.assert_allclose(np.interp(frame["recall"], kept["recall"], kept["precision"]), p)
