import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from runwatch.widget._payload import (
    CURVE_POINTS,
    SHOWN_CLASSES,
    SMOOTH_CURVE_POINTS,
    auto_selection,
    confusion,
    dense_counts,
    iteration_detail,
    iteration_rows,
    iterations_chart_spec,
    loss_chart_spec,
    metric_goals,
    metric_groups,
    run_info,
    thin_curve,
)

from .conftest import XSS, chart_rows, log_sweep


def predicted(logged, name):
    labels = np.asarray(logged.labels)
    return labels[np.argmax(logged.proba[name], axis=1)]


def test_rows_rank_by_the_primary_metric_as_scikit_learn_computes_it(sweep):
    rows = iteration_rows(sweep.run)
    assert [r["name"] for r in rows] == ["GaussianNB", "DecisionTree", "LogisticRegression"]
    assert [r["index"] for r in rows] == [1, 2, 3]
    expected = {n: accuracy_score(sweep.y_true, predicted(sweep, n)) for n in sweep.proba}
    for r in rows:
        assert r["metric"] == pytest.approx(expected[r["name"]], abs=1e-12)
        assert r["status"] == "completed"
        assert r["duration"] is not None and r["duration"] >= 0
    best_name = max(expected, key=expected.get)
    assert [r["name"] for r in rows if r["is_best"]] == [best_name]
    # best-so-far is the running maximum.
    running = np.maximum.accumulate([expected[r["name"]] for r in rows])
    assert [r["best"] for r in rows] == pytest.approx(list(running), abs=1e-12)
    header = run_info(sweep.run, rows)
    assert header["best"] == str(sweep.ids[best_name]) == auto_selection(rows)
    assert header["status"] == "completed"
    assert header["primary_metric"] == "accuracy"


def test_detail_matches_scikit_learn_and_loses_no_sample(sweep):
    it = sweep.run.get(sweep.ids["DecisionTree"])
    detail = iteration_detail(it)
    assert detail["final"] is True
    assert list(detail["splits"]) == ["validation"]
    split = detail["splits"]["validation"]
    pred = predicted(sweep, "DecisionTree")
    labels = sweep.labels
    cm = confusion_matrix(sweep.y_true, pred, labels=labels)
    assert split["confusion"]["labels"] == [str(v) for v in labels]
    assert np.array_equal(np.array(dense_counts(split["confusion"])), cm)
    assert sum(map(sum, dense_counts(split["confusion"]))) == len(sweep.y_true)
    p, r, f, s = precision_recall_fscore_support(sweep.y_true, pred, labels=labels, zero_division=0)
    rows = split["per_class"]
    assert [row["label"] for row in rows] == [str(v) for v in labels]
    assert [row["precision"] for row in rows] == pytest.approx(list(p), abs=1e-12)
    assert [row["recall"] for row in rows] == pytest.approx(list(r), abs=1e-12)
    assert [row["f1"] for row in rows] == pytest.approx(list(f), abs=1e-12)
    assert [row["support"] for row in rows] == list(s)
    assert split["metrics"]["accuracy"] == pytest.approx(accuracy_score(sweep.y_true, pred))
    assert len(split["metrics"]) >= 26


def test_finished_iterations_carry_thinned_chart_specs(sweep):
    detail = iteration_detail(sweep.run.get(sweep.ids["LogisticRegression"]))
    charts = detail["splits"]["validation"]["charts"]
    assert set(charts) == {"per_class", "roc", "pr", "lift", "gains", "calibration"}
    for name, spec in charts.items():
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        values = chart_rows(spec)
        assert spec["data"]["name"] == name
        if name == "per_class":
            assert len(values) == 20  # ten digits, precision and recall
            continue
        per_line: dict[str, int] = {}
        for row in values:
            per_line[row["series"]] = per_line.get(row["series"], 0) + 1
        # ten digits, then micro and macro (lift and gains: micro only)
        assert len(per_line) == (11 if name in ("lift", "gains") else 12)
        limit = SMOOTH_CURVE_POINTS if name in ("lift", "gains") else CURVE_POINTS
        assert max(per_line.values()) <= limit
    # Small enough to live in the page: under 100 kB for a ten-class split with five curves.
    assert len(json.dumps(detail, allow_nan=False)) < 100_000


