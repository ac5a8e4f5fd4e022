r"""Plain-data payloads of the widget, built from a :class:`~runwatch.tracking.Run`.

Pure functions from tracking objects (and the engine tables they give) to the
``TypedDict``\\ s of :mod:`._contract`: JSON values only, labels as text,
NaN as ``None``. Chart specs come from :mod:`runwatch.views`, with the curves
thinned first and their data rounded and carried as CSV (``_spec_data``), so a
finished iteration's details stay small enough to live in the page.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import numpy as np

from ._contract import (
    SPLITS,
    Confusion,
    Detail,
    IterationRow,
    LossPoint,
    MetricGroup,
    PerClassRow,
    RunInfo,
    SplitDetail,
)
from ._spec_data import csv_data, round_data
from ._thresholds import split_table
from ._vision_charts import detection_charts, is_detection

#: Most points per curve line in a payload (the views thin to 500; the page needs fewer).
CURVE_POINTS = 30
#: Fewer for the smooth lift and gains curves.
SMOOTH_CURVE_POINTS = 12

#: Classes drawn in the per-class bars and the curve charts at the most: with
#: more, the ones with the lowest F1, the same in every chart (the per-class
#: table lists every class; the averages are always drawn).
SHOWN_CLASSES = 20

#: Chart size in the detail panel, pixels.
CHART_WIDTH = 260
CHART_HEIGHT = 200

ENDED = frozenset({"completed", "failed", "canceled", "interrupted"})


def number(value: Any) -> float | None:
    """A JSON-safe number: numpy scalars to float, NaN/inf/None to None."""
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def label_text(label: Any) -> str:
    """The text a class label is shown as."""
    if isinstance(label, np.generic):
        label = label.item()
    return label if isinstance(label, str) else str(label)


# ------------------------------------------------------------------ iterations


def iteration_rows(run: Any, flush: bool = True) -> list[IterationRow]:
    """The iterations table: one row per iteration, oldest first.

    Primary metric and best-so-far are the tracking layer's
    (``Run.iteration_records()``); ``is_best`` marks the first row holding the
    best value. ``flush=False`` reads what is committed, without asking this
    process's writer for a commit first.
    """
    records = run.iteration_records(flush=flush)
    sign = 1.0 if run.goal == "maximize" else -1.0
    best_id: str | None = None
    best_value = math.nan
    rows: list[IterationRow] = []
    for index, rec in enumerate(records, start=1):
        metric = number(rec["metric"])
        iid = str(rec["id"])
        if metric is not None and (best_id is None or sign * metric > sign * best_value):
            best_id, best_value = iid, metric
        rows.append(
            {
                "id": iid,
                "index": index,
                "name": str(rec["name"]),
                "status": str(rec["status"]),
                "started": number(rec["started"]),
                "duration": number(rec["duration"]),
                "metric": metric,
                "best": number(rec["best"]),
                "is_best": False,
            }
        )
    for row in rows:
        row["is_best"] = row["id"] == best_id
    return rows


def best_id(rows: Sequence[IterationRow]) -> str | None:
    """Id of the best iteration, or None when no iteration has a primary metric yet."""
    for row in rows:
        if row["is_best"]:
            return row["id"]
    return None


def auto_selection(rows: Sequence[IterationRow]) -> str | None:
    """What ``selected`` shows while the user picked nothing.

    The best iteration; before any iteration has a primary metric, the newest.
    """
    best = best_id(rows)
    if best is not None:
        return best
    return rows[-1]["id"] if rows else None


def run_info(run: Any, rows: Sequence[IterationRow]) -> RunInfo:
    """The header of the widget.

    The run's status is its iterations' most pressing one; it started when
    its first iteration did and ended, once none runs or waits, when the last
    one ended (the page shows the time between, or since the start).
    """
    statuses = {row["status"] for row in rows}
    status = "queued"
    for candidate in ("running", "queued", "interrupted", "completed", "failed", "canceled"):
        if candidate in statuses:
            status = candidate
            break
    starts = [r["started"] for r in rows if r["started"] is not None]
    ends = [
        r["started"] + r["duration"]
        for r in rows
        if r["started"] is not None and r["duration"] is not None
    ]
    still = status in ("running", "queued")
    return {
        "name": str(run.name),
        "task": str(run.task),
        "primary_metric": str(run.primary_metric),
        "goal": str(run.goal),
        "status": status,
        "best": best_id(rows),
        "auto": auto_selection(rows),
        "started": min(starts) if starts else None,
        "ended": max(ends) if ends and not still else None,
    }


# --------------------------------------------------------------------- details


def confusion(frame: Any) -> Confusion:
    """A confusion-matrix DataFrame (true x predicted) as labels and counts, dense or sparse.

    Every finished iteration's details carry its matrix and the page keeps
    them all. A 100-class matrix is 10,000 numbers, mostly zeros: when fewer
    than a third of the cells are non-zero they go as ``[i, j, count]``
    triples (``cells``), else as rows (``counts``). Whole counts go as ints
    (``0`` is a third of ``0.0`` in JSON); weighted ones stay floats.
    """
    labels = [label_text(x) for x in frame.index]
    values = np.asarray(frame.to_numpy(), dtype=np.float64)
    whole = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    typed = values.astype(np.int64) if whole else values
    rows, cols = np.nonzero(values)
    if 3 * rows.size < values.size:
        cells = [[int(i), int(j), v] for i, j, v in zip(rows, cols, typed[rows, cols].tolist())]
        return {"labels": labels, "counts": None, "cells": cells}
    return {"labels": labels, "counts": typed.tolist(), "cells": None}


def dense_counts(matrix: Confusion) -> list[list[float]]:
    """The rows of a :func:`confusion` matrix, whichever form it travels in."""
    if matrix["counts"] is not None:
        return matrix["counts"]
    n = len(matrix["labels"])
    counts: list[list[float]] = [[0] * n for _ in range(n)]
    for i, j, v in matrix["cells"] or []:
        counts[int(i)][int(j)] = v
    return counts


#: The per-class columns without the views layer: classification's.
_BASIC_COLUMNS = {"precision": "Precision", "recall": "Recall", "f1": "F1", "support": "Support"}


def per_class_columns(frame: Any) -> list[list[str]]:
    """``[column, heading]`` of the columns the per-class table shows, in display order.

    Those of :data:`runwatch.views.tables.PER_CLASS_COLUMNS` the engine's
    ``per_class()`` has (AP, AP50 for detection; IoU for segmentation; ...).
    """
    try:
        from runwatch.views.tables import per_class_columns as shown
    except ImportError:
        return [[c, t] for c, t in _BASIC_COLUMNS.items() if c in frame.columns]
    return [[c, t] for c, t in shown(frame)]


def per_class_rows(frame: Any, columns: Sequence[Sequence[str]]) -> list[PerClassRow]:
    """Any engine's ``per_class()`` as rows: ``label`` and each of ``columns`` (names first)."""
    names = [str(c[0]) for c in columns]
    rows: list[PerClassRow] = []
    for label, rec in zip(frame.index, frame.to_dict("records")):
        row: dict[str, Any] = {"label": label_text(label)}
        row.update((name, number(rec.get(name))) for name in names)
        rows.append(cast(PerClassRow, row))
    return rows


