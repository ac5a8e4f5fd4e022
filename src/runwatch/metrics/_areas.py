"""AUC and average precision of every class, averaged the way Azure AutoML does.

Macro and weighted average the columns of the classes present in ``y_true``
(an absent class is left out, not NaN, not 0); weighted uses the classes'
weighted support, and a class whose samples all weigh 0 has weight 0 (as in
scikit-learn); micro is the pooled group; binary scores the positive class.
Works on either score store, exact or binned, and carries their error bounds.
"""

from __future__ import annotations

import numpy as np

from ._scores import BinnedScores, ExactScores


def area_metrics(
    store: ExactScores | BinnedScores,
    present: np.ndarray,
    support: np.ndarray,
    binary: int | None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Values and error bounds of ``AUC_*`` and ``average_precision_score_*``.

    ``present``: indices of the classes seen in y_true; ``support``: their
    weighted support; ``binary``: the positive class's index on binary data,
    else None (the ``*_binary`` names are then left out).
    """
    values: dict[str, float] = {}
    bounds: dict[str, float] = {}
    heavy = support > 0
    micro = store.n_classes
    for prefix, area in (
        ("AUC", store.auc),
        ("average_precision_score", store.average_precision),
    ):
        per_class = np.array([area(c) for c in present]).reshape(-1, 2)
        scores, errors = per_class[:, 0], per_class[:, 1]
        values[f"{prefix}_macro"] = float(scores.mean())
        bounds[f"{prefix}_macro"] = float(errors.mean())
        if heavy.any():
            share = support[heavy] / support.sum()
            values[f"{prefix}_weighted"] = float(scores[heavy] @ share)
            bounds[f"{prefix}_weighted"] = float(errors[heavy] @ share)
        values[f"{prefix}_micro"], bounds[f"{prefix}_micro"] = area(micro)
        if binary is not None:
            values[f"{prefix}_binary"], bounds[f"{prefix}_binary"] = area(binary)
    return values, bounds
