"""The confusion matrix as a person reads it: the table, its largest mistakes, its largest classes.

Pure functions of ``ClassificationMetrics``' two matrices (``confmat``
weighted, ``counts`` unweighted; rows true, columns predicted) and its labels.
When no sample weight was given the two are equal and the counts (integers)
are shown. pandas is imported only when the table is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def shown(confmat: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The matrix to report: the integer counts when no weight changed them, else ``confmat``."""
    return counts if np.array_equal(confmat, counts) else confmat


def confusion_frame(
    confmat: np.ndarray, counts: np.ndarray, labels: Sequence[Any], normalize: str | None
) -> pd.DataFrame:
    """The matrix as a DataFrame (index true, columns predicted), raw or normalised.

    ``normalize``: None, ``"true"`` (rows sum to 1), ``"pred"`` (columns sum
    to 1) or ``"all"``; a row or column with nothing in it stays 0.
    """
    import pandas as pd

    matrix = shown(confmat, counts)
    if normalize is not None:
        axis = {"true": 1, "pred": 0, "all": None}.get(normalize, -1)
        if axis == -1:
            raise ValueError(f"normalize must be None, 'true', 'pred' or 'all'; got {normalize!r}.")
        total = confmat.sum(axis=axis, keepdims=axis is not None)
        matrix = np.divide(confmat, total, out=np.zeros_like(confmat), where=total > 0)
    index = pd.Index(list(labels), name="true")
    return pd.DataFrame(matrix, index=index, columns=pd.Index(list(labels), name="predicted"))


def most_confused(
    matrix: np.ndarray, labels: Sequence[Any], k: Any
) -> list[tuple[Any, Any, float]]:
    """The ``k`` largest off-diagonal cells: ``(true, predicted, count)``, largest first."""
    k = check_k(k)
    off = matrix.astype(np.float64).copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:k]
    rows, cols = np.unravel_index(order, off.shape)
    return [
        (labels[r], labels[c], matrix[r, c].item()) for r, c in zip(rows, cols) if off[r, c] > 0
    ]


def most_common(matrix: np.ndarray, labels: Sequence[Any], k: Any) -> list[tuple[Any, float]]:
    """The ``k`` classes with the most true samples: ``(label, count)``, largest first."""
    k = check_k(k)
    support = matrix.sum(axis=1)
    order = np.argsort(-support, kind="stable")[:k]
    return [(labels[i], support[i].item()) for i in order if support[i] > 0]


def check_k(k: Any) -> int:
    """``k`` as an int; a bool, a non-integer or a negative number is refused, naming ``k``."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"k must be a non-negative int; got {k!r}.")
    return int(k)
