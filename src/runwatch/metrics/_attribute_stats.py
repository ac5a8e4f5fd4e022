"""Per-bucket outcome statistics of an attribute, and what is read from them.

A bucket (a quantile range of a numeric attribute, a grid bin of one, a
category) is summed into two arrays that add up under merges:

- ``classes`` (B, 5, K): per class, the weighted true positives, weighted
  true count, weighted predicted count, and the unweighted true and
  predicted counts (the unweighted ones decide which labels a bucket has
  seen, as scikit-learn's ``unique_labels`` does whatever the weights);
- ``totals`` (B, 6): unweighted correct count, Σ w·loss, Σ w over scored
  samples, Σ loss, Σ loss², unweighted scored count.

From them, :func:`bucket_rows` gives a bucket's accuracy, macro P/R/F1
(averaged over the labels seen in the bucket's ``y_true`` or predicted,
``zero_division=0``: scikit-learn's default ``labels`` on the bucket's rows,
the engine's rule applied to the slice), log loss and per-class recall, and
:func:`correlation_ratio` / :func:`spearman` the importance measures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

TP, TRUE_W, PRED_W, TRUE_N, PRED_N = range(5)
CORRECT, LOSS_W, WEIGHT_SCORED, LOSS, LOSS_SQ, SCORED = range(6)
TOTALS = 6


def bucket_stats(
    bucket: np.ndarray,
    n_buckets: int,
    k: int,
    true: np.ndarray,
    pred: np.ndarray,
    weight: np.ndarray | None,
    loss: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` (B, 5, K) and ``totals`` (B, 6) of the samples in each bucket."""
    w = np.ones(true.size) if weight is None else weight
    hit = true == pred
    at_true = bucket * k + true
    at_pred = bucket * k + pred
    size = n_buckets * k
    classes = np.empty((n_buckets, 5, k))
    classes[:, TP] = np.bincount(at_true, w * hit, size).reshape(n_buckets, k)
    classes[:, TRUE_W] = np.bincount(at_true, w, size).reshape(n_buckets, k)
    classes[:, PRED_W] = np.bincount(at_pred, w, size).reshape(n_buckets, k)
    classes[:, TRUE_N] = np.bincount(at_true, minlength=size).reshape(n_buckets, k)
    classes[:, PRED_N] = np.bincount(at_pred, minlength=size).reshape(n_buckets, k)
    totals = np.zeros((n_buckets, TOTALS))
    totals[:, CORRECT] = np.bincount(bucket, hit, n_buckets)
    if loss is not None:
        scored = ~np.isnan(loss)
        b, x, ws = bucket[scored], loss[scored], w[scored]
        totals[:, LOSS_W] = np.bincount(b, ws * x, n_buckets)
        totals[:, WEIGHT_SCORED] = np.bincount(b, ws, n_buckets)
        totals[:, LOSS] = np.bincount(b, x, n_buckets)
        totals[:, LOSS_SQ] = np.bincount(b, x * x, n_buckets)
        totals[:, SCORED] = np.bincount(b, minlength=n_buckets)
    return classes, totals


def grow_classes(classes: np.ndarray, where: np.ndarray, k: int) -> np.ndarray:
    """``classes`` re-indexed to a grown label list (``where[old] = new``)."""
    grown = np.zeros((*classes.shape[:2], k))
    grown[:, :, where] = classes
    return grown


def bucket_rows(classes: np.ndarray, totals: np.ndarray, labels: list[Any]) -> dict[str, Any]:
    """Table columns, one value per bucket: count, accuracy, macro P/R/F1, log loss, recalls."""
    tp, true_w, pred_w = classes[:, TP], classes[:, TRUE_W], classes[:, PRED_W]
    seen = (classes[:, TRUE_N] + classes[:, PRED_N]) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = true_w.sum(axis=1)
        accuracy = np.where(weight > 0, tp.sum(axis=1) / weight, np.nan)
        precision = np.where(pred_w > 0, tp / pred_w, 0.0)
        recall = np.where(true_w > 0, tp / true_w, 0.0)
        f1 = np.where(true_w + pred_w > 0, 2 * tp / (true_w + pred_w), 0.0)
        n_seen = seen.sum(axis=1)
        out: dict[str, Any] = {
            "count": classes[:, TRUE_N].sum(axis=1).astype(np.int64),
            "weight": weight,
            "accuracy": accuracy,
        }
        for name, per_class in (("precision", precision), ("recall", recall), ("f1", f1)):
            out[f"{name}_macro"] = np.where(
                n_seen > 0, (per_class * seen).sum(axis=1) / n_seen, np.nan
            )
        out["log_loss"] = np.where(
            totals[:, WEIGHT_SCORED] > 0, totals[:, LOSS_W] / totals[:, WEIGHT_SCORED], np.nan
        )
        for c, label in enumerate(labels):
            # A class absent from a bucket's y_true has no recall there (NaN, not 0).
            out[f"recall[{label}]"] = np.where(classes[:, TRUE_N, c] > 0, recall[:, c], np.nan)
    return out


