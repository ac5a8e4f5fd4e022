"""Label encoding: the dictionary path for small batches equals the sorting path for large ones."""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.metrics._labels import _SMALL, distinct, encode

CASES = [
    (np.array([3, 1, 2, 7, 1]), {1: 0, 2: 1, 3: 2}),
    (np.array([0.0, -0.0, 2.5, 1.0, 9.0]), {0.0: 0, 1: 1, 2.5: 2}),  # -0.0 is 0.0; 1.0 is 1
    (np.array([True, False, True]), {False: 0}),
    (np.array(["dog", "cat", "eel", "cat"]), {"cat": 0, "dog": 1}),
    (np.array([b"x", b"y", b"x"]), {b"y": 0}),
    (np.array(["cat", 1, 2.5], dtype=object)[1:], {1: 0}),
]


@pytest.mark.parametrize(("values", "index"), CASES)
def test_small_batches_encode_as_large_ones(values, index):
    large = np.tile(values, _SMALL // values.size + 1)
    assert large.size > _SMALL >= values.size
    codes, unknown = encode("y", values, index)
    big_codes, big_unknown = encode("y", large, index)
    np.testing.assert_array_equal(big_codes[: values.size], codes)
    assert unknown == big_unknown and distinct(values) == distinct(large)
    assert [type(v) for v in distinct(values)] == [type(v) for v in distinct(large)]
    assert codes.dtype == np.int64
