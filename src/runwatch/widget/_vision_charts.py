"""The detection charts of a split's details: PR curves per class at IoU 0.5, matched IoUs.

For an engine with ``curves()["pr"]`` and ``matched_iou_histogram()``
(``DetectionMetrics``, ``InstanceSegmentationMetrics``):

- :func:`detection_specs`: the page's Vega-Lite specs (``pr``,
  ``matched_iou``) from :mod:`runwatch.views.detection`; with more than
  :data:`~._payload.SHOWN_CLASSES` classes, the PR curves of those with the
  lowest AP50 (the curve's area), as the other curve charts draw the
  weakest;
- :func:`detection_plots`: the same data as plain numbers (``SplitDetail``'s
  ``plots``), which the static summary draws as SVG without the specs.

A PR line is COCO's interpolated precision, a step function of recall: the
points inside a flat run are dropped (the line drawn through the rest is the
same), then long lines are thinned evenly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._spec_data import csv_data, round_data

#: Most points per PR line once flat runs are dropped (a line has 101 at first).
PR_POINTS = 40


def is_detection(engine: Any) -> bool:
    """Whether ``engine`` gives COCO's curves and matched IoUs (boxes or instance masks)."""
    return hasattr(engine, "matched_iou_histogram") and hasattr(engine, "curves")


def _corners(frame: Any, max_points: int = PR_POINTS) -> Any:
    """``frame``'s PR lines without the inner points of flat runs, at most ``max_points`` each."""
    if len(frame) == 0:
        return frame
    keep: list[np.ndarray] = []
    precision = frame["precision"].to_numpy()
    for _, at in frame.groupby(["curve", "label"], sort=False).indices.items():
        at = np.asarray(at)
        p = precision[at]
        inner = np.zeros(at.size, bool)
        inner[1:-1] = (p[1:-1] == p[:-2]) & (p[1:-1] == p[2:])
        at = at[~inner]
        if at.size > max_points:
            at = at[np.unique(np.round(np.linspace(0, at.size - 1, max_points)).astype(np.int64))]
        keep.append(at)
    return frame.iloc[np.sort(np.concatenate(keep))]


def shown_classes(per_class: Any, top: int) -> list[Any] | None:
    """The classes whose PR curves are drawn: all, or past ``top`` the ``top`` lowest AP50."""
    if per_class is None or len(per_class) <= top or "ap_50" not in per_class:
        return None
    from runwatch.views.tables import weakest_classes

    return weakest_classes(per_class, top, rank_by="ap_50")


def _note(top: int, total: int) -> str:
    from runwatch.views.tables import weakest_note

    return weakest_note(top, total, "AP50") + "; the mean is over all"


def detection_specs(
    engine: Any, per_class: Any, top: int, width: int, height: int
) -> dict[str, dict[str, Any]]:
    """The page's ``pr`` and ``matched_iou`` specs (empty without the views layer)."""
    try:
        from runwatch.views import chart_spec
        from runwatch.views.detection import detection_pr_chart, matched_iou_chart
    except ImportError:  # the views layer is optional
        return {}
    pr = _corners(engine.curves()["pr"])
    classes = shown_classes(per_class, top)
    subtitle = [] if classes is None else [_note(top, len(per_class))]
    size = {"width": width, "height": height}
    specs = {
        "pr": chart_spec(detection_pr_chart, pr, classes=classes, subtitle=subtitle, **size),
        "matched_iou": chart_spec(matched_iou_chart, engine.matched_iou_histogram(), **size),
    }
    return {name: csv_data(round_data(spec)) for name, spec in specs.items()}


def _round(value: float) -> float | None:
    value = float(value)
    return float(f"{value:.4g}") if np.isfinite(value) else None


def detection_plots(engine: Any, per_class: Any, top: int) -> dict[str, Any]:
    """The PR lines and matched-IoU counts as plain data, for the static summary.

    ``{"pr": {"lines": [{"label", "kind", "points": [[recall, precision],
    ...]}], "note"}, "matched_iou": {"lo", "hi", "count"}}``: the lines the
    page draws (the mean first), their flat runs dropped, numbers to four
    significant digits.
    """
    frame = _corners(engine.curves()["pr"])
    classes = shown_classes(per_class, top)
    wanted = None if classes is None else {str(c): i for i, c in enumerate(classes)}
    lines: list[dict[str, Any]] = []
    for (kind, label), part in frame.groupby(["curve", "label"], sort=False):
        if kind == "class" and wanted is not None and str(label) not in wanted:
            continue
        points = [[_round(r), _round(p)] for r, p in zip(part["recall"], part["precision"])]
        text = "mean of the classes" if kind == "macro" else str(label)
        lines.append({"label": text, "kind": str(kind), "points": points})
    # The mean first (as in the page's legend), then the classes worst first when picked.
    order = {} if wanted is None else wanted
    lines.sort(key=lambda ln: (ln["kind"] != "macro", order.get(ln["label"], 0)))
    hist = engine.matched_iou_histogram()
    return {
        "pr": {"lines": lines, "note": None if classes is None else _note(top, len(per_class))},
        "matched_iou": {
            "lo": [_round(v) for v in hist["lo"]],
            "hi": [_round(v) for v in hist["hi"]],
            "count": [int(v) for v in hist["count"]],
        },
    }
