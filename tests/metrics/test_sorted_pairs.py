"""Ranks and Spearman from the sorted pairs, against scipy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from runwatch.metrics import _sorted_pairs as pairs


def _sorted_runs(rng: np.random.Generator):
    yield np.array([4.0])  # a run of one element
    yield np.array([1.0, 1.0])
    yield np.array([1.0, 2.0])
    yield np.full(7, 3.0)
    yield np.array([0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 4.0])  # groups at both ends
    for _ in range(80):
        n = int(rng.choice([2, 3, 5, 40, 999, 4000]))
        distinct = int(rng.choice([1, 2, 5, n // 3 + 1, 10 * n]))  # mostly ties .. no ties
        yield np.sort(rng.integers(0, distinct, n).astype(float))


def test_centred_ranks_are_twice_scipys_midranks_centred(rng):
    for values in _sorted_runs(rng):
        want = 2 * scipy.stats.rankdata(values) - (values.size + 1)
        got = pairs.centred_ranks(values)
        assert got.dtype == np.float64
        assert np.array_equal(got, want), values


@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")
@pytest.mark.parametrize("kind", ["ties", "distinct", "mixed", "batches"])
def test_rank_correlation_equals_scipy_along_merged_batches(kind, rng):
    # Pairs added batch by batch (ties within and across batches, runs of one pair):
    # after each, rho equals scipy's on all pairs so far.
    y = np.zeros(0)
    p = np.zeros(0)
    order = pairs.pred_order(np.zeros(0))
    all_y, all_p = [], []
    for size in [1, 1, 2, 50, 1, 300, 7, 1000]:
        if kind == "ties":
            new_y, new_p = rng.integers(0, 4, size) * 1.0, rng.integers(0, 3, size) * 1.0
        elif kind == "distinct":
            new_y, new_p = rng.normal(size=size), rng.normal(size=size)
        elif kind == "mixed":
            new_y = np.round(rng.gamma(2, 10, size), 0)
            new_p = np.maximum(new_y + rng.normal(0, 5, size), 0.0)
        else:
            new_y = rng.normal(size=size)
            new_p = new_y + rng.normal(0, 0.3, size)
            new_y[: size // 2] = 0.5  # one value shared by every batch
        y, p, order = pairs.add_pairs(y, p, order, new_y, new_p)
        all_y.append(new_y)
        all_p.append(new_p)
        assert np.array_equal(y, np.sort(np.concatenate(all_y)))
        assert np.array_equal(order.values, np.sort(np.concatenate(all_p)))
        assert np.array_equal(p[order.order], order.values)
        if y.size >= 2:
            want = scipy.stats.spearmanr(np.concatenate(all_y), np.concatenate(all_p)).statistic
            got = pairs.rank_correlation(y, order)
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12) or (
                np.isnan(want) and np.isnan(got)
            )
