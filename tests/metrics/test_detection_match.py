"""The batch matcher (``_detection_match``) against the one-image reference rules, and in use.

``_coco.match_image`` (pycocotools' per-image evaluation, held to COCOeval
by test_detection) and ``_detection_confusion.kept_rows`` match one image
at a time; ``match_batch`` matches many at once, detection rank by rank.
On random scenes (crowds, tied scores, IoUs exactly on the thresholds,
degenerate boxes, given areas, small ``max_det``) every kept detection's
rank, match and ignore bits, matched IoU and confusion-matrix row must
be the reference's. Then ``DetectionMetrics`` matching its waiting images
every few images (not only when read) must still equal pycocotools.
"""

from __future__ import annotations

import numpy as np
import pytest

import runwatch.metrics.detection as detection_module
from runwatch.metrics import _coco
from runwatch.metrics import _detection_confusion as confusion
from runwatch.metrics._detection_match import Batch, image_pairs, match_batch
from runwatch.metrics.detection import DetectionMetrics

from .test_detection import assert_like_coco, coco_eval, feed, labels_of, random_image

KINDS = ["random", "grid", "ties", "overlaps", "crowd", "degenerate", "area"]
THRESHOLDS = np.unique(np.r_[_coco.COCO_IOU_THRESHOLDS, 0.5, 0.75])
AT_50 = int(np.searchsorted(THRESHOLDS, 0.5))


def scene(rng, kind, n_classes):
    images = [random_image(rng, n_classes, kind) for _ in range(int(rng.integers(1, 9)))]
    for image in images:
        gt = image["true_boxes"]
        if image["true_area"] is None:
            image["true_area"] = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1])
        image["true_iscrowd"] = np.asarray(image["true_iscrowd"], bool)
        image["pred_scores"] = np.asarray(image["pred_scores"], np.float64)
    return images


def reference(images, n_classes, max_det):
    """Each image matched alone by the reference rules, concatenated."""
    out, offset = [], 0
    for im in images:
        found = _coco.match_image(
            _coco.box_overlap(im["pred_boxes"], im["true_boxes"], im["true_iscrowd"]),
            im["pred_scores"], im["pred_labels"], im["true_labels"], im["true_iscrowd"],
            im["true_area"], THRESHOLDS, max_det, AT_50, n_classes,
        )  # fmt: skip
        rows = confusion.kept_rows(
            found["keep"], found["ious"], im["pred_scores"], im["pred_labels"],
            im["true_labels"], im["true_iscrowd"], background=n_classes, threshold=0.5,
        )  # fmt: skip
        out.append({**found, "keep": found["keep"] + offset, "cm_rows": rows})
        offset += len(im["pred_scores"])
    return out


def batched(images, n_classes, max_det):
    n_det = [len(im["pred_scores"]) for im in images]
    n_gt = [len(im["true_labels"]) for im in images]
    det_image = np.repeat(np.arange(len(images)), n_det)
    pair_det, pair_gt = image_pairs(det_image, np.repeat(np.arange(len(images)), n_gt), len(images))
    det = np.concatenate([im["pred_boxes"] for im in images])
    gt = np.concatenate([im["true_boxes"] for im in images])
    crowd = np.concatenate([im["true_iscrowd"] for im in images])
    batch = Batch(
        det_image, np.concatenate([im["pred_labels"] for im in images]),
        np.concatenate([im["pred_scores"] for im in images]),
        (det[:, 2] - det[:, 0]) * (det[:, 3] - det[:, 1]),
        np.concatenate([im["true_labels"] for im in images]), crowd,
        np.concatenate([im["true_area"] for im in images]),
        pair_det, pair_gt, _coco.pair_box_iou(det[pair_det], gt[pair_gt], crowd[pair_gt]),
    )  # fmt: skip
    return match_batch(batch, THRESHOLDS, max_det, AT_50, n_classes, 0.5)


@pytest.mark.parametrize("kind", KINDS)
def test_batch_matching_equals_matching_each_image_alone(kind, rng):
    for _ in range(25):
        n_classes = int(rng.integers(1, 5))
        max_det = int(rng.choice([1, 2, 3, 100]))
        images = scene(rng, kind, n_classes)
        want = reference(images, n_classes, max_det)
        got = batched(images, n_classes, max_det)
        for key in ("keep", "rank", "matched", "ignored", "cm_rows"):
            np.testing.assert_array_equal(got[key], np.concatenate([w[key] for w in want]), key)
        # The matched IoU is the same pair's IoU, so the same float (NaN where none).
        np.testing.assert_array_equal(got["iou"], np.concatenate([w["iou"] for w in want]))
        np.testing.assert_array_equal(got["gt_count"], sum(w["gt_count"] for w in want))


def test_pair_box_iou_is_box_iou_elementwise(rng):
    a = rng.uniform(0, 50, (200, 4))
    b = rng.uniform(0, 50, (200, 4))
    a[:, 2:] = a[:, :2] + np.abs(a[:, 2:] - a[:, :2]) * (rng.random((200, 1)) < 0.9)
    b[:, 2:] = b[:, :2] + np.abs(b[:, 2:] - b[:, :2])
    crowd = rng.random(200) < 0.3
    want = np.array([_coco.box_iou(a[i : i + 1], b[i : i + 1], crowd[i : i + 1])[0, 0]
                     for i in range(200)])  # fmt: skip
    np.testing.assert_array_equal(_coco.pair_box_iou(a, b, crowd), want)


@pytest.mark.parametrize("every", [1, 2, 5])
def test_images_matched_every_few_images_still_equal_pycocotools(every, rng, monkeypatch):
    monkeypatch.setattr(detection_module, "MATCH_EVERY", every)
    for kind in ("random", "crowd", "ties"):
        images = [random_image(rng, 3, kind) for _ in range(int(rng.integers(5, 20)))]
        ids = rng.choice(10_000, len(images), replace=False)
        labels = labels_of(images)
        if not labels:
            continue
        m = feed(images, ids, rng, DetectionMetrics)
        assert_like_coco(m, coco_eval(images, ids, labels), labels)


def test_a_read_between_updates_sees_every_image_so_far(rng):
    images = [random_image(rng, 2, "random") for _ in range(6)]
    m = DetectionMetrics()
    for i, image in enumerate(images):
        m.update(**{k: v for k, v in image.items() if v is not None}, image_id=i)
        want = sum(int((~np.asarray(im["true_iscrowd"], bool)).sum()) for im in images[: i + 1])
        assert int(m.per_class()["support"].sum()) == want
        assert int(m.confusion_matrix().iloc[:-1].to_numpy().sum()) == want
