"""The charts' data of ``DetectionMetrics``: COCO's precision-recall curves and matched IoUs.

Both read the state the engine keeps anyway (no box, no mask):

- ``pr_frame``: per class, COCO's interpolated precision at its 101 recall
  points at IoU 0.5, area "all" and the last max_det (pycocotools'
  ``eval["precision"][t50, :, k, 0, -1]``), so the mean of a class's line is
  its AP50; the "macro" line is the mean over the classes with ground truth
  at each recall point, so its mean is ``mAP_50``.
- ``iou_histogram``: the IoUs of the true positives (matched at IoU 0.5 in
  area "all" to a non-crowd ground truth, scoring at least the threshold),
  counted in bins of 0.05 from 0.5 to 1 (numpy's ``histogram`` rule: each
  bin holds its left edge, the last one 1.0 too). Each true positive's IoU
  is the ``det_iou`` column the engine keeps (8 bytes per detection).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ._coco import RECALL_POINTS

if TYPE_CHECKING:  # pandas is imported when a table is asked for, not with the engine
    import pandas as pd

#: The edges of the matched-IoU histogram: 0.50, 0.55, ..., 1.00 (ten bins).
IOU_EDGES = np.linspace(0.5, 1.0, 11)


def pr_frame(precision_50: np.ndarray, labels: list[Any]) -> pd.DataFrame:
    """The tidy precision-recall table of ``DetectionMetrics.curves()``.

    ``precision_50`` is COCO's precision (R, K) at IoU 0.5, area "all" and
    the last max_det, -1 for a class without ground truth (left out).
    Columns ``curve`` ("class" or "macro"), ``label`` (the class, or
    "macro"), ``recall`` (COCO's 0, 0.01, ..., 1) and ``precision``.
    """
    import pandas as pd

    has_gt = precision_50.min(axis=0) > -1 if precision_50.size else np.zeros(0, bool)
    kept = np.flatnonzero(has_gt)
    n_points = len(RECALL_POINTS)
    curves = ["class"] * (kept.size * n_points)
    names: list[Any] = [labels[k] for k in kept for _ in range(n_points)]
    recall = [np.tile(RECALL_POINTS, kept.size)]
    precision = [precision_50[:, kept].T.ravel()]
    if kept.size:
        curves += ["macro"] * n_points
        names += ["macro"] * n_points
        recall.append(RECALL_POINTS)
        precision.append(precision_50[:, kept].mean(axis=1))
    return pd.DataFrame(
        {
            "curve": curves,
            "label": pd.Series(names, dtype=object),
            "recall": np.concatenate(recall),
            "precision": np.concatenate(precision),
        }
    )


def iou_histogram(ious: np.ndarray) -> pd.DataFrame:
    """The true positives' IoUs (all at least 0.5) counted in bins of 0.05 up to 1.

    Columns ``lo``, ``hi`` (the bin's edges) and ``count``, ten rows.
    """
    import pandas as pd

    counts, _ = np.histogram(ious, bins=IOU_EDGES)
    return pd.DataFrame({"lo": IOU_EDGES[:-1], "hi": IOU_EDGES[1:], "count": counts})


def check_threshold(score_threshold: Any, default: float) -> float:
    """``score_threshold`` as a float (``default`` for None); ``ValueError`` if not a number."""
    if score_threshold is None:
        return default
    try:
        value = float(score_threshold)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(score_threshold, (bool, str)) or math.isnan(value):
        raise ValueError(f"score_threshold must be a number; got {score_threshold!r}.")
    return value
