"""DetectionMetrics against pycocotools' COCOeval on random and tricky scenes, streamed, merged."""

from __future__ import annotations

import contextlib
import io
import math
import warnings

import numpy as np
import pytest
from pycocotools.coco import COCO  # the oracle, a test dependency (pyproject's test extra)
from pycocotools.cocoeval import COCOeval

from runwatch.metrics._coco import box_iou
from runwatch.metrics.detection import DETECTION_METRICS, DetectionMetrics

from .conftest import assert_same_state

STATS = DETECTION_METRICS[:12]  # pycocotools' stats, in its order


# ----------------------------------------------------------------- scenes
def random_image(rng, n_classes, kind):
    """One image: ground truth and detections as the engine takes them (xyxy)."""
    grid = kind in ("grid", "ties", "overlaps")
    n_gt = 0 if rng.random() < 0.15 else int(rng.integers(1, 9 if kind != "overlaps" else 14))
    size = np.exp(rng.uniform(np.log(2), np.log(260), size=(n_gt, 2)))
    corner = rng.uniform(0, 200 if kind == "overlaps" else 600, size=(n_gt, 2))
    gt = np.c_[corner, corner + size]
    if kind == "degenerate" and n_gt:
        flat = rng.random(n_gt) < 0.3
        gt[flat, 2] = gt[flat, 0]
    if grid:
        gt = np.round(gt * 4) / 4  # exact in binary: IoUs hit thresholds exactly
    gt_labels = rng.integers(0, n_classes, n_gt)
    crowd = (rng.random(n_gt) < (0.25 if kind == "crowd" else 0.05)).astype(int)
    if kind == "crowd" and n_gt >= 2:  # crowd regions around objects, as COCO's are
        group = rng.choice(n_gt, int(rng.integers(2, n_gt + 1)), replace=False)
        region = np.r_[gt[group, :2].min(axis=0), gt[group, 2:].max(axis=0)]
        at = int(rng.integers(0, n_gt + 1))
        gt = np.insert(gt, at, region, axis=0)
        gt_labels = np.insert(gt_labels, at, gt_labels[group[0]])
        crowd = np.insert(crowd, at, 1)
        n_gt += 1
    area = None
    if kind == "area" and n_gt:
        area = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1]) * rng.uniform(0.3, 1.5, n_gt)
    # detections: jittered copies of the ground truth (some relabelled) plus clutter
    copies = gt[rng.random(n_gt) < 0.8] if n_gt else np.zeros((0, 4))
    copies = np.repeat(copies, rng.integers(1, 3, len(copies)), axis=0)
    scale = (copies[:, 2:] - copies[:, :2]).repeat(2, axis=1) + 1
    copies = copies + rng.normal(0, 0.12, copies.shape) * scale
    n_clutter = int(rng.integers(0, 6))
    c_corner = rng.uniform(0, 600, (n_clutter, 2))
    clutter = np.c_[
        c_corner, c_corner + np.exp(rng.uniform(np.log(2), np.log(200), (n_clutter, 2)))
    ]
    det = np.r_[copies, clutter]
    if kind == "crowd" and n_gt:  # boxes inside the crowd regions, partly on objects
        inside = gt[rng.choice(n_gt, 3)]
        shrink = rng.uniform(0, 0.3, (3, 4)) * (inside[:, 2:] - inside[:, :2]).repeat(2, axis=1)
        det = np.r_[det, inside + shrink * [1, 1, -1, -1]]
    if rng.random() < 0.15:
        det = det[:0]
    det[:, 2:] = np.maximum(det[:, 2:], det[:, :2])
    if kind == "degenerate" and len(det):
        flat = rng.random(len(det)) < 0.3
        det[flat, 3] = det[flat, 1]
    if grid:
        det = np.round(det * 4) / 4
    source = gt_labels[rng.integers(0, max(n_gt, 1), len(det))] if n_gt else np.zeros(len(det), int)
    det_labels = np.where(rng.random(len(det)) < 0.75, source, rng.integers(0, n_classes, len(det)))
    if kind in ("ties", "grid"):
        scores = rng.choice([0.25, 0.5, 0.75, 0.9], len(det))
    else:
        scores = rng.random(len(det))
    if kind == "float32":
        scores = scores.astype(np.float32)
    return {
        "pred_boxes": det,
        "pred_scores": scores,
        "pred_labels": det_labels,
        "true_boxes": gt,
        "true_labels": gt_labels,
        "true_iscrowd": crowd,
        "true_area": area,
    }


