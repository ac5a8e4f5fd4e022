"""Charts of a regressor: binned predicted vs true, and the residual histogram.

Input: ``RegressionMetrics.curves()``:

- ``predicted_vs_true``: one row per non-empty bin of ``y_true`` with
  ``bin_lower``, ``bin_upper``, ``count``, ``mean_true``,
  ``mean_predicted``, ``std_predicted``, ``lower`` and ``upper`` (the band,
  mean ± std);
- ``residuals``: one row per histogram bin of ``y_pred - y_true`` with
  ``bin_lower``, ``bin_upper``, ``count``; ``attrs`` may hold ``mean``,
  ``std`` and ``count`` of the residuals.

Data sets are named ``predicted_vs_true`` and ``residuals``.
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import pandas as pd

from ._data import HEIGHT, WIDTH, clean, n_rows, named_data, require_columns

__all__ = [
    "PREDICTED_VS_TRUE_COLUMNS",
    "RESIDUAL_COLUMNS",
    "predicted_vs_true_chart",
    "predicted_vs_true_rows",
    "residual_rows",
    "residuals_chart",
]

#: The columns :func:`predicted_vs_true_chart` reads.
PREDICTED_VS_TRUE_COLUMNS = (
    "bin_lower",
    "bin_upper",
    "count",
    "mean_true",
    "mean_predicted",
    "std_predicted",
    "lower",
    "upper",
)
#: The columns :func:`residuals_chart` reads.
RESIDUAL_COLUMNS = ("bin_lower", "bin_upper", "count")


def predicted_vs_true_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records of the predicted-vs-true table, one per bin.

    Parameters
    ----------
    table : pandas.DataFrame
        ``curves()["predicted_vs_true"]`` (columns :data:`PREDICTED_VS_TRUE_COLUMNS`).

    Returns
    -------
    list of dict
        The columns of :data:`PREDICTED_VS_TRUE_COLUMNS`, in bin order.
    """
    require_columns(table, PREDICTED_VS_TRUE_COLUMNS, "table")
    n = n_rows(table)
    cols = {c: [clean(v) for v in table[c].tolist()] for c in PREDICTED_VS_TRUE_COLUMNS}
    return [{c: cols[c][i] for c in PREDICTED_VS_TRUE_COLUMNS} for i in range(n)]


