"""The exact median absolute error without a partition of every error at every compute.

Exact regression keeps every pair, so its median absolute error is the median
of ``|y_pred - y_true|`` over all of them. ``np.median`` partitions all ``n``
errors at each compute (about 10 ns a sample). Here the errors are also
counted in buckets of their float64 bit pattern (the sign bit is 0 and the
top 17 bits that follow are the exponent and 6 bits of mantissa, so a bucket
spans a relative width of 1/64), kept up to date batch by batch. A compute
then reads which buckets hold the middle ranks from the counts, keeps the
errors that fall in them (one comparison pass) and partitions only those:
the same two middle values, and the same arithmetic on them, as
``np.median`` (scikit-learn's ``median_absolute_error``).

Pure numpy; the functions return new arrays and never write their arguments.
"""

from __future__ import annotations

import numpy as np

#: Bits of a non-negative float64 dropped to make its bucket: 64 - 1 - 17.
_SHIFT = np.uint64(46)
#: Buckets: every non-negative float64 has one; the last holds +inf alone (0x7FF0 << 2).
BUCKETS = (0x7FF0 << 2) + 1


def bucket_counts(abs_errors: np.ndarray) -> np.ndarray:
    """How many of ``abs_errors`` (non-negative float64, not NaN) fall in each bucket."""
    keys = (abs_errors.view(np.uint64) >> _SHIFT).astype(np.intp)
    return np.bincount(keys, minlength=BUCKETS)


def _bucket_start(bucket: int) -> float:
    """The smallest float64 in ``bucket`` (+inf past the last finite one)."""
    return float(np.array(np.uint64(bucket) << _SHIFT).view(np.float64))


def median(abs_errors: np.ndarray, counts: np.ndarray) -> float:
    """``np.median(abs_errors)``, given ``counts == bucket_counts(abs_errors)``."""
    n = abs_errors.size
    ranks = ((n - 1) // 2, n // 2)  # the one or two middle values, 0-based
    cumulative = np.cumsum(counts)
    first, last = (int(b) for b in np.searchsorted(cumulative, ranks, side="right"))
    below = int(cumulative[first - 1]) if first else 0
    low = _bucket_start(first)
    inside = abs_errors >= low
    if last + 1 < BUCKETS:
        inside &= abs_errors < _bucket_start(last + 1)
    candidates = abs_errors[inside]
    at = [rank - below for rank in ranks]
    middle = np.partition(candidates, at)[at[0] : at[1] + 1]
    return float(np.mean(middle))