def random_scene(rng, kind, n_images=None, n_classes=None):
    n_images = n_images or int(rng.integers(1, 25))
    n_classes = n_classes or int(rng.integers(1, 6))
    return [random_image(rng, n_classes, kind) for _ in range(n_images)]


# ----------------------------------------------------------------- oracle
def coco_eval(images, ids, labels, iou_thresholds=None, max_dets=(1, 10, 100)):
    """COCOeval (bbox) on the images, with image ``ids`` and categories ``labels``."""
    cat = {label: i + 1 for i, label in enumerate(labels)}
    gts, dets = [], []
    for image, image_id in zip(images, ids):
        area = image.get("true_area")
        crowd = image.get("true_iscrowd")
        for j, (box, label) in enumerate(zip(image["true_boxes"], image["true_labels"])):
            w, h = float(box[2] - box[0]), float(box[3] - box[1])
            gts.append(
                {
                    "id": len(gts) + 1,
                    "image_id": int(image_id),
                    "category_id": cat[label.item() if hasattr(label, "item") else label],
                    "bbox": [float(box[0]), float(box[1]), w, h],
                    "area": float(area[j]) if area is not None else w * h,
                    "iscrowd": int(crowd[j]) if crowd is not None else 0,
                }
            )
        for box, score, label in zip(
            image["pred_boxes"], image["pred_scores"], image["pred_labels"]
        ):
            dets.append(
                {
                    "image_id": int(image_id),
                    "category_id": cat[label.item() if hasattr(label, "item") else label],
                    "bbox": [
                        float(box[0]),
                        float(box[1]),
                        float(box[2] - box[0]),
                        float(box[3] - box[1]),
                    ],
                    "score": float(score),
                }
            )
    dataset = {
        "images": [{"id": int(i)} for i in ids],
        "categories": [{"id": c} for c in cat.values()],
        "annotations": gts,
    }
    return run_cocoeval(dataset, dets, "bbox", iou_thresholds, max_dets)


