"""Where the model fails: performance per attribute bucket, attribute importance, top losses.

Input: the engine's tables (``ClassificationMetrics.by_attribute(name)``,
``attribute_importance()``, ``top_losses(k)``), as DataFrames. Output: tidy
JSON-safe rows and Altair charts over named data (``by_attribute``,
``attribute_importance``), so the widget can refill a chart's rows for
another attribute, metric or class filter without a new spec.

- :func:`by_attribute_rows` / :func:`by_attribute_chart`: a bucket metric
  (macro recall by default) per bucket, with the recall of chosen classes
  as lines of their own, and the bucket counts as bars beside it, the
  buckets on a shared axis in the engine's order (value order for numeric
  attributes, largest first for categories).
- :func:`attribute_importance_rows` / :func:`attribute_importance_chart`:
  each attribute's relation to being wrong (and to the log loss), signed
  for numeric attributes (Spearman's rho), unsigned for categorical ones
  (the correlation ratio), strongest first.
- :func:`top_losses_rows`: the top-losses table as rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np

from ._data import WIDTH, clean, named_data, require_columns, text
from ._specs import templated

__all__ = [
    "ATTRIBUTE_DATA",
    "BUCKET_METRICS",
    "VISION_BUCKET_METRICS",
    "IMPORTANCE_DATA",
    "MAX_CLASS_LINES",
    "attribute_importance_chart",
    "attribute_importance_rows",
    "by_attribute_chart",
    "by_attribute_rows",
    "recall_column",
    "top_losses_rows",
]

#: Name of the by-attribute chart's data set (the page refills it).
ATTRIBUTE_DATA = "by_attribute"
#: Name of the importance chart's data set.
IMPORTANCE_DATA = "attribute_importance"

#: The bucket metrics a chart can show (``by_attribute`` columns) -> their title.
BUCKET_METRICS: dict[str, str] = {
    "recall_macro": "recall (macro)",
    "precision_macro": "precision (macro)",
    "f1_macro": "F1 (macro)",
    "accuracy": "accuracy",
    "log_loss": "log loss",
}
#: The bucket metrics of vision runs' ``by_attribute`` (buckets of images) -> their title.
VISION_BUCKET_METRICS: dict[str, str] = {
    "mAP": "mAP",
    "mAP_50": "mAP@0.5",
    "f1": "F1 at the threshold",
    "precision": "precision at the threshold",
    "recall": "recall at the threshold",
    "mean_iou": "mean IoU",
    "pixel_accuracy": "pixel accuracy",
}
_TITLES = {**BUCKET_METRICS, **VISION_BUCKET_METRICS}

#: Per-class recall lines drawn at the most (more read as none).
MAX_CLASS_LINES = 20

_TABLE_COLUMNS = ("bucket", "lo", "hi", "count")


def recall_column(label: Any) -> str:
    """The ``by_attribute`` column of a class's recall (``recall[<label>]``)."""
    if isinstance(label, np.generic):
        label = label.item()
    return f"recall[{label}]"


def _check_metric(metric: str) -> None:
    if metric not in _TITLES:
        raise ValueError(
            f"metric must be one of {', '.join(map(repr, _TITLES))}; got {metric!r}."
        )


