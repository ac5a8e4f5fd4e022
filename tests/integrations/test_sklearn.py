"""rw.sweep against scikit-learn: the stored metrics equal sklearn's on the same predictions."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification, make_regression
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeRegressor

import runwatch as rw

from ..tracking.conftest import child_env


def _classes(n=240, k=3, seed=0, names=("ant", "bee", "cat")):
    X, y = make_classification(
        n_samples=n, n_features=6, n_informative=4, n_classes=k, random_state=seed
    )
    y = np.asarray(names)[y]
    return X[:120], y[:120], X[120:180], y[120:180], X[180:], y[180:]


def _rows(db: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT name, status, error FROM iterations ORDER BY id").fetchall()


class Boom(BaseEstimator, ClassifierMixin):
    def fit(self, X, y):
        raise RuntimeError("boom in fit")

    def predict(self, X):
        return np.zeros(len(X))


def test_each_estimator_is_an_iteration_whose_metrics_equal_scikit_learn(db):
    Xtr, ytr, Xva, yva, Xte, yte = _classes()
    run = rw.Run("s", labels=["ant", "bee", "cat"], store=db)
    models = {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        "forest": RandomForestClassifier(n_estimators=20, random_state=0),
        "svc": LinearSVC(),  # no predict_proba: scored on its labels
    }
    rw.sweep(run, models, Xtr, ytr, Xva, yva, Xte, yte)
    its = run.iteration_list()
    assert [it.name for it in its] == ["logreg", "forest", "svc"]
    assert [it.status for it in its] == ["completed"] * 3
    assert its[1].params["n_estimators"] == 20
    for it, model in zip(its, models.values()):
        fitted = model.fit(Xtr, ytr)  # deterministic: the same model the sweep fitted
        for split, X, y in (("train", Xtr, ytr), ("validation", Xva, yva), ("test", Xte, yte)):
            got = it.metrics(split)
            pred = fitted.predict(X)
            assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
            assert got["f1_score_macro"] == pytest.approx(
                skm.f1_score(y, pred, average="macro"), abs=1e-12
            )
            if hasattr(fitted, "predict_proba"):
                proba = fitted.predict_proba(X)
                assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba), abs=1e-9)
                assert got["AUC_weighted"] == pytest.approx(
                    skm.roc_auc_score(y, proba, multi_class="ovr", average="weighted"), abs=1e-9
                )
        assert it.logged_metrics().query("name == 'fit_time'")["value"].iloc[0] > 0
    forest = models["forest"]
    assert its[1].feature_importance["values"] == pytest.approx(forest.feature_importances_)
    svc = models["svc"]
    per_class = dict((k, v) for k, v in its[2].feature_importance["per_class"])
    assert per_class["bee"] == pytest.approx(svc.coef_[1])
    assert its[2].feature_importance["values"] == pytest.approx(np.abs(svc.coef_).mean(axis=0))


def test_a_failing_estimator_is_a_failed_iteration_and_the_sweep_goes_on(db):
    Xtr, ytr, Xva, yva, _, _ = _classes()
    run = rw.Run("s", labels=["ant", "bee", "cat"], store=db)
    rw.sweep(run, {"boom": Boom(), "nb": GaussianNB()}, Xtr, ytr, Xva, yva)
    assert _rows(db) == [
        ("boom", "failed", "RuntimeError: boom in fit"),
        ("nb", "completed", None),
    ]


def test_a_parameter_grid_gives_one_iteration_per_point(db):
    Xtr, ytr, Xva, yva, _, _ = _classes()
    run = rw.Run("g", labels=["ant", "bee", "cat"], store=db)
    rw.sweep(run, (LogisticRegression(max_iter=300), {"C": [0.01, 1.0]}), Xtr, ytr, Xva, yva)
    its = run.iteration_list()
    assert [it.params for it in its] == [{"C": 0.01}, {"C": 1.0}]
    assert [it.name for it in its] == ["LogisticRegression(C=0.01)", "LogisticRegression(C=1.0)"]
    for it, c in zip(its, (0.01, 1.0)):
        proba = LogisticRegression(max_iter=300, C=c).fit(Xtr, ytr).predict_proba(Xva)
        assert it.metrics()["log_loss"] == pytest.approx(skm.log_loss(yva, proba), abs=1e-9)


def test_a_class_absent_from_training_gets_a_zero_column(db):
    Xtr, ytr, Xva, yva, _, _ = _classes()
    keep = ytr != "cat"
    run = rw.Run("absent", labels=["ant", "bee", "cat"], store=db)
    rw.sweep(run, {"lr": LogisticRegression()}, Xtr[keep], ytr[keep], Xva, yva)
    proba = LogisticRegression().fit(Xtr[keep], ytr[keep]).predict_proba(Xva)
    full = np.column_stack([proba, np.zeros(len(yva))])
    got = run.iteration_list()[0].metrics()
    assert got["accuracy"] == pytest.approx(
        skm.accuracy_score(yva, np.array(["ant", "bee"])[proba.argmax(1)])
    )
    assert got["AUC_macro"] == pytest.approx(
        skm.roc_auc_score(
            yva, full, multi_class="ovr", average="macro", labels=["ant", "bee", "cat"]
        )
    )


def test_regression_metrics_equal_scikit_learn(db):
    X, y = make_regression(n_samples=150, n_features=5, noise=5.0, random_state=1)
    run = rw.Run("r", task="regression", store=db)
    models = {"ridge": Ridge(alpha=0.5), "tree": DecisionTreeRegressor(max_depth=3, random_state=0)}
    rw.sweep(run, models, X[:100], y[:100], X[100:], y[100:])
    for it, model in zip(run.iteration_list(), models.values()):
        pred = model.fit(X[:100], y[:100]).predict(X[100:])
        got = it.metrics()
        assert got["r2_score"] == pytest.approx(skm.r2_score(y[100:], pred), abs=1e-9)
        assert got["mean_absolute_error"] == pytest.approx(
            skm.mean_absolute_error(y[100:], pred), abs=1e-9
        )
        assert got["root_mean_squared_error"] == pytest.approx(
            skm.root_mean_squared_error(y[100:], pred), abs=1e-9
        )
    assert run.iteration_list()[0].feature_importance["values"] == pytest.approx(
        models["ridge"].coef_
    )


def test_cv_scores_the_out_of_fold_predictions_as_validation(db):
    Xtr, ytr, _, _, Xte, yte = _classes()
    run = rw.Run("cv", labels=["ant", "bee", "cat"], store=db)
    folds = KFold(4, shuffle=True, random_state=3)
    rw.sweep(
        run, {"lr": LogisticRegression(max_iter=300)}, Xtr, ytr, X_test=Xte, y_test=yte, cv=folds
    )
    it = run.iteration_list()[0]
    oof = cross_val_predict(
        LogisticRegression(max_iter=300), Xtr, ytr, cv=folds, method="predict_proba"
    )
    got = it.metrics("validation")
    assert got["log_loss"] == pytest.approx(skm.log_loss(ytr, oof), abs=1e-9)
    assert it.dataset_stats("validation")["n_samples"] == len(ytr)
    assert len(it.logged_metrics().query("name == 'fold_fit_time'")) == 4
    refit = LogisticRegression(max_iter=300).fit(Xtr, ytr)
    assert it.metrics("test")["log_loss"] == pytest.approx(
        skm.log_loss(yte, refit.predict_proba(Xte)), abs=1e-9
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"run": "s"}, "run must be a runwatch Run"),
        ({"estimators": {"lr": LogisticRegression}}, r"estimators\['lr'\] is the class"),
        ({"estimators": {"x": object()}}, r"estimators\['x'\] must be a scikit-learn estimator"),
        ({"estimators": [LogisticRegression()]}, "estimators must be a dict"),
        ({"estimators": (LogisticRegression(), {"nope": [1]})}, r"estimators\[1\] names 'nope'"),
        ({"y_train": ["ant"] * 5}, "y_train has 5 samples but X_train has 120"),
        ({"X_valid": None}, "X_valid is missing while y_valid is given"),
        ({"y_test": ["ant"] * 3}, "X_test is missing while y_test is given"),
        ({"n_jobs": 0}, "n_jobs must be a positive int"),
        ({"cv": 3}, "X_valid: with cv="),
        ({"y_valid": ["dog"] * 60}, "y_valid has label 'dog'"),
    ],
)
def test_bad_input_is_refused_naming_the_argument_and_writes_nothing(db, kwargs, message):
    Xtr, ytr, Xva, yva, _, _ = _classes()
    run = rw.Run("bad", labels=["ant", "bee", "cat"], store=db)
    args = {
        "run": run, "estimators": {"nb": GaussianNB()},
        "X_train": Xtr, "y_train": ytr, "X_valid": Xva, "y_valid": yva,
    }  # fmt: skip
    args.update(kwargs)
    with pytest.raises(ValueError, match=message) as caught:
        rw.sweep(**args)
    assert "\n" not in str(caught.value)
    assert _rows(db) == []


def test_string_classes_need_the_runs_labels(db):
    Xtr, ytr, Xva, yva, _, _ = _classes()
    run = rw.Run("nolabels", store=db)
    with pytest.raises(ValueError, match="has no labels and the classes"):
        rw.sweep(run, {"nb": GaussianNB()}, Xtr, ytr, Xva, yva)
    assert _rows(db) == []
    # Integer classes 0..K-1 are the y_proba columns of a run without labels.
    rw.sweep(run, {"nb": GaussianNB()}, Xtr, np.searchsorted(["ant", "bee", "cat"], ytr), Xva,
             np.searchsorted(["ant", "bee", "cat"], yva))  # fmt: skip
    assert _rows(db) == [("nb", "completed", None)]


def test_worker_processes_log_into_the_same_store(db):
    Xtr, ytr, Xva, yva, _, _ = _classes()
    run = rw.Run("par", labels=["ant", "bee", "cat"], store=db)
    models = {f"dummy-{k}": DummyClassifier(strategy="prior") for k in range(3)}
    models["boom"] = Boom()
    models["nb"] = GaussianNB()
    rw.sweep(run, models, Xtr, ytr, Xva, yva, n_jobs=2)
    rows = sorted(_rows(db))
    assert [r[0] for r in rows] == sorted(models)
    assert dict((r[0], r[1]) for r in rows) == {
        **{f"dummy-{k}": "completed" for k in range(3)},
        "boom": "failed",
        "nb": "completed",
    }
    with sqlite3.connect(db) as conn:
        pids = {
            r[0]
            for r in conn.execute(
                "SELECT w.pid FROM iterations i JOIN writers w ON w.id = i.writer_id"
            )
        }
    assert os.getpid() not in pids and len(pids) >= 1
    nb = run.get("nb")
    proba = GaussianNB().fit(Xtr, ytr).predict_proba(Xva)
    assert nb.metrics()["log_loss"] == pytest.approx(skm.log_loss(yva, proba), abs=1e-9)


SLOW = """
import time
from pathlib import Path
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

