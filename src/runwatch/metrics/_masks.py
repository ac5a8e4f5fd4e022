"""Instance masks: COCO run-length encodings decoded, masks checked, mask IoU, in numpy.

``InstanceSegmentationMetrics`` takes each image's masks either as an
``(n, H, W)`` boolean array (numpy, torch, anything with ``__array__``) or
as a list of COCO RLE dicts, as ``pycocotools.mask.encode`` writes them:
``{"size": [H, W], "counts": ...}`` where ``counts`` is the run lengths of
the **column-major** (Fortran order) pixels, starting with a run of zeros,
either as a list of ints (uncompressed) or as pycocotools' compressed
string (``decode_counts``). ``check_masks`` checks either and keeps RLE
as runs (``_mask_runs.RunMasks``, never decoded), ``mask_iou`` compares two
sets of masks as pycocotools' ``maskUtils.iou`` does, reading pixels only
where the masks' boxes meet, and ``mask_area`` counts their pixels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import _validation
from ._mask_runs import RunMasks, intersection

#: An image's masks: ``(n, H, W)`` booleans, or COCO RLE dicts kept as runs.
Masks = np.ndarray | RunMasks


def decode_counts(text: str | bytes) -> np.ndarray:
    """The run lengths of pycocotools' compressed RLE string (``rleFrString``), as int64.

    Each count is written in 5-bit groups, least significant first, as the
    characters ``48 + group`` with bit 0x20 meaning "more groups follow" and
    bit 0x10 of the last group the sign; from the fourth count on, the count
    is stored as its difference from the count two before.

    Raises
    ------
    ValueError
        When the text is not such a string.
    """
    raw = text.encode("ascii") if isinstance(text, str) else bytes(text)
    chars = np.frombuffer(raw, np.uint8).astype(np.int64) - 48
    if chars.size == 0:
        return np.zeros(0, np.int64)
    if chars.min() < 0 or chars.max() > 63:
        raise ValueError("is not a COCO compressed RLE string (characters outside '0'..'o')")
    more = (chars & 0x20) > 0
    if more[-1]:
        raise ValueError("is not a COCO compressed RLE string (it ends inside a count)")
    ends = np.flatnonzero(~more)
    starts = np.concatenate(([0], ends[:-1] + 1))
    position = np.arange(chars.size) - np.repeat(starts, ends - starts + 1)
    if position.max() > 11:  # 60 bits: more would not fit the int64 the counts are read into
        raise ValueError("is not a COCO compressed RLE string (a count is too long)")
    values = np.add.reduceat((chars & 0x1F) << (5 * position), starts)
    negative = (chars[ends] & 0x10) > 0
    values = values - np.where(negative, np.int64(1) << (5 * (ends - starts + 1)), 0)
    # From index 3 on each count is a difference to the count two before: a
    # running sum over the odd indices, and over the even ones from index 2.
    counts = values.copy()
    counts[1::2] = np.cumsum(values[1::2])
    if counts.size > 2:
        counts[2::2] = np.cumsum(values[2::2])
    return counts


def rle_counts(rle: Any, name: str) -> tuple[int, int, np.ndarray]:
    """One COCO RLE dict as ``(height, width, run lengths)``; ``ValueError`` naming ``name``."""
    if not isinstance(rle, Mapping) or "size" not in rle or "counts" not in rle:
        raise ValueError(f"{name} must be a COCO RLE dict with 'size' and 'counts'.")
    size = rle["size"]
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"{name}['size'] must be [height, width]; got {size!r}.") from None
    if height < 0 or width < 0 or [height, width] != [v for v in size]:
        raise ValueError(f"{name}['size'] must be two whole numbers >= 0; got {size!r}.")
    counts = rle["counts"]
    if isinstance(counts, (str, bytes)):
        try:
            runs = decode_counts(counts)
        except ValueError as exc:
            raise ValueError(f"{name}['counts'] {exc}.") from None
    else:
        runs = _validation.to_numpy(f"{name}['counts']", counts)
        if runs.size == 0:
            runs = np.zeros(0, np.int64)
        if runs.ndim != 1 or runs.dtype.kind not in "iu":
            raise ValueError(f"{name}['counts'] must be a list of run lengths (ints).")
        runs = runs.astype(np.int64)
    if runs.size and runs.min() < 0:
        raise ValueError(f"{name}['counts'] has a negative run length.")
    if int(runs.sum()) != height * width:
        raise ValueError(
            f"{name}['counts'] covers {int(runs.sum())} pixels but 'size' {height}x{width} "
            f"has {height * width}."
        )
    return height, width, runs


def decode_rle(rle: Any, name: str) -> np.ndarray:
    """One COCO RLE dict as an ``(H, W)`` boolean mask. Raises ``ValueError`` naming ``name``."""
    height, width, runs = rle_counts(rle, name)
    values = np.arange(runs.size) % 2 == 1  # runs alternate 0, 1, 0, ... from a run of zeros
    column_major = np.repeat(values, runs)
    return column_major.reshape(width, height).T


def check_masks(name: str, value: Any, shape: tuple[int, int] | None) -> Masks:
    """An image's masks as ``(n, H, W)`` booleans or ``RunMasks``; ``ValueError`` naming ``name``.

    ``value``: an ``(n, H, W)`` array of booleans (or of 0/1), or a list of
    COCO RLE dicts (kept as runs, never decoded); an empty list is no masks.
    ``shape``: the (H, W) the masks must have (the other argument's), or None.
    """
    if isinstance(value, Mapping):
        raise ValueError(f"{name} must be a list of RLE dicts (one per object), not one dict.")
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], Mapping):
        decoded = [rle_counts(rle, f"{name}[{i}]") for i, rle in enumerate(value)]
        height, width = decoded[0][:2]
        for i, (h, w, _) in enumerate(decoded):
            if (h, w) != (height, width):
                raise ValueError(f"{name}[{i}] is {h}x{w} but {name}[0] is {height}x{width}.")
        masks: Masks = RunMasks.from_counts(height, width, [r for *_, r in decoded])
    else:
        array = _validation.to_numpy(name, value)
        if array.size == 0 and array.ndim <= 1:
            return np.zeros((0, *(shape or (0, 0))), bool)
        if array.ndim != 3:
            raise ValueError(
                f"{name} must have shape (n, H, W) or be a list of RLE dicts; got {array.shape}."
            )
        if array.dtype.kind == "b":
            masks = array
        elif array.dtype.kind in "iuf":
            if not np.all((array == 0) | (array == 1)):
                raise ValueError(f"{name} must hold booleans (or 0/1).")
            masks = array != 0
        else:
            raise ValueError(f"{name} must hold booleans; got dtype {array.dtype}.")
    if shape is not None and masks.shape[1:] != tuple(shape) and masks.shape[0]:
        raise ValueError(
            f"{name} has masks of size {masks.shape[1]}x{masks.shape[2]} but the image's other "
            f"masks are {shape[0]}x{shape[1]}."
        )
    return masks


def same_kind(det: Masks, gt: Masks) -> tuple[Masks, Masks]:
    """Both sets as runs, or both dense: RLE is decoded only when an image mixes the two.

    An empty side (given as ``[]``) is either, so it never makes the other decode.
    """
    mixed = isinstance(det, RunMasks) != isinstance(gt, RunMasks)
    if mixed and det.shape[0] and gt.shape[0]:
        det = det.dense() if isinstance(det, RunMasks) else det
        gt = gt.dense() if isinstance(gt, RunMasks) else gt
    return det, gt


def mask_iou(det: Masks, gt: Masks, crowd: np.ndarray) -> np.ndarray:
    """IoU of every ``det`` mask (rows) with every ``gt`` mask (columns); see ``mask_overlap``."""
    return mask_overlap(det, gt, crowd)[0]


def mask_overlap(det: Masks, gt: Masks, crowd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COCO's mask IoU of every ``det`` (rows) with every ``gt`` (columns), and ``det``'s areas.

    Masks are ``(n, H, W)`` booleans or ``RunMasks``, of one size.
    ``|A ∩ B| / |A ∪ B|``, and where ``crowd`` is true ``|A ∩ B| / |A|``
    (COCO's crowd rule); 0 where the denominator is 0, as ``maskUtils.iou``.

    As pycocotools, pixels are only counted where the masks' boxes overlap:
    a pair whose boxes are apart shares no pixel and is 0 without reading
    one; the others are counted inside the intersection of their boxes
    (dense) or by intersecting their runs (RLE).
    """
    det, gt = same_kind(det, gt)
    d, g = det.shape[0], gt.shape[0]
    det_box, det_area = boxes_and_area(det)
    if d == 0 or g == 0:
        return np.zeros((d, g)), det_area
    gt_box, gt_area = boxes_and_area(gt)
    inter = np.zeros((d, g))
    top = np.maximum(det_box[:, None, 0], gt_box[None, :, 0])
    bottom = np.minimum(det_box[:, None, 1], gt_box[None, :, 1])
    left = np.maximum(det_box[:, None, 2], gt_box[None, :, 2])
    right = np.minimum(det_box[:, None, 3], gt_box[None, :, 3])
    filled = (det_box[:, None, 0] >= 0) & (gt_box[None, :, 0] >= 0)  # empty masks meet none
    meet = (top <= bottom) & (left <= right) & filled
    if isinstance(det, RunMasks):
        for i, j in zip(*np.nonzero(meet)):
            inter[i, j] = intersection(det.starts[i], det.ends[i], gt.starts[j], gt.ends[j])
    else:
        for i, j in zip(*np.nonzero(meet)):
            rows = slice(top[i, j], bottom[i, j] + 1)
            cols = slice(left[i, j], right[i, j] + 1)
            inter[i, j] = np.count_nonzero(det[i, rows, cols] & gt[j, rows, cols])
    union = det_area[:, None] + gt_area[None, :] - inter
    union = np.where(np.asarray(crowd, bool)[None, :], det_area[:, None], union)
    out = np.zeros((d, g))
    np.divide(inter, union, out=out, where=union > 0)
    return out, det_area


def boxes_and_area(masks: Masks) -> tuple[np.ndarray, np.ndarray]:
    """Each mask's pixel box ``(row0, row1, col0, col1)`` (inclusive; -1 rows if empty), area."""
    if isinstance(masks, RunMasks):
        return masks.boxes(), masks.area()
    n, height, width = masks.shape
    boxes = np.full((n, 4), -1, np.int64)
    area = np.zeros(n)
    if n == 0 or height == 0 or width == 0:
        return boxes, area
    rows = _rows_with_pixels(masks)
    for i in range(n):
        hit = np.flatnonzero(rows[i])
        if not hit.size:
            continue
        band = masks[i, hit[0] : hit[-1] + 1]  # the rows holding the mask: read once more
        cols = np.flatnonzero(band.any(axis=0))
        boxes[i] = hit[0], hit[-1], cols[0], cols[-1]
        area[i] = np.count_nonzero(band)
    return boxes, area


def _rows_with_pixels(masks: np.ndarray) -> np.ndarray:
    """(n, H): whether each row of each mask holds a pixel.

    Read as 64-bit words where the rows allow it: eight booleans per word,
    and a row holds a pixel when its largest word is not 0, a reduction
    numpy vectorizes (``any`` on booleans it does byte by byte).
    """
    n, height, width = masks.shape
    if width % 8 == 0 and masks.flags.c_contiguous:
        words = masks.view(np.uint8).view(np.uint64).reshape(n, height, width // 8)
        return words.max(axis=2) != 0
    return masks.any(axis=2)


def mask_area(masks: Masks) -> np.ndarray:
    """Pixels in each mask, as float64 (COCO's ``area`` of a mask)."""
    if isinstance(masks, RunMasks):
        return masks.area()
    return np.array([float(np.count_nonzero(m)) for m in masks])
