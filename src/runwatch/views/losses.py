"""Loss over time, one line per split (train, validation, test).

Input: ``Iteration.losses()``, a DataFrame with ``split``, ``step``,
``value`` and ``time`` (UTC), or any iterable of mappings with those keys
(``time`` optional). The chart's data set is named ``loss`` (see
:data:`LOSS_DATA`): a freshly drawn chart starts from :func:`loss_rows` of
the history, and the front end appends new points with a vega changeset
(``view.change("loss", vega.changeset().insert(rows))``) whose rows have
the same shape, built by the same :func:`loss_rows`.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from ._data import HEIGHT, WIDTH, clean, named_data, text, thin_indices

__all__ = ["LOSS_DATA", "SPLITS", "loss_chart", "loss_rows"]

#: The name of the chart's data set, for vega changesets.
LOSS_DATA = "loss"

#: Split order and colours (fixed, so an appended split never recolours the others).
SPLITS = ("train", "validation", "test")
_COLOURS = ("#4c78a8", "#f58518", "#54a24b")


def loss_rows(losses: Any, max_points: int | None = None) -> list[dict[str, Any]]:
    """Chart records of loss points: ``split``, ``step``, ``value`` and, if known, ``time``.

    Parameters
    ----------
    losses : pandas.DataFrame or iterable of mapping
        Columns or keys ``split``, ``step``, ``value`` and optionally
        ``time`` (datetime, pandas Timestamp, or seconds since the epoch).
    max_points : int, optional
        Most points per split; a longer history is thinned evenly, its first
        and last points kept (default: keep all).

    Returns
    -------
    list of dict
        In input order within each split; ``time`` in milliseconds since
        the epoch (what Vega's temporal scales read); a NaN or infinite
        value becomes None (a gap in the line).

    Examples
    --------
    >>> loss_rows([{"split": "train", "step": 0, "value": 0.9}])
    [{'split': 'train', 'step': 0, 'value': 0.9}]
    """
    records = _records(losses)
    by_split: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        try:
            row = {"split": text(r["split"]), "step": clean(r["step"]), "value": clean(r["value"])}
        except KeyError as exc:
            raise ValueError(f"losses must give split, step and value; missing {exc}.") from None
        if isinstance(row["value"], str) or isinstance(row["step"], str):
            raise ValueError("losses must hold numbers in step and value, not text.")
        if "time" in r:
            t = _milliseconds(r["time"])
            if t is not None:
                row["time"] = t
        by_split.setdefault(row["split"], []).append(row)
    out: list[dict[str, Any]] = []
    for rows in by_split.values():
        out.extend(rows[i] for i in thin_indices(len(rows), max_points))
    return out


def _records(losses: Any) -> list[Mapping[str, Any]]:
    if isinstance(losses, pd.DataFrame):
        return losses.to_dict("records")
    if isinstance(losses, Mapping) or isinstance(losses, (str, bytes)):
        raise TypeError("losses must be a DataFrame or an iterable of mappings.")
    if not isinstance(losses, Iterable):
        raise TypeError("losses must be a DataFrame or an iterable of mappings.")
    return list(losses)


def _milliseconds(t: Any) -> float | None:
    if t is None or t is pd.NaT:
        return None
    if isinstance(t, pd.Timestamp):
        return None if pd.isna(t) else t.value / 1e6
    if isinstance(t, _dt.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=_dt.timezone.utc)
        return t.timestamp() * 1000.0
    if isinstance(t, np.datetime64):
        return None if np.isnat(t) else float(t.astype("datetime64[us]").astype(np.int64)) / 1e3
    value = clean(t)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value) * 1000.0
    return None


def loss_chart(
    losses: Any = (),
    *,
    title: str = "Loss",
    log_scale: bool = False,
    max_points: int | None = 2000,
    tooltips: bool = True,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Loss against step, one line per split; hovering a point shows its values.

    Parameters
    ----------
    losses : pandas.DataFrame or iterable of mapping, default empty
        ``Iteration.losses()`` or records (see :func:`loss_rows`); empty
        gives a chart waiting for points.
    title : str, default "Loss"
    log_scale : bool, default False
        A logarithmic loss axis.
    max_points : int, optional, default 2000
        Most points per split in the initial data (points appended later by
        the front end are not thinned).
    tooltips : bool, default True
        Invisible hover points that show each point's values. They cost
        about as much as the lines on every appended point (headless Vega,
        10,000 points: about 65 ms per insert with them, 25 ms without).
    width, height : int
        Plot size in pixels.

    Returns
    -------
    altair.LayerChart
        Over the named data set ``loss`` (:data:`LOSS_DATA`).
    """
    rows = loss_rows(losses, max_points=max_points)
    x = alt.X("step:Q", title="Step")
    y = alt.Y(
        "value:Q",
        title="Loss",
        scale=alt.Scale(type="log") if log_scale else alt.Scale(zero=False),
    )
    color = alt.Color(
        "split:N",
        title="split",
        scale=alt.Scale(domain=list(SPLITS), range=list(_COLOURS)),
    )
    tooltip = [
        alt.Tooltip("split:N", title="split"),
        alt.Tooltip("step:Q", title="step"),
        alt.Tooltip("value:Q", title="loss", format=".4~g"),
    ]
    lines = alt.Chart().mark_line().encode(x=x, y=y, color=color, order=alt.Order("step:Q"))
    # Hover targets: invisible points carry the tooltips. Kept plain (no nearest
    # selection, no hover rule): every appended point would otherwise redo a
    # Voronoi diagram and more marks, on a chart meant to take many points a second.
    points = (
        alt.Chart().mark_circle(size=60, opacity=0).encode(x=x, y=y, color=color, tooltip=tooltip)
    )
    subtitle = [] if rows else ["no losses yet"]
    layers = [lines, points] if tooltips else [lines]
    return alt.layer(*layers, data=named_data(LOSS_DATA, rows)).properties(
        title=alt.TitleParams(text=title, subtitle=subtitle, anchor="start"),
        width=width,
        height=height,
    )
