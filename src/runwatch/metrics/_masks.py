"""Instance masks: COCO run-length encodings decoded, masks checked, mask IoU, in numpy.

``InstanceSegmentationMetrics`` takes each image's masks either as an
``(n, H, W)`` boolean array (numpy, torch, anything with ``__array__``) or
as a list of COCO RLE dicts, as ``pycocotools.mask.encode`` writes them:
``{"size": [H, W], "counts": ...}`` where ``counts`` is the run lengths of
the **column-major** (Fortran order) pixels, starting with a run of zeros,
either as a list of ints (uncompressed) or as pycocotools' compressed
string (``decode_counts``). ``check_masks`` turns either into flat
``(n, H*W)`` booleans, ``mask_iou`` compares two sets of them as
pycocotools' ``maskUtils.iou`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import _validation

#: Masks with more pixels than this are intersected in float64 (float32 sums are exact below).
_FLOAT32_EXACT = 2**24


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
    starts = np.r_[0, ends[:-1] + 1]
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


def decode_rle(rle: Any, name: str) -> np.ndarray:
    """One COCO RLE dict as an ``(H, W)`` boolean mask. Raises ``ValueError`` naming ``name``."""
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
    values = np.arange(runs.size) % 2 == 1  # runs alternate 0, 1, 0, ... from a run of zeros
    column_major = np.repeat(values, runs)
    return column_major.reshape(width, height).T


def check_masks(name: str, value: Any, shape: tuple[int, int] | None) -> np.ndarray:
    """An image's masks as ``(n, H, W)`` booleans, or ``ValueError`` naming ``name``.

    ``value``: an ``(n, H, W)`` array of booleans (or of 0/1), or a list of
    COCO RLE dicts; an empty list is no masks. ``shape``: the (H, W) the
    masks must have (the other argument's), or None.
    """
    if isinstance(value, Mapping):
        raise ValueError(f"{name} must be a list of RLE dicts (one per object), not one dict.")
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], Mapping):
        masks = np.stack([decode_rle(rle, f"{name}[{i}]") for i, rle in enumerate(value)])
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


def mask_iou(
    det: np.ndarray, gt: np.ndarray, crowd: np.ndarray, det_area: np.ndarray | None = None
) -> np.ndarray:
    """IoU of every mask of ``det`` (rows) with every mask of ``gt`` (columns).

    Masks are ``(n, H, W)`` booleans of one size; ``det_area``, the
    detections' pixel counts, if already known. ``|A ∩ B| / |A ∪ B|``, and
    where ``crowd`` is true ``|A ∩ B| / |A|`` (COCO's crowd rule); 0 where
    the denominator is 0, as ``maskUtils.iou`` gives (it skips masks whose
    boxes do not overlap). Intersections are one matrix product over the
    box around the ground truths' pixels, exact in float32 below 2**24 pixels.
    """
    d, g = det.shape[0], gt.shape[0]
    if d == 0 or g == 0:
        return np.zeros((d, g))
    det_area = mask_area(det) if det_area is None else det_area
    gt_area = mask_area(gt)
    # Intersections only happen inside the box around every ground truth's pixels:
    # a slice there (a view, no gather) before the product.
    rows = np.flatnonzero(gt.any(axis=(0, 2)))
    cols = np.flatnonzero(gt.any(axis=(0, 1)))
    inter = np.zeros((d, g))
    if rows.size:
        box = (slice(None), slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        a, b = det[box].reshape(d, -1), gt[box].reshape(g, -1)
        dtype = np.float32 if a.shape[1] < _FLOAT32_EXACT else np.float64
        inter = (a.astype(dtype) @ b.T.astype(dtype)).astype(np.float64)
    union = det_area[:, None] + gt_area[None, :] - inter
    union = np.where(np.asarray(crowd, bool)[None, :], det_area[:, None], union)
    out = np.zeros((d, g))
    np.divide(inter, union, out=out, where=union > 0)
    return out


def mask_area(masks: np.ndarray) -> np.ndarray:
    """Pixels in each mask, as float64 (COCO's ``area`` of a mask)."""
    return np.count_nonzero(masks, axis=(1, 2)).astype(np.float64)