def run_cocoeval(dataset, dets, iou_type, iou_thresholds=None, max_dets=None):
    """pycocotools' COCOeval of ``dets`` on the ground truth ``dataset``, summarized quietly."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gt = COCO()
        gt.dataset = dataset
        gt.createIndex()
        if dets:
            dt = gt.loadRes(dets)
        else:
            dt = COCO()
            dt.dataset = {**dataset, "annotations": []}
            dt.createIndex()
        ev = COCOeval(gt, dt, iou_type)
        if iou_thresholds is not None:
            ev.params.iouThrs = np.asarray(iou_thresholds, float)
        if max_dets is not None:
            ev.params.maxDets = list(max_dets)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def coco_stats(ev) -> dict:
    return {name: (math.nan if v == -1 else float(v)) for name, v in zip(STATS, ev.stats)}


def coco_table(ev, labels, score_threshold, t=0):
    """Per class at IoU index ``t`` (0.5) and the score threshold: tp, fp, IoU sum; and AP."""
    k = len(labels)
    tp, fp, iou_sum = np.zeros(k), np.zeros(k), np.zeros(k)
    for e in ev.evalImgs:
        if e is None or e["aRng"] != ev.params.areaRng[0]:
            continue
        c = e["category_id"] - 1
        gt_ids = [g["id"] for g in ev._gts[e["image_id"], e["category_id"]]]
        ious = ev.ious[e["image_id"], e["category_id"]]
        for d, score in enumerate(e["dtScores"]):
            if score < score_threshold or e["dtIgnore"][t, d]:
                continue
            match = int(e["dtMatches"][t, d])
            if match:
                tp[c] += 1
                iou_sum[c] += ious[d, gt_ids.index(match)]
            else:
                fp[c] += 1
    precision = ev.eval["precision"][:, :, :, 0, -1]
    ap = np.array([np.nan if (p := precision[:, :, c]).min() < 0 else p.mean() for c in range(k)])
    ap50 = np.array([np.nan if (p := precision[t, :, c]).min() < 0 else p.mean() for c in range(k)])
    return tp, fp, iou_sum, ap, ap50


def feed(images, ids, rng, make, batch=False):
    """Feed the images in a random order to random workers; some round-trip; merge."""
    workers = [make() for _ in range(int(rng.integers(1, 4)))]
    order = rng.permutation(len(images))
    for i in order:
        w = workers[int(rng.integers(len(workers)))]
        image = {k: v for k, v in images[i].items() if v is not None}
        if batch and rng.random() < 0.5:
            w.update_batch(
                [{"boxes": image["pred_boxes"], "scores": image["pred_scores"],
                  "labels": image["pred_labels"]}],
                [{"boxes": image["true_boxes"], "labels": image["true_labels"],
                  "iscrowd": image["true_iscrowd"], "image_id": int(ids[i]),
                  **({"area": image["true_area"]} if "true_area" in image else {})}],
            )  # fmt: skip
        else:
            w.update(**image, image_id=int(ids[i]))
    for j, w in enumerate(workers):
        if rng.random() < 0.5:
            workers[j] = DetectionMetrics.from_state_dict(w.state_dict())
    rng.shuffle(workers)
    return workers[0].merge(*workers[1:])


def assert_like_coco(m, ev, labels, score_threshold=0.5, t50=0):
    got, want = m.compute(), coco_stats(ev)
    for name in STATS:
        if math.isnan(want[name]):
            assert math.isnan(got[name]), (name, got[name])
        else:
            assert got[name] == pytest.approx(want[name], abs=1e-9), name
    tp, fp, iou_sum, ap, ap50 = coco_table(ev, labels, score_threshold, t50)
    table = m.per_class()
    assert table.index.tolist() == list(labels)
    np.testing.assert_array_equal(table["tp"], tp)
    np.testing.assert_array_equal(table["fp"], fp)
    np.testing.assert_allclose(table["ap"], ap, atol=1e-9)
    np.testing.assert_allclose(table["ap_50"], ap50, atol=1e-9)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(table["mean_iou"], iou_sum / tp, rtol=1e-12)
    if tp.sum():
        assert got["mean_matched_iou"] == pytest.approx(iou_sum.sum() / tp.sum(), rel=1e-12)
    else:
        assert math.isnan(got["mean_matched_iou"])


def labels_of(images):
    seen = set()
    for image in images:
        seen.update(np.asarray(image["pred_labels"]).tolist())
        seen.update(np.asarray(image["true_labels"]).tolist())
    return sorted(seen)


# ------------------------------------------------------------------ tests
KINDS = ["random", "grid", "ties", "overlaps", "crowd", "degenerate", "area", "float32"]


@pytest.mark.parametrize("kind", KINDS)
def test_equals_pycocotools_streamed_in_random_order_and_merged(kind, rng):
    for trial in range(12):
        images = random_scene(rng, kind)
        ids = rng.choice(10_000, len(images), replace=False)
        labels = labels_of(images)
        if not labels:
            continue
        m = feed(images, ids, rng, DetectionMetrics, batch=trial % 2 == 1)
        assert m.labels == labels and m.n_images == len(images)
        assert_like_coco(m, coco_eval(images, ids, labels), labels)


def test_more_than_max_detections_per_image_and_class_equal_pycocotools(rng):
    images = []
    for _ in range(4):
        image = random_image(rng, 2, "ties")
        reps = int(rng.integers(120, 260))
        pick = rng.integers(0, max(len(image["pred_scores"]), 1), reps)
        if len(image["pred_scores"]) == 0:
            continue
        jitter = rng.normal(0, 2, (reps, 4))
        boxes = image["pred_boxes"][pick] + jitter
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2])
        image["pred_boxes"] = np.r_[image["pred_boxes"], boxes]
        image["pred_scores"] = np.r_[image["pred_scores"], rng.choice([0.1, 0.2, 0.6], reps)]
        image["pred_labels"] = np.r_[image["pred_labels"], image["pred_labels"][pick]]
        images.append(image)
    labels = labels_of(images)
    ids = rng.choice(100, len(images), replace=False)
    m = feed(images, ids, rng, DetectionMetrics)
    assert m.state_dict()["det_score"].size < sum(len(x["pred_scores"]) for x in images)
    assert_like_coco(m, coco_eval(images, ids, labels), labels)


def test_images_without_ids_follow_arrival_order_like_pycocotools(rng):
    for _ in range(5):
        images = random_scene(rng, "ties", n_images=12)
        labels = labels_of(images)
        chunks = np.split(np.arange(len(images)), np.sort(rng.integers(0, 12, 2)))
        parts = []
        for chunk in chunks:
            part = DetectionMetrics()
            for i in chunk:
                part.update(**{k: v for k, v in images[i].items() if v is not None})
            parts.append(part)
        m = parts[0].merge(*parts[1:])  # in order: the same as one pass
        assert_like_coco(m, coco_eval(images, np.arange(1, 13), labels), labels)


def stats_from_arrays(ev, averaged, t50, t75):
    """pycocotools' 12 stats read from its eval arrays (its summarize assumes maxDets[2] = 100)."""
    p, r = ev.eval["precision"], ev.eval["recall"]

    def mean(s):
        return float(np.mean(s[s > -1])) if np.any(s > -1) else math.nan

    out = {
        "mAP": mean(p[averaged][:, :, :, 0, -1]),
        "mAP_50": mean(p[t50][:, :, 0, -1]),
        "mAP_75": mean(p[t75][:, :, 0, -1]),
    }
    for a, area in enumerate(("small", "medium", "large"), start=1):
        out[f"mAP_{area}"] = mean(p[averaged][:, :, :, a, -1])
        out[f"mAR_{area}"] = mean(r[averaged][:, :, a, -1])
    for m, name in enumerate(("mAR_1", "mAR_10", "mAR_100")):
        out[name] = mean(r[averaged][:, :, 0, m])
    return out


