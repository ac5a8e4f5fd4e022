"""The state ``DetectionMetrics`` keeps instead of boxes, and how it is stored.

After ``_coco.match_image`` an image is a few numbers per kept detection,
held as columns of equal length (one row per detection):

- ``det_label`` (class index), ``det_score``, ``det_rank`` (within its image
  and class), ``det_iou`` (IoU of its match at 0.5, else NaN);
- ``det_cm_true``: its row of the detection confusion matrix when every kept
  detection counts (a class, K for background, -1 left out), which makes
  the matrix exact at any score threshold (``_detection_confusion.matrix_at``);
  ``UNKNOWN_ROW`` (-2) in a state stored before runwatch kept it, whose
  matrix is then known only at its own ``score_threshold``;
- ``det_image`` and ``det_auto``: the image's id, or for an image given
  without one its arrival number and ``True`` (those sort after the ids);
- ``det_matched`` and ``det_ignored``: one bit per (area range, IoU
  threshold), area-major, packed into ``n_bytes`` bytes per row;

and per class ``gt_count`` (non-ignored ground truths per area range) and the
(K + 1, K + 1) ``confmat``. ``declarations`` lists them with their merge
rules; ``image_rows`` packs one image's rows, ``append`` concatenates the
rows added since the last read, ``unpack``/``bit`` read the bits back and
``check_loaded`` checks a loaded state fits together. ``relabel`` re-indexes
the class columns to a larger label list; ``config_arrays`` and
``config_from_arrays`` write and read the constructor's arguments in a state
dict.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _coco
from ._base import MergeRule
from ._labels import labels_to_array

N_AREA = len(_coco.AREA_RANGES)

#: The per-detection columns stored as given per image (``det_image``/``det_auto`` are per image).
#: ``det_cm_true`` of a detection loaded from a state stored without that column.
UNKNOWN_ROW = -2

ROW_COLUMNS = ("label", "score", "rank", "matched", "ignored", "iou", "cm_true")


def n_bytes(n_thresholds: int) -> int:
    """Bytes per detection of each packed bit column."""
    return -(-N_AREA * n_thresholds // 8)


def declarations(k: int, n_thresholds: int) -> list[tuple[str, np.ndarray, MergeRule]]:
    """Every state array of a metric with ``k`` classes: (name, empty value, merge rule)."""
    width = n_bytes(n_thresholds)
    return [
        ("det_label", np.zeros(0, np.int32), "cat"),
        ("det_score", np.zeros(0, np.float64), "cat"),
        ("det_image", np.zeros(0, np.int64), "cat"),
        ("det_auto", np.zeros(0, bool), "cat"),
        ("det_rank", np.zeros(0, np.int32), "cat"),
        ("det_matched", np.zeros((0, width), np.uint8), "cat"),
        ("det_ignored", np.zeros((0, width), np.uint8), "cat"),
        ("det_iou", np.zeros(0, np.float64), "cat"),
        ("det_cm_true", np.zeros(0, np.int32), "cat"),
        ("gt_count", np.zeros((k, N_AREA), np.int64), "sum"),
        ("confmat", np.zeros((k + 1, k + 1), np.int64), "sum"),
        ("image_ids", np.zeros(0, np.int64), "cat"),
        ("image_count", np.int64(0), "sum"),
        ("n_auto", np.int64(0), "sum"),
    ]


def image_rows(
    found: dict[str, Any], pred_cats: np.ndarray, scores: np.ndarray, cm_true: np.ndarray
) -> dict[str, Any]:
    """One image's rows (``ROW_COLUMNS``) from ``_coco.match_image``'s result.

    ``cm_true``: the kept detections' confusion rows (``_detection_confusion.kept_rows``).
    """
    keep = found["keep"]
    n = keep.size
    width = found["matched"].shape[1] * found["matched"].shape[2]
    return {
        "label": pred_cats[keep].astype(np.int32),
        "score": scores[keep].astype(np.float64),
        "rank": found["rank"].astype(np.int32),
        "matched": np.packbits(found["matched"].reshape(n, width), axis=1),
        "ignored": np.packbits(found["ignored"].reshape(n, width), axis=1),
        "iou": found["iou"],
        "cm_true": cm_true.astype(np.int32),
    }


def append(columns: dict[str, np.ndarray], parts: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The ``det_*`` columns with the images ``parts`` appended (new arrays).

    Each part is ``image_rows``' result plus its ``image`` and ``auto``: one
    value for all its rows, or one per row (a batch of images matched together).
    """
    sizes = [p["label"].size for p in parts]
    out = {
        f"det_{name}": np.concatenate([columns[f"det_{name}"], *(p[name] for p in parts)])
        for name in ROW_COLUMNS
    }

    def per_row(key: str, dtype: type) -> np.ndarray:
        return np.concatenate(
            [np.broadcast_to(np.asarray(p[key], dtype), (n,)) for p, n in zip(parts, sizes)]
        )

    image, auto = per_row("image", np.int64), per_row("auto", bool)
    out["det_image"] = np.concatenate([columns["det_image"], image])
    out["det_auto"] = np.concatenate([columns["det_auto"], auto])
    return out