def test_a_running_iteration_has_no_charts_until_it_ends(db):
    from runwatch.tracking import Run

    run = Run("live", store=db)
    it = run.iteration("epoch-0")
    it.update("validation", [0, 1, 1, 0], y_proba=[[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.9, 0.1]])
    detail = iteration_detail(it)
    assert detail["final"] is False
    assert detail["splits"]["validation"]["charts"] == {}
    assert dense_counts(detail["splits"]["validation"]["confusion"]) == [[2.0, 0.0], [1.0, 1.0]]
    it.complete()
    charts = iteration_detail(it)["splits"]["validation"]["charts"]
    assert {"roc", "pr", "lift", "gains", "calibration", "per_class"} == set(charts)


def test_markup_in_a_label_is_carried_as_plain_text(db):
    logged = log_sweep(db, relabel=True)
    detail = iteration_detail(logged.run.get(logged.ids["GaussianNB"]))
    split = detail["splits"]["validation"]
    assert XSS in split["confusion"]["labels"]
    assert XSS in [r["label"] for r in split["per_class"]]
    series = {row["series"] for row in chart_rows(split["charts"]["roc"])}
    assert XSS in series
    json.dumps(detail, allow_nan=False)


def test_thin_curve_keeps_ends_of_every_line():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "curve": ["class"] * 100 + ["micro"] * 5,
            "label": [1] * 100 + ["micro"] * 5,
            "x": list(range(100)) + list(range(5)),
        }
    )
    thin = thin_curve(frame, max_points=10)
    a = thin[thin["curve"] == "class"]["x"].tolist()
    assert len(a) == 10 and a[0] == 0 and a[-1] == 99
    assert thin[thin["curve"] == "micro"]["x"].tolist() == [0, 1, 2, 3, 4]


def test_metrics_come_grouped_by_kind_with_the_primary_metric_first(sweep):
    from runwatch.views import METRIC_GROUPS

    split = iteration_detail(sweep.run.get(sweep.ids["GaussianNB"]))["splits"]["validation"]
    groups = split["groups"]
    assert groups[0]["group"] == "label" and groups[0]["metrics"][0] == "accuracy"
    named = [m for g in groups for m in g["metrics"]]
    assert sorted(named) == sorted(split["metrics"])  # every metric once
    for g in groups[1:]:
        assert g["metrics"] == [m for m in METRIC_GROUPS[g["group"]] if m in split["metrics"]]
    # Ten classes: the binary metrics are undefined, and say why.
    assert split["metrics"]["AUC_binary"] is None
    assert split["reasons"]["AUC_binary"]
    assert all(split["metrics"][name] is None for name in split["reasons"])


def test_metric_groups_without_the_primary_keep_the_views_order():
    groups = metric_groups(["r2_score", "mean_absolute_error", "custom"], primary="nope")
    assert [g["group"] for g in groups] == ["correlation", "error", "other"]


def test_a_regression_iteration_carries_its_charts_and_importance(db):
    from runwatch.tracking import Run

    run = Run("reg", task="regression", primary_metric="r2_score", store=db)
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    with run.iteration("linear") as it:
        it.update("validation", y, y_pred=y + rng.normal(scale=0.3, size=500))
        it.log_feature_importance(["a", XSS, "c"], [0.5, -0.2, 0.1])
    run.flush()
    detail = iteration_detail(run.get(it.id))
    split = detail["splits"]["validation"]
    assert set(split["charts"]) == {"predicted_vs_true", "residuals"}
    assert split["confusion"] is None and split["per_class"] == []
    assert split["groups"][0]["metrics"][0] == "r2_score"
    pvt = chart_rows(split["charts"]["predicted_vs_true"])
    assert sum(r["count"] for r in pvt) == 500
    residuals = chart_rows(split["charts"]["residuals"])
    assert sum(r["count"] for r in residuals) == 500
    assert detail["importance"]["data"]["name"] == "importance"
    assert [r["feature"] for r in chart_rows(detail["importance"])] == ["a", XSS, "c"]
    assert len(json.dumps(detail, allow_nan=False)) < 30_000


