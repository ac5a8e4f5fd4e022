"""``DetectionMetrics``' arguments and images, validated, touching no state.

``check_settings`` checks the constructor's arguments. ``prepare_image``
checks one image's boxes and ``prepare_mask_image`` one image's masks
(``update``), ``prepare_batch`` a torchmetrics style list of images
(``update_batch``), naming the argument, or the image
and key, that is wrong; ``check_image_ids`` and ``resolve_labels`` then
decide, against what the metric already holds, the new image ids and the
label list after the images, and ``check_mergeable`` whether metrics may be
merged. Each raises ``ValueError`` before the metric
changes anything, which is how a refused image or batch leaves the state
exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _masks, _validation
from ._labels import as_label_list, distinct

#: ``update``'s argument names, which errors about its own arguments quote.
ARGUMENT_NAMES = {
    name: name
    for name in (
        "pred_boxes", "pred_scores", "pred_labels", "true_boxes", "true_labels",
        "true_iscrowd", "true_area", "image_id",
    )
}  # fmt: skip

#: ``InstanceSegmentationMetrics.update``'s argument names.
MASK_ARGUMENT_NAMES = {
    **{k: v for k, v in ARGUMENT_NAMES.items() if k not in ("pred_boxes", "true_boxes")},
    "pred_masks": "pred_masks",
    "true_masks": "true_masks",
}


@dataclass(frozen=True)
class Settings:
    """The constructor's arguments, checked: ``labels`` and ``iou_thresholds`` None if not given."""

    labels: list[Any] | None
    iou_thresholds: np.ndarray | None
    score_threshold: float
    max_detections: int


@dataclass(frozen=True)
class Image:
    """One valid image: its boxes or masks, raw labels, crowd flags, areas and its id."""

    pred_regions: np.ndarray  # (n, 4) xyxy boxes, or (n, H, W) bool masks
    pred_scores: np.ndarray  # (n,)
    pred_labels: np.ndarray  # (n,)
    true_regions: np.ndarray  # (m, 4) or (m, H, W), as pred_regions
    true_labels: np.ndarray  # (m,)
    true_iscrowd: np.ndarray  # (m,) bool
    true_area: np.ndarray  # (m,) float64: COCO's area, default the box's (mask's) area
    image_id: int | None
    names: dict[str, str]  # how errors name each argument of this image


def check_settings(
    labels: Any, iou_thresholds: Any, score_threshold: Any, max_detections: Any
) -> Settings:
    """Validate ``DetectionMetrics``' constructor arguments. Raises ``ValueError``."""
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
    return Settings(given, user, float(score_threshold), int(max_detections))


def prepare_batch(preds: Any, targets: Any, regions: str = "boxes") -> list[Image]:
    """``update_batch``'s lists of dicts as images, every one valid, or ``ValueError``.

    ``regions``: the key holding each image's objects, ``"boxes"`` or ``"masks"``.
    """
    for name, value in (("preds", preds), ("targets", targets)):
        if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__"):
            raise ValueError(f"{name} must be a list of dicts, one per image.")
    if len(preds) != len(targets):
        raise ValueError(f"preds has {len(preds)} images but targets has {len(targets)}.")
    prepare = prepare_image if regions == "boxes" else prepare_mask_image
    images = []
    for i, (pred, target) in enumerate(zip(preds, targets)):
        for name, item, keys in (
            ("preds", pred, (regions, "scores", "labels")),
            ("targets", target, (regions, "labels")),
        ):
            if not isinstance(item, dict):
                raise ValueError(f"{name}[{i}] must be a dict; got {type(item).__name__}.")
            missing = [key for key in keys if key not in item]
            if missing:
                raise ValueError(f"{name}[{i}] has no {missing[0]!r} entry.")
        names = {
            f"pred_{regions}": f"preds[{i}][{regions!r}]",
            "pred_scores": f"preds[{i}]['scores']",
            "pred_labels": f"preds[{i}]['labels']",
            f"true_{regions}": f"targets[{i}][{regions!r}]",
            "true_labels": f"targets[{i}]['labels']",
            "true_iscrowd": f"targets[{i}]['iscrowd']",
            "true_area": f"targets[{i}]['area']",
            "image_id": f"targets[{i}]['image_id']",
        }
        image = prepare(
            pred[regions], pred["scores"], pred["labels"], target[regions], target["labels"],
            target.get("iscrowd"), target.get("area"), target.get("image_id"), names=names,
        )  # fmt: skip
        images.append(image)
    return images


def prepare_image(
    pred_boxes: Any,
    pred_scores: Any,
    pred_labels: Any,
    true_boxes: Any,
    true_labels: Any,
    true_iscrowd: Any = None,
    true_area: Any = None,
    image_id: Any = None,
    *,
    names: dict[str, str] = ARGUMENT_NAMES,
) -> Image:
    """Validate one image's arrays (``update``'s arguments). Raises ``ValueError``."""
    p_boxes = _check_boxes(names["pred_boxes"], pred_boxes)
    t_boxes = _check_boxes(names["true_boxes"], true_boxes)
    area = (t_boxes[:, 2] - t_boxes[:, 0]) * (t_boxes[:, 3] - t_boxes[:, 1])
    return _image(
        p_boxes, pred_scores, pred_labels, t_boxes, true_labels, true_iscrowd,
        true_area, area, image_id, names, "boxes",
    )  # fmt: skip


