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
    n: int, counts: dict[Any, int], batch: dict[str, Any], task: str
) -> tuple[int, dict[Any, int]]:
    """Return `n` and `counts` with one batch added (`batch`: the engine's bound arguments).

    Classification counts samples per true class; detection and instance
    segmentation count images, and ground-truth objects per class;
    segmentation counts masks (an (H, W) mask is one); regression counts
    samples only. The `counts` given is never changed. The engine has
    accepted the batch, so it is well formed.
    """
    if task in ("detection", "instance_segmentation"):
        targets = batch["targets"]
        objects = [_array(t["labels"]).reshape(-1) for t in targets]
        found = np.concatenate(objects) if objects else np.zeros(0)
        return n + len(targets), _add_counts(counts, found)
    if task == "segmentation":
        shape = np.shape(_array(batch["mask_true"]))
        return n + (1 if len(shape) < 3 else shape[0]), counts
    y_true = batch.get("y_true")
    if task != "classification":
        try:
            return n + len(y_true), counts
        except TypeError:
            return n, counts
    arr = np.asarray(y_true)
    arr = arr.reshape(-1) if arr.ndim else arr.reshape(1)
    return n + int(arr.size), _add_counts(counts, arr)


def count_engine(
    n: int, counts: dict[Any, int], engine: Any, task: str
) -> tuple[int, dict[Any, int]]:
    """Return `n` and `counts` with an engine's data added (``Iteration.update_from``).

    What ``count_samples`` counts batch by batch, read from the engine's state:
    classification samples per true class (the unweighted confusion
    matrix's rows), detection and instance segmentation images and their
    ground truths per class (COCO's: crowd regions are not counted),
    regression samples. A segmentation engine does not count its masks, so
    its ``n`` is left as it was. The `counts` given is never changed.
    """
    if task == "classification":
        per_true = np.asarray(engine.counts).sum(axis=1)
        found = {label: int(c) for label, c in zip(engine.labels, per_true.tolist()) if c}
        return n + int(engine.n_samples), _add_found(counts, found)
    if task in ("detection", "instance_segmentation"):
        per_class = np.asarray(engine.gt_count)[:, 0]  # area range "all"
        found = {label: int(c) for label, c in zip(engine.labels, per_class.tolist()) if c}
        return n + engine.n_images, _add_found(counts, found)
    if task == "segmentation":
        return n, counts
    return n + int(engine.n_samples), counts


def _add_found(counts: dict[Any, int], found: dict[Any, int]) -> dict[Any, int]:
    counts = dict(counts)
    for label, size in found.items():
        key = plain_label(label)
        counts[key] = counts.get(key, 0) + size
    return counts


def _array(value: Any) -> np.ndarray:
    """`value` as numpy; torch tensors on a device or requiring grad too."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu()
    return np.asarray(value)


def _add_counts(counts: dict[Any, int], values: np.ndarray) -> dict[Any, int]:
    """A copy of `counts` with each value of `values` counted once more."""
    counts = dict(counts)
    try:
        labels, sizes = np.unique(values, return_counts=True)
        pairs = zip(labels.tolist(), sizes.tolist(), strict=True)
    except TypeError:  # mixed label types do not sort
        found: dict[Any, int] = {}
        for v in values.tolist():
            found[v] = found.get(v, 0) + 1
        pairs = iter(found.items())
    for label, size in pairs:
        key = plain_label(label)
        counts[key] = counts.get(key, 0) + int(size)
    return counts


def load_class_counts(text: str) -> dict[Any, int]:
    """Return stored ``[[label, count], ...]`` JSON as ``{label: count}``.

    A label stored as a JSON list (a tuple label) comes back as a tuple.
    """
    return {(tuple(k) if isinstance(k, list) else k): v for k, v in json.loads(text)}
