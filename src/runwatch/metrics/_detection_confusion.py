"""The detection confusion matrix: runwatch's rule, not pycocotools' (notes/engine.md §5).

COCO has no confusion matrix, so this module owns the one
``DetectionMetrics.confusion_matrix`` shows: ``image_cells`` picks the
detections it counts in one image and ``confusion_image`` applies the
matching rule to them; ``relabel`` and ``normalized`` reshape the summed
(K + 1, K + 1) matrix, whose last row and column are the background. The
IoU it matches on is COCO's (``_coco.box_iou``), computed once per image
by ``_coco.match_image``.
"""

from __future__ import annotations

import numpy as np


def image_cells(
    keep: np.ndarray,
    ious: np.ndarray,
    scores: np.ndarray,
    pred_cats: np.ndarray,
    true_cats: np.ndarray,
    true_crowd: np.ndarray,
    *,
    score_threshold: float,
    background: int,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Cells ``(true, predicted)`` of one image, from ``_coco.match_image``'s kept detections.

    ``keep`` and ``ious`` are its ``keep`` and ``ious``; ``scores`` and
    ``pred_cats`` cover every detection of the image. Counts the kept ones
    scoring at least ``score_threshold``, in input order.
    """
    counted = np.flatnonzero(scores[keep] >= score_threshold)
    counted = counted[np.argsort(keep[counted], kind="stable")]  # input order
    return confusion_image(
        ious[counted], scores[keep[counted]], pred_cats[keep[counted]],
        true_cats, true_crowd, background=background, threshold=threshold,
    )  # fmt: skip


def confusion_image(
    ious: np.ndarray,
    det_scores: np.ndarray,
    det_cats: np.ndarray,
    gt_cats: np.ndarray,
    gt_crowd: np.ndarray,
    background: int,
    threshold: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Cells ``(true, predicted)`` of one image's detection confusion matrix.

    ``ious`` is COCO's IoU (crowd columns: over the detection's area) of the
    detections to count (already cut by score and ``max_detections``), in
    input order. In descending score (stable), each takes the still-free
    non-crowd ground truth with the highest IoU ``>= threshold`` among those
    of its own class, else among all classes (ties: the first one given):
    cell (true class, predicted class). A detection left unmatched counts as
    (background, predicted) unless it overlaps a crowd ground truth of its
    class at crowd IoU ``>= threshold``, which COCO ignores, so it is left
    out. Ground truths left free count as (true, background).
    """
    order = np.argsort(-det_scores, kind="mergesort")
    over = ious[order] >= threshold  # (D, G)
    same = det_cats[order][:, None] == gt_cats[None, :]
    taken = gt_crowd.copy()  # crowd regions are never taken, nor counted as missed
    rows, cols = [], []
    for i, d in enumerate(order.tolist()):
        cat = int(det_cats[d])
        free = over[i] & ~taken
        if free.any():
            pool = free & same[i]
            if not pool.any():
                pool = free
            j = int(np.argmax(np.where(pool, ious[d], -1.0)))
            taken[j] = True
            rows.append(int(gt_cats[j]))
        elif np.any(over[i] & same[i] & gt_crowd):
            continue
        else:
            rows.append(background)
        cols.append(cat)
    missed = gt_cats[~taken]
    rows.extend(missed.tolist())
    cols.extend([background] * missed.size)
    return np.asarray(rows, np.int64), np.asarray(cols, np.int64)


def relabel(confmat: np.ndarray, where: np.ndarray, k: int) -> np.ndarray:
    """The matrix re-indexed to ``k`` classes, old class ``i`` now ``where[i]`` (a new array)."""
    cells = np.r_[where, k]  # background stays last
    out = np.zeros((k + 1, k + 1), np.int64)
    out[np.ix_(cells, cells)] = confmat
    return out


def normalized(confmat: np.ndarray, normalize: str | None) -> np.ndarray:
    """Counts (None), or rows (``"true"``), columns (``"pred"``) or all (``"all"``) summing to 1."""
    if normalize is None:
        return confmat
    axis = {"true": 1, "pred": 0, "all": None}.get(normalize, -1)
    if axis == -1:
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all'; got {normalize!r}.")
    cm = confmat.astype(np.float64)
    total = cm.sum(axis=axis, keepdims=axis is not None)
    return np.divide(cm, total, out=np.zeros_like(cm), where=total > 0)
