"""``InstanceSegmentationMetrics``: COCO mAP / mAR of instance masks (``iouType="segm"``).

Everything of :class:`~runwatch.metrics.detection.DetectionMetrics` (the
per-image matching, the few bytes kept per detection, the 12 COCO stats,
the per-class table, the confusion matrix with its background, merging and
state dicts) with one change: objects are masks, and the IoU is the masks'
(``_masks.mask_overlap``: intersection over union of their pixels, over the
detection's pixels for a crowd region, as pycocotools' ``maskUtils.iou``).
A detection's area is its mask's pixel count, a ground truth's too unless
``true_area`` gives COCO's ``area``. The masks are used in ``update`` and
dropped: the state holds no pixel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _detection_batch as _batch
from . import _masks
from .detection import DetectionMetrics


class InstanceSegmentationMetrics(DetectionMetrics):
    """Instance-segmentation metrics: COCO's mask mAP and mAR, per-class P/R/F1, image by image.

    Equal to pycocotools' ``COCOeval(..., iouType="segm")`` on every one of
    its 12 stats. The constructor's arguments, ``compute()``, ``per_class()``,
    ``confusion_matrix()``, ``merge`` and the state dict are
    :class:`DetectionMetrics`' (the IoU is the masks').

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((1, 8, 8), bool); truth[0, 2:6, 2:6] = True
    >>> found = np.zeros((1, 8, 8), bool); found[0, 2:6, 3:7] = True   # 12 of 20 pixels shared
    >>> m = InstanceSegmentationMetrics()
    >>> m.update(found, [0.9], ["cell"], truth, ["cell"])
    >>> m.compute()["mean_matched_iou"]
    0.6
    >>> m.update_batch([{"masks": [], "scores": [], "labels": []}],      # RLE dicts work too
    ...                [{"masks": [{"size": [8, 8], "counts": [18, 4, 42]}], "labels": ["cell"]}])

    One cell of two found, at IoU 0.6 (thresholds 0.5 to 0.6 of COCO's ten):

    >>> round(m.compute()["mAR_100"], 2), m.n_images
    (0.15, 2)
    """

    kind = "instance_segmentation"
    _regions = "masks"

    def update(  # type: ignore[override]
        self,
        pred_masks: Any,
        pred_scores: Any,
        pred_labels: Any,
        true_masks: Any,
        true_labels: Any,
        true_iscrowd: Any = None,
        true_area: Any = None,
        image_id: Any = None,
    ) -> None:
        """Add one image's detected masks and ground-truth masks.

        Parameters
        ----------
        pred_masks : array-like of shape (n, H, W), or list of n RLE dicts
            Detected masks: booleans (or 0/1), or COCO run-length encodings
            as ``pycocotools.mask.encode`` writes them (``{"size": [H, W],
            "counts": ...}``, counts column-major, as a list or compressed).
        pred_scores : array-like of shape (n,)
            Their confidence scores.
        pred_labels : array-like of shape (n,)
            Their classes.
        true_masks : array-like of shape (m, H, W), or list of m RLE dicts
            Ground-truth masks, the same size as ``pred_masks``.
        true_labels : array-like of shape (m,)
            Their classes.
        true_iscrowd : array-like of shape (m,), optional
            COCO's ``iscrowd``: a crowd region is never required, its IoU with
            a detection is their shared pixels over the detection's, and a
            detection matched to it is ignored.
        true_area : array-like of shape (m,), optional
            COCO's ``area`` of each ground truth (its small/medium/large
            range); default its mask's pixel count.
        image_id : int, optional
            As :meth:`DetectionMetrics.update`.

        Raises
        ------
        ValueError
            Naming the argument, when the image is not valid (masks of
            another size, a bad RLE, lengths that disagree, ...); the state is
            then exactly as before the call.
        """
        image = _batch.prepare_mask_image(
            pred_masks, pred_scores, pred_labels, true_masks, true_labels,
            true_iscrowd, true_area, image_id,
        )  # fmt: skip
        self._add_images([image])

    def update_batch(
        self, preds: Any, targets: Any, *, sample_ids: Any = None, attributes: Any = None
    ) -> None:
        """Add several images given as torchmetrics' ``MeanAveragePrecision(iou_type="segm")``.

        Parameters
        ----------
        preds : sequence of dict
            One dict per image with ``"masks"`` ((n, H, W) booleans or a list
            of RLE dicts), ``"scores"`` (n,) and ``"labels"`` (n,).
        targets : sequence of dict
            One dict per image with ``"masks"`` and ``"labels"``, optionally
            ``"iscrowd"``, ``"area"`` and ``"image_id"`` (as in ``update``).
        sample_ids, attributes : optional
            Per-image ids and attributes, as ``DetectionMetrics.update_batch``.

        Raises
        ------
        ValueError
            Naming the image and key, when any image is not valid; then no
            image of the batch is added.
        """
        super().update_batch(preds, targets, sample_ids=sample_ids, attributes=attributes)

    def _regions_of(self, image: _batch.Image) -> Any:
        """Mask IoU and detection areas, computed now: the masks are not kept to match later."""
        return _masks.mask_overlap(image.pred_regions, image.true_regions, image.true_iscrowd)

    def _pair_overlap(
        self, regions: list[Any], batch_pairs: tuple[np.ndarray, np.ndarray], crowd: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every detection's pixel count and each image's IoU matrix, row by row (its pairs)."""
        area = np.concatenate([r[1] for r in regions])
        return area, np.concatenate([r[0].ravel() for r in regions])
