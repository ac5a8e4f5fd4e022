"""Thinning curves for charts: fewer points, same ends, same shape."""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.metrics._curves import thin


@pytest.mark.parametrize("n", [5, 300, 301, 5000, 200_000])
def test_thin_keeps_ends_and_at_most_max_points(n, rng):
    x = np.sort(rng.random(n))
    y = np.cumsum(rng.random(n))
    keep = thin(x, y, max_points=300)
    assert keep.size <= 300
    assert keep[0] == 0 and keep[-1] == n - 1
    assert np.all(np.diff(keep) > 0)  # a subset, in order
    area = np.trapezoid(y, x)
    assert np.trapezoid(y[keep], x[keep]) == pytest.approx(area, rel=2e-3)


def test_thin_drops_only_collinear_points_when_that_is_enough():
    x = np.linspace(0, 1, 1001)
    y = np.where(x < 0.5, x, 1 - x)  # two straight segments: the corner must stay
    keep = thin(x, y, max_points=10)
    np.testing.assert_array_equal(keep, [0, 500, 1000])


def test_thin_keeps_a_staircase_corner(rng):
    # A step at a random place among many points: the step's corner survives.
    x = np.linspace(0, 1, 100_000)
    at = int(rng.integers(1000, 99_000))
    y = (np.arange(x.size) >= at).astype(float)
    keep = thin(x, y, max_points=50)
    assert np.any(y[keep] == 0) and np.any(y[keep] == 1)
    jump = np.flatnonzero(np.diff(y[keep]))[0]
    assert keep[jump + 1] - keep[jump] == 1  # the two points around the step are adjacent
