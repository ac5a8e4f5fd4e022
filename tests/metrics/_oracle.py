"""Azure AutoML's classification metrics computed the way Azure does, with scikit-learn.

The oracle of every engine test: it follows Azure's own steps (one-hot
labels, absent classes dropped for macro/weighted, arg-max predictions,
``zero_division=0``) using scikit-learn's functions, independently of the
engine's code.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn import metrics as skm


def _safe(fn, *args, **kwargs) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = float(fn(*args, **kwargs))
        except ValueError:
            return float("nan")
    return value


def azure_classification(y, proba, labels, weight=None, y_pred=None, positive_label=None):
    """Every one of the 26 names for labels ``y``, probabilities ``proba`` (columns = labels)."""
    y = np.asarray(y)
    labels = list(labels)
    k = len(labels)
    label_array = np.asarray(labels)
    out: dict[str, float] = {}
    pred_given = y_pred is not None
    if y_pred is None:
        y_pred = label_array[np.argmax(proba, axis=1)]
    y_pred = np.asarray(y_pred)
    out["accuracy"] = skm.accuracy_score(y, y_pred, sample_weight=weight)
    for name, fn in (
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
        ("f1", skm.f1_score),
    ):
        key = "f1_score" if name == "f1" else f"{name}_score"
        for avg in ("macro", "micro", "weighted"):
            out[f"{key}_{avg}"] = fn(y, y_pred, average=avg, zero_division=0, sample_weight=weight)
    out["balanced_accuracy"] = out["recall_score_macro"]
    values, counts = np.unique(y, return_counts=True)
    share = dict(zip(values.tolist(), counts / y.size))
    out["weighted_accuracy"] = skm.accuracy_score(
        y, y_pred, sample_weight=np.array([share[v] for v in y.tolist()])
    )
    out["matthews_correlation"] = skm.matthews_corrcoef(y, y_pred, sample_weight=weight)

    present = [c for c in range(k) if labels[c] in set(y.tolist())]
    if len(present) >= 2:
        if pred_given or proba is None:
            restricted = y_pred
        else:
            restricted = label_array[np.asarray(present)[np.argmax(proba[:, present], axis=1)]]
        recall = skm.recall_score(
            y,
            restricted,
            labels=[labels[c] for c in present],
            average="macro",
            zero_division=0,
            sample_weight=weight,
        )
        chance = 1 / len(present)
        out["norm_macro_recall"] = max(0.0, (recall - chance) / (1 - chance))
    else:
        out["norm_macro_recall"] = float("nan")

    if proba is not None:
        onehot = (y[:, None] == label_array[None, :]).astype(int)
        cols = np.asarray(present)
        for key, fn in (
            ("AUC", skm.roc_auc_score),
            ("average_precision_score", skm.average_precision_score),
        ):
            for avg in ("macro", "weighted"):
                if key == "AUC" and len(present) < 2:
                    out[f"{key}_{avg}"] = float("nan")
                elif len(present) == 1:  # one column left: its AP (all samples positive)
                    out[f"{key}_{avg}"] = _safe(
                        fn, onehot[:, cols[0]], proba[:, cols[0]], sample_weight=weight
                    )
                else:
                    out[f"{key}_{avg}"] = _safe(
                        fn, onehot[:, cols], proba[:, cols], average=avg, sample_weight=weight
                    )
            out[f"{key}_micro"] = _safe(fn, onehot, proba, average="micro", sample_weight=weight)
        out["log_loss"] = skm.log_loss(y, proba, labels=labels, sample_weight=weight)
    else:
        for key in ("AUC", "average_precision_score"):
            for avg in ("macro", "micro", "weighted", "binary"):
                out[f"{key}_{avg}"] = float("nan")
        out["log_loss"] = float("nan")

    binary = (
        "AUC_binary",
        "average_precision_score_binary",
        "f1_score_binary",
        "precision_score_binary",
        "recall_score_binary",
    )
    if k == 2:
        pos = labels.index(positive_label) if positive_label is not None else 1
        pos_label = labels[pos]
        if proba is not None:
            out["AUC_binary"] = _safe(
                skm.roc_auc_score, y == pos_label, proba[:, pos], sample_weight=weight
            )
            out["average_precision_score_binary"] = _safe(
                skm.average_precision_score, y == pos_label, proba[:, pos], sample_weight=weight
            )
        is_pos, pred_pos = (y == pos_label), (y_pred == pos_label)
        for name, fn in (
            ("precision", skm.precision_score),
            ("recall", skm.recall_score),
            ("f1", skm.f1_score),
        ):
            key = "f1_score" if name == "f1" else f"{name}_score"
            out[f"{key}_binary"] = fn(is_pos, pred_pos, zero_division=0, sample_weight=weight)
    else:
        out.update(dict.fromkeys(binary, float("nan")))
    return {name: float(value) for name, value in out.items()}
