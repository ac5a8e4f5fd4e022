"""The detection confusion matrix: runwatch's rule, not pycocotools' (notes/engine.md §5).

COCO has no confusion matrix, so this module owns the one
``DetectionMetrics.confusion_matrix`` shows: ``kept_rows`` applies the
matching rule to every kept detection of one image, once, and ``matrix_at``
counts the cells of those scoring at least a threshold (any threshold, as
``DetectionMetrics.at_threshold`` does); ``relabel`` and ``normalized`` reshape the summed
(K + 1, K + 1) matrix, whose last row and column are the background. The
IoU it matches on is COCO's (``_coco.box_iou``), computed once per image
by ``_coco.match_image``.
"""

from __future__ import annotations

import numpy as np

#: The row and column of the confusion matrix for "no box there".
BACKGROUND = "background"


def kept_rows(
    keep: np.ndarray,
    ious: np.ndarray,
    scores: np.ndarray,
    pred_cats: np.ndarray,
    true_cats: np.ndarray,
    true_crowd: np.ndarray,
    *,
    background: int,
    threshold: float,
) -> np.ndarray:
    """The row of each of ``_coco.match_image``'s kept detections, when all of them count.

    ``keep`` and ``ious`` are its ``keep`` and ``ious``; ``scores`` and
    ``pred_cats`` cover every detection of the image. One row per kept
    detection, in ``keep``'s order: the true class it takes, ``background``,
    or -1 when it is left out (:func:`assign_rows`, input order breaking
    score ties). The matching is greedy in descending score, so a
    detection's row never depends on a lower-scored one: the rows of those
    scoring at least any ``t`` are the rows a matching of only them gives
    (:func:`matrix_at`).
    """
    order = np.argsort(keep, kind="stable")  # input order
    rows = assign_rows(
        ious[order], scores[keep[order]], pred_cats[keep[order]], true_cats, true_crowd,
        background=background, threshold=threshold,
    )  # fmt: skip
    out = np.empty_like(rows)
    out[order] = rows
    return out


def assign_rows(
    ious: np.ndarray,
    det_scores: np.ndarray,
    det_cats: np.ndarray,
    gt_cats: np.ndarray,
    gt_crowd: np.ndarray,
    background: int,
    threshold: float = 0.5,
) -> np.ndarray:
    """Each detection's row of one image's detection confusion matrix (-1: left out).

    ``ious`` is COCO's IoU (crowd columns: over the detection's area) of the
    detections to count (already cut by ``max_detections``), in input order.
    In descending score (stable), each takes the still-free non-crowd ground
    truth with the highest IoU ``>= threshold`` among those of its own class,
    else among all classes (ties: the first one given): row = that true
    class. A detection left unmatched is ``background`` unless it overlaps a
    crowd ground truth of its class at crowd IoU ``>= threshold``, which
    COCO ignores, so it is left out (-1). Ground truths no counted detection
    takes are missed: (true, background), :func:`matrix_at`.
    """
    order = np.argsort(-det_scores, kind="mergesort")
    over = ious[order] >= threshold  # (D, G)
    same = det_cats[order][:, None] == gt_cats[None, :]
    taken = gt_crowd.copy()  # crowd regions are never taken, nor counted as missed
    rows = np.full(det_scores.size, -1, np.int32)
    for i, d in enumerate(order.tolist()):
        free = over[i] & ~taken
        if free.any():
            pool = free & same[i]
            if not pool.any():
                pool = free
            j = int(np.argmax(np.where(pool, ious[d], -1.0)))
            taken[j] = True
            rows[d] = int(gt_cats[j])
        elif not np.any(over[i] & same[i] & gt_crowd):
            rows[d] = background
    return rows


def matrix_at(
    rows: np.ndarray,
    det_cats: np.ndarray,
    det_scores: np.ndarray,
    n_true: np.ndarray,
    score_threshold: float,
) -> np.ndarray:
    """The (K + 1, K + 1) matrix of the detections scoring at least ``score_threshold``.

    ``rows`` as :func:`kept_rows` gives them (``K`` is background, -1 left
    out), ``det_cats`` their predicted classes; ``n_true`` the non-crowd
    ground truths per class, each a row's total at any threshold: those no
    counted detection took are missed, (class, background).
    """
    k = n_true.size
    counted = (det_scores >= score_threshold) & (rows >= 0)
    cells = rows[counted].astype(np.int64) * (k + 1) + det_cats[counted].astype(np.int64)
    matrix = np.bincount(cells, minlength=(k + 1) ** 2).reshape(k + 1, k + 1)
    matrix[:k, k] = n_true - matrix[:k, :k].sum(axis=1)
    return matrix


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
