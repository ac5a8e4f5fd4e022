"""Iteration.update_from: an engine filled elsewhere (a cluster, another process) merged in."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, roc_auc_score

from runwatch.metrics import ClassificationMetrics, RegressionMetrics
from runwatch.tracking import Run, open_run
from runwatch.tracking.store import Store

from ..metrics.conftest import assert_metrics_close


def _problem(seed: int, n: int = 600):
    rng = np.random.default_rng(seed)
    labels = ["ant", "bee", "cat"]
    y = np.asarray(labels)[rng.integers(0, 3, n)]
    proba = rng.dirichlet(np.ones(3), n)
    return labels, y, proba


def test_update_from_merges_into_the_split_and_reaches_the_store(db):
    labels, y, proba = _problem(0)
    elsewhere = ClassificationMetrics(labels=labels)
    elsewhere.update(y[300:], y_proba=proba[300:])
    before = elsewhere.state_dict()
    run = Run("u", labels=labels, store=db)
    with run.iteration("model") as it:
        it.update("validation", y[:300], y_proba=proba[:300])
        it.update_from(elsewhere, split="validation")
        live = it.metrics("validation")
        stats = it.dataset_stats("validation")
    for key, value in elsewhere.state_dict().items():  # the caller's engine is untouched
        assert np.array_equal(value, before[key])
    pred = np.asarray(labels)[proba.argmax(axis=1)]
    assert live["accuracy"] == pytest.approx(accuracy_score(y, pred), abs=1e-12)
    assert live["AUC_weighted"] == pytest.approx(
        roc_auc_score(y, proba, multi_class="ovr", average="weighted", labels=labels), abs=1e-9
    )
    assert stats == {"n_samples": 600, "class_counts": {k: int(np.sum(y == k)) for k in labels}}
    for store in list(Store._instances.values()):  # the next read goes to the file
        store.close()
    stored = open_run("u", db).get("model")
    assert_metrics_close(stored.metrics("validation"), live, rtol=0, atol=0)
    cm = stored.confusion_matrix("validation")
    assert np.array_equal(cm.to_numpy(), confusion_matrix(y, pred, labels=labels))
    assert stored.dataset_stats("validation") == stats


def test_update_from_into_an_empty_split_equals_updates_there(db):
    rng = np.random.default_rng(1)
    y = rng.gamma(2.0, 3.0, 500)
    p = y + rng.normal(0, 1, 500)
    engine = RegressionMetrics()
    engine.update(y, p)
    run = Run("r", task="regression", store=db)
    with run.iteration("from") as a:
        a.update_from(engine, split="test")
    with run.iteration("fed") as b:
        b.update("test", y, p)
    assert a.metrics("test") == b.metrics("test")
    assert (
        a.dataset_stats("test") == b.dataset_stats("test") == {"n_samples": 500, "class_counts": {}}
    )


def _state(it, split):
    engine = it.engine(split)
    return None if engine is None else engine.state_dict()


def _other_engine(kind: str):
    labels, y, proba = _problem(2, 30)
    if kind == "regression":
        return RegressionMetrics()
    if kind == "text":
        return "not an engine"
    if kind == "other labels":
        engine = ClassificationMetrics(labels=["x", "y"])
        engine.update(["x", "y"] * 15, y_pred=["y", "y"] * 15)
        return engine
    engine = ClassificationMetrics(labels=labels, curve_bins=kind == "binned" or None)
    engine.update(y, y_proba=proba)
    return engine


@pytest.mark.parametrize(
    ("kind", "split", "match"),
    [
        ("regression", "validation", "engine must be a ClassificationMetrics"),
        ("text", "validation", "engine must be a ClassificationMetrics"),
        ("other labels", "validation", "engine does not merge"),
        ("binned", "validation", "engine does not merge"),
        ("like", "holdout", "split must be one of"),
    ],
)
def test_update_from_refusals_change_nothing(db, kind, split, match):
    labels, y, proba = _problem(4, 90)
    engine = _other_engine(kind)
    run = Run("bad", labels=labels, store=db)
    with run.iteration("model") as it:
        it.update("validation", y, y_proba=proba)
        before, stats = _state(it, "validation"), it.dataset_stats("validation")
        with pytest.raises(ValueError, match=match):
            it.update_from(engine, split=split)
        after = _state(it, "validation")
        assert before.keys() == after.keys()
        for key in before:
            assert np.array_equal(before[key], after[key]), key
        assert it.dataset_stats("validation") == stats


def test_update_from_on_an_ended_iteration_is_refused(db):
    labels, y, proba = _problem(3, 50)
    engine = ClassificationMetrics(labels=labels)
    engine.update(y, y_proba=proba)
    run = Run("ended", labels=labels, store=db)
    with run.iteration("model") as it:
        pass
    with pytest.raises(RuntimeError, match="completed"):
        it.update_from(engine)
    assert it.engine("validation") is None
