"""The score-threshold control's data: compact tables the page slides over, as plain JSON.

The engine gives, per class (classification, one against the rest) or per
detector, the counts at a bounded set of thresholds
(``ClassificationMetrics.threshold_table``, ``DetectionMetrics.threshold_table``)
and the counts at any one threshold (``at_threshold``). These functions turn
them into the JSON the widget carries: a finished iteration's details hold
the table, so the slider works while a cell still runs the training loop;
a value set from Python comes back exact from the engine
(:func:`classification_exact`, :func:`detection_exact`).

Numbers travel as the engine gives them (its table thresholds are short
already), counts as integers where whole.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _text(label: Any) -> str:
    if isinstance(label, np.generic):
        label = label.item()
    return label if isinstance(label, str) else str(label)


def _numbers(values: Any) -> list[float | int]:
    """Counts as ints where whole (a third of the bytes of ``0.0``), else floats."""
    array = np.asarray(values, np.float64)
    if np.all(array == np.round(array)):
        return array.astype(np.int64).tolist()
    return array.tolist()


def classification_table(
    tables: dict[Any, dict[str, Any]], binary: bool, mode: str
) -> dict[str, Any]:
    """The page's table: for each class scored against the rest, its counts by threshold.

    ``tables`` maps each class to its engine table (``threshold_table``):
    for a binary task the positive class only. Returns ``kind``, ``mode``,
    ``binary`` and ``classes``: ``label``, ``positives``, ``negatives`` and
    ``threshold``, ``tp``, ``fp`` (ascending thresholds; weights at or above).
    """
    classes = []
    for label, table in tables.items():
        classes.append(
            {
                "label": _text(label),
                "positives": _numbers([table["positives"]])[0],
                "negatives": _numbers([table["negatives"]])[0],
                "threshold": np.asarray(table["threshold"], np.float64).tolist(),
                "tp": _numbers(table["tp"]),
                "fp": _numbers(table["fp"]),
            }
        )
    return {"kind": "classification", "mode": mode, "binary": binary, "classes": classes}


def classification_exact(results: dict[Any, dict[str, Any]]) -> list[dict[str, Any]]:
    """``at_threshold`` results per class as the page reads them: label and the four counts."""
    return [
        {
            "label": _text(label),
            "threshold": float(r["threshold"]),
            **{k: _numbers([r[k]])[0] for k in ("tp", "fp", "fn", "tn")},
        }
        for label, r in results.items()
    ]


def _sparse(matrix: np.ndarray) -> dict[str, list[Any]]:
    """Non-cumulative per-threshold values of a (K, T) cumulative matrix, by column.

    ``class``, ``at`` and ``n``: ``n`` of ``class`` from ``threshold[at]`` to
    the next. Counts are ints; sums (of IoUs) the difference of the
    cumulative ones. Columns, not a list per entry: thousands of small lists
    per detail made the kernel's cyclic garbage collector run a full pass
    every ~20 details (a 100+ ms pause; three flat lists are three objects).
    """
    whole = np.asarray(matrix).dtype.kind in "iu"
    cumulative = np.asarray(matrix, np.int64 if whole else np.float64)
    after = np.concatenate([cumulative[:, 1:], np.zeros((cumulative.shape[0], 1))], 1)
    steps = cumulative - after.astype(cumulative.dtype)
    rows, cols = np.nonzero(steps)
    return {"class": rows.tolist(), "at": cols.tolist(), "n": steps[rows, cols].tolist()}


def detection_table(table: dict[str, np.ndarray], labels: list[Any]) -> dict[str, Any]:
    """A detection engine's ``threshold_table`` as the page reads it.

    ``threshold`` (ascending grid), ``support`` and ``n_true`` per class;
    ``tp`` and ``fp`` as columns ``class``, ``at``, ``n``: ``n`` detections
    of ``class`` scoring from ``threshold[at]`` to the next (the count at
    ``threshold[i]`` sums the entries from ``i`` on), ``iou`` the same for
    the true positives' summed IoU; ``cells`` as columns ``row``,
    ``column``, ``at``, ``n`` the same for the confusion matrix, whose last
    row and column are the background (missed ground truths: ``n_true``
    minus what the row took).
    """
    cells = np.asarray(table["cells"], np.int64).reshape(-1, 4)
    return {
        "kind": "detection",
        "labels": [_text(x) for x in labels],
        "threshold": np.asarray(table["threshold"], np.float64).tolist(),
        "support": _numbers(table["support"]),
        "n_true": _numbers(table["n_true"]),
        "tp": _sparse(table["tp"]),
        "fp": _sparse(table["fp"]),
        "iou": _sparse(table["iou_sum"]),
        "cells": {key: cells[:, j].tolist() for j, key in enumerate(("row", "column", "at", "n"))},
    }


def detection_exact(result: dict[str, Any]) -> dict[str, Any]:
    """``DetectionMetrics.at_threshold`` as the page reads it: the matrix and per-class counts."""
    matrix = result["confusion_matrix"].to_numpy()
    rows, cols = np.nonzero(matrix)
    table = result["per_class"]
    return {
        "threshold": float(result["threshold"]),
        "cells": [[int(r), int(c), int(matrix[r, c])] for r, c in zip(rows, cols)],
        "tp": _numbers(table["tp"]),
        "fp": _numbers(table["fp"]),
        "support": _numbers(table["support"]),
        "mean_iou": [None if np.isnan(v) else float(v) for v in table["mean_iou"]],
    }
