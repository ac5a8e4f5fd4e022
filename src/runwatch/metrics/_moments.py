"""One regression batch, validated and summarised; weighted moments and how they combine.

``prepare_batch`` checks the arguments of ``RegressionMetrics.update`` and,
through ``batch_stats``, turns them into everything the metric adds up (sums,
moments, extremes), touching no state, so a bad batch changes nothing.
``chan`` combines two weighted moments ``(Σw, mean, M2, shift)`` by Chan et
al.'s parallel rule, so a merge equals one pass and no variance is ever taken
as ``Σx² - n·x̄²``; ``force_finite`` is scikit-learn's rule for r2 and
explained variance on a constant series. Pure numpy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _validation

#: Targets closer to zero than this are left out of MAPE (Azure's rule).
MAPE_EPSILON = 1e-8

#: Columns of the ``lows`` / ``highs`` extremes: y_true, y_pred and the error
#: ``e = y_pred - y_true`` over every sample, then y_true and e over the samples
#: of positive weight.
Y, P, E, YW, EW = range(5)


def prepare_batch(y_true: Any, y_pred: Any, sample_weight: Any) -> dict[str, Any] | None:
    """Validate a batch and compute its contribution, without touching any state.

    Raises ``ValueError`` naming the argument; ``None`` for an empty batch.
    """
    y = _validation.check_finite_numbers("y_true", y_true).astype(np.float64, copy=False)
    p = _validation.check_finite_numbers("y_pred", y_pred).astype(np.float64, copy=False)
    _validation.check_length("y_pred", p, y.shape[0])
    w = _validation.check_sample_weight(sample_weight, y.shape[0])
    n = y.shape[0]
    if n == 0:
        return None
    y, p = np.array(y, dtype=np.float64), np.array(p, dtype=np.float64)  # own copies
    with np.errstate(over="ignore", invalid="ignore"):  # only near the float limit
        return batch_stats(n, y, p, w)


def batch_stats(n: int, y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> dict[str, Any]:
    """What ``n`` targets ``y``, predictions ``p`` and weights ``w`` add to the state.

    ``y`` and ``p`` themselves (for the median, Spearman and the charts), the
    moments of ``y`` and ``e``, ``Σw|e|``, ``Σw e²`` and ``Σw Δlog1p²`` over
    the rows where the log error is defined, the count of the others, the
    MAPE sum and count, and the extremes (columns ``Y`` to ``EW``).
    """
    e = p - y
    valid = (y > -1) & (p > -1)
    n_valid = int(np.count_nonzero(valid))
    every = slice(None)  # masks that keep every row are skipped: a copy of the batch less
    if n_valid == n:
        valid = every
    log_error = np.log1p(p[valid]) - np.log1p(y[valid])
    abs_y = np.abs(y)
    keep = abs_y >= MAPE_EPSILON
    n_keep = int(np.count_nonzero(keep))
    if n_keep == n:
        keep = every
    abs_e = np.abs(e)
    lows, highs = [y.min(), p.min(), e.min()], [y.max(), p.max(), e.max()]
    if w is None:  # unweighted: the same sums without multiplying by ones
        sums = [np.sum(abs_e), np.sum(e * e), np.sum(log_error * log_error)]
        lows += [lows[0], lows[2]]
        highs += [highs[0], highs[2]]
    else:
        sums = [np.sum(w * abs_e), np.sum(w * e * e), np.sum(w[valid] * log_error * log_error)]
        positive = w > 0
        lows += [y[positive].min(initial=np.inf), e[positive].min(initial=np.inf)]
        highs += [y[positive].max(initial=-np.inf), e[positive].max(initial=-np.inf)]
    return {
        "n": np.int64(n),
        "y": y,
        "p": p,
        "y_moments": moments(y, w),
        "e_moments": moments(e, w),
        "sums": np.array(sums),
        "log_invalid": np.int64(n - n_valid),
        "mape": np.array([np.sum(abs_e[keep] / abs_y[keep]), n_keep], float),
        "lows": np.array(lows),
        "highs": np.array(highs),
    }


def moments(x: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """(Σw, weighted mean of x − shift, Σw·(x − mean)², shift) of one batch, two-pass.

    ``w`` None: every weight 1. The shift is the batch's first value: data far
    from zero (targets near 1e9) then keep their small differences exact, so
    merging many batches adds no error of the size of the offset (the mean is
    ``shift + m[1]``).
    """
    total = float(x.size if w is None else w.sum())
    if total <= 0:
        return np.zeros(4)
    shift = float(x[0])
    centred = x - shift
    if w is None:
        mean = float(np.sum(centred)) / total
        d = centred - mean
        return np.array([total, mean, float(np.sum(d * d)), shift])
    mean = float(np.sum(w * centred)) / total
    d = centred - mean
    return np.array([total, mean, float(np.sum(w * d * d)), shift])


def chan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Chan et al.'s parallel combination of two (Σw, mean, M2, shift) quadruples.

    The result keeps ``a``'s shift; ``b``'s mean is moved onto it first.
    """
    wa, ma, qa, sa = (float(v) for v in a)
    wb, mb, qb, sb = (float(v) for v in b)
    if wb <= 0:
        return np.array(a, dtype=np.float64)
    if wa <= 0:
        return np.array(b, dtype=np.float64)
    total = wa + wb
    delta = (mb + (sb - sa)) - ma
    return np.array(
        [total, ma + delta * (wb / total), qa + qb + delta * delta * (wa * wb / total), sa]
    )


def mean(m: np.ndarray) -> float:
    """The weighted mean of a (Σw, mean, M2, shift) quadruple."""
    return float(m[3]) + float(m[1])


def std(m: np.ndarray) -> float:
    """Weighted population standard deviation of a (Σw, mean, M2, shift); 0 with no weight."""
    total_w, m2 = float(m[0]), float(m[2])
    return math.sqrt(m2 / total_w) if total_w > 0 else 0.0


def force_finite(numerator: float, denominator: float, num_zero: bool, den_zero: bool) -> float:
    """``1 - numerator/denominator`` with scikit-learn's ``force_finite`` for zeros.

    A zero is an exactly constant series (the flags) or a sum that underflowed.
    """
    num_zero = num_zero or numerator == 0
    if den_zero or denominator == 0:
        return 1.0 if num_zero else 0.0
    if num_zero:
        return 1.0
    return 1.0 - numerator / denominator
