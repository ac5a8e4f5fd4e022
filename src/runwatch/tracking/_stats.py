"""Dataset stats of a split: how many samples it saw, and per class how many.

An :class:`~runwatch.tracking.iteration.Iteration` counts every batch it is
fed (on the caller's thread, next to the engine update); the writer stores the
counts as ``[[label, count], ...]`` JSON, and :func:`load_class_counts` reads
them back.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ._validate import plain_label


def count_samples(
    n: int, counts: dict[Any, int], y_true: Any, task: str
) -> tuple[int, dict[Any, int]]:
    """Return `n` and `counts` with one batch's true values added.

    Classification counts per class (unweighted); other tasks count samples
    only. The `counts` given is never changed.
    """
    if task != "classification":
        try:
            return n + len(y_true), counts
        except TypeError:
            return n, counts
    arr = np.asarray(y_true)
    arr = arr.reshape(-1) if arr.ndim else arr.reshape(1)
    counts = dict(counts)
    try:
        labels, sizes = np.unique(arr, return_counts=True)
        pairs = zip(labels.tolist(), sizes.tolist(), strict=True)
    except TypeError:  # mixed label types do not sort
        found: dict[Any, int] = {}
        for v in arr.tolist():
            found[v] = found.get(v, 0) + 1
        pairs = iter(found.items())
    for label, size in pairs:
        key = plain_label(label)
        counts[key] = counts.get(key, 0) + int(size)
    return n + int(arr.size), counts


def load_class_counts(text: str) -> dict[Any, int]:
    """Return stored ``[[label, count], ...]`` JSON as ``{label: count}``.

    A label stored as a JSON list (a tuple label) comes back as a tuple.
    """
    return {(tuple(k) if isinstance(k, list) else k): v for k, v in json.loads(text)}
