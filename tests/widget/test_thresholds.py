"""``widget.threshold``: checked, and the counts at it sent exactly (``widget/_thresholds.py``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import traitlets

from runwatch.tracking import Run
from runwatch.widget import RunDetails
from runwatch.widget._payload import iteration_detail


@pytest.fixture
def widget(sweep):
    w = RunDetails(sweep.run, live=False)
    yield w
    w.close()


def test_threshold_is_off_by_default_and_sends_the_engines_counts_when_set(widget, sweep):
    assert widget.threshold is None and widget._threshold_exact == {}
    widget.selected = sweep.ids["LogisticRegression"]
    widget.threshold = 0.3137
    sent = widget._threshold_exact
    assert sent["iteration"] == str(sweep.ids["LogisticRegression"])
    assert (sent["split"], sent["threshold"]) == ("validation", 0.3137)
    engine = sweep.run.get(sweep.ids["LogisticRegression"]).engine("validation")
    assert [c["label"] for c in sent["classes"]] == [str(c) for c in engine.labels]
    for c, label in zip(sent["classes"], engine.labels):
        want = engine.at_threshold(0.3137, positive=label)
        cells = ("tp", "fp", "fn", "tn")
        assert [c[k] for k in cells] == [want[k] for k in cells]
    # It follows the iteration shown, and goes when the threshold does.
    widget.selected = sweep.ids["GaussianNB"]
    assert widget._threshold_exact["iteration"] == str(sweep.ids["GaussianNB"])
    widget.threshold = None
    assert widget._threshold_exact == {}


@pytest.mark.parametrize("bad", ["0.5", 1.5, -0.1, math.nan, math.inf, True, [0.5]])
def test_a_bad_threshold_is_refused_in_one_sentence_and_changes_nothing(widget, bad):
    widget.threshold = 0.25
    sent = dict(widget._threshold_exact)
    with pytest.raises(traitlets.TraitError) as err:
        widget.threshold = bad
    assert str(err.value) == f"threshold must be a number from 0 to 1; got {bad!r}."
    assert widget.threshold == 0.25 and widget._threshold_exact == sent


def test_finished_details_carry_a_table_exact_at_each_of_its_thresholds(sweep):
    iid = sweep.ids["DecisionTree"]
    table = iteration_detail(sweep.run.get(iid))["splits"]["validation"]["thresholds"]
    engine = sweep.run.get(iid).engine("validation")
    assert table["kind"] == "classification" and not table["binary"]
    assert len(table["classes"]) == 10
    for c, label in zip(table["classes"], engine.labels):
        assert c["threshold"] == sorted(c["threshold"]) and 0.5 in c["threshold"]
        for i, t in enumerate(c["threshold"]):
            want = engine.at_threshold(t, positive=label)
            assert (c["tp"][i], c["fp"][i]) == (want["tp"], want["fp"])
        assert c["positives"] == want["tp"] + want["fn"]


def test_a_running_iteration_has_no_table_yet(db):
    run = Run("live", primary_metric="accuracy", labels=["a", "b"], store=db)
    it = run.iteration("m")
    it.start()
    it.update("validation", ["a", "b", "b"], y_proba=[0.2, 0.9, 0.4])
    run.flush()
    assert iteration_detail(run.get(it.id))["splits"]["validation"]["thresholds"] is None
    it.complete()
    run.flush()
    table = iteration_detail(run.get(it.id))["splits"]["validation"]["thresholds"]
    assert table["binary"] and [c["label"] for c in table["classes"]] == ["b"]


def test_a_detection_run_takes_any_finite_score_and_sends_its_matrix(db):
    run = Run("det", task="detection", labels=["cat", "dog"], store=db)
    rng = np.random.default_rng(3)
    with run.iteration("d") as it:
        preds, targets = [], []
        for _ in range(6):
            boxes = np.sort(rng.uniform(0, 100, (3, 4)).reshape(3, 2, 2), axis=1).reshape(3, 4)
            jitter = boxes + rng.normal(0, 3, boxes.shape)
            jitter[:, 2:] = np.maximum(jitter[:, 2:], jitter[:, :2])
            preds.append({"boxes": jitter, "scores": rng.uniform(-2, 5, 3),
                          "labels": rng.choice(["cat", "dog"], 3)})  # fmt: skip
            targets.append({"boxes": boxes, "labels": rng.choice(["cat", "dog"], 3)})
        it.update("validation", preds, targets)
    run.flush()
    w = RunDetails(run, live=False)
    try:
        w.threshold = 2.5
        engine = run.get(it.id).engine("validation")
        want = engine.at_threshold(2.5)
        matrix = np.zeros((3, 3), np.int64)
        for r, c, n in w._threshold_exact["cells"]:
            matrix[r, c] = n
        np.testing.assert_array_equal(matrix, want["confusion_matrix"].to_numpy())
        assert w._threshold_exact["tp"] == want["per_class"]["tp"].tolist()
        with pytest.raises(traitlets.TraitError, match=r"^threshold must be a finite number; got"):
            w.threshold = "high"
        assert w.threshold == 2.5
        table = iteration_detail(run.get(it.id))["splits"]["validation"]["thresholds"]
        assert table["kind"] == "detection" and table["labels"] == ["cat", "dog"]
    finally:
        w.close()