def relabel(
    det_label: np.ndarray, gt_count: np.ndarray, where: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """``det_label`` and ``gt_count`` for ``k`` classes, old class ``i`` now ``where[i]``."""
    label = where[det_label].astype(np.int32) if where.size else det_label
    count = np.zeros((k, N_AREA), np.int64)
    count[where] = gt_count
    return label, count


def relabel_rows(cm_true: np.ndarray, where: np.ndarray, k: int) -> np.ndarray:
    """``det_cm_true`` for ``k`` classes: background moves to ``k``, -1 and -2 stay."""
    lookup = np.r_[where, k, UNKNOWN_ROW, -1].astype(np.int32)  # indices -1, -2 read the end
    return lookup[cm_true]


def unpack(packed: np.ndarray, n_thresholds: int) -> np.ndarray:
    """A packed bit column as booleans of shape (n, A, T)."""
    count = N_AREA * n_thresholds
    bits = np.unpackbits(packed, axis=1, count=count).astype(bool)
    return bits.reshape(-1, N_AREA, n_thresholds)


def bit(packed: np.ndarray, index: int) -> np.ndarray:
    """Bit ``index`` of every row of a packed column (area "all" holds the first ``T`` bits)."""
    byte, shift = divmod(index, 8)
    mask = np.uint8(1 << (7 - shift))
    return (packed[:, byte] & mask) > 0


def check_loaded(arrays: dict[str, np.ndarray], k: int, n_thresholds: int) -> None:
    """``ValueError`` unless loaded state arrays fit each other and ``k`` classes."""
    n = arrays["det_label"].size
    for name in ("det_score", "det_image", "det_auto", "det_rank", "det_iou", "det_cm_true"):
        if arrays[name].shape != (n,):
            raise ValueError(f"state array {name!r} does not have {n} detections.")
    for name in ("det_matched", "det_ignored"):
        if arrays[name].shape != (n, n_bytes(n_thresholds)):
            raise ValueError(f"state array {name!r} does not fit {n} detections.")
    if arrays["gt_count"].shape != (k, N_AREA) or arrays["confmat"].shape != (k + 1, k + 1):
        raise ValueError(f"state arrays 'gt_count' and 'confmat' do not fit {k} labels.")
    labels = arrays["det_label"]
    if n and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"state array 'det_label' has classes outside the {k} labels.")
    rows = arrays["det_cm_true"]
    if n and (rows.min() < UNKNOWN_ROW or rows.max() > k):
        raise ValueError(f"state array 'det_cm_true' has rows outside the {k} labels.")


def config_arrays(
    labels: list[Any] | None,
    iou_thresholds: np.ndarray | None,
    score_threshold: float,
    max_detections: int,
) -> dict[str, np.ndarray]:
    """The constructor's arguments as plain arrays (None kept as a ``*_given`` flag)."""
    return {
        "labels": labels_to_array(labels or []),
        "labels_given": np.array(labels is not None),
        "iou_thresholds": np.zeros(0) if iou_thresholds is None else iou_thresholds.copy(),
        "iou_thresholds_given": np.array(iou_thresholds is not None),
        "score_threshold": np.array(score_threshold),
        "max_detections": np.array(max_detections, np.int64),
    }


def config_from_arrays(config: dict[str, np.ndarray]) -> dict[str, Any]:
    """``config_arrays``' result back as constructor arguments; ``ValueError`` if one is missing."""
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


def with_row_column(state: Any) -> Any:
    """``state`` with ``det_cm_true`` all ``UNKNOWN_ROW`` when it was stored without it.

    Detection states written before the column existed (runwatch before the
    score-threshold control) must still open; anything else is returned as
    it is, for ``from_state_dict`` to check.
    """
    if not isinstance(state, dict) or "det_cm_true" in state or "det_label" not in state:
        return state
    try:
        n = int(np.shape(state["det_label"])[0])
    except (TypeError, IndexError, ValueError):
        return state
    return {**state, "det_cm_true": np.full(n, UNKNOWN_ROW, np.int32)}
