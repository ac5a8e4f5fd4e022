import json
import math

import numpy as np
import pandas as pd
import pytest

from runwatch.metrics import CLASSIFICATION_METRICS
from runwatch.views import (
    METRIC_GROUPS,
    chart_spec,
    metrics_table_rows,
    per_class_chart,
    per_class_rows,
)

from .conftest import XSS, _outputs, assert_only_data, named_values, to_spec


def test_every_classification_metric_has_its_group(multiclass):
    rows = metrics_table_rows(multiclass.values, multiclass.reasons)
    assert [r["metric"] for r in rows if r["group"] != "other"] == [
        name for group in ("threshold-free", "label", "binary") for name in METRIC_GROUPS[group]
    ]
    assert set(CLASSIFICATION_METRICS) == {r["metric"] for r in rows}
    groups = {r["metric"]: r["group"] for r in rows}
    assert groups["AUC_weighted"] == groups["log_loss"] == "threshold-free"
    assert groups["accuracy"] == groups["f1_score_macro"] == "label"
    assert groups["AUC_binary"] == "binary"
    binary = [r for r in rows if r["group"] == "binary"]
    assert all(r["value"] is None and r["reason"] for r in binary)  # 12 classes: binary only
    for r in rows:
        if r["value"] is not None:
            assert r["value"] == pytest.approx(multiclass.values[r["metric"]])
            assert r["reason"] is None


def test_binary_run_fills_the_binary_group(binary):
    rows = metrics_table_rows(binary.values, binary.reasons, drop_undefined=True)
    assert {r["metric"] for r in rows if r["group"] == "binary"} == set(METRIC_GROUPS["binary"])


def test_unknown_and_regression_names():
    rows = metrics_table_rows(
        {"zeta": 1.0, "r2_score": 0.5, "alpha": math.nan, "normalized_mean_absolute_error": 0.1}
    )
    assert [(r["group"], r["metric"]) for r in rows] == [
        ("correlation", "r2_score"),
        ("normalised error", "normalized_mean_absolute_error"),
        ("other", "alpha"),
        ("other", "zeta"),
    ]
    assert rows[2]["value"] is None and rows[2]["reason"] is None
    with pytest.raises(ValueError, match="zeta"):
        metrics_table_rows({"zeta": "high"})


def test_per_class_rows_follow_the_engine_table(multiclass):
    table = multiclass.per_class
    rows = per_class_rows(table)
    assert [r["label"] for r in rows] == [str(label) for label in table.index]
    assert list(rows[0]) == ["label", *table.columns]
    for r, (_, expected) in zip(rows, table.iterrows()):
        assert r["precision"] == pytest.approx(expected["precision"])
        assert r["support"] == expected["support"]


def test_per_class_nan_becomes_none():
    table = pd.DataFrame(
        {"precision": [1.0], "recall": [0.0], "f1": [0.0], "support": [0.0], "auc": [math.nan]},
        index=pd.Index([3], name="label"),
    )
    assert per_class_rows(table) == [
        {"label": "3", "precision": 1.0, "recall": 0.0, "f1": 0.0, "support": 0.0, "auc": None}
    ]


def test_per_class_chart(multiclass):
    spec = to_spec(per_class_chart(multiclass.per_class))
    rows = named_values(spec, "per_class")
    assert len(rows) == 2 * len(multiclass.per_class)
    assert {r["measure"] for r in rows} == {"precision", "recall"}
    assert spec["encoding"]["yOffset"]["field"] == "measure"
    assert_only_data(spec, XSS)
    with pytest.raises(ValueError, match="auroc"):
        per_class_chart(multiclass.per_class, measures=("auroc",))


def _drawn_order(spec):
    """The classes top to bottom as Vega-Lite draws them: by the y sort field, ascending."""
    sort = spec["encoding"]["y"]["sort"]
    assert sort.get("order", "ascending") == "ascending" and sort["op"] == "min"
    rows = named_values(spec, "per_class")
    first = {}
    for r in rows:
        first[r["label"]] = min(first.get(r["label"], math.inf), r[sort["field"]])
    return sorted(first, key=first.__getitem__)


