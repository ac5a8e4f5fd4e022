"""views.gap against scikit-learn: train minus validation per metric, per class, per step."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss, recall_score

from runwatch.metrics import ClassificationMetrics
from runwatch.views import chart_spec
from runwatch.views.gap import (
    FLAGGED,
    MIN_FLAGGED_GAP,
    flag_classes,
    gap_chart,
    gap_column,
    loss_gap,
    metric_gap,
    per_class_gap,
)

LABELS = np.array([f"class {i}" for i in range(8)], dtype=object)


def _split(rng, n, skill, present):
    truth = rng.choice(present, n, p=rng.dirichlet(np.ones(len(present))))
    logits = rng.normal(size=(n, len(LABELS)))
    logits[np.arange(n), np.searchsorted(LABELS, truth)] += skill
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    m = ClassificationMetrics(labels=list(LABELS))
    m.update(truth, y_proba=proba)
    return truth, LABELS[proba.argmax(axis=1)], proba, m


@pytest.mark.parametrize("seed", range(10))
def test_gaps_are_sklearns_train_minus_validation(seed):
    rng = np.random.default_rng(seed)
    # Validation lacks a class train has: it has no gap.
    tt, pt, prt, train = _split(rng, 500, 3.0, LABELS)
    tv, pv, prv, valid = _split(rng, 300, 1.0, LABELS[:-1])

    rows = {r["metric"]: r for r in metric_gap(train.compute(), valid.compute())}
    assert rows["accuracy"]["gap"] == pytest.approx(
        accuracy_score(tt, pt) - accuracy_score(tv, pv), abs=1e-12
    )
    want = log_loss(tt, prt, labels=LABELS) - log_loss(tv, prv, labels=LABELS)
    assert rows["log_loss"]["gap"] == pytest.approx(want, abs=1e-9)
    assert "AUC_binary" not in rows  # undefined in both: no gap

    per = per_class_gap(train.per_class(), valid.per_class())
    labels = [r["label"] for r in per]
    # The classes with samples in both splits: the engine lists every label, a class
    # without samples in a split too (support 0), and its F1 of 0 there is no gap.
    both = [c for c in LABELS if c in set(tt) and c in set(tv)]
    assert labels == both and LABELS[-1] not in labels
    kw = {"labels": both, "average": None, "zero_division": 0}
    f1 = f1_score(tt, pt, **kw) - f1_score(tv, pv, **kw)
    recall = recall_score(tt, pt, **kw) - recall_score(tv, pv, **kw)
    np.testing.assert_allclose([r["gap"]["f1"] for r in per], f1, atol=1e-12)
    np.testing.assert_allclose([r["gap"]["recall"] for r in per], recall, atol=1e-12)
    assert "support" not in per[0]["gap"]
    # The flagged: the largest F1 gaps of at least MIN_FLAGGED_GAP, FLAGGED at most.
    order = sorted((i for i in range(len(f1)) if f1[i] >= MIN_FLAGGED_GAP), key=lambda i: -f1[i])
    assert {r["label"] for r in per if r["flagged"]} == {labels[i] for i in order[:FLAGGED]}


def test_flag_rule():
    assert flag_classes([0.02, 0.3, None, 0.1, 0.3, 0.2]) == [1, 4, 5]
    assert flag_classes([0.049, -0.5, None]) == []
    assert flag_classes([0.5, 0.4], k=1) == [0]


def test_gap_column_prefers_f1_then_iou_then_ap():
    assert gap_column(["precision", "recall", "f1", "support"]) == "f1"
    assert gap_column(["iou", "precision", "support"]) == "iou"
    assert gap_column(["ap", "ap50", "precision"]) == "ap"
    assert gap_column(["support"]) is None


def test_loss_gap_pairs_the_steps_both_splits_logged():
    points = [
        {"split": "train", "step": 0, "value": 1.0},
        {"split": "train", "step": 1, "value": 0.8},
        {"split": "validation", "step": 1, "value": 0.9},
        {"split": "train", "step": 1, "value": 0.7},  # logged again: the last counts
        {"split": "validation", "step": 2, "value": 0.85},
        {"split": "train", "step": 2, "value": 0.5},
        {"split": "test", "step": 2, "value": 0.1},
        {"split": "train", "step": 3, "value": float("nan")},
        {"split": "validation", "step": 3, "value": 0.8},
    ]
    got = loss_gap(points)
    assert [(r["step"], r["train"], r["validation"]) for r in got] == [
        (1.0, 0.7, 0.9),
        (2.0, 0.5, 0.85),
    ]
    assert [r["gap"] for r in got] == pytest.approx([-0.2, -0.35])


def test_gap_chart_is_diverging_bars_on_named_data():
    rows = metric_gap({"accuracy": 1.0, "log_loss": 0.1}, {"accuracy": 0.8, "log_loss": 0.5})
    spec = chart_spec(gap_chart, rows)
    assert spec["data"]["name"] == "gap"
    assert [(v["name"], round(v["gap"], 6)) for v in spec["data"]["values"]] == [
        ("accuracy", 0.2),
        ("log_loss", -0.4),
    ]
    assert spec["mark"]["type"] == "bar"
