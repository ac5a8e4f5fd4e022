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
the averages). Class lines take distinct hues (tableau10; beyond ten
classes ten more hues, never light/dark pairs of one hue); the averages are
drawn thicker, in black and dark grey, dashed and dotted, and lead the
legend. With many lines, one is read by highlighting it: hovering a line
(its points) or clicking its legend entry draws it opaque and thicker and
every other line faint. Legend clicks go to a point selection bound to
the legend, ``<data>_shown``, as Vega-Lite's interactive legend does (a
click picks one line, a shift-click adds or removes one, a click on an
empty spot of the chart picks none); hovering sets ``<data>_hover``. With
neither, every line is drawn as usual. The data is a named inline data
set (``roc``, ``pr``, ``lift``, ``gains``, ``calibration``) the front end
can replace with a vega changeset; :func:`curve_rows` builds its rows.

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
_WIDTHS = [1.5, 2.5, 2.5]
#: Line colours of the averages, in legend order (micro, macro).
AVERAGE_COLOURS = ("#000000", "#555555")
#: Class line colours: tableau10, then ten more for up to 20 classes, each picked in turn
#: (from Kelly's, ColorBrewer's and category20's colours) farthest in CIELAB from those
#: before it, black, grey and white: any two lie at least as far apart as tableau10's
#: closest pair (about 26). category20 and tableau20 pair a light and a dark shade of
#: one hue, next to each other in the legend, and two such lines read as one.
CLASS_COLOURS = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
    "#6a3d9a", "#e7298a", "#8db600", "#e41a1c", "#dbdb8d",
    "#882d17", "#ffbb78", "#b3446c", "#a6761d", "#a1caf1",
)  # fmt: skip
#: Opacity of the lines left out when some are highlighted.
FAINT = 0.15
_HIGHLIGHT_WIDTH = 3.5
_OVER_A_LINE = "pointerover[event.item && event.item.datum && isValid(event.item.datum.series)]"


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
        "macro"), ``rank`` (legend order: the averages, then the classes in
        the order of ``classes``, else of ``frame``), ``i`` (point order
        along the line), then ``x``, ``y`` and ``extra``; NaN and infinities
        are None. Rows come class lines first, so the averages draw on top.

    Examples
    --------
    >>> frame = pd.DataFrame({"curve": ["class", "class"], "label": [1, 1],
    ...                       "fpr": [0.0, 1.0], "tpr": [0.0, 1.0]})
    >>> curve_rows(frame, "fpr", "tpr", averages=())[1]
    {'series': '1', 'kind': 'class', 'rank': 0, 'i': 1, 'fpr': 1.0, 'tpr': 1.0}
    """
    columns = [x, y, *extra]
    require_columns(frame, ["curve", "label", *columns], "frame")
    unknown = set(averages) - set(AVERAGE_NAMES)
    if unknown:
        raise ValueError(f"averages must be among {sorted(AVERAGE_NAMES)}; got {sorted(unknown)}.")
    wanted_values = [] if classes is None else list(classes)
    wanted = None if classes is None else {text(c) for c in wanted_values}

    def position(kind: str, label: Any) -> int | None:
        """Where the line goes among its kind, or None to leave it out."""
        if kind != "class":
            return 0 if kind in averages else None
        if wanted is None:
            return 0
        for j, c in enumerate(wanted_values):
            if text(label) == text(c) or _same(label, c):
                return j
        return None

    groups: list[tuple[str, Any, pd.DataFrame, int]] = []
    if len(frame):
        for (kind, label), part in frame.groupby(["curve", "label"], sort=False):
            at = position(kind, label)
            if at is not None:
                groups.append((kind, label, part, at))
    # Classes first (as asked, else in table order), then micro, then macro.
    groups.sort(key=lambda g: (_KINDS.index(g[0]) if g[0] in _KINDS else len(_KINDS), g[3]))
    class_names: list[str] = []
    for kind, label, _, _ in groups:
        if kind == "class":
            class_names.append(unique_name(text(label), class_names))
    names = iter(class_names)
    n_averages = sum(kind != "class" for kind, _, _, _ in groups)
    n_classes = len(groups) - n_averages
    rows: list[dict[str, Any]] = []
    for at, (kind, _label, part, _) in enumerate(groups):
        # The legend lists the averages first: they are what a reader compares classes to.
        rank = at + n_averages if at < n_classes else at - n_classes
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
        Named data ``roc``; hover or a legend click highlights a line.
    """
    rows = curve_rows(roc, "fpr", "tpr", ["threshold"], classes=classes, averages=averages)
    return _curve_chart(
        rows,
        "roc",
        ("fpr", "False positive rate"),
        ("tpr", "True positive rate"),
        [("threshold", "threshold", ",.4~g")],
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
        Named data ``pr``; hover or a legend click highlights a line.
    """
    rows = curve_rows(pr, "recall", "precision", ["threshold"], classes=classes, averages=averages)
    return _curve_chart(
        rows,
        "pr",
        ("recall", "Recall"),
        ("precision", "Precision"),
        [("threshold", "threshold", ",.4~g")],
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
        Named data ``lift``; a rule marks lift 1 (random); hover or a legend
        click highlights a line.
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
        Named data ``gains``; the diagonal is a random model; hover or a
        legend click highlights a line.
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
    """Calibration (reliability) curves: a line per class and average, a marker per bin.

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
        perfect calibration. Markers are all one size, as scikit-learn's
        ``CalibrationDisplay`` draws them (sized by count, a dozen lines
        read as a cloud and need a legend of their own); hovering one shows
        its bin, its count and ``share``, the bin's part of its line's
        samples.
    """
    rows = curve_rows(
        calibration,
        "mean_predicted",
        "fraction_positive",
        ["bin", "count"],
        classes=classes,
        averages=averages,
    )
    # The averages pool every class's column: a share reads alike on every line.
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
        [
            ("bin", "bin centre", ".3f"),
            ("count", "samples in bin", ",.4~g"),
            ("share", "share of the line's samples", ".1%"),
        ],
        title=title,
        width=width,
        height=height,
        reference=lambda: _diagonal("Mean predicted probability", "Fraction of positives"),
        markers=True,
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
    extra: list[tuple[str, str, str]],
    *,
    title: str,
    width: int,
    height: int,
    reference: Callable[[], alt.Chart] | None = None,
    y_domain: tuple[float, float] | None = (0.0, 1.0),
    markers: bool = False,
) -> Any:
    series = list(dict.fromkeys(r["series"] for r in rows))
    n_averages = len({r["series"] for r in rows if r["kind"] != "class"})

    def build() -> alt.LayerChart:
        # Vega-Lite's interactive legend: a click picks one line, a shift-click adds or
        # removes one, a click on an empty spot picks none.
        shown = alt.selection_point(name=f"{name}_shown", fields=["series"], bind="legend")
        # Only marks of a line: hovering the reference rule must not fade every line.
        hover = alt.selection_point(
            name=f"{name}_hover", fields=["series"], on=_OVER_A_LINE, clear="pointerout"
        )
        # A line is lit when hovered; with none hovered, when picked in the legend, or
        # with none picked either, every line is. Lit lines are opaque, the rest faint;
        # hovered or picked lines are thicker too.
        h, p = f"data('{hover.name}_store')", f"data('{shown.name}_store')"
        hovered = f"vlSelectionTest('{hover.name}_store', datum)"
        picked = f"vlSelectionTest('{shown.name}_store', datum)"
        lit = f"length({h}) ? {hovered} : !length({p}) || {picked}"
        thick = f"length({h}) ? {hovered} : length({p}) && {picked}"
        opacity = {"condition": {"test": lit, "value": 1.0}, "value": FAINT}
        x_enc = alt.X(f"{x[0]}:Q", title=x[1], scale=alt.Scale(domain=[0, 1], nice=False))
        y_scale = alt.Scale(domain=list(y_domain)) if y_domain is not None else alt.Scale(zero=True)
        y_enc = alt.Y(f"{y[0]}:Q", title=y[1], scale=y_scale)
        # The colour domain is sorted by rank, averages first: they take the first colours.
        n_classes = len(series) - n_averages
        palette = [*AVERAGE_COLOURS[:n_averages], *CLASS_COLOURS[: max(n_classes, 1)]]
        color = alt.Color(
            "series:N",
            title=None,
            sort=alt.EncodingSortField(field="rank", op="min"),
            scale=alt.Scale(range=palette),
            legend=alt.Legend(labelLimit=180, symbolType="stroke", symbolStrokeWidth=2.5),
        )
        dash = alt.StrokeDash("kind:N", scale=alt.Scale(domain=_KINDS, range=_DASHES), legend=None)
        width_enc = {
            "condition": {"test": thick, "value": _HIGHLIGHT_WIDTH},
            "field": "kind",
            "type": "ordinal",
            # "ordinal": a "point" scale (Vega-Lite's default here) would spread the widths.
            "scale": {"type": "ordinal", "domain": _KINDS, "range": _WIDTHS},
            "legend": None,
        }
        tooltip = [
            alt.Tooltip("series:N", title="line"),
            alt.Tooltip(f"{x[0]}:Q", title=x[1], format=".3f"),
            alt.Tooltip(f"{y[0]}:Q", title=y[1], format=".3f"),
            *(alt.Tooltip(f"{field}:Q", title=label, format=fmt) for field, label, fmt in extra),
        ]
        lines = (
            alt.Chart(name=f"{name}_lines")
            .mark_line(interpolate="linear")
            .encode(
                x=x_enc,
                y=y_enc,
                color=color,
                strokeDash=dash,
                strokeWidth=width_enc,
                order=alt.Order("i:Q"),
                opacity=opacity,
            )
            .add_params(shown, hover)
        )
        # The points carry the tooltips and are the hover targets (a line is too thin to
        # aim at); invisible, except the calibration chart's bin markers.
        if markers:
            points = (
                alt.Chart()
                .mark_circle(size=30)
                .encode(x=x_enc, y=y_enc, color=color, opacity=opacity, tooltip=tooltip)
            )
        else:  # invisible: no colour (its scale would travel twice)
            points = (
                alt.Chart()
                .mark_circle(size=60, opacity=0.0)
                .encode(x=x_enc, y=y_enc, tooltip=tooltip)
            )
        layers = ([reference()] if reference is not None else []) + [lines, points]
        subtitle = [] if rows else ["no scores yet"]
        return alt.layer(*layers, data=named_data(name, rows)).properties(
            title=alt.TitleParams(text=title, subtitle=subtitle, anchor="start"),
            width=width,
            height=height,
        )

    # Everything the chart depends on but its rows: the lines' names are data only (the
    # palette's length is the number of lines), so another set of classes, e.g. the 20
    # weakest of a later iteration, takes the same template.
    shape = ("curve", name, x, y, tuple(extra), title, width, height, y_domain, markers)
    return templated(shape + (n_averages, len(series)), rows, build)