def by_attribute_rows(
    table: Any,
    metric: str = "recall_macro",
    classes: Sequence[Any] | None = None,
    numeric: bool = True,
) -> list[dict[str, Any]]:
    """Tidy rows of a ``by_attribute`` table: one per bucket and series.

    Parameters
    ----------
    table : pandas.DataFrame
        ``ClassificationMetrics.by_attribute(name)``.
    metric : str, default "recall_macro"
        One of :data:`BUCKET_METRICS` (or :data:`VISION_BUCKET_METRICS` for a
        vision engine's table): the series ``overall`` is true for.
    classes : sequence of labels, optional
        Classes whose recall gets a series of its own (at most
        :data:`MAX_CLASS_LINES`; a class the table has no column for is
        refused). Their recall is NaN (None here) in a bucket without a
        true sample of the class.
    numeric : bool, default True
        Whether the buckets are ranges in value order (``line``: the chart
        joins their points); categories have no order (points only).

    Returns
    -------
    list of dict
        ``bucket`` (text), ``order`` (the bucket's position), ``lo``, ``hi``
        (numeric edges, None for categories), ``count``, ``line``,
        ``series`` (the metric's title, or the class as text), ``overall``,
        ``value``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"bucket": ["web", "scan"], "lo": [None, None], "hi": [None, None],
    ...                   "count": [3, 1], "recall_macro": [0.5, 1.0], "recall[cat]": [1.0, None]})
    >>> rows = by_attribute_rows(t, classes=["cat"], numeric=False)
    >>> [(r["bucket"], r["series"], r["value"]) for r in rows]
    [('web', 'recall (macro)', 0.5), ('scan', 'recall (macro)', 1.0), ('web', 'cat', 1.0), \
('scan', 'cat', None)]
    """
    _check_metric(metric)
    require_columns(table, _TABLE_COLUMNS, "table")
    classes = list(classes or [])
    if len(classes) > MAX_CLASS_LINES:
        raise ValueError(f"classes may name at most {MAX_CLASS_LINES} classes; got {len(classes)}.")
    missing = [c for c in classes if recall_column(c) not in table.columns]
    if missing:
        raise ValueError(f"classes {missing!r} have no recall column in table.")
    if metric not in table.columns:  # log loss without scores: an empty series
        values = [None] * len(table)
    else:
        values = [clean(v) for v in table[metric].tolist()]
    base = [
        {
            "bucket": text(b),
            "order": i,
            "lo": clean(lo),
            "hi": clean(hi),
            "count": clean(n),
            "line": bool(numeric),
        }
        for i, (b, lo, hi, n) in enumerate(
            zip(table["bucket"], table["lo"], table["hi"], table["count"])
        )
    ]
    rows = [
        {**b, "series": _TITLES[metric], "overall": True, "value": v}
        for b, v in zip(base, values)
    ]
    for c in classes:
        recall = [clean(v) for v in table[recall_column(c)].tolist()]
        rows += [
            {**b, "series": text(c), "overall": False, "value": v} for b, v in zip(base, recall)
        ]
    return rows


def by_attribute_chart(
    table: Any,
    metric: str = "recall_macro",
    classes: Sequence[Any] | None = None,
    *,
    numeric: bool = True,
    width: int = WIDTH,
    bar_height: int = 16,
) -> Any:
    """A bucket metric per bucket (a line per class), the bucket counts as bars beside it.

    One spec for every metric, class filter and attribute: what differs is
    in the rows (:func:`by_attribute_rows`), so the widget refills the named
    data :data:`ATTRIBUTE_DATA` of one spec. The metric's name is its
    series' name in the legend; the value axis spans [0, 1] at least (rates),
    more where a log loss needs it.

    Parameters
    ----------
    table, metric, classes, numeric
        As :func:`by_attribute_rows`.
    width : int
        Width of the metric plot; the counts take a third of it.
    bar_height : int
        Height of one bucket's row.

    Returns
    -------
    altair.HConcatChart
        Buckets on the shared y axis, top to bottom in the table's order.
    """
    rows = by_attribute_rows(table, metric, classes, numeric)
    shape = ("by_attribute", int(width), int(bar_height))
    return templated(shape, rows, lambda: _by_attribute_chart(rows, width, bar_height))