def test_custom_thresholds_and_max_detections_equal_pycocotools(rng):
    thresholds = [0.3, 0.5, 0.62, 0.75, 0.9]
    for max_det in (2, 5, 20):
        images = random_scene(rng, "overlaps", n_images=10, n_classes=2)
        ids = rng.choice(1000, 10, replace=False)
        labels = labels_of(images)
        m = feed(
            images, ids, rng,
            lambda md=max_det: DetectionMetrics(iou_thresholds=thresholds, max_detections=md),
        )  # fmt: skip
        ev = coco_eval(images, ids, labels, thresholds, [1, min(10, max_det), max_det])
        want = stats_from_arrays(ev, list(range(5)), 1, 3)
        got = m.compute()
        for name in STATS:
            assert got[name] == pytest.approx(want[name], abs=1e-9, nan_ok=True), name
        ev.stats = [want[name] for name in STATS]
        assert_like_coco(m, ev, labels, t50=1)
        assert m.iou_thresholds.tolist() == thresholds


def test_mAP_50_and_75_exist_without_those_thresholds(rng):
    images = random_scene(rng, "random", n_images=8, n_classes=2)
    labels = labels_of(images)
    m = DetectionMetrics(iou_thresholds=[0.6, 0.8])
    for image in images:
        m.update(**{k: v for k, v in image.items() if v is not None})
    ev = coco_eval(images, range(1, 9), labels)
    assert m.compute()["mAP_50"] == pytest.approx(coco_stats(ev)["mAP_50"], abs=1e-9)
    assert m.compute()["mAP_75"] == pytest.approx(coco_stats(ev)["mAP_75"], abs=1e-9)
    ev = coco_eval(images, range(1, 9), labels, [0.6, 0.8])
    assert m.compute()["mAP"] == pytest.approx(coco_stats(ev)["mAP"], abs=1e-9)


def test_score_threshold_moves_only_the_table_and_matched_iou(rng):
    images = random_scene(rng, "random", n_images=15, n_classes=3)
    labels = labels_of(images)
    ev = coco_eval(images, range(15), labels)
    for threshold in (0.0, 0.3, 0.8, 2.0):
        m = feed(
            images, np.arange(15), rng, lambda t=threshold: DetectionMetrics(score_threshold=t)
        )
        assert_like_coco(m, ev, labels, score_threshold=threshold)


def test_given_string_labels_and_classes_without_ground_truth(rng):
    images = random_scene(rng, "random", n_images=10, n_classes=3)
    names = ["bus", "car", "person", "zebra"]  # zebra is never seen: no AP, left out of means
    for image in images:
        image["pred_labels"] = np.asarray(names)[image["pred_labels"]]
        image["true_labels"] = np.asarray(names)[image["true_labels"]]
    m = feed(images, np.arange(10), rng, lambda: DetectionMetrics(labels=names))
    ev = coco_eval(images, range(10), names)
    assert_like_coco(m, ev, names)
    assert math.isnan(m.per_class().loc["zebra", "ap"])


