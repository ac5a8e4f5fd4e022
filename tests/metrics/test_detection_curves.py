"""DetectionMetrics' chart data against pycocotools: PR curves at IoU 0.5, matched-IoU histogram."""

from __future__ import annotations

import math

import numpy as np
import pytest

from runwatch.metrics.detection import DetectionMetrics
from runwatch.metrics.instance_segmentation import InstanceSegmentationMetrics

from . import test_instance_segmentation as segm
from .test_detection import KINDS, coco_eval, feed, labels_of, random_scene

EDGES = [0.5 + 0.05 * i for i in range(11)]


def coco_curves(ev, labels):
    """pycocotools' PR curve of each class with ground truth: precision[t=0.5, :, k, all, -1]."""
    out = {}
    for k, label in enumerate(labels):
        line = ev.eval["precision"][0, :, k, 0, -1]
        if line.min() > -1:
            out[label] = line
    return out


def coco_matched_ious(ev, score_threshold):
    """The IoU of each true positive at IoU 0.5, area all, from evalImgs and COCOeval.ious."""
    ious = []
    for e in ev.evalImgs:
        if e is None or e["aRng"] != ev.params.areaRng[0]:
            continue
        gts = ev._gts[e["image_id"], e["category_id"]]
        gt_ids = [g["id"] for g in gts]
        table = ev.ious[e["image_id"], e["category_id"]]
        for d, score in enumerate(e["dtScores"]):
            match = int(e["dtMatches"][0, d])
            if score < score_threshold or e["dtIgnore"][0, d] or not match:
                continue
            j = gt_ids.index(match)
            assert not gts[j]["iscrowd"]  # a crowd match is ignored, never a true positive
            ious.append(float(table[d, j]))
    return ious


def brute_histogram(ious):
    """Counts per bin [e_i, e_i+1), the last bin closed, by a plain scan."""
    counts = [0] * (len(EDGES) - 1)
    for v in ious:
        for i in range(len(counts)):
            last = i == len(counts) - 1
            if EDGES[i] <= v < EDGES[i + 1] or (last and v == EDGES[-1]):
                counts[i] += 1
                break
        else:
            raise AssertionError(f"a true positive's IoU {v} lies outside [0.5, 1]")
    return counts


def assert_curves_like_coco(m, ev, labels):
    pr = m.curves()["pr"]
    assert list(pr.columns) == ["curve", "label", "recall", "precision"]
    want = coco_curves(ev, labels)
    classes = pr[pr["curve"] == "class"]
    assert list(dict.fromkeys(classes["label"])) == list(want)  # label order, no-GT left out
    table = m.per_class()
    recall_points = np.linspace(0, 1, 101)
    for label, line in want.items():
        part = classes[classes["label"] == label]
        np.testing.assert_allclose(part["recall"], recall_points, atol=1e-15)
        np.testing.assert_allclose(part["precision"], line, atol=1e-12)
        # Its area is the class's AP50 (101-point): the curve is what the table scores.
        assert part["precision"].mean() == pytest.approx(table.loc[label, "ap_50"], abs=1e-12)
    macro = pr[pr["curve"] == "macro"]
    if want:
        np.testing.assert_allclose(
            macro["precision"], np.mean(list(want.values()), axis=0), atol=1e-12
        )
        assert macro["precision"].mean() == pytest.approx(m.compute()["mAP_50"], abs=1e-12)
    else:
        assert macro.empty and math.isnan(m.compute()["mAP_50"])


@pytest.mark.parametrize("kind", KINDS)
def test_pr_curves_equal_pycocotools_precision_at_iou_50(kind, rng):
    checked = 0
    for trial in range(10):
        images = random_scene(rng, kind)
        ids = rng.choice(10_000, len(images), replace=False)
        labels = labels_of(images)
        if not labels:
            continue
        m = feed(images, ids, rng, DetectionMetrics, batch=trial % 2 == 1)  # merged, reloaded
        assert_curves_like_coco(m, coco_eval(images, ids, labels), labels)
        checked += 1
    assert checked >= 6


