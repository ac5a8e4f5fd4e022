"""The widget's score threshold: the table in each split's details and the exact counts.

``widget.threshold`` (None: the arg-max rule / the engine's own
``score_threshold``) moves the confusion matrix, the P/R/F1 and the marks on
the curves. The page slides over :func:`split_table`, which every finished
iteration's details carry, so it needs no kernel; whenever the threshold,
the iteration or the split changes, :class:`ExactCounts` recomputes the
counts at the threshold itself from the engine and the widget sends them
(``_threshold_exact``), which is how a value set from Python (any value,
not only one of the table's) is shown exactly.
"""

from __future__ import annotations

from typing import Any

from runwatch.metrics._thresholds import check_score_threshold, check_threshold

#: Engine kinds whose detections have scores the control moves.
DETECTION_KINDS = ("detection", "instance_segmentation")


def check(task: str, value: Any) -> float | None:
    """``value`` as the threshold of a ``task`` run; ``ValueError`` naming ``threshold``.

    Classification scores are probabilities (0 to 1); detection scores any finite number.
    """
    if value is None:
        return None
    if task == "classification":
        return check_threshold(value)
    return check_score_threshold(value)


def split_table(engine: Any, per_class: Any = None, shown: int = 20) -> dict[str, Any] | None:
    """The page's threshold table of one split, or None where no threshold applies.

    With more than ``shown`` classes, only the tables of the ``shown`` classes
    the charts draw (lowest F1 first, ``per_class`` being the engine's
    table), as every finished iteration's details carry them.
    """
    try:
        from runwatch.views import thresholds as views
        from runwatch.views.tables import weakest_classes
    except ImportError:  # the views layer is optional
        return None

    kind = getattr(engine, "kind", None)
    try:
        if kind == "classification":
            labels = engine.labels
            binary = len(labels) == 2
            classes = [None] if binary else labels
            if len(labels) > shown and per_class is not None:
                classes = list(weakest_classes(per_class, shown))
            tables = {}
            for c in classes:
                table = engine.threshold_table(positive=c)
                tables[table["positive"]] = table
            return views.classification_table(tables, binary, table["mode"])
        if kind in DETECTION_KINDS:
            return views.detection_table(engine.threshold_table(), engine.labels)
    except ValueError:  # labels only (no y_proba), one class seen so far
        return None
    return None


def exact_counts(engine: Any, threshold: float) -> dict[str, Any] | None:
    """The counts at ``threshold`` itself: per class (classification) or matrix and table."""
    try:
        from runwatch.views import thresholds as views
    except ImportError:
        return None

    kind = getattr(engine, "kind", None)
    try:
        if kind == "classification":
            labels = engine.labels
            classes = [None] if len(labels) == 2 else labels
            results = {}
            for c in classes:
                r = engine.at_threshold(threshold, positive=c)
                results[r["positive"]] = r
            return {"classes": views.classification_exact(results)}
        if kind in DETECTION_KINDS:
            return views.detection_exact(engine.at_threshold(threshold))
    except ValueError:
        return None
    return None


class ExactCounts:
    """What ``_threshold_exact`` holds for the shown iteration and split at the threshold.

    Engines of ended iterations are kept (the last few), so a slider dragged
    over one iteration reads its state from the store once.
    """

    def __init__(self, run: Any) -> None:
        self.run = run
        self._engines: dict[tuple[str, str], Any] = {}

    def _engine(self, iteration: str, split: str) -> Any:
        key = (iteration, split)
        if key in self._engines:
            return self._engines[key]
        it = self.run.get(int(iteration))
        engine = it.engine(split)
        if it.status in ("completed", "failed", "canceled", "interrupted"):
            if len(self._engines) >= 4:
                self._engines.pop(next(iter(self._engines)))
            self._engines[key] = engine
        return engine

    def payload(self, iteration: str | None, split: str, threshold: float | None) -> dict:
        """``_threshold_exact``: {} when there is nothing to count."""
        if threshold is None or iteration is None:
            return {}
        try:
            engine = self._engine(str(iteration), split)
        except (KeyError, ValueError):
            return {}
        counts = None if engine is None else exact_counts(engine, threshold)
        if counts is None:
            return {}
        return {"iteration": str(iteration), "split": split, "threshold": threshold, **counts}
