"""Areas under cumulative counts: the two formulas both score stores share."""

from __future__ import annotations

import numpy as np


def roc_auc(tps: np.ndarray, fps: np.ndarray) -> float:
    """Trapezoidal area under (fps/N, tps/P) from (0, 0), thresholds descending."""
    if tps.size == 0 or tps[-1] <= 0 or fps[-1] <= 0:
        return float("nan")
    x = np.r_[0.0, fps]
    y = np.r_[0.0, tps]
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1])) * 0.5 / (tps[-1] * fps[-1]))


def step_average_precision(tp: np.ndarray, fp: np.ndarray, step: np.ndarray, n_pos: float) -> float:
    """Σ (recall step) · precision, precision = tp / (tp + fp) at each threshold."""
    predicted = tp + fp
    precision = np.divide(
        tp, predicted, out=np.zeros_like(tp, dtype=np.float64), where=predicted > 0
    )
    return float(max(0.0, np.sum(step * precision) / n_pos))
