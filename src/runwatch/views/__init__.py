"""Views: pure functions from engine outputs to Altair charts and table rows.

Each function takes plain data, the DataFrames, dicts and lists the engine
(:mod:`runwatch.metrics`) and the tracking layer return, and gives an
Altair chart (the widget sends ``chart.to_dict()``, a Vega-Lite spec) or a
list of JSON-safe table rows. Nothing here does I/O, holds state or imports
the widget or the tracking layer, so every view is testable without a
browser or a store.

Class labels and feature names only ever go into the charts' data, as text:
never into HTML, titles or Vega expressions. Data that the front end updates
in place is named (``roc``, ``pr``, ``lift``, ``gains``, ``calibration``,
``confusion``, ``predicted_vs_true``, ``residuals``, ``loss``,
``importance``, ``per_class``, ``iterations``, ``by_attribute``,
``attribute_importance``), so a vega changeset can replace or append
rows without resending the spec.

Modules
-------
curves
    PR, ROC, lift, cumulative gains and calibration charts.
detection
    A detector's PR curves per class at IoU 0.5 (COCO's) and matched-IoU histogram.
confusion
    Class selection (most confused, most common), "(other)" folding,
    normalisation and the heatmap.
regression
    Binned predicted vs true, residual histogram.
losses
    Loss over time per split, on the named data set ``loss``.
importance
    Feature importance bars.
iterations
    A metric per iteration with the stepped best-so-far line.
tables
    Metrics table rows by group, per-class rows and their bar plot.
compare
    Two iterations side by side: metrics, per-class values, the difference
    of the row-normalised confusion matrices.
gap
    The overfit gap (train - validation) per metric, per class and per step.
replay
    An iteration's matrix and metrics at each step, and "Δ vs best".
``attributes``
    Where the model fails: a metric per attribute bucket, attribute
    importance, top losses.

:func:`chart_spec` gives a view's Vega-Lite dict, skipping Altair for the
curve charts and the per-class bars once a chart of the same shape was built
(``_specs``): the widget's path, a dozen charts per finished iteration.
"""

from __future__ import annotations

from ._specs import chart_spec
from .compare import confusion_difference, metrics_comparison, per_class_comparison
from .confusion import (
    OTHER,
    confusion_chart,
    confusion_rows,
    fold_confusion,
    most_common_classes,
    most_confused_classes,
    normalize_confusion,
    select_classes,
)
from .curves import (
    calibration_chart,
    curve_rows,
    gains_chart,
    lift_chart,
    pr_chart,
    roc_chart,
)
from .gap import gap_chart, loss_gap, metric_gap, per_class_gap
from .importance import importance_chart, importance_rows
from .iterations import ITERATIONS_DATA, iterations_chart, iterations_rows
from .losses import LOSS_DATA, loss_chart, loss_rows
from .regression import (
    predicted_vs_true_chart,
    predicted_vs_true_rows,
    residual_rows,
    residuals_chart,
)
from .tables import (
    METRIC_GROUPS,
    metrics_table_rows,
    per_class_chart,
    per_class_columns,
    per_class_rows,
    weakest_classes,
    weakest_note,
)

__all__ = [
    "confusion_difference",
    "gap_chart",
    "loss_gap",
    "metric_gap",
    "metrics_comparison",
    "per_class_comparison",
    "per_class_gap",
    "ITERATIONS_DATA",
    "LOSS_DATA",
    "METRIC_GROUPS",
    "OTHER",
    "calibration_chart",
    "chart_spec",
    "confusion_chart",
    "confusion_rows",
    "curve_rows",
    "fold_confusion",
    "gains_chart",
    "importance_chart",
    "importance_rows",
    "iterations_chart",
    "iterations_rows",
    "lift_chart",
    "loss_chart",
    "loss_rows",
    "metrics_table_rows",
    "most_common_classes",
    "most_confused_classes",
    "normalize_confusion",
    "per_class_chart",
    "per_class_columns",
    "per_class_rows",
    "pr_chart",
    "predicted_vs_true_chart",
    "predicted_vs_true_rows",
    "residual_rows",
    "residuals_chart",
    "roc_chart",
    "select_classes",
    "weakest_classes",
    "weakest_note",
]