def predicted_vs_true_chart(
    table: pd.DataFrame,
    *,
    title: str = "Predicted vs true",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Mean prediction per bin of the true value, with a ±1 std band and bin-size bars.

    Parameters
    ----------
    table : pandas.DataFrame
        ``curves()["predicted_vs_true"]``: ``bin_lower``, ``bin_upper``,
        ``count``, ``mean_true``, ``mean_predicted``, ``std_predicted``,
        ``lower``, ``upper``.
    title : str, default "Predicted vs true"
    width, height : int
        Plot size in pixels.

    Returns
    -------
    altair.LayerChart
        Named data ``predicted_vs_true``: grey bars over each bin's range
        give its sample count (right axis); the line is the mean prediction
        at the bin's mean true value, the band mean ± std, the dashed line
        the ideal ``predicted = true``.
    """
    rows = predicted_vs_true_rows(table)
    x = alt.X("mean_true:Q", title="True value", scale=alt.Scale(zero=False))
    y_title = "Predicted value (mean ± std)"
    y = alt.Y("mean_predicted:Q", title=y_title, scale=alt.Scale(zero=False))
    tooltip = [
        alt.Tooltip("bin_lower:Q", title="bin from", format=",.4~g"),
        alt.Tooltip("bin_upper:Q", title="bin to", format=",.4~g"),
        alt.Tooltip("count:Q", title="samples", format=","),
        alt.Tooltip("mean_true:Q", title="mean true", format=",.4~g"),
        alt.Tooltip("mean_predicted:Q", title="mean predicted", format=",.4~g"),
        alt.Tooltip("std_predicted:Q", title="std predicted", format=",.4~g"),
    ]
    bars = (
        alt.Chart()
        .mark_rect(color="#bbbbbb", opacity=0.45)
        .encode(
            x=alt.X("bin_lower:Q", title="True value"),
            x2="bin_upper:Q",
            y=alt.Y("count:Q", title="Samples per bin", axis=alt.Axis(orient="right")),
            y2=alt.datum(0),
            tooltip=tooltip,
        )
    )
    band = (
        alt.Chart()
        .mark_area(opacity=0.25, color="#4c78a8")
        .encode(x=x, y=alt.Y("lower:Q", title=y_title), y2="upper:Q")
    )
    ideal = (
        alt.Chart()
        .mark_line(color="gray", strokeDash=[4, 4])
        .encode(x=x, y=alt.Y("mean_true:Q", title=y_title))
    )
    line = alt.Chart().mark_line(color="#4c78a8", point=True).encode(x=x, y=y, tooltip=tooltip)
    predictions = alt.layer(band, ideal, line)
    subtitle = [] if rows else ["no predictions yet"]
    return (
        alt.layer(bars, predictions, data=named_data("predicted_vs_true", rows))
        .resolve_scale(y="independent")
        .properties(
            title=alt.TitleParams(text=title, subtitle=subtitle, anchor="start"),
            width=width,
            height=height,
        )
    )


def residual_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records of the residual histogram, one per bin.

    Parameters
    ----------
    table : pandas.DataFrame
        ``curves()["residuals"]``: ``bin_lower``, ``bin_upper``, ``count``.

    Returns
    -------
    list of dict
        ``bin`` (the range as text, e.g. ``"[-0.5, 0)"``; the last bin is
        closed), ``bin_index``, ``bin_lower``, ``bin_upper``, ``count``. A
        bin with neither width nor samples (Azure's end bins when every
        residual is inside them) is left out.

    Examples
    --------
    >>> t = pd.DataFrame({"bin_lower": [-1.0, 0.0], "bin_upper": [0.0, 1.0], "count": [3, 4]})
    >>> [r["bin"] for r in residual_rows(t)]
    ['[-1, 0)', '[0, 1]']
    """
    require_columns(table, RESIDUAL_COLUMNS, "table")
    cols = {c: [clean(v) for v in table[c].tolist()] for c in RESIDUAL_COLUMNS}
    # Azure's edges put a bin beyond +-2 std(y) at each end; when every residual
    # is inside, those bins have no width and no samples ("[-2, -2)"): left out.
    kept = [
        i
        for i in range(n_rows(table))
        if cols["bin_lower"][i] != cols["bin_upper"][i] or cols["count"][i]
    ]
    rows = []
    for position, i in enumerate(kept):
        lo, hi = cols["bin_lower"][i], cols["bin_upper"][i]
        close = "]" if position == len(kept) - 1 else ")"
        rows.append(
            {
                "bin": f"[{_number(lo)}, {_number(hi)}{close}",
                "bin_index": position,
                "bin_lower": lo,
                "bin_upper": hi,
                "count": cols["count"][i],
            }
        )
    return rows


def _number(value: Any) -> str:
    if value is None:
        return "?"
    text = f"{value:.3g}"
    return "0" if text in ("-0", "0") else text


def residuals_chart(
    table: pd.DataFrame,
    *,
    title: str = "Residuals",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.Chart:
    """Histogram of the residuals ``y_pred - y_true``.

    Parameters
    ----------
    table : pandas.DataFrame
        ``curves()["residuals"]``; ``table.attrs`` ``mean``, ``std`` and
        ``count``, when present, go in the subtitle.
    title : str, default "Residuals"
    width, height : int
        Plot size in pixels.

    Returns
    -------
    altair.Chart
        Bars, one per bin in order, over the named data ``residuals``. The
        bins are drawn the same width (the outer two reach the extreme
        residuals and may be much wider than the rest); their ranges label
        the axis.
    """
    rows = residual_rows(table)
    attrs = getattr(table, "attrs", {}) or {}
    parts = []
    for key, label in (("mean", "mean"), ("std", "std")):
        value = attrs.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value):
            parts.append(f"{label} {value:.4g}")
    if isinstance(attrs.get("count"), (int, float)):
        parts.append(f"n = {int(attrs['count']):,}")
    subtitle = [", ".join(parts)] if parts else ([] if rows else ["no predictions yet"])
    return (
        alt.Chart(named_data("residuals", rows))
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X(
                "bin:N",
                title="Residual (predicted − true)",
                sort=alt.EncodingSortField(field="bin_index", op="min"),
                axis=alt.Axis(labelAngle=-45),
            ),
            y=alt.Y("count:Q", title="Samples"),
            tooltip=[
                alt.Tooltip("bin:N", title="residual"),
                alt.Tooltip("count:Q", title="samples", format=","),
            ],
        )
        .properties(
            title=alt.TitleParams(text=title, subtitle=subtitle, anchor="start"),
            width=width,
            height=height,
        )
    )
