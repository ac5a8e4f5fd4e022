"""Sweep five scikit-learn classifiers on the digits data and judge them with runwatch.

Each model's validation predictions stream into a
:class:`runwatch.metrics.ClassificationMetrics` in a few batches, as they would
from a training loop; the script then prints one row per model (accuracy,
weighted AUC, macro F1, log loss and its three most confused pairs) and names
the best model by ``AUC_weighted``.

Run it with ``bash scripts/demo.sh`` (which sets up the environment first), or
``python examples/digits_sweep.py`` inside it. It uses scikit-learn's bundled
``load_digits`` data: nothing is downloaded.
"""

from __future__ import annotations

import math
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from runwatch.metrics import ClassificationMetrics

SEED = 0
N_BATCHES = 4
COLUMNS = ("accuracy", "AUC_weighted", "f1_score_macro", "log_loss")


def make_models() -> dict[str, object]:
    """Return the sweep: name -> an unfitted scikit-learn classifier."""
    return {
        "LogisticRegression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "RandomForest": RandomForestClassifier(n_estimators=200, random_state=SEED),
        "KNeighbors": make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=5)),
        "GaussianNB": GaussianNB(),
        "MLP": make_pipeline(
            StandardScaler(),
            MLPClassifier(hidden_layer_sizes=(64,), max_iter=1000, random_state=SEED),
        ),
    }


def score(model, x_val: np.ndarray, y_val: np.ndarray) -> ClassificationMetrics:
    """Feed the model's validation predictions to a metric in ``N_BATCHES`` batches."""
    metrics = ClassificationMetrics(labels=model.classes_)
    for rows in np.array_split(np.arange(len(y_val)), N_BATCHES):
        metrics.update(y_val[rows], y_proba=model.predict_proba(x_val[rows]))
    return metrics


def fmt(value: float) -> str:
    """Print a metric with 4 decimals, or an em dash when it is undefined (NaN)."""
    return "\u2014" if value is None or math.isnan(value) else f"{value:.4f}"


def main() -> None:
    """Run the sweep and print the table."""
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=SEED
    )
    print(f"digits: {len(y_train)} training and {len(y_val)} validation samples, 10 classes\n")

    header = f"{'model':<20}" + "".join(f"{c:>16}" for c in COLUMNS)
    print(header + "   most confused (true\u2192predicted \u00d7count)")
    print("-" * (len(header) + 42))
    results: dict[str, dict[str, float]] = {}
    for name, model in make_models().items():
        started = time.perf_counter()
        model.fit(x_train, y_train)
        metrics = score(model, x_val, y_val)
        values = metrics.compute()
        results[name] = values
        pairs = metrics.most_confused(k=3)
        confused = ", ".join(f"{true}\u2192{pred} \u00d7{count:g}" for true, pred, count in pairs)
        row = f"{name:<20}" + "".join(f"{fmt(values[c]):>16}" for c in COLUMNS)
        print(f"{row}   {confused or 'none'}  ({time.perf_counter() - started:.1f}s)")

    def auc(name: str) -> float:
        value = results[name]["AUC_weighted"]
        return -math.inf if math.isnan(value) else value

    best = max(results, key=auc)
    print(f"\nbest by AUC_weighted: {best} ({fmt(results[best]['AUC_weighted'])})")


if __name__ == "__main__":
    main()