def test_no_importance_logged_gives_none(sweep):
    assert iteration_detail(sweep.run.get(sweep.ids["GaussianNB"]))["importance"] is None


def test_iterations_chart_spec_and_goals(sweep):
    spec = iterations_chart_spec()
    assert spec["data"] == {"name": "iterations", "values": []}
    goals = metric_goals(sweep.run)
    assert goals["accuracy"] == "maximize" and goals["log_loss"] == "minimize"
    assert goals["mean_absolute_error"] == "minimize" and goals["AUC_weighted"] == "maximize"


def test_payload_per_finished_classification_iteration_stays_modest(sweep):
    # Ten classes, one split, all five curves and the per-class bars (58 KB), and the
    # threshold slider's tables (2.3 KB: 11 thresholds per class).
    detail = iteration_detail(sweep.run.get(sweep.ids["GaussianNB"]))
    assert len(json.dumps(detail["splits"]["validation"]["thresholds"])) < 2_500
    assert len(json.dumps(detail)) < 62_000


def test_the_header_spans_the_first_start_to_the_last_end(db):
    import runwatch as rw

    run = rw.Run("span", primary_metric="accuracy", store=db)
    assert run_info(run, iteration_rows(run))["started"] is None
    with run.iteration("a") as it:
        it.log_metric("accuracy", 0.5)
    b = run.iteration("b")
    b.start()
    b.log_metric("accuracy", 0.7)
    records = run.iteration_records()
    header = run_info(run, iteration_rows(run))
    assert header["status"] == "running"
    assert header["started"] == min(r["started"] for r in records)
    assert header["ended"] is None  # still running: the page counts from the start
    b.complete()
    records = run.iteration_records()
    header = run_info(run, iteration_rows(run))
    assert header["started"] == records[0]["started"]
    assert header["ended"] == pytest.approx(max(r["ended"] for r in records), abs=1e-6)
    assert header["ended"] >= header["started"]


def test_the_detail_lists_the_parameters_as_text(db):
    import runwatch as rw

    run = rw.Run("params", store=db)
    params = {"C": 1.0, "kernel": "rbf", XSS: "<b>x</b>", "layers": [64, 32], "flag": True}
    with run.iteration("svc", params=params) as it:
        it.log_metric("accuracy", 0.9)
    (iteration,) = run.iteration_list()
    assert iteration_detail(iteration)["params"] == [
        ["C", "1.0"],
        ["kernel", "rbf"],
        [XSS, "<b>x</b>"],
        ["layers", "[64, 32]"],
        ["flag", "true"],
    ]
    with run.iteration("plain") as it:
        pass
    assert iteration_detail(run.iteration_list()[1])["params"] == []


def test_whole_counts_travel_as_ints_and_weighted_ones_as_floats():
    import pandas as pd

    whole = pd.DataFrame([[3.0, 0.0], [1.0, 5.0]], index=["a", "b"], columns=["a", "b"])
    out = confusion(whole)
    assert out == {"labels": ["a", "b"], "counts": [[3, 0], [1, 5]], "cells": None}
    assert all(type(v) is int for row in out["counts"] for v in row)
    assert json.dumps(out["counts"]) == "[[3, 0], [1, 5]]"
    weighted = confusion(whole * 0.5)
    assert weighted["counts"] == [[1.5, 0.0], [0.5, 2.5]]


def test_a_mostly_empty_matrix_travels_as_its_non_zero_cells():
    import pandas as pd

    rng = np.random.default_rng(0)
    labels = [f"c{i}" for i in range(40)]
    truth = rng.integers(0, 40, 120)
    predicted = np.where(rng.random(120) < 0.7, truth, rng.integers(0, 40, 120))
    cm = confusion_matrix(truth, predicted, labels=range(40))
    out = confusion(pd.DataFrame(cm, index=labels, columns=labels))
    assert out["counts"] is None
    assert len(out["cells"]) == np.count_nonzero(cm)
    assert all(v > 0 and type(v) is int for _, _, v in out["cells"])
    assert np.array_equal(np.array(dense_counts(out)), cm)
    assert len(json.dumps(out)) < len(json.dumps(cm.tolist())) / 3
    # Weighted: floats, and still every count in its place.
    halves = confusion(pd.DataFrame(cm * 0.5, index=labels, columns=labels))
    assert np.array_equal(np.array(dense_counts(halves)), cm * 0.5)
    # Dense enough, it goes as rows.
    full = np.ones((3, 3), dtype=int)
    assert confusion(pd.DataFrame(full))["cells"] is None


