"""pycocotools' box evaluation, split into a per-image step and a per-category step.

COCO matches detections to ground truths within one image and one category,
so the matching runs as images arrive (``match_image`` for one image, the
reference; ``_detection_match`` for a batch, what the metric runs) and leaves a few numbers
per kept detection: its rank among the image's detections of its class, a
match bit and an ignore bit per (area range, IoU threshold), and the IoU of
its match at 0.5. ``accumulate`` then needs only those numbers and the count
of non-ignored ground truths per category and area range (notes/engine.md §5).

Every rule is pycocotools' (``COCOeval.evaluateImg`` / ``accumulate``,
``maskApi.c`` ``bbIou``), arithmetic included, so results agree to rounding:

- IoU on xywh boxes with ``w = x2 - x1`` (no +1); a crowd ground truth's
  union is the detection's area; no overlap (or zero area) gives 0;
- per image and category, detections sorted by ``-score`` with a stable sort
  and cut to ``max_detections``; ground truths ignored in the area range
  (crowd, or area outside it) sorted last;
- greedy matching in score order at ``IoU >= min(t, 1 - 1e-10)``: the best
  IoU wins (the last ground truth on ties), a matched non-crowd ground truth
  is skipped, a match to a non-ignored ground truth is never traded for an
  ignored one; a detection matched to an ignored ground truth, or unmatched
  with its area outside the range, is ignored;
- accumulation concatenates images in ascending image order, stable-sorts by
  ``-score`` and samples the right-to-left precision envelope at 101 recall
  points (``searchsorted(..., "left")``; recalls never reached give 0);
- ``stats`` averages, as ``summarize`` does, the entries above -1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: ``match_image``'s IoU source: kept detection indices -> (IoU with each ground truth, areas).
Overlap = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

#: COCO's area ranges (``Params.areaRng``): all, small, medium, large; bounds inclusive.
AREA_RANGES = np.array(
    [[0**2, 1e5**2], [0**2, 32**2], [32**2, 96**2], [96**2, 1e5**2]], dtype=np.float64
)
AREA_NAMES = ("all", "small", "medium", "large")

#: COCO's recall points (``Params.recThrs``): 0, 0.01, ..., 1.
RECALL_POINTS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)

#: COCO's IoU thresholds (``Params.iouThrs``): 0.50, 0.55, ..., 0.95, as pycocotools spells them.
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray, crowd_b: np.ndarray | None = None):
    """IoU of every box of ``boxes_a`` (rows) with every box of ``boxes_b`` (columns).

    Boxes are xyxy. Computed as pycocotools' ``bbIou`` does on xywh boxes
    (``w = x2 - x1``, right edge ``x1 + w``), so it equals the plain formula
    ``|A ∩ B| / |A ∪ B|`` up to rounding; no overlap, touching edges or a
    zero-area box give 0, never NaN. Where ``crowd_b`` is true the union is
    the area of the ``boxes_a`` box (COCO's crowd rule).
    """
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    aw, ah = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    iw = np.minimum((aw + a[:, 0])[:, None], (bw + b[:, 0])[None, :]) - np.maximum(
        a[:, 0][:, None], b[:, 0][None, :]
    )
    ih = np.minimum((ah + a[:, 1])[:, None], (bh + b[:, 1])[None, :]) - np.maximum(
        a[:, 1][:, None], b[:, 1][None, :]
    )
    overlap = (iw > 0) & (ih > 0)
    inter = np.where(overlap, iw * ih, 0.0)
    area_a = (aw * ah)[:, None]
    union = area_a + (bw * bh)[None, :] - inter
    if crowd_b is not None:
        union = np.where(np.asarray(crowd_b, bool)[None, :], area_a, union)
    out = np.zeros(inter.shape)
    np.divide(inter, union, out=out, where=overlap)
    return out


def pair_box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray, crowd_b: np.ndarray) -> np.ndarray:
    """``box_iou`` of row ``i`` of ``boxes_a`` with row ``i`` of ``boxes_b`` only: (n,).

    The same arithmetic, operation for operation, so the same floats.
    """
    a, b = boxes_a, boxes_b
    aw, ah = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    iw = np.minimum(aw + a[:, 0], bw + b[:, 0]) - np.maximum(a[:, 0], b[:, 0])
    ih = np.minimum(ah + a[:, 1], bh + b[:, 1]) - np.maximum(a[:, 1], b[:, 1])
    overlap = (iw > 0) & (ih > 0)
    inter = np.where(overlap, iw * ih, 0.0)
    area_a = aw * ah
    union = np.where(crowd_b, area_a, area_a + bw * bh - inter)
    out = np.zeros(inter.shape)
    np.divide(inter, union, out=out, where=overlap)
    return out


def greedy_match(
    ious: np.ndarray, ignore: np.ndarray, crowd: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """The greedy matching of pycocotools for one image, at every threshold.

    ``ious`` is (D, G), each category's detections in score order, with -1
    for pairs that may not match (different categories); returns (T, D)
    ground-truth indices (into the given order), -1 where unmatched.
    """
    n_det, n_gt = ious.shape
    out = np.full((len(thresholds), n_det), -1, np.int64)
    if n_det == 0 or n_gt == 0:
        return out
    limits = np.minimum(thresholds, 1 - 1e-10)
    order = np.argsort(ignore, kind="mergesort")  # ignored ground truths last
    ranked = ious[:, order]
    # Only ground truths at or above the lowest threshold can ever match; the
    # others would be skipped by pycocotools' "below the best so far" test.
    hits = ranked >= limits.min()
    if not hits.any():
        return out
    candidates: dict[int, list[tuple[int, float]]] = {}
    at_d, at_g = np.nonzero(hits)  # row-major: each row's columns in ground-truth order
    for d, j, value in zip(at_d.tolist(), at_g.tolist(), ranked[at_d, at_g].tolist()):
        candidates.setdefault(d, []).append((j, value))
    ignored = ignore[order].tolist()
    is_crowd = crowd[order].tolist()
    rows = sorted(candidates)
    for t, limit in enumerate(limits.tolist()):
        taken = [False] * n_gt
        for d in rows:
            best, best_iou = -1, limit
            for j, value in candidates[d]:
                if taken[j] and not is_crowd[j]:
                    continue
                if best > -1 and not ignored[best] and ignored[j]:
                    break
                if value < best_iou:
                    continue
                best, best_iou = j, value
            if best > -1:
                taken[best] = True
                out[t, d] = order[best]
    return out


def in_range(area: np.ndarray) -> np.ndarray:
    """(n, A): whether each area lies in each COCO area range (bounds inclusive)."""
    return (area[:, None] >= AREA_RANGES[None, :, 0]) & (area[:, None] <= AREA_RANGES[None, :, 1])


def box_overlap(det_boxes: np.ndarray, gt_boxes: np.ndarray, gt_crowd: np.ndarray) -> Overlap:
    """``match_image``'s ``overlap`` for boxes: COCO's box IoU, and w * h as the area."""

    def overlap(keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        boxes = det_boxes[keep]
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        return box_iou(boxes, gt_boxes, gt_crowd), area

    return overlap


def match_image(
    overlap: Overlap,
    det_scores: np.ndarray,
    det_cats: np.ndarray,
    gt_cats: np.ndarray,
    gt_crowd: np.ndarray,
    gt_area: np.ndarray,
    thresholds: np.ndarray,
    max_det: int,
    at_50: int,
    n_cats: int,
) -> dict[str, Any]:
    """COCO's per-image evaluation, reduced to what accumulation needs.

    Categories never match each other, so the whole image is matched at once
    with the IoU of pairs of different categories set to -1: detections go
    by category, then score, which keeps each category's own order, and the
    greedy scan only ever meets ground truths of the detection's category.

    ``overlap(keep)`` gives the IoU of the kept detections (indices into the
    input) with every ground truth, COCO's crowd rule applied, and their
    areas: boxes (``box_overlap``) or masks (``_masks``) alike.

    Returns the kept detections (``keep``: indices into the input, grouped by
    category, each group in score order and cut to ``max_det``), their
    ``rank`` within their category, ``matched`` and ``ignored`` bits of shape
    (n, A, T), ``iou`` (IoU of the match at threshold index ``at_50`` in area
    "all" with a non-crowd ground truth, else NaN), ``ious`` (kept × ground
    truth, COCO's IoU whatever the classes) and ``gt_count``: non-ignored
    ground truths per category and area range, (n_cats, A).
    """
    n_thr, n_area = len(thresholds), len(AREA_RANGES)
    gt_ignored = gt_crowd[:, None] | ~in_range(gt_area)  # (G, A)
    gt_count = np.bincount(
        (gt_cats[:, None] * n_area + np.arange(n_area)[None, :])[~gt_ignored],
        minlength=n_cats * n_area,
    ).reshape(n_cats, n_area)
    order = np.lexsort((-det_scores, det_cats))  # stable: ties keep their input order
    cats = det_cats[order]
    first = np.searchsorted(cats, cats, side="left")
    rank = np.arange(cats.size) - first
    kept = rank < max_det
    keep, rank = order[kept], rank[kept]
    n_det = keep.size
    ious, det_area = overlap(keep)
    same = ious if n_det == 0 else np.where(cats[kept][:, None] == gt_cats[None, :], ious, -1.0)
    det_out = ~in_range(det_area)  # (D, A)
    matched = np.zeros((n_det, n_area, n_thr), bool)
    ignored = np.zeros((n_det, n_area, n_thr), bool)
    done: dict[bytes, np.ndarray] = {}
    for a in range(n_area):
        ignore = gt_ignored[:, a]
        key = ignore.tobytes()
        if key not in done:
            done[key] = greedy_match(same, ignore, gt_crowd, thresholds).T  # (D, T)
        match = done[key]
        hit = match >= 0
        matched[:, a, :] = hit
        gt_ig = ignore[np.maximum(match, 0)] if ignore.size else np.zeros(match.shape, bool)
        ignored[:, a, :] = np.where(hit, gt_ig, det_out[:, a][:, None])
    iou = np.full(n_det, np.nan)
    if n_det and gt_cats.size:
        match50 = done[gt_ignored[:, 0].tobytes()][:, at_50]
        good = (match50 >= 0) & ~gt_crowd[np.maximum(match50, 0)]
        iou[good] = ious[np.flatnonzero(good), match50[good]]
    return {
        "keep": keep,
        "rank": rank,
        "matched": matched,
        "ignored": ignored,
        "iou": iou,
        "ious": ious,
        "gt_count": gt_count,
    }


def accumulate(
    cats: np.ndarray,
    scores: np.ndarray,
    image_key: tuple[np.ndarray, ...],
    rank: np.ndarray,
    matched: np.ndarray,
    ignored: np.ndarray,
    gt_count: np.ndarray,
    max_dets: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """COCO's ``accumulate``: precision (T, R, K, A) at the last max_det, recall (T, K, A, M).

    ``image_key`` orders images (most significant first), ``rank`` orders a
    detection within its image; ``gt_count`` is (K, A). Categories or area
    ranges without non-ignored ground truth hold -1, as in pycocotools.

    pycocotools loops over categories, area ranges and max_dets; here every
    category of one (area, max_det) is one segment of a single array, so a
    compute costs 12 vectorized passes instead of ~1,000 small ones for 80
    classes (the per-category loop is the reference of the tests).
    """
    n_cat, n_area = gt_count.shape
    n_thr = matched.shape[2]
    precision = -np.ones((n_thr, len(RECALL_POINTS), n_cat, n_area))
    recall = -np.ones((n_thr, n_cat, n_area, len(max_dets)))
    # pycocotools concatenates images in ascending id order, each in rank order,
    # then stable-sorts by -score: a lexsort on (category, -score, image, rank).
    order = np.lexsort((rank, *reversed(image_key), -scores, cats))
    for m, max_det in enumerate(max_dets):
        sel = order[rank[order] < max_det]
        seg = cats[sel].astype(np.int64)
        starts = np.searchsorted(seg, np.arange(n_cat + 1))
        sizes = np.diff(starts)
        for a in range(n_area):
            npig = gt_count[:, a].astype(np.int64)
            has = npig > 0
            if not has.any():
                continue
            hit = matched[sel, a, :].T  # (T, n)
            skip = ignored[sel, a, :].T
            tps = _segment_cumsum(hit & ~skip, starts, seg)
            last = np.maximum(starts[1:] - 1, 0)
            if sel.size:
                reached = np.where(sizes > 0, tps[:, last] / np.maximum(npig, 1), 0.0)
            else:
                reached = np.zeros((n_thr, n_cat))
            recall[:, has, a, m] = reached[:, has]
            if m == len(max_dets) - 1:
                fps = _segment_cumsum(~hit & ~skip, starts, seg)
                precision[:, :, has, a] = _segment_precision(tps, fps, starts, seg, npig)[:, :, has]
    return precision, recall


def _segment_cumsum(bits: np.ndarray, starts: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Per row, the running count of ``bits`` restarted at each segment, as floats.

    Whole numbers, so equal to a cumulative sum per segment (pycocotools').
    """
    running = np.cumsum(bits, axis=1, dtype=np.int64)
    before = np.concatenate([np.zeros((bits.shape[0], 1), np.int64), running], axis=1)
    return (running - before[:, starts[seg]]).astype(float)


def _segment_precision(
    tps: np.ndarray, fps: np.ndarray, starts: np.ndarray, seg: np.ndarray, npig: np.ndarray
) -> np.ndarray:
    """COCO's precision at the recall points of every segment (category) at once: (T, R, K).

    The right-to-left maximum restarts at each segment (a maximum is exact,
    so the values are pycocotools' bit for bit). The recall search runs on
    whole true-positive counts offset by row and segment: "``rc >= r``" is "``tp >= c``" for
    the least count ``c`` with ``c / npig >= r`` (the same division), and
    recalls never reached read 0, as in pycocotools.
    """
    n_thr, n = tps.shape
    n_cat = starts.size - 1
    out = np.zeros((n_thr, len(RECALL_POINTS), n_cat))
    if n == 0:
        return out
    pr = tps / (fps + tps + np.spacing(1))
    envelope = _segment_suffix_max(pr, seg)
    least = _least_counts(npig)
    block = n + 2  # tps <= n: keys of one (row, segment) stay below the next's
    offset = (np.arange(n_thr)[:, None] * n_cat + seg[None, :]) * block
    keys = (tps.astype(np.int64) + offset).ravel()
    # (T, K, R): ascending, so the search walks the keys once
    query = (np.arange(n_thr)[:, None, None] * n_cat + np.arange(n_cat)[None, :, None]) * block
    query = query + least[None, :, :]
    where = np.searchsorted(keys, query.ravel(), side="left").reshape(query.shape)
    where = where - np.arange(n_thr)[:, None, None] * n - starts[:-1][None, :, None]
    sizes = np.diff(starts)[None, :, None]
    inside = where < sizes
    column = starts[:-1][None, :, None] + np.clip(where, 0, np.maximum(sizes - 1, 0))
    rows = np.broadcast_to(np.arange(n_thr)[:, None, None], where.shape)
    column = np.minimum(column, n - 1)
    return np.where(inside, envelope[rows, column], 0.0).transpose(0, 2, 1)


def _segment_suffix_max(values: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Per row, the maximum of ``values`` from each entry to the end of its segment.

    A doubling scan: after the pass with shift ``s`` an entry holds the
    maximum over the next ``2 s`` entries of its segment (segments are
    contiguous, so "same segment ``s`` ahead" means every entry between is
    too): log2 of the longest segment passes over the array.
    """
    out = values.copy()
    n = seg.size
    shift = 1
    while shift < n:
        same = seg[:-shift] == seg[shift:]
        if not same.any():
            break
        ahead = np.where(same, out[:, shift:], -np.inf)
        np.maximum(out[:, :-shift], ahead, out=out[:, :-shift])
        shift *= 2
    return out


def _least_counts(npig: np.ndarray) -> np.ndarray:
    """(K, R): the least whole ``c`` with ``c / npig >= r`` for each recall point ``r``.

    pycocotools reads ``searchsorted(tp / npig, r, "left")``; ``tp / npig``
    grows with the whole count ``tp``, so the search is for this ``c``,
    found with the same float division (ceil, then corrected by one where
    rounding moved it). Zero where ``npig`` is 0 (never read).
    """
    count = np.maximum(npig, 1)[:, None].astype(np.float64)
    least = np.ceil(RECALL_POINTS[None, :] * count)
    for _ in range(2):
        least = np.where((least > 0) & ((least - 1) / count >= RECALL_POINTS), least - 1, least)
        least = np.where(least / count < RECALL_POINTS, least + 1, least)
    return least.astype(np.int64)


def summarize(values: np.ndarray) -> float:
    """COCO's ``_summarize``: the mean of the entries above -1; NaN (its -1) if none."""
    kept = values[values > -1]
    return float(np.mean(kept)) if kept.size else float("nan")


def stats(
    precision: np.ndarray, recall: np.ndarray, averaged: np.ndarray, at_50: int, at_75: int
) -> dict[str, float]:
    """COCO's ``summarize`` for boxes: pycocotools' 12 ``stats``, by runwatch's names.

    ``precision`` and ``recall`` are ``accumulate``'s (recall at max_dets
    1, 10 and the last); ``averaged`` indexes the thresholds that ``mAP``
    and ``mAR_*`` average over, ``at_50`` and ``at_75`` the thresholds 0.5
    and 0.75.
    """
    p_avg, r_avg = precision[averaged], recall[averaged]
    values = {
        "mAP": summarize(p_avg[..., 0]),
        "mAP_50": summarize(precision[at_50, :, :, 0]),
        "mAP_75": summarize(precision[at_75, :, :, 0]),
    }
    for a, area in enumerate(AREA_NAMES[1:], start=1):
        values[f"mAP_{area}"] = summarize(p_avg[..., a])
        values[f"mAR_{area}"] = summarize(r_avg[:, :, a, 2])
    for m, name in enumerate(("mAR_1", "mAR_10", "mAR_100")):
        values[name] = summarize(r_avg[:, :, 0, m])
    return values
