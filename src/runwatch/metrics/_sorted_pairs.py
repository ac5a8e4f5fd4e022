"""Exact regression pairs kept sorted, so that a compute is linear in the samples.

``RegressionMetrics`` in exact mode keeps every ``(y_true, y_pred)`` pair for
the median absolute error, Spearman and the charts. Sorting all of them at
every compute made a stream of ``c`` computes over ``n`` points cost
``c · n log n``; here the pairs stay sorted by ``y_true`` (the state arrays,
tied ``y_true`` in no set order) and the order of ``y_pred`` is kept beside them (a
derived cache, rebuilt by one sort after a load). A batch is sorted on its own
(``b log b``) and merged into both sorted runs in linear time, as
``_scores.py`` does for the classification scores; the ranks then come from
one pass over each sorted run, and Spearman's cross sum from one gather.

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


def sort_pairs(y: np.ndarray, p: np.ndarray, kind: str = "stable") -> tuple[np.ndarray, np.ndarray]:
    """The pairs sorted by ``y``.

    ``"stable"`` (a loaded state: linear on sorted input, ties keep their
    order) or numpy's default quicksort (a new batch: a third faster on
    random input; tied ``y`` then come in no particular order, which no
    metric depends on).
    """
    order = np.argsort(y, kind=kind)
    return y[order], p[order]


def pred_order(p: np.ndarray) -> PredOrder:
    """The order of ``p`` (one sort), for pairs whose run has none yet."""
    order = np.argsort(p)
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
    new_y, new_p = sort_pairs(new_y, new_p, kind="quicksort")
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
    moved = np.take(position_old, order.order)  # take: faster than indexing on large arrays
    merged_order = merge_run(moved, position_new[batch.order], p_at, p_keep)
    values = merge_run(order.values, batch.values, p_at, p_keep)
    return merged_y, merged_p, PredOrder(merged_order, values)


def centred_ranks(values: np.ndarray) -> np.ndarray:
    """``2·rank - (n + 1)`` of each value of a sorted run, ranks averaged over ties (scipy's).

    Twice the midrank, centred: whole numbers summing to 0, as float64 (exact
    below 2**53), so Spearman's sums are plain dot products. A value's is
    ``first + last + 1 - n`` over the 0-based positions of its tied group.
    """
    n = values.size
    tied = values[1:] == values[:-1]  # tied[i]: values i and i + 1 share a rank
    at = np.flatnonzero(tied)
    if 2 * at.size >= n:  # mostly ties (few distinct values): one rank per group, repeated
        starts = np.flatnonzero(np.logical_not(tied, out=tied))
        starts += 1
        sizes = np.diff(starts, prepend=0, append=n)
        firsts = np.r_[0, starts]
        return np.repeat((2 * firsts + sizes - n).astype(np.float64), sizes)
    ranks = np.arange(1 - n, n, 2, dtype=np.float64)  # mostly distinct: fix the tied groups
    if at.size:
        # A group is a run of consecutive tied positions: at[i] ties with at[i] + 1.
        new_group = np.flatnonzero(np.diff(at, prepend=-2) != 1)
        first = at[new_group]
        last = np.r_[at[new_group[1:] - 1], at[-1]] + 1
        sizes = last - first + 1
        offsets = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        ranks[np.repeat(first, sizes) + offsets] = np.repeat(first + last + 1 - n, sizes)
    return ranks


def rank_correlation(y_sorted: np.ndarray, order: PredOrder) -> float:
    """Spearman's rho of the pairs: Pearson's correlation of their midranks, as scipy.

    With centred doubled ranks ``dy`` (pairs in y-sorted order) and ``dp``
    (in y_pred-sorted order), rho is ``Σ dy[order]·dp / sqrt(Σ dy² · Σ dp²)``:
    every term a whole number, so only the three sums round. The sums are
    ``einsum``'s loop, not ``np.dot``: OpenBLAS splits a long dot product
    over threads that then spin on the other core (measured: the exact
    benchmark's CPU time 6.3 s for 5.1 s of wall time; 4.4 s for both with
    one BLAS thread).
    """
    dy, dp = centred_ranks(y_sorted), centred_ranks(order.values)
    syy, spp = float(np.einsum("i,i->", dy, dy)), float(np.einsum("i,i->", dp, dp))
    if syy <= 0 or spp <= 0:
        return float("nan")
    cross = float(np.einsum("i,i->", np.take(dy, order.order), dp))
    return float(np.clip(cross / np.sqrt(syy * spp), -1.0, 1.0))
