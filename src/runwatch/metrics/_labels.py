"""Class labels: encoding a batch to indices and learning new labels as they arrive.

Labels are kept as plain Python scalars (``int``, ``float``, ``bool``, ``str``)
so they hash the same whatever array they came from; a label set is a list
whose position is the class index used by every state array.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

#: Up to this many values (one image's boxes, say), a dictionary look-up per value
#: costs less than ``np.unique``'s fixed overhead; above it, sorting wins.
_SMALL = 64


def as_label_list(values: Iterable[Any]) -> list[Any]:
    """Plain Python scalars for ``values`` (numpy scalars unwrapped), order kept."""
    out = np.asarray(list(values) if not isinstance(values, np.ndarray) else values)
    if out.ndim != 1:
        raise ValueError(f"labels must be 1-D; got an array of shape {out.shape}.")
    labels = out.tolist()
    if len(set(labels)) != len(labels):
        raise ValueError("labels contains duplicates.")
    return labels


def sorted_labels(labels: Iterable[Any]) -> list[Any]:
    """Labels in ascending order (as scikit-learn orders ``classes_``)."""
    return sorted(labels)


def encode(name: str, values: np.ndarray, index: dict[Any, int]) -> tuple[np.ndarray, list[Any]]:
    """Class indices of ``values`` under ``index``; -1 and the list of unknown labels otherwise.

    Sorting the batch once (``np.unique``) keeps the Python-level work at one
    dictionary look-up per distinct label, not per sample.
    """
    if values.size == 0:
        return np.zeros(0, np.int64), []
    if values.size <= _SMALL:
        items = values.tolist()
        codes = np.array([index.get(v, -1) for v in items], dtype=np.int64)
        return codes, sorted({v for v, c in zip(items, codes.tolist()) if c < 0})
    uniques, inverse = np.unique(values, return_inverse=True)
    distinct = uniques.tolist()
    codes = np.array([index.get(u, -1) for u in distinct], dtype=np.int64)
    unknown = [u for u, c in zip(distinct, codes) if c < 0]
    return codes[inverse.reshape(-1)], unknown


def distinct(values: np.ndarray) -> list[Any]:
    """The distinct labels of a batch as Python scalars, sorted."""
    if values.size <= _SMALL:
        return sorted(set(values.tolist()))
    return np.unique(values).tolist()


def labels_to_array(labels: list[Any]) -> np.ndarray:
    """A non-object numpy array of the labels, for a state dict."""
    array = np.asarray(labels) if labels else np.zeros(0, np.int64)
    if array.dtype.kind == "O":
        raise ValueError("labels must be all strings or all numbers to be saved.")
    return array


def merged_labels(
    a: list[Any], a_fixed: bool, b: list[Any], b_fixed: bool
) -> tuple[list[Any], bool]:
    """The label set of two merged metrics, and whether it is fixed (``y_proba`` columns).

    Two fixed sets must be equal; a fixed set takes in a learned one only when
    every learned label is among its columns; two learned sets unite, sorted.
    ``other`` in the messages is the metric being merged in.
    """
    if a_fixed and b_fixed:
        if a != b:
            raise ValueError("other has different y_proba columns; they cannot be merged.")
        return a, True
    for fixed, fixed_known, loose in ((a, a_fixed, b), (b, b_fixed, a)):
        if fixed_known:
            columns = set(fixed)
            stray = [v for v in loose if v not in columns]
            if stray:
                raise ValueError(f"other has label {stray[0]!r} outside the y_proba columns.")
            return fixed, True
    try:
        return sorted(set(a) | set(b)), False
    except TypeError:
        raise ValueError("other has labels of another type (strings vs numbers).") from None
