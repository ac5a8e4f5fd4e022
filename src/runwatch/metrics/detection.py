"""``DetectionMetrics``: COCO mAP / mAR of object detectors, image by image, mergeable.

COCO matches detections to ground truths within one image and category, so
images are matched as they arrive (pycocotools' rules) and no box is kept:
``update`` checks an image and lets it wait, and every ``MATCH_EVERY``
images, or when anything is read, the waiting images are matched together
(``_detection_match``: one vectorized step per detection rank, not a loop
per image). That leaves per kept detection its class, score, image, rank
within its image and class, a match bit and an ignore bit per (area range,
IoU threshold) and the IoU of its match at 0.5; per class the non-ignored
ground-truth count per area range; and the detection confusion matrix
(notes/engine.md §5): 43 bytes per kept detection at the default
thresholds, whatever the boxes (a waiting image holds its boxes until then).

``compute`` replays pycocotools' ``accumulate`` on those numbers. Images are
taken in ascending ``image_id`` order (then those given without an id, in
the order they arrived), as pycocotools orders them, so tied scores across
images break ties the same way and the result equals ``COCOeval`` to
rounding, however the images were fed, batched or merged.

The parts live in private modules: ``_detection_batch`` validates arguments
and images before any state changes, ``_detection_match`` matches a batch
of images, ``_coco`` holds pycocotools' rules for one image (the reference),
accumulation and summary, ``_detection_state`` the state's layout (columns,
packed bits, config arrays), ``_detection_confusion`` the confusion-matrix
rule and ``_detection_table`` the per-class counts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _coco, _thresholds
from . import _detection_batch as _batch
from . import _detection_confusion as _confusion
from . import _detection_curves as _curves
from . import _detection_images as _images
from . import _detection_match as _match
from . import _detection_state as _state
from . import _detection_table as _table
from ._base import Metric
from ._detection_confusion import BACKGROUND
from ._labels import encode, labels_to_array

if TYPE_CHECKING:  # pandas is imported when a table is asked for, not with the engine
    import pandas as pd

#: The names ``compute()`` returns, in this order (pycocotools' 12 stats, then the IoU).
DETECTION_METRICS = (
    "mAP", "mAP_50", "mAP_75", "mAP_small", "mAP_medium", "mAP_large",
    "mAR_1", "mAR_10", "mAR_100", "mAR_small", "mAR_medium", "mAR_large",
    "mean_matched_iou",
)  # fmt: skip

#: IoU at which the per-class table, the matched IoU and the confusion matrix match boxes.
TABLE_IOU = 0.5

_N_AREA = _state.N_AREA

#: Images wait unmatched until this many have arrived or the state is read: matching
#: them together (``_detection_match``) costs a fraction of matching each alone.
MATCH_EVERY = 512


class DetectionMetrics(_images.DetectionFailures, Metric):
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
    #: The key of ``update_batch``'s dicts that holds each image's objects.
    _regions = "boxes"
    _config_entries = {"labels": "labels", "labels_given": "flag", "iou_thresholds": "numbers",
                       "iou_thresholds_given": "flag", "score_threshold": "number",
                       "max_detections": "int"}  # fmt: skip
    _state_entries = {"labels": "labels"}

    def __init__(
        self,
        labels: Any = None,
        iou_thresholds: Any = None,
        score_threshold: float = 0.5,
        max_detections: int = 100,
    ) -> None:
        super().__init__()
        settings = _batch.check_settings(labels, iou_thresholds, score_threshold, max_detections)
        self._given = settings.labels
        self._user_thresholds = user = settings.iou_thresholds
        self._score_threshold = settings.score_threshold
        self._max_det = settings.max_detections
        averaged = _coco.COCO_IOU_THRESHOLDS if user is None else user
        # Matching runs at the averaged thresholds plus 0.5 and 0.75 (for mAP_50, mAP_75).
        self._thresholds = np.unique(np.concatenate([averaged, [0.5, 0.75]]))
        self._averaged = np.searchsorted(self._thresholds, averaged)
        self._at_50 = int(np.searchsorted(self._thresholds, 0.5))
        self._at_75 = int(np.searchsorted(self._thresholds, 0.75))
        self._max_dets = (1, min(10, self._max_det), self._max_det)
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget every image (learned labels too)."""
        self._set_labels([] if self._given is None else list(self._given))
        self._declare_states(len(self._labels))
        self._cache = None

    def _declare_states(self, k: int) -> None:
        self._declared = {}
        for name, default, rule in _state.declarations(k, len(self._thresholds)):
            self._add_state(name, default, rule)
        self._id_set: set[int] | None = None
        self._unmatched: list[_Waiting] = []
        self._pending: list[dict[str, Any]] = []
        self._pending_ids: list[int] = []
        self._images = _images.DetectionImages()

    def _flush(self) -> None:
        """Match the waiting images and concatenate the rows since the last read into the state."""
        self._match_waiting()
        if self._pending_ids:
            fresh = np.asarray(self._pending_ids, np.int64)
            self.image_ids = np.concatenate([self.image_ids, fresh])
            self._pending_ids = []
        parts, self._pending = self._pending, []
        if parts:
            columns = {name: getattr(self, name) for name in self._declared if name[:4] == "det_"}
            for name, value in _state.append(columns, parts).items():
                setattr(self, name, value)

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
        image = _batch.prepare_image(
            pred_boxes, pred_scores, pred_labels, true_boxes, true_labels,
            true_iscrowd, true_area, image_id,
        )  # fmt: skip
        self._add_images([image])

    def update_batch(
        self, preds: Any, targets: Any, *, sample_ids: Any = None, attributes: Any = None
    ) -> None:
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
        sample_ids : sequence of int or str, optional
            One id per image, for ``samples`` and ``top_losses`` (default:
            the target's ``image_id``, else the image's running index).
        attributes : dict or DataFrame, optional
            Per-image attributes (name -> one number or string per image),
            for ``by_attribute`` and ``attribute_importance``; once given,
            every batch gives them.

        Raises
        ------
        ValueError
            Naming the image and key (or the argument), when any image is
            not valid; then no image of the batch is added.
        """
        self._add_images(_batch.prepare_batch(preds, targets, self._regions), sample_ids,
                         attributes)  # fmt: skip

    def _add_images(
        self, images: list[_batch.Image], sample_ids: Any = None, attributes: Any = None
    ) -> None:
        """Resolve ids and labels and check every image, then commit (the one mutation)."""
        pending = self._images.prepare(sample_ids, attributes, images, self.n_images)
        fresh = _batch.check_image_ids(images, self._seen_ids())
        labels = _batch.resolve_labels(images, self._labels, self._index, self._given is not None)
        index = self._index if labels is self._labels else {v: i for i, v in enumerate(labels)}
        waiting: list[_Waiting] = []
        auto = int(self.n_auto)
        for image in images:
            pred_cats = encode("pred_labels", image.pred_labels, index)[0]
            true_cats = encode("true_labels", image.true_labels, index)[0]
            if image.image_id is None:
                key, is_auto = auto, True
                auto += 1
            else:
                key, is_auto = image.image_id, False
            waiting.append(_Waiting(
                key, is_auto, pred_cats, image.pred_scores, true_cats, image.true_iscrowd,
                image.true_area, self._regions_of(image),
            ))  # fmt: skip
        self._commit(labels, waiting, fresh, auto - int(self.n_auto), pending)

    def _regions_of(self, image: _batch.Image) -> Any:
        """What matching needs of an image's regions: here its boxes (masks: the IoU)."""
        return image.pred_regions, image.true_regions

    def _pair_overlap(
        self, regions: list[Any], batch_pairs: tuple[np.ndarray, np.ndarray], crowd: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(COCO's area of every detection, COCO's IoU of every pair) of waiting images' boxes."""
        det = np.concatenate([r[0] for r in regions])
        gt = np.concatenate([r[1] for r in regions])
        pair_det, pair_gt = batch_pairs
        area = (det[:, 2] - det[:, 0]) * (det[:, 3] - det[:, 1])
        return area, _coco.pair_box_iou(det[pair_det], gt[pair_gt], crowd[pair_gt])

    def _match_waiting(self) -> None:
        """Match every waiting image (``_detection_match``) and queue its rows and counts."""
        if not self._unmatched:
            return
        waiting, self._unmatched = self._unmatched, []
        n_det = np.array([w.pred_cats.size for w in waiting])
        n_gt = np.array([w.true_cats.size for w in waiting])
        det_image = np.repeat(np.arange(len(waiting)), n_det)
        pairs = _match.image_pairs(det_image, np.repeat(np.arange(len(waiting)), n_gt),
                                   len(waiting))  # fmt: skip
        crowd = np.concatenate([w.true_iscrowd for w in waiting])
        det_area, pair_iou = self._pair_overlap([w.regions for w in waiting], pairs, crowd)
        cats = np.concatenate([w.pred_cats for w in waiting]).astype(np.int64)
        scores = np.concatenate([w.pred_scores for w in waiting]).astype(np.float64)
        batch = _match.Batch(
            det_image, cats, scores, det_area,
            np.concatenate([w.true_cats for w in waiting]).astype(np.int64), crowd,
            np.concatenate([w.true_area for w in waiting]).astype(np.float64),
            pairs[0], pairs[1], pair_iou,
        )  # fmt: skip
        k = len(self._labels)
        found = _match.match_batch(
            batch, self._thresholds, self._max_det, self._at_50, k, TABLE_IOU
        )  # fmt: skip
        self.gt_count = self.gt_count + found["gt_count"]
        keep = found["keep"]
        n_true = np.bincount(batch.gt_cats[~crowd], minlength=k)
        confmat = _confusion.matrix_at(
            found["cm_rows"], cats[keep], scores[keep], n_true, self._score_threshold
        )
        self.confmat = self.confmat + confmat
        part = _state.image_rows(found, cats, scores, found["cm_rows"])
        image = det_image[found["keep"]]
        part["image"] = np.array([w.key for w in waiting], np.int64)[image]
        part["auto"] = np.array([w.auto for w in waiting], bool)[image]
        self._pending.append(part)

    def _commit(self, labels, waiting, fresh, n_auto, pending) -> None:
        """Fold checked images in; nothing here can fail on user input."""
        if labels is not self._labels:
            self._relabel(labels)  # matches the images waiting under the old labels first
        self._images.commit(pending, waiting, len(labels))
        self._unmatched.extend(waiting)
        if fresh:
            self._pending_ids.extend(fresh)
            self._seen_ids().update(fresh)
        self.image_count = self.image_count + np.int64(len(waiting))
        self.n_auto = self.n_auto + np.int64(n_auto)
        self._cache = None
        if len(self._unmatched) >= MATCH_EVERY:
            self._match_waiting()

    def _relabel(self, labels: list[Any]) -> None:
        """Re-index every state to a larger label list (new arrays; nothing in place)."""
        self._flush()
        k = len(labels)
        new_index = {label: i for i, label in enumerate(labels)}
        where = np.array([new_index[label] for label in self._labels], dtype=np.int64)
        self.det_label, self.gt_count = _state.relabel(self.det_label, self.gt_count, where, k)
        self.det_cm_true = _state.relabel_rows(self.det_cm_true, where, k)
        self.confmat = _confusion.relabel(self.confmat, where, k)
        self._images = self._images.relabeled(where)
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
        n_thr = len(self._thresholds)
        matched = _state.unpack(self.det_matched, n_thr)
        ignored = _state.unpack(self.det_ignored, n_thr)
        precision, recall = _coco.accumulate(
            self.det_label.astype(np.int64), self.det_score, (self.det_auto, self.det_image),
            self.det_rank, matched, ignored, self.gt_count, self._max_dets,
        )  # fmt: skip
        return precision, recall

    def _compute(self) -> dict[str, Any]:
        values = dict.fromkeys(DETECTION_METRICS, float("nan"))
        reasons: dict[str, str] = {}
        precision, recall = self._accumulated()
        values.update(_coco.stats(precision, recall, self._averaged, self._at_50, self._at_75))
        matched, ignored = self._table_bits()
        tp = _table.true_positives(matched, ignored, self.det_score, self._score_threshold)
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

    def _table_bits(self) -> tuple[np.ndarray, np.ndarray]:
        """The match and ignore bits at IoU 0.5, area "all", of every kept detection."""
        self._flush()
        bit = self._at_50  # area "all" is the first block of bits
        return _state.bit(self.det_matched, bit), _state.bit(self.det_ignored, bit)

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
        return self._per_class_at(self._score_threshold)

    def _per_class_at(self, score_threshold: float) -> pd.DataFrame:
        import pandas as pd

        precision, _ = self._accumulated()
        matched, ignored = self._table_bits()
        columns = _table.per_class_columns(
            precision[self._averaged, :, :, 0], precision[self._at_50, :, :, 0],
            self.gt_count[:, 0], self.det_label, self.det_score, self.det_iou,
            matched, ignored, score_threshold,
        )  # fmt: skip
        return pd.DataFrame(columns, index=pd.Index(self._labels, name="label"))

    def curves(self) -> dict[str, pd.DataFrame]:
        """COCO's precision-recall curve of each class at IoU 0.5, as a tidy table.

        ``{"pr": table}``, the table with columns ``curve`` ("class", or
        "macro" for the mean of the classes), ``label``, ``recall`` and
        ``precision``: pycocotools' interpolated precision at its 101 recall
        points (0, 0.01, ..., 1) at IoU 0.5, area "all" and
        ``max_detections`` (its ``eval["precision"][t50, :, k, 0, -1]``), so
        a class's line averages to its ``ap_50`` and the macro line to
        ``mAP_50``. A class without ground truth has no line (pycocotools'
        -1); recalls never reached read 0. Like COCO's AP, the curves use
        every kept detection, whatever ``score_threshold``.
        """
        precision, _ = self._accumulated()
        return {"pr": _curves.pr_frame(precision[self._at_50, :, :, 0], self._labels)}

    def matched_iou_histogram(self, score_threshold: float | None = None) -> pd.DataFrame:
        """How well the true positives are placed: their IoUs, in bins of 0.05 from 0.5 to 1.

        The true positives are those ``per_class()`` and ``mean_matched_iou``
        count: detections scoring at least ``score_threshold`` (default the
        metric's own) matched at IoU 0.5, area "all", to a non-crowd ground
        truth of their class, as COCO matches. Each bin holds its left edge
        (the last also 1.0), as ``numpy.histogram``.

        Returns
        -------
        pandas.DataFrame
            Ten rows: ``lo``, ``hi`` (the bin's edges) and ``count``.
        """
        threshold = _curves.check_threshold(score_threshold, self._score_threshold)
        matched, ignored = self._table_bits()
        tp = _table.true_positives(matched, ignored, self.det_score, threshold)
        return _curves.iou_histogram(self.det_iou[tp])

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
        self._flush()
        return self._matrix_frame(_confusion.normalized(self.confmat, normalize))

    def _matrix_frame(self, matrix: np.ndarray) -> pd.DataFrame:
        import pandas as pd

        names = [*self._labels, BACKGROUND]
        return pd.DataFrame(
            matrix,
            index=pd.Index(names, name="true"),
            columns=pd.Index(names, name="predicted"),
        )

    # ------------------------------------------------------------ thresholds
    def at_threshold(self, threshold: float) -> dict[str, Any]:
        """The per-class table and the confusion matrix at another score threshold.

        Exactly what a metric built with ``score_threshold=threshold`` and fed
        the same images gives for ``per_class()`` and ``confusion_matrix()``:
        matching is greedy in descending score, so a detection's match never
        depends on lower-scored ones, and each kept detection keeps what it
        matched (its COCO match bits, its confusion row).

        Returns a dict: ``threshold``, ``per_class`` (the ``per_class()``
        table: AP columns unchanged, precision, recall, F1, tp, fp, fn,
        matched IoU at ``threshold``) and ``confusion_matrix`` (counts).

        Raises
        ------
        ValueError
            When ``threshold`` is not a finite number, or the metric holds
            detections of a state stored before runwatch kept their
            confusion rows; nothing changes.
        """
        t = _thresholds.check_score_threshold(threshold)
        self._flush()
        return {
            "threshold": t,
            "per_class": self._per_class_at(t),
            "confusion_matrix": self._matrix_frame(self._matrix_at(t)),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> DetectionMetrics:
        """As :meth:`Metric.from_state_dict`; also opens states stored before ``det_cm_true``.

        Those open with every confusion row unknown: everything works but
        the matrix at another threshold (:meth:`at_threshold` refuses).
        """
        return super().from_state_dict(_state.with_row_column(state))

    def _check_rows_known(self) -> None:
        if np.any(self.det_cm_true == _state.UNKNOWN_ROW):
            raise ValueError(
                "threshold: this metric holds detections stored before runwatch kept "
                "each one's confusion row, so its matrix is known only at its "
                f"score_threshold ({self._score_threshold:g})"
            )

    def _matrix_at(self, threshold: float) -> np.ndarray:
        self._check_rows_known()
        n_true = self.confmat[:-1].sum(axis=1)  # every non-crowd ground truth is in its row
        return _confusion.matrix_at(
            self.det_cm_true, self.det_label, self.det_score, n_true, threshold
        )

    def threshold_table(self) -> dict[str, np.ndarray]:
        """What the page needs to move the score threshold without the kernel.

        ``threshold``: ascending grid (:func:`._thresholds.detection_grid`);
        ``tp``, ``fp`` (K, T): the per-class table's counts at each, and
        ``iou_sum`` the summed IoU of its true positives;
        ``support`` (K,) of the table; ``n_true`` (K,), each class's
        non-crowd ground truths, the matrix's row totals; ``cells`` (n, 4):
        ``[row, column, i, count]``, the confusion cells of the detections
        scoring from ``threshold[i]`` up to the next one (the last: and
        above); a cell at ``threshold[i]`` sums its entries from ``i`` on.
        Missed ground truths are ``n_true`` minus what the row took. Exact at
        every threshold of the grid.
        """
        self._flush()
        self._check_rows_known()
        k = len(self._labels)
        grid = _thresholds.detection_grid(self.det_score)
        bucket = np.searchsorted(grid, self.det_score, side="right") - 1
        inside = bucket >= 0
        matched, ignored = self._table_bits()
        cats = self.det_label.astype(np.int64)
        t = grid.size

        def cumulative(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
            w = None if weights is None else weights[mask]
            flat = np.bincount(cats[mask] * t + bucket[mask], w, minlength=k * t).reshape(k, t)
            return np.cumsum(flat[:, ::-1], axis=1)[:, ::-1]

        counted = inside & ~ignored
        rows = self.det_cm_true.astype(np.int64)
        use = inside & (rows >= 0)
        flat = (rows[use] * (k + 1) + cats[use]) * t + bucket[use]
        codes, counts = np.unique(flat, return_counts=True)
        cell, at = np.divmod(codes, t)
        row, col = np.divmod(cell, k + 1)
        return {
            "threshold": grid,
            "tp": cumulative(counted & matched),
            "fp": cumulative(counted & ~matched),
            "iou_sum": cumulative(counted & matched, self.det_iou),
            "support": self.gt_count[:, 0].copy(),
            "n_true": self.confmat[:-1].sum(axis=1),
            "cells": np.stack([row, col, at, counts], axis=1).astype(np.int64),
        }

    # ------------------------------------------------------ merge and state
    def merge(self, *others: DetectionMetrics) -> DetectionMetrics:
        """Fold other metrics' images into this one (in place; returns self).

        The result equals one metric fed every image: images with an id are
        ordered by id; those without come after, this metric's first, then
        each other's in turn. An image id present in two of them is refused
        (nothing is merged then). The others are not changed.
        """
        held = [(self._seen_ids(), self._labels)]
        for other in others:
            if not isinstance(other, DetectionMetrics):
                break  # the base class refuses it before anything changes
            held.append((other._seen_ids(), other._labels))
            self._images.rows.check_merge(other._images.rows)
        _batch.check_mergeable(held, labels_given=self._given is not None)
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
        self._images.merge(other._images, int(self.n_auto))
        self._merge_declared(other)
        self._seen_ids().update(other.image_ids.tolist())

    def _config(self) -> dict[str, Any]:
        user = self._user_thresholds
        return {
            "labels": self._given,
            "iou_thresholds": None if user is None else user.tolist(),
            "score_threshold": self._score_threshold,
            "max_detections": self._max_det,
        }

    def _config_arrays(self) -> dict[str, np.ndarray]:
        return _state.config_arrays(
            self._given, self._user_thresholds, self._score_threshold, self._max_det
        )

    @classmethod
    def _config_from_arrays(cls, config: dict[str, np.ndarray]) -> dict[str, Any]:
        return _state.config_from_arrays(config)

    def _state_arrays(self) -> dict[str, np.ndarray]:
        self._flush()
        out = self._declared_arrays()
        out["labels"] = labels_to_array(self._labels)
        out.update(self._images.state())
        return out

    def _load_state_arrays(self, state: dict[str, np.ndarray]) -> None:
        labels = state["labels"].tolist()
        if self._given is not None and labels != self._given:
            raise ValueError("state['labels'] does not match state['config.labels'].")
        self._set_labels(labels)
        k = len(labels)
        self._declare_states(k)
        self._load_declared(state)
        arrays = {name: getattr(self, name) for name in self._declared}
        _state.check_loaded(arrays, k, len(self._thresholds))
        self._images = _images.DetectionImages.from_state(state, int(self.image_count), k)


@dataclass(frozen=True)
class _Waiting:
    """An image checked and added, waiting to be matched: no state holds it yet."""

    key: int  # its image id, or its arrival number when ``auto``
    auto: bool
    pred_cats: np.ndarray
    pred_scores: np.ndarray
    true_cats: np.ndarray
    true_iscrowd: np.ndarray
    true_area: np.ndarray
    regions: Any  # ``_regions_of``'s result