def correlation_ratio(n: np.ndarray, sums: np.ndarray, squares: np.ndarray) -> float:
    """η: √(between-group / total sum of squares) of a variable grouped in categories.

    ``n``, ``sums``, ``squares``: per category, the count, Σx and Σx².
    NaN where the variable does not vary.
    """
    total = float(n.sum())
    if total == 0:
        return float("nan")
    mean = float(sums.sum()) / total
    ss_total = float(squares.sum()) - total * mean * mean
    filled = n > 0
    ss_between = float(np.sum((sums[filled] / n[filled] - mean) ** 2 * n[filled]))
    if ss_total <= 1e-12 * max(float(squares.sum()), 1e-300):
        return float("nan")
    return float(np.sqrt(min(1.0, max(0.0, ss_between / ss_total))))


def midranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1-based; ties share their mean rank), as ``scipy.stats.rankdata``."""
    if values.dtype == bool:  # two groups: their midranks in closed form, no sort
        n_false = values.size - int(values.sum())
        return np.where(values, n_false + (values.size - n_false + 1) / 2.0, (n_false + 1) / 2.0)
    order = np.argsort(values)  # ties get their mean rank below, so stability does not matter
    ordered = values[order]
    group = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1
    counts = np.bincount(group)
    ranks = np.empty(values.size)
    ranks[order] = (np.cumsum(counts) - (counts - 1) / 2.0)[group]
    return ranks


def pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
    """Pearson's r (frequency weights ``w``); NaN where either side is constant."""
    w = np.ones(x.size) if w is None else w
    total = w.sum()
    if total <= 0:
        return float("nan")
    dx = x - (w @ x) / total
    dy = y - (w @ y) / total
    sxx, syy = w @ (dx * dx), w @ (dy * dy)
    if sxx <= 0 or syy <= 0:
        return float("nan")
    return float(np.clip((w @ (dx * dy)) / np.sqrt(sxx * syy), -1.0, 1.0))


def spearman(x: np.ndarray, y: np.ndarray, x_ranks: np.ndarray | None = None) -> float:
    """Spearman's rho of two samples (ties by midranks), as ``scipy.stats.spearmanr``.

    ``x_ranks``: ``midranks(x)`` where the caller has them already.
    """
    if x.size < 2:
        return float("nan")
    return pearson(midranks(x) if x_ranks is None else x_ranks, midranks(y))


def binned_spearman_error(n: np.ndarray, wrong: np.ndarray) -> float:
    """Spearman's rho of an attribute binned in sorted bins with being wrong.

    ``n`` and ``wrong``: per bin (in value order), the count and the wrong
    count; samples of a bin tie on the attribute.
    """
    right = n - wrong
    bin_rank = np.cumsum(n) - (n - 1) / 2.0
    n_right, n_wrong = right.sum(), wrong.sum()
    error_rank = np.array([(n_right + 1) / 2.0, n_right + (n_wrong + 1) / 2.0])
    x = np.concatenate([bin_rank, bin_rank])
    y = np.repeat(error_rank, n.size)
    return pearson(x, y, np.concatenate([right, wrong]).astype(np.float64))


def importance_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """``attribute_importance()``'s table from its rows, strongest first.

    ``rows`` are (attribute, kind, measure, with_error, with_loss); sorted by
    ``|with_error|`` then ``|with_loss|``, both descending, NaN last.
    """
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["attribute", "kind", "measure", "with_error",
                                        "with_loss"])  # fmt: skip
    if frame.empty:
        return frame
    order = np.lexsort((
        np.nan_to_num(-frame["with_loss"].abs().to_numpy(), nan=np.inf),
        np.nan_to_num(-frame["with_error"].abs().to_numpy(), nan=np.inf),
    ))  # fmt: skip
    return frame.iloc[order].reset_index(drop=True)
