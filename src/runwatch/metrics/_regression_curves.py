"""Chart tables of ``RegressionMetrics.curves()``: Azure's predicted-vs-true and residual bins.

Pure functions from (possibly grouped) samples to DataFrames: the values
come with a count each, one per sample in exact mode and one per sketch bin
in binned mode, so both modes bin the same way. The edges follow Azure
AutoML's ``make_dataset_bins`` (notes/engine.md §2.4). pandas is imported
here, when a table is asked for, never with the engine.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Bins of the predicted-vs-true chart: ceil(sqrt(n)) clamped to this range (Azure's rule).
MIN_CHART_BINS, MAX_CHART_BINS = 1, 100
#: Bins of the residual histogram (Azure's).
RESIDUAL_BINS = 10

#: Columns of the ``predicted_vs_true`` table, in order.
PREDICTED_VS_TRUE_COLUMNS = (
    "bin_lower",
    "bin_upper",
    "count",
    "mean_true",
    "mean_predicted",
    "std_predicted",
    "lower",
    "upper",
)
#: Columns of the ``residuals`` table, in order.
RESIDUAL_COLUMNS = ("bin_lower", "bin_upper", "count")


def empty_tables() -> dict[str, pd.DataFrame]:
    """Both tables with their columns and no rows (no samples yet)."""
    return {
        "predicted_vs_true": _empty(PREDICTED_VS_TRUE_COLUMNS),
        "residuals": _empty(RESIDUAL_COLUMNS),
    }


def predicted_vs_true(y: np.ndarray, p: np.ndarray, counts: np.ndarray, n: int) -> pd.DataFrame:
    """One row per non-empty bin of ``y``, ``counts`` samples at each ``(y, p)``; ``n`` in all."""
    table = pd.DataFrame(_predicted_vs_true(y, p, counts, n), columns=PREDICTED_VS_TRUE_COLUMNS)
    table["count"] = table["count"].round().astype(np.int64)
    return table


def residuals(
    errors: np.ndarray,
    counts: np.ndarray,
    e_range: tuple[float, float],
    std_y: float,
    summary: dict[str, float],
) -> pd.DataFrame:
    """Histogram of ``errors`` (``counts`` each) on Azure's edges; ``summary`` goes in ``attrs``.

    ``e_range`` holds the smallest and largest error, ``std_y`` the
    (weighted) standard deviation of ``y_true`` that sets the inner edges.
    """
    edges = _residual_edges(float(e_range[0]), float(e_range[1]), std_y)
    hist = np.histogram(errors, bins=edges, weights=counts)[0]
    table = pd.DataFrame(
        {
            "bin_lower": edges[:-1],
            "bin_upper": edges[1:],
            "count": hist.round().astype(np.int64),
        }
    )
    table.attrs.update(summary)
    return table


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})


def _chart_edges(y: np.ndarray, counts: np.ndarray, n: int) -> np.ndarray:
    """Azure's predicted-vs-true bin edges on (possibly grouped) ``y_true`` values.

    The outer bins hold what lies below the 1st and above the 99th percentile;
    ``ceil(sqrt(n))`` bins in all (clamped to [1, 100]), the inner ones of equal
    width; when the two percentiles coincide (skewed data) they are pulled
    towards the nearest distinct value and 3 bins are used. Edges are rounded
    for display (2 significant digits of the bin width) and zero-width bins
    dropped, as Azure's ``make_dataset_bins`` does.
    """
    lo, hi = float(y.min()), float(y.max())
    if hi == lo:
        return np.array([lo, hi])
    order = np.argsort(y, kind="stable")
    ys, cs = y[order], counts[order]
    first_end, last_start = _percentiles(ys, cs, (1.0, 99.0), "linear")
    if first_end == last_start:
        first_end, last_start = _unskew(ys, cs, first_end, last_start)
        bins = 3
    else:
        bins = int(min(MAX_CHART_BINS, max(MIN_CHART_BINS, math.ceil(math.sqrt(n)))))
    width = (last_start - first_end) / bins
    if not (width > 0 and math.isfinite(width)):
        return np.array([lo, hi])
    inner = np.linspace(first_end, last_start, bins - 1)
    edges = np.unique(
        np.r_[
            _round_edge(lo, width, "down"),
            [_round_edge(edge, width, "nearest") for edge in inner],
            _round_edge(hi, width, "up"),
        ]
    )
    return edges if np.all(np.isfinite(edges)) else np.array([lo, hi])  # near the float limit


def _unskew(ys: np.ndarray, cs: np.ndarray, first_end: float, last_start: float) -> tuple:
    """Pull equal 1st/99th percentiles apart: 1/20 of the way to the next distinct percentile."""
    probes = [1 / 2**i for i in range(32)] + [0.0]
    for value in _percentiles(ys, cs, tuple(probes), "lower"):
        if value != first_end:
            first_end = (first_end * 19 + value) / 20
            break
    for value in _percentiles(ys, cs, tuple(100 - q for q in probes), "higher"):
        if value != last_start:
            last_start = (last_start * 19 + value) / 20
            break
    return first_end, last_start


def _round_edge(edge: float, width: float, direction: str) -> float:
    """An edge rounded to two digits past the bin width's magnitude (Azure's display rounding)."""
    digits = -int(np.log10(width)) + 2
    if direction == "nearest":
        return float(np.around(edge, 2 if width >= 1 else digits))
    scale = 10.0**digits
    step = np.ceil if direction == "up" else np.floor
    return float(np.around(step(edge * scale) / scale, digits))


def _percentiles(
    sorted_y: np.ndarray, counts: np.ndarray, qs: tuple[float, ...], method: str
) -> list[float]:
    """Percentiles of ``sorted_y`` repeated ``counts`` times, as ``np.percentile(method=)``."""
    cumulative = np.cumsum(counts)
    total = cumulative[-1]
    out = []
    for q in qs:
        position = q / 100.0 * (total - 1)
        below = math.floor(position)
        frac = position - below
        at = np.searchsorted(cumulative, [below + 1, min(below + 2, total)], side="left")
        a, b = float(sorted_y[at[0]]), float(sorted_y[at[1]])
        if method == "lower" or (method == "linear" and frac == 0):
            out.append(a)
        elif method == "higher":
            out.append(a if frac == 0 else b)
        else:  # numpy's lerp, from whichever end is nearer
            out.append(a + (b - a) * frac if frac < 0.5 else b - (b - a) * (1 - frac))
    return out


def _predicted_vs_true(y: np.ndarray, p: np.ndarray, counts: np.ndarray, n: int) -> np.ndarray:
    """One row per non-empty bin: lower, upper, count, mean y, mean ŷ, std ŷ, mean ± std."""
    edges = _chart_edges(y, counts, n)
    which = np.digitize(y, edges[1:-1], right=True)
    k = edges.size - 1
    count = np.bincount(which, counts, k)
    filled = count > 0
    safe = np.where(filled, count, 1.0)
    mean_y = np.bincount(which, counts * y, k) / safe
    mean_p = np.bincount(which, counts * p, k) / safe
    dev = p - mean_p[which]
    std_p = np.sqrt(np.maximum(np.bincount(which, counts * dev * dev, k) / safe, 0.0))
    rows = np.column_stack(
        [edges[:-1], edges[1:], count, mean_y, mean_p, std_p, mean_p - std_p, mean_p + std_p]
    )
    return rows[filled]


def _residual_edges(e_min: float, e_max: float, std_y: float) -> np.ndarray:
    """Azure's residual histogram edges: ±2·std(y) split in 8, plus the extremes."""
    b = _round_up(2.0 * std_y)
    if b <= 0:
        b = _round_up(max(abs(e_min), abs(e_max))) or 1.0
    inner = np.linspace(-b, b, RESIDUAL_BINS - 1)
    return np.concatenate([[min(e_min, -b)], inner, [max(e_max, b)]])


def _round_up(x: float) -> float:
    """``x`` rounded up to two significant digits (0 stays 0)."""
    if x <= 0 or not math.isfinite(x):
        return 0.0
    scale = 10.0 ** (math.floor(math.log10(x)) - 1)
    return math.ceil(x / scale - 1e-9) * scale
