"""Score curves of a classifier: ROC, precision-recall, lift, cumulative gains, calibration.

Input: the tidy tables of ``ClassificationMetrics.curves()`` (one row per
point; ``curve`` is "class", "micro" or "macro", ``label`` the class or the
average), with these columns after ``curve`` and ``label``:

===============  ==============================================================
``roc``          ``fpr``, ``tpr``, ``threshold``
``pr``           ``recall``, ``precision``, ``threshold``
``lift``         ``fraction``, ``lift``
``gains``        ``fraction``, ``gain``
``calibration``  ``bin``, ``mean_predicted``, ``fraction_positive``, ``count``
===============  ==============================================================

Each chart draws one line per class and per average, coloured by a
``series`` field (the class's text; "micro average" / "macro average" for
the averages, dashed and dotted). The legend is bound to a point selection
named ``<data>_shown`` that starts with every line: clicking a legend entry
hides its line (and fades the entry), clicking it again shows it, a double
click shows all. A line added later by a data change starts hidden until a
double click; a freshly built spec shows every line. The data is a named inline data
set (``roc``, ``pr``, ``lift``, ``gains``, ``calibration``) the front end can
replace with a vega changeset; :func:`curve_rows` builds its rows.

Under :func:`~runwatch.views.chart_spec` (the widget's path) a chart whose
shape was built before skips Altair (``_specs.templated``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import altair as alt
import pandas as pd

from ._data import (
    HEIGHT,
    MAX_LINE_POINTS,
    WIDTH,
    clean,
    named_data,
    require_columns,
    text,
    thin_indices,
    unique_name,
)
from ._specs import templated

__all__ = [
    "AVERAGE_NAMES",
    "calibration_chart",
    "curve_rows",
    "gains_chart",
    "lift_chart",
    "pr_chart",
    "roc_chart",
]

#: How the averages are named in the legend (a class of the same name gets a suffix instead).
AVERAGE_NAMES = {"micro": "micro average", "macro": "macro average"}

_KINDS = ["class", "micro", "macro"]
_DASHES = [[1, 0], [6, 3], [2, 2]]
_HIDDEN_OPACITY = 0.0


def curve_rows(
    frame: pd.DataFrame,
    x: str,
    y: str,
    extra: Sequence[str] = (),
    *,
    classes: Sequence[Any] | None = None,
    averages: Sequence[str] = ("micro", "macro"),
    max_points: int | None = MAX_LINE_POINTS,
) -> list[dict[str, Any]]:
    """The chart records of one curve table, one per point.

    Parameters
    ----------
    frame : pandas.DataFrame
        A table of ``ClassificationMetrics.curves()``: columns ``curve``,
        ``label``, ``x``, ``y`` and ``extra``.
    x, y : str
        The columns drawn on each axis.
    extra : sequence of str, optional
        Further columns carried into the records (shown in tooltips).
    classes : sequence of hashable, optional
        Only these classes' lines (default: every class in ``frame``); a
        class matches by value or by its text.
    averages : sequence of {"micro", "macro"}, default both
        Which average lines to keep.
    max_points : int or None, default 500
        Most points per line; longer lines are thinned evenly, ends kept.

    Returns
    -------
    list of dict
        ``series`` (legend text, unique), ``kind`` ("class", "micro",
        "macro"), ``rank`` (legend order), ``i`` (point order along the
        line), then ``x``, ``y`` and ``extra``; NaN and infinities are None.

    Examples
    --------
    >>> frame = pd.DataFrame({"curve": ["class", "class"], "label": [1, 1],
    ...                       "fpr": [0.0, 1.0], "tpr": [0.0, 1.0]})
    >>> curve_rows(frame, "fpr", "tpr")[1]
    {'series': '1', 'kind': 'class', 'rank': 0, 'i': 1, 'fpr': 1.0, 'tpr': 1.0}
    """
    columns = [x, y, *extra]
    require_columns(frame, ["curve", "label", *columns], "frame")
    unknown = set(averages) - set(AVERAGE_NAMES)
    if unknown:
        raise ValueError(f"averages must be among {sorted(AVERAGE_NAMES)}; got {sorted(unknown)}.")
    wanted_values = [] if classes is None else list(classes)
    wanted = None if classes is None else {text(c) for c in wanted_values}

    def keep(kind: str, label: Any) -> bool:
        if kind != "class":
            return kind in averages
        if wanted is None:
            return True
        return text(label) in wanted or any(_same(label, c) for c in wanted_values)

    groups: list[tuple[str, Any, pd.DataFrame]] = []
    if len(frame):
        for (kind, label), part in frame.groupby(["curve", "label"], sort=False):
            if keep(kind, label):
                groups.append((kind, label, part))
    # Classes first in table order, then micro, then macro.
    groups.sort(key=lambda g: _KINDS.index(g[0]) if g[0] in _KINDS else len(_KINDS))
    class_names: list[str] = []
    for kind, label, _ in groups:
        if kind == "class":
            class_names.append(unique_name(text(label), class_names))
    names = iter(class_names)
    rows: list[dict[str, Any]] = []
    for rank, (kind, _label, part) in enumerate(groups):
        series = next(names) if kind == "class" else unique_name(AVERAGE_NAMES[kind], class_names)
        values = {c: part[c].to_numpy() for c in columns}
        for i, at in enumerate(thin_indices(len(part), max_points)):
            row: dict[str, Any] = {"series": series, "kind": kind, "rank": rank, "i": i}
            for c in columns:
                row[c] = clean(values[c][at])
            rows.append(row)
    return rows


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def roc_chart(
    roc: pd.DataFrame,
    *,
    classes: Sequence[Any] | None = None,
    averages: Sequence[str] = ("micro", "macro"),
    title: str = "ROC curve",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """ROC curves: true positive rate against false positive rate, with the chance diagonal.

    Parameters
    ----------
    roc : pandas.DataFrame
        ``curves()["roc"]``: ``curve``, ``label``, ``fpr``, ``tpr``, ``threshold``.
    classes : sequence of hashable, optional
        Only these classes' lines (default all).
    averages : sequence of {"micro", "macro"}, default both
        Which averages to draw.
    title : str, default "ROC curve"
    width, height : int
        Plot size in pixels.

    Returns
    -------
    altair.LayerChart
        Named data ``roc``; legend click hides a line.
    """
    rows = curve_rows(roc, "fpr", "tpr", ["threshold"], classes=classes, averages=averages)
    return _curve_chart(
        rows,
        "roc",
        ("fpr", "False positive rate"),
        ("tpr", "True positive rate"),
        [("threshold", "threshold")],
        title=title,
        width=width,
        height=height,
        reference=lambda: _diagonal("False positive rate", "True positive rate"),
    )


def pr_chart(
    pr: pd.DataFrame,
    *,
    classes: Sequence[Any] | None = None,
    averages: Sequence[str] = ("micro", "macro"),
    title: str = "Precision-recall curve",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Precision-recall curves: precision against recall.

    Parameters
    ----------
    pr : pandas.DataFrame
        ``curves()["pr"]``: ``curve``, ``label``, ``recall``, ``precision``, ``threshold``.
    classes : sequence of hashable, optional
        Only these classes' lines (default all).
    averages : sequence of {"micro", "macro"}, default both
        Which averages to draw.
    title : str, default "Precision-recall curve"
    width, height : int
        Plot size in pixels.

    Returns
    -------
    altair.LayerChart
        Named data ``pr``; legend click hides a line.
    """
    rows = curve_rows(pr, "recall", "precision", ["threshold"], classes=classes, averages=averages)
    return _curve_chart(
        rows,
        "pr",
        ("recall", "Recall"),
        ("precision", "Precision"),
        [("threshold", "threshold")],
        title=title,
        width=width,
        height=height,
    )


