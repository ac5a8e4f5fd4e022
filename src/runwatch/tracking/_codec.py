"""How arrays and metrics become column values, and back.

An engine state is a dict of plain numpy arrays; each array is stored as its
dtype, shape and raw bytes (:func:`encode_array`), never pickle, so a store or
an exported document can be read without running code from it. Metrics are
stored as JSON, NaN and infinities as null (:func:`dumps_metrics`).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def encode_array(arr: Any, name: str = "state") -> tuple[str, list[int], bytes]:
    """Return (dtype, shape, raw bytes) of a plain numpy array.

    Raises
    ------
    ValueError
        For object or structured dtypes, which cannot travel without pickle.
    """
    arr = np.asarray(arr)
    if not arr.flags.c_contiguous:  # (np.ascontiguousarray would make a 0-d array 1-d)
        arr = arr.copy(order="C")
    if arr.dtype.hasobject or arr.dtype.fields is not None:
        raise ValueError(f"{name} must hold plain numpy arrays, got dtype {arr.dtype}")
    return arr.dtype.str, [int(n) for n in arr.shape], arr.tobytes()


def decode_array(dtype: str, shape: list[int], data: bytes, name: str = "state") -> np.ndarray:
    """Return the array that `encode_array` described.

    Raises
    ------
    ValueError
        When the dtype is not a plain one or the bytes do not fill the shape.
    """
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"{name} has an unknown dtype {dtype!r}") from None
    if dt.hasobject or dt.fields is not None:
        raise ValueError(f"{name} must hold plain numpy arrays, got dtype {dtype!r}")
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise ValueError(f"{name} has an invalid shape {shape!r}")
    size = math.prod(shape)
    if len(data) != size * dt.itemsize:
        raise ValueError(
            f"{name} holds {len(data)} bytes where dtype {dtype} and shape {shape} need "
            f"{size * dt.itemsize}"
        )
    if size == 0 or dt.itemsize == 0:
        return np.zeros(tuple(shape), dtype=dt)
    return np.frombuffer(data, dtype=dt).reshape(tuple(shape)).copy()


def loads_metrics(text: str | None) -> dict[str, float]:
    """Return a metrics dict stored as JSON (null stands for NaN)."""
    if not text:
        return {}
    return {k: (math.nan if v is None else float(v)) for k, v in json.loads(text).items()}


def dumps_metrics(metrics: dict[str, Any]) -> str:
    """Return `metrics` as JSON text, NaN and infinities as null."""
    out = {}
    for key, value in metrics.items():
        v = float(value)
        out[str(key)] = v if math.isfinite(v) else None
    return json.dumps(out, sort_keys=True)
