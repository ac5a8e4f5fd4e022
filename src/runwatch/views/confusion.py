"""The confusion matrix: class selection, folding into "(other)", normalisation, heatmap.

Input: ``ClassificationMetrics.confusion_matrix()``, a square DataFrame
whose index holds the true labels and whose columns hold the predicted
labels, in the same order (counts, or weighted counts).

With many classes the chart shows a few of them: the 7 classes involved in
the largest off-diagonal counts (:func:`most_confused_classes`), the 7 with
the most true samples (:func:`most_common_classes`), or any chosen list;
:func:`fold_confusion` sums every other class into one "(other)" row and
column, so no count disappears. :func:`confusion_chart` draws the heatmap:
true rows, predicted columns, colour and text by the raw count or by the
share of its row (``normalize="true"``) or column (``normalize="pred"``);
hovering a cell shows its count and both shares. A click selects a cell
(point selection ``cell`` over the ``true`` and ``predicted`` fields) for
the widget to report back to Python. The data set is named ``confusion``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from ._data import clean, named_data, text, unique_name, unique_texts

__all__ = [
    "MODES",
    "OTHER",
    "confusion_chart",
    "confusion_rows",
    "fold_confusion",
    "most_common_classes",
    "most_confused_classes",
    "normalize_confusion",
    "select_classes",
]

#: The label of the folded row and column (suffixed if a kept class has this name).
OTHER = "(other)"

#: Class selections of :func:`select_classes` and :func:`confusion_chart`.
MODES = ("most_confused", "most_common", "all")

_OTHER_FILL = "#e8e8e8"

_NORMALIZE = {None: None, "true": "row_share", "pred": "col_share"}


# ------------------------------------------------------------------ selection
def _check_matrix(matrix: pd.DataFrame) -> np.ndarray:
    if not isinstance(matrix, pd.DataFrame):
        raise TypeError(
            f"matrix must be a pandas DataFrame (index true, columns predicted); "
            f"got {type(matrix).__name__}."
        )
    values = matrix.to_numpy(dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(f"matrix must be square; got shape {values.shape}.")
    if list(matrix.index) != list(matrix.columns):
        raise ValueError(
            "matrix must list the same labels, in the same order, as rows and columns."
        )
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("matrix must hold finite, non-negative counts.")
    return values


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}.")
    return int(k)


def most_common_classes(matrix: pd.DataFrame, k: int = 7) -> list[Any]:
    """The ``k`` classes with the most true samples, largest first.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Square confusion matrix, index true, columns predicted.
    k : int, default 7
        How many classes.

    Returns
    -------
    list
        Labels of ``matrix`` ordered by row sum, descending; ties keep the
        matrix order. With ``k`` or fewer classes, all of them.

    Examples
    --------
    >>> m = pd.DataFrame([[1, 0, 0], [0, 5, 1], [2, 0, 0]],
    ...                  index=list("abc"), columns=list("abc"))
    >>> most_common_classes(m, k=2)
    ['b', 'c']
    """
    values = _check_matrix(matrix)
    k = _check_k(k)
    order = np.argsort(-values.sum(axis=1), kind="stable")[:k]
    labels = list(matrix.index)
    return [labels[i] for i in order]


def most_confused_classes(matrix: pd.DataFrame, k: int = 7) -> list[Any]:
    """The ``k`` classes involved in the largest off-diagonal counts.

    Off-diagonal cells are taken largest first (ties: the matrix's row-major
    order); each adds its true class, then its predicted class, until ``k``
    classes are chosen. When fewer than ``k`` classes are ever confused, the
    most common of the rest fill up the list.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Square confusion matrix, index true, columns predicted.
    k : int, default 7
        How many classes.

    Returns
    -------
    list
        Labels in the order they were chosen.

    Examples
    --------
    >>> m = pd.DataFrame([[5, 3, 0], [0, 5, 0], [1, 0, 5]],
    ...                  index=list("abc"), columns=list("abc"))
    >>> most_confused_classes(m, k=2)
    ['a', 'b']
    >>> most_confused_classes(m, k=3)
    ['a', 'b', 'c']
    """
    values = _check_matrix(matrix)
    k = _check_k(k)
    labels = list(matrix.index)
    off = values.copy()
    np.fill_diagonal(off, 0.0)
    chosen: list[int] = []
    for flat in np.argsort(-off, axis=None, kind="stable"):
        if len(chosen) >= k:
            break
        r, c = divmod(int(flat), off.shape[1])
        if off[r, c] <= 0:
            break
        for i in (r, c):
            if i not in chosen and len(chosen) < k:
                chosen.append(i)
    if len(chosen) < k:
        for i in np.argsort(-values.sum(axis=1), kind="stable"):
            if len(chosen) >= k:
                break
            if int(i) not in chosen:
                chosen.append(int(i))
    return [labels[i] for i in chosen]


def select_classes(
    matrix: pd.DataFrame,
    mode: str = "most_confused",
    k: int = 7,
    classes: Sequence[Any] | None = None,
) -> list[Any]:
    """The classes the matrix view shows, in the matrix's order.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Square confusion matrix, index true, columns predicted.
    mode : {"most_confused", "most_common", "all"}, default "most_confused"
        The selection when ``classes`` is not given.
    k : int, default 7
        How many classes the two top-k modes pick.
    classes : sequence of hashable, optional
        The class filter: exactly these classes (each must be in ``matrix``).

    Returns
    -------
    list
        The chosen labels, ordered as in ``matrix`` so the diagonal stays the
        diagonal and switching modes keeps the order.
    """
    labels = list(matrix.index)
    if classes is not None:
        picked = _positions(labels, classes)
    elif mode == "all":
        _check_matrix(matrix)
        return labels
    elif mode == "most_confused":
        picked = _positions(labels, most_confused_classes(matrix, k))
    elif mode == "most_common":
        picked = _positions(labels, most_common_classes(matrix, k))
    else:
        raise ValueError(f"mode must be one of {list(MODES)}; got {mode!r}.")
    return [labels[i] for i in sorted(picked)]


def _positions(labels: list[Any], classes: Sequence[Any]) -> set[int]:
    if isinstance(classes, (str, bytes)):
        raise TypeError("classes must be a sequence of labels, not a single string.")
    where = {}
    for i, label in enumerate(labels):
        where.setdefault(label, i)
    out = set()
    for c in classes:
        try:
            out.add(where[c])
        except (KeyError, TypeError):
            raise ValueError(f"classes holds {c!r}, which is not a label of the matrix.") from None
    return out


# ------------------------------------------------------------------- folding
def fold_confusion(matrix: pd.DataFrame, classes: Sequence[Any]) -> pd.DataFrame:
    """Keep ``classes`` and sum every other class into one "(other)" row and column.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Square confusion matrix, index true, columns predicted.
    classes : sequence of hashable
        The classes to keep; each must be a label of ``matrix``.

    Returns
    -------
    pandas.DataFrame
        The kept classes in the matrix's order, then :data:`OTHER` (only when
        some class was folded; suffixed if a kept class is named "(other)").
        Every count of ``matrix`` is in exactly one cell: the total, each
        kept row's sum and each kept column's sum are unchanged. The dtype
        is kept (integer counts stay integers); ``attrs["other"]`` names the
        folded row and column.

    Examples
    --------
    >>> m = pd.DataFrame([[5, 1, 0], [2, 7, 1], [0, 3, 9]],
    ...                  index=list("abc"), columns=list("abc"))
    >>> folded = fold_confusion(m, ["a"])
    >>> list(folded.index), folded.to_numpy().tolist()
    (['a', '(other)'], [[5, 1], [2, 20]])
    """
    values = _check_matrix(matrix)
    labels = list(matrix.index)
    kept = sorted(_positions(labels, classes))
    rest = [i for i in range(len(labels)) if i not in set(kept)]
    raw = matrix.to_numpy()
    names: list[Any] = [labels[i] for i in kept]
    if rest:
        n = len(kept)
        out = np.zeros((n + 1, n + 1), dtype=raw.dtype if raw.dtype != object else values.dtype)
        out[:n, :n] = raw[np.ix_(kept, kept)]
        out[:n, n] = raw[np.ix_(kept, rest)].sum(axis=1)
        out[n, :n] = raw[np.ix_(rest, kept)].sum(axis=0)
        out[n, n] = raw[np.ix_(rest, rest)].sum()
        names.append(unique_name(OTHER, [text(x) for x in names]))
    else:
        out = raw[np.ix_(kept, kept)].copy()
    folded = pd.DataFrame(
        out,
        index=pd.Index(names, name="true", dtype=object),
        columns=pd.Index(names, name="predicted", dtype=object),
    )
    if rest:
        folded.attrs["other"] = names[-1]
    return folded


def normalize_confusion(matrix: pd.DataFrame, normalize: str | None) -> pd.DataFrame:
    """The matrix as counts, or as shares of each true row or each predicted column.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Square confusion matrix (folded or not).
    normalize : {None, "true", "pred"}
        None: unchanged; "true": each row sums to 1; "pred": each column sums
        to 1. An empty row or column stays 0.

    Returns
    -------
    pandas.DataFrame
        Same labels; floats when normalised.
    """
    values = _check_matrix(matrix)
    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be None, 'true' or 'pred'; got {normalize!r}.")
    if normalize is None:
        return matrix.copy()
    axis = 1 if normalize == "true" else 0
    total = values.sum(axis=axis, keepdims=True)
    shares = np.divide(values, total, out=np.zeros_like(values), where=total > 0)
    out = pd.DataFrame(shares, index=matrix.index.copy(), columns=matrix.columns.copy())
    out.attrs.update(matrix.attrs)
    return out


# --------------------------------------------------------------------- chart
def confusion_rows(matrix: pd.DataFrame, normalize: str | None = None) -> list[dict[str, Any]]:
    """One record per cell of a (folded) confusion matrix.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Square confusion matrix, index true, columns predicted.
    normalize : {None, "true", "pred"}, default None
        What ``value`` (colour and text) holds: the count, the row share or
        the column share.

    Returns
    -------
    list of dict
        ``true`` and ``predicted`` (label text, unique), ``true_index`` and
        ``predicted_index`` (positions in ``matrix``), ``count``,
        ``row_share`` (count / its true row's total), ``col_share`` (count /
        its predicted column's total), ``value``, ``diagonal``, ``other``
        (the cell is in the "(other)" row or column of :func:`fold_confusion`,
        which marks it in ``matrix.attrs["other"]``); rows first.

    Examples
    --------
    >>> m = pd.DataFrame([[3, 1], [0, 4]], index=["x", "y"], columns=["x", "y"])
    >>> confusion_rows(m, "true")[1]["value"]
    0.25
    """
    values = _check_matrix(matrix)
    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be None, 'true' or 'pred'; got {normalize!r}.")
    names = unique_texts(matrix.index)
    other = matrix.attrs.get("other")
    folded_at = len(names) - 1 if other is not None and other == matrix.index[-1] else -1
    raw = matrix.to_numpy()
    rows_total = values.sum(axis=1)
    cols_total = values.sum(axis=0)
    out = []
    for i, t in enumerate(names):
        for j, p in enumerate(names):
            count = clean(raw[i, j])
            row = {
                "true": t,
                "predicted": p,
                "true_index": i,
                "predicted_index": j,
                "count": count,
                "row_share": float(values[i, j] / rows_total[i]) if rows_total[i] > 0 else 0.0,
                "col_share": float(values[i, j] / cols_total[j]) if cols_total[j] > 0 else 0.0,
                "diagonal": i == j,
                "other": i == folded_at or j == folded_at,
            }
            key = _NORMALIZE[normalize]
            row["value"] = count if key is None else row[key]
            out.append(row)
    return out


def confusion_chart(
    matrix: pd.DataFrame,
    *,
    normalize: str | None = None,
    mode: str = "most_confused",
    k: int = 7,
    classes: Sequence[Any] | None = None,
    title: str = "Confusion matrix",
    cell_size: int | None = None,
) -> alt.LayerChart:
    """Heatmap of the confusion matrix, reduced to a few classes plus "(other)".

    Parameters
    ----------
    matrix : pandas.DataFrame
        ``ClassificationMetrics.confusion_matrix()``: index true, columns predicted.
    normalize : {None, "true", "pred"}, default None
        Colour and text by the raw count, the share of the true row, or the
        share of the predicted column.
    mode : {"most_confused", "most_common", "all"}, default "most_confused"
        Which classes to show when ``classes`` is not given (see
        :func:`select_classes`); the rest fold into "(other)".
    k : int, default 7
        Classes picked by the top-k modes.
    classes : sequence of hashable, optional
        The class filter: show exactly these.
    title : str, default "Confusion matrix"
    cell_size : int, optional
        Side of a cell in pixels (default: fits about 360 pixels, 14 to 48 per cell).

    Returns
    -------
    altair.LayerChart
        Rect and text layers over the named data ``confusion``
        (:func:`confusion_rows` of the folded matrix); a click selects a cell
        (selection ``cell``); a double click clears it.
    """
    shown = select_classes(matrix, mode=mode, k=k, classes=classes)
    folded = fold_confusion(matrix, shown)
    rows = confusion_rows(folded, normalize)
    n = len(folded)
    step = cell_size if cell_size is not None else int(min(48, max(14, 360 // max(n, 1))))
    # The colour scale spans the shown classes' cells; "(other)" cells are grey,
    # so the large (other)-to-(other) count does not wash the rest out.
    top = max((r["value"] for r in rows if not r["other"]), default=0) or 0
    is_share = normalize is not None
    integral = all(float(r["count"]).is_integer() for r in rows)
    count_format = ",d" if integral else ",.2~f"
    value_format = ".0%" if is_share else count_format
    value_title = {None: "count", "true": "share of true row", "pred": "share of predicted column"}[
        normalize
    ]
    cell = alt.selection_point(
        name="cell", fields=["true", "predicted"], on="click", clear="dblclick"
    )
    x = alt.X(
        "predicted:N",
        title="Predicted label",
        sort=alt.EncodingSortField(field="predicted_index", op="min"),
        axis=alt.Axis(labelAngle=-45, labelLimit=120, orient="top"),
    )
    y = alt.Y(
        "true:N",
        title="True label",
        sort=alt.EncodingSortField(field="true_index", op="min"),
        axis=alt.Axis(labelLimit=120),
    )
    tooltip = [
        alt.Tooltip("true:N", title="true"),
        alt.Tooltip("predicted:N", title="predicted"),
        alt.Tooltip("count:Q", title="count", format=count_format),
        alt.Tooltip("row_share:Q", title="share of true row", format=".1%"),
        alt.Tooltip("col_share:Q", title="share of predicted column", format=".1%"),
    ]
    rect = (
        alt.Chart(name="confusion_cells")
        .mark_rect()
        .encode(
            x=x,
            y=y,
            color=alt.when(alt.datum.other)
            .then(alt.value(_OTHER_FILL))
            .otherwise(
                alt.Color(
                    "value:Q",
                    title=value_title,
                    scale=alt.Scale(scheme="blues", domain=[0, float(top) or 1.0], clamp=True),
                    legend=alt.Legend(format=value_format),
                )
            ),
            stroke=alt.when(cell, empty=False).then(alt.value("black")).otherwise(alt.value(None)),
            strokeWidth=alt.when(cell, empty=False).then(alt.value(2)).otherwise(alt.value(0)),
            tooltip=tooltip,
        )
        .add_params(cell)
    )
    labels = (
        alt.Chart()
        .mark_text(fontSize=11 if step >= 28 else 8)
        .encode(
            x=x,
            y=y,
            text=alt.Text("value:Q", format=value_format),
            color=alt.when((alt.datum.value > 0.5 * float(top)) & ~alt.datum.other)
            .then(alt.value("white"))
            .otherwise(alt.value("black")),
            tooltip=tooltip,
        )
    )
    layers = [rect, labels] if step >= 20 else [rect]
    folded_count = len(matrix) - len(shown)
    subtitle = [f"{folded_count} classes folded into {OTHER}"] if folded_count else []
    return alt.layer(*layers, data=named_data("confusion", rows)).properties(
        title=alt.TitleParams(text=title, subtitle=subtitle, anchor="start"),
        width=alt.Step(step),
        height=alt.Step(step),
    )
