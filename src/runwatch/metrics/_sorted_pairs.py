"""Exact regression pairs kept sorted, so that a compute is linear in the samples.

``RegressionMetrics`` in exact mode keeps every ``(y_true, y_pred)`` pair for
the median absolute error, Spearman and the charts. Sorting all of them at
every compute made a stream of ``c`` computes over ``n`` points cost
``c · n log n``; here the pairs stay sorted by ``y_true`` (the state arrays,
ties in arrival order) and the order of ``y_pred`` is kept beside them (a
derived cache, rebuilt by one sort after a load). A batch is sorted on its own
(``b log b``) and merged into both sorted runs in linear time, as
``_scores.py`` does for the classification scores; midranks then come from one
pass over each sorted run.

Pure numpy; every function returns new arrays and never writes its arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PredOrder:
    """Where ``y_pred`` sorts: ``order`` indexes the y-sorted pairs, ``values = p[order]``."""

    order: np.ndarray
    values: np.ndarray


def sort_pairs(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs sorted by ``y`` (stable: ties keep their order; linear on sorted input)."""
    order = np.argsort(y, kind="stable")
    return y[order], p[order]


def pred_order(p: np.ndarray) -> PredOrder:
    """The order of ``p`` (one stable sort), for pairs whose run has none yet."""
    order = np.argsort(p, kind="stable")
    return PredOrder(order.astype(index_type(p.size), copy=False), p[order])


def index_type(n: int) -> type:
    """int32 while it can index ``n`` pairs: half the memory traffic of int64."""
    return np.int32 if n < 2**31 else np.int64


def slots_of_new(old: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the elements of ``new`` land in the merge of two sorted runs, and where ``old``'s do.

    Returns the positions of ``new``'s elements (ascending) and a mask that
    is True at ``old``'s. On ties the elements of ``old`` come first, so a
    merge is stable. ``new`` is searched in ``old`` (``len(new) · log
    len(old)``); the rest is linear.
    """
    at = np.searchsorted(old, new, side="right")
    at += np.arange(new.size, dtype=at.dtype)
    keep = np.ones(old.size + new.size, bool)
    keep[at] = False
    return at, keep


def merge_run(old: np.ndarray, new: np.ndarray, at: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The sorted runs ``old`` and ``new`` as one: ``new`` at ``at``, ``old`` where ``keep``."""
    out = np.empty(keep.size, np.result_type(old, new))
    out[at] = new  # positions, not a mask: a scatter of len(new), not a pass over everything
    out[keep] = old
    return out


def add_pairs(
    y: np.ndarray,
    p: np.ndarray,
    order: PredOrder | None,
    new_y: np.ndarray,
    new_p: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, PredOrder | None]:
    """The y-sorted pairs ``(y, p)`` with the pairs ``(new_y, new_p)`` merged in.

    ``order`` is the order of ``p`` (``None``: not built, and not built here
    either); the one returned is the order of the merged ``p``.
    """
    new_y, new_p = sort_pairs(new_y, new_p)
    at, keep = slots_of_new(y, new_y)
    merged_y, merged_p = merge_run(y, new_y, at, keep), merge_run(p, new_p, at, keep)
    if order is None:
        return merged_y, merged_p, None
    # Where each old and each new pair sits in the merged run.
    kind = index_type(keep.size)
    position_old = np.flatnonzero(keep).astype(kind, copy=False)
    position_new = at.astype(kind, copy=False)
    batch = pred_order(new_p)
    p_at, p_keep = slots_of_new(order.values, batch.values)
    merged_order = merge_run(position_old[order.order], position_new[batch.order], p_at, p_keep)
    values = merge_run(order.values, batch.values, p_at, p_keep)
    return merged_y, merged_p, PredOrder(merged_order, values)


def midranks_sorted(values: np.ndarray) -> np.ndarray:
    """The average rank (1-based, as ``scipy.stats.rankdata``) of each value of a sorted run."""
    n = values.size
    tied = values[1:] == values[:-1]  # tied[i]: values i and i + 1 share a rank
    n_tied = int(np.count_nonzero(tied))
    if 2 * n_tied >= n:  # mostly ties (few distinct values): one rank per group, repeated
        starts = np.flatnonzero(np.r_[True, ~tied])
        sizes = np.diff(np.r_[starts, n])
        return np.repeat(starts + (sizes + 1) / 2.0, sizes)
    ranks = np.arange(1, n + 1, dtype=np.float64)  # mostly distinct: fix the few tied groups
    if n_tied:
        edges = np.diff(tied.astype(np.int8), prepend=0, append=0)
        first, last = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        sizes = last - first + 1
        offsets = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        ranks[np.repeat(first, sizes) + offsets] = np.repeat((first + last) / 2.0 + 1, sizes)
    return ranks


def pair_ranks(y_sorted: np.ndarray, order: PredOrder) -> tuple[np.ndarray, np.ndarray]:
    """Midranks of ``y_true`` and of ``y_pred`` of each pair, pairs in y-sorted order."""
    rank_p = np.empty(order.order.size)
    rank_p[order.order] = midranks_sorted(order.values)
    return midranks_sorted(y_sorted), rank_p


def rank_correlation(rank_y: np.ndarray, rank_p: np.ndarray) -> float:
    """Pearson correlation of two midrank vectors of ``n`` pairs (Spearman's rho).

    Midranks are half-integers averaging exactly ``(n + 1) / 2``, so the
    centred ranks are exact and the three sums are dot products.
    """
    centre = (rank_y.size + 1) / 2.0
    dy, dp = rank_y - centre, rank_p - centre
    syy, spp = float(np.dot(dy, dy)), float(np.dot(dp, dp))
    if syy <= 0 or spp <= 0:
        return float("nan")
    return float(np.clip(float(np.dot(dy, dp)) / np.sqrt(syy * spp), -1.0, 1.0))
