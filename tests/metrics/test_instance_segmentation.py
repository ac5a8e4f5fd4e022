"""InstanceSegmentationMetrics against pycocotools' COCOeval(iouType="segm"), and the RLE decoder.

pycocotools is the oracle only: its ``mask.encode``/``decode``/``iou`` check
runwatch's numpy decoder and mask IoU, and COCOeval on generated scenes
(crowd regions, empty images and masks, tied scores, class gaps, given
areas) checks every one of the 12 stats, the per-class table and the matched
IoU, with the images streamed in random order to several workers, some given
as RLE dicts, some states round-tripped, then merged.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pycocotools import mask as mask_utils  # the oracle, a test dependency

from runwatch.metrics import InstanceSegmentationMetrics
from runwatch.metrics._masks import decode_counts, decode_rle, mask_iou

from .test_detection import assert_like_coco, run_cocoeval

# pycocotools 2.0's mask.decode passes copy=False to np.asarray (numpy 2 warns).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


# ----------------------------------------------------------------- scenes
def blob(rng, h, w):
    """One random object mask: a rectangle or an ellipse, sometimes with holes."""
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    ry, rx = np.exp(rng.uniform(0, np.log(max(h, 2) / 1.5), 2))
    if rng.random() < 0.5:
        mask = (np.abs(yy - cy) <= ry) & (np.abs(xx - cx) <= rx)
    else:
        mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    if rng.random() < 0.2:
        mask &= rng.random((h, w)) > 0.2
    return mask


def shifted(mask, dy, dx):
    """``mask`` moved by (dy, dx) pixels, zero-filled."""
    out = np.zeros_like(mask)
    h, w = mask.shape
    src = mask[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out


def random_mask_image(rng, classes, kind):
    """One image as ``InstanceSegmentationMetrics.update`` takes it (dense masks)."""
    h, w = (int(v) for v in rng.integers(6, 140, 2))
    n_gt = 0 if rng.random() < (0.4 if kind == "empty" else 0.15) else int(rng.integers(1, 7))
    gt = [blob(rng, h, w) for _ in range(n_gt)]
    gt_labels = list(rng.choice(classes, n_gt))
    crowd = [int(rng.random() < 0.05) for _ in range(n_gt)]
    if kind == "crowd" and n_gt >= 2:  # a crowd region covering some objects
        group = rng.choice(n_gt, int(rng.integers(2, n_gt + 1)), replace=False)
        region = np.any([gt[g] for g in group], axis=0) | blob(rng, h, w)
        at = int(rng.integers(0, n_gt + 1))
        gt.insert(at, region)
        gt_labels.insert(at, gt_labels[group[0]])
        crowd.insert(at, 1)
    dets, det_labels = [], []
    for mask, label in zip(gt, gt_labels):
        for _ in range(int(rng.integers(0, 3))):
            d = shifted(mask, *(int(v) for v in rng.integers(-3, 4, 2)))
            if rng.random() < 0.3:
                d = d | blob(rng, h, w)
            dets.append(d)
            det_labels.append(label if rng.random() < 0.8 else rng.choice(classes))
    for _ in range(int(rng.integers(0, 4))):
        dets.append(blob(rng, h, w) if rng.random() < 0.8 else np.zeros((h, w), bool))
        det_labels.append(rng.choice(classes))
    if kind == "empty" and rng.random() < 0.3:
        dets, det_labels = [], []
    if kind == "ties":
        scores = rng.choice([0.25, 0.5, 0.75], len(dets))
    else:
        scores = rng.random(len(dets))
    true_masks = np.array(gt, bool).reshape(len(gt), h, w)
    area = None
    if kind == "area" and n_gt:
        area = true_masks.sum(axis=(1, 2)) * rng.uniform(0.3, 1.5, len(gt))
    return {
        "pred_masks": np.array(dets, bool).reshape(len(dets), h, w),
        "pred_scores": scores,
        "pred_labels": np.array(det_labels, dtype=np.asarray(classes).dtype),
        "true_masks": true_masks,
        "true_labels": np.array(gt_labels, dtype=np.asarray(classes).dtype),
        "true_iscrowd": np.array(crowd, int),
        "true_area": area,
    }


def random_mask_scene(rng, kind, n_images=None):
    """Images whose classes come from a list with gaps (some never appear)."""
    if kind == "gaps":
        classes = ["cat", "dog", "eel", "fox", "gnu"][: int(rng.integers(2, 6))]
    else:
        classes = sorted(rng.choice(20, int(rng.integers(1, 5)), replace=False).tolist())
    n_images = n_images or int(rng.integers(1, 14))
    return [random_mask_image(rng, classes, kind) for _ in range(n_images)]


def encode(masks):
    """pycocotools' RLE dicts of (n, H, W) masks (compressed counts, as bytes)."""
    return mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))