def _by_attribute_chart(rows: list[dict[str, Any]], width: int, bar_height: int) -> Any:
    y = alt.Y(
        "bucket:N",
        title=None,
        sort=alt.EncodingSortField(field="order", op="min"),
        axis=alt.Axis(labelLimit=160),
    )
    x = alt.X("value:Q", title=None, scale=alt.Scale(domain={"unionWith": [0, 1]}))
    color = alt.Color(
        "series:N",
        title=None,
        # The overall series first, then the classes.
        sort=alt.EncodingSortField(field="overall", op="max", order="descending"),
        legend=alt.Legend(orient="bottom", columns=3, labelLimit=140),
    )
    size = alt.Size("overall:N", scale=alt.Scale(domain=[True, False], range=[70, 25]), legend=None)
    tooltip = [
        alt.Tooltip("bucket:N", title="bucket"),
        alt.Tooltip("series:N", title="series"),
        alt.Tooltip("value:Q", title="value", format=".4~g"),
        alt.Tooltip("count:Q", title="samples"),
    ]
    base = alt.Chart().encode(y=y)
    line = (
        base.mark_line(strokeWidth=1.5)
        .encode(x=x, color=color, order=alt.Order("order:Q"), detail="series:N")
        .transform_filter("datum.line")
    )
    points = base.mark_point(filled=True, opacity=1).encode(
        x=x, color=color, size=size, tooltip=tooltip
    )
    metric_plot = alt.layer(line, points).properties(width=width, height=alt.Step(bar_height))
    counts = (
        base.mark_bar(color="#bbbbbb", height={"band": 0.7})
        .encode(
            # The buckets are named once, on the metric's axis to the left.
            y=alt.Y("bucket:N", axis=None, sort=alt.EncodingSortField(field="order", op="min")),
            x=alt.X("count:Q", title="samples"),
            tooltip=[
                alt.Tooltip("bucket:N", title="bucket"),
                alt.Tooltip("count:Q", title="samples"),
            ],
        )
        .transform_filter("datum.overall")
        .properties(width=max(60, width // 3), height=alt.Step(bar_height))
    )
    return alt.hconcat(metric_plot, counts, data=named_data(ATTRIBUTE_DATA, rows)).resolve_scale(
        y="shared"
    )


def attribute_importance_rows(
    frame: Any, targets: tuple[str, str] = ("error", "log loss")
) -> list[dict[str, Any]]:
    """The importance table as rows, one per attribute and target, strongest attribute first.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``ClassificationMetrics.attribute_importance()``: ``attribute``,
        ``kind``, ``measure``, ``with_error``, ``with_loss``.
    targets : (str, str)
        What ``with_error`` and ``with_loss`` are with (a vision engine's
        per-image error and loss have other names).

    Returns
    -------
    list of dict
        ``attribute`` (text), ``kind``, ``measure``, ``rank`` (0 = the
        strongest, the engine's order), ``target`` ("error" or "log loss")
        and ``value`` (None where undefined: a constant attribute, no scores).
    """
    require_columns(frame, ("attribute", "kind", "measure", "with_error", "with_loss"), "frame")
    rows = []
    for rank, rec in enumerate(frame.to_dict("records")):
        for target, column in zip(targets, ("with_error", "with_loss")):
            rows.append(
                {
                    "attribute": text(rec["attribute"]),
                    "kind": text(rec["kind"]),
                    "measure": text(rec["measure"]),
                    "rank": rank,
                    "target": target,
                    "value": clean(rec[column]),
                }
            )
    return rows


def attribute_importance_chart(
    frame: Any,
    *,
    width: int = WIDTH,
    bar_height: int = 10,
    targets: tuple[str, str] = ("error", "log loss"),
) -> Any:
    """Signed bars: each attribute's correlation with being wrong and with the log loss.

    Numeric attributes: Spearman's rho (positive: larger values go with more
    errors); categorical: the correlation ratio η in [0, 1]. Strongest on top
    (the engine's order: by ``|with_error|``, then ``|with_loss|``).
    ``targets`` names the two bars, as :func:`attribute_importance_rows`.

    Returns
    -------
    altair.Chart
        Bars over the named data :data:`IMPORTANCE_DATA`, x from -1 to 1.
    """
    targets = (str(targets[0]), str(targets[1]))
    rows = attribute_importance_rows(frame, targets)
    shape = ("attribute_importance", int(width), int(bar_height), targets)
    return templated(shape, rows, lambda: _importance_chart(rows, width, bar_height, targets))


def _importance_chart(
    rows: list[dict[str, Any]], width: int, bar_height: int, targets: tuple[str, str]
) -> Any:
    subtitle = "Spearman's rho (numeric), correlation ratio (categorical)"
    return (
        alt.Chart(named_data(IMPORTANCE_DATA, rows))
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title="correlation", scale=alt.Scale(domain=[-1, 1])),
            y=alt.Y(
                "attribute:N",
                title=None,
                sort=alt.EncodingSortField(field="rank", op="min"),
                axis=alt.Axis(labelLimit=160),
            ),
            yOffset=alt.YOffset("target:N", sort=list(targets)),
            color=alt.Color(
                "target:N",
                title=None,
                scale=alt.Scale(domain=list(targets), range=["#e45756", "#4c78a8"]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("attribute:N", title="attribute"),
                alt.Tooltip("measure:N", title="measure"),
                alt.Tooltip("target:N", title="with"),
                alt.Tooltip("value:Q", title="value", format=".3f"),
            ],
        )
        .properties(
            width=width,
            height=alt.Step(bar_height),
            title=alt.TitleParams("Attribute importance", subtitle=[subtitle], anchor="start"),
        )
    )


def top_losses_rows(frame: Any) -> list[dict[str, Any]]:
    """``top_losses(k)`` as rows: ``id`` (int or text), ``true``, ``predicted`` (text), ``loss``."""
    require_columns(frame, ("id", "true", "predicted", "loss"), "frame")
    return [
        {
            "id": clean(i) if isinstance(clean(i), int) else text(i),
            "true": text(t),
            "predicted": text(p),
            "loss": clean(x),
        }
        for i, t, p, x in zip(frame["id"], frame["true"], frame["predicted"], frame["loss"])
    ]
