"""XGBoostCallback with XGBoost: one iteration per fit, every round's loss, sklearn's metrics."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb
from sklearn import metrics as skm

import runwatch as rw
from runwatch.integrations.xgboost import XGBoostCallback

from ._data import LABELS, classes, losses, regression, rows


def test_a_classifier_fit_is_one_iteration_with_every_rounds_loss_and_sklearns_metrics(db):
    Xtr, ytr, Xva, yva = classes()
    run = rw.Run("xgb", labels=LABELS, store=db)
    cb = XGBoostCallback(run, "xgb", params={"max_depth": 2}, X_valid=Xva, y_valid=yva)
    model = xgb.XGBClassifier(n_estimators=3, max_depth=2, eval_metric="mlogloss", callbacks=[cb])
    model.fit(Xtr, ytr, eval_set=[(Xtr, ytr), (Xva, yva)], verbose=False)
    assert rows(db) == [("xgb", "completed", None)]
    it = run.iteration_list()[0]
    assert it.params == {"max_depth": 2}
    history = model.evals_result()
    assert losses(it, "train") == pytest.approx(history["validation_0"]["mlogloss"], abs=1e-6)
    assert losses(it, "validation") == pytest.approx(history["validation_1"]["mlogloss"], abs=1e-6)
    assert len(losses(it, "validation")) == 3
    proba = model.predict_proba(Xva)
    got = it.metrics("validation")
    assert got["log_loss"] == pytest.approx(skm.log_loss(yva, proba), abs=1e-6)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(yva, proba.argmax(1)))
    assert got["AUC_weighted"] == pytest.approx(
        skm.roc_auc_score(yva, proba, multi_class="ovr", average="weighted"), abs=1e-9
    )
    assert set(it.dataset_stats("validation")["class_counts"]) == set(LABELS)
    # A second fit with the same callback is a second iteration.
    model.fit(Xtr, ytr, eval_set=[(Xtr, ytr), (Xva, yva)], verbose=False)
    assert rows(db) == [("xgb", "completed", None)] * 2


def test_the_native_api_names_its_eval_sets_and_regression_matches_sklearn(db):
    Xtr, ytr, Xva, yva = regression()
    run = rw.Run("xgb-r", task="regression", store=db)
    cb = XGBoostCallback(run, X_valid=Xva, y_valid=yva)
    history: dict = {}
    booster = xgb.train(
        {"max_depth": 3, "eval_metric": ["rmse", "mae"]},
        xgb.DMatrix(Xtr, label=ytr),
        num_boost_round=3,
        evals=[(xgb.DMatrix(Xtr, label=ytr), "train"), (xgb.DMatrix(Xva, label=yva), "eval")],
        evals_result=history,
        callbacks=[cb],
        verbose_eval=False,
    )
    it = run.iteration_list()[0]
    assert it.name == "xgboost" and it.status == "completed"
    assert losses(it, "train") == pytest.approx(history["train"]["rmse"], abs=1e-6)
    assert losses(it, "validation") == pytest.approx(history["eval"]["rmse"], abs=1e-6)
    logged = it.logged_metrics()
    assert list(logged[logged["name"] == "eval-mae"]["value"]) == pytest.approx(
        history["eval"]["mae"], abs=1e-6
    )
    pred = booster.predict(xgb.DMatrix(Xva))
    got = it.metrics()
    assert got["r2_score"] == pytest.approx(skm.r2_score(yva, pred), abs=1e-9)
    assert got["mean_absolute_error"] == pytest.approx(skm.mean_absolute_error(yva, pred))


class Stop(xgb.callback.TrainingCallback):
    def __init__(self, error: type[BaseException]) -> None:
        super().__init__()
        self.error = error

    def after_iteration(self, model, epoch, evals_log):
        if epoch == 1:
            raise self.error("stopped in round 1")
        return False


@pytest.mark.parametrize(
    ("error", "status"), [(RuntimeError, "failed"), (KeyboardInterrupt, "canceled")]
)
def test_a_fit_that_raises_inside_the_with_block_fails_or_cancels_its_iteration(db, error, status):
    Xtr, ytr, Xva, yva = classes()
    run = rw.Run("xgb", labels=LABELS, store=db)
    cb = XGBoostCallback(run, X_valid=Xva, y_valid=yva)
    model = xgb.XGBClassifier(n_estimators=3, callbacks=[cb, Stop(error)])
    with pytest.raises(error), cb:
        model.fit(Xtr, ytr, eval_set=[(Xva, yva)], verbose=False)
    it = run.iteration_list()[0]
    assert it.status == status
    assert len(losses(it, "validation")) == 2  # rounds 0 and 1 were logged before it stopped


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"run": None}, "run must be a runwatch Run"),
        ({"X_valid": np.zeros((3, 2))}, "y_valid is missing while X_valid is given"),
        (
            {"X_valid": np.zeros((3, 2)), "y_valid": [0, 1]},
            "y_valid has 2 samples but X_valid has 3",
        ),
        ({"splits": {"eval": "dev"}}, r"splits\['eval'\] must be one of"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_arguments_are_refused_in_one_sentence_and_write_nothing(db, kwargs, message):
    run = rw.Run("xgb", labels=LABELS, store=db)
    args = {"run": run, **kwargs}
    with pytest.raises(ValueError, match=message) as caught:
        XGBoostCallback(**args)
    assert "\n" not in str(caught.value)
    assert rows(db) == []
