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

The last section is ``RegressionMetrics``' binned state built from them
(``BINNED_STATE``): a store per sign of the error ``y_pred - y_true`` for the
median absolute error and the residual histogram, and a grid of
``(y_true, y_pred)`` cells for Spearman and the predicted-vs-true chart.
"""

from __future__ import annotations

import math

import numpy as np

#: Finest grid exponent: ``asinh`` of any float64 is below 711 and
#: 711 * 2**52 < 2**63, so keys always fit in int64.
GRID_MIN_EXPONENT = -52
#: Keys spanning at most this many values are summed with a dense ``bincount``, not a sort.
DENSE_SPAN = 1 << 20  # a fitted grid's cells: 1024 bins by 1024


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
        return np.minimum(
            2.0 * np.exp(keys * np.log(gamma)) / (gamma + 1.0), np.finfo(np.float64).max
        )


def add_to_store(
    keys: np.ndarray,
    counts: np.ndarray,
    new_keys: np.ndarray,
    new_counts: np.ndarray,
    max_buckets: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys with summed counts, the lowest folded past ``max_buckets``."""
    out_keys, out_counts = sum_by_key(
        np.concatenate([keys, new_keys]), np.concatenate([counts, new_counts])
    )
    if out_keys.size > max_buckets:
        cut = out_keys.size - max_buckets
        out_counts[cut] += out_counts[:cut].sum()
        out_keys, out_counts = out_keys[cut:], out_counts[cut:]
    return out_keys, out_counts


