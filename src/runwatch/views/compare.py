"""Two iterations side by side: their metrics, per-class values and confusion matrices.

The widget compares the iteration shown (``a``, ``widget.selected``) with a
second one (``b``, ``widget.compared``); every difference here is ``a - b``.
Labels are matched by their text, as the page shows them: a class that only
one of the two has seen counts as zeros (an empty row, an empty column) in
the other. The page computes the same in ``js/compare.ts`` from the details it
already holds; these are the reference, tested against scikit-learn.

>>> import pandas as pd
>>> a = pd.DataFrame([[3, 1], [0, 4]], index=["cat", "dog"], columns=["cat", "dog"])
>>> b = pd.DataFrame([[2, 2], [1, 3]], index=["cat", "dog"], columns=["cat", "dog"])
>>> confusion_difference(a, b)
      cat   dog
cat  0.25 -0.25
dog -0.25  0.25
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._data import clean, text, unique_texts

__all__ = [
    "aligned_labels",
    "confusion_difference",
    "difference",
    "metrics_comparison",
    "per_class_comparison",
    "row_normalised",
]


def difference(a: Any, b: Any) -> float | None:
    """``a - b`` of two metric values; None when either is missing or not finite."""
    a, b = clean(a), clean(b)
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        return None
    return clean(float(a) - float(b))


def aligned_labels(a: Sequence[Any], b: Sequence[Any]) -> list[str]:
    """The labels of two matrices as text: ``a``'s in its order, then those only ``b`` has."""
    first = unique_texts(a)
    seen = set(first)
    return first + [t for t in unique_texts(b) if t not in seen]


def row_normalised(frame: pd.DataFrame, labels: Sequence[str]) -> np.ndarray:
    """``frame`` (true x predicted) on ``labels`` (text), each row divided by its sum.

    A class ``frame`` lacks is a row and a column of zeros; an empty row stays
    zeros, as scikit-learn's ``confusion_matrix(normalize="true")`` leaves it.
    """
    if frame.shape[0] != frame.shape[1]:
        raise ValueError(f"a confusion matrix must be square; got shape {frame.shape}.")
    names = unique_texts(frame.index)
    at = {name: i for i, name in enumerate(labels)}
    where = np.array([at[name] for name in names], dtype=np.int64)
    out = np.zeros((len(labels), len(labels)))
    values = np.asarray(frame.to_numpy(), dtype=np.float64)
    out[np.ix_(where, where)] = values
    sums = out.sum(axis=1, keepdims=True)
    np.divide(out, sums, out=out, where=sums > 0)
    return out


def confusion_difference(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """The row-normalised matrix of ``a`` minus that of ``b``, labels aligned by text.

    Parameters
    ----------
    a, b : pandas.DataFrame
        Confusion matrices, true labels in the index, predicted in the
        columns, in the same order (``ClassificationMetrics.confusion_matrix()``).

    Returns
    -------
    pandas.DataFrame
        On :func:`aligned_labels`: each cell the share of the true class's
        samples predicted so in ``a``, minus the same in ``b``; between -1 and
        1, each row summing to 0 when both have that class's samples.

    Raises
    ------
    ValueError
        When either matrix is not square, or its index and columns differ.
    """
    for name, frame in (("a", a), ("b", b)):
        if list(map(text, frame.index)) != list(map(text, frame.columns)):
            raise ValueError(f"{name} must have the same labels in its index and its columns.")
    labels = aligned_labels(list(a.index), list(b.index))
    diff = row_normalised(a, labels) - row_normalised(b, labels)
    return pd.DataFrame(diff, index=labels, columns=labels)


def metrics_comparison(
    a: Mapping[str, Any], b: Mapping[str, Any], names: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """One row per metric: its value in ``a``, in ``b``, and ``a - b``.

    Parameters
    ----------
    a, b : mapping of str to float or None
        Metric values by name (``compute()``, or a logged split's metrics).
    names : sequence of str, optional
        The metrics, in order; default ``a``'s names, then those only ``b`` has.

    Returns
    -------
    list of dict
        ``metric``, ``a``, ``b``, ``difference``: None where a value is
        missing or undefined (NaN), and then so is the difference.

    Examples
    --------
    >>> metrics_comparison({"accuracy": 0.9}, {"accuracy": 0.8, "log_loss": 0.3})[1]
    {'metric': 'log_loss', 'a': None, 'b': 0.3, 'difference': None}
    """
    if names is None:
        names = list(dict.fromkeys([*a, *b]))
    rows = []
    for name in names:
        va, vb = clean(a.get(name)), clean(b.get(name))
        rows.append({"metric": name, "a": va, "b": vb, "difference": difference(va, vb)})
    return rows


def per_class_comparison(
    a: pd.DataFrame, b: pd.DataFrame, columns: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """One row per class of either: its values in ``a`` and ``b``, and ``a - b``, per column.

    Parameters
    ----------
    a, b : pandas.DataFrame
        Per-class tables (``per_class()``), one row per class (the index).
    columns : sequence of str, optional
        The columns compared; default those both tables have, in ``a``'s order.

    Returns
    -------
    list of dict
        ``label`` (text), then ``a``, ``b`` and ``difference``, each a dict
        column -> value. A class one table lacks has None there, and a None
        difference (it was not measured, which is not 0).
    """
    if columns is None:
        columns = [c for c in a.columns if c in set(b.columns)]
    tables = []
    for frame in (a, b):
        names = unique_texts(frame.index)
        records = frame.to_dict("records")
        tables.append(dict(zip(names, records)))
    rows = []
    for label in aligned_labels(list(a.index), list(b.index)):
        ra, rb = tables[0].get(label), tables[1].get(label)
        va = {c: None if ra is None else clean(ra.get(c)) for c in columns}
        vb = {c: None if rb is None else clean(rb.get(c)) for c in columns}
        rows.append(
            {
                "label": label,
                "a": va,
                "b": vb,
                "difference": {c: difference(va[c], vb[c]) for c in columns},
            }
        )
    return rows