class Slow(BaseEstimator, ClassifierMixin):
    def __init__(self, flag=""):
        self.flag = flag

    def fit(self, X, y):
        Path(self.flag).touch()
        time.sleep(60)
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)
"""

SWEEP = """
import sys

import numpy as np
from sklearn.naive_bayes import GaussianNB
from slowmod import Slow

import runwatch as rw

if __name__ == "__main__":
    db, flag, n_jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    run = rw.Run("cancel", store=db)
    models = {"nb": GaussianNB(), "slow": Slow(flag), "after": GaussianNB()}
    if n_jobs > 1:
        models = {"slow": Slow(flag), "slow2": Slow(flag + "2")}
    rw.sweep(run, models, X, y, X, y, n_jobs=n_jobs)
"""


@pytest.mark.slow
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_sigint_cancels_the_running_iteration_and_stops_the_sweep(tmp_path: Path, db, n_jobs):
    (tmp_path / "slowmod.py").write_text(SLOW)
    script = tmp_path / "sweep_script.py"
    script.write_text(textwrap.dedent(SWEEP))
    flag = tmp_path / "fitting"
    env = child_env()
    env["PYTHONPATH"] = str(tmp_path) + os.pathsep + env["PYTHONPATH"]
    proc = subprocess.Popen(
        [sys.executable, str(script), db, str(flag), str(n_jobs)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        wanted = [flag] if n_jobs == 1 else [flag, Path(str(flag) + "2")]
        while not all(f.exists() for f in wanted):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the slow fit never started"
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    if n_jobs == 1:
        assert _rows(db) == [("nb", "completed", None), ("slow", "canceled", "KeyboardInterrupt")]
    else:
        assert sorted(_rows(db)) == [
            ("slow", "canceled", "KeyboardInterrupt"), ("slow2", "canceled", "KeyboardInterrupt")
        ]  # fmt: skip
