"""The reservoirs and top losses buffered between compactions: O(batch) updates, same rows."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from runwatch.metrics import ClassificationMetrics
from runwatch.metrics._samples import RESERVOIR, TOP_LOSSES, id_hash

from .conftest import assert_same_state, classification_problem, stream_and_merge


def _sorted_by_samples(monkeypatch) -> list[int]:
    """Record the rows of every ``np.lexsort`` called from ``runwatch.metrics._samples``."""
    sizes: list[int] = []
    lexsort = np.lexsort

    def counting(keys, *args, **kwargs):
        if sys._getframe(1).f_globals.get("__name__") == "runwatch.metrics._samples":
            sizes.append(len(keys[0]))
        return lexsort(keys, *args, **kwargs)

    monkeypatch.setattr(np, "lexsort", counting)
    return sizes


def test_updates_without_reads_sort_about_as_many_rows_as_they_get(rng, monkeypatch):
    # 100 batches of 2,000 rows, 10 classes, scores and default ids, no read in between: the
    # reservoirs hold up to 10,000 rows; sorting them all on every batch (issue 14) sorted
    # about 4 rows per row given. Buffered, each row is sorted about once, or never.
    n, k = 200_000, 10
    y = rng.integers(0, k, n)
    proba = rng.dirichlet(np.ones(k), n)
    m = ClassificationMetrics(labels=list(range(k)))
    sizes = _sorted_by_samples(monkeypatch)
    for i in range(0, n, 2_000):
        m.update(y[i : i + 2_000], y_proba=proba[i : i + 2_000])
    assert sum(sizes) <= n
    assert sum(len(m.samples(t, t, k=RESERVOIR)) for t in range(k)) == k * RESERVOIR


def _direct(ids, true, pred, loss, k):
    """Per cell the RESERVOIR ids of smallest hash (sorted); the TOP_LOSSES rows, worst first."""
    hashes = id_hash(ids)
    cells = {}
    for t in range(k):
        for p in range(k):
            mine = np.flatnonzero((true == t) & (pred == p))
            cells[t, p] = sorted(ids[mine[np.argsort(hashes[mine], kind="stable")]][:RESERVOIR])
    top = np.lexsort((ids, hashes, -loss))[:TOP_LOSSES]
    return cells, top


@pytest.mark.parametrize("min_buffer", [1, 50, None])
def test_buffered_rows_are_exactly_the_direct_ones_however_often_compacted(
    rng, monkeypatch, min_buffer
):
    # Many rows per cell (so the bounds cut), few labels seen at first (so they grow under a
    # buffer), repeated losses and repeated ids; compared after every few batches and at the end.
    if min_buffer is not None:
        monkeypatch.setattr("runwatch.metrics._sample_pools.MIN_BUFFER", min_buffer)
    for i_problem in range(4):
        k = int(rng.integers(2, 5))
        n = int(rng.integers(3_000, 8_000))
        p = classification_problem(rng, k, n, ties=True)
        p.y[: n // 3] = np.minimum(p.y[: n // 3], 1)  # later classes appear later
        distinct = (40, n // 2)[i_problem % 2]  # few ids, each many times per cell; or few repeats
        ids = rng.integers(0, distinct, n) * 7919 + 10**12
        one = ClassificationMetrics()
        one.update(p.y, y_proba=p.proba, sample_ids=ids)
        labels = one.labels
        pred = np.argmax(p.proba, axis=1)
        eps = np.finfo(p.proba.dtype).eps
        loss = -np.log(np.clip(p.proba[np.arange(n), p.y], eps, 1 - eps))
        streamed = ClassificationMetrics()
        edges = np.r_[0, np.sort(rng.integers(0, n, 40)), n]
        for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
            streamed.update(p.y[a:b], y_proba=p.proba[a:b], sample_ids=ids[a:b])
            if i % 13 == 12:  # a read mid-stream compacts; what follows must still match
                cells, top = _direct(ids[:b], p.y[:b], pred[:b], loss[:b], k)
                seen = streamed.labels
                for t, q in cells:
                    if t in seen and q in seen:
                        assert streamed.samples(t, q, k=RESERVOIR) == cells[t, q]
                np.testing.assert_array_equal(streamed.top_losses(TOP_LOSSES)["id"], ids[:b][top])
        cells, top = _direct(ids, p.y, pred, loss, k)
        for t, q in cells:
            assert streamed.samples(labels[t], labels[q], k=RESERVOIR) == cells[t, q]
        np.testing.assert_array_equal(streamed.top_losses(TOP_LOSSES)["id"], ids[top])
        np.testing.assert_array_equal(streamed.top_losses(TOP_LOSSES)["loss"], loss[top])

        def feed(m, part, p=p, ids=ids):
            m.update(p.y[part], y_proba=p.proba[part], sample_ids=ids[part])

        merged = stream_and_merge(ClassificationMetrics, feed, n, rng, workers=3)
        state = one.state_dict()
        for other in (streamed, merged):
            got = other.state_dict()
            assert_same_state(
                {key: got[key] for key in state if key.startswith(("samples.", "top."))},
                {key: state[key] for key in state if key.startswith(("samples.", "top."))},
            )


def test_a_batch_refused_after_buffered_ones_changes_nothing(rng):
    m = ClassificationMetrics(labels=[0, 1, 2])
    y = rng.integers(0, 3, 3_000)
    proba = rng.dirichlet(np.ones(3), 3_000)
    m.update(y, y_proba=proba, sample_ids=np.arange(3_000))
    before = m.state_dict()
    with pytest.raises(ValueError, match="sample_ids"):
        m.update([0, 1], y_proba=proba[:2], sample_ids=["a", "b"])
    assert_same_state(m.state_dict(), before)