def test_with_many_classes_every_chart_draws_the_same_weakest_ones(db):
    import runwatch as rw
    from runwatch.views import weakest_classes

    rng = np.random.default_rng(3)
    labels = [f"class {i:02d}" for i in range(30)]
    run = rw.Run("many", labels=labels, store=db)
    y = rng.integers(0, 30, 3000)
    proba = rng.dirichlet(np.ones(30), 3000) + rng.uniform(0, 3, 30)[y, None] * np.eye(30)[y]
    proba /= proba.sum(axis=1, keepdims=True)
    with run.iteration("m") as it:
        it.update("validation", np.asarray(labels, dtype=object)[y], y_proba=proba)
    (iteration,) = run.iteration_list()
    split = iteration_detail(iteration)["splits"]["validation"]
    weakest = weakest_classes(iteration.engine("validation").per_class(), SHOWN_CLASSES)
    assert len(weakest) == SHOWN_CLASSES
    f1 = iteration.engine("validation").per_class()["f1"]
    worst = f1.sort_values(kind="stable", na_position="last").index[:SHOWN_CLASSES].tolist()
    assert weakest == worst

    def by_rank(rows, key):
        rank = {}
        for r in rows:
            rank.setdefault(r[key], float(r["rank"]))
        return sorted(rank, key=rank.__getitem__)

    # The bars and every curve chart's legend: the same classes, lowest F1 first.
    assert by_rank(chart_rows(split["charts"]["per_class"]), "label") == worst
    for name in ("roc", "pr", "lift", "gains", "calibration"):
        spec = split["charts"][name]
        legend = by_rank(chart_rows(spec), "series")
        averages = (
            ["micro average", "macro average"]
            if name in ("roc", "pr", "calibration")
            else ["micro average"]
        )
        assert legend == averages + worst, name
        assert spec["title"]["subtitle"] == ["the 20 of 30 classes with the lowest F1, worst first"]
    assert len(split["per_class"]) == 30  # the table keeps every class


@pytest.mark.parametrize("task", ["detection", "instance_segmentation", "segmentation"])
def test_a_vision_iteration_shows_its_metrics_table_and_matrix(task, db, tmp_path):
    # The metrics, the per-class table and the matrix; RunDetails and save_html work.
    from runwatch.widget import RunDetails

    from ..tracking.test_vision import feed, make_batches, new_run

    run = new_run(task, "vision", db)
    with run.iteration("model") as it:
        feed(it, task, make_batches(task, 8))
    detail = iteration_detail(it)
    split = json.loads(json.dumps(detail))["splits"]["validation"]
    want = it.metrics("validation")
    assert set(split["metrics"]) == set(want)
    for name, value in want.items():
        assert split["metrics"][name] == (None if np.isnan(value) else value)
    grouped = [m for g in split["groups"] for m in g["metrics"]]
    assert sorted(grouped) == sorted(want)
    assert [r["label"] for r in split["per_class"]] == [
        str(v) for v in it.engine("validation").per_class().index
    ]
    labels = split["confusion"]["labels"]
    assert (labels[-1] == "background") == (task != "segmentation")
    widget = RunDetails(run, live=False)
    assert widget.selected == str(it.id)
    page = tmp_path / "page.html"
    widget.save_html(str(page))
    assert "vision" in page.read_text(encoding="utf-8")


