"""What every integration shares: checking its arguments, feeding a model's predictions.

The helpers validate before anything is written, so a refused call leaves the
store exactly as it was, and turn an estimator's ``predict_proba`` columns
(in its ``classes_`` order) into the run's label order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from runwatch.tracking import Iteration, Run
from runwatch.tracking._validate import plain_label


def check_run(run: Any) -> Run:
    """Return `run` when it is a :class:`~runwatch.tracking.Run`; else raise ValueError."""
    if not isinstance(run, Run):
        raise ValueError(f"run must be a runwatch Run (rw.Run(...)), got {type(run).__name__}")
    return run


def n_rows(data: Any, name: str) -> int:
    """Return the number of rows (samples) of `data`, naming `name` when it has none."""
    shape = getattr(data, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    if isinstance(data, (str, bytes)) or not hasattr(data, "__len__"):
        raise ValueError(f"{name} must be an array of samples, got {type(data).__name__}")
    return len(data)


def check_pair(X: Any, y: Any, x_name: str, y_name: str, required: bool = True) -> bool:
    """Check that X and y are given together with as many rows; return whether given."""
    if X is None and y is None:
        if required:
            raise ValueError(f"{x_name} and {y_name} are required")
        return False
    if X is None or y is None:
        missing, given = (x_name, y_name) if X is None else (y_name, x_name)
        raise ValueError(f"{missing} is missing while {given} is given; pass both or neither")
    nx, ny = n_rows(X, x_name), n_rows(y, y_name)
    if nx != ny:
        raise ValueError(f"{y_name} has {ny} samples but {x_name} has {nx}; they must match")
    if ny == 0:
        raise ValueError(f"{x_name} has no samples")
    return True


def class_labels(run: Run, ys: list[tuple[str, Any]]) -> list[Any]:
    """Return the labels a classification run's ``y_proba`` columns follow.

    The run's own labels when it has them (every label of the `ys` must be one
    of them); else the classes must be the integers 0..K-1, which a run without
    labels takes ``y_proba`` columns to be.
    """
    seen: dict[Any, None] = {}
    for name, y in ys:
        for value in np.unique(np.asarray(y)):
            seen.setdefault(plain_label(value), None)
            if run.labels is not None and plain_label(value) not in run.labels:
                raise ValueError(
                    f"{name} has label {plain_label(value)!r}, which is not one of the run's "
                    f"labels {run.labels!r}"
                )
    if run.labels is not None:
        return list(run.labels)
    ints = [v for v in seen if isinstance(v, int) and not isinstance(v, bool) and v >= 0]
    if len(ints) != len(seen):
        shown = sorted(seen, key=repr)[:5]
        raise ValueError(
            f"run {run.name!r} has no labels and the classes ({shown}) are not 0..K-1; "
            "create it with rw.Run(..., labels=[...]) to name the y_proba columns"
        )
    return list(range(max(ints) + 1 if ints else 0))


def align_proba(proba: Any, classes: Any, labels: list[Any]) -> np.ndarray:
    """Reorder `proba` (columns in `classes` order) into `labels` order; absent labels get 0."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 1:
        proba = np.column_stack([1.0 - proba, proba])
    where = {label: j for j, label in enumerate(labels)}
    out = np.zeros((proba.shape[0], len(labels)), dtype=np.float64)
    for k, cls in enumerate(classes):
        key = plain_label(cls)
        if key not in where:
            raise ValueError(f"the model predicts class {key!r}, which is not one of {labels!r}")
        out[:, where[key]] = proba[:, k]
    return out


def feed(it: Iteration, split: str, model: Any, X: Any, y: Any, labels: list[Any] | None) -> None:
    """Feed `model`'s predictions on X to the split's engine (probabilities when it has them)."""
    if it.run.task == "classification":
        classes = getattr(model, "classes_", None)
        if classes is not None and hasattr(model, "predict_proba"):
            proba = align_proba(model.predict_proba(X), classes, labels or list(classes))
            it.update(split, y, y_proba=proba)
            return
        it.update(split, y, y_pred=np.asarray(model.predict(X)))
        return
    it.update(split, y, y_pred=np.asarray(model.predict(X), dtype=np.float64).ravel())


def plain_params(params: dict[str, Any]) -> dict[str, Any]:
    """Return `params` as JSON data: objects (estimators, NaN) become their repr."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or isinstance(value, (bool, int, str)):
            out[str(key)] = value
        elif isinstance(value, float):
            out[str(key)] = value if math.isfinite(value) else repr(value)
        elif isinstance(value, (list, tuple)) and all(
            v is None or isinstance(v, (bool, int, str)) for v in value
        ):
            out[str(key)] = list(value)
        else:
            out[str(key)] = repr(value)
    return out
