"""Helpers shared by the views: JSON-safe records, label text, thinning, sizes.

Every chart's data goes in as plain records built here: numpy scalars become
Python numbers, NaN and infinities become ``None`` (JSON has neither), and
labels become their text (``str``), so a class name is always a data value
that Vega draws as text, never markup or an expression.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

#: Default chart size in pixels (the widget may pass its own).
WIDTH = 360
HEIGHT = 280

#: Most points a chart line gets; the engine thins to fewer, this guards other callers.
MAX_LINE_POINTS = 500


def clean(value: Any) -> Any:
    """A JSON-safe scalar: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def text(label: Any) -> str:
    """The text a label is shown as."""
    if isinstance(label, np.generic):
        label = label.item()
    return label if isinstance(label, str) else str(label)


def unique_texts(labels: Iterable[Any], reserved: Iterable[str] = ()) -> list[str]:
    """Distinct display texts for ``labels`` (``1`` and ``"1"`` would collide)."""
    taken = set(reserved)
    out = []
    for label in labels:
        name = unique_name(text(label), taken)
        taken.add(name)
        out.append(name)
    return out


def unique_name(base: str, taken: Iterable[str]) -> str:
    """``base``, or ``base`` with a numbered suffix when it is already taken."""
    taken = set(taken)
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base} ({n})"
    return name


def thin_indices(n: int, max_points: int | None) -> np.ndarray:
    """Indices of at most ``max_points`` evenly spread rows, first and last kept."""
    if max_points is None or n <= max_points:
        return np.arange(n)
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2; got {max_points!r}.")
    return np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(np.int64))


def column(frame: Any, name: str, n: int) -> list[Any]:
    """A column of a DataFrame (or mapping of sequences) as JSON-safe values."""
    values = frame[name]
    values = values.tolist() if hasattr(values, "tolist") else list(values)
    if len(values) != n:
        raise ValueError(f"column {name!r} has {len(values)} values; expected {n}.")
    return [clean(v) for v in values]


def require_columns(frame: Any, columns: Sequence[str], argument: str) -> None:
    """Raise ValueError naming ``argument`` when ``frame`` lacks any of ``columns``."""
    present = set(getattr(frame, "columns", frame.keys() if isinstance(frame, Mapping) else ()))
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValueError(f"{argument} must have the columns {list(columns)}; missing {missing}.")


def n_rows(frame: Any) -> int:
    """Number of rows of a DataFrame or of a mapping of equal-length columns."""
    if hasattr(frame, "shape"):
        return int(frame.shape[0])
    lengths = {len(v) for v in frame.values()}
    return lengths.pop() if lengths else 0


def named_data(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Inline data with a name, so the front end can change it with a vega changeset.

    The Vega-Lite form of ``alt.InlineData(values=rows, name=name)`` as a
    plain dict: Altair keeps it inline under its name (never hashed into
    ``datasets``), and, unlike ``InlineData``, does not validate every row
    again each time the chart is copied while it is built.
    """
    return {"name": name, "values": rows}
