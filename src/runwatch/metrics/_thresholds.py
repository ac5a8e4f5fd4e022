"""Counts at a score threshold: one class against the rest, or a detector's boxes.

A threshold ``t`` predicts a class when its score is ``>= t`` (scikit-learn's
``confusion_matrix(y, p >= t)``; ``roc_curve`` counts the same way).

Classification (``ClassificationMetrics.at_threshold`` and
``threshold_table``) reads the one-vs-rest score store of the curve metrics:

- exact mode: positives and negatives of a class are sorted runs, so the
  weights at or above any ``t`` are two ``searchsorted``; exact at every ``t``.
- binned mode: a class's histograms count exactly at the bins' boundaries,
  nowhere else. ``t`` moves to the boundary at or below it (``snap``); the
  result names the threshold it used and, as ``bound``, the weight in the bin
  between the two (the most that may sit on the other side at ``t`` itself).
  A boundary is the smallest float the binning puts in the bin, not the
  rounded lower edge (``boundaries``): scores a few ulps from an edge fall on
  either side of it.

``threshold_table`` gives the page a bounded table: cumulative positives and
negatives at a fixed grid of thresholds (0.01 apart) and at scores spread
evenly by rank (rounded to 4 significant digits, then counted at exactly
those values), exact at every point kept (binned: at the boundaries the
grid snaps to); the slider snaps to its points.

Detection (``DetectionMetrics.at_threshold``): greedy matching in descending
score means a detection's match never depends on a lower-scored one, so a
detection keeps what it matched when every kept detection counts
(``det_cm_true``, the confusion row, and the COCO match bits it already had);
the per-class table and the confusion matrix at any ``t`` are those of the
detections scoring ``>= t``, exactly what a fresh engine built with
``score_threshold=t`` gives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Points of one class's table at the most (grid and spread scores together).
TABLE_POINTS = 201
#: Points of all the classes' tables together, for many classes: each finished
#: iteration's details carry them (10 classes: 11 each, about 1.5 KB).
TABLE_BUDGET = 110
#: Grid sizes a table may keep: steps of 0.01, 0.02, 0.05, 0.1.
GRID_SIZES = (101, 51, 21, 11)
#: Thresholds a detection table keeps at the most.
DETECTION_POINTS = 101


def check_threshold(value: Any, name: str = "threshold") -> float:
    """``value`` as a float in [0, 1]; ``ValueError`` naming ``name`` otherwise."""
    if (
        isinstance(value, (bool, str, bytes))
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not np.isfinite(value)
        or not 0 <= value <= 1
    ):
        raise ValueError(f"{name} must be a number from 0 to 1; got {value!r}.")
    return float(value)


def check_score_threshold(value: Any, name: str = "threshold") -> float:
    """``value`` as a finite float (detection scores are any finite numbers)."""
    if (
        isinstance(value, (bool, str, bytes))
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not np.isfinite(value)
    ):
        raise ValueError(f"{name} must be a finite number; got {value!r}.")
    return float(value)


def ratios(tp: Any, fp: Any, fn: Any) -> tuple[Any, Any, Any]:
    """Precision, recall and F1 from counts, ``zero_division=0`` (scikit-learn's)."""
    tp, fp, fn = (np.asarray(x, np.float64) for x in (tp, fp, fn))

    def div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b > 0)

    return div(tp, tp + fp), div(tp, tp + fn), div(2 * tp, 2 * tp + fp + fn)


# -------------------------------------------------------------- classification


def boundaries(store: Any) -> np.ndarray:
    """Per bin of a ``BinnedScores``, the smallest float its binning puts in that bin or above.

    Starts from the rounded lower edges and steps by ulps until
    ``bin_index(b[j]) >= j > bin_index(previous float)``: a score is counted
    in bin ``j`` or above exactly when it is ``>= b[j]``.
    """
    cached = getattr(store, "_boundaries", None)
    if cached is not None:
        return cached
    edges = store.lower_edges.astype(np.float64).copy()
    want = np.arange(edges.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(256):
            low = store.bin_index(edges) < want
            if not low.any():
                break
            edges[low] = np.nextafter(edges[low], np.inf)
        for _ in range(256):
            before = np.nextafter(edges, -np.inf)
            down = (want > 0) & (store.bin_index(np.maximum(before, 0.0)) >= want)
            if not down.any():
                break
            edges[down] = before[down]
    edges[0] = 0.0
    store._boundaries = edges
    return edges


def snap(store: Any, t: np.ndarray) -> np.ndarray:
    """Each threshold as the store counts it: itself (exact), the boundary at or below (binned)."""
    t = np.asarray(t, np.float64)
    if store.mode == "exact":
        return t
    b = boundaries(store)
    return b[np.clip(np.searchsorted(b, t, side="right") - 1, 0, b.size - 1)]


def counts(store: Any, group: int, t: np.ndarray) -> tuple[np.ndarray, ...]:
    """tp, fp, fn, tn of ``group`` against the rest at each ``t`` (already snapped).

    The weights at or above ``t`` are summed from the top and those below
    from the bottom, so a side with nothing on it is exactly 0.
    """
    t = np.asarray(t, np.float64)
    if store.mode == "exact":
        return store.weights_at_or_above(group, t)
    b = boundaries(store)
    j = np.clip(np.searchsorted(b, t, side="right") - 1, 0, b.size - 1)
    hist = store.hist[group]  # [negatives, positives] per bin
    top = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]  # weight in bin j and above
    below = np.c_[np.zeros((2, 1)), np.cumsum(hist, axis=1)[:, :-1]]  # weight under bin j
    return top[1][j], top[0][j], below[1][j], below[0][j]


