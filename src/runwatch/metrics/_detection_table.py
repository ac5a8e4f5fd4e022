"""The per-class table of ``DetectionMetrics``: counts at IoU 0.5 and the score threshold.

COCO's AP and AR use every kept detection. The table (``per_class``) and
``mean_matched_iou`` count only the detections scoring at least
``score_threshold``, matched as COCO matches at IoU 0.5 in area "all"; a
detection matched to a crowd region (COCO's ignored) counts as neither a
true nor a false positive. ``true_positives`` picks those hits;
``per_class_columns`` builds the table's columns from them and COCO's
precision array.
"""

from __future__ import annotations

import numpy as np


def true_positives(
    matched: np.ndarray, ignored: np.ndarray, scores: np.ndarray, score_threshold: float
) -> np.ndarray:
    """The detections the table counts as true positives (and ``mean_matched_iou`` averages)."""
    return matched & ~ignored & (scores >= score_threshold)


def per_class_columns(
    ap_precision: np.ndarray,
    ap_50_precision: np.ndarray,
    support: np.ndarray,
    cats: np.ndarray,
    scores: np.ndarray,
    ious: np.ndarray,
    matched: np.ndarray,
    ignored: np.ndarray,
    score_threshold: float,
) -> dict[str, np.ndarray]:
    """``per_class``' columns, in order, one row per class.

    ``ap_precision`` is COCO's precision (T, R, K) at the averaged thresholds
    and ``ap_50_precision`` (R, K) at 0.5, area "all" and the last max_det;
    ``support`` the non-crowd ground truths per class; ``cats``, ``scores``,
    ``ious``, ``matched`` and ``ignored`` one entry per kept detection (the
    bits at IoU 0.5, area "all").
    """
    k = support.size
    cats = cats.astype(np.int64)
    counted = (scores >= score_threshold) & ~ignored
    tp = np.bincount(cats[counted & matched], minlength=k)
    fp = np.bincount(cats[counted & ~matched], minlength=k)
    fn = support - tp
    hits = counted & matched
    iou_sum = np.bincount(cats[hits], weights=ious[hits], minlength=k)
    has_gt = support > 0
    return {
        "ap": np.where(has_gt, ap_precision.mean(axis=(0, 1)), np.nan),
        "ap_50": np.where(has_gt, ap_50_precision.mean(axis=0), np.nan),
        "precision": _ratio(tp, tp + fp, 0.0),
        "recall": _ratio(tp, support, 0.0),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn, 0.0),
        "mean_iou": _ratio(iou_sum, tp, np.nan),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "support": support,
        "predicted": tp + fp,
    }


def _ratio(num: np.ndarray, den: np.ndarray, empty: float) -> np.ndarray:
    """``num / den``, ``empty`` where ``den`` is 0."""
    num = np.asarray(num, np.float64)
    return np.divide(num, den, out=np.full(num.shape, empty), where=np.asarray(den) > 0)