def sum_by_key(keys: np.ndarray, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ``keys`` and the summed ``counts`` of each (``None``: 1 per key).

    Keys within a span of a few times their number (a batch's sketch keys,
    grid cells: the usual case) are counted with one ``bincount``, linear;
    wider spans are sorted. Counts are int64 and summed exactly.
    """
    if keys.size == 0:
        return keys.astype(np.int64), np.zeros(0, np.int64)
    low = int(keys.min())
    span = int(keys.max()) - low + 1
    if span <= max(4 * keys.size, DENSE_SPAN):
        offsets = keys - low
        if counts is None:
            dense = np.bincount(offsets, minlength=span)
        else:  # exact while the total is below 2**53 (float64 integers)
            dense = np.rint(np.bincount(offsets, weights=counts, minlength=span)).astype(np.int64)
        at = np.flatnonzero(dense)
        return at + low, dense[at]
    unique, inverse = np.unique(keys, return_inverse=True)
    if counts is None:
        return unique, np.bincount(inverse.ravel(), minlength=unique.size).astype(np.int64)
    summed = np.bincount(inverse.ravel(), weights=counts, minlength=unique.size)
    return unique, np.rint(summed).astype(np.int64)


def order_statistic(
    zero: int, keys: np.ndarray, counts: np.ndarray, rank: int, alpha: float
) -> float:
    """Approximate ``rank``-th smallest (0-based) value of ``zero`` zeros plus the sketch."""
    if rank < zero:
        return 0.0
    cumulative = np.cumsum(counts)
    at = int(np.searchsorted(cumulative, rank - zero, side="right"))
    return float(log_values(keys[at : at + 1], alpha)[0])


def log_insert(
    keys: np.ndarray, counts: np.ndarray, values: np.ndarray, alpha: float, max_buckets: int
) -> tuple[np.ndarray, np.ndarray]:
    """The store ``keys``/``counts`` with the positive ``values`` added."""
    new_keys, new_counts = sum_by_key(log_keys(values, alpha))
    return add_to_store(keys, counts, new_keys, new_counts, max_buckets)


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
    if (int(x.max()) - x_lo + 1) * width < 2**62:  # one combined key (always, on a fitted grid)
        cell, summed = sum_by_key((x - x_lo) * width + (y - y_lo), c)
        return cell // width + x_lo, cell % width + y_lo, summed
    order = np.lexsort((y, x))
    x, y, c = x[order], y[order], c[order]
    start = np.r_[True, (np.diff(x) != 0) | (np.diff(y) != 0)]
    group = np.cumsum(start) - 1
    return x[start], y[start], np.rint(np.bincount(group, weights=c)).astype(np.int64)


def fit_grid(start: np.ndarray, lows: np.ndarray, highs: np.ndarray, bins: int) -> np.ndarray:
    """Exponent of each axis, from ``start`` up, at which its extremes span fewer than ``bins``."""
    return np.array(
        [
            grid_exponent(int(s), float(np.arcsinh(lo)), float(np.arcsinh(hi)), bins)
            for s, lo, hi in zip(start, lows, highs)
        ],
        dtype=np.int64,
    )


def grid_rebin(
    cells: tuple[np.ndarray, np.ndarray, np.ndarray], old: np.ndarray, new: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells at exponents ``old`` re-binned at ``new >= old``, axis by axis."""
    x, y, counts = cells
    return coarsen(x, int(old[0]), int(new[0])), coarsen(y, int(old[1]), int(new[1])), counts


def grid_cells(x: np.ndarray, y: np.ndarray, exponents: np.ndarray) -> tuple:
    """One cell of count 1 per pair ``(x, y)`` of raw values, at ``exponents``."""
    return (
        grid_keys(np.arcsinh(x), int(exponents[0])),
        grid_keys(np.arcsinh(y), int(exponents[1])),
        np.ones(x.size, np.int64),
    )


def grid_values(keys: np.ndarray, exponent: int) -> np.ndarray:
    """A value standing for each bin: ``sinh`` of the bin's middle."""
    with np.errstate(over="ignore"):  # asinh(1.8e308) is 710.5: its bin's middle may overflow
        return np.sinh(np.ldexp(keys.astype(np.float64) + 0.5, exponent))


def midranks(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Average rank of each cell's bin along one axis, each bin's count and the largest."""
    low = int(keys.min()) if keys.size else 0
    span = int(keys.max()) - low + 1 if keys.size else 0
    if keys.size and span <= max(4 * keys.size, DENSE_SPAN):  # a fitted grid: < bins bins
        where = keys - low
        per_bin = np.bincount(where, weights=counts, minlength=span)
    else:
        unique, inverse = np.unique(keys, return_inverse=True)
        where = inverse.ravel()
        per_bin = np.bincount(where, weights=counts, minlength=unique.size)
    ranks = np.cumsum(per_bin) - per_bin + (per_bin + 1) / 2
    return ranks[where], per_bin, int(per_bin.max(initial=0))


def weighted_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Pearson correlation of ``x`` and ``y`` with frequency weights ``w`` (two-pass)."""
    total = w.sum()
    dx = x - np.sum(w * x) / total
    dy = y - np.sum(w * y) / total
    sxx, syy = np.sum(w * dx * dx), np.sum(w * dy * dy)
    if sxx <= 0 or syy <= 0:
        return float("nan")
    return float(np.clip(np.sum(w * dx * dy) / np.sqrt(sxx * syy), -1.0, 1.0))


# ------------------------------------------------- the binned regression state
#: ``RegressionMetrics``' arrays in binned mode: the count of zero errors, the
#: store of the positive errors and that of the magnitudes of the negative
#: ones (keys, counts), the grid's exponent per axis and its cells (y_true and
#: y_pred bins, count). The functions below take and return them as a dict.
BINNED_STATE = (
    "error_zero", "error_pos_keys", "error_pos_counts", "error_neg_keys", "error_neg_counts",
    "grid_exponents", "grid_true", "grid_pred", "grid_counts",
)  # fmt: skip

_SIGNS = ("pos", "neg")


def binned_add(
    state: dict[str, np.ndarray],
    y: np.ndarray,
    p: np.ndarray,
    extremes: tuple[np.ndarray, np.ndarray],
    alpha: float,
    bins: int,
    max_buckets: int,
) -> dict[str, np.ndarray]:
    """``state`` with the pairs ``(y, p)`` added.

    ``extremes`` holds the smallest and the largest ``(y, p)`` of every pair
    so far, these included: they set the grid's exponents.
    """
    big = np.finfo(np.float64).max
    e = np.clip(p - y, -big, big)  # y_pred - y_true can overflow for values near the float limit
    out = {"error_zero": state["error_zero"] + np.int64(np.count_nonzero(e == 0))}
    for sign, part in zip(_SIGNS, (e[e > 0], -e[e < 0])):
        store = log_insert(*_store(state, sign), part, alpha, max_buckets)
        out.update(_store_arrays(sign, store))
    exponents = fit_grid(state["grid_exponents"], *extremes, bins)
    cells = grid_rebin(_cells(state), state["grid_exponents"], exponents)
    out.update(_grid_arrays(grid_add(cells, grid_cells(y, p, exponents)), exponents))
    return out


def binned_merge(
    a: dict[str, np.ndarray],
    b: dict[str, np.ndarray],
    extremes: tuple[np.ndarray, np.ndarray],
    bins: int,
    max_buckets: int,
) -> dict[str, np.ndarray]:
    """The state of ``a``'s data and ``b``'s, as one pass over both would give.

    ``extremes`` are those of both (they set the grid's exponents).
    """
    out = {"error_zero": a["error_zero"] + b["error_zero"]}
    for sign in _SIGNS:
        store = add_to_store(*_store(a, sign), *_store(b, sign), max_buckets)
        out.update(_store_arrays(sign, store))
    exponents = fit_grid(np.maximum(a["grid_exponents"], b["grid_exponents"]), *extremes, bins)
    cells = grid_add(
        grid_rebin(_cells(a), a["grid_exponents"], exponents),
        grid_rebin(_cells(b), b["grid_exponents"], exponents),
    )
    out.update(_grid_arrays(cells, exponents))
    return out


def binned_median(
    state: dict[str, np.ndarray], n: int, alpha: float, max_buckets: int
) -> tuple[float, float]:
    """Median absolute error of the ``n`` samples and how far it may be from the exact one.

    The bound is ``alpha`` relative, or the lowest kept bucket where smaller
    errors were folded into it.
    """
    pos, neg = _store(state, "pos"), _store(state, "neg")
    keys, counts = add_to_store(*pos, *neg, 2 * max_buckets)
    zero = int(state["error_zero"])
    low = order_statistic(zero, keys, counts, (n - 1) // 2, alpha)
    high = order_statistic(zero, keys, counts, n // 2, alpha)
    median = (low + high) / 2
    bound = median * alpha / (1 - alpha)
    for store_keys in (pos[0], neg[0]):
        if store_keys.size >= max_buckets:  # smaller errors were folded into store_keys[0]
            folded = float(log_values(store_keys[:1], alpha)[0])
            if low <= folded:
                bound = max(bound, folded)
    return median, bound


def binned_spearman(state: dict[str, np.ndarray], n: int) -> tuple[float, float]:
    """Spearman's rho of the ``n`` samples (a grid bin's values tie) and its error bound.

    The bound is ``arcsin(√3·f_y) + arcsin(√3·f_ŷ)``, ``f`` the largest bin's
    share of the samples on each axis (notes/engine.md §4.3).
    """
    counts = state["grid_counts"]
    rank_y, _, top_y = midranks(state["grid_true"], counts)
    rank_p, _, top_p = midranks(state["grid_pred"], counts)
    rho = weighted_pearson(rank_y, rank_p, counts.astype(np.float64))
    bound = float(sum(math.asin(min(1.0, math.sqrt(3) * (top / n))) for top in (top_y, top_p)))
    return rho, bound


def binned_points(
    state: dict[str, np.ndarray], extremes: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A ``(y, p)`` point per grid cell (bin values clipped to ``extremes``) and its count."""
    lows, highs = extremes
    exponents = state["grid_exponents"]
    return (
        np.clip(grid_values(state["grid_true"], int(exponents[0])), lows[0], highs[0]),
        np.clip(grid_values(state["grid_pred"], int(exponents[1])), lows[1], highs[1]),
        state["grid_counts"].astype(np.float64),
    )


def binned_errors(
    state: dict[str, np.ndarray], alpha: float, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """An error (clipped to ``[lo, hi]``) and a count per bucket: negatives, zero, positives."""
    (pos_keys, pos_counts), (neg_keys, neg_counts) = _store(state, "pos"), _store(state, "neg")
    values = np.concatenate([-log_values(neg_keys, alpha), [0.0], log_values(pos_keys, alpha)])
    counts = np.concatenate([neg_counts, [state["error_zero"]], pos_counts])
    return np.clip(values, lo, hi), counts.astype(np.float64)


def check_binned(state: dict[str, np.ndarray]) -> None:
    """Raise ``ValueError`` where keys and counts of a store or the grid differ in length."""
    pairs = (("error_pos_keys", "error_pos_counts"), ("error_neg_keys", "error_neg_counts"),
             ("grid_true", "grid_counts"), ("grid_pred", "grid_counts"))  # fmt: skip
    for a, b in pairs:
        if state[a].shape != state[b].shape:
            raise ValueError(f"state[{a!r}] and state[{b!r}] differ in length.")


def _store(state: dict[str, np.ndarray], sign: str) -> tuple[np.ndarray, np.ndarray]:
    return state[f"error_{sign}_keys"], state[f"error_{sign}_counts"]


def _store_arrays(sign: str, store: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    return {f"error_{sign}_keys": store[0], f"error_{sign}_counts": store[1]}


def _cells(state: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return state["grid_true"], state["grid_pred"], state["grid_counts"]


def _grid_arrays(cells: tuple, exponents: np.ndarray) -> dict[str, np.ndarray]:
    x, y, counts = cells
    return {"grid_exponents": exponents, "grid_true": x, "grid_pred": y, "grid_counts": counts}
