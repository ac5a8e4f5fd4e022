"""Shared cases for the engine tests: random problems and the stream-and-merge driver."""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest


@dataclass
class Problem:
    """One classification data set: labels, scores and the engine arguments that fit it."""

    y: np.ndarray
    proba: np.ndarray
    labels: list
    weight: np.ndarray | None = None
    kwargs: dict = field(default_factory=dict)


def classification_problem(
    rng: np.random.Generator,
    n_classes: int = 3,
    n: int = 400,
    *,
    strings: bool = False,
    imbalanced: bool = False,
    ties: bool = False,
    absent: int = 0,
    weights: bool = False,
    float32: bool = False,
    signal: float = 1.5,
) -> Problem:
    """A noisy classifier's softmax scores on ``n`` samples of ``n_classes`` classes."""
    labels = [f"class {i:02d}" for i in range(n_classes)] if strings else list(range(n_classes))
    prior = rng.dirichlet(np.full(n_classes, 0.3 if imbalanced else 5.0))
    if absent:
        prior[rng.choice(n_classes, absent, replace=False)] = 0
        prior /= prior.sum()
    truth = rng.choice(n_classes, n, p=prior)
    logits = rng.normal(size=(n, n_classes)) + signal * np.eye(n_classes)[truth]
    if ties:
        pool = rng.normal(size=(12, n_classes)) * 2
        logits = pool[rng.integers(0, 12, n)] + np.round(signal * np.eye(n_classes)[truth])
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    if float32:
        proba = proba.astype(np.float32)
    weight = rng.integers(0, 4, n).astype(float) * rng.uniform(0.5, 1.5, n) if weights else None
    y = np.asarray(labels, dtype=object)[truth] if strings else truth
    return Problem(y=y, proba=proba, labels=labels, weight=weight, kwargs={"labels": labels})


def random_batches(rng: np.random.Generator, n: int) -> list[slice]:
    """Cut range(n) into slices of random sizes, empty ones included."""
    cuts = np.sort(rng.integers(0, n + 1, size=rng.integers(0, 12)))
    edges = np.r_[0, cuts, n]
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def stream_and_merge(make, feed, n: int, rng: np.random.Generator, workers: int | None = None):
    """Feed random batches to a few metrics (as parallel workers would), then merge them.

    ``make()`` builds an empty metric; ``feed(metric, slice)`` updates it with
    that part of the data. Some workers round-trip through ``state_dict``
    before the merge, so persistence is exercised on every comparison.
    """
    workers = workers or int(rng.integers(1, 4))
    metrics = [make() for _ in range(workers)]
    for part in random_batches(rng, n):
        feed(metrics[int(rng.integers(0, workers))], part)
    for i, m in enumerate(metrics):
        if rng.random() < 0.5:
            metrics[i] = type(m).from_state_dict(m.state_dict())
    return metrics[0].merge(*metrics[1:])


def assert_metrics_close(
    got: dict, expected: dict, rtol: float = 1e-9, atol: float = 1e-12
) -> None:
    """Every name of ``expected`` equal in ``got`` (NaN matching NaN)."""
    assert set(got) >= set(expected), set(expected) - set(got)
    bad = {
        name: (got[name], want)
        for name, want in expected.items()
        if not np.isclose(got[name], want, rtol=rtol, atol=atol, equal_nan=True)
    }
    assert not bad, bad


def assert_same_state(a: dict, b: dict) -> None:
    """Two ``state_dict()`` results equal array for array: names, dtypes and values (NaN = NaN)."""
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert np.array_equal(a[key], b[key], equal_nan=a[key].dtype.kind == "f"), key


def through_npy(state: dict) -> dict:
    """Every array of ``state`` written with ``np.save`` and read back, pickle refused."""
    copied = {}
    for key, value in state.items():
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        buffer.seek(0)
        copied[key] = np.load(buffer, allow_pickle=False)
    return copied


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A generator seeded by the test's id, so a failure reproduces."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
