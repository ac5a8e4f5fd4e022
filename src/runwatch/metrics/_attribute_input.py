"""``attributes=`` of one batch, checked: name -> numeric or categorical per-sample values.

A numeric attribute (integers or floats) is read as float64, NaN standing
for a missing value (its own ``"(missing)"`` bucket; infinities are refused:
no quantile bucket holds them); a categorical one (strings, booleans) as a
unicode array, ``None`` or NaN in an object column becoming ``"(missing)"``.
Values are positional, as every other argument of ``update``: a DataFrame's
index is ignored. The kind of an attribute and the set of names are fixed
by the first batch that gives attributes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

MISSING = "(missing)"
NUMERIC, CATEGORICAL = "numeric", "categorical"


def check_attributes(
    attributes: Any, n: int, known: dict[str, str], rows: str = "y_true has {n} samples"
) -> dict[str, tuple[str, np.ndarray]]:
    """``{name: (kind, values)}`` of a batch; ``ValueError`` naming ``attributes`` if not valid.

    ``rows``: how a length mismatch names the batch (vision engines: its images).
    """
    if attributes is None:
        return {}
    if hasattr(attributes, "columns") and hasattr(attributes, "iloc"):  # a DataFrame
        columns = list(attributes.columns)
        pairs = [(c, attributes.iloc[:, i].to_numpy()) for i, c in enumerate(columns)]
    elif isinstance(attributes, Mapping):
        pairs = list(attributes.items())
    else:
        raise ValueError(
            "attributes must be a dict of name -> per-sample values or a DataFrame; "
            f"got {type(attributes).__name__}."
        )
    out: dict[str, tuple[str, np.ndarray]] = {}
    for name, values in pairs:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"attributes names must be non-empty strings; got {name!r}.")
        if name in out:
            raise ValueError(f"attributes has the name {name!r} twice.")
        out[name] = _column(name, values, n, rows)
    if not out or n == 0:  # an empty batch is a no-op: its empty columns have no kind
        return {}
    if known and set(out) != set(known):
        raise ValueError(
            f"attributes gives {sorted(out)} but earlier batches gave {sorted(known)}; "
            "give the same attributes in every batch (or none)."
        )
    for name, (kind, _) in out.items():
        if known and known[name] != kind:
            now, was = _WORDS[kind], _WORDS[known[name]]
            raise ValueError(f"attributes[{name!r}] holds {now} but earlier batches gave {was}.")
    return out


_WORDS = {NUMERIC: "numbers", CATEGORICAL: "strings"}


def _column(name: str, values: Any, n: int, rows: str) -> tuple[str, np.ndarray]:
    where = f"attributes[{name!r}]"
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{where} must hold one value per sample, not a single string.")
    try:
        raw = np.asarray(values)
    except Exception:
        raise ValueError(f"{where} must be a 1-D sequence of numbers or strings.") from None
    if raw.ndim != 1:
        raise ValueError(f"{where} must be 1-D (one value per sample); got shape {raw.shape}.")
    if raw.shape[0] != n:
        raise ValueError(f"{where} has {raw.shape[0]} values but {rows.format(n=n)}.")
    kind = raw.dtype.kind
    if kind in "iuf":
        numbers = raw.astype(np.float64)
        if np.isinf(numbers).any():
            raise ValueError(f"{where} holds an infinite value; use NaN for a missing one.")
        return NUMERIC, numbers
    if kind == "b":
        return CATEGORICAL, raw.astype(str)
    if kind == "U":
        return CATEGORICAL, raw
    if kind == "O":
        return _objects(where, raw.tolist())
    raise ValueError(f"{where} must hold numbers or strings; got dtype {raw.dtype}.")


def _objects(where: str, values: list[Any]) -> tuple[str, np.ndarray]:
    def missing(v: Any) -> bool:
        return v is None or (isinstance(v, float) and math.isnan(v))

    present = [v for v in values if not missing(v)]
    if all(isinstance(v, (str, bool, np.bool_)) for v in present):
        text = [MISSING if missing(v) else str(v) for v in values]
        return CATEGORICAL, np.array(text, dtype=str) if text else np.zeros(0, "U1")
    if all(isinstance(v, (int, float, np.integer, np.floating)) for v in present):
        numbers = np.array([np.nan if missing(v) else v for v in values], dtype=np.float64)
        if np.isinf(numbers).any():
            raise ValueError(f"{where} holds an infinite value; use NaN for a missing one.")
        return NUMERIC, numbers
    for v in present:
        if not isinstance(v, (str, int, float, np.number, np.bool_)):
            raise ValueError(f"{where} must hold numbers or strings; got {type(v).__name__} {v!r}.")
    raise ValueError(f"{where} mixes numbers and strings; give one kind.")