# ----------------------------------------------------------------- oracle
def coco_eval_segm(images, ids):
    """COCOeval with iouType="segm" on the images (image ``ids``), categories = labels seen."""
    labels = labels_of(images)
    cat = {label: i + 1 for i, label in enumerate(labels)}
    gts, dets, infos = [], [], []
    for image, image_id in zip(images, ids):
        h, w = image["true_masks"].shape[1:] if len(image["true_masks"]) else (1, 1)
        if len(image["pred_masks"]):
            h, w = image["pred_masks"].shape[1:]
        infos.append({"id": int(image_id), "height": int(h), "width": int(w)})
        rles = encode(image["true_masks"]) if len(image["true_masks"]) else []
        for j, rle in enumerate(rles):
            area = image["true_area"]
            gts.append(
                {
                    "id": len(gts) + 1,
                    "image_id": int(image_id),
                    "category_id": cat[_plain(image["true_labels"][j])],
                    "segmentation": rle,
                    "area": float(area[j]) if area is not None else float(mask_utils.area(rle)),
                    "iscrowd": int(image["true_iscrowd"][j]),
                    "bbox": list(mask_utils.toBbox(rle)),
                }
            )
        drles = encode(image["pred_masks"]) if len(image["pred_masks"]) else []
        for j, rle in enumerate(drles):
            dets.append(
                {
                    "image_id": int(image_id),
                    "category_id": cat[_plain(image["pred_labels"][j])],
                    "segmentation": rle,
                    "score": float(image["pred_scores"][j]),
                }
            )
    dataset = {
        "images": infos,
        "categories": [{"id": c} for c in cat.values()],
        "annotations": gts,
    }
    return run_cocoeval(dataset, dets, "segm"), labels


def _plain(label):
    return label.item() if hasattr(label, "item") else label


def labels_of(images):
    seen = set()
    for image in images:
        seen.update(_plain(v) for v in image["pred_labels"])
        seen.update(_plain(v) for v in image["true_labels"])
    return sorted(seen)


def feed(images, ids, rng):
    """Feed the images in a random order to random workers (dense or RLE); merge."""
    workers = [InstanceSegmentationMetrics() for _ in range(int(rng.integers(1, 4)))]
    for i in rng.permutation(len(images)):
        w = workers[int(rng.integers(len(workers)))]
        image = {k: v for k, v in images[i].items() if v is not None}
        if rng.random() < 0.5:
            pred, true = image["pred_masks"], image["true_masks"]
            as_rle = rng.random() < 0.5
            target = {
                "masks": encode(true) if as_rle and len(true) else true,
                "labels": image["true_labels"],
                "iscrowd": image["true_iscrowd"],
                "image_id": int(ids[i]),
            }
            if "true_area" in image:
                target["area"] = image["true_area"]
            w.update_batch(
                [{"masks": encode(pred) if as_rle and len(pred) else pred,
                  "scores": image["pred_scores"], "labels": image["pred_labels"]}],
                [target],
            )  # fmt: skip
        else:
            w.update(**image, image_id=int(ids[i]))
    for j, w in enumerate(workers):
        if rng.random() < 0.5:
            workers[j] = InstanceSegmentationMetrics.from_state_dict(w.state_dict())
    rng.shuffle(workers)
    return workers[0].merge(*workers[1:])


# ------------------------------------------------------------------ tests
KINDS = ["random", "ties", "crowd", "empty", "gaps", "area"]