def test_the_loss_chart_starts_smoothed_as_tensorboard_does():
    spec = loss_chart_spec()
    assert {"name": "smoothing", "value": 0.6} in spec["params"]
    assert "subtitle" not in spec["title"]  # the page adds the points
    layers = spec["layer"]
    fields = [layer["encoding"]["y"]["field"] for layer in layers]
    assert fields == ["value", "smoothed", "value", "value"]  # lines, lone-point dot, hover


@pytest.mark.parametrize("task", ["detection", "instance_segmentation", "segmentation"])
def test_a_vision_iteration_groups_its_metrics_and_lists_its_per_class_columns(task, db):
    from ..tracking.test_vision import feed, make_batches, new_run

    run = new_run(task, "vision", db)
    with run.iteration("model") as it:
        feed(it, task, make_batches(task, 8))
    split = json.loads(json.dumps(iteration_detail(it)))["splits"]["validation"]
    groups = {g["group"]: g["metrics"] for g in split["groups"]}
    assert "other" not in groups
    table = it.engine("validation").per_class()
    if task == "segmentation":
        assert split["groups"][0] == {
            "group": "segmentation",
            "metrics": ["mean_iou", "frequency_weighted_iou", "pixel_accuracy",
                        "mean_pixel_accuracy"],
        }  # fmt: skip
        columns = [["iou", "IoU"], ["precision", "Precision"], ["recall", "Recall"],
                   ["support", "Support (pixels)"]]  # fmt: skip
    else:
        assert split["groups"][0]["metrics"][0] == "mAP"
        assert [g["group"] for g in split["groups"]] == [
            "average precision", "average recall", "matching"
        ]  # fmt: skip
        assert groups["matching"] == ["mean_matched_iou"]
        columns = [["ap", "AP"], ["ap_50", "AP50"], ["precision", "Precision"],
                   ["recall", "Recall"], ["f1", "F1"], ["mean_iou", "Matched IoU"],
                   ["support", "Support"]]  # fmt: skip
    assert split["per_class_columns"] == columns
    for row, (_, want) in zip(split["per_class"], table.iterrows()):
        assert set(row) == {"label"} | {c for c, _ in columns}
        for c, _ in columns:
            assert row[c] == (None if np.isnan(want[c]) else pytest.approx(want[c], abs=1e-12))


def test_segmentation_bars_are_iou_per_class_weakest_first_as_scikit_learn_computes_it(db):
    from sklearn.metrics import jaccard_score

    from ..tracking.test_vision import SEG_LABELS, feed, make_batches, new_run

    run = new_run("segmentation", "vision", db)
    batches = make_batches("segmentation", 4)
    with run.iteration("model") as it:
        feed(it, "segmentation", batches)
    truth = np.concatenate([t.ravel() for t, _ in batches])
    pred = np.concatenate([
        (kw["mask_pred"] if "mask_pred" in kw
         else np.argmax(kw["y_proba"], axis=0 if t.ndim == 2 else 1)).ravel()
        for t, kw in batches
    ])  # fmt: skip
    valid = truth != 255
    truth, pred = truth[valid], pred[valid]
    iou = jaccard_score(truth, pred, labels=range(4), average=None, zero_division=0)
    seen = [np.any((truth == i) | (pred == i)) for i in range(4)]
    iou = np.where(seen, iou, np.nan)  # IoU of a class neither true nor predicted: undefined
    order = sorted(range(4), key=lambda i: (np.inf if np.isnan(iou[i]) else iou[i], i))
    spec = iteration_detail(it)["splits"]["validation"]["charts"]["per_class"]
    rows = sorted(chart_rows(spec), key=lambda r: r["rank"])
    assert [r["label"] for r in rows] == [SEG_LABELS[i] for i in order]
    assert {r["measure"] for r in rows} == {"iou"}
    assert spec["title"]["text"] == "IoU per class"
    assert spec["height"] == {"step": 12}  # a class as tall as classification's bar pair
    assert spec["title"]["subtitle"] == ["by IoU, worst first"]
    for r in rows:
        i = SEG_LABELS.index(r["label"])
        assert (r["value"] is None) == bool(np.isnan(iou[i]))
        if r["value"] is not None:
            assert float(r["value"]) == pytest.approx(iou[i], abs=1e-3)  # specs round to 4
