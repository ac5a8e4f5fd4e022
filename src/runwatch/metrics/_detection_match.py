"""COCO's matching and the confusion-matrix matching of many images at once, in numpy.

Both matchings are greedy: a detection takes the best free ground truth,
and the next detection sees what is left. The order that matters is only
within one image (and, for COCO, one category), so detection number ``r``
of every image is matched in one vectorized step, ``r = 0, 1, ...``: the
Python loop runs as many times as the most crowded image has detections,
not once per image and threshold (``_coco.match_image`` and
``_detection_confusion.kept_rows`` are the same rules one image at a
time, kept as the readable reference the tests hold this module to).

The input is a batch of images flattened: detections and ground truths with
the position of their image in the batch, and every (detection, ground
truth) pair of one image with its IoU (COCO's, crowd rule applied), sorted
by detection then ground truth. ``match_batch`` returns what
``DetectionMetrics`` keeps per detection (``_coco.match_image``'s keys, for
the whole batch) and each kept detection's confusion-matrix row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._coco import AREA_RANGES, in_range


@dataclass(frozen=True)
class Batch:
    """Images flattened: per detection, per ground truth and per pair of one image."""

    det_image: np.ndarray  # (D,) position of the image in the batch
    det_cats: np.ndarray  # (D,) class index
    det_scores: np.ndarray  # (D,) float64
    det_area: np.ndarray  # (D,) COCO's area of the detection (box w * h, mask pixels)
    gt_cats: np.ndarray  # (G,)
    gt_crowd: np.ndarray  # (G,) bool
    gt_area: np.ndarray  # (G,) float64
    pair_det: np.ndarray  # (P,) detection index, ascending
    pair_gt: np.ndarray  # (P,) ground-truth index, ascending within a detection
    pair_iou: np.ndarray  # (P,) float64


def image_pairs(
    det_image: np.ndarray, gt_image: np.ndarray, n_images: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every (detection, ground truth) pair of one image, sorted by detection then ground truth.

    Detections and ground truths must be grouped by image in ascending order
    (as concatenating the images gives them).
    """
    gt_per_image = np.bincount(gt_image, minlength=n_images)
    gt_first = np.r_[0, np.cumsum(gt_per_image)[:-1]]
    counts = gt_per_image[det_image]
    pair_det = np.repeat(np.arange(det_image.size), counts)
    within = np.arange(pair_det.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return pair_det, gt_first[det_image][pair_det] + within


def match_batch(
    batch: Batch,
    thresholds: np.ndarray,
    max_det: int,
    at_50: int,
    n_cats: int,
    table_iou: float,
) -> dict[str, Any]:
    """COCO's per-image evaluation of every image of ``batch``, and the confusion cells.

    Returns ``keep`` (detection indices grouped by image, then category,
    each group in score order and cut to ``max_det``), their ``rank`` within
    image and category, ``matched`` and ``ignored`` bits (n, A, T), ``iou``
    (of the match at ``at_50`` in area "all" with a non-crowd ground truth,
    else NaN), ``gt_count`` (n_cats, A) and ``cm_rows``: each kept
    detection's confusion-matrix row (``_detection_confusion``'s rule at
    ``table_iou``, every kept detection counted; background ``n_cats``, -1
    left out).
    """
    n_area = len(AREA_RANGES)
    gt_ignored = batch.gt_crowd[:, None] | ~in_range(batch.gt_area)  # (G, A)
    gt_count = np.bincount(
        (batch.gt_cats[:, None] * n_area + np.arange(n_area)[None, :])[~gt_ignored],
        minlength=n_cats * n_area,
    ).reshape(n_cats, n_area)
    # Stable: within an image and category, equal scores keep their input order.
    order = np.lexsort((-batch.det_scores, batch.det_cats, batch.det_image))
    rank = _rank_in_groups(batch.det_image[order], batch.det_cats[order])
    kept = rank < max_det
    keep, rank = order[kept], rank[kept]
    where = np.full(batch.det_cats.size, -1, np.int64)  # detection -> row of ``keep``
    where[keep] = np.arange(keep.size)
    pair_row = where[batch.pair_det]

    same = (pair_row >= 0) & (batch.det_cats[batch.pair_det] == batch.gt_cats[batch.pair_gt])
    match, match_iou = _coco_greedy(
        pair_row[same], batch.pair_gt[same], batch.pair_iou[same], rank,
        gt_ignored, batch.gt_crowd, thresholds,
    )  # fmt: skip
    hit = match >= 0
    det_out = ~in_range(batch.det_area[keep])  # (n, A)
    if batch.gt_cats.size:
        gt_ig = gt_ignored[np.maximum(match, 0), np.arange(n_area)[None, :, None]]
    else:
        gt_ig = np.zeros(match.shape, bool)
    ignored = np.where(hit, gt_ig, det_out[:, :, None])
    iou = np.full(keep.size, np.nan)
    m50 = match[:, 0, at_50]
    good = m50 >= 0
    good[good] = ~batch.gt_crowd[m50[good]]
    iou[good] = match_iou[good, 0, at_50]

    cm_rows = _confusion_rows(batch, keep, table_iou, n_cats)
    return {"keep": keep, "rank": rank, "matched": hit, "ignored": ignored, "iou": iou,
            "gt_count": gt_count, "cm_rows": cm_rows}  # fmt: skip


def _rank_in_groups(*keys: np.ndarray) -> np.ndarray:
    """Position of each row within its run of equal ``keys`` (rows sorted by them)."""
    n = keys[0].size
    if n == 0:
        return np.zeros(0, np.int64)
    new = np.zeros(n, bool)
    new[0] = True
    for key in keys:
        new[1:] |= key[1:] != key[:-1]
    first = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    return np.arange(n) - first


def _segments(owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts of the runs of equal ``owner`` (sorted) and each row's run number."""
    new = np.r_[True, owner[1:] != owner[:-1]]
    return np.flatnonzero(new), np.cumsum(new) - 1


def _coco_greedy(
    row: np.ndarray,
    gt: np.ndarray,
    iou: np.ndarray,
    rank: np.ndarray,
    gt_ignored: np.ndarray,
    gt_crowd: np.ndarray,
    thresholds: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The greedy matching of pycocotools at every area range and threshold: (n, A, T) gt or -1.

    ``row``/``gt``/``iou`` are the same-category pairs of kept detections
    (``row`` indexes ``rank``). Each detection, in rank order, takes among
    the ground truths at IoU >= ``min(t, 1 - 1e-10)`` not taken yet (crowd
    ones are never used up) the best non-ignored one, or if there is none
    the best ignored one; the last one given wins a tie (pycocotools' scan).
    Also returns the IoU of each match.
    """
    n, n_area, n_thr = rank.size, gt_ignored.shape[1], len(thresholds)
    match = np.full((n, n_area, n_thr), -1, np.int64)
    match_iou = np.zeros((n, n_area, n_thr))
    limits = np.minimum(thresholds, 1 - 1e-10)
    hits = iou >= limits.min()  # the others can never match
    row, gt, iou = row[hits], gt[hits], iou[hits]
    if not row.size:
        return match, match_iou
    by = np.lexsort((gt, row, rank[row]))
    row, gt, iou = row[by], gt[by], iou[by]
    taken = np.zeros((n_area, n_thr, gt_ignored.shape[0]), bool)
    bounds = np.searchsorted(rank[row], np.arange(rank[row].max() + 2))
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        if lo == hi:
            continue
        r, g, v = row[lo:hi], gt[lo:hi], iou[lo:hi]
        starts, seg = _segments(r)
        ign = gt_ignored[g].T[:, None, :]  # (A, 1, P)
        free = (~taken[:, :, g] | gt_crowd[g]) & (v >= limits[:, None])  # (A, T, P)
        plain = free & ~ign
        has_plain = np.logical_or.reduceat(plain, starts, axis=2)
        pool = np.where(has_plain[:, :, seg], plain, free & ign)
        value = np.where(pool, v, -1.0)
        best = np.maximum.reduceat(value, starts, axis=2)
        won = pool & (value == best[:, :, seg])
        pick = np.maximum.reduceat(np.where(won, np.arange(r.size), -1), starts, axis=2)
        a, t, s = np.nonzero(pick >= 0)
        chosen = pick[a, t, s]
        taken[a, t, g[chosen]] = True
        match[r[starts[s]], a, t] = g[chosen]
        match_iou[r[starts[s]], a, t] = v[chosen]
    return match, match_iou


def _confusion_rows(
    batch: Batch, keep: np.ndarray, threshold: float, background: int
) -> np.ndarray:
    """``_detection_confusion.kept_rows`` for every image of the batch, in ``keep``'s order.

    Per image, every kept detection in descending score (input order on
    ties) takes the free non-crowd ground truth of highest IoU >=
    ``threshold`` of its own class, else of any class (the first on ties):
    its row is that true class; unmatched ones are ``background``, or -1
    (left out) when they cover a crowd region of their class. All kept
    detections count: the matching is greedy in score order, so the rows of
    those scoring at least any ``t`` are what matching only them gives
    (``_detection_confusion.matrix_at``).
    """
    counted = keep[np.lexsort((keep, -batch.det_scores[keep], batch.det_image[keep]))]
    n_gt = batch.gt_cats.size
    det_row = np.full(batch.det_cats.size, background, np.int64)  # background unless matched
    if counted.size and n_gt:
        rank = np.full(batch.det_cats.size, -1, np.int64)
        rank[counted] = _rank_in_groups(batch.det_image[counted])
        use = (rank[batch.pair_det] >= 0) & (batch.pair_iou >= threshold)
        det, gt, iou = batch.pair_det[use], batch.pair_gt[use], batch.pair_iou[use]
        by = np.lexsort((gt, det, rank[det]))
        det, gt, iou = det[by], gt[by], iou[by]
        taken = batch.gt_crowd.copy()  # crowd regions are never taken
        own_class = batch.det_cats[det] == batch.gt_cats[gt]
        bounds = np.searchsorted(rank[det], np.arange((rank[det].max() if det.size else -1) + 2))
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            if lo == hi:
                continue
            d, g, v, own = det[lo:hi], gt[lo:hi], iou[lo:hi], own_class[lo:hi]
            starts, seg = _segments(d)
            free = ~taken[g]
            mine = free & own
            has_mine = np.logical_or.reduceat(mine, starts)
            pool = np.where(has_mine[seg], mine, free)
            value = np.where(pool, v, -1.0)
            best = np.maximum.reduceat(value, starts)
            won = pool & (value == best[seg])
            pick = np.minimum.reduceat(np.where(won, np.arange(d.size), d.size), starts)
            found = pick < d.size
            chosen = g[pick[found]]
            taken[chosen] = True
            det_row[d[starts[found]]] = batch.gt_cats[chosen]
            crowd_own = np.logical_or.reduceat(own & batch.gt_crowd[g], starts)
            det_row[d[starts[~found & crowd_own]]] = -1
    return det_row[keep]
