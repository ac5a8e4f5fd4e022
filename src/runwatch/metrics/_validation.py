"""Input checks shared by every metric.

Each function turns one user argument (a list, numpy array, pandas Series,
torch tensor, anything with ``__array__``) into a plain numpy array, or raises
a ``ValueError`` whose one sentence names the argument. They never touch a
metric's state, so a metric can validate a whole batch before changing
anything.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: How far a row of ``y_proba`` may sum away from 1, or a value stray outside
#: [0, 1], before the batch is refused. Loose enough for float32 softmax
#: outputs upcast to float64, tight enough to catch logits and percentages.
PROBA_TOLERANCE = 1e-3


def to_numpy(name: str, value: Any) -> np.ndarray:
    """Return ``value`` as a numpy array, positionally (a Series' index is ignored)."""
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be an array, not a single string.")
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        # torch tensors that require grad or live on a device refuse __array__.
        value = value.detach().cpu()
    try:
        array = np.asarray(value)
    except Exception as exc:  # ragged lists, exotic objects
        raise ValueError(f"{name} could not be read as an array: {exc}.") from None
    if array.dtype.kind == "O" and array.ndim > 1:
        raise ValueError(f"{name} must be a regular array; got a ragged or nested object array.")
    return array


def check_1d(name: str, value: Any) -> np.ndarray:
    """A 1-D array (a column vector of shape (n, 1) is accepted and flattened)."""
    array = to_numpy(name, value)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got an array of shape {array.shape}.")
    return array


def check_labels_1d(name: str, value: Any) -> np.ndarray:
    """A 1-D array of class labels: numbers, strings or bools, not mixed, no NaN or None."""
    array = check_1d(name, value)
    kind = array.dtype.kind
    if kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite labels.")
    if kind == "O" and array.size:
        kinds = {_label_kind(v) for v in array.tolist()}
        if None in kinds:
            raise ValueError(f"{name} contains None, NaN or a value that is not a label.")
        if len(kinds) > 1:
            raise ValueError(f"{name} mixes strings and numbers; use one type of label.")
    elif kind not in "biufUS" and array.size:
        raise ValueError(f"{name} has dtype {array.dtype}, which is not a label type.")
    return array


def _label_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "str"
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return "num"
    if isinstance(value, (float, np.floating)):
        return "num" if np.isfinite(value) else None
    return None


def check_length(name: str, array: np.ndarray, n: int, ref: str = "y_true") -> None:
    """Refuse an array whose first dimension is not ``n``."""
    if array.shape[0] != n:
        raise ValueError(f"{name} has {array.shape[0]} rows but {ref} has {n}.")


def check_finite_numbers(
    name: str, value: Any, ndim: tuple[int, ...] = (1,), keep_half: bool = False
) -> np.ndarray:
    """A real-valued array of one of the given ranks, finite everywhere; ints become float64.

    float16 becomes float32 (losslessly) unless ``keep_half``.
    """
    array = to_numpy(name, value)
    if array.ndim == 2 and 1 in ndim and 2 not in ndim and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {want}; got an array of shape {array.shape}.")
    if array.dtype.kind in "biu":
        array = array.astype(np.float64)
    elif array.dtype.kind != "f":
        raise ValueError(f"{name} must hold numbers; got dtype {array.dtype}.")
    if array.dtype == np.float16 and not keep_half:
        array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return array


def check_sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
    """None, or a finite non-negative float64 vector of length ``n``."""
    if sample_weight is None:
        return None
    weight = check_finite_numbers("sample_weight", sample_weight)
    check_length("sample_weight", weight, n)
    if np.any(weight < 0):
        raise ValueError("sample_weight contains negative values.")
    return weight.astype(np.float64, copy=False)


def check_proba(y_proba: Any, n: int) -> np.ndarray:
    """``(n,)`` positive-class or ``(n, C)`` probabilities at their input precision (float16 too).

    Integers become float64, as scikit-learn reads them.
    """
    proba = check_finite_numbers("y_proba", y_proba, ndim=(1, 2), keep_half=True)
    check_length("y_proba", proba, n)
    if proba.size and (proba.min() < -PROBA_TOLERANCE or proba.max() > 1 + PROBA_TOLERANCE):
        raise ValueError(
            "y_proba has values outside [0, 1]; pass probabilities (e.g. predict_proba), "
            "not scores or logits."
        )
    if proba.ndim == 2:
        if proba.shape[1] < 2:
            raise ValueError(f"y_proba must have at least 2 columns; got {proba.shape[1]}.")
        sums = proba.sum(axis=1, dtype=np.float64)
        bad = np.abs(sums - 1.0) > PROBA_TOLERANCE
        if np.any(bad):
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(f"y_proba rows must sum to 1; row {row} sums to {sums[row]:.6g}.")
    return proba
