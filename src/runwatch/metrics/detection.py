"""``DetectionMetrics``: COCO mAP / mAR of object detectors, image by image, mergeable.

COCO matches detections to ground truths within one image and category, so
``update`` does the matching (pycocotools' rules, ``_coco.py``) and keeps no
boxes: per kept detection its class, score, image, rank within its image and
class, a match bit and an ignore bit per (area range, IoU threshold) and the
IoU of its match at 0.5; per class the non-ignored ground-truth count per
area range; and the detection confusion matrix (notes/engine.md §5): 43
bytes per kept detection at the default thresholds, whatever the boxes.

``compute`` replays pycocotools' ``accumulate`` on those numbers. Images are
taken in ascending ``image_id`` order (then those given without an id, in
the order they arrived), as pycocotools orders them, so tied scores across
images break ties the same way and the result equals ``COCOeval`` to
rounding, however the images were fed, batched or merged.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _coco, _validation
from ._base import Metric
from ._labels import as_label_list, distinct, encode, labels_to_array

if TYPE_CHECKING:  # pandas is imported when a table is asked for, not with the engine
    import pandas as pd

#: The names ``compute()`` returns, in this order (pycocotools' 12 stats, then the IoU).
DETECTION_METRICS = (
    "mAP", "mAP_50", "mAP_75", "mAP_small", "mAP_medium", "mAP_large",
    "mAR_1", "mAR_10", "mAR_100", "mAR_small", "mAR_medium", "mAR_large",
    "mean_matched_iou",
)  # fmt: skip

#: The row and column of the confusion matrix for "no box there".
BACKGROUND = "background"

#: IoU at which the per-class table, the matched IoU and the confusion matrix match boxes.
TABLE_IOU = 0.5

_N_AREA = len(_coco.AREA_RANGES)


class DetectionMetrics(Metric):
    """Object-detection metrics (COCO's mAP and mAR, per-class P/R/F1), image by image.

    Parameters
    ----------
    labels : sequence of hashable, optional
        The classes. Without it, classes are learned as they are seen (in
        predictions or ground truth) and kept sorted.
    iou_thresholds : sequence of float, optional
        IoU thresholds that ``mAP`` and the ``mAR_*`` average over; default
        COCO's 0.50:0.05:0.95. ``mAP_50`` and ``mAP_75`` are always at 0.5
        and 0.75 (pycocotools gives -1 for them when its list lacks them).
    score_threshold : float, default 0.5
        Detections scoring at least this count in ``per_class()`` precision,
        recall and F1, in ``mean_matched_iou`` and in ``confusion_matrix()``.
        The mAP and mAR use every detection, as COCO does.
    max_detections : int, default 100
        Per image and class, only the best-scored ``max_detections``
        detections are kept (COCO's ``maxDets[-1]``); ``mAR_100`` is the
        recall at this many.

    Examples
    --------
    >>> m = DetectionMetrics()
    >>> m.update(pred_boxes=[[10, 10, 50, 50], [60, 60, 90, 90]], pred_scores=[0.9, 0.8],
    ...          pred_labels=["cat", "dog"], true_boxes=[[12, 10, 50, 52]], true_labels=["cat"])
    >>> round(m.compute()["mAP_50"], 4)
    1.0
    >>> int(m.confusion_matrix().loc["background", "dog"])
    1
    >>> m.update([], [], [], [], [])  # an image with nothing in it is fine
    >>> m.n_images
    2
    """

    kind = "detection"

    def __init__(
        self,
        labels: Any = None,
        iou_thresholds: Any = None,
        score_threshold: float = 0.5,
        max_detections: int = 100,
    ) -> None:
        super().__init__()
        if isinstance(labels, (str, bytes)):
            raise ValueError("labels must be a sequence of labels, not a single string.")
        given = None if labels is None else as_label_list(labels)
        if given is not None and not given:
            raise ValueError("labels must name at least 1 class; got none.")
        user = None
        if iou_thresholds is not None:
            user = _validation.check_finite_numbers("iou_thresholds", iou_thresholds)
            user = user.astype(np.float64)
            if user.size == 0:
                raise ValueError("iou_thresholds must hold at least one threshold.")
            if user.min() < 0 or user.max() > 1:
                raise ValueError("iou_thresholds must lie in [0, 1].")
            if np.unique(user).size != user.size:
                raise ValueError("iou_thresholds contains duplicates.")
        if (
            isinstance(score_threshold, (bool, str, bytes))
            or not isinstance(score_threshold, (int, float, np.integer, np.floating))
            or not np.isfinite(score_threshold)
        ):
            raise ValueError(f"score_threshold must be a finite number; got {score_threshold!r}.")
        if (
            isinstance(max_detections, bool)
            or not isinstance(max_detections, (int, np.integer))
            or max_detections < 1
        ):
            raise ValueError(f"max_detections must be an int >= 1; got {max_detections!r}.")
        self._given = given
        self._user_thresholds = user
        self._score_threshold = float(score_threshold)
        self._max_det = int(max_detections)
        averaged = _coco.COCO_IOU_THRESHOLDS if user is None else user
        # Matching runs at the averaged thresholds plus 0.5 and 0.75 (for mAP_50, mAP_75).
        self._thresholds = np.unique(np.concatenate([averaged, [0.5, 0.75]]))
        self._averaged = np.searchsorted(self._thresholds, averaged)
        self._at_50 = int(np.searchsorted(self._thresholds, 0.5))
        self._at_75 = int(np.searchsorted(self._thresholds, 0.75))
        self._max_dets = (1, min(10, self._max_det), self._max_det)
        self._bytes = -(-_N_AREA * len(self._thresholds) // 8)
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget every image (learned labels too)."""
        self._set_labels([] if self._given is None else list(self._given))
        self._declare_states(len(self._labels))
        self._cache = None

    def _declare_states(self, k: int) -> None:
        self._declared = {}
        self._add_state("det_label", np.zeros(0, np.int32), "cat")
        self._add_state("det_score", np.zeros(0, np.float64), "cat")
        self._add_state("det_image", np.zeros(0, np.int64), "cat")
        self._add_state("det_auto", np.zeros(0, bool), "cat")
        self._add_state("det_rank", np.zeros(0, np.int32), "cat")
        self._add_state("det_matched", np.zeros((0, self._bytes), np.uint8), "cat")
        self._add_state("det_ignored", np.zeros((0, self._bytes), np.uint8), "cat")
        self._add_state("det_iou", np.zeros(0, np.float64), "cat")
        self._add_state("gt_count", np.zeros((k, _N_AREA), np.int64), "sum")
        self._add_state("confmat", np.zeros((k + 1, k + 1), np.int64), "sum")
        self._add_state("image_ids", np.zeros(0, np.int64), "cat")
        self._add_state("image_count", np.int64(0), "sum")
        self._add_state("n_auto", np.int64(0), "sum")
        self._id_set: set[int] | None = None
        self._pending: list[dict[str, Any]] = []
        self._pending_ids: list[int] = []

    def _flush(self) -> None:
        """Concatenate the images added since the last read into the state arrays."""
        if self._pending_ids:
            fresh = np.asarray(self._pending_ids, np.int64)
            self.image_ids = np.concatenate([self.image_ids, fresh])
            self._pending_ids = []
        parts, self._pending = self._pending, []
        if not parts:
            return
        sizes = [p["label"].size for p in parts]
        for name in ("label", "score", "rank", "matched", "ignored", "iou"):
            column = f"det_{name}"
            setattr(
                self, column, np.concatenate([getattr(self, column), *(p[name] for p in parts)])
            )
        image = np.repeat(np.array([p["image"] for p in parts], np.int64), sizes)
        auto = np.repeat(np.array([p["auto"] for p in parts], bool), sizes)
        self.det_image = np.concatenate([self.det_image, image])
        self.det_auto = np.concatenate([self.det_auto, auto])

    def _set_labels(self, labels: list[Any]) -> None:
        self._labels = labels
        self._index = {label: i for i, label in enumerate(labels)}

    @property
    def labels(self) -> list[Any]:
        """The classes known so far, in index order."""
        return list(self._labels)

    @property
    def iou_thresholds(self) -> np.ndarray:
        """The IoU thresholds ``mAP`` averages over."""
        return self._thresholds[self._averaged].copy()

    @property
    def n_images(self) -> int:
        """How many images were added."""
        return int(self.image_count)

    def _seen_ids(self) -> set[int]:
        if self._id_set is None:
            self._id_set = set(self.image_ids.tolist())
        return self._id_set

    # ----------------------------------------------------------------- update
    def update(
        self,
        pred_boxes: Any,
        pred_scores: Any,
        pred_labels: Any,
        true_boxes: Any,
        true_labels: Any,
        true_iscrowd: Any = None,
        true_area: Any = None,
        image_id: Any = None,
    ) -> None:
        """Add one image's detections and ground truth.

        Parameters
        ----------
        pred_boxes : array-like of shape (n, 4)
            Detected boxes, xyxy (``x1 <= x2``, ``y1 <= y2``); zero-area boxes
            are allowed (their IoU is 0).
        pred_scores : array-like of shape (n,)
            Their confidence scores (any finite numbers; higher is surer).
        pred_labels : array-like of shape (n,)
            Their classes.
        true_boxes : array-like of shape (m, 4)
            Ground-truth boxes, xyxy.
        true_labels : array-like of shape (m,)
            Their classes.
        true_iscrowd : array-like of shape (m,), optional
            COCO's ``iscrowd`` flags (0/1 or bool): crowd regions are never
            required, and detections matched to them are ignored.
        true_area : array-like of shape (m,), optional
            COCO's ``area`` of each ground truth (e.g. its mask area), which
            decides its small/medium/large range; default the box area.
        image_id : int, optional
            The image's id. Images are accumulated in ascending id order (as
            pycocotools does), which decides ties between equal scores in
            different images; images without an id come after, in arrival
            order. An id may be added once.

        Raises
        ------
        ValueError
            Naming the argument, when the image is not valid; the state is
            then exactly as before the call. Empty predictions and/or ground
            truth are valid (the image still counts).
        """
        image = _check_image(
            pred_boxes, pred_scores, pred_labels, true_boxes, true_labels,
            true_iscrowd, true_area, image_id, _NAMES,
        )  # fmt: skip
        self._add_images([image])

    def update_batch(self, preds: Any, targets: Any) -> None:
        """Add several images given as torchmetrics' ``MeanAveragePrecision`` takes them.

        Parameters
        ----------
        preds : sequence of dict
            One dict per image with ``"boxes"`` (n, 4) xyxy, ``"scores"`` (n,)
            and ``"labels"`` (n,).
        targets : sequence of dict
            One dict per image with ``"boxes"`` (m, 4) xyxy and ``"labels"``
            (m,), optionally ``"iscrowd"``, ``"area"`` and ``"image_id"``
            (as in ``update``).

        Raises
        ------
        ValueError
            Naming the image and key, when any image is not valid; then no
            image of the batch is added.
        """
        for name, value in (("preds", preds), ("targets", targets)):
            if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__"):
                raise ValueError(f"{name} must be a list of dicts, one per image.")
        if len(preds) != len(targets):
            raise ValueError(f"preds has {len(preds)} images but targets has {len(targets)}.")
        images = []
        for i, (pred, target) in enumerate(zip(preds, targets)):
            for name, item, keys in (
                ("preds", pred, ("boxes", "scores", "labels")),
                ("targets", target, ("boxes", "labels")),
            ):
                if not isinstance(item, dict):
                    raise ValueError(f"{name}[{i}] must be a dict; got {type(item).__name__}.")
                missing = [key for key in keys if key not in item]
                if missing:
                    raise ValueError(f"{name}[{i}] has no {missing[0]!r} entry.")
            names = {
                "pred_boxes": f"preds[{i}]['boxes']",
                "pred_scores": f"preds[{i}]['scores']",
                "pred_labels": f"preds[{i}]['labels']",
                "true_boxes": f"targets[{i}]['boxes']",
                "true_labels": f"targets[{i}]['labels']",
                "true_iscrowd": f"targets[{i}]['iscrowd']",
                "true_area": f"targets[{i}]['area']",
                "image_id": f"targets[{i}]['image_id']",
            }
            images.append(
                _check_image(
                    pred["boxes"],
                    pred["scores"],
                    pred["labels"],
                    target["boxes"],
                    target["labels"],
                    target.get("iscrowd"),
                    target.get("area"),
                    target.get("image_id"),
                    names,
                )
            )
        self._add_images(images)

    def _add_images(self, images: list[dict[str, Any]]) -> None:
        """Resolve labels, match every image, then commit (the one mutation)."""
        seen = self._seen_ids()
        fresh: set[int] = set()
        for image in images:
            image_id = image["image_id"]
            if image_id is not None and (image_id in seen or image_id in fresh):
                raise ValueError(f"{image['id_name']} {image_id} was already added.")
            if image_id is not None:
                fresh.add(image_id)
        labels = self._resolve_labels(images)
        index = self._index if labels is self._labels else {v: i for i, v in enumerate(labels)}
        k = len(labels)
        parts: list[dict[str, Any]] = []
        gt_count = np.zeros((k, _N_AREA), np.int64)
        confmat = np.zeros((k + 1, k + 1), np.int64)
        auto = int(self.n_auto)
        for image in images:
            pred_cats = encode("pred_labels", image["pred_labels"], index)[0]
            true_cats = encode("true_labels", image["true_labels"], index)[0]
            part = self._match(image, pred_cats, true_cats, gt_count, confmat, k)
            if image["image_id"] is None:
                part["image"], part["auto"] = auto, True
                auto += 1
            else:
                part["image"], part["auto"] = image["image_id"], False
            parts.append(part)
        self._commit(labels, parts, gt_count, confmat, sorted(fresh), auto - int(self.n_auto))

    def _resolve_labels(self, images: list[dict[str, Any]]) -> list[Any]:
        """The label list after these images (the current one when nothing new)."""
        new: set[Any] = set()
        for image in images:
            for key in ("pred_labels", "true_labels"):
                unknown = [v for v in distinct(image[key]) if v not in self._index]
                if unknown and self._given is not None:
                    raise ValueError(
                        f"{image['names'][key]} has label {unknown[0]!r}, which is not one of "
                        "labels."
                    )
                new.update(unknown)
        if not new:
            return self._labels
        try:
            return sorted(set(self._labels) | new)
        except TypeError:
            raise ValueError(
                "pred_labels / true_labels mix label types (strings and numbers), with each "
                "other or with the labels seen so far."
            ) from None

    def _match(self, image, pred_cats, true_cats, gt_count, confmat, k) -> dict[str, Any]:
        boxes, scores = image["pred_boxes"], image["pred_scores"]
        found = _coco.match_image(
            boxes, scores, pred_cats, image["true_boxes"], true_cats,
            image["true_iscrowd"], image["true_area"], self._thresholds,
            self._max_det, self._at_50, k,
        )  # fmt: skip
        gt_count += found["gt_count"]
        keep = found["keep"]
        counted = np.flatnonzero(scores[keep] >= self._score_threshold)
        counted = counted[np.argsort(keep[counted], kind="stable")]  # input order
        rows, cols = _coco.confusion_image(
            found["ious"][counted], scores[keep[counted]], pred_cats[keep[counted]],
            true_cats, image["true_iscrowd"], background=k, threshold=TABLE_IOU,
        )  # fmt: skip
        np.add.at(confmat, (rows, cols), 1)
        n, width = keep.size, _N_AREA * len(self._thresholds)
        return {
            "label": pred_cats[keep].astype(np.int32),
            "score": scores[keep].astype(np.float64),
            "rank": found["rank"].astype(np.int32),
            "matched": np.packbits(found["matched"].reshape(n, width), axis=1),
            "ignored": np.packbits(found["ignored"].reshape(n, width), axis=1),
            "iou": found["iou"],
        }

    def _commit(self, labels, parts, gt_count, confmat, fresh, n_auto) -> None:
        """Fold matched images in; nothing here can fail on user input."""
        if labels is not self._labels:
            self._relabel(labels)
        self.gt_count = self.gt_count + gt_count
        self.confmat = self.confmat + confmat
        self._pending.extend(parts)  # concatenated when next read: O(1) per image, not O(n)
        if fresh:
            self._pending_ids.extend(fresh)
            self._seen_ids().update(fresh)
        self.image_count = self.image_count + np.int64(len(parts))
        self.n_auto = self.n_auto + np.int64(n_auto)
        self._cache = None

    def _relabel(self, labels: list[Any]) -> None:
        """Re-index every state to a larger label list (new arrays; nothing in place)."""
        self._flush()
        k = len(labels)
        new_index = {label: i for i, label in enumerate(labels)}
        where = np.array([new_index[label] for label in self._labels], dtype=np.int64)
        self.det_label = where[self.det_label].astype(np.int32) if where.size else self.det_label
        gt_count = np.zeros((k, _N_AREA), np.int64)
        gt_count[where] = self.gt_count
        self.gt_count = gt_count
        cells = np.r_[where, k]  # background stays last
        confmat = np.zeros((k + 1, k + 1), np.int64)
        confmat[np.ix_(cells, cells)] = self.confmat
        self.confmat = confmat
        self._set_labels(labels)

    # ---------------------------------------------------------------- compute
    def compute(self) -> dict[str, float]:
        """COCO's 12 box metrics (as pycocotools' ``stats``) and the mean matched IoU.

        - ``mAP``: AP averaged over ``iou_thresholds`` (COCO's 0.50:0.95), 101
          recall points, all areas, ``max_detections`` per image and class;
        - ``mAP_50`` / ``mAP_75``: the same AP at IoU 0.5 / 0.75. ``mAP_50`` is
          COCO's 101-point interpolated AP at IoU >= 0.5, **not** PASCAL VOC's
          "mAP@0.5" (11-point or all-point, IoU > 0.5, +1-pixel box sizes);
        - ``mAP_small|medium|large``: ``mAP`` on objects of area < 32²,
          32²..96², > 96² (COCO's ranges, bounds inclusive);
        - ``mAR_1|10|100``: recall averaged over ``iou_thresholds`` with at most
          1, 10 and ``max_detections`` detections per image and class;
          ``mAR_small|medium|large`` at ``max_detections``;
        - ``mean_matched_iou``: the mean IoU of the detections scoring at least
          ``score_threshold`` that match a (non-crowd) ground truth at IoU 0.5.

        Each mean is over the classes with ground truth in the range (a class
        with none is left out, pycocotools' -1). Where there is none at all the
        value is NaN (pycocotools prints -1) and ``reasons()`` says why; nothing
        here raises or warns.
        """
        if self._cache is None:
            self._cache = self._compute()
        return dict(self._cache["values"])

    def _accumulated(self) -> tuple[np.ndarray, np.ndarray]:
        """COCO's precision (T, R, K, A) and recall (T, K, A, M), cached."""
        if self._cache is not None and "precision" in self._cache:
            return self._cache["precision"], self._cache["recall"]
        self._flush()
        matched, ignored = self._bits()
        precision, recall = _coco.accumulate(
            self.det_label.astype(np.int64), self.det_score, (self.det_auto, self.det_image),
            self.det_rank, matched, ignored, self.gt_count, self._max_dets,
        )  # fmt: skip
        return precision, recall

    def _bits(self) -> tuple[np.ndarray, np.ndarray]:
        shape = (-1, _N_AREA, len(self._thresholds))
        count = _N_AREA * len(self._thresholds)
        return (
            np.unpackbits(self.det_matched, axis=1, count=count).astype(bool).reshape(shape),
            np.unpackbits(self.det_ignored, axis=1, count=count).astype(bool).reshape(shape),
        )

    def _compute(self) -> dict[str, Any]:
        values = dict.fromkeys(DETECTION_METRICS, float("nan"))
        reasons: dict[str, str] = {}
        precision, recall = self._accumulated()
        avg = self._averaged
        p_avg, r_avg = precision[avg], recall[avg]
        values["mAP"] = _coco.summarize(p_avg[..., 0])
        values["mAP_50"] = _coco.summarize(precision[self._at_50, :, :, 0])
        values["mAP_75"] = _coco.summarize(precision[self._at_75, :, :, 0])
        for a, area in enumerate(_coco.AREA_NAMES[1:], start=1):
            values[f"mAP_{area}"] = _coco.summarize(p_avg[..., a])
            values[f"mAR_{area}"] = _coco.summarize(r_avg[:, :, a, 2])
        for m, name in enumerate(("mAR_1", "mAR_10", "mAR_100")):
            values[name] = _coco.summarize(r_avg[:, :, 0, m])
        tp = self._table_hits()
        values["mean_matched_iou"] = float(self.det_iou[tp].mean()) if tp.any() else float("nan")
        if not self.gt_count[:, 0].any():
            why = "no ground truth yet" if self.image_count else "no images yet"
            reasons = {name: why for name in DETECTION_METRICS if name != "mean_matched_iou"}
        else:
            for a, area in enumerate(_coco.AREA_NAMES[1:], start=1):
                if not self.gt_count[:, a].any():
                    why = f"no {area} ground truth yet (COCO's {area} range)"
                    reasons[f"mAP_{area}"] = reasons[f"mAR_{area}"] = why
        if np.isnan(values["mean_matched_iou"]):
            reasons["mean_matched_iou"] = (
                f"no detection scoring at least {self._score_threshold:g} matches a ground "
                f"truth at IoU {TABLE_IOU:g} yet"
            )
        return {"values": values, "reasons": reasons, "precision": precision, "recall": recall}

    def _table_hits(self) -> np.ndarray:
        """Detections counted as true positives in the per-class table (and the IoU mean)."""
        matched, ignored = self._table_bits()
        return matched & ~ignored & (self.det_score >= self._score_threshold)

    def _table_bits(self) -> tuple[np.ndarray, np.ndarray]:
        self._flush()
        bit = self._at_50  # area "all" is the first block of bits
        byte, shift = divmod(bit, 8)
        mask = np.uint8(1 << (7 - shift))
        return (
            (self.det_matched[:, byte] & mask) > 0,
            (self.det_ignored[:, byte] & mask) > 0,
        )

    # ----------------------------------------------------------------- tables
    def per_class(self) -> pd.DataFrame:
        """Per class: AP, and precision, recall and F1 at IoU 0.5 and ``score_threshold``.

        Columns:

        - ``ap``: COCO's AP over ``iou_thresholds``; ``ap_50``: at IoU 0.5
          (101-point; NaN for a class without ground truth, pycocotools' -1);
        - ``precision``, ``recall``, ``f1``: from ``tp``, ``fp``, ``fn`` counted
          on the detections scoring at least ``score_threshold`` (of the best
          ``max_detections`` per image and class) matched at IoU 0.5 as COCO
          matches; detections matched to crowd regions count as neither;
          ``zero_division=0``, as the classification metrics;
        - ``mean_iou``: the mean IoU of those true positives (NaN if none);
        - ``support``: non-crowd ground truths; ``predicted``: ``tp + fp``.
        """
        import pandas as pd

        k = len(self._labels)
        precision, _ = self._accumulated()
        support = self.gt_count[:, 0]
        cats = self.det_label.astype(np.int64)
        matched, ignored = self._table_bits()
        counted = (self.det_score >= self._score_threshold) & ~ignored
        tp = np.bincount(cats[counted & matched], minlength=k)
        fp = np.bincount(cats[counted & ~matched], minlength=k)
        fn = support - tp
        hits = counted & matched
        iou_sum = np.bincount(cats[hits], weights=self.det_iou[hits], minlength=k)
        has_gt = support > 0
        ap = np.where(has_gt, precision[self._averaged, :, :, 0].mean(axis=(0, 1)), np.nan)
        ap_50 = np.where(has_gt, precision[self._at_50, :, :, 0].mean(axis=0), np.nan)
        table = pd.DataFrame(
            {
                "ap": ap,
                "ap_50": ap_50,
                "precision": _ratio(tp, tp + fp, 0.0),
                "recall": _ratio(tp, support, 0.0),
                "f1": _ratio(2 * tp, 2 * tp + fp + fn, 0.0),
                "mean_iou": _ratio(iou_sum, tp, np.nan),
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "support": support,
                "predicted": tp + fp,
            },
            index=pd.Index(self._labels, name="label"),
        )
        return table

    def confusion_matrix(self, normalize: str | None = None) -> pd.DataFrame:
        """The detection confusion matrix, with a ``"background"`` row and column.

        Index: true class, then ``"background"``; columns: predicted class,
        then ``"background"``. Built per image, at IoU 0.5, from the
        detections scoring at least ``score_threshold`` (of the best
        ``max_detections`` per image and class), matching across classes:

        - in descending score, each detection takes the still-free non-crowd
          ground truth with the highest IoU >= 0.5 of its own class if there
          is one, else of any class: cell (true class, predicted class), so
          a box found with the wrong class is off the diagonal;
        - a detection left unmatched: (background, predicted class), unless
          it covers a crowd region of its class at COCO's crowd IoU >= 0.5,
          which COCO ignores, so it is left out;
        - a ground truth left unmatched (missed): (true class, background).

        Crowd regions are not rows. ``normalize``: None (counts), ``"true"``
        (rows sum to 1), ``"pred"`` (columns sum to 1) or ``"all"``.
        """
        import pandas as pd

        matrix: np.ndarray = self.confmat
        if normalize is not None:
            axis = {"true": 1, "pred": 0, "all": None}.get(normalize, -1)
            if axis == -1:
                raise ValueError(
                    f"normalize must be None, 'true', 'pred' or 'all'; got {normalize!r}."
                )
            cm = self.confmat.astype(np.float64)
            total = cm.sum(axis=axis, keepdims=axis is not None)
            matrix = np.divide(cm, total, out=np.zeros_like(cm), where=total > 0)
        names = [*self._labels, BACKGROUND]
        return pd.DataFrame(
            matrix,
            index=pd.Index(names, name="true"),
            columns=pd.Index(names, name="predicted"),
        )

    # ------------------------------------------------------ merge and state
    def merge(self, *others: DetectionMetrics) -> DetectionMetrics:
        """Fold other metrics' images into this one (in place; returns self).

        The result equals one metric fed every image: images with an id are
        ordered by id; those without come after, this metric's first, then
        each other's in turn. An image id present in two of them is refused
        (nothing is merged then). The others are not changed.
        """
        seen = set(self._seen_ids())
        labels = set(self._labels)
        for other in others:
            if not isinstance(other, DetectionMetrics):
                break  # the base class refuses it before anything changes
            ids = set(other._seen_ids())
            dup = seen & ids
            if dup:
                raise ValueError(f"other has image_id {min(dup)}, which this metric already has.")
            seen |= ids
            labels |= set(other._labels)
        if self._given is None:
            try:
                sorted(labels)
            except TypeError:
                raise ValueError("other has labels of another type (strings vs numbers).") from None
        return super().merge(*others)

    def _merge_one(self, other: DetectionMetrics) -> None:  # type: ignore[override]
        self._flush()
        other._flush()  # the same state, read in full; nothing of ``other`` changes
        labels = self._labels
        if other._labels != labels:
            labels = sorted(set(labels) | set(other._labels))
        if labels != self._labels:
            self._relabel(labels)
        other = copy.copy(other)  # every change below replaces arrays, never writes into them
        if labels != other._labels:
            other._relabel(labels)
        other.det_image = np.where(other.det_auto, other.det_image + self.n_auto, other.det_image)
        self._merge_declared(other)
        self._seen_ids().update(other.image_ids.tolist())

    def _config(self) -> dict[str, Any]:
        return {
            "labels": self._given,
            "iou_thresholds": None
            if self._user_thresholds is None
            else self._user_thresholds.tolist(),
            "score_threshold": self._score_threshold,
            "max_detections": self._max_det,
        }

    def _config_arrays(self) -> dict[str, np.ndarray]:
        user = self._user_thresholds
        return {
            "labels": labels_to_array(self._given or []),
            "labels_given": np.array(self._given is not None),
            "iou_thresholds": np.zeros(0) if user is None else user.copy(),
            "iou_thresholds_given": np.array(user is not None),
            "score_threshold": np.array(self._score_threshold),
            "max_detections": np.array(self._max_det, np.int64),
        }

    @classmethod
    def _config_from_arrays(cls, config: dict[str, np.ndarray]) -> dict[str, Any]:
        try:
            return {
                "labels": config["labels"].tolist() if bool(config["labels_given"]) else None,
                "iou_thresholds": config["iou_thresholds"]
                if bool(config["iou_thresholds_given"])
                else None,
                "score_threshold": float(config["score_threshold"]),
                "max_detections": int(config["max_detections"]),
            }
        except KeyError as missing:
            raise ValueError(f"state is missing config.{missing.args[0]}.") from None

    def _state_arrays(self) -> dict[str, np.ndarray]:
        self._flush()
        out = self._declared_arrays()
        out["labels"] = labels_to_array(self._labels)
        return out

    def _load_state_arrays(self, state: dict[str, np.ndarray]) -> None:
        if "labels" not in state:
            raise ValueError("state is missing its labels.")
        labels = state["labels"].tolist()
        if self._given is not None and labels != self._given:
            raise ValueError("state labels do not match config.labels.")
        self._set_labels(labels)
        k = len(labels)
        self._declare_states(k)
        self._load_declared(state)
        n = self.det_label.size
        for name in ("det_score", "det_image", "det_auto", "det_rank", "det_iou"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"state array {name!r} does not have {n} detections.")
        for name in ("det_matched", "det_ignored"):
            if getattr(self, name).shape != (n, self._bytes):
                raise ValueError(f"state array {name!r} does not fit {n} detections.")
        if self.gt_count.shape != (k, _N_AREA) or self.confmat.shape != (k + 1, k + 1):
            raise ValueError(f"state arrays 'gt_count' and 'confmat' do not fit {k} labels.")
        if n and (self.det_label.min() < 0 or self.det_label.max() >= k):
            raise ValueError(f"state array 'det_label' has classes outside the {k} labels.")


_NAMES = {
    name: name
    for name in (
        "pred_boxes", "pred_scores", "pred_labels", "true_boxes", "true_labels",
        "true_iscrowd", "true_area", "image_id",
    )
}  # fmt: skip


def _check_image(
    pred_boxes, pred_scores, pred_labels, true_boxes, true_labels,
    true_iscrowd, true_area, image_id, names: dict[str, str],
) -> dict[str, Any]:  # fmt: skip
    """Validate one image's arrays without touching any state."""
    p_boxes = _check_boxes(names["pred_boxes"], pred_boxes)
    t_boxes = _check_boxes(names["true_boxes"], true_boxes)

    def column(key: str, value: Any, check: Any, boxes: str) -> np.ndarray:
        array = check(names[key], _empty_1d(names[key], value))
        rows = p_boxes.shape[0] if boxes == "pred_boxes" else t_boxes.shape[0]
        _validation.check_length(names[key], array, rows, names[boxes])
        return array

    numbers, labels = _validation.check_finite_numbers, _validation.check_labels_1d
    scores = column("pred_scores", pred_scores, numbers, "pred_boxes")
    p_labels = column("pred_labels", pred_labels, labels, "pred_boxes")
    t_labels = column("true_labels", true_labels, labels, "true_boxes")
    crowd = np.zeros(t_boxes.shape[0], bool)
    if true_iscrowd is not None:
        flags = column("true_iscrowd", true_iscrowd, numbers, "true_boxes")
        if not np.all((flags == 0) | (flags == 1)):
            raise ValueError(f"{names['true_iscrowd']} must hold 0/1 or booleans.")
        crowd = flags == 1
    area = (t_boxes[:, 2] - t_boxes[:, 0]) * (t_boxes[:, 3] - t_boxes[:, 1])
    if true_area is not None:
        area = column("true_area", true_area, numbers, "true_boxes").astype(np.float64)
        if np.any(area < 0):
            raise ValueError(f"{names['true_area']} contains negative areas.")
    if image_id is not None:
        if hasattr(image_id, "item") and np.ndim(image_id) == 0:  # a 0-d array or tensor
            image_id = image_id.item()
        if isinstance(image_id, (bool, np.bool_)) or not isinstance(image_id, (int, np.integer)):
            raise ValueError(f"{names['image_id']} must be an int or None; got {image_id!r}.")
        image_id = int(image_id)
        if not -(2**63) <= image_id < 2**63:
            raise ValueError(f"{names['image_id']} does not fit in 64 bits.")
    return {
        "pred_boxes": p_boxes,
        "pred_scores": scores,
        "pred_labels": p_labels,
        "true_boxes": t_boxes,
        "true_labels": t_labels,
        "true_iscrowd": crowd,
        "true_area": area,
        "image_id": image_id,
        "id_name": names["image_id"],
        "names": names,
    }


def _empty_1d(name: str, value: Any) -> Any:
    """An empty list or tensor read as an empty 1-D array (its dtype is then moot)."""
    if value is None or isinstance(value, (str, bytes)):
        return value
    array = _validation.to_numpy(name, value)
    return np.zeros(0) if array.size == 0 and array.ndim <= 1 else array


def _check_boxes(name: str, value: Any) -> np.ndarray:
    """(n, 4) finite xyxy boxes as float64 (an empty list is no boxes)."""
    array = _validation.to_numpy(name, value)
    if array.size == 0 and array.ndim <= 2 and (array.ndim < 2 or array.shape[1] in (0, 4)):
        return np.zeros((0, 4))
    boxes = _validation.check_finite_numbers(name, array, ndim=(2,))
    if boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape (n, 4) (x1, y1, x2, y2); got {boxes.shape}.")
    boxes = boxes.astype(np.float64)
    bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} row {row} has x2 < x1 or y2 < y1; boxes must be (x1, y1, x2, y2)."
        )
    return boxes


def _ratio(num: np.ndarray, den: np.ndarray, empty: float) -> np.ndarray:
    num = np.asarray(num, np.float64)
    return np.divide(num, den, out=np.full(num.shape, empty), where=np.asarray(den) > 0)