def test_threshold_one_uses_pycocotools_limit_of_one_minus_1e10():
    images = [
        {
            "pred_boxes": np.array([[0, 0, 1e6 - 1e-5, 1], [0, 0, 10, 10], [0, 0, 9, 10]]),
            "pred_scores": np.array([0.9, 0.8, 0.7]),
            "pred_labels": np.array([0, 1, 1]),
            "true_boxes": np.array([[0, 0, 1e6, 1], [0, 0, 10, 10]]),
            "true_labels": np.array([0, 1]),
        }
    ]
    m = DetectionMetrics(iou_thresholds=[0.5, 1.0])
    m.update(**images[0])
    ev = coco_eval(images, [1], [0, 1], [0.5, 1.0])
    got = m.compute()
    assert got["mAP"] == pytest.approx(coco_stats(ev)["mAP"], abs=1e-12) == 1.0


def test_update_batch_equals_update_and_takes_zero_d_ids(rng):
    images = random_scene(rng, "crowd", n_images=8)
    one, batch = DetectionMetrics(), DetectionMetrics()
    for i, image in enumerate(images):
        one.update(**{k: v for k, v in image.items() if v is not None}, image_id=np.array(i))
    batch.update_batch(
        [{"boxes": x["pred_boxes"], "scores": x["pred_scores"], "labels": x["pred_labels"]}
         for x in images],
        [{"boxes": x["true_boxes"], "labels": x["true_labels"], "iscrowd": x["true_iscrowd"],
          "image_id": np.int64(i)} for i, x in enumerate(images)],
    )  # fmt: skip
    assert_same_state(one.state_dict(), batch.state_dict())


def test_box_iou_is_the_plain_formula_with_degenerate_boxes(rng):
    corner = rng.uniform(0, 50, (300, 2))
    size = rng.uniform(0, 30, (300, 2)) * (rng.random((300, 2)) > 0.2)  # some zero widths
    boxes = np.c_[corner, corner + size]
    boxes[:20] = boxes[20:40]  # identical pairs
    got = box_iou(boxes[:150], boxes[150:])
    a, b = boxes[:150, None, :], boxes[None, 150:, :]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    union = area(a) + area(b) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        plain = np.where(union > 0, inter / union, 0.0)
    assert np.all(np.isfinite(got)) and np.all((got >= 0) & (got <= 1))
    np.testing.assert_allclose(got, plain, atol=1e-12)
    solid = (size[20:40] > 0).all(axis=1)
    np.testing.assert_allclose(np.diag(box_iou(boxes[:20], boxes[20:40]))[solid], 1.0)
    point = np.array([[5.0, 5.0, 5.0, 5.0]])
    assert box_iou(point, point)[0, 0] == 0.0  # zero area: 0, not NaN
    assert box_iou(np.zeros((0, 4)), boxes).shape == (0, 300)


def test_crowd_union_is_the_detection_area():
    det = np.array([[0.0, 0.0, 10.0, 10.0]])
    crowd = np.array([[0.0, 0.0, 100.0, 100.0]])
    assert box_iou(det, crowd, np.array([True]))[0, 0] == 1.0
    assert box_iou(det, crowd)[0, 0] == pytest.approx(0.01)


def test_a_hand_example_with_a_crowd_and_a_wrong_class():
    m = DetectionMetrics(labels=["cat", "dog"])
    m.update(
        pred_boxes=[[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 52, 52], [100, 100, 110, 110]],
        pred_scores=[0.9, 0.8, 0.7, 0.6],
        pred_labels=["cat", "cat", "dog", "dog"],
        true_boxes=[[0, 0, 10, 10], [20, 20, 30, 31], [40, 40, 60, 60], [200, 200, 210, 210]],
        true_labels=["cat", "dog", "dog", "dog"],
        true_iscrowd=[0, 0, 1, 0],
        image_id=7,
    )
    table = m.per_class()
    assert table.loc["cat", ["tp", "fp", "fn"]].tolist() == [1, 1, 0]
    assert table.loc["dog", ["tp", "fp", "fn", "support"]].tolist() == [0, 1, 2, 2]
    cm = m.confusion_matrix()
    assert cm.index.tolist() == ["cat", "dog", "background"] == cm.columns.tolist()
    # cat found; the second cat box is a dog; the box in the crowd is left out;
    # the last dog box is a false alarm; the far dog is missed.
    expected = [[1, 0, 0], [1, 0, 1], [0, 1, 0]]
    assert cm.to_numpy().tolist() == expected
    assert m.compute()["mean_matched_iou"] == 1.0
    assert m.confusion_matrix("true").loc["dog"].sum() == pytest.approx(1.0)


