"""Loss over time, one line per split (train, validation, test).

Input: ``Iteration.losses()``, a DataFrame with ``split``, ``step``,
``value`` and ``time`` (UTC), or any iterable of mappings with those keys
(``time`` optional). The chart's data set is named ``loss`` (see
:data:`LOSS_DATA`): a freshly drawn chart starts from :func:`loss_rows` of
the history, and the front end appends new points with a vega changeset
(``view.change("loss", vega.changeset().insert(rows))``) whose rows have
the same shape, built by the same :func:`loss_rows`.

Each split is drawn twice: its raw values and, behind a ``smoothing``
parameter (0 to 0.99), their exponential moving average as TensorBoard
computes it (:func:`smoothed`, debiased). With smoothing the raw line is
faint behind the smoothed one; at 0 only the raw line shows. The front end
smooths appended points itself (js/smoothing.ts) and sets the parameter. A
split with a single drawable point (no line to draw) shows it as a dot,
computed in the spec, so a point appended by changeset gets its dot, and a
second one turns the dot into a line, with no work in the front end.
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

__all__ = ["LOSS_DATA", "SPLITS", "loss_chart", "loss_rows", "smoothed"]

#: The name of the chart's data set, for vega changesets.
LOSS_DATA = "loss"

#: Split order and colours (fixed, so an appended split never recolours the others).
SPLITS = ("train", "validation", "test")
_COLOURS = ("#4c78a8", "#f58518", "#54a24b")
#: Most smoothing offered (a weight of 1 would never move).
MAX_SMOOTHING = 0.99
#: Opacity of the raw line behind a smoothed one.
_RAW_BEHIND = 0.25
#: Area of that dot in square pixels (a 2 px line reads about as strongly).
_DOT_SIZE = 40


def smoothed(values: Iterable[float | None], weight: float) -> list[float | None]:
    r"""TensorBoard's smoothing: a debiased exponential moving average.

    .. math:: s_t = \frac{m_t}{1 - w^{n_t}}, \quad m_t = w\, m_{t-1} + (1 - w)\, x_t, \quad m_0 = 0

    where :math:`n_t` counts the finite values up to :math:`x_t`; so the
    first smoothed value is the first value, and a constant stays constant.
    A value that is None or not finite is passed through and skipped.

    Parameters
    ----------
    values : iterable of float or None
        One series, in step order.
    weight : float
        In [0, 0.99]; 0 gives the values back.

    Returns
    -------
    list of float or None

    Examples
    --------
    >>> smoothed([1.0, 0.0, None], 0.5)
    [1.0, 0.3333333333333333, None]
    """
    w = _smoothing(weight)
    out: list[float | None] = []
    last, n = 0.0, 0
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(v)
            continue
        last = last * w + (1 - w) * v
        n += 1
        out.append(last / (1 - w**n))
    return out


def _smoothing(weight: Any) -> float:
    if isinstance(weight, bool) or not isinstance(weight, (int, float, np.floating)):
        raise TypeError(f"smoothing must be a number in [0, {MAX_SMOOTHING}]; got {weight!r}.")
    if not 0 <= weight <= MAX_SMOOTHING:
        raise ValueError(f"smoothing must be in [0, {MAX_SMOOTHING}]; got {weight!r}.")
    return float(weight)


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


def _add_smoothed(rows: list[dict[str, Any]], weight: float) -> None:
    by_split: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_split.setdefault(r["split"], []).append(r)
    for split_rows in by_split.values():
        ordered = sorted(split_rows, key=lambda r: (r["step"] is None, r["step"] or 0))
        for r, s in zip(ordered, smoothed([r["value"] for r in ordered], weight)):
            r["smoothed"] = s


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
    smoothing: float = 0.0,
    max_points: int | None = 2000,
    tooltips: bool = True,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Loss against step, one line per split; hovering a point shows its values.

    A split with a single point (say a validation loss logged once) has no
    line to draw: that point is drawn as a dot.

    Parameters
    ----------
    losses : pandas.DataFrame or iterable of mapping, default empty
        ``Iteration.losses()`` or records (see :func:`loss_rows`); empty
        gives a chart waiting for points.
    title : str, default "Loss"
    log_scale : bool, default False
        A logarithmic loss axis (values at or below 0 left out).
    smoothing : float, default 0.0
        TensorBoard's smoothing weight, in [0, 0.99] (:func:`smoothed`): the
        smoothed line drawn over a faint raw one. It is the chart's
        ``smoothing`` parameter, so a page can change it without a new spec
        (the rows' ``smoothed`` values must follow).
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
        Over the named data set ``loss`` (:data:`LOSS_DATA`), whose rows
        also carry ``smoothed``, each split's values smoothed in step order.
    """
    weight = _smoothing(smoothing)
    rows = loss_rows(losses, max_points=max_points)
    _add_smoothed(rows, weight)
    scale = alt.Scale(type="log") if log_scale else alt.Scale(zero=False)
    x = alt.X("step:Q", title="Step")
    y = alt.Y("value:Q", title="Loss", scale=scale)
    y_smooth = alt.Y("smoothed:Q", title="Loss", scale=scale)
    color = alt.Color(
        "split:N",
        title="split",
        scale=alt.Scale(domain=list(SPLITS), range=list(_COLOURS)),
        # Opaque strokes: the symbols would otherwise take the faint raw line's opacity.
        legend=alt.Legend(symbolType="stroke", symbolOpacity=1, symbolStrokeWidth=2),
    )
    tooltip = [
        alt.Tooltip("split:N", title="split"),
        alt.Tooltip("step:Q", title="step"),
        alt.Tooltip("value:Q", title="loss", format=".4~g"),
        alt.Tooltip("smoothed:Q", title="smoothed", format=".4~g"),
    ]
    param = alt.param(name="smoothing", value=weight)
    # Opacities follow the parameter, so the page changes the weight without a new spec.
    lines = (
        alt.Chart()
        .mark_line(opacity=alt.ExprRef(f"smoothing > 0 ? {_RAW_BEHIND} : 1"))
        .encode(x=x, y=y, color=color, order=alt.Order("step:Q"))
        .add_params(param)
    )
    smooth = (
        alt.Chart()
        .mark_line(opacity=alt.ExprRef("smoothing > 0 ? 1 : 0"))
        .encode(x=x, y=y_smooth, color=color, order=alt.Order("step:Q"))
    )
    # Hover targets: invisible points carry the tooltips. Kept plain (no nearest
    # selection, no hover rule): every appended point would otherwise redo a
    # Voronoi diagram and more marks, on a chart meant to take many points a second.
    points = (
        alt.Chart().mark_circle(size=60, opacity=0).encode(x=x, y=y, color=color, tooltip=tooltip)
    )
    # A line needs two points: a split with one (a validation loss logged once) would
    # be in the legend with nothing drawn. Its lone point is drawn as a dot instead.
    # An aggregate, not a joinaggregate or window: Vega updates it per inserted row
    # and it emits at most one row per split, so appended points stay cheap. Sums
    # (the lone point's own step and value where n is 1), not min: min keeps every
    # value to survive removals, which a new smoothing weight does to all rows.
    drawn = "isValid(datum.value) && isFinite(datum.value)"
    dot = (
        alt.Chart()
        .transform_filter(f"{drawn} && datum.value > 0" if log_scale else drawn)
        .transform_aggregate(n="count()", step="sum(step)", value="sum(value)", groupby=["split"])
        .transform_filter("datum.n == 1")
        .mark_circle(size=_DOT_SIZE, opacity=1)
        .encode(x=x, y=y, color=color)
    )
    if log_scale:  # a log axis has no place for 0 or below
        lines = lines.transform_filter("datum.value > 0")
        smooth = smooth.transform_filter("datum.smoothed > 0")
        points = points.transform_filter("datum.value > 0")
    subtitle = [] if rows else ["no losses yet"]
    layers = [lines, smooth, dot, points] if tooltips else [lines, smooth, dot]
    return alt.layer(*layers, data=named_data(LOSS_DATA, rows)).properties(
        title=alt.TitleParams(text=title, subtitle=subtitle, anchor="start"),
        width=width,
        height=height,
    )
