"""The detection charts of a split's details: PR curves per class at IoU 0.5, matched IoUs.

For an engine with ``curves()["pr"]`` and ``matched_iou_histogram()``
(``DetectionMetrics``, ``InstanceSegmentationMetrics``):

- :func:`detection_charts`: the page's Vega-Lite specs (``pr``,
  ``matched_iou``) from :mod:`runwatch.views.detection`, with more than
  :data:`~._payload.SHOWN_CLASSES` classes the PR curves of those with the
  lowest AP50 (the curve's area), as the other curve charts draw the
  weakest; and the same data as plain numbers (``SplitDetail``'s
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


def _shown_lines(pr: Any, classes: list[Any] | None) -> Any:
    """``pr`` cut to the mean and ``classes``' lines (all with None), flat runs dropped."""
    if classes is not None and len(pr):
        wanted = {str(c) for c in classes}
        keep = (pr["curve"] != "class").to_numpy() | pr["label"].astype(str).isin(wanted)
        pr = pr[keep.to_numpy() if hasattr(keep, "to_numpy") else keep]
    return _corners(pr)


def detection_charts(
    engine: Any, per_class: Any, top: int, width: int, height: int, charts: bool = True
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The page's ``pr`` and ``matched_iou`` specs (with ``charts``) and the summary's plots.

    The engine's curves and histogram are read once for both; the classes past
    ``top`` are cut before anything else is built from the lines.
    """
    classes = shown_classes(per_class, top)
    note = None if classes is None else _note(top, len(per_class))
    pr = _shown_lines(engine.curves()["pr"], classes)
    hist = engine.matched_iou_histogram()
    specs: dict[str, dict[str, Any]] = {}
    if charts:
        try:
            from runwatch.views import chart_spec
            from runwatch.views.detection import detection_pr_chart, matched_iou_chart
        except ImportError:  # the views layer is optional
            pass
        else:
            size = {"width": width, "height": height}
            subtitle = [] if note is None else [note]
            made = {
                "pr": chart_spec(
                    detection_pr_chart, pr, classes=classes, subtitle=subtitle, **size
                ),
                "matched_iou": chart_spec(matched_iou_chart, hist, **size),
            }
            specs = {name: csv_data(round_data(spec)) for name, spec in made.items()}
    return specs, _plots(pr, classes, note, hist)


def _round(value: float) -> float | None:
    value = float(value)
    return float(f"{value:.4g}") if np.isfinite(value) else None


def _plots(pr: Any, classes: list[Any] | None, note: str | None, hist: Any) -> dict[str, Any]:
    """The PR lines and matched-IoU counts as plain data, for the static summary.

    ``{"pr": {"lines": [{"label", "kind", "points": [[recall, precision],
    ...]}], "note"}, "matched_iou": {"lo", "hi", "count"}}``: the lines the
    page draws (the mean first, then the classes, worst first when picked),
    numbers to four significant digits.
    """
    order = {} if classes is None else {str(c): i for i, c in enumerate(classes)}
    lines: list[dict[str, Any]] = []
    for (kind, label), part in pr.groupby(["curve", "label"], sort=False):
        points = [[_round(r), _round(p)] for r, p in zip(part["recall"], part["precision"])]
        text = "mean of the classes" if kind == "macro" else str(label)
        lines.append({"label": text, "kind": str(kind), "points": points})
    lines.sort(key=lambda ln: (ln["kind"] != "macro", order.get(ln["label"], 0)))
    return {
        "pr": {"lines": lines, "note": note},
        "matched_iou": {
            "lo": [_round(v) for v in hist["lo"]],
            "hi": [_round(v) for v in hist["hi"]],
            "count": [int(v) for v in hist["count"]],
        },
    }