@pytest.mark.parametrize("kind", KINDS)
def test_equals_pycocotools_segm_on_every_stat_streamed_and_merged(kind, rng):
    checked = 0
    for _ in range(10):
        images = random_mask_scene(rng, kind)
        ids = rng.choice(10_000, len(images), replace=False)
        if not labels_of(images):
            continue
        m = feed(images, ids, rng)
        ev, labels = coco_eval_segm(images, ids)
        assert m.labels == labels and m.n_images == len(images)
        assert_like_coco(m, ev, labels)
        checked += 1
    assert checked >= 5


def test_the_stats_are_not_the_box_stats():
    # Two L-shaped masks whose boxes coincide but whose pixels barely overlap:
    # box IoU 1, mask IoU well below 0.5, so a box engine would score 1.
    truth = np.zeros((1, 10, 10), bool)
    truth[0, :, :2] = truth[0, -2:, :] = True
    found = np.zeros((1, 10, 10), bool)
    found[0, :2, :] = found[0, :, -2:] = True
    m = InstanceSegmentationMetrics()
    m.update(found, [0.9], [1], truth, [1])
    ev, _ = coco_eval_segm(
        [{"pred_masks": found, "pred_scores": [0.9], "pred_labels": np.array([1]),
          "true_masks": truth, "true_labels": np.array([1]),
          "true_iscrowd": np.array([0]), "true_area": None}],
        [1],
    )  # fmt: skip
    assert ev.stats[0] == 0.0 and m.compute()["mAP"] == 0.0
    assert m.per_class().loc[1, "fp"] == 1


def test_decoder_equals_pycocotools_on_compressed_and_list_counts(rng):
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(1, 300, 2))
        masks = np.array([blob(rng, h, w) for _ in range(int(rng.integers(1, 4)))])
        if rng.random() < 0.2:
            masks[0] = rng.random((h, w)) < 0.5  # many short runs
        if rng.random() < 0.1:
            masks[0] = False
        for mask, rle in zip(masks, encode(masks)):
            want = mask_utils.decode(rle).astype(bool)
            assert np.array_equal(want, mask)
            assert np.array_equal(decode_rle(rle, "m"), want)
            as_text = {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
            assert np.array_equal(decode_rle(as_text, "m"), want)
            runs = np.diff(np.flatnonzero(np.diff(np.r_[2, mask.T.ravel(), 2])))
            if mask.T.ravel()[0]:
                runs = np.r_[0, runs]
            listed = {"size": [h, w], "counts": runs.tolist()}
            ref = mask_utils.decode(mask_utils.frPyObjects(listed, h, w)).astype(bool)
            assert np.array_equal(decode_rle(listed, "m"), ref)


def test_decoder_reads_long_counts_and_negative_deltas():
    # A 2000 x 1500 image: counts above 2**16 (four 5-bit groups) and deltas of both signs.
    mask = np.zeros((2000, 1500), bool)
    mask[:, 700:701] = True
    mask[5:1995, 1000:1400] = True
    mask[:3, 2] = True
    rle = encode(mask[None])[0]
    assert np.array_equal(decode_counts(rle["counts"]), _runs_of(mask))
    assert np.array_equal(decode_rle(rle, "m"), mask_utils.decode(rle).astype(bool))


def _runs_of(mask):
    flat = mask.T.ravel().astype(np.int8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.r_[0, edges, flat.size])
    return np.r_[0, runs] if flat[0] else runs


def test_mask_iou_equals_pycocotools_crowd_and_empty_masks_included(rng):
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(1, 80, 2))
        det = np.array([blob(rng, h, w) for _ in range(int(rng.integers(1, 6)))])
        gt = np.array([blob(rng, h, w) for _ in range(int(rng.integers(1, 6)))])
        det[rng.random(len(det)) < 0.15] = False
        gt[rng.random(len(gt)) < 0.15] = False
        crowd = (rng.random(len(gt)) < 0.4).astype(np.uint8)
        want = np.asarray(mask_utils.iou(encode(det), encode(gt), crowd.tolist()))
        got = mask_iou(det, gt, crowd.astype(bool))
        np.testing.assert_array_equal(got, want.reshape(got.shape))


