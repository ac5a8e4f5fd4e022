"""Kept rows plus the rows admitted since they were last compacted: O(batch) updates.

Sorting every kept row on every batch made the id samples cost more than the
metrics themselves, for users who never read them. A pool instead filters a
batch against a bound read off the kept rows at the last compaction (the
largest hash of each full cell; the lowest loss of a full heap) and appends
what passes to a buffer. A stale bound only admits more rows, never fewer
(bounds tighten as rows arrive), and the compaction is the very ``keep_*``
one pass would run, so the kept rows are exactly those of one pass. The
buffer is compacted when it outgrows the kept rows (at least ``MIN_BUFFER``),
which keeps the cost amortised O(log) per row and the memory bounded, and
before any read (:attr:`Pool.kept`).

A pool is changed in place by :meth:`Pool.add` only: a compaction changes
its arrays, never the rows it stands for.
"""

from __future__ import annotations

import numpy as np

from ._samples import RESERVOIR, TOP_LOSSES, Kept, concat, keep_per_cell, keep_top

#: Rows buffered before the first compaction (and at least between two).
MIN_BUFFER = 16_384


class Pool:
    """Rows kept by :meth:`_keep`, plus rows buffered since it last ran."""

    def __init__(self, kept: Kept | None = None) -> None:
        self._kept = Kept.empty() if kept is None else kept
        self._parts: list[Kept] = []
        self._buffered = 0
        self._bound: tuple[int, np.ndarray | float] | None = None  # (classes, bound of _kept)

    # -- what differs between the reservoirs and the heap
    def _keep(self, rows: Kept) -> Kept:
        raise NotImplementedError

    def _bound_of(self, kept: Kept, k: int) -> np.ndarray | float:
        raise NotImplementedError

    def _admissible(self, rows: Kept, bound: np.ndarray | float, k: int) -> np.ndarray:
        raise NotImplementedError

    # -- shared
    def add(self, rows: Kept, k: int) -> None:
        """Buffer the ``rows`` that may be kept (classes index ``k`` labels)."""
        if rows.ids.size == 0:
            return
        if self._bound is None or self._bound[0] != k:
            self._bound = (k, self._bound_of(self.kept, k))
        rows = rows.take(np.flatnonzero(self._admissible(rows, self._bound[1], k)))
        if rows.ids.size:
            self._parts.append(rows)
            self._buffered += rows.ids.size
        if self._buffered > max(self._kept.ids.size, MIN_BUFFER):
            self._compact()

    @property
    def kept(self) -> Kept:
        """The kept rows, compacted (in the order ``_keep`` gives)."""
        if self._parts:
            self._compact()
        return self._kept

    def some_ids(self) -> np.ndarray:
        """Ids of some held rows (empty when none): their dtype tells the stream's id kind."""
        return self._parts[0].ids if self._parts else self._kept.ids

    def _compact(self) -> None:
        self._kept = self._keep(concat([self._kept, *self._parts]))
        self._parts, self._buffered, self._bound = [], 0, None

    def relabeled(self, where: np.ndarray) -> Pool:
        """A new pool with class indices moved to a grown label list (``where[old] = new``)."""
        return type(self)(self.kept.relabeled(where))

    def merged(self, other: Pool) -> Pool:
        """A new pool holding the rows of both."""
        return type(self)(self._keep(self.kept.plus(other.kept)))


class Reservoirs(Pool):
    """Per confusion-matrix cell, the ``RESERVOIR`` rows of smallest hash."""

    def _keep(self, rows: Kept) -> Kept:
        return keep_per_cell(rows, RESERVOIR)

    def _bound_of(self, kept: Kept, k: int) -> np.ndarray:
        # A row whose hash is above the largest of its cell, where the cell is full, can never
        # be kept (kept is sorted by cell, then hash).
        limit = np.full(k * k, np.iinfo(np.uint64).max, dtype=np.uint64)
        if kept.ids.size == 0:
            return limit
        cell = kept.true * k + kept.pred
        last = np.r_[cell[1:] != cell[:-1], True]
        full = np.bincount(cell, minlength=k * k) >= RESERVOIR
        largest = np.zeros(k * k, np.uint64)
        largest[cell[last]] = kept.hashes[last]
        limit[full] = largest[full]
        return limit

    def _admissible(self, rows: Kept, bound: np.ndarray | float, k: int) -> np.ndarray:
        assert isinstance(bound, np.ndarray)
        return rows.hashes <= bound[rows.true * k + rows.pred]


class TopLosses(Pool):
    """The ``TOP_LOSSES`` rows of highest loss (ties: smaller hash, then smaller id)."""

    def _keep(self, rows: Kept) -> Kept:
        return keep_top(rows, TOP_LOSSES)

    def _bound_of(self, kept: Kept, k: int) -> float:
        # Below the TOP_LOSSES-th highest loss kept, no row can enter.
        n = kept.loss.size
        if n < TOP_LOSSES:
            return -np.inf
        return float(np.partition(kept.loss, n - TOP_LOSSES)[n - TOP_LOSSES])

    def _admissible(self, rows: Kept, bound: np.ndarray | float, k: int) -> np.ndarray:
        return ~(rows.loss < bound)  # a NaN loss is let through, to be ranked as keep_top does