def test_confusion_prefers_a_ground_truth_of_the_detection_class():
    m = DetectionMetrics(score_threshold=0.0)
    m.update(
        pred_boxes=[[0, 0, 10, 10]],
        pred_scores=[0.9],
        pred_labels=["a"],
        true_boxes=[[0, 0, 10, 9], [0, 0, 10, 7]],  # IoU 0.9 with a "b", 0.7 with an "a"
        true_labels=["b", "a"],
    )
    cm = m.confusion_matrix()
    assert cm.loc["a", "a"] == 1 and cm.loc["b", "background"] == 1 and cm.loc["b", "a"] == 0
    m.update([[0, 0, 10, 10]], [0.9], ["a"], [[0, 0, 10, 9]], ["b"])  # no "a" there: off-diagonal
    assert m.confusion_matrix().loc["b", "a"] == 1


def brute_confusion(images, labels, score_threshold, max_det=100):
    """The documented confusion rule, written out with loops and the plain IoU."""
    k = len(labels)
    index = {label: i for i, label in enumerate(labels)}
    cm = np.zeros((k + 1, k + 1), int)

    def iou(a, b, crowd=False):
        iw = min(a[2], b[2]) - max(a[0], b[0])
        ih = min(a[3], b[3]) - max(a[1], b[1])
        if iw <= 0 or ih <= 0:
            return 0.0
        inter = iw * ih
        area_a = (a[2] - a[0]) * (a[3] - a[1])
        return inter / (area_a if crowd else area_a + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    for image in images:
        dets = []
        for c in set(np.asarray(image["pred_labels"]).tolist()):
            mine = [i for i, v in enumerate(image["pred_labels"]) if v == c]
            mine.sort(key=lambda i: -image["pred_scores"][i])
            dets += mine[:max_det]
        dets = [i for i in dets if image["pred_scores"][i] >= score_threshold]
        dets.sort(key=lambda i: (-image["pred_scores"][i], i))
        crowd = image.get("true_iscrowd")
        crowd = np.zeros(len(image["true_labels"]), int) if crowd is None else crowd
        free = [j for j in range(len(crowd)) if not crowd[j]]
        for d in dets:
            box, cat = image["pred_boxes"][d], image["pred_labels"][d]
            scored = [(iou(box, image["true_boxes"][j]), j) for j in free]
            scored = [(v, j) for v, j in scored if v >= 0.5]
            same = [(v, j) for v, j in scored if image["true_labels"][j] == cat]
            pool = same or scored
            if pool:
                best = max(v for v, _ in pool)
                j = next(j for v, j in pool if v == best)
                free.remove(j)
                cm[index[image["true_labels"][j]], index[cat]] += 1
            elif any(
                crowd[j] and image["true_labels"][j] == cat
                and iou(box, image["true_boxes"][j], crowd=True) >= 0.5
                for j in range(len(crowd))
            ):  # fmt: skip
                continue
            else:
                cm[k, index[cat]] += 1
        for j in free:
            cm[index[image["true_labels"][j]], k] += 1
    return cm


@pytest.mark.parametrize("kind", ["random", "overlaps", "crowd", "ties"])
def test_confusion_matrix_follows_its_documented_rule(kind, rng):
    for _ in range(4):
        images = random_scene(rng, kind, n_classes=3)
        labels = labels_of(images)
        threshold = float(rng.choice([0.0, 0.3, 0.6]))
        m = feed(
            images, np.arange(len(images)), rng,
            lambda t=threshold: DetectionMetrics(score_threshold=t),
        )  # fmt: skip
        cm = m.confusion_matrix().to_numpy()
        np.testing.assert_array_equal(cm, brute_confusion(images, labels, threshold))
        support = m.per_class()["support"].to_numpy()
        np.testing.assert_array_equal(cm[:-1].sum(axis=1), support)  # every object once


def test_empty_images_and_no_ground_truth_give_nan_with_reasons():
    m = DetectionMetrics()
    assert all(math.isnan(v) for v in m.compute().values())
    assert m.reasons()["mAP"] == "no images yet"
    m.update([], [], [], [], [], image_id=1)
    m.update(np.zeros((0, 4)), np.zeros(0), np.zeros(0), np.zeros((0, 4)), np.zeros(0))
    m.update([[0, 0, 5, 5]], [0.9], [3], [], [])  # a prediction, no ground truth
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = m.compute()
    assert all(math.isnan(v) for v in values.values())
    assert m.reasons()["mAP"] == "no ground truth yet"
    assert m.n_images == 3 and m.labels == [3]
    assert m.confusion_matrix().loc["background", 3] == 1
    m.update([], [], [], [[0, 0, 10, 10]], [3])  # a missed object
    assert m.compute()["mAP"] == 0.0 and m.compute()["mAR_100"] == 0.0
    assert m.compute()["mAP_small"] == 0.0  # 100 px² is small (< 32²)
    assert math.isnan(m.compute()["mAP_large"]) and "large" in m.reasons()["mAP_large"]
    m.reset()
    assert m.n_images == 0 and m.labels == []


BAD = [
    ({"pred_boxes": [[0, 0, 1]]}, "pred_boxes must have shape"),
    ({"pred_boxes": [[0, 0, np.nan, 1]]}, "pred_boxes contains NaN"),
    ({"pred_boxes": [[5, 0, 1, 1]]}, "pred_boxes row 0 has x2 < x1"),
    ({"true_boxes": [[0, 5, 1, 1]], "true_labels": [1]}, "true_boxes row 0"),
    ({"pred_scores": [0.5, 0.5]}, "pred_scores has 2 rows but pred_boxes has 1"),
    ({"pred_scores": [np.inf]}, "pred_scores contains NaN or infinite"),
    ({"pred_labels": []}, "pred_labels has 0 rows"),
    ({"true_labels": [1, 2]}, "true_labels has 2 rows"),
    ({"true_iscrowd": [2]}, "true_iscrowd must hold 0/1"),
    ({"true_iscrowd": [0, 1]}, "true_iscrowd has 2 rows"),
    ({"true_area": [-1.0]}, "true_area contains negative"),
    ({"true_area": [np.nan]}, "true_area contains NaN"),
    ({"image_id": "a"}, "image_id must be an int"),
    ({"image_id": 3}, "image_id 3 was already added"),
    ({"pred_labels": "a"}, "pred_labels must be an array"),
    ({"pred_boxes": "boxes"}, "pred_boxes must be an array"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_input_names_the_argument_and_changes_nothing(change, message):
    m = DetectionMetrics()
    m.update([[0, 0, 4, 4]], [0.8], [1], [[0, 0, 4, 5]], [1], image_id=3)
    before = m.state_dict()
    good = {
        "pred_boxes": [[1, 1, 3, 3]], "pred_scores": [0.7], "pred_labels": [2],
        "true_boxes": [[1, 1, 3, 4]], "true_labels": [2], "image_id": 9,
    }  # fmt: skip
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        m.update(**{**good, **change})
    assert_same_state(before, m.state_dict())
    m.update(**good)  # still usable
    assert m.n_images == 2


def test_bad_batches_and_labels_change_nothing():
    m = DetectionMetrics(labels=[1, 2])
    good_p = {"boxes": [[0, 0, 2, 2]], "scores": [0.5], "labels": [1]}
    good_t = {"boxes": [[0, 0, 2, 2]], "labels": [1]}
    m.update_batch([good_p], [good_t])
    before = m.state_dict()
    cases = [
        (([good_p], [good_t, good_t]), "preds has 1 images but targets has 2"),
        (([good_p, {"boxes": [[0, 0, 1, 1]]}], [good_t, good_t]), r"preds\[1\] has no 'scores'"),
        (([good_p, good_p], [good_t, {**good_t, "labels": [3]}]), r"targets\[1\]\['labels'\]"),
        (([good_p], [{**good_t, "boxes": [[3, 0, 2, 2]]}]), r"targets\[0\]\['boxes'\] row 0"),
        (([good_p], "t"), "targets must be a list of dicts"),
        (([good_p, good_p], [{**good_t, "image_id": 4}] * 2), r"image_id'\] 4 was already"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            m.update_batch(*args)
    with pytest.raises(ValueError, match="pred_labels has label 7, which is not one of labels"):
        m.update([[0, 0, 1, 1]], [0.5], [7], [], [])
    assert_same_state(before, m.state_dict())
    with pytest.raises(ValueError, match="mix label types"):
        DetectionMetrics().update([[0, 0, 1, 1]], [0.5], ["a"], [[0, 0, 1, 1]], [1])


def test_constructor_refuses_bad_arguments():
    for kwargs, message in [
        ({"labels": "cat"}, "labels must be a sequence"),
        ({"iou_thresholds": [0.5, 1.2]}, r"iou_thresholds must lie in \[0, 1\]"),
        ({"iou_thresholds": []}, "at least one"),
        ({"iou_thresholds": [0.5, 0.5]}, "duplicates"),
        ({"score_threshold": "0.5"}, "score_threshold must be a finite number"),
        ({"score_threshold": np.nan}, "score_threshold must be a finite number"),
        ({"max_detections": 0}, "max_detections must be an int >= 1"),
    ]:
        with pytest.raises(ValueError, match=message):
            DetectionMetrics(**kwargs)


def test_merge_refuses_shared_image_ids_and_unlike_metrics_and_mutates_nothing(rng):
    a, b = DetectionMetrics(), DetectionMetrics()
    a.update([[0, 0, 4, 4]], [0.8], [1], [[0, 0, 4, 5]], [1], image_id=3)
    b.update([[0, 0, 4, 4]], [0.8], [2], [[0, 0, 4, 5]], [2], image_id=3)
    before_a, before_b = a.state_dict(), b.state_dict()
    with pytest.raises(ValueError, match="image_id 3"):
        a.merge(b)
    with pytest.raises(ValueError, match="different arguments"):
        a.merge(DetectionMetrics(score_threshold=0.1))
    with pytest.raises(ValueError, match="other must be a DetectionMetrics"):
        a.merge(object())
    assert_same_state(before_a, a.state_dict())
    assert_same_state(before_b, b.state_dict())
    c = DetectionMetrics()
    c.update([[0, 0, 4, 4]], [0.8], [2], [[0, 0, 4, 5]], [2], image_id=4)
    before_c = c.state_dict()
    a.merge(c)
    assert_same_state(before_c, c.state_dict())
    assert a.labels == [1, 2] and a.n_images == 2
    with pytest.raises(ValueError, match="image_id 4"):
        a.update([], [], [], [], [], image_id=4)


def test_state_dict_is_plain_arrays_and_round_trips(rng):
    images = random_scene(rng, "crowd", n_images=6)
    m = DetectionMetrics(iou_thresholds=[0.5, 0.7], score_threshold=0.2, max_detections=7)
    for i, image in enumerate(images):
        m.update(**{k: v for k, v in image.items() if v is not None}, image_id=i * 10)
    state = m.state_dict()
    assert all(isinstance(v, np.ndarray) and v.dtype.kind != "O" for v in state.values())
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    loaded = dict(np.load(buffer))
    back = DetectionMetrics.from_state_dict(loaded)
    assert back.compute() == pytest.approx(m.compute(), nan_ok=True)
    assert back.confusion_matrix().equals(m.confusion_matrix())
    assert repr(back) == repr(m)
    with pytest.raises(ValueError, match="image_id 0"):
        back.update([], [], [], [], [], image_id=0)
    broken = {**state, "det_iou": state["det_iou"][:-1]} if state["det_iou"].size else None
    if broken is not None:
        with pytest.raises(ValueError, match="det_iou"):
            DetectionMetrics.from_state_dict(broken)


def test_the_state_keeps_no_boxes(rng):
    images = random_scene(rng, "random", n_images=20)
    m = DetectionMetrics()
    for image in images:
        m.update(**{k: v for k, v in image.items() if v is not None})
    n = sum(len(image["pred_scores"]) for image in images)
    per_det = sum(v.nbytes for k, v in m.state_dict().items() if k.startswith("det_")) / max(n, 1)
    assert per_det <= 48
