"""LightGBMCallback with LightGBM: one iteration per fit, every round's loss, sklearn's metrics."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
from sklearn import metrics as skm

import runwatch as rw
from runwatch.integrations.lightgbm import LightGBMCallback

from ._data import LABELS, classes, losses, regression, rows

QUIET = {"verbose": -1, "num_leaves": 7, "min_data_in_leaf": 5}


def test_a_multiclass_fit_is_one_iteration_with_every_rounds_loss_and_sklearns_metrics(db):
    Xtr, ytr, Xva, yva = classes()
    run = rw.Run("lgb", labels=LABELS, store=db)
    cb = LightGBMCallback(run, "lgb", X_valid=Xva, y_valid=yva)
    history: dict = {}
    train = lgb.Dataset(Xtr, label=ytr)
    booster = lgb.train(
        {"objective": "multiclass", "num_class": 3, **QUIET},
        train,
        num_boost_round=3,
        valid_sets=[train, lgb.Dataset(Xva, label=yva, reference=train)],
        valid_names=["training", "valid"],
        callbacks=[cb, lgb.record_evaluation(history)],
    )
    assert rows(db) == [("lgb", "completed", None)]
    it = run.iteration_list()[0]
    assert losses(it, "train") == pytest.approx(history["training"]["multi_logloss"], abs=1e-9)
    assert losses(it, "validation") == pytest.approx(history["valid"]["multi_logloss"], abs=1e-9)
    assert len(losses(it, "train")) == 3
    proba = booster.predict(Xva)
    got = it.metrics("validation")
    assert got["log_loss"] == pytest.approx(skm.log_loss(yva, proba), abs=1e-9)
    assert got["f1_score_macro"] == pytest.approx(
        skm.f1_score(yva, proba.argmax(1), average="macro")
    )
    assert got["AUC_macro"] == pytest.approx(
        skm.roc_auc_score(yva, proba, multi_class="ovr", average="macro"), abs=1e-9
    )


def test_the_sklearn_interface_and_regression_match_sklearn(db):
    Xtr, ytr, Xva, yva = regression()
    run = rw.Run("lgb-r", task="regression", store=db)
    cb = LightGBMCallback(run, X_valid=Xva, y_valid=yva)
    model = lgb.LGBMRegressor(n_estimators=3, **QUIET)
    model.fit(Xtr, ytr, eval_X=(Xva,), eval_y=(yva,), eval_metric="l1", callbacks=[cb])
    it = run.iteration_list()[0]
    assert it.status == "completed" and it.name == "lightgbm"
    # The first metric LightGBM reports (the one asked for, l1) is the loss; l2 is logged too.
    history = model.evals_result_["valid_0"]
    assert list(history)[0] == "l1"
    assert losses(it, "validation") == pytest.approx(history["l1"], abs=1e-9)
    logged = it.logged_metrics()
    assert list(logged[logged["name"] == "valid_0-l2"]["value"]) == pytest.approx(history["l2"])
    pred = model.predict(Xva)
    assert it.metrics()["r2_score"] == pytest.approx(skm.r2_score(yva, pred), abs=1e-9)


def test_early_stopping_inside_the_with_block_completes_with_the_best_rounds_predictions(db):
    Xtr, ytr, Xva, yva = classes()
    rng = np.random.default_rng(0)
    yva_noise = rng.integers(0, 3, len(yva))  # a validation set it cannot improve on
    run = rw.Run("lgb", labels=LABELS, store=db)
    cb = LightGBMCallback(run, X_valid=Xva, y_valid=yva_noise)
    train = lgb.Dataset(Xtr, label=ytr)
    with cb:
        booster = lgb.train(
            {"objective": "multiclass", "num_class": 3, **QUIET},
            train,
            num_boost_round=50,
            valid_sets=[lgb.Dataset(Xva, label=yva_noise, reference=train)],
            callbacks=[cb, lgb.early_stopping(2, verbose=False)],
        )
    it = run.iteration_list()[0]
    assert booster.best_iteration < 10
    assert it.status == "completed"
    # Every round ran is logged: the best one and the 2 of patience after it.
    assert len(losses(it, "validation")) == booster.best_iteration + 2
    proba = booster.predict(Xva, num_iteration=booster.best_iteration)
    assert it.metrics()["log_loss"] == pytest.approx(skm.log_loss(yva_noise, proba), abs=1e-9)


@pytest.mark.parametrize(
    ("error", "row"),
    [
        (RuntimeError, ("lightgbm", "failed", "RuntimeError: stopped in round 1")),
        (KeyboardInterrupt, ("lightgbm", "canceled", None)),
    ],
)
def test_a_fit_that_raises_inside_the_with_block_fails_or_cancels_its_iteration(db, error, row):
    Xtr, ytr, Xva, yva = classes()

    def stop(env):
        if env.iteration == 1:
            raise error("stopped in round 1")

    stop.order = 10  # after the callback (5), so round 1 is logged before it stops

    run = rw.Run("lgb", labels=LABELS, store=db)
    cb = LightGBMCallback(run)
    train = lgb.Dataset(Xtr, label=ytr)
    with pytest.raises(error), cb:
        lgb.train(
            {"objective": "multiclass", "num_class": 3, **QUIET},
            train,
            num_boost_round=3,
            valid_sets=[lgb.Dataset(Xva, label=yva, reference=train)],
            callbacks=[cb, stop],
        )
    assert rows(db) == [row]
    assert len(losses(run.iteration_list()[0], "validation")) == 2  # rounds 0 and 1


def test_bad_arguments_are_refused_and_write_nothing(db):
    run = rw.Run("lgb", labels=LABELS, store=db)
    with pytest.raises(ValueError, match="run must be a runwatch Run"):
        LightGBMCallback("lgb")
    with pytest.raises(ValueError, match="y_valid has 2 samples but X_valid has 3"):
        LightGBMCallback(run, X_valid=np.zeros((3, 2)), y_valid=[0, 1])
    assert rows(db) == []
