"""Small PNG thumbnails of whatever a user's ``thumbnail(id)`` function returns.

``RunDetails(run, thumbnail=fn)`` shows the samples of a confusion-matrix cell
and the top losses as a gallery; ``fn`` maps a sample id to an image: a numpy
array (anything with ``__array__``: a torch tensor, a PIL image), or PNG bytes.
:func:`thumbnail_png` turns it into a PNG of at most :data:`MAX_SIDE` pixels a
side, a few KB, without Pillow: arrays are shrunk by block averaging and
encoded here (zlib); PNG bytes already small enough go as they are, larger
ones are shrunk through Pillow when it is installed. What cannot be read
raises :class:`ThumbnailError` with one sentence naming the id.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np

#: Longest side of a thumbnail, in pixels.
MAX_SIDE = 96
#: PNG bytes passed through unchanged at most (a larger file is decoded and shrunk).
MAX_PNG_BYTES = 48_000

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PIL_MODES = ("1", "L", "LA", "RGB", "RGBA")  # PIL modes numpy reads as colours
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (grey, grey+alpha, RGB, RGBA)


class ThumbnailError(ValueError):
    """An image that cannot become a thumbnail; the message is one sentence for the page."""


def thumbnail_png(image: Any, sample_id: Any, max_side: int = MAX_SIDE) -> bytes:
    """A PNG of ``image`` at most ``max_side`` pixels a side.

    Parameters
    ----------
    image : numpy array, PIL image, object with ``__array__``, or PNG bytes
        Arrays: (H, W) grey, (H, W, C) or (C, H, W) with C in 1, 3, 4;
        ``uint8``, booleans, other integers within [0, 255], or floats within
        [0, 1] (torchvision's convention).
    sample_id : hashable
        Named in the error message.
    max_side : int
        Longest side of the result.

    Raises
    ------
    ThumbnailError
        One sentence naming the sample id and what is wrong.
    """
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _from_png(bytes(image), sample_id, max_side)
    if isinstance(image, str) or not (
        isinstance(image, np.ndarray) or hasattr(image, "__array__")
        or hasattr(image, "__array_interface__")
    ):  # fmt: skip
        raise ThumbnailError(
            f"thumbnail({sample_id!r}) returned {type(image).__name__}; it must return a "
            "numpy array, a PIL image or PNG bytes."
        )
    if hasattr(image, "convert") and getattr(image, "mode", "RGB") not in _PIL_MODES:
        image = image.convert("RGBA")  # palette, CMYK, 16-bit...: their pixels are not colours
    try:
        pixels = np.asarray(image)
    except Exception as exc:  # an object whose __array__ fails
        raise ThumbnailError(
            f"thumbnail({sample_id!r}) returned a {type(image).__name__} that numpy cannot read "
            f"({exc})."
        ) from None
    return encode_png(shrink(as_uint8(pixels, sample_id), max_side))


def as_uint8(pixels: np.ndarray, sample_id: Any) -> np.ndarray:
    """``pixels`` as (H, W, C) ``uint8``, C in 1, 3, 4 (``ThumbnailError`` otherwise)."""
    if pixels.ndim == 3 and pixels.shape[0] in (1, 3, 4) and pixels.shape[-1] not in (1, 3, 4):
        pixels = np.moveaxis(pixels, 0, -1)  # channels first (torch): channels last
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[-1] not in (1, 3, 4) or 0 in pixels.shape:
        raise ThumbnailError(
            f"thumbnail({sample_id!r}) returned an array of shape {pixels.shape}; an image is "
            "(H, W), (H, W, C) or (C, H, W) with C = 1, 3 or 4."
        )
    kind = pixels.dtype.kind
    if kind == "b":
        return pixels.astype(np.uint8) * 255
    if kind in "iu":
        if pixels.dtype == np.uint8:
            return pixels
        if pixels.min() < 0 or pixels.max() > 255:
            raise ThumbnailError(
                f"thumbnail({sample_id!r}) returned {pixels.dtype} values outside [0, 255]."
            )
        return pixels.astype(np.uint8)
    if kind == "f":
        if not np.isfinite(pixels).all() or pixels.min() < 0 or pixels.max() > 1:
            raise ThumbnailError(
                f"thumbnail({sample_id!r}) returned float values outside [0, 1] (or NaN); "
                "float images must be in [0, 1]."
            )
        return np.round(pixels * 255).astype(np.uint8)
    raise ThumbnailError(
        f"thumbnail({sample_id!r}) returned an array of dtype {pixels.dtype}, not an image."
    )


def shrink(pixels: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """``pixels`` (H, W, C) ``uint8`` with its longest side at most ``max_side``.

    Block averaging by the smallest whole factor that fits (the edges
    repeated to fill the last block): every source pixel counts, so thin
    lines and noise do not alias as they would with one pixel per block.
    """
    h, w, c = pixels.shape
    f = -(-max(h, w) // max_side)
    if f <= 1:
        return pixels
    hh, ww = -(-h // f) * f, -(-w // f) * f
    padded = np.pad(pixels, ((0, hh - h), (0, ww - w), (0, 0)), mode="edge")
    blocks = padded.reshape(hh // f, f, ww // f, f, c).astype(np.float32)
    return np.round(blocks.mean(axis=(1, 3))).astype(np.uint8)


def encode_png(pixels: np.ndarray) -> bytes:
    """An 8-bit PNG of ``pixels`` (H, W, C) ``uint8``: filter "none" on every row, zlib level 9."""
    h, w, c = pixels.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), pixels.reshape(h, w * c)], axis=1)
    header = struct.pack(">IIBBBBB", w, h, 8, _COLOR_TYPE[c], 0, 0, 0)
    return b"".join(
        [
            _PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)),
            _chunk(b"IEND", b""),
        ]
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's header, or None when ``data`` is not a PNG."""
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _from_png(data: bytes, sample_id: Any, max_side: int) -> bytes:
    size = png_size(data)
    if size is None:
        raise ThumbnailError(f"thumbnail({sample_id!r}) returned bytes that are not a PNG image.")
    if max(size) <= max_side and len(data) <= MAX_PNG_BYTES:
        return data
    try:
        import io

        from PIL import Image
    except ImportError:
        raise ThumbnailError(
            f"thumbnail({sample_id!r}) returned a {size[0]}x{size[1]} PNG; shrinking it needs "
            f"Pillow (pip install pillow), or return an array or a PNG of at most {max_side} px."
        ) from None
    try:
        with Image.open(io.BytesIO(data)) as img:
            pixels = np.asarray(img.convert("RGBA" if "A" in img.getbands() else "RGB"))
    except Exception as exc:
        raise ThumbnailError(
            f"thumbnail({sample_id!r}) returned a PNG that cannot be read ({exc})."
        ) from None
    return encode_png(shrink(pixels, max_side))
