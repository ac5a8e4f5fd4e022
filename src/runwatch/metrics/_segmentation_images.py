"""Where a segmenter fails: ``SegmentationMetrics``' per-image tables.

The engine's state is one pixel confusion matrix, which cannot be cut by
image. Per image it also keeps, in ``_image_rows``' rows, the valid pixels'
per-class counts (``counts`` (n, 3, K): true positives, true pixels,
predicted pixels; ``24·K`` bytes per image, whatever its size), which is
all that the IoU, pixel accuracy and their per-class parts of a set of
images need: summed over a bucket's images they equal scikit-learn's
``confusion_matrix`` over the bucket's valid pixels (its diagonal, row and
column sums). The per-image error ``attribute_importance`` and
``top_losses`` use: ``1 - mean IoU`` of the image (over the classes in its
truth or prediction) as its loss, ``1 - pixel accuracy`` as its error; NaN
for an image whose pixels are all ``ignore_index``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._image_rows import ImageRows

if TYPE_CHECKING:
    import pandas as pd

TP, TRUE, PRED = range(3)


def extra(k: int) -> dict[str, np.ndarray]:
    """The per-image arrays of a ``k``-class engine, empty."""
    return {"counts": np.zeros((0, 3, k), np.int64)}


def image_counts(truth: np.ndarray, pred: np.ndarray, valid: np.ndarray | None, k: int) -> tuple:
    """Per image (first axis of an (N, ...) batch; a 2-D mask is one) the (3, K) counts.

    Also returns their sum as the batch's (K, K) confusion matrix. One
    ``bincount`` per image, as the engine made for the whole batch.
    """
    if truth.ndim < 3:
        truth, pred = truth[None], pred[None]
        valid = None if valid is None else valid[None]
    n = truth.shape[0]
    counts = np.zeros((n, 3, k), np.int64)
    matrix = np.zeros((k, k), np.int64)
    for i in range(n):
        t, p = truth[i].ravel(), pred[i].ravel()
        if valid is not None:
            keep = valid[i].ravel()
            t, p = t[keep], p[keep]
        cm = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
        matrix += cm
        counts[i, TP], counts[i, TRUE], counts[i, PRED] = np.diag(cm), cm.sum(1), cm.sum(0)
    return counts, matrix


def _ratios(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of summed counts (n, 3, K): per-class IoU (NaN: empty union), mean IoU, accuracy."""
    tp, true, pred = (counts[:, i].astype(np.float64) for i in (TP, TRUE, PRED))
    union = true + pred - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
        seen = union > 0
        mean = np.where(seen.any(axis=1), np.nansum(iou, axis=1) / np.maximum(seen.sum(1), 1),
                        np.nan)  # fmt: skip
        total = true.sum(axis=1)
        accuracy = np.where(total > 0, tp.sum(axis=1) / np.maximum(total, 1), np.nan)
    return iou, mean, accuracy


def errors(rows: ImageRows) -> tuple[np.ndarray, np.ndarray]:
    """Per image: (1 - pixel accuracy, 1 - mean IoU), NaN without valid pixels."""
    _, mean, accuracy = _ratios(rows.extra["counts"])
    return 1.0 - accuracy, 1.0 - mean


def by_attribute(
    rows: ImageRows, name: str, bins: Any, max_categories: int, labels: list[Any]
) -> pd.DataFrame:
    """``SegmentationMetrics.by_attribute``'s table."""
    frame, group = rows.buckets(name, bins, max_categories)
    counts = rows.extra["counts"]
    n_buckets, k = len(frame), counts.shape[2]
    use = group >= 0
    summed = np.zeros((n_buckets, 3, k), np.int64)
    np.add.at(summed, group[use], counts[use])
    iou, mean, accuracy = _ratios(summed)
    frame["count"] = np.bincount(group[use], minlength=n_buckets).astype(np.int64)
    frame["pixels"] = summed[:, TRUE].sum(axis=1)
    frame["mean_iou"] = mean
    frame["pixel_accuracy"] = accuracy
    for c, label in enumerate(labels):
        frame[f"iou[{label}]"] = iou[:, c]
    return frame


def top_losses(rows: ImageRows, k: int) -> pd.DataFrame:
    """``SegmentationMetrics.top_losses``' table."""
    import pandas as pd

    pixel_error, loss = errors(rows)
    top = rows.top(loss, k)
    return pd.DataFrame({
        "id": rows.ids[top].tolist(), "loss": loss[top], "pixel_error": pixel_error[top],
        "pixels": rows.extra["counts"][top, TRUE].sum(axis=1),
    })  # fmt: skip
