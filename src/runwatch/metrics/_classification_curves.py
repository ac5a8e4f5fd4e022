"""Tidy chart tables of ``ClassificationMetrics.curves()``.

One DataFrame per chart (roc, pr, lift, gains, calibration), one row per
point, with ``curve`` ("class", "micro", "macro") and ``label`` columns so a
chart colours by label and a table filters by curve. pandas is imported
here, when a table is asked for, never with the engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _curves
from ._scores import Curve

_COLUMNS = {
    "roc": ["fpr", "tpr", "threshold"],
    "pr": ["recall", "precision", "threshold"],
    "lift": ["fraction", "lift"],
    "gains": ["fraction", "gain"],
    "calibration": ["bin", "mean_predicted", "fraction_positive", "count"],
}


def curve_frames(
    curves: dict[Any, Curve],
    micro: Curve | None,
    labels: list[Any],
    calibration: np.ndarray | None,
) -> dict[str, pd.DataFrame]:
    """Build every chart table; ``curves`` holds the classes present in y_true."""
    rows: dict[str, list[_Part]] = {name: [] for name in _COLUMNS}
    detail = 4 * _curves.MAX_CURVE_POINTS
    curves = {label: _curves.sample(c, detail) for label, c in curves.items()}
    lines = [("class", label, c) for label, c in curves.items()]
    if micro is not None and micro.tps.size and micro.tps[-1] > 0:
        lines.append(("micro", "micro", _curves.sample(micro, detail)))
    for kind, label, c in lines:
        if c.tps[-1] > 0 and c.fps[-1] > 0:
            rows["roc"].append(_frame(kind, label, _curves.roc_points(c), _COLUMNS["roc"]))
        if c.tps[-1] > 0:
            rows["pr"].append(_frame(kind, label, _curves.pr_points(c), _COLUMNS["pr"]))
            rows["gains"].append(_frame(kind, label, _curves.gains_points(c), _COLUMNS["gains"]))
            rows["lift"].append(_frame(kind, label, _curves.lift_points(c), _COLUMNS["lift"]))
    with_negatives = [c for c in curves.values() if c.fps[-1] > 0 and c.tps[-1] > 0]
    if len(with_negatives) > 1:
        fpr, tpr = _curves.macro_roc(with_negatives)
        rows["roc"].append(
            _frame("macro", "macro", (fpr, tpr, np.full(fpr.size, np.nan)), _COLUMNS["roc"])
        )
    if len(curves) > 1:
        recall, precision = _curves.macro_pr(list(curves.values()))
        rows["pr"].append(
            _frame(
                "macro", "macro", (recall, precision, np.full(recall.size, np.nan)), _COLUMNS["pr"]
            )
        )
    if calibration is not None and calibration.size:
        rows["calibration"] = _calibration_frames(calibration, labels)
    return {name: _concat(parts, _COLUMNS[name]) for name, parts in rows.items()}


# One line of a table: its curve kind, label and columns (built into one frame at
# the end: a DataFrame per line and a concat cost ~30 ms for 12 classes).
_Part = tuple[str, Any, dict[str, np.ndarray]]


def _frame(kind: str, label: Any, points: tuple, columns: list[str]) -> _Part:
    keep = _curves.thin(points[0], points[1])
    return kind, label, {col: np.asarray(values)[keep] for col, values in zip(columns, points)}


def _calibration_frames(calibration: np.ndarray, labels: list[Any]) -> list[_Part]:
    n_bins = calibration.shape[2]
    centers = (np.arange(n_bins) + 0.5) / n_bins

    def frame(kind: str, label: Any, count, mean_predicted, fraction) -> _Part:
        used = count > 0
        columns = {
            "bin": centers[used],
            "mean_predicted": mean_predicted[used],
            "fraction_positive": fraction[used],
            "count": count[used],
        }
        return kind, label, columns

    count, sum_p, sum_pos = calibration[:, 0], calibration[:, 1], calibration[:, 2]
    safe = np.where(count > 0, count, 1.0)
    mean_p, fraction = sum_p / safe, sum_pos / safe
    parts = [
        frame("class", label, count[i], mean_p[i], fraction[i]) for i, label in enumerate(labels)
    ]
    total = count.sum(axis=0)
    safe_total = np.where(total > 0, total, 1.0)
    parts.append(
        frame("micro", "micro", total, sum_p.sum(0) / safe_total, sum_pos.sum(0) / safe_total)
    )
    used = count > 0
    n_used = used.sum(axis=0)
    macro_mean = np.where(used, mean_p, 0).sum(0) / np.maximum(n_used, 1)
    macro_fraction = np.where(used, fraction, 0).sum(0) / np.maximum(n_used, 1)
    parts.append(frame("macro", "macro", total, macro_mean, macro_fraction))
    return parts


def _concat(parts: list[_Part], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=["curve", "label", *columns])
    sizes = [len(values[columns[0]]) for _, _, values in parts]
    data: dict[str, Any] = {
        "curve": [kind for (kind, _, _), n in zip(parts, sizes) for _ in range(n)],
        # A list, as pandas infers a column from it: ints stay ints unless an
        # average ("micro") joins them, as they did when frames were concatenated.
        "label": [label for (_, label, _), n in zip(parts, sizes) for _ in range(n)],
    }
    for col in columns:
        data[col] = np.concatenate([values[col] for _, _, values in parts])
    return pd.DataFrame(data)
