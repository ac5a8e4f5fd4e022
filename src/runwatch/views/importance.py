"""Feature importance: a horizontal bar chart of the largest importances.

Input: what ``Iteration.log_feature_importance`` stores (``{"names": [...],
"values": [...], "per_class": [[label, values], ...] or None}``), a
``{feature: value}`` mapping, or a pandas Series indexed by feature.
Features are ranked by absolute importance (coefficients may be negative;
negative bars are drawn in another colour). The data set is named
``importance``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from ._data import WIDTH, clean, named_data, text

__all__ = ["importance_chart", "importance_rows"]


def _pairs(importance: Any, label: Any) -> tuple[list[Any], list[Any]]:
    if isinstance(importance, pd.Series):
        return list(importance.index), importance.tolist()
    if not isinstance(importance, Mapping):
        raise TypeError(
            "importance must be a {'names', 'values'} dict, a {feature: value} dict "
            f"or a pandas Series; got {type(importance).__name__}."
        )
    if "names" in importance and "values" in importance:
        names = list(importance["names"])
        if label is None:
            values = list(importance["values"])
        else:
            per_class = importance.get("per_class") or []
            matches = [v for k, v in per_class if k == label or text(k) == text(label)]
            if not matches:
                raise ValueError(f"label {label!r} has no per-class importances.")
            values = list(matches[0])
        if len(values) != len(names):
            raise ValueError(f"importance has {len(names)} names but {len(values)} values.")
        return names, values
    if label is not None:
        raise ValueError("label needs importances logged per class ('per_class').")
    return list(importance.keys()), list(importance.values())


def importance_rows(
    importance: Any, *, label: Any = None, top: int | None = 20
) -> list[dict[str, Any]]:
    """The ``top`` features by absolute importance, largest first.

    Parameters
    ----------
    importance : dict or pandas.Series
        ``{"names", "values", "per_class"}`` as logged, ``{feature: value}``
        or a Series indexed by feature.
    label : hashable, optional
        Show this class's importances (from ``per_class``) instead of the overall ones.
    top : int or None, default 20
        How many features to keep (None: all).

    Returns
    -------
    list of dict
        ``feature`` (text), ``importance``, ``rank`` (0 = largest
        magnitude), ``sign`` ("positive" or "negative"); non-finite values
        are left out.

    Examples
    --------
    >>> importance_rows({"a": 0.1, "b": -0.5, "c": 0.3}, top=2)
    [{'feature': 'b', 'importance': -0.5, 'rank': 0, 'sign': 'negative'}, \
{'feature': 'c', 'importance': 0.3, 'rank': 1, 'sign': 'positive'}]
    """
    if top is not None and (
        isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1
    ):
        raise ValueError(f"top must be a positive integer or None; got {top!r}.")
    names, values = _pairs(importance, label)
    cleaned = [clean(v) for v in values]
    finite = [
        i for i, v in enumerate(cleaned) if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    magnitude = np.array([abs(cleaned[i]) for i in finite], dtype=np.float64)
    order = [finite[j] for j in np.argsort(-magnitude, kind="stable")]
    if top is not None:
        order = order[: int(top)]
    return [
        {
            "feature": text(names[i]),
            "importance": cleaned[i],
            "rank": rank,
            "sign": "negative" if cleaned[i] < 0 else "positive",
        }
        for rank, i in enumerate(order)
    ]


def importance_chart(
    importance: Any,
    *,
    label: Any = None,
    top: int | None = 20,
    title: str = "Feature importance",
    width: int = WIDTH,
    bar_height: int = 16,
) -> alt.Chart:
    """Horizontal bars of the ``top`` features by absolute importance.

    Parameters
    ----------
    importance : dict or pandas.Series
        See :func:`importance_rows`.
    label : hashable, optional
        A class whose per-class importances to show.
    top : int or None, default 20
        How many features to show; the subtitle says how many there are.
    title : str, default "Feature importance"
    width : int
        Plot width in pixels.
    bar_height : int, default 16
        Height of one bar; the plot grows with the number of features.

    Returns
    -------
    altair.Chart
        Bars over the named data ``importance``, largest magnitude on top.
    """
    rows = importance_rows(importance, label=label, top=top)
    total = len(_pairs(importance, label)[0])
    parts = []  # the class name stays data: the widget's picker shows it
    if len(rows) < total:
        parts.append(f"top {len(rows)} of {total} features")
    if not rows:
        parts.append("no importances logged")
    return (
        alt.Chart(named_data("importance", rows))
        .mark_bar()
        .encode(
            x=alt.X("importance:Q", title="Importance"),
            y=alt.Y(
                "feature:N",
                title=None,
                sort=alt.EncodingSortField(field="rank", op="min"),
                axis=alt.Axis(labelLimit=200),
            ),
            color=alt.Color(
                "sign:N",
                scale=alt.Scale(domain=["positive", "negative"], range=["#4c78a8", "#e45756"]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("feature:N", title="feature"),
                alt.Tooltip("importance:Q", title="importance", format=".4~g"),
            ],
        )
        .properties(
            title=alt.TitleParams(
                text=title, subtitle=[", ".join(parts)] if parts else [], anchor="start"
            ),
            width=width,
            height=alt.Step(bar_height),
        )
    )