def test_the_state_keeps_no_masks(rng):
    images = random_mask_scene(rng, "random", n_images=6)
    m = InstanceSegmentationMetrics()
    for image in images:
        m.update(**{k: v for k, v in image.items() if v is not None})
    state = m.state_dict()
    pixels = sum(image["pred_masks"].size + image["true_masks"].size for image in images)
    n_det = state["det_label"].size
    per_det = sum(v.nbytes for k, v in state.items() if k.startswith("det_")) / max(n_det, 1)
    assert per_det < 48, per_det
    assert sum(v.nbytes for v in state.values()) < pixels / 8
    assert str(state["kind"]) == "instance_segmentation"


BAD = [
    (lambda a: a.update(pred_masks=np.zeros((2, 5, 5), bool)), "pred_scores has 1 rows but pred_m"),
    (lambda a: a.update(pred_masks=np.zeros((1, 6, 5), bool)), "pred_masks has masks of size 6x5"),
    (lambda a: a.update(pred_masks=np.full((1, 5, 5), 2)), "pred_masks must hold booleans"),
    (lambda a: a.update(true_masks=np.zeros((5, 5), bool)), "true_masks must have shape"),
    (lambda a: a.update(pred_scores=[math.nan]), "pred_scores"),
    (lambda a: a.update(true_masks=[{"size": [5, 5], "counts": [3, 2]}]), "true_masks\\[0\\]"),
    (lambda a: a.update(true_masks=[{"size": [5, 5], "counts": "00{"}]), "true_masks\\[0\\]"),
    (lambda a: a.update(true_masks={"size": [5, 5], "counts": [25]}), "true_masks must be a list"),
]


def _good_image():
    truth = np.zeros((1, 5, 5), bool)
    truth[0, 1:4, 1:4] = True
    return {"pred_masks": truth.copy(), "pred_scores": [0.7], "pred_labels": [1],
            "true_masks": truth, "true_labels": [1]}  # fmt: skip


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_input_names_the_argument_and_changes_nothing(change, message):
    m = InstanceSegmentationMetrics()
    m.update(**_good_image(), image_id=1)
    before = m.state_dict()

    class Call:
        def update(self, **changed):
            m.update(**{**_good_image(), **changed})

    with pytest.raises(ValueError, match=message):
        change(Call())
    after = m.state_dict()
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_a_bad_image_in_a_batch_adds_no_image():
    m = InstanceSegmentationMetrics()
    good = _good_image()
    pred = {"masks": good["pred_masks"], "scores": [0.7], "labels": [1]}
    target = {"masks": good["true_masks"], "labels": [1]}
    wrong = {"masks": np.zeros((1, 4, 4), bool), "labels": [1]}
    with pytest.raises(ValueError, match=r"preds\[1\]\['masks'\] has masks of size 5x5"):
        m.update_batch([pred, pred], [target, wrong])
    assert m.n_images == 0
    with pytest.raises(ValueError, match=r"targets\[0\] has no 'masks' entry"):
        m.update_batch([pred], [{"boxes": [[0, 0, 1, 1]], "labels": [1]}])


def test_box_and_mask_states_do_not_load_as_each_other(rng):
    from runwatch.metrics import DetectionMetrics

    m = InstanceSegmentationMetrics()
    m.update(**_good_image())
    with pytest.raises(ValueError, match="instance_segmentation state, not a detection one"):
        DetectionMetrics.from_state_dict(m.state_dict())


# ------------------------------------------- masks kept as runs, boxes first
def edge_masks(rng, h, w, n):
    """Masks where box-first IoU could go wrong: empty, one pixel, lines and masks on the border."""
    out = []
    for _ in range(n):
        mask = np.zeros((h, w), bool)
        kind = int(rng.integers(0, 7))
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        if kind == 1:
            mask[y, x] = True  # one pixel
        elif kind == 2:
            mask[:, x] = True  # a full column: one run from the top to the bottom edge
        elif kind == 3:
            mask[y, :] = True  # a full row: one-pixel runs in every column
        elif kind == 4:
            mask[[0, -1], :] = mask[:, [0, -1]] = True  # the frame: every border
        elif kind == 5:
            mask = blob(rng, h, w)
            mask[: int(rng.integers(1, h + 1)), -int(rng.integers(1, w + 1)) :] = True  # a corner
        elif kind == 6:
            mask = blob(rng, h, w)
        out.append(mask)
    return np.array(out, bool).reshape(n, h, w)


