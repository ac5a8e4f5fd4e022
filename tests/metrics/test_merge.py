"""What a merge equals (README, "What a merge equals"), for every split and reduction order.

Counts are exact: merged (in any order, as batches, workers or a Dask-style
tree reduction) they equal one pass bit for bit, weighted ones too while the
weights are whole numbers. Float sums (log loss, sums of fractional weights,
calibration sums, the regression moments) may differ in their last bits, an
error that grows with the number of terms: each metric is held to
``tolerance(n)`` of its scale for ``n`` samples.
"""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.metrics import ClassificationMetrics, RegressionMetrics

from .conftest import classification_problem, random_batches


def tolerance(n: int) -> float:
    """The README's bound on what float sums may change, relative to the scale: n·2⁻⁵⁰.

    Summing n floats in two orders differs by at most about (n - 1)·2⁻⁵² of
    the sum of magnitudes; 2⁻⁵⁰ leaves a factor 4 for what a metric does with
    its sums (average precision divides cumulative ones).
    """
    return max(n, 1) * 2.0**-50


def split_and_reduce(make, feed, n: int, rng: np.random.Generator, tree: bool):
    """Feed random batches to random workers, then merge them back into one.

    ``tree``: pairs picked at random merge into new metrics until one is left
    (the shape of a Dask tree reduction, each state shipped as arrays first);
    otherwise the first worker folds in the others in a random order.
    """
    workers = [make() for _ in range(int(rng.integers(2, 6)))]
    for part in random_batches(rng, n):
        feed(workers[int(rng.integers(0, len(workers)))], part)
    shipped = [type(w).from_state_dict(w.state_dict()) for w in workers]
    if not tree:
        first, *rest = [shipped[i] for i in rng.permutation(len(shipped))]
        return first.merge(*rest)
    while len(shipped) > 1:
        i, j = sorted(rng.choice(len(shipped), 2, replace=False), reverse=True)
        a, b = shipped.pop(i), shipped.pop(j)
        merged = make().merge(a, b)
        shipped.append(type(merged).from_state_dict(merged.state_dict()))
    return shipped[0]


def assert_within_rule(got: dict, want: dict, scales: dict, n: int) -> None:
    """Every metric within ``tolerance(n)`` of the one-pass value, relative to its scale."""
    bad = {}
    for name, value in want.items():
        if np.isnan(value) or np.isnan(got[name]):
            if not (np.isnan(value) and np.isnan(got[name])):
                bad[name] = (got[name], value)
        elif abs(got[name] - value) > tolerance(n) * scales[name]:
            bad[name] = (got[name], value, scales[name])
    assert not bad, bad


# ------------------------------------------------------------- classification

WEIGHTS = ["none", "whole", "fractional"]


def _classification_case(rng, weights: str, bins):
    p = classification_problem(
        rng,
        n_classes=int(rng.integers(2, 7)),
        n=int(rng.integers(1, 800)),
        strings=bool(rng.integers(0, 2)),
        imbalanced=bool(rng.integers(0, 2)),
        ties=bool(rng.integers(0, 2)),
        absent=int(rng.integers(0, 2)),
        weights=weights != "none",
    )
    if weights == "whole":
        p.weight = np.round(p.weight)

    def make():
        return ClassificationMetrics(labels=p.labels, curve_bins=bins)

    def feed(m, part):
        w = None if p.weight is None else p.weight[part]
        m.update(p.y[part], y_proba=p.proba[part], sample_weight=w)

    return p, make, feed


@pytest.mark.parametrize("bins", [None, 64])
@pytest.mark.parametrize("weights", WEIGHTS)
def test_classification_counts_are_exact_and_floats_within_the_rule(weights, bins, rng):
    for trial in range(25):
        p, make, feed = _classification_case(rng, weights, bins)
        one = make()
        feed(one, slice(None))
        merged = split_and_reduce(make, feed, len(p.y), rng, tree=trial % 2 == 1)
        a, b = one.state_dict(), merged.state_dict()
        for key in ("counts", "n_samples", "n_scored"):  # integers whatever the weights
            assert np.array_equal(a[key], b[key]), key
        counts = ["confmat", "nmr_confmat"] + (["scores.hist"] if bins else [])
        rtol = tolerance(len(p.y))
        if weights == "fractional":
            for key in counts:
                np.testing.assert_allclose(b[key], a[key], rtol=rtol, atol=0, err_msg=key)
        else:  # whole weights: float sums of integers, exact
            for key in counts:
                assert np.array_equal(a[key], b[key]), key
            # calibration: count and positives per bin exact, the summed scores not
            assert np.array_equal(a["calibration"][:, [0, 2]], b["calibration"][:, [0, 2]])
            assert one.confusion_matrix().equals(merged.confusion_matrix())
            assert one.per_class()["support"].equals(merged.per_class()["support"])
            assert one.most_confused() == merged.most_confused()
        np.testing.assert_allclose(b["calibration"], a["calibration"], rtol=rtol, atol=0)
        np.testing.assert_allclose(b["logloss"], a["logloss"], rtol=rtol, atol=0)
        want = one.compute()
        # Scores and ratios live in [-1, 1]: their scale is 1 (log loss: itself).
        scales = {name: max(1.0, abs(value)) for name, value in want.items()}
        assert_within_rule(merged.compute(), want, scales, len(p.y))


