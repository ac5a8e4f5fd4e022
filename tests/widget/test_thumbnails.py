"""widget._thumbnails: what a thumbnail function may return, the PNG it becomes, the refusals."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from runwatch.widget._thumbnails import (
    MAX_SIDE,
    ThumbnailError,
    encode_png,
    png_size,
    shrink,
    thumbnail_png,
)


def _decoded(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_encoded_pngs_decode_to_the_same_pixels(channels):
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 256, (37, 53, channels), dtype=np.uint8)
    out = _decoded(encode_png(pixels))
    np.testing.assert_array_equal(out.reshape(pixels.shape), pixels)


def test_shrinking_averages_blocks_and_keeps_the_aspect():
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)
    small = shrink(pixels)
    assert small.shape == (75, 50, 3)  # a factor of 4: 300 / 4 = 75 <= 96
    want = pixels.reshape(75, 4, 50, 4, 3).mean(axis=(1, 3))
    assert np.abs(small.astype(float) - want).max() <= 0.5
    assert shrink(pixels[:90, :60]).shape == (90, 60, 3)  # small enough: unchanged


@pytest.mark.parametrize(
    "image, check",
    [
        (np.zeros((500, 700), np.uint8), lambda a: a.shape == (63, 88)),  # blocks of 8
        (np.ones((3, 64, 64), np.float32), lambda a: a.shape == (64, 64, 3) and a.min() == 255),
        (np.eye(50, dtype=bool), lambda a: a[0, 0] == 255 and a[0, 1] == 0),
        (np.full((40, 40, 4), 1000, np.int32) // 8, lambda a: a[0, 0, 0] == 125),
    ],
)
def test_arrays_of_every_usual_layout_and_dtype(image, check):
    png = thumbnail_png(image, "x")
    assert max(png_size(png)) <= MAX_SIDE
    assert check(_decoded(png))


def test_pil_images_and_png_bytes():
    img = Image.new("P", (300, 120))
    img.putpalette([255, 0, 0] * 256)  # every index is red: the palette must be applied
    out = _decoded(thumbnail_png(img, "p"))
    assert out.shape[:2] == (30, 75) and tuple(out[0, 0, :3]) == (255, 0, 0)  # blocks of 4
    small = io.BytesIO()
    Image.new("RGB", (50, 30), (0, 128, 0)).save(small, "PNG")
    assert thumbnail_png(small.getvalue(), "s") == small.getvalue()  # small: as it is
    big = io.BytesIO()
    Image.new("RGB", (1000, 400), (0, 0, 200)).save(big, "PNG")
    out = _decoded(thumbnail_png(big.getvalue(), "b"))
    assert out.shape == (37, 91, 3) and tuple(out[5, 5]) == (0, 0, 200)  # blocks of 11


NOT_AN_IMAGE = "it must return a numpy array, a PIL image or PNG bytes."
SHAPES = "an image is (H, W), (H, W, C) or (C, H, W) with C = 1, 3 or 4."


@pytest.mark.parametrize(
    "image, message",
    [
        ([[0, 1]], f"thumbnail('a') returned list; {NOT_AN_IMAGE}"),
        ("cat.png", f"thumbnail('a') returned str; {NOT_AN_IMAGE}"),
        (b"GIF89a....", "thumbnail('a') returned bytes that are not a PNG image."),
        (np.zeros((5, 5, 2)), f"thumbnail('a') returned an array of shape (5, 5, 2); {SHAPES}"),
        (
            np.full((4, 4), 2.0),
            "thumbnail('a') returned float values outside [0, 1] (or NaN); "
            "float images must be in [0, 1].",
        ),
        (np.full((4, 4), -1), "thumbnail('a') returned int64 values outside [0, 255]."),
    ],
)
def test_what_is_not_an_image_is_one_sentence(image, message):
    with pytest.raises(ThumbnailError) as err:
        thumbnail_png(image, "a")
    assert str(err.value) == message