def test_run_masks_iou_area_and_box_equal_pycocotools_without_decoding(rng):
    from runwatch.metrics._mask_runs import RunMasks
    from runwatch.metrics._masks import check_masks

    for _ in range(60):
        h, w = (int(v) for v in rng.integers(1, 60, 2))
        det = edge_masks(rng, h, w, int(rng.integers(1, 7)))
        gt = edge_masks(rng, h, w, int(rng.integers(1, 7)))
        crowd = (rng.random(len(gt)) < 0.4).astype(np.uint8)
        det_rle, gt_rle = encode(det), encode(gt)
        runs_det = check_masks("pred_masks", det_rle, None)
        runs_gt = check_masks("true_masks", gt_rle, (h, w))
        assert isinstance(runs_det, RunMasks) and isinstance(runs_gt, RunMasks)
        want = np.asarray(mask_utils.iou(det_rle, gt_rle, crowd.tolist()))
        want = want.reshape(len(det), len(gt))
        np.testing.assert_array_equal(mask_iou(runs_det, runs_gt, crowd.astype(bool)), want)
        np.testing.assert_array_equal(mask_iou(det, gt, crowd.astype(bool)), want)
        np.testing.assert_array_equal(runs_det.area(), mask_utils.area(det_rle))
        row0, row1, col0, col1 = runs_det.boxes().T
        empty = row0 < 0
        x, y, bw, bh = np.asarray(mask_utils.toBbox(det_rle)).T
        assert np.array_equal(empty, bw == 0)
        np.testing.assert_array_equal(np.c_[col0, row0, col1 - col0 + 1, row1 - row0 + 1][~empty],
                                      np.c_[x, y, bw, bh][~empty])  # fmt: skip
        assert np.array_equal(runs_det.dense(), det)


def test_dense_and_rle_masks_mix_in_one_image_and_equal_pycocotools(rng):
    checked = 0
    for _ in range(8):
        images = random_mask_scene(rng, "crowd")
        ids = rng.choice(10_000, len(images), replace=False)
        if not labels_of(images):
            continue
        m = InstanceSegmentationMetrics()
        for image, image_id in zip(images, ids):
            image = {k: v for k, v in image.items() if v is not None}
            key = "pred_masks" if rng.random() < 0.5 else "true_masks"
            if len(image[key]):  # that side as RLE dicts, the other as an array
                image[key] = encode(image[key])
            m.update(**image, image_id=int(image_id))
        ev, labels = coco_eval_segm(images, ids)
        assert_like_coco(m, ev, labels)
        checked += 1
    assert checked >= 4


def test_rle_dicts_of_two_sizes_in_one_list_are_refused_by_name():
    m = InstanceSegmentationMetrics()
    masks = [{"size": [5, 5], "counts": [25]}, {"size": [4, 5], "counts": [20]}]
    with pytest.raises(ValueError, match=r"true_masks\[1\] is 4x5 but true_masks\[0\] is 5x5"):
        m.update(np.zeros((0, 5, 5), bool), [], [], masks, [1, 1])
    assert m.n_images == 0


def test_rle_detections_in_an_image_without_ground_truth_are_not_decoded(rng, monkeypatch):
    from runwatch.metrics._mask_runs import RunMasks

    def refuse(self):
        raise AssertionError("decoded")

    monkeypatch.setattr(RunMasks, "dense", refuse)
    found = np.array([blob(rng, 40, 30) for _ in range(3)])
    m = InstanceSegmentationMetrics()
    m.update(encode(found), [0.9, 0.5, 0.2], [1, 1, 2], [], [])
    m.update([], [], [], encode(found[:1]), [1])
    assert m.confusion_matrix().loc["background"].tolist() == [2, 0, 0]  # 0.2 < 0.5
    assert m.compute()["mAR_100"] == 0.0
