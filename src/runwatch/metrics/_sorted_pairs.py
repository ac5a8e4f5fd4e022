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
    return PredOrder(order, p[order])


def slots_of_new(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Mask over the merge of two sorted runs: True where an element of ``new`` lands.

    On ties the elements of ``old`` come first, so a merge is stable.
    ``new`` is searched in ``old`` (``len(new) · log len(old)``); the rest is linear.
    """
    mask = np.zeros(old.size + new.size, bool)
    mask[np.searchsorted(old, new, side="right") + np.arange(new.size)] = True
    return mask


def merge_run(old: np.ndarray, new: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The sorted runs ``old`` and ``new`` as one, ``new`` at ``mask`` (``slots_of_new``)."""
    out = np.empty(mask.size, np.result_type(old, new))
    out[mask] = new
    out[~mask] = old
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
    slots = slots_of_new(y, new_y)
    merged_y, merged_p = merge_run(y, new_y, slots), merge_run(p, new_p, slots)
    if order is None:
        return merged_y, merged_p, None
    # Where each old and each new pair sits in the merged run.
    position_old = np.flatnonzero(~slots)
    position_new = np.flatnonzero(slots)
    batch = pred_order(new_p)
    p_slots = slots_of_new(order.values, batch.values)
    merged_order = merge_run(position_old[order.order], position_new[batch.order], p_slots)
    return (
        merged_y,
        merged_p,
        PredOrder(merged_order, merge_run(order.values, batch.values, p_slots)),
    )


def midranks_sorted(values: np.ndarray) -> np.ndarray:
    """The average rank (1-based, as ``scipy.stats.rankdata``) of each value of a sorted run."""
    n = values.size
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    sizes = np.diff(np.r_[starts, n])
    return np.repeat(starts + (sizes + 1) / 2.0, sizes)


def pair_ranks(y_sorted: np.ndarray, order: PredOrder) -> tuple[np.ndarray, np.ndarray]:
    """Midranks of ``y_true`` and of ``y_pred`` of each pair, pairs in y-sorted order."""
    rank_p = np.empty(order.order.size)
    rank_p[order.order] = midranks_sorted(order.values)
    return midranks_sorted(y_sorted), rank_p
