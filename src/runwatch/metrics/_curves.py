"""From a ``Curve`` (cumulative positives/negatives per threshold) to areas and chart points.

Pure functions, the same for the exact and the binned mode: AUC, average
precision, the ROC / precision-recall / gains / lift point lists, macro
averages of curves, and thinning a long curve to a few hundred points for a
chart without changing its shape.
"""

from __future__ import annotations

import numpy as np

from ._scores import Curve

#: Most points a chart line gets after thinning.
MAX_CURVE_POINTS = 300


def roc_points(curve: Curve) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, threshold) from (0, 0) at threshold +inf to (1, 1)."""
    fpr = np.r_[0.0, curve.fps / curve.fps[-1]]
    tpr = np.r_[0.0, curve.tps / curve.tps[-1]]
    return fpr, tpr, np.r_[np.inf, curve.thresholds]


def pr_points(curve: Curve) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(recall, precision, threshold), recall rising from the point (0, 1) at +inf."""
    predicted = curve.tps + curve.fps
    precision = np.divide(curve.tps, predicted, out=np.ones_like(curve.tps), where=predicted > 0)
    recall = curve.tps / curve.tps[-1]
    return np.r_[0.0, recall], np.r_[1.0, precision], np.r_[np.inf, curve.thresholds]


def gains_points(curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    """(fraction of samples targeted, fraction of positives found), from (0, 0)."""
    total = curve.tps[-1] + curve.fps[-1]
    return np.r_[0.0, (curve.tps + curve.fps) / total], np.r_[0.0, curve.tps / curve.tps[-1]]


def lift_points(curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    """(fraction of samples targeted, lift = positive rate in it / overall positive rate)."""
    fraction, gain = gains_points(curve)
    # Zero-weight samples can make the first targeted fraction 0: no lift there.
    used = fraction > 0
    return fraction[used], gain[used] / fraction[used]


def macro_roc(curves: list[Curve]) -> tuple[np.ndarray, np.ndarray]:
    """Mean TPR over classes on the union of their (thinned) FPR grids."""
    points = [roc_points(c)[:2] for c in curves]
    grid = np.unique(np.concatenate([fpr[thin(fpr, tpr)] for fpr, tpr in points]))
    tpr = np.mean([np.interp(grid, fpr, tpr) for fpr, tpr in points], axis=0)
    return grid, tpr


def macro_pr(curves: list[Curve], n_points: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """Mean interpolated precision (the best precision at recall >= r) on a recall grid."""
    grid = np.linspace(0.0, 1.0, n_points)
    rows = []
    for c in curves:
        recall, precision, _ = pr_points(c)
        envelope = np.maximum.accumulate(precision[::-1])[::-1]
        at = np.searchsorted(recall, grid, side="left")
        rows.append(np.where(at < recall.size, envelope[np.minimum(at, recall.size - 1)], 0.0))
    return grid, np.mean(rows, axis=0)


def sample(curve: Curve, n_points: int) -> Curve:
    """The same curve at about ``n_points`` thresholds, evenly spread along the ROC path.

    Every chart of a class (ROC, PR, gains, lift) is drawn from one such
    sample, so a million-sample class costs one pass here, not one per chart.
    The first and last thresholds are always kept.
    """
    size = curve.tps.size
    if size <= n_points:
        return curve
    n_pos, n_neg = curve.tps[-1], curve.fps[-1]
    # fpr + tpr grows monotonically from 0 to 2: equal steps of it are equal path lengths.
    path = (curve.tps / n_pos if n_pos > 0 else 0) + (curve.fps / n_neg if n_neg > 0 else 0)
    bucket = (path * ((n_points // 2 - 1) / path[-1])).astype(np.int64)
    ends = np.flatnonzero(np.diff(bucket))
    keep = np.unique(np.r_[0, ends, ends + 1, size - 1])
    return Curve(
        curve.thresholds[keep], curve.tps[keep], curve.fps[keep], curve.auc_bound, curve.ap_bound
    )


def thin(x: np.ndarray, y: np.ndarray, max_points: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` points that keep the curve's shape.

    Collinear interior points go first (they change nothing). If more remain,
    the curve is cut into buckets of equal path length and each bucket keeps
    its ends and its corner, the point farthest from the chord between them.
    """
    n = x.size
    if n <= max_points:
        return np.arange(n)
    dx, dy = np.diff(x), np.diff(y)
    turn = dx[:-1] * dy[1:] - dy[:-1] * dx[1:]
    keep = np.r_[0, np.flatnonzero(turn != 0) + 1, n - 1]
    if keep.size <= max_points:
        return keep
    x, y = x[keep], y[keep]
    span_x = max(float(np.ptp(x)), 1e-300)
    span_y = max(float(np.ptp(y)), 1e-300)
    step = np.abs(np.diff(x)) / span_x + np.abs(np.diff(y)) / span_y
    length = np.r_[0.0, np.cumsum(step)]
    n_buckets = max(1, (max_points - 1) // 3)
    bucket = np.minimum((length / length[-1] * n_buckets).astype(np.int64), n_buckets - 1)
    starts = np.r_[0, np.flatnonzero(np.diff(bucket)) + 1]
    ends = np.r_[starts[1:] - 1, x.size - 1]
    counts = ends - starts + 1
    x0, y0 = np.repeat(x[starts], counts), np.repeat(y[starts], counts)
    x1, y1 = np.repeat(x[ends], counts), np.repeat(y[ends], counts)
    distance = np.abs(
        (x1 - x0) / span_x * (y - y0) / span_y - (y1 - y0) / span_y * (x - x0) / span_x
    )
    owner = np.repeat(np.arange(starts.size), counts)
    farthest = np.flatnonzero(distance >= np.maximum.reduceat(distance, starts)[owner])
    corner = farthest[np.r_[True, np.diff(owner[farthest]) != 0]]  # the first per bucket
    return keep[np.unique(np.r_[starts, corner, ends])]
