"""Argument checks shared by the tracking API.

Every check raises a ``ValueError`` whose one-sentence message names the
argument, and returns the value in the plain Python type the store keeps.
The hot logging paths (``Iteration.log_loss``) test the common case inline and
call these only when it fails, so a check costs nothing on a good call.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

SPLITS: tuple[str, ...] = ("train", "validation", "test")
STATUSES: tuple[str, ...] = (
    "queued",
    "running",
    "completed",
    "failed",
    "canceled",
    "interrupted",
)
ENDED: frozenset[str] = frozenset({"completed", "failed", "canceled", "interrupted"})
TASKS: tuple[str, ...] = (
    "classification",
    "regression",
    "detection",
    "instance_segmentation",
    "segmentation",
)
GOALS: tuple[str, ...] = ("maximize", "minimize")


def check_split(split: Any, name: str = "split") -> str:
    """Return `split` if it is one of the known result sets.

    Raises
    ------
    ValueError
        When `split` is not "train", "validation" or "test".
    """
    if isinstance(split, str) and split in SPLITS:
        return split
    raise ValueError(f"{name} must be one of 'train', 'validation', 'test', got {split!r}")


def check_choice(value: Any, choices: tuple[str, ...], name: str) -> str:
    """Return `value` if it is one of `choices`, else raise naming the argument."""
    if isinstance(value, str) and value in choices:
        return value
    options = ", ".join(repr(c) for c in choices)
    raise ValueError(f"{name} must be one of {options}, got {value!r}")


def check_name(value: Any, name: str) -> str:
    """Return `value` if it is a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _scalar(value: Any) -> Any:
    # numpy 0-d arrays and tensors reach here through __array__; a str also has
    # no __array__, so "0.4" is refused below rather than parsed.
    if hasattr(value, "__array__") and not isinstance(value, (str, bytes)):
        arr = np.asarray(value)
        if arr.ndim == 0 and arr.dtype.kind in "iuf":
            return arr.item()
    return value


def check_number(value: Any, name: str) -> float:
    """Return `value` as a finite float.

    Booleans and strings are refused: a flag or the text "0.4" is not a
    measurement, and parsing text would hide a bug in the caller.

    Raises
    ------
    ValueError
        When `value` is not a real number or is NaN or infinite.
    """
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {out!r}")
    return out


def check_step(step: Any, name: str = "step") -> int | float | None:
    """Return `step` as an int (or a finite float), or None.

    Raises
    ------
    ValueError
        When `step` is not a number (a string, a bool, NaN, infinity).
    """
    if step is None:
        return None
    step = _scalar(step)
    if isinstance(step, bool):
        raise ValueError(f"{name} must be an integer or a real number, got bool {step!r}")
    if isinstance(step, numbers.Integral):
        return int(step)
    if isinstance(step, numbers.Real):
        out = float(step)
        if not math.isfinite(out):
            raise ValueError(f"{name} must be finite, got {out!r}")
        return out
    raise ValueError(
        f"{name} must be an integer or a real number, got {type(step).__name__} {step!r}"
    )


def check_time(value: Any, name: str = "time") -> float:
    """Return `value` as seconds since the epoch.

    Accepts a number of seconds or a ``datetime`` (a naive one is local time,
    as ``datetime.timestamp`` reads it).
    """
    if isinstance(value, _dt.datetime):
        return value.timestamp()
    if hasattr(value, "timestamp") and callable(value.timestamp):  # pandas.Timestamp
        try:
            return float(value.timestamp())
        except (TypeError, ValueError):
            pass
    return check_number(value, name)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray) and obj.dtype.kind in "biufU":
        return obj.tolist()
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def to_plain(value: Any, name: str) -> Any:
    """Return `value` as plain JSON data (numpy scalars and arrays become Python ones).

    Raises
    ------
    ValueError
        When `value` holds something JSON cannot represent (an object, NaN, a
        non-string key).
    """
    try:
        text = json.dumps(value, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be JSON data (str, numbers, lists, dicts): {exc}") from None
    return json.loads(text)


def check_mapping(value: Any, name: str) -> dict[str, Any]:
    """Return `value` as a plain dict with string keys (None gives an empty dict)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a dict, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise ValueError(f"{name} keys must be strings, got {key!r}")
    return to_plain(dict(value), name)


def plain_label(label: Any) -> Any:
    """Return a class label as a JSON scalar (numpy scalars become Python ones)."""
    if isinstance(label, np.generic):
        label = label.item()
    if label is None or isinstance(label, (str, bool, int)):
        return label
    if isinstance(label, float):
        return label if math.isfinite(label) else None
    return str(label)


def check_labels(labels: Any) -> list[Any] | None:
    """Return `labels` as a list of distinct JSON scalars, or None."""
    if labels is None:
        return None
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__iter__"):
        raise ValueError(f"labels must be a sequence of class labels, got {labels!r}")
    out = [plain_label(v) for v in list(labels)]
    if len(set(map(repr, out))) != len(out):
        raise ValueError(f"labels must be distinct, got {out!r}")
    return out


def check_feature_importance(
    names: Any, values: Any, per_class: Any, labels: list[Any] | None
) -> dict[str, Any]:
    """Return feature importances as ``{"names", "values", "per_class"}`` plain data.

    `labels` are the run's labels: they name the rows of a 2-D `per_class`.
    """
    if isinstance(names, str) or not hasattr(names, "__iter__"):
        raise ValueError(f"names must be a sequence of feature names, got {names!r}")
    names = [plain_label(n) for n in names]
    if not all(isinstance(n, str) and n for n in names):
        raise ValueError("names must be non-empty strings")
    vals = _finite_vector(values, "values", len(names))
    rows: list[list[Any]] | None = None
    if per_class is not None:
        if isinstance(per_class, Mapping):
            items = list(per_class.items())
        else:
            arr = np.asarray(per_class)
            if labels is None or arr.ndim != 2 or len(arr) != len(labels):
                raise ValueError(
                    "per_class must be a {label: values} dict, or a 2-D array with one row "
                    "per run label"
                )
            items = list(zip(labels, arr, strict=True))
        rows = [
            [plain_label(k), _finite_vector(v, f"per_class[{k!r}]", len(names))] for k, v in items
        ]
    return {"names": names, "values": vals, "per_class": rows}


def _finite_vector(values: Any, name: str, length: int) -> list[float]:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got {values!r}")
    if len(arr) != length:
        raise ValueError(f"{name} has {len(arr)} values for {length} names")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return [float(v) for v in arr]
