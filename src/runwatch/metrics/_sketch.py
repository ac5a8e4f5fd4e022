"""Bounded-memory, exactly mergeable summaries for the binned regression mode.

Two pure-numpy building blocks (notes/engine.md §4.3), each a few sorted
arrays of integer keys and integer counts, so that merging the summaries of
any split of the data gives the summary of one pass, bit for bit:

- a **log-spaced quantile sketch** (DDSketch, Masson et al., VLDB 2019) of
  positive values: value ``x`` goes to bucket ``ceil(log(x) / log(gamma))``
  with ``gamma = (1 + alpha) / (1 - alpha)``; every quantile read back is
  within relative error ``alpha`` of a data value of that rank. At most
  ``max_buckets`` buckets are kept: beyond that the smallest buckets fold
  into the smallest kept one (DDSketch's "collapsing lowest" store), which
  only affects quantiles below ``max / gamma ** max_buckets``;
- a **power-of-two grid** on ``asinh(value)`` for the joint ranks of two
  series (Spearman): a value's bin is ``floor(asinh(v) / 2**e)`` where the
  exponent ``e`` is the smallest (from ``GRID_MIN_EXPONENT``) at which the
  data span fewer than ``bins`` bins. Coarsening is a right shift, the
  exponent depends only on the data's extremes, so merges are exact too.
  ``asinh`` is linear near 0 and logarithmic far from it: an outlier costs
  resolution logarithmically, not linearly.
"""

from __future__ import annotations

import numpy as np

#: Finest grid exponent: ``asinh`` of any float64 is below 711 and
#: 711 * 2**52 < 2**63, so keys always fit in int64.
GRID_MIN_EXPONENT = -52


# ---------------------------------------------------------------- log sketch
def gamma_of(alpha: float) -> float:
    """Bucket growth factor for relative accuracy ``alpha``."""
    return (1.0 + alpha) / (1.0 - alpha)


def log_keys(values: np.ndarray, alpha: float) -> np.ndarray:
    """Bucket index of each positive value."""
    return np.ceil(np.log(values) / np.log(gamma_of(alpha))).astype(np.int64)


def log_values(keys: np.ndarray, alpha: float) -> np.ndarray:
    """The value standing for each bucket (relative error at most ``alpha``)."""
    gamma = gamma_of(alpha)
    with np.errstate(over="ignore"):  # the top bucket of a value near the float limit
        return np.minimum(2.0 * np.exp(keys * np.log(gamma)) / (gamma + 1.0),
                          np.finfo(np.float64).max)


def add_to_store(
    keys: np.ndarray,
    counts: np.ndarray,
    new_keys: np.ndarray,
    new_counts: np.ndarray,
    max_buckets: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys with summed counts, the lowest folded past ``max_buckets``."""
    all_keys = np.concatenate([keys, new_keys])
    all_counts = np.concatenate([counts, new_counts])
    out_keys, inverse = np.unique(all_keys, return_inverse=True)
    out_counts = np.bincount(inverse.ravel(), weights=all_counts, minlength=out_keys.size)
    out_counts = np.rint(out_counts).astype(np.int64)
    if out_keys.size > max_buckets:
        cut = out_keys.size - max_buckets
        out_counts[cut] += out_counts[:cut].sum()
        out_keys, out_counts = out_keys[cut:], out_counts[cut:]
    return out_keys, out_counts


def order_statistic(
    zero: int, keys: np.ndarray, counts: np.ndarray, rank: int, alpha: float
) -> float:
    """Approximate ``rank``-th smallest (0-based) value of ``zero`` zeros plus the sketch."""
    if rank < zero:
        return 0.0
    cumulative = np.cumsum(counts)
    at = int(np.searchsorted(cumulative, rank - zero, side="right"))
    return float(log_values(keys[at : at + 1], alpha)[0])


# ---------------------------------------------------------------------- grid
def grid_exponent(start: int, t_min: float, t_max: float, bins: int) -> int:
    """Smallest exponent >= ``start`` at which ``[t_min, t_max]`` spans fewer than ``bins`` bins."""
    exponent = max(int(start), GRID_MIN_EXPONENT)
    if not t_max >= t_min:  # no data yet
        return exponent
    while np.floor(np.ldexp(t_max, -exponent)) - np.floor(np.ldexp(t_min, -exponent)) >= bins:
        exponent += 1
    return exponent


def grid_keys(t: np.ndarray, exponent: int) -> np.ndarray:
    """Bin of each transformed value at ``exponent``."""
    return np.floor(np.ldexp(t, -exponent)).astype(np.int64)


def coarsen(keys: np.ndarray, old: int, new: int) -> np.ndarray:
    """Keys at exponent ``old`` re-binned at ``new >= old`` (floor division by a power of 2)."""
    return keys >> (new - old) if new > old else keys


def grid_add(
    cells: tuple[np.ndarray, np.ndarray, np.ndarray],
    new: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted distinct (x, y) cells with summed counts."""
    x = np.concatenate([cells[0], new[0]])
    y = np.concatenate([cells[1], new[1]])
    c = np.concatenate([cells[2], new[2]])
    if x.size == 0:
        return x, y, c
    x_lo, y_lo = int(x.min()), int(y.min())
    width = int(y.max()) - y_lo + 1
    if (int(x.max()) - x_lo + 1) * width < 2**62:  # one sort of a combined key (the usual case)
        cell, inverse = np.unique((x - x_lo) * width + (y - y_lo), return_inverse=True)
        counts = np.bincount(inverse.ravel(), weights=c, minlength=cell.size)
        return cell // width + x_lo, cell % width + y_lo, np.rint(counts).astype(np.int64)
    order = np.lexsort((y, x))
    x, y, c = x[order], y[order], c[order]
    start = np.r_[True, (np.diff(x) != 0) | (np.diff(y) != 0)]
    group = np.cumsum(start) - 1
    return x[start], y[start], np.rint(np.bincount(group, weights=c)).astype(np.int64)


def grid_values(keys: np.ndarray, exponent: int) -> np.ndarray:
    """A value standing for each bin: ``sinh`` of the bin's middle."""
    with np.errstate(over="ignore"):  # asinh(1.8e308) is 710.5: its bin's middle may overflow
        return np.sinh(np.ldexp(keys.astype(np.float64) + 0.5, exponent))


def midranks(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Average rank of each cell's bin along one axis, and the largest bin's count."""
    unique, inverse = np.unique(keys, return_inverse=True)
    per_bin = np.bincount(inverse.ravel(), weights=counts, minlength=unique.size)
    ranks = np.cumsum(per_bin) - per_bin + (per_bin + 1) / 2
    return ranks[inverse.ravel()], per_bin, int(per_bin.max(initial=0))


def weighted_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Pearson correlation of ``x`` and ``y`` with frequency weights ``w`` (two-pass)."""
    total = w.sum()
    dx = x - np.sum(w * x) / total
    dy = y - np.sum(w * y) / total
    sxx, syy = np.sum(w * dx * dx), np.sum(w * dy * dy)
    if sxx <= 0 or syy <= 0:
        return float("nan")
    return float(np.clip(np.sum(w * dx * dy) / np.sqrt(sxx * syy), -1.0, 1.0))
