"""A metric per iteration, with the best-so-far line: the chart above the iterations table.

Input: the iterations of a run as records (``index``, ``id``, ``name`` and
the metric's ``value``, None where an iteration has none), the run's goal
("maximize" or "minimize") and which iteration is selected. The data set is
named ``iterations`` (:data:`ITERATIONS_DATA`): the widget draws the chart
once and replaces its rows with a vega changeset when an iteration arrives,
the selection moves or another metric is picked, so the spec is never resent.
Clicking a point reports its ``id`` (the widget selects that iteration).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import altair as alt

from ._data import WIDTH, clean, named_data, text

__all__ = ["ITERATIONS_DATA", "iterations_chart", "iterations_rows"]

#: The name of the chart's data set, for vega changesets.
ITERATIONS_DATA = "iterations"

_GOALS = ("maximize", "minimize")


def iterations_rows(
    iterations: Iterable[Mapping[str, Any]],
    goal: str = "maximize",
    selected: str | None = None,
) -> list[dict[str, Any]]:
    """Chart records: each iteration's value and the best value up to it.

    Parameters
    ----------
    iterations : iterable of mapping
        In run order, each with ``index`` (1-based), ``id``, ``name`` and
        ``value`` (the charted metric; None, NaN or missing: no point).
    goal : {"maximize", "minimize"}, default "maximize"
        Which way is better, for the best-so-far line.
    selected : str, optional
        Id of the selected iteration (its point is drawn larger, outlined).

    Returns
    -------
    list of dict
        ``index``, ``id``, ``name`` (text), ``value``, ``best`` (best value
        among this and earlier iterations; None before the first value),
        ``is_best`` (the first iteration holding the overall best) and
        ``selected``.

    Examples
    --------
    >>> rows = iterations_rows([{"index": 1, "id": "a", "name": "x", "value": 0.5},
    ...                         {"index": 2, "id": "b", "name": "y", "value": 0.4}])
    >>> [r["best"] for r in rows], [r["is_best"] for r in rows]
    ([0.5, 0.5], [True, False])
    >>> iterations_rows([{"index": 1, "id": "a", "name": "x", "value": None}])[0]["best"] is None
    True
    """
    if goal not in _GOALS:
        raise ValueError(f"goal must be 'maximize' or 'minimize'; got {goal!r}.")
    sign = 1.0 if goal == "maximize" else -1.0
    best: float | None = None
    best_at = -1
    rows: list[dict[str, Any]] = []
    for position, it in enumerate(iterations):
        value = clean(it.get("value"))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            value = None
        elif not math.isfinite(value):
            value = None
        if value is not None and (best is None or sign * value > sign * best):
            best, best_at = float(value), position
        iid = text(it["id"])
        rows.append(
            {
                "index": int(it.get("index", position + 1)),
                "id": iid,
                "name": text(it.get("name", iid)),
                "value": value,
                "best": best,
                "is_best": False,
                "selected": selected is not None and iid == selected,
            }
        )
    if best_at >= 0:
        rows[best_at]["is_best"] = True
    return rows


def iterations_chart(
    rows: list[dict[str, Any]] | None = None,
    *,
    metric: str = "metric",
    title: str | None = None,
    width: int = WIDTH,
    height: int = 160,
) -> alt.LayerChart:
    """Points of a metric per iteration and the stepped best-so-far line.

    Parameters
    ----------
    rows : list of dict, optional
        :func:`iterations_rows`; empty (default) gives a chart waiting for
        rows (the widget fills it with a changeset).
    metric : str, default "metric"
        The metric's name, for the axis title and tooltips (kept out of the
        data: the picker in the widget may change it without a new spec, so
        the axis is titled "value" when ``title`` is None and the picker
        names the metric).
    title : str, optional
        Axis title of the values (default: ``metric``).
    width, height : int
        Plot size in pixels.

    Returns
    -------
    altair.LayerChart
        Over the named data ``iterations`` (:data:`ITERATIONS_DATA`): a
        step-after line of ``best`` and one point per iteration with a
        value; the best point is gold, the selected one larger and outlined
        in black. Hover shows the iteration, its value and the best so far.
    """
    rows = [] if rows is None else rows
    x = alt.X(
        "index:Q",
        title="Iteration",
        axis=alt.Axis(tickMinStep=1, format="d"),
        scale=alt.Scale(zero=False, nice=False, padding=12),
    )
    y_title = metric if title is None else title
    # Inset, not rounded out: the lowest point would otherwise sit on the x axis.
    y_scale = alt.Scale(zero=False, nice=False, padding=10)
    tooltip = [
        alt.Tooltip("index:Q", title="#"),
        alt.Tooltip("name:N", title="iteration"),
        alt.Tooltip("value:Q", title="value", format=".4~g"),
        alt.Tooltip("best:Q", title="best so far", format=".4~g"),
    ]
    best = (
        alt.Chart()
        .mark_line(interpolate="step-after", color="#f58518", strokeWidth=1.5)
        .encode(x=x, y=alt.Y("best:Q", title=y_title, scale=y_scale))
        .transform_filter("isValid(datum.best)")
    )
    points = (
        alt.Chart()
        .mark_point(filled=True, cursor="pointer")
        .encode(
            x=x,
            y=alt.Y("value:Q", title=y_title, scale=y_scale),
            color=alt.when(alt.datum.is_best)
            .then(alt.value("#c99a00"))
            .otherwise(alt.value("#4c78a8")),
            size=alt.when(alt.datum.selected).then(alt.value(160)).otherwise(alt.value(50)),
            stroke=alt.when(alt.datum.selected).then(alt.value("black")).otherwise(alt.value(None)),
            strokeWidth=alt.when(alt.datum.selected).then(alt.value(2)).otherwise(alt.value(0)),
            tooltip=tooltip,
        )
        .transform_filter("isValid(datum.value)")
    )
    return alt.layer(best, points, data=named_data(ITERATIONS_DATA, rows)).properties(
        width=width, height=height
    )