def lift_chart(
    lift: pd.DataFrame,
    *,
    classes: Sequence[Any] | None = None,
    averages: Sequence[str] = ("micro",),
    title: str = "Lift curve",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Lift curves: lift over random against the fraction of samples targeted.

    Parameters
    ----------
    lift : pandas.DataFrame
        ``curves()["lift"]``: ``curve``, ``label``, ``fraction``, ``lift``.
    classes : sequence of hashable, optional
        Only these classes' lines (default all).
    averages : sequence of {"micro", "macro"}, default ("micro",)
        Which averages to draw (the engine gives micro only).
    title : str, default "Lift curve"
    width, height : int
        Plot size in pixels.

    Returns
    -------
    altair.LayerChart
        Named data ``lift``; a rule marks lift 1 (random); legend click hides a line.
    """
    rows = curve_rows(lift, "fraction", "lift", classes=classes, averages=averages)

    def baseline() -> alt.Chart:
        return (
            alt.Chart(alt.InlineData(values=[{"lift": 1.0}]))
            .mark_rule(color="gray", strokeDash=[4, 4])
            .encode(y=alt.Y("lift:Q", title="Lift"))
        )

    return _curve_chart(
        rows,
        "lift",
        ("fraction", "Fraction of samples targeted"),
        ("lift", "Lift"),
        [],
        title=title,
        width=width,
        height=height,
        reference=baseline,
        y_domain=None,
    )


def gains_chart(
    gains: pd.DataFrame,
    *,
    classes: Sequence[Any] | None = None,
    averages: Sequence[str] = ("micro",),
    title: str = "Cumulative gains",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Cumulative gains: fraction of positives found against fraction of samples targeted.

    Parameters
    ----------
    gains : pandas.DataFrame
        ``curves()["gains"]``: ``curve``, ``label``, ``fraction``, ``gain``.
    classes : sequence of hashable, optional
        Only these classes' lines (default all).
    averages : sequence of {"micro", "macro"}, default ("micro",)
        Which averages to draw (the engine gives micro only).
    title : str, default "Cumulative gains"
    width, height : int
        Plot size in pixels.

    Returns
    -------
    altair.LayerChart
        Named data ``gains``; the diagonal is a random model; legend click hides a line.
    """
    rows = curve_rows(gains, "fraction", "gain", classes=classes, averages=averages)
    return _curve_chart(
        rows,
        "gains",
        ("fraction", "Fraction of samples targeted"),
        ("gain", "Fraction of positives found"),
        [],
        title=title,
        width=width,
        height=height,
        reference=lambda: _diagonal("Fraction of samples targeted", "Fraction of positives found"),
    )


def calibration_chart(
    calibration: pd.DataFrame,
    *,
    classes: Sequence[Any] | None = None,
    averages: Sequence[str] = ("micro", "macro"),
    title: str = "Calibration",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Calibration (reliability) curves, each bin's point sized by its share of samples.

    Parameters
    ----------
    calibration : pandas.DataFrame
        ``curves()["calibration"]``: ``curve``, ``label``, ``bin`` (bin
        centre), ``mean_predicted``, ``fraction_positive``, ``count``.
    classes : sequence of hashable, optional
        Only these classes' lines (default all).
    averages : sequence of {"micro", "macro"}, default both
        Which averages to draw.
    title : str, default "Calibration"
    width, height : int
        Plot size in pixels.

    Returns
    -------
    altair.LayerChart
        Named data ``calibration``: the mean predicted probability of each
        bin against the fraction of positives in it, the diagonal being
        perfect calibration. Points are sized by ``share``, the bin's part of
        its line's samples (a count-sized micro line would dwarf the rest);
        hover shows the bin and its count.
    """
    rows = curve_rows(
        calibration,
        "mean_predicted",
        "fraction_positive",
        ["bin", "count"],
        classes=classes,
        averages=averages,
    )
    # Point size: the bin's share of its line's samples (the averages pool every
    # class's column, so raw counts would dwarf the class lines' points).
    totals: dict[str, float] = {}
    for r in rows:
        totals[r["series"]] = totals.get(r["series"], 0.0) + (r["count"] or 0)
    for r in rows:
        total = totals[r["series"]]
        r["share"] = (r["count"] or 0) / total if total > 0 else 0.0
    return _curve_chart(
        rows,
        "calibration",
        ("mean_predicted", "Mean predicted probability"),
        ("fraction_positive", "Fraction of positives"),
        [("bin", "bin centre"), ("count", "samples in bin")],
        title=title,
        width=width,
        height=height,
        reference=lambda: _diagonal("Mean predicted probability", "Fraction of positives"),
        sized_by="share",
    )


# --------------------------------------------------------------------- drawing
def _diagonal(x_title: str, y_title: str) -> alt.Chart:
    return (
        alt.Chart(alt.InlineData(values=[{"x": 0.0, "y": 0.0, "x2": 1.0, "y2": 1.0}]))
        .mark_rule(color="gray", strokeDash=[4, 4])
        .encode(
            x=alt.X("x:Q", title=x_title),
            y=alt.Y("y:Q", title=y_title),
            x2="x2:Q",
            y2="y2:Q",
        )
    )


def _curve_chart(
    rows: list[dict[str, Any]],
    name: str,
    x: tuple[str, str],
    y: tuple[str, str],
    extra: list[tuple[str, str]],
    *,
    title: str,
    width: int,
    height: int,
    reference: Callable[[], alt.Chart] | None = None,
    y_domain: tuple[float, float] | None = (0.0, 1.0),
    sized_by: str | None = None,
) -> Any:
    series = list(dict.fromkeys(r["series"] for r in rows))

    def build() -> alt.LayerChart:
        n_series = len(series)
        # The selection holds the lines shown; it starts with every line, so a legend
        # click (toggle) takes a line out: the line disappears and its legend entry
        # fades, as Vega-Lite fades entries outside a legend-bound selection. A double
        # click clears it: an empty selection shows every line.
        shown = alt.selection_point(
            name=f"{name}_shown",
            fields=["series"],
            bind="legend",
            toggle="true",
            value=[{"series": s} for s in series] if series else alt.Undefined,
        )
        visible_if_shown = (
            alt.when(shown).then(alt.value(1.0)).otherwise(alt.value(_HIDDEN_OPACITY))
        )
        x_enc = alt.X(f"{x[0]}:Q", title=x[1], scale=alt.Scale(domain=[0, 1], nice=False))
        y_scale = alt.Scale(domain=list(y_domain)) if y_domain is not None else alt.Scale(zero=True)
        y_enc = alt.Y(f"{y[0]}:Q", title=y[1], scale=y_scale)
        color = alt.Color(
            "series:N",
            title=None,
            sort=alt.EncodingSortField(field="rank", op="min"),
            scale=alt.Scale(scheme="tableau10" if n_series <= 10 else "category20"),
            legend=alt.Legend(labelLimit=180, symbolType="stroke"),
        )
        dash = alt.StrokeDash("kind:N", scale=alt.Scale(domain=_KINDS, range=_DASHES), legend=None)
        tooltip = [
            alt.Tooltip("series:N", title="line"),
            alt.Tooltip(f"{x[0]}:Q", title=x[1], format=".3f"),
            alt.Tooltip(f"{y[0]}:Q", title=y[1], format=".3f"),
            *(alt.Tooltip(f"{field}:Q", title=label, format=",.4~g") for field, label in extra),
        ]
        lines = (
            alt.Chart(name=f"{name}_lines")
            .mark_line(strokeWidth=2, interpolate="linear")
            .encode(
                x=x_enc,
                y=y_enc,
                color=color,
                strokeDash=dash,
                order=alt.Order("i:Q"),
                opacity=visible_if_shown,
            )
            .add_params(shown)
        )
        # Hover targets: the points of visible lines carry the tooltips.
        points = alt.Chart().transform_filter(shown)
        if sized_by is None:
            points = points.mark_circle(size=60, opacity=0.0).encode(
                x=x_enc, y=y_enc, color=color, tooltip=tooltip
            )
        else:
            points = points.mark_circle(opacity=0.9).encode(
                x=x_enc,
                y=y_enc,
                color=color,
                size=alt.Size(
                    f"{sized_by}:Q",
                    title="share of the line's samples",
                    scale=alt.Scale(domain=[0, 1], range=[10, 300]),
                    legend=alt.Legend(format=".0%"),
                ),
                tooltip=tooltip,
            )
        layers = ([reference()] if reference is not None else []) + [lines, points]
        subtitle = [] if rows else ["no scores yet"]
        return alt.layer(*layers, data=named_data(name, rows)).properties(
            title=alt.TitleParams(text=title, subtitle=subtitle, anchor="start"),
            width=width,
            height=height,
        )

    # Everything the chart depends on but its rows (the lines' names included).
    shape = ("curve", name, x, y, tuple(extra), title, width, height, y_domain, sized_by)
    return templated(shape + (tuple(series),), rows, build)