def test_per_class_chart_top_draws_the_lowest_f1_worst_first():
    f1 = [0.9, 0.3, math.nan, 0.5, 0.1, 0.95]
    table = pd.DataFrame(
        {"precision": f1, "recall": f1, "f1": f1, "support": [5.0, 5, 0, 5, 5, 5]},
        index=pd.Index([f"c{i}" for i in range(6)], name="label"),
    )
    spec = to_spec(per_class_chart(table, top=3))
    # The three lowest F1 (the class without samples is not one), lowest first.
    assert _drawn_order(spec) == ["c4", "c1", "c3"]
    assert spec["title"]["subtitle"] == ["the 3 of 6 classes with the lowest F1, worst first"]
    full = to_spec(per_class_chart(table, top=6))
    assert len(named_values(full, "per_class")) == 12
    assert full["title"]["subtitle"] == ["by F1, worst first"]
    assert _drawn_order(full) == ["c4", "c1", "c3", "c0", "c5", "c2"]  # no F1: last


@pytest.mark.parametrize("seed", range(6))
def test_per_class_bars_go_by_f1_worst_first_ties_in_table_order(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    # Few distinct values: many ties; some classes without F1; text labels in shuffled order.
    f1 = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0, math.nan], n)
    labels = rng.permutation([f"class {i:02d}" for i in range(n)])
    table = pd.DataFrame(
        {"precision": rng.random(n), "recall": rng.random(n), "f1": f1, "support": 1.0},
        index=pd.Index(labels, name="label"),
    )
    top = int(rng.integers(1, n + 1))
    spec = to_spec(per_class_chart(table, top=top))
    # The oracle: pandas' stable sort, missing last.
    want = table["f1"].sort_values(kind="stable", na_position="last").index[:top].tolist()
    assert _drawn_order(spec) == want
    rows = named_values(spec, "per_class")
    f1_of = {r["label"]: r["f1"] for r in rows}
    assert all(f1_of[c] == clean_f1 for c, clean_f1 in _clean(table["f1"][want]).items())
    assert {t["field"] for t in spec["encoding"]["tooltip"]} >= {"label", "f1", "support"}


def _clean(series):
    return {k: None if math.isnan(v) else v for k, v in series.items()}


def test_per_class_bars_without_f1_go_by_the_mean_of_the_measures():
    table = pd.DataFrame(
        {"precision": [0.9, 0.2, 0.6], "recall": [0.7, 0.4, 0.1]}, index=["cat", "dog", "owl"]
    )
    spec = to_spec(per_class_chart(table))
    assert _drawn_order(spec) == ["dog", "owl", "cat"]
    assert spec["title"]["subtitle"] == ["by mean precision and recall, worst first"]


def test_per_class_chart_spec_is_what_altair_gives_from_its_template_too(multiclass):
    three = [_outputs(["cat", "dog", XSS], n=300, seed=seed).per_class for seed in (1, 2)]
    calls = [
        (three[0], {}),
        (three[1], {}),  # the same shape: from the template
        (multiclass.per_class, {"top": 5}),  # 12 classes, 5 drawn: another subtitle
        (multiclass.per_class.iloc[::-1], {"top": 5}),
        (three[1], {"width": 200, "bar_height": 4}),
        (three[0].iloc[:0], {}),  # no classes yet
    ]
    for table, kwargs in calls:
        got = chart_spec(per_class_chart, table, **kwargs)
        want = per_class_chart(table, **kwargs).to_dict(validate=False)
        assert json.loads(json.dumps(got)) == json.loads(json.dumps(want))


# ------------------------------------------------------------------ vision


def test_detection_metrics_fall_in_the_average_precision_recall_and_matching_groups():
    from runwatch.metrics.detection import DETECTION_METRICS

    rows = metrics_table_rows(dict.fromkeys(DETECTION_METRICS, 0.5))
    groups = {r["metric"]: r["group"] for r in rows}
    assert "other" not in groups.values()
    assert [r["metric"] for r in rows if r["group"] == "average precision"] == [
        "mAP", "mAP_50", "mAP_75", "mAP_small", "mAP_medium", "mAP_large"
    ]  # fmt: skip
    assert [r["metric"] for r in rows if r["group"] == "average recall"] == [
        "mAR_1", "mAR_10", "mAR_100", "mAR_small", "mAR_medium", "mAR_large"
    ]  # fmt: skip
    assert groups["mean_matched_iou"] == "matching"