def prepare_mask_image(
    pred_masks: Any,
    pred_scores: Any,
    pred_labels: Any,
    true_masks: Any,
    true_labels: Any,
    true_iscrowd: Any = None,
    true_area: Any = None,
    image_id: Any = None,
    *,
    names: dict[str, str] = MASK_ARGUMENT_NAMES,
) -> Image:
    """Validate one image of masks (``InstanceSegmentationMetrics.update``'s arguments).

    Masks are ``(n, H, W)`` booleans or lists of COCO RLE dicts
    (``_masks.check_masks``), all of one size; the default ground-truth area
    is the mask's pixel count. Raises ``ValueError``.
    """
    t_masks = _masks.check_masks(names["true_masks"], true_masks, None)
    shape = t_masks.shape[1:] if t_masks.shape[0] else None
    p_masks = _masks.check_masks(names["pred_masks"], pred_masks, shape)
    if shape is None and p_masks.shape[0]:
        t_masks = np.zeros((0, *p_masks.shape[1:]), bool)
    elif not p_masks.shape[0]:
        p_masks = np.zeros((0, *t_masks.shape[1:]), bool)
    return _image(
        p_masks, pred_scores, pred_labels, t_masks, true_labels, true_iscrowd,
        true_area, _masks.mask_area(t_masks), image_id, names, "masks",
    )  # fmt: skip


def _image(
    pred_regions: np.ndarray,
    pred_scores: Any,
    pred_labels: Any,
    true_regions: np.ndarray,
    true_labels: Any,
    true_iscrowd: Any,
    true_area: Any,
    area: np.ndarray,
    image_id: Any,
    names: dict[str, str],
    regions: str,
) -> Image:
    """The checks boxes and masks share: scores, labels, crowd flags, areas, the id."""

    def column(key: str, value: Any, check: Any, side: str) -> np.ndarray:
        array = check(names[key], _empty_1d(names[key], value))
        rows = (pred_regions if side == "pred" else true_regions).shape[0]
        _validation.check_length(names[key], array, rows, names[f"{side}_{regions}"])
        return array

    numbers, labels = _validation.check_finite_numbers, _validation.check_labels_1d
    scores = column("pred_scores", pred_scores, numbers, "pred")
    p_labels = column("pred_labels", pred_labels, labels, "pred")
    t_labels = column("true_labels", true_labels, labels, "true")
    crowd = np.zeros(true_regions.shape[0], bool)
    if true_iscrowd is not None:
        flags = column("true_iscrowd", true_iscrowd, numbers, "true")
        if not np.all((flags == 0) | (flags == 1)):
            raise ValueError(f"{names['true_iscrowd']} must hold 0/1 or booleans.")
        crowd = flags == 1
    if true_area is not None:
        area = column("true_area", true_area, numbers, "true").astype(np.float64)
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
    return Image(
        pred_regions, scores, p_labels, true_regions, t_labels, crowd, area, image_id, names
    )


def check_image_ids(images: list[Image], seen: set[int]) -> list[int]:
    """The images' ids, sorted; ``ValueError`` for an id in ``seen`` or given twice."""
    fresh: set[int] = set()
    for image in images:
        image_id = image.image_id
        if image_id is not None and (image_id in seen or image_id in fresh):
            raise ValueError(f"{image.names['image_id']} {image_id} was already added.")
        if image_id is not None:
            fresh.add(image_id)
    return sorted(fresh)


def resolve_labels(
    images: list[Image], labels: list[Any], index: dict[Any, int], given: bool
) -> list[Any]:
    """The label list after these images: ``labels`` itself when nothing is new.

    Unknown labels are refused when the labels were ``given``, else learned
    and kept sorted (``ValueError`` if they do not sort with the others).
    """
    new: set[Any] = set()
    for image in images:
        for key in ("pred_labels", "true_labels"):
            unknown = [v for v in distinct(getattr(image, key)) if v not in index]
            if unknown and given:
                raise ValueError(
                    f"{image.names[key]} has label {unknown[0]!r}, which is not one of labels."
                )
            new.update(unknown)
    if not new:
        return labels
    try:
        return sorted(set(labels) | new)
    except TypeError:
        raise ValueError(
            "pred_labels / true_labels mix label types (strings and numbers), with each "
            "other or with the labels seen so far."
        ) from None


def check_mergeable(held: list[tuple[set[int], list[Any]]], labels_given: bool) -> None:
    """``ValueError`` if metrics holding these (image ids, labels) may not be merged.

    The first is the metric merged into: an image id held twice is refused,
    and so are learned labels that do not sort together.
    """
    seen, labels = set(held[0][0]), set(held[0][1])
    for ids, other_labels in held[1:]:
        dup = seen & ids
        if dup:
            raise ValueError(f"other has image_id {min(dup)}, which this metric already has.")
        seen |= ids
        labels |= set(other_labels)
    if not labels_given:
        try:
            sorted(labels)
        except TypeError:
            raise ValueError("other has labels of another type (strings vs numbers).") from None


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
