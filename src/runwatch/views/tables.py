"""Table rows: the metrics of an iteration by group, and the per-class table with its bar plot.

Input: ``compute()`` (``{metric name: float}``), optionally the reasons a
value is undefined (``{metric name: str}``), and ``per_class()`` (a
DataFrame indexed by label with ``precision``, ``recall``, ``f1``,
``support`` and, with scores, ``auc`` and ``average_precision``). Rows are
plain dicts of JSON-safe values: NaN becomes None, labels become text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd

from ._data import WIDTH, clean, named_data, unique_texts
from ._specs import templated

__all__ = [
    "METRIC_GROUPS",
    "PER_CLASS_COLUMNS",
    "per_class_columns",
    "metrics_table_rows",
    "per_class_chart",
    "per_class_rows",
]

#: Group name -> the metrics in it, in display order; a name in no group goes to "other".
METRIC_GROUPS: dict[str, tuple[str, ...]] = {
    "threshold-free": (
        "AUC_macro",
        "AUC_micro",
        "AUC_weighted",
        "average_precision_score_macro",
        "average_precision_score_micro",
        "average_precision_score_weighted",
        "log_loss",
    ),
    "label": (
        "accuracy",
        "balanced_accuracy",
        "weighted_accuracy",
        "norm_macro_recall",
        "matthews_correlation",
        "precision_score_macro",
        "precision_score_micro",
        "precision_score_weighted",
        "recall_score_macro",
        "recall_score_micro",
        "recall_score_weighted",
        "f1_score_macro",
        "f1_score_micro",
        "f1_score_weighted",
    ),
    "binary": (
        "AUC_binary",
        "average_precision_score_binary",
        "precision_score_binary",
        "recall_score_binary",
        "f1_score_binary",
    ),
    "correlation": ("r2_score", "explained_variance", "spearman_correlation"),
    "error": (
        "mean_absolute_error",
        "median_absolute_error",
        "root_mean_squared_error",
        "root_mean_squared_log_error",
        "mean_absolute_percentage_error",
        "mean_squared_error",
        "max_error",
        "mean_error",
    ),
    "normalised error": (
        "normalized_mean_absolute_error",
        "normalized_median_absolute_error",
        "normalized_root_mean_squared_error",
        "normalized_root_mean_squared_log_error",
    ),
    # Detection and instance segmentation (COCO's stats). Not "mAP"/"mAR": the page
    # capitalises group names, which would read "MAP".
    "average precision": ("mAP", "mAP_50", "mAP_75", "mAP_small", "mAP_medium", "mAP_large"),
    "average recall": ("mAR_1", "mAR_10", "mAR_100", "mAR_small", "mAR_medium", "mAR_large"),
    "matching": ("mean_matched_iou",),
    "segmentation": (
        "mean_iou",
        "frequency_weighted_iou",
        "pixel_accuracy",
        "mean_pixel_accuracy",
    ),
}

#: Column of a ``per_class()`` table -> its heading, in display order: what each
#: engine scores a class by first (AP for detection, IoU for semantic
#: segmentation), then precision, recall, F1 and the count. Other columns
#: (``tp``, ``predicted``, ...) stay in the data but not in the table.
PER_CLASS_COLUMNS: dict[str, str] = {
    "ap": "AP",
    "ap_50": "AP50",
    "iou": "IoU",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "mean_iou": "Matched IoU",
    "support": "Support",
}

_POSITION = {
    name: (g, i) for g, names in enumerate(METRIC_GROUPS.values()) for i, name in enumerate(names)
}
_GROUP_OF = {name: group for group, names in METRIC_GROUPS.items() for name in names}


def metrics_table_rows(
    metrics: Mapping[str, Any],
    reasons: Mapping[str, str] | None = None,
    *,
    drop_undefined: bool = False,
) -> list[dict[str, Any]]:
    """The metrics table: one row per metric, grouped, in display order.

    Parameters
    ----------
    metrics : mapping of str to float
        ``compute()`` of any engine metric (or logged values).
    reasons : mapping of str to str, optional
        Why a metric is undefined (the engine's reasons), shown beside a
        missing value.
    drop_undefined : bool, default False
        Leave out metrics whose value is NaN (e.g. the binary metrics of a
        multiclass run).

    Returns
    -------
    list of dict
        ``group`` (a key of :data:`METRIC_GROUPS`, or "other"), ``metric``,
        ``value`` (None when undefined) and ``reason`` (None when defined
        or unknown). Groups in :data:`METRIC_GROUPS` order, then "other"
        sorted by name.

    Examples
    --------
    >>> metrics_table_rows({"log_loss": 0.3, "accuracy": 0.9, "AUC_binary": float("nan")},
    ...                    {"AUC_binary": "binary only"})[0]
    {'group': 'threshold-free', 'metric': 'log_loss', 'value': 0.3, 'reason': None}
    >>> metrics_table_rows({"AUC_binary": float("nan")}, {"AUC_binary": "binary only"})[0]["reason"]
    'binary only'
    """
    if not isinstance(metrics, Mapping):
        raise TypeError(
            f"metrics must be a mapping of name to value; got {type(metrics).__name__}."
        )
    reasons = reasons or {}
    rows = []
    for name, raw in metrics.items():
        value = clean(raw)
        if value is not None and not isinstance(value, (int, float)):
            raise ValueError(f"metrics[{name!r}] must be a number; got {raw!r}.")
        if isinstance(value, bool):
            value = float(value)
        if value is None and drop_undefined:
            continue
        rows.append(
            {
                "group": _GROUP_OF.get(name, "other"),
                "metric": str(name),
                "value": value,
                "reason": None if value is not None else reasons.get(name),
            }
        )
    rows.sort(key=lambda r: _POSITION.get(r["metric"], (len(METRIC_GROUPS), r["metric"])))
    return rows


def per_class_rows(per_class: pd.DataFrame) -> list[dict[str, Any]]:
    """The per-class table: one row per class, in the table's order.

    Parameters
    ----------
    per_class : pandas.DataFrame
        ``per_class()``: indexed by label; ``precision``, ``recall``, ``f1``,
        ``support`` and any further columns (``auc``, ``average_precision``).

    Returns
    -------
    list of dict
        ``label`` (the class's text, unique) then every column; NaN is None.

    Examples
    --------
    >>> t = pd.DataFrame({"precision": [1.0], "recall": [0.5], "f1": [2 / 3], "support": [2.0]},
    ...                  index=pd.Index(["cat"], name="label"))
    >>> per_class_rows(t)[0]["recall"]
    0.5
    """
    if not isinstance(per_class, pd.DataFrame):
        raise TypeError(f"per_class must be a pandas DataFrame; got {type(per_class).__name__}.")
    names = unique_texts(per_class.index)
    columns = [str(c) for c in per_class.columns]
    if "label" in columns:
        raise ValueError("per_class must not have a 'label' column; labels are its index.")
    values = {c: per_class[c].tolist() for c in per_class.columns}
    return [
        {"label": name, **{str(c): clean(values[c][i]) for c in per_class.columns}}
        for i, name in enumerate(names)
    ]


def per_class_columns(per_class: pd.DataFrame) -> list[tuple[str, str]]:
    """The columns a per-class table shows, as ``(column, heading)``, in display order.

    Parameters
    ----------
    per_class : pandas.DataFrame
        ``per_class()`` of any engine.

    Returns
    -------
    list of tuple of str
        The columns of :data:`PER_CLASS_COLUMNS` that ``per_class`` has.
        Semantic segmentation's table (the one with a per-class ``iou``)
        counts pixels: its support is headed "Support (pixels)".

    Examples
    --------
    >>> t = pd.DataFrame({"iou": [0.5], "precision": [1.0], "support": [9], "predicted": [4]})
    >>> per_class_columns(t)
    [('iou', 'IoU'), ('precision', 'Precision'), ('support', 'Support (pixels)')]
    """
    if not isinstance(per_class, pd.DataFrame):
        raise TypeError(f"per_class must be a pandas DataFrame; got {type(per_class).__name__}.")
    pixels = "iou" in per_class.columns
    return [
        (name, "Support (pixels)" if pixels and name == "support" else title)
        for name, title in PER_CLASS_COLUMNS.items()
        if name in per_class.columns
    ]


def weakest_classes(
    per_class: pd.DataFrame,
    top: int,
    measures: tuple[str, ...] = ("precision", "recall"),
    rank_by: str | None = None,
) -> list[Any]:
    """The ``top`` classes scoring lowest (F1 by default), worst first: where a model fails most.

    Parameters
    ----------
    per_class : pandas.DataFrame
        ``per_class()``.
    top : int
        How many.
    measures : tuple of str, default ("precision", "recall")
        Without ``rank_by`` and an ``f1`` column, the lowest mean of these ranks.
    rank_by : str, optional
        The column that ranks (e.g. ``"iou"``); default ``"f1"`` when there is one.

    Returns
    -------
    list
        Labels of ``per_class``'s index, lowest first. A class without a
        value (no samples) comes after every other; ties go to the earlier class.

    Examples
    --------
    >>> t = pd.DataFrame({"precision": [0.9, 0.2, 0.5], "recall": [0.9, 0.4, 0.5],
    ...                   "f1": [0.9, 0.27, 0.5]}, index=["cat", "dog", "owl"])
    >>> weakest_classes(t, 3)
    ['dog', 'owl', 'cat']
    >>> weakest_classes(t, 1, rank_by="precision")
    ['dog']
    """
    rank = _rank_column(per_class, rank_by)
    order = _worst_first(per_class_rows(per_class), measures, rank)
    return [per_class.index[i] for i in order[:top]]


def _rank_column(per_class: pd.DataFrame, rank_by: str | None) -> str | None:
    """The column that ranks the classes: ``rank_by``, else ``f1`` if present, else None."""
    if rank_by is None:
        return "f1" if "f1" in per_class.columns else None
    if rank_by not in per_class.columns:
        raise ValueError(f"rank_by must be a column of per_class; it has no {rank_by!r}.")
    return rank_by


def weakest_note(top: int, total: int, kind: str = "F1") -> str:
    """The subtitle of a chart that draws only :func:`weakest_classes`, worst first.

    Parameters
    ----------
    top, total : int
        Classes drawn, and classes in all.
    kind : str, default "F1"
        What ranked them.

    Returns
    -------
    str

    Examples
    --------
    >>> weakest_note(20, 100)
    'the 20 of 100 classes with the lowest F1, worst first'
    """
    return f"the {top} of {total} classes with the lowest {kind}, worst first"


def _worst_first(
    table: list[dict[str, Any]], measures: tuple[str, ...], rank: str | None = "f1"
) -> list[int]:
    """Row indices by ``rank`` (else the mean of ``measures``), lowest first; none last."""

    def badness(r: dict[str, Any]) -> float:
        if rank is not None:
            return math.inf if r[rank] is None else r[rank]
        values = [r[m] for m in measures if r[m] is not None]
        return sum(values) / len(values) if values else math.inf

    return sorted(range(len(table)), key=lambda i: (badness(table[i]), i))


def per_class_chart(
    per_class: pd.DataFrame,
    *,
    measures: tuple[str, ...] = ("precision", "recall"),
    title: str = "Precision and recall per class",
    width: int = WIDTH,
    bar_height: int = 8,
    top: int | None = None,
    rank_by: str | None = None,
) -> alt.Chart:
    """Grouped horizontal bars of precision and recall (or other columns) per class.

    Parameters
    ----------
    per_class : pandas.DataFrame
        ``per_class()``.
    measures : tuple of str, default ("precision", "recall")
        Columns of ``per_class`` to draw, all in [0, 1].
    title : str, default "Precision and recall per class"
    width : int
        Plot width in pixels.
    bar_height : int, default 8
        Height of one bar; the plot grows with the number of classes.
    top : int, optional
        With more classes than this, draw only the ``top`` classes with the
        lowest F1 (where the model fails most; without an ``f1`` column, the
        lowest mean of ``measures``). A class with no F1 (no samples) is not
        among them.
    rank_by : str, optional
        The column that ranks the classes instead of F1 (e.g. ``"iou"`` for
        semantic segmentation's IoU bars).

    Returns
    -------
    altair.Chart
        Over the named data ``per_class``: rows ``label``, ``rank``,
        ``measure``, ``value``, ``support`` (and the ranking column, e.g.
        ``f1``, when it is not drawn). Classes go top to bottom by ``rank``:
        lowest F1 (or ``rank_by``) first (none last, ties in the table's
        order), as the subtitle says.
    """
    missing = [m for m in measures if m not in per_class.columns]
    if missing:
        raise ValueError(f"per_class has no column {missing[0]!r}.")
    table = per_class_rows(per_class)
    column = _rank_column(per_class, rank_by)
    if column is None:
        kind = f"mean {' and '.join(measures)}"
    else:
        kind = PER_CLASS_COLUMNS.get(column, column)
    # The ranking column rides along for the tooltip unless it is drawn anyway.
    extra = column if column is not None and column not in measures else None
    order = _worst_first(table, measures, column)
    if not table:
        subtitle = ["no samples yet"]
    elif top is not None and len(table) > top:
        subtitle = [weakest_note(top, len(table), kind)]
        order = order[:top]
    else:
        subtitle = [f"by {kind}, worst first"]
    rows = [
        {
            "label": table[i]["label"],
            "rank": rank,
            "measure": m,
            "value": table[i][m],
            "support": table[i].get("support"),
            **({extra: table[i][extra]} if extra is not None else {}),
        }
        for rank, i in enumerate(order)
        for m in measures
    ]
    shape = ("per_class", tuple(measures), title, tuple(subtitle), width, bar_height, extra, kind)
    tip = None if extra is None else (extra, kind)
    return templated(
        shape,
        rows,
        lambda: _per_class_bars(rows, measures, title, subtitle, width, bar_height, tip),
    )


def _per_class_bars(
    rows: list[dict[str, Any]],
    measures: tuple[str, ...],
    title: str,
    subtitle: list[str],
    width: int,
    bar_height: int,
    tip: tuple[str, str] | None,
) -> alt.Chart:
    rank_tip = [] if tip is None else [alt.Tooltip(f"{tip[0]}:Q", title=tip[1], format=".3f")]
    return (
        alt.Chart(named_data("per_class", rows))
        .mark_bar()
        .encode(
            y=alt.Y(
                "label:N",
                title=None,
                # Explicit: Vega-Lite would otherwise sort the classes by name.
                sort=alt.EncodingSortField(field="rank", op="min", order="ascending"),
                axis=alt.Axis(labelLimit=160),
            ),
            yOffset=alt.YOffset("measure:N", sort=list(measures)),
            x=alt.X("value:Q", title=None, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("measure:N", title=None, sort=list(measures)),
            tooltip=[
                alt.Tooltip("label:N", title="class"),
                alt.Tooltip("measure:N", title="measure"),
                alt.Tooltip("value:Q", title="value", format=".3f"),
                alt.Tooltip("support:Q", title="support", format=",.4~g"),
                *rank_tip,
            ],
        )
        .properties(
            title=alt.TitleParams(text=title, subtitle=subtitle, anchor="start"),
            width=width,
            height=alt.Step(bar_height * len(measures)),
        )
    )
