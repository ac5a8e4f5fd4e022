"""The exact median absolute error from bucket counts, against np.median."""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.metrics import _abs_error_counts as counts_module
from runwatch.metrics._abs_error_counts import BUCKETS, bucket_counts, median


def _cases(rng: np.random.Generator):
    yield np.array([0.0])
    yield np.array([2.5])
    yield np.array([0.0, 0.0])
    yield np.array([1.0, 3.0])
    yield np.array([np.inf, 1.0, np.inf])  # |e| overflowed: the last bucket
    yield np.array([np.inf, np.inf])
    yield np.full(1001, 7.25)  # every value in one bucket
    yield np.ldexp(1.0, rng.integers(-1074, 1024, 501))  # powers of two: bucket edges
    yield np.nextafter(np.ldexp(1.0, rng.integers(-20, 20, 500)), 0.0)  # just below edges
    for _ in range(60):
        n = int(rng.choice([1, 2, 3, 4, 10, 101, 2000, 5001]))
        kind = rng.integers(0, 5)
        if kind == 0:
            values = np.abs(rng.normal(0, 10, n))
        elif kind == 1:
            values = rng.integers(0, 4, n).astype(float)  # heavy ties
        elif kind == 2:
            values = np.abs(rng.standard_cauchy(n)) * 10.0 ** rng.integers(-300, 300)
        elif kind == 3:
            values = np.round(np.abs(rng.normal(3, 1, n)), 2)  # ties across buckets
        else:
            values = np.where(rng.random(n) < 0.5, 0.0, rng.exponential(1e-310, n))  # subnormal
        yield values


def test_median_equals_numpy(rng):
    for values in _cases(rng):
        assert bucket_counts(values).shape == (BUCKETS,)
        got = median(values, bucket_counts(values))
        want = np.median(values)
        assert got == want or (np.isnan(want) and np.isnan(got)), values[:5]


def test_counts_summed_over_batches_give_the_same_median(rng):
    # The metric adds each batch's counts to the ones kept so far.
    values = np.round(np.abs(rng.normal(2, 1, 3001)), 1)
    parts = np.array_split(values, [1, 2, 500, 2999])  # runs of one element too
    total = sum(bucket_counts(part) for part in parts)
    assert np.array_equal(total, bucket_counts(values))
    assert median(values, total) == np.median(values)


def test_only_the_middle_buckets_are_partitioned(monkeypatch, rng):
    # np.median partitions every error at each compute; here only the bucket(s) of the
    # middle ranks are (a relative width of 1/64: a few percent of smooth data).
    values = np.abs(rng.normal(0, 1, 100_000))
    seen = []
    real = np.partition

    def partition(a, kth, *args, **kwargs):
        seen.append(np.size(a))
        return real(a, kth, *args, **kwargs)

    monkeypatch.setattr(counts_module.np, "partition", partition)
    assert median(values, bucket_counts(values)) == np.median(values)
    monkeypatch.undo()
    assert seen and max(seen) < values.size // 20


@pytest.mark.parametrize("n", [1, 2, 5, 64])
def test_bucket_counts_of_tiny_batches(n, rng):
    values = np.abs(rng.normal(size=n))
    assert bucket_counts(values).sum() == n
