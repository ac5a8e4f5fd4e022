"""Property tests: any split of the data, merged, gives the one-pass result."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runwatch.metrics import ClassificationMetrics

from .conftest import assert_metrics_close


@st.composite
def streams(draw):
    """A small problem (ties likely: scores from a coarse grid) and a split of it."""
    k = draw(st.integers(2, 5))
    n = draw(st.integers(1, 60))
    truth = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    raw = np.array(draw(st.lists(st.integers(0, 4), min_size=n * k, max_size=n * k)), float)
    raw = raw.reshape(n, k) + 0.5
    proba = raw / raw.sum(axis=1, keepdims=True)
    weight = None
    if draw(st.booleans()):
        weight = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), float)
    owners = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    bins = draw(st.sampled_from([None, 16]))
    return k, truth, proba, weight, owners, bins


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_merged_parts_equal_one_pass(case):
    k, truth, proba, weight, owners, bins = case
    labels = list(range(k))
    one = ClassificationMetrics(labels=labels, curve_bins=bins)
    one.update(truth, y_proba=proba, sample_weight=weight)
    parts = []
    for owner in range(3):
        part = ClassificationMetrics(labels=labels, curve_bins=bins)
        rows = owners == owner
        part.update(
            truth[rows], y_proba=proba[rows], sample_weight=None if weight is None else weight[rows]
        )
        parts.append(part)
    merged = parts[0].merge(parts[1], parts[2])
    assert_metrics_close(merged.compute(), one.compute(), rtol=1e-12, atol=1e-12)
    assert merged.confusion_matrix().equals(one.confusion_matrix())
    assert merged.most_confused() == one.most_confused()


@settings(max_examples=60, deadline=None)
@given(streams())
def test_state_round_trip_is_lossless(case):
    k, truth, proba, weight, _, bins = case
    metric = ClassificationMetrics(labels=list(range(k)), curve_bins=bins)
    metric.update(truth, y_proba=proba, sample_weight=weight)
    again = ClassificationMetrics.from_state_dict(metric.state_dict())
    assert_metrics_close(again.compute(), metric.compute(), rtol=0, atol=0)
    state, state_again = metric.state_dict(), again.state_dict()
    assert state.keys() == state_again.keys()
    assert all(np.array_equal(state[key], state_again[key]) for key in state)