def test_pr_curves_leave_out_class_gaps_and_read_zero_for_unfound_classes(rng):
    images = random_scene(rng, "crowd", n_images=12, n_classes=3)
    names = np.asarray(["bus", "car", "person", "zebra", "yak"])
    for image in images:  # "zebra" has only detections, "yak" nothing at all
        image["pred_labels"] = names[image["pred_labels"]]
        image["true_labels"] = names[image["true_labels"]]
        image["pred_labels"][: len(image["pred_labels"]) // 3] = "zebra"
    images.append({k: (np.zeros((0, 4)) if "boxes" in k else np.zeros(0, object))
                   for k in ("pred_boxes", "pred_scores", "pred_labels", "true_boxes",
                             "true_labels")})  # fmt: skip
    images[-1]["pred_scores"] = np.zeros(0)
    images[-1]["true_iscrowd"] = np.zeros(0, int)
    images[-1]["true_area"] = None
    labels = list(names)
    m = feed(images, np.arange(len(images)), rng, lambda: DetectionMetrics(labels=labels))
    ev = coco_eval(images, range(len(images)), labels)
    assert_curves_like_coco(m, ev, labels)
    shown = set(m.curves()["pr"]["label"])
    assert "zebra" not in shown and "yak" not in shown


def test_pr_curves_of_an_empty_metric_are_an_empty_table():
    pr = DetectionMetrics().curves()["pr"]
    assert pr.empty and list(pr.columns) == ["curve", "label", "recall", "precision"]


@pytest.mark.parametrize("kind", KINDS)
def test_matched_iou_histogram_equals_pycocotools_matches(kind, rng):
    for trial in range(8):
        images = random_scene(rng, kind)
        ids = rng.choice(10_000, len(images), replace=False)
        labels = labels_of(images)
        if not labels:
            continue
        threshold = float(rng.choice([0.0, 0.5, 0.8]))
        m = feed(images, ids, rng, lambda t=threshold: DetectionMetrics(score_threshold=t))
        ev = coco_eval(images, ids, labels)
        for t in (None, -np.inf, 0.3):
            used = threshold if t is None else t
            ious = coco_matched_ious(ev, used)
            hist = m.matched_iou_histogram(t)
            np.testing.assert_allclose(hist["lo"], EDGES[:-1], atol=1e-15)
            np.testing.assert_allclose(hist["hi"], EDGES[1:], atol=1e-15)
            assert hist["count"].tolist() == brute_histogram(ious), (kind, trial, t)
        # Its true positives are the table's: the counts add up to its tp, and the
        # histogram's values average to mean_matched_iou.
        hist = m.matched_iou_histogram()
        assert hist["count"].sum() == m.per_class()["tp"].sum()
        ious = coco_matched_ious(ev, threshold)
        if ious:
            assert m.compute()["mean_matched_iou"] == pytest.approx(np.mean(ious), rel=1e-12)


def test_matched_iou_histogram_survives_state_dict_and_merge(rng):
    images = random_scene(rng, "random", n_images=20, n_classes=3)
    one, parts = DetectionMetrics(), [DetectionMetrics(), DetectionMetrics()]
    for i, image in enumerate(images):
        image = {k: v for k, v in image.items() if v is not None}
        one.update(**image, image_id=i)
        parts[i % 2].update(**image, image_id=i)
    merged = DetectionMetrics.from_state_dict(parts[0].state_dict()).merge(parts[1])
    want = one.matched_iou_histogram()
    assert want["count"].sum() > 0
    assert merged.matched_iou_histogram().equals(want)
    assert DetectionMetrics.from_state_dict(one.state_dict()).matched_iou_histogram().equals(want)
    assert merged.curves()["pr"].equals(one.curves()["pr"])


@pytest.mark.parametrize("bad", ["0.5", float("nan"), None.__class__, True])
def test_matched_iou_histogram_refuses_a_threshold_that_is_not_a_number(bad):
    m = DetectionMetrics()
    with pytest.raises(ValueError, match="score_threshold must be a number"):
        m.matched_iou_histogram(bad)


def test_instance_segmentation_curves_and_histogram_equal_pycocotools_segm(rng):
    checked = 0
    for _ in range(8):
        images = segm.random_mask_scene(rng, "crowd")
        ids = rng.choice(10_000, len(images), replace=False)
        if not segm.labels_of(images):
            continue
        m = segm.feed(images, ids, rng)
        assert isinstance(m, InstanceSegmentationMetrics)
        ev, labels = segm.coco_eval_segm(images, ids)
        assert_curves_like_coco(m, ev, labels)
        ious = coco_matched_ious(ev, 0.5)
        assert m.matched_iou_histogram()["count"].tolist() == brute_histogram(ious)
        checked += 1
    assert checked >= 4


def coco_accumulate(cats, scores, images, rank, matched, ignored, gt_count, max_dets):
    """pycocotools' ``accumulate`` loops (cocoeval.py), one category, area and row at a time."""
    from runwatch.metrics._coco import RECALL_POINTS

    n_cat, n_area = gt_count.shape
    n_thr = matched.shape[2]
    precision = -np.ones((n_thr, len(RECALL_POINTS), n_cat, n_area))
    recall = -np.ones((n_thr, n_cat, n_area, len(max_dets)))
    for k in range(n_cat):
        for a in range(n_area):
            npig = int(gt_count[k, a])
            if npig == 0:
                continue
            for m, max_det in enumerate(max_dets):
                # images in ascending order, each in rank order, then a stable sort by -score
                idx = np.flatnonzero((cats == k) & (rank < max_det))
                idx = idx[np.lexsort((rank[idx], images[idx]))]
                idx = idx[np.argsort(-scores[idx], kind="mergesort")]
                hit, skip = matched[idx, a, :].T, ignored[idx, a, :].T
                tps = np.cumsum(hit & ~skip, axis=1).astype(float)
                fps = np.cumsum(~hit & ~skip, axis=1).astype(float)
                recall[:, k, a, m] = tps[:, -1] / npig if idx.size else 0.0
                if m != len(max_dets) - 1:
                    continue
                for t, (tp, fp) in enumerate(zip(tps, fps)):
                    rc = tp / npig
                    pr = (tp / (fp + tp + np.spacing(1))).tolist()
                    for i in range(len(tp) - 1, 0, -1):
                        if pr[i] > pr[i - 1]:
                            pr[i - 1] = pr[i]
                    inds = np.searchsorted(rc, RECALL_POINTS, side="left")
                    q = np.zeros(len(RECALL_POINTS))
                    for ri, pi in enumerate(inds):
                        if pi < len(pr):
                            q[ri] = pr[pi]
                    precision[t, :, k, a] = q
    return precision, recall


def test_accumulate_is_pycocotools_loops_bit_for_bit(rng):
    # Every category in one vectorized pass must give pycocotools' numbers
    # exactly: categories without detections or without ground truth, ties in
    # scores, rank cuts, empty inputs.
    from runwatch.metrics._coco import accumulate

    max_dets = (1, 10, 100)
    for trial in range(120):
        n_cat, n_thr, n_area = int(rng.integers(1, 12)), int(rng.integers(1, 11)), 4
        n = 0 if trial % 20 == 0 else int(rng.integers(1, 400))
        images = rng.integers(0, int(rng.integers(1, 30)), n)
        cats = rng.integers(0, n_cat, n)
        scores = np.round(rng.random(n), int(rng.integers(1, 4)))  # ties
        rank = np.zeros(n, np.int64)
        for key in set(zip(images.tolist(), cats.tolist())):
            mine = np.flatnonzero((images == key[0]) & (cats == key[1]))
            rank[mine] = rng.permutation(mine.size)
        hit = rng.random((n, n_area, n_thr)) < rng.random()
        skip = rng.random((n, n_area, n_thr)) < 0.1
        gt_count = rng.integers(0, 40, (n_cat, n_area)) * (rng.random((n_cat, n_area)) < 0.8)
        # a category never has more hits than ground truths: drop the surplus
        for k in range(n_cat):
            for a in range(n_area):
                mine = np.flatnonzero(cats == k)
                for t in range(n_thr):
                    good = mine[hit[mine, a, t] & ~skip[mine, a, t]]
                    hit[good[int(gt_count[k, a]) :], a, t] = False
        got = accumulate(cats, scores, (images,), rank, hit, skip, gt_count, max_dets)
        want = coco_accumulate(cats, scores, images, rank, hit, skip, gt_count, max_dets)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_least_counts_are_pycocotools_recall_search():
    # pycocotools: searchsorted(tp / npig, recThrs, "left") over every count tp.
    from runwatch.metrics._coco import RECALL_POINTS, _least_counts

    npig = np.arange(1, 3001)
    want = [np.searchsorted(np.arange(c + 1) / c, RECALL_POINTS, side="left") for c in npig]
    np.testing.assert_array_equal(_least_counts(npig), np.array(want))