def _segmentation_table(rng, k=6, n=4000):
    from runwatch.metrics import SegmentationMetrics

    labels = [f"class {i}" for i in range(k)]
    truth = rng.choice(k - 1, size=(n // 40, 40), p=rng.dirichlet(np.ones(k - 1)))  # last absent
    pred = np.where(rng.random(truth.shape) < 0.4, rng.integers(0, k, truth.shape), truth)
    m = SegmentationMetrics(k, labels=labels)
    m.update(truth, pred)
    table = m.per_class()
    return table, truth.ravel(), pred.ravel(), labels


def test_per_class_columns_follow_each_engines_table():
    from runwatch.metrics import ClassificationMetrics, DetectionMetrics
    from runwatch.views import per_class_columns

    rng = np.random.default_rng(3)
    seg, *_ = _segmentation_table(rng)
    assert per_class_columns(seg) == [
        ("iou", "IoU"), ("precision", "Precision"), ("recall", "Recall"),
        ("support", "Support (pixels)"),
    ]  # fmt: skip
    det = DetectionMetrics()
    det.update(
        pred_boxes=np.array([[0, 0, 10, 10.0]]), pred_scores=np.array([0.9]),
        pred_labels=np.array([1]), true_boxes=np.array([[0, 0, 10, 9.0]]),
        true_labels=np.array([1]),
    )  # fmt: skip
    assert per_class_columns(det.per_class()) == [
        ("ap", "AP"), ("ap_50", "AP50"), ("precision", "Precision"), ("recall", "Recall"),
        ("f1", "F1"), ("mean_iou", "Matched IoU"), ("support", "Support"),
    ]  # fmt: skip
    clf = ClassificationMetrics(labels=["a", "b"])
    clf.update(["a", "b"], y_pred=["a", "a"])
    assert per_class_columns(clf.per_class()) == [
        ("precision", "Precision"), ("recall", "Recall"), ("f1", "F1"), ("support", "Support"),
    ]  # fmt: skip
    with pytest.raises(TypeError, match="per_class must be a pandas DataFrame"):
        per_class_columns({"iou": [1.0]})


@pytest.mark.parametrize("seed", range(5))
def test_iou_bars_go_weakest_first_by_scikit_learns_iou(seed):
    from sklearn.metrics import jaccard_score

    from runwatch.views import weakest_classes

    rng = np.random.default_rng(seed)
    table, truth, pred, labels = _segmentation_table(rng)
    iou = jaccard_score(truth, pred, labels=range(len(labels)), average=None, zero_division=0)
    seen = [np.any((truth == i) | (pred == i)) for i in range(len(labels))]
    iou = np.where(seen, iou, np.nan)  # IoU of a class neither true nor predicted: undefined
    # scikit-learn's IoU per class, lowest first; a class never true nor predicted, last.
    want = [labels[i] for i in sorted(range(len(labels)), key=lambda i: (
        math.inf if np.isnan(iou[i]) else iou[i], i))]  # fmt: skip
    spec = to_spec(per_class_chart(table, measures=("iou",), rank_by="iou", title="IoU per class"))
    rows = named_values(spec, "per_class")
    assert [r["label"] for r in sorted(rows, key=lambda r: r["rank"])] == want
    for r in rows:
        i = labels.index(r["label"])
        assert r["measure"] == "iou"
        assert (r["value"] is None) == bool(np.isnan(iou[i]))
        if r["value"] is not None:
            assert r["value"] == pytest.approx(iou[i], abs=1e-12)
    assert spec["title"]["subtitle"] == ["by IoU, worst first"]
    short = to_spec(per_class_chart(table, measures=("iou",), rank_by="iou", top=3))
    assert short["title"]["subtitle"] == ["the 3 of 6 classes with the lowest IoU, worst first"]
    assert weakest_classes(table, 3, rank_by="iou") == want[:3]


def test_rank_by_must_be_a_column():
    table = pd.DataFrame({"precision": [0.5], "recall": [0.5]}, index=["a"])
    with pytest.raises(ValueError, match="rank_by must be a column of per_class; it has no 'iou'"):
        per_class_chart(table, rank_by="iou")