def bin_weight(store: Any, group: int, t: float) -> float:
    """Binned: the weight between ``t``'s boundary and ``t`` (its bin's, unless ``t`` is one)."""
    if store.mode == "exact":
        return 0.0
    b = boundaries(store)
    j = int(np.clip(np.searchsorted(b, t, side="right") - 1, 0, b.size - 1))
    return 0.0 if b[j] == t else float(store.hist[group][:, j].sum())


def class_counts(store: Any, group: int, threshold: float) -> dict[str, float]:
    """tp, fp, fn, tn of ``group`` against the rest at ``threshold``, with what was used."""
    used = float(snap(store, np.array([threshold]))[0])
    tp, fp, fn, tn = (float(x[0]) for x in counts(store, group, np.array([used])))
    return {
        "threshold": used, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "bound": bin_weight(store, group, threshold),
    }  # fmt: skip


def table_points(n_tables: int) -> int:
    """Points per class table: ``TABLE_POINTS`` for one, fewer with many (at least 11)."""
    return int(max(11, min(TABLE_POINTS, TABLE_BUDGET // max(1, n_tables))))


def _spread(store: Any, group: int, n: int) -> np.ndarray:
    """About ``n`` thresholds where the group's counts change, evenly spread by rank."""
    if store.mode == "exact":
        return store.spread_scores(group, n)
    occupied = np.flatnonzero(store.hist[group].sum(axis=0) > 0)
    if occupied.size == 0 or n <= 0:
        return np.zeros(0)
    return boundaries(store)[occupied[np.linspace(0, occupied.size - 1, n).astype(np.int64)]]


def class_table(store: Any, group: int, max_points: int) -> dict[str, np.ndarray]:
    """Ascending thresholds with the weights of positives and negatives at or above each.

    A uniform grid over [0, 1] (steps of 0.01 to 0.1: the finest that takes
    at most half the points, 0.1 at the least) and scores spread evenly by
    rank among the positives and among the negatives (the rest), all snapped
    to what the store counts exactly.
    """
    half = max(GRID_SIZES[-1], (max_points + 1) // 2)
    n_grid = next((n for n in GRID_SIZES if n <= half), GRID_SIZES[-1])
    grid = np.round(np.linspace(0.0, 1.0, n_grid), 10)  # 0.07, not 0.07000000000000001
    picks = _spread(store, group, max(0, max_points - n_grid))
    if store.mode == "exact":  # short numbers for the page; the counts are taken at them
        picks = np.array([float(f"{p:.4g}") for p in picks], np.float64)
    thresholds = np.unique(snap(store, np.r_[grid, picks]))
    if thresholds.size > max_points:  # snapping rarely leaves more; keep the grid first
        extra = np.setdiff1d(thresholds, snap(store, grid))
        n_extra = max(0, max_points - n_grid)
        keep = extra[np.linspace(0, extra.size - 1, n_extra).astype(np.int64)] if n_extra else []
        thresholds = np.unique(np.r_[snap(store, grid), keep])
    tp, fp, _, _ = counts(store, group, thresholds)
    return {"threshold": thresholds, "tp": tp, "fp": fp}


# ------------------------------------------------------------------- detection


def detection_grid(scores: np.ndarray, n_points: int = DETECTION_POINTS) -> np.ndarray:
    """Ascending thresholds for a detection table: [0, 1] in steps when scores lie there.

    Otherwise ``n_points`` evenly spaced from the lowest to the highest score.
    """
    if scores.size == 0 or (scores.min() >= 0 and scores.max() <= 1):
        return np.linspace(0.0, 1.0, n_points)
    lo, hi = float(scores.min()), float(scores.max())
    return np.linspace(lo, hi, n_points) if hi > lo else np.array([lo])
