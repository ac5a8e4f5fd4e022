"""views.replay against scikit-learn: the matrix and metrics at step k, and "Δ vs best"."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

import runwatch as rw
from runwatch.views.replay import delta_vs_best, matrix_at, metrics_at, replay_rows, step_index

CLASSES = np.array(["cat", "dog", "eel", "fox"], dtype=object)


def _epochs(rng: np.random.Generator, n_epochs: int):
    """Imbalanced epochs; "fox" is true only from the third epoch on, "eel" never predicted."""
    out = []
    for e in range(n_epochs):
        pool = CLASSES if e >= 2 else CLASSES[:3]
        y = rng.choice(pool, int(rng.integers(3, 60)), p=rng.dirichlet(np.ones(len(pool))))
        pred = np.where(rng.random(len(y)) < 0.5 + 0.1 * e, y, rng.choice(CLASSES[:2], len(y)))
        out.append((y, pred))
    return out


@pytest.fixture
def run(tmp_path):
    return rw.Run("r", primary_metric="f1_score_macro", store=str(tmp_path / "runs.db"))


@pytest.mark.parametrize("seed", range(8))
def test_matrix_and_metrics_at_step_k_equal_scikit_learn_on_the_first_k_epochs(run, seed):
    rng = np.random.default_rng(seed)
    data = _epochs(rng, 5)
    steps = [2 * e + 1 for e in range(len(data))]  # steps need not be 0..n-1
    with run.iteration("net") as it:
        for step, (y, pred) in zip(steps, data):
            it.update("validation", y, y_pred=pred, step=step)
    snaps = it.steps("validation")
    for k, step in enumerate(steps):
        y = np.concatenate([d[0] for d in data[: k + 1]])
        pred = np.concatenate([d[1] for d in data[: k + 1]])
        frame = matrix_at(snaps, step)
        labels = list(frame.index)
        assert labels == sorted(set(y) | set(pred))
        np.testing.assert_array_equal(frame.to_numpy(), confusion_matrix(y, pred, labels=labels))
        got = metrics_at(snaps, step)
        assert got["accuracy"] == pytest.approx(accuracy_score(y, pred), abs=1e-12)
        assert got["f1_score_macro"] == pytest.approx(
            f1_score(y, pred, average="macro", zero_division=0), abs=1e-12
        )
    assert step_index(snaps) == len(steps) - 1
    last = matrix_at(snaps, steps[-1]).to_numpy()
    np.testing.assert_array_equal(matrix_at(snaps).to_numpy(), last)


@pytest.mark.parametrize("seed", range(6))
def test_delta_vs_best_is_the_step_minus_the_best_final_row_normalised(run, seed):
    rng = np.random.default_rng(100 + seed)
    data = _epochs(rng, 4)
    with run.iteration("replayed") as it:
        for e, (y, pred) in enumerate(data):
            it.update("validation", y, y_pred=pred, step=e)
    # the best: right on every sample, and it never saw "fox" nor predicted "eel" early
    by, bp = data[0]
    with run.iteration("oracle") as best_it:
        best_it.update("validation", by, y_pred=by)
    best = run.best()
    assert best.name == "oracle"  # run.best(): by the primary metric (f1_score_macro)
    snaps = it.steps("validation")
    for k in range(len(data)):
        got = delta_vs_best(snaps, best.confusion_matrix("validation"), step=k)
        labels = list(got.index)
        y = np.concatenate([d[0] for d in data[: k + 1]])
        pred = np.concatenate([d[1] for d in data[: k + 1]])
        assert set(labels) == set(y) | set(pred) | set(by)
        want = confusion_matrix(y, pred, labels=labels, normalize="true") - confusion_matrix(
            by, by, labels=labels, normalize="true"
        )
        np.testing.assert_allclose(got.to_numpy(), want, atol=1e-12)
        assert list(got.columns) == labels


def test_a_step_that_is_not_there_is_refused_naming_step(run):
    with run.iteration("net") as it:
        it.update("validation", ["a", "b"], y_pred=["a", "a"], step=1)
        it.update("validation", ["a", "b"], y_pred=["b", "b"], step=2)
    snaps = it.steps("validation")
    with pytest.raises(ValueError, match=r"^step 3 is not a step of the split \(its steps: 1, 2\)"):
        matrix_at(snaps, 3)
    with pytest.raises(ValueError, match="^step True is not a step"):
        metrics_at(snaps, True)
    with pytest.raises(ValueError, match="^step: the split has no steps"):
        matrix_at(it.steps("train"))


def test_replay_rows_give_each_step_its_metrics(run):
    with run.iteration("net") as it:
        it.update("validation", ["a", "b"], y_pred=["a", "a"], step=0)
        it.update("validation", ["a", "b"], y_pred=["a", "b"], step=1)
    rows = replay_rows(it.steps("validation"), ["accuracy", "AUC_macro"])
    assert rows == [
        {"step": 0, "accuracy": 0.5, "AUC_macro": None},
        {"step": 1, "accuracy": 0.75, "AUC_macro": None},
    ]
    assert not any(isinstance(v, float) and math.isnan(v) for r in rows for v in r.values())
