"""The array and metrics codec: plain arrays as raw bytes, never pickle."""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.tracking._codec import decode_array, encode_array


@pytest.mark.parametrize(
    "arr",
    [
        np.array(3),
        np.array("classification"),
        np.array([True, False]),
        np.arange(12, dtype=np.int32).reshape(3, 4),
        np.linspace(0, 1, 7, dtype=">f8"),
        np.zeros((0, 3)),
        np.array(["a", "bb"]),
        np.arange(6, dtype=np.float32).reshape(2, 3).T,  # not C-contiguous
    ],
)
def test_arrays_round_trip_as_raw_bytes(arr):
    dtype, shape, data = encode_array(arr)
    assert isinstance(data, bytes) and b"pickle" not in data
    back = decode_array(dtype, shape, data)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    assert back.flags.writeable


def test_object_arrays_are_refused():
    with pytest.raises(ValueError, match="plain numpy arrays"):
        encode_array(np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="plain numpy arrays"):
        decode_array("|O", [1], b"\0" * 8)
    with pytest.raises(ValueError, match="bytes"):
        decode_array("<i8", [2], b"\0" * 8)
