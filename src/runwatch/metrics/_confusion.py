"""Label metrics from a confusion matrix: Azure AutoML's definitions, as pure functions.

``C`` is the weighted K×K matrix (rows true, columns predicted) and ``N`` the
unweighted one. A class takes part in the averages when it occurs in
``y_true`` or among the predictions (scikit-learn's default labels), and a
per-class ratio with a zero denominator is 0 (``zero_division=0``).
"""

from __future__ import annotations

import numpy as np


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)


def per_class_scores(C: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and weighted support of every class."""
    tp = np.diag(C).astype(np.float64)
    support = C.sum(axis=1, dtype=np.float64)
    predicted = C.sum(axis=0, dtype=np.float64)
    return {
        "precision": _ratio(tp, predicted),
        "recall": _ratio(tp, support),
        "f1": _ratio(2 * tp, support + predicted),
        "support": support,
    }


def label_metrics(C: np.ndarray, N: np.ndarray) -> dict[str, float]:
    """accuracy, P/R/F1 macro/micro/weighted, balanced and weighted accuracy, MCC."""
    total = float(C.sum())
    active = (N.sum(axis=0) + N.sum(axis=1)) > 0
    scores = per_class_scores(C)
    support = scores["support"][active]
    out: dict[str, float] = {}
    accuracy = float(np.trace(C)) / total if total > 0 else float("nan")
    out["accuracy"] = accuracy
    for name in ("precision", "recall", "f1"):
        values = scores[name][active]
        key = "f1_score" if name == "f1" else f"{name}_score"
        out[f"{key}_macro"] = float(values.mean()) if values.size else float("nan")
        # Single-label data: pooled TP / pooled predictions = accuracy for all three.
        out[f"{key}_micro"] = accuracy
        weight = support.sum()
        out[f"{key}_weighted"] = float(values @ support / weight) if weight > 0 else 0.0
    out["balanced_accuracy"] = out["recall_score_macro"]
    out["weighted_accuracy"] = weighted_accuracy(N)
    out["matthews_correlation"] = matthews(C)
    return out


def weighted_accuracy(N: np.ndarray) -> float:
    """Accuracy with each sample weighted by its true class's share: Σ n_c·TP_c / Σ n_c²."""
    n_true = N.sum(axis=1).astype(np.float64)
    denominator = float(n_true @ n_true)
    if denominator == 0:
        return float("nan")
    return float(n_true @ np.diag(N).astype(np.float64)) / denominator


def matthews(C: np.ndarray) -> float:
    """Multiclass Matthews correlation (Gorodkin's R_K); 0 when a marginal is constant."""
    C = C.astype(np.float64)
    t, p = C.sum(axis=1), C.sum(axis=0)
    s = p.sum()
    if s == 0:
        return float("nan")
    cov_tp = np.trace(C) * s - t @ p
    cov_pp = s**2 - p @ p
    cov_tt = s**2 - t @ t
    if cov_pp * cov_tt == 0:
        return 0.0
    return float(cov_tp / np.sqrt(cov_pp * cov_tt))


def binary_scores(C: np.ndarray, positive: int) -> dict[str, float]:
    """Precision, recall and F1 of the positive class."""
    scores = per_class_scores(C)
    return {
        "precision_score_binary": float(scores["precision"][positive]),
        "recall_score_binary": float(scores["recall"][positive]),
        "f1_score_binary": float(scores["f1"][positive]),
    }


def norm_macro_recall(C: np.ndarray, present: np.ndarray) -> float:
    """max(0, (R_macro − 1/P) / (1 − 1/P)), recall averaged over the P present classes.

    ``C`` holds the predictions restricted to present classes (Azure's arg-max
    over the columns of classes seen in y_true).
    """
    n_present = int(present.sum())
    if n_present < 2:
        return float("nan")
    recall = per_class_scores(C)["recall"][present].mean()
    chance = 1.0 / n_present
    return float(max(0.0, (recall - chance) / (1.0 - chance)))
