"""views.compare against scikit-learn: difference matrices, metric and per-class columns."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_score

from runwatch.metrics import ClassificationMetrics
from runwatch.views.compare import (
    aligned_labels,
    confusion_difference,
    metrics_comparison,
    per_class_comparison,
)

NAMES = np.array(["cat", "dog", "eel", "fox", "gnu", "hen", "<b>owl</b>"], dtype=object)


def _problem(rng: np.random.Generator, classes: np.ndarray, n: int, weights: np.ndarray):
    """Labels drawn unevenly from ``classes``; predictions right about 60% of the time."""
    truth = rng.choice(classes, n, p=weights)
    wrong = rng.choice(classes, n)
    pred = np.where(rng.random(n) < 0.6, truth, wrong)
    return truth, pred


def _engine(truth: np.ndarray, pred: np.ndarray) -> ClassificationMetrics:
    m = ClassificationMetrics()  # labels learned as seen: each has only the classes it met
    m.update(truth, y_pred=pred)
    return m


@pytest.mark.parametrize("seed", range(25))
def test_difference_matrix_equals_sklearns_normalised_matrices(seed):
    rng = np.random.default_rng(seed)
    # Each iteration sees its own subset of the classes: some only in one, some absent
    # from y_true but predicted, imbalanced.
    ka = rng.choice(len(NAMES), rng.integers(2, 6), replace=False)
    kb = rng.choice(len(NAMES), rng.integers(2, 6), replace=False)
    ta, pa = _problem(rng, NAMES[ka], int(rng.integers(5, 300)), rng.dirichlet(np.ones(len(ka))))
    tb, pb = _problem(rng, NAMES[kb], int(rng.integers(5, 300)), rng.dirichlet(np.ones(len(kb))))
    if seed % 3 == 0:  # a class predicted but never true in a: an empty row
        pa[0] = NAMES[6]
    a, b = _engine(ta, pa), _engine(tb, pb)

    got = confusion_difference(a.confusion_matrix(), b.confusion_matrix())

    labels = list(got.index)
    assert set(labels) == set(ta) | set(pa) | set(tb) | set(pb)
    want = confusion_matrix(ta, pa, labels=labels, normalize="true") - confusion_matrix(
        tb, pb, labels=labels, normalize="true"
    )
    np.testing.assert_allclose(got.to_numpy(), want, atol=1e-12)
    assert list(got.columns) == labels


def test_aligned_labels_keep_the_first_order_then_the_seconds_new_ones():
    assert aligned_labels(["b", 2, "a"], ["a", "c", "2"]) == ["b", "2", "a", "c"]


def test_difference_matrix_refuses_a_matrix_whose_rows_and_columns_differ():
    bad = pd.DataFrame([[1, 0], [0, 1]], index=["a", "b"], columns=["a", "c"])
    good = pd.DataFrame([[1]], index=["a"], columns=["a"])
    with pytest.raises(ValueError, match="^b must have the same labels"):
        confusion_difference(good, bad)


@pytest.mark.parametrize("seed", range(10))
def test_metric_and_per_class_columns_are_sklearns_differences(seed):
    rng = np.random.default_rng(100 + seed)
    ta, pa = _problem(rng, NAMES[:5], 400, rng.dirichlet(np.ones(5)))
    tb, pb = _problem(rng, NAMES[2:], 300, rng.dirichlet(np.ones(5)))
    a, b = _engine(ta, pa), _engine(tb, pb)

    rows = metrics_comparison(a.compute(), b.compute())
    by = {r["metric"]: r for r in rows}
    want = accuracy_score(ta, pa) - accuracy_score(tb, pb)
    assert by["accuracy"]["difference"] == pytest.approx(want, abs=1e-12)
    want = f1_score(ta, pa, average="macro", zero_division=0) - f1_score(
        tb, pb, average="macro", zero_division=0
    )
    assert by["f1_score_macro"]["difference"] == pytest.approx(want, abs=1e-12)
    # Undefined in one (binary metrics with more than two classes): no difference.
    assert by["AUC_binary"]["difference"] is None

    per = per_class_comparison(a.per_class(), b.per_class())
    labels = [r["label"] for r in per]
    assert labels == aligned_labels(list(a.per_class().index), list(b.per_class().index))
    fa = dict(zip(NAMES[:5], f1_score(ta, pa, labels=NAMES[:5], average=None, zero_division=0)))
    fb = dict(zip(NAMES[2:], f1_score(tb, pb, labels=NAMES[2:], average=None, zero_division=0)))
    pa_ = dict(
        zip(NAMES[:5], precision_score(ta, pa, labels=NAMES[:5], average=None, zero_division=0))
    )
    for r in per:
        label = r["label"]
        if label in fa and label in fb:
            assert r["difference"]["f1"] == pytest.approx(fa[label] - fb[label], abs=1e-12)
        else:  # a class one of them never met: not measured there, so no difference
            assert r["difference"]["f1"] is None
            assert (r["a"]["f1"] is None) == (label not in fa)
        if label in pa_:
            assert r["a"]["precision"] == pytest.approx(pa_[label], abs=1e-12)


def test_metrics_comparison_leaves_nan_out_of_the_difference():
    rows = metrics_comparison({"x": float("nan"), "y": 2.0}, {"x": 1.0, "y": 0.5}, names=["y", "x"])
    assert rows == [
        {"metric": "y", "a": 2.0, "b": 0.5, "difference": 1.5},
        {"metric": "x", "a": None, "b": 1.0, "difference": None},
    ]
    assert not any(isinstance(r["difference"], float) and math.isnan(r["difference"]) for r in rows)
