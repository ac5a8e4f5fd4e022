"""Widget test fixtures: a run logged from real classifiers (store: tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from runwatch.tracking import Run

XSS = "<img src=x onerror=alert(1)>"


@dataclass
class Logged:
    """A run and what was fed into it, for the oracle."""

    run: Run
    y_true: np.ndarray
    proba: dict[str, np.ndarray] = field(default_factory=dict)  # iteration name -> y_proba
    ids: dict[str, int] = field(default_factory=dict)
    labels: list[Any] = field(default_factory=list)


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    return X[order], y[order]


def log_sweep(db: str, name: str = "sweep", relabel: bool = False) -> Logged:
    """Three scikit-learn classifiers on digits, validation predictions and a few losses each.

    With `relabel`, class 3 is called XSS (a label that is markup) and the
    labels are strings.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.tree import DecisionTreeClassifier

    X, y = _digits()
    if relabel:
        y = np.array([XSS if v == 3 else f"digit {v}" for v in y], dtype=object)
    X_train, y_train, X_val, y_val = X[:1200], y[:1200], X[1200:], y[1200:]
    classes = sorted(set(y.tolist()))  # scikit-learn's classes_ order: the y_proba columns
    run = Run(name, primary_metric="accuracy", labels=classes, store=db)
    logged = Logged(run=run, y_true=y_val)
    models = [
        ("GaussianNB", GaussianNB()),
        ("DecisionTree", DecisionTreeClassifier(max_depth=5, random_state=0)),
        ("LogisticRegression", LogisticRegression(max_iter=300)),
    ]
    for model_name, model in models:
        with run.iteration(model_name, params={"model": model_name}) as it:
            model.fit(X_train, y_train)
            proba = model.predict_proba(X_val)
            logged.labels = list(model.classes_)
            for step in range(3):
                it.log_loss(1.0 / (step + 1), split="train", step=step)
            # Two batches: the engine merges them.
            it.update("validation", y_val[:300], y_proba=proba[:300])
            it.update("validation", y_val[300:], y_proba=proba[300:])
            logged.proba[model_name] = proba
            logged.ids[model_name] = it.id
    run.flush()
    return logged


@pytest.fixture
def sweep(db: str) -> Logged:
    return log_sweep(db)


def chart_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a payload chart's data, read back as Vega reads them (CSV with ``parse``)."""
    import csv
    import io

    data = spec["data"]
    values = data["values"]
    if isinstance(values, list):
        return values
    assert data["format"]["type"] == "csv"
    parse = data["format"]["parse"]
    rows = []
    for rec in csv.DictReader(io.StringIO(values)):
        row: dict[str, Any] = {}
        for k, v in rec.items():
            kind = parse.get(k)
            if kind == "number":
                row[k] = None if v == "" else float(v)
            elif kind == "boolean":
                row[k] = None if v == "" else v == "true"
            else:
                row[k] = v
        rows.append(row)
    return rows