def thin_curve(frame: Any, max_points: int = CURVE_POINTS) -> Any:
    """Keep at most ``max_points`` evenly spread rows per (curve, label) line, ends kept."""
    if frame is None or len(frame) == 0 or "curve" not in frame or "label" not in frame:
        return frame
    keep: list[np.ndarray] = []
    positions = np.arange(len(frame))
    for _, part in frame.groupby(["curve", "label"], sort=False).indices.items():
        part = np.asarray(part)
        if len(part) > max_points:
            at = np.unique(np.round(np.linspace(0, len(part) - 1, max_points)).astype(np.int64))
            part = part[at]
        keep.append(part)
    chosen = np.sort(np.concatenate(keep)) if keep else positions[:0]
    return frame.iloc[chosen]


#: Classification curve charts of :mod:`runwatch.views.curves`, in panel order.
CURVE_CHARTS = ("roc", "pr", "lift", "gains", "calibration")
#: Regression charts of :mod:`runwatch.views.regression`, by curve table.
REGRESSION_CHARTS = ("predicted_vs_true", "residuals")


def chart_specs(
    curves: dict[str, Any], per_class: Any = None, pause: Callable[[], Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Vega-Lite specs of a split's charts, from :mod:`runwatch.views`.

    Classification: ROC, PR, lift, cumulative gains, calibration (curves
    thinned to :data:`CURVE_POINTS` per line) and, given ``per_class()``,
    the precision / recall bars per class, each drawing at most
    :data:`SHOWN_CLASSES` classes (those with the lowest F1; semantic
    segmentation: IoU bars, lowest IoU first); regression:
    predicted vs true and the residual histogram. Empty when the views layer is not installed or
    the split has no data. ``pause`` is called before each chart (see
    :func:`iteration_detail`).
    """
    try:
        from runwatch.views import chart_spec
        from runwatch.views import curves as cv
        from runwatch.views import regression as rg
        from runwatch.views.tables import per_class_chart, weakest_classes, weakest_note
    except ImportError:  # the views layer is optional
        return {}
    makers = {
        "roc": cv.roc_chart,
        "pr": cv.pr_chart,
        "lift": cv.lift_chart,
        "gains": cv.gains_chart,
        "calibration": cv.calibration_chart,
        "predicted_vs_true": rg.predicted_vs_true_chart,
        "residuals": rg.residuals_chart,
    }
    specs: dict[str, dict[str, Any]] = {}
    scored = per_class is not None and {"precision", "recall"} <= set(per_class)
    if scored and len(per_class) > 0:
        # Curve charts and these bars come from a template of their shape after the
        # first (views._specs): Altair took 20-60 ms a chart, a dozen per iteration.
        # Semantic segmentation is judged per class by IoU (its table has no F1).
        # One bar per class, as tall as the pair of precision and recall bars, so the
        # class names do not overlap.
        bars = (
            {"measures": ("iou",), "rank_by": "iou", "title": "IoU per class", "bar_height": 12}
            if "iou" in per_class
            else {"bar_height": 6}
        )
        spec = chart_spec(
            per_class_chart, per_class, width=CHART_WIDTH, top=SHOWN_CLASSES, **bars
        )
        specs["per_class"] = csv_data(round_data(spec))
    # A hundred lines in one chart read as none (and weigh ~40 KB a chart): with
    # more classes, the curves of those the bars show, and the averages.
    only: dict[str, Any] = {}
    if scored and len(per_class) > SHOWN_CLASSES and "f1" in per_class:
        only = {"classes": weakest_classes(per_class, SHOWN_CLASSES)}
    for name, make in makers.items():
        frame = curves.get(name)
        if frame is None or len(frame) == 0:
            continue
        if pause is not None:
            pause()
        if name in CURVE_CHARTS:
            smooth = name in ("lift", "gains")
            frame = thin_curve(frame, SMOOTH_CURVE_POINTS if smooth else CURVE_POINTS)
            spec = chart_spec(make, frame, width=CHART_WIDTH, height=CHART_HEIGHT, **only)
            if only:
                spec["title"]["subtitle"] = [weakest_note(SHOWN_CLASSES, len(per_class))]
        else:
            spec = chart_spec(make, frame, width=CHART_WIDTH, height=CHART_HEIGHT)
        specs[name] = csv_data(round_data(spec))
    return specs


def importance_spec(importance: Any) -> dict[str, Any] | None:
    """The feature-importance chart (top 20 features) of what was logged, or None."""
    if not importance:
        return None
    try:
        from runwatch.views.importance import importance_chart
    except ImportError:
        return None
    chart = importance_chart(importance, top=20, width=CHART_WIDTH, bar_height=12)
    return csv_data(round_data(chart.to_dict(validate=False)))


def metric_groups(names: Iterable[str], primary: str | None = None) -> list[MetricGroup]:
    """The metrics' names by kind (:func:`runwatch.views.tables.metrics_table_rows`).

    The primary metric's group comes first, with the primary metric at its
    top; the other groups keep the views' order.
    """
    names = list(names)
    try:
        from runwatch.views.tables import metrics_table_rows
    except ImportError:
        return [{"group": "metrics", "metrics": sorted(names)}]
    groups: dict[str, list[str]] = {}
    for row in metrics_table_rows(dict.fromkeys(names, 0.0)):
        groups.setdefault(row["group"], []).append(row["metric"])
    out: list[MetricGroup] = [{"group": g, "metrics": m} for g, m in groups.items()]
    for at, group in enumerate(out):
        if primary in group["metrics"]:
            group["metrics"].remove(primary)
            group["metrics"].insert(0, primary)
            out.insert(0, out.pop(at))
            break
    return out


def split_detail(
    engine: Any,
    metrics: dict[str, float],
    charts: bool,
    primary: str | None = None,
    failures: bool = False,
    pause: Callable[[], Any] | None = None,
) -> SplitDetail:
    """The detail panels of one split: metrics by group, per-class table, matrix, charts.

    ``failures``: with the by-attribute tables, attribute importance and top
    losses (``_samples.failures_detail``). ``pause`` is called between the
    costly pieces (see :func:`iteration_detail`).
    """
    step = pause if pause is not None else _no_pause
    per_class: list[PerClassRow] = []
    columns: list[list[str]] = []
    table = None
    matrix: Confusion | None = None
    if hasattr(engine, "per_class"):
        table = engine.per_class()
        columns = per_class_columns(table)
        per_class = per_class_rows(table, columns)
    if hasattr(engine, "confusion_matrix"):
        matrix = confusion(engine.confusion_matrix())
    step()
    plots: dict[str, Any] = {}
    if is_detection(engine):  # COCO's PR curves and matched IoUs, not the classifier's curves
        specs = chart_specs({}, table, pause) if charts else {}
        found, plots = detection_charts(
            engine, table, SHOWN_CLASSES, CHART_WIDTH, CHART_HEIGHT, charts
        )
        specs.update(found)
    else:
        curves = engine.curves() if charts and hasattr(engine, "curves") else {}
        specs = chart_specs(curves, table, pause) if charts else {}
    step()
    thresholds = split_table(engine, table, SHOWN_CLASSES) if charts else None
    values = {name: number(value) for name, value in metrics.items()}
    reasons: dict[str, str] = {}
    if hasattr(engine, "reasons") and any(v is None for v in values.values()):
        reasons = {
            str(k): str(v)
            for k, v in dict(engine.reasons()).items()
            if k in values and values[k] is None
        }
    return {
        "metrics": values,
        "groups": metric_groups(values, primary),
        "reasons": reasons,
        "per_class": per_class,
        "per_class_columns": columns,
        "confusion": matrix,
        "plots": plots,
        "charts": specs,
        "thresholds": thresholds,
        "failures": _failures(engine) if failures else None,
    }


def _failures(engine: Any) -> Any:
    from ._samples import failures_detail

    return failures_detail(engine)


def _no_pause() -> None:
    return None


def param_text(value: Any) -> str:
    """A parameter's value as the detail panel prints it: text as it is, anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, allow_nan=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def iteration_detail(
    iteration: Any,
    charts: bool | None = None,
    failures: bool | None = None,
    pause: Callable[[], Any] | None = None,
) -> Detail:
    """An iteration's details for every split it has data for.

    ``charts`` and ``failures`` (the failure panels' tables) default to "once
    it has ended" (curves and quantiles cost most to build). ``pause`` is
    called between the pieces of the work (each split's metrics, tables,
    curves, every chart: a few ms to tens of ms each), so a thread that
    builds details can let another have the GIL at once (the widget's rows).
    """
    step = pause if pause is not None else _no_pause
    final = iteration.status in ENDED
    if charts is None:
        charts = final
    if failures is None:
        failures = final
    splits: dict[str, SplitDetail] = {}
    for split in SPLITS:
        engine = iteration.engine(split)
        if engine is None:
            continue
        primary = getattr(getattr(iteration, "run", None), "primary_metric", None)
        step()
        metrics = dict(engine.compute())
        step()
        splits[split] = split_detail(engine, metrics, charts, primary, failures, pause)
    importance = importance_spec(getattr(iteration, "feature_importance", None))
    params = getattr(iteration, "params", None) or {}
    return {
        "iteration": str(iteration.id),
        "final": final,
        "params": [[str(name), param_text(value)] for name, value in params.items()],
        "splits": splits,
        "importance": importance,
    }


# ---------------------------------------------------------------------- losses


def loss_points(points: Iterable[Any]) -> dict[str, list[LossPoint]]:
    """Loss points by iteration id, from ``Change.points`` (other kinds are skipped)."""
    out: dict[str, list[LossPoint]] = {}
    for p in points:
        if p.kind != "loss":
            continue
        out.setdefault(str(p.iteration_id), []).append(
            {"split": str(p.name), "step": float(p.step), "value": float(p.value)}
        )
    return out


#: The loss chart's smoothing weight in a new view: TensorBoard's default.
LOSS_SMOOTHING = 0.6


@functools.cache
def loss_chart_spec() -> dict[str, Any] | None:
    """The loss chart of :mod:`runwatch.views`, empty, on its named data set ``loss``.

    Built once per process (the same for every run) and shared: never modify it.

    The page fills it with a Vega changeset (rows ``split``, ``step``,
    ``value`` and ``smoothed``, which it computes) and appends to it as points
    arrive, so an appended point never resends the history. Smoothing starts
    at TensorBoard's default, :data:`LOSS_SMOOTHING`; the page's controls
    change it and the log axis. None when the views layer is missing.
    """
    try:
        from runwatch.views.losses import loss_chart
    except ImportError:
        return None
    spec = loss_chart([], smoothing=LOSS_SMOOTHING, width=CHART_WIDTH, height=CHART_HEIGHT).to_dict(
        validate=False
    )
    title = spec.get("title")
    if isinstance(title, dict):
        title.pop("subtitle", None)  # "no losses yet" would stay once the page adds points
    return spec


# ------------------------------------------------------------------ iterations chart


@functools.cache
def iterations_chart_spec() -> dict[str, Any] | None:
    """The chart above the iterations table, empty, on its named data set ``iterations``.

    Built once per process (the same for every run) and shared: never modify it.

    The page fills it from the rows it has (``index``, ``id``, ``name``,
    ``value``, ``best``, ``is_best``, ``selected``: the fields of
    :func:`runwatch.views.iterations.iterations_rows`) with a Vega changeset,
    for whichever metric its picker shows. None when the views layer is missing.
    """
    try:
        from runwatch.views.iterations import iterations_chart
    except ImportError:
        return None
    return iterations_chart([], width=2 * CHART_WIDTH, height=150).to_dict(validate=False)


def metric_goals(run: Any) -> dict[str, str]:
    """Which way is better for every metric the picker may chart.

    The run's goal for its primary metric; for the others the tracking
    layer's rule (errors and losses are minimised).
    """
    from runwatch.tracking.run import default_goal

    try:
        from runwatch.views.tables import METRIC_GROUPS

        names = [name for group in METRIC_GROUPS.values() for name in group]
    except ImportError:
        names = []
    goals = {name: default_goal(name) for name in names}
    goals[str(run.primary_metric)] = str(run.goal)
    return goals
