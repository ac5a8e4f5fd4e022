r"""Plain-data payloads of the widget, built from a :class:`~runwatch.tracking.Run`.

Pure functions from tracking objects (and the engine tables they give) to the
``TypedDict``\\ s of :mod:`._contract`: JSON values only, labels as text,
NaN as ``None``. Chart specs come from :mod:`runwatch.views`, with the curves
thinned first so a finished iteration's details stay small enough to live in
the page.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ._contract import (
    SPLITS,
    Confusion,
    Detail,
    IterationRow,
    LossPoint,
    PerClassRow,
    RunInfo,
    SplitDetail,
)

#: Most points per curve line in a payload (the views thin to 500; the page needs fewer).
CURVE_POINTS = 30

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


def iteration_rows(run: Any) -> list[IterationRow]:
    """The iterations table: one row per iteration, oldest first.

    Primary metric and best-so-far are the tracking layer's
    (``Run.iterations()``); ``is_best`` marks the first row holding the best value.
    """
    table = run.iterations()
    sign = 1.0 if run.goal == "maximize" else -1.0
    best_id: str | None = None
    best_value = math.nan
    rows: list[IterationRow] = []
    for index, rec in enumerate(table.to_dict("records"), start=1):
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
    """The header of the widget."""
    statuses = {row["status"] for row in rows}
    status = "queued"
    for candidate in ("running", "queued", "interrupted", "completed", "failed", "canceled"):
        if candidate in statuses:
            status = candidate
            break
    return {
        "name": str(run.name),
        "task": str(run.task),
        "primary_metric": str(run.primary_metric),
        "goal": str(run.goal),
        "status": status,
        "best": best_id(rows),
        "auto": auto_selection(rows),
    }


# --------------------------------------------------------------------- details


def confusion(frame: Any) -> Confusion:
    """A confusion-matrix DataFrame (true x predicted) as labels and counts."""
    labels = [label_text(x) for x in frame.index]
    counts = [[float(v) for v in row] for row in np.asarray(frame.to_numpy(), dtype=np.float64)]
    return {"labels": labels, "counts": counts}


def per_class_rows(frame: Any) -> list[PerClassRow]:
    """``ClassificationMetrics.per_class()`` as rows."""
    rows: list[PerClassRow] = []
    for label, rec in zip(frame.index, frame.to_dict("records")):
        rows.append(
            {
                "label": label_text(label),
                "precision": number(rec.get("precision")),
                "recall": number(rec.get("recall")),
                "f1": number(rec.get("f1")),
                "support": number(rec.get("support")),
            }
        )
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


def chart_specs(curves: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Vega-Lite specs of the score curves (ROC, PR), from :mod:`runwatch.views`.

    Empty when the views layer is not installed or the split has no scores.
    """
    try:
        from runwatch.views.curves import pr_chart, roc_chart
    except ImportError:  # the views layer is optional for the widget's first slice
        return {}
    makers = {"roc": roc_chart, "pr": pr_chart}
    specs: dict[str, dict[str, Any]] = {}
    for name, make in makers.items():
        frame = curves.get(name)
        if frame is None or len(frame) == 0:
            continue
        chart = make(thin_curve(frame), width=CHART_WIDTH, height=CHART_HEIGHT)
        specs[name] = round_data(chart.to_dict(validate=False))
    return specs


def round_data(spec: dict[str, Any], digits: int = 4) -> dict[str, Any]:
    """Round the floats of a spec's inline data sets to ``digits`` significant digits (in place).

    Curves drawn a few hundred pixels wide need no more; it halves the payload.
    """
    tables = list(spec.get("datasets", {}).values())
    for holder in [spec, *spec.get("layer", [])]:
        data = holder.get("data")
        if isinstance(data, dict) and isinstance(data.get("values"), list):
            tables.append(data["values"])
    for values in tables:
        for row in values:
            if not isinstance(row, dict):
                continue
            for key, value in row.items():
                if isinstance(value, float) and value != 0.0 and math.isfinite(value):
                    row[key] = float(f"{value:.{digits}g}")
    return spec


def split_detail(engine: Any, metrics: dict[str, float], charts: bool) -> SplitDetail:
    """The detail panels of one split: metrics, per-class table, matrix, charts."""
    per_class: list[PerClassRow] = []
    matrix: Confusion | None = None
    if hasattr(engine, "per_class"):
        per_class = per_class_rows(engine.per_class())
    if hasattr(engine, "confusion_matrix"):
        matrix = confusion(engine.confusion_matrix())
    specs = chart_specs(engine.curves()) if charts and hasattr(engine, "curves") else {}
    return {
        "metrics": {name: number(value) for name, value in metrics.items()},
        "per_class": per_class,
        "confusion": matrix,
        "charts": specs,
    }


def iteration_detail(iteration: Any, charts: bool | None = None) -> Detail:
    """An iteration's details for every split it has data for.

    ``charts`` defaults to "once it has ended" (curves cost most to build).
    """
    final = iteration.status in ENDED
    if charts is None:
        charts = final
    splits: dict[str, SplitDetail] = {}
    for split in SPLITS:
        engine = iteration.engine(split)
        if engine is None:
            continue
        splits[split] = split_detail(engine, dict(engine.compute()), charts)
    return {"iteration": str(iteration.id), "final": final, "splits": splits}


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


def loss_chart_spec() -> dict[str, Any] | None:
    """The loss chart of :mod:`runwatch.views`, empty, on its named data set ``loss``.

    The page fills it with a Vega changeset (rows ``split``, ``step``,
    ``value``) and appends to it as points arrive, so an appended point never
    resends the history. None when the views layer is missing.
    """
    try:
        from runwatch.views.losses import loss_chart
    except ImportError:
        return None
    spec = loss_chart([], width=CHART_WIDTH, height=CHART_HEIGHT).to_dict(validate=False)
    title = spec.get("title")
    if isinstance(title, dict):
        title.pop("subtitle", None)  # "no losses yet" would stay once the page adds points
    return spec
