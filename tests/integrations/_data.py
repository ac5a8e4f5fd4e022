"""Tiny problems shared by the callback tests, and the sqlite read of what a store holds."""

from __future__ import annotations

import sqlite3

import numpy as np
from sklearn.datasets import make_classification, make_regression

LABELS = ["ant", "bee", "cat"]


def classes(n: int = 240, seed: int = 0):
    """Three classes encoded 0..2 (the models' encoding): X_tr, y_tr, X_va, y_va."""
    X, y = make_classification(
        n_samples=n, n_features=6, n_informative=4, n_classes=3, random_state=seed
    )
    return X[:160], y[:160], X[160:], y[160:]


def regression(n: int = 200, seed: int = 1):
    X, y = make_regression(n_samples=n, n_features=5, noise=5.0, random_state=seed)
    return X[:140], y[:140], X[140:], y[140:]


def named(y) -> np.ndarray:
    return np.asarray(LABELS, dtype=object)[np.asarray(y)]


def rows(db: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT name, status, error FROM iterations ORDER BY id").fetchall()


def losses(it, split: str) -> list[float]:
    df = it.losses()
    df = df[df["split"] == split].sort_values("step")
    return list(df["value"])