def test_the_rule_holds_on_a_large_problem_where_the_error_grows(rng):
    # Tied scores with fractional weights: the tie groups' weights are summed
    # in another order after a merge; average precision moved by 4.8e-12 at
    # 200,000 samples (1e-13 at 2,000), inside n·2⁻⁵⁰ = 1.8e-10.
    p = classification_problem(rng, n_classes=5, n=100_000, ties=True, weights=True)

    def make():
        return ClassificationMetrics(labels=p.labels)

    def feed(m, part):
        m.update(p.y[part], y_proba=p.proba[part], sample_weight=p.weight[part])

    one = make()
    feed(one, slice(None))
    merged = split_and_reduce(make, feed, len(p.y), rng, tree=True)
    want = one.compute()
    scales = {name: max(1.0, abs(value)) for name, value in want.items()}
    assert_within_rule(merged.compute(), want, scales, len(p.y))


def test_classification_float_sums_do_differ_in_their_last_bits(rng):
    # Why the rule has a tolerance: sums of fractional weights and of log
    # losses depend on the order of addition (if this stops failing to find a
    # difference, the sums became exact and the README should say so).
    differs = set()
    for _ in range(40):
        p, make, feed = _classification_case(rng, "fractional", None)
        one = make()
        feed(one, slice(None))
        a = one.state_dict()
        b = split_and_reduce(make, feed, len(p.y), rng, tree=False).state_dict()
        differs |= {key for key in ("logloss", "confmat") if not np.array_equal(a[key], b[key])}
    assert differs == {"logloss", "confmat"}


# ----------------------------------------------------------------- regression


def _regression_case(rng, weights: str, mode: str):
    n = int(rng.integers(1, 2000))
    offset = float(rng.choice([0.0, 1e3, -1e6, 1e9]))
    scale = float(rng.choice([1e-3, 1.0, 1e3]))
    y = offset + scale * rng.standard_normal(n)
    if rng.random() < 0.3:  # ties
        y = np.round(y / scale) * scale
    p = y + scale * rng.normal(0.1, 1.0, n)
    w = None
    if weights == "whole":
        w = rng.integers(0, 4, n).astype(float)
    elif weights == "fractional":
        w = rng.uniform(0, 3, n)

    def make():
        return RegressionMetrics(mode=mode, grid_bins=64)

    def feed(m, part):
        m.update(y[part], p[part], None if w is None else w[part])

    return y, make, feed


def _regression_scales(want: dict) -> dict:
    """The scale of each metric: the value itself, or what it subtracts.

    ``mean_error`` (Σw·e / Σw) cancels positive against negative errors: its
    scale is the mean absolute error. r2 and explained variance are
    ``1 - ratio``: their scale is ``max(1, |value|)``, as for spearman.
    """
    scales = {name: abs(value) for name, value in want.items()}
    scales["mean_error"] = want["mean_absolute_error"]
    for name in ("r2_score", "explained_variance", "spearman_correlation"):
        scales[name] = max(1.0, abs(want[name]))
    return scales


@pytest.mark.parametrize("mode", ["exact", "binned"])
@pytest.mark.parametrize("weights", WEIGHTS)
def test_regression_counts_are_exact_and_floats_within_the_rule(weights, mode, rng):
    for trial in range(25):
        y, make, feed = _regression_case(rng, weights, mode)
        one = make()
        feed(one, slice(None))
        merged = split_and_reduce(make, feed, len(y), rng, tree=trial % 2 == 1)
        a, b = one.state_dict(), merged.state_dict()
        for key in a:
            if a[key].dtype.kind in "iu":  # n_samples, the sketch's and grid's counts
                assert np.array_equal(a[key], b[key]), key
        for chart in ("residuals", "predicted_vs_true"):
            assert one.curves()[chart]["count"].equals(merged.curves()[chart]["count"]), chart
        want = one.compute()
        assert_within_rule(merged.compute(), want, _regression_scales(want), len(y))
