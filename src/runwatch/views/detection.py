"""Charts of a detector (boxes or instance masks): COCO's PR curves per class, matched IoUs.

Input: ``DetectionMetrics.curves()["pr"]`` (columns ``curve``, ``label``,
``recall``, ``precision``: COCO's 101-point interpolated precision at IoU
0.5 per class, and the "macro" mean of the classes) and
``DetectionMetrics.matched_iou_histogram()`` (``lo``, ``hi``, ``count``).

The PR chart is the classification curve chart of :mod:`.curves` (one hue
per class, the mean black and thick and first in the legend, hover or a
legend click to highlight a line) on the named data ``pr``; a class's line
averages to its AP50, the mean's to ``mAP_50``. The histogram is a bar per
bin of 0.05 on the named data ``matched_iou``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

from ._data import HEIGHT, WIDTH, clean, named_data, require_columns
from ._specs import templated
from .curves import _curve_chart, curve_rows

__all__ = ["MATCHED_IOU_DATA", "detection_pr_chart", "matched_iou_chart", "matched_iou_rows"]

#: The named data set of the matched-IoU histogram.
MATCHED_IOU_DATA = "matched_iou"


def detection_pr_chart(
    pr: pd.DataFrame,
    *,
    classes: Sequence[Any] | None = None,
    title: str = "Precision-recall at IoU 0.5",
    subtitle: Sequence[str] = (),
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Any:
    """COCO's precision-recall curves at IoU 0.5: one line per class and their mean.

    Parameters
    ----------
    pr : pandas.DataFrame
        ``DetectionMetrics.curves()["pr"]``: ``curve`` ("class" or
        "macro"), ``label``, ``recall``, ``precision``.
    classes : sequence of hashable, optional
        Only these classes' lines, in this legend order (default all); the
        mean of every class is always drawn.
    title : str, default "Precision-recall at IoU 0.5"
    subtitle : sequence of str, optional
        Lines under the title (e.g. which classes are drawn); default says
        how the curve is made.
    width, height : int
        Plot size in pixels.

    Returns
    -------
    altair.LayerChart
        Named data ``pr``: rows ``series``, ``kind``, ``rank``, ``i``,
        ``recall``, ``precision``; the mean is "macro average".
    """
    rows = curve_rows(pr, "recall", "precision", classes=classes, averages=("macro",))
    chart = _curve_chart(
        rows, "pr", ("recall", "Recall"), ("precision", "Precision"), [],
        title=title, width=width, height=height,
    )  # fmt: skip
    lines = list(subtitle) or ["COCO: 101-point interpolated, area all, 100 detections"]
    if not rows:
        lines = ["no ground truth yet"]
    if isinstance(chart, dict):  # under chart_spec: a plain dict
        chart["title"]["subtitle"] = lines
        return chart
    return chart.properties(title=alt.TitleParams(text=title, subtitle=lines, anchor="start"))


def matched_iou_rows(histogram: pd.DataFrame) -> list[dict[str, Any]]:
    """The histogram's records: ``lo``, ``hi``, ``count`` and ``share`` (of all the counts).

    Examples
    --------
    >>> h = pd.DataFrame({"lo": [0.5, 0.55], "hi": [0.55, 0.6], "count": [1, 3]})
    >>> matched_iou_rows(h)[1]
    {'lo': 0.55, 'hi': 0.6, 'count': 3, 'share': 0.75}
    """
    require_columns(histogram, ["lo", "hi", "count"], "histogram")
    counts = [clean(v) for v in histogram["count"].tolist()]
    total = sum(c for c in counts if c is not None)
    return [
        {
            "lo": clean(lo),
            "hi": clean(hi),
            "count": c,
            "share": (c or 0) / total if total else 0.0,
        }
        for lo, hi, c in zip(histogram["lo"].tolist(), histogram["hi"].tolist(), counts)
    ]


def matched_iou_chart(
    histogram: pd.DataFrame,
    *,
    title: str = "IoU of the true positives",
    subtitle: Sequence[str] = (),
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Any:
    """A bar per IoU bin (0.50-0.55, ..., 0.95-1.00): how tightly the found objects are boxed.

    Parameters
    ----------
    histogram : pandas.DataFrame
        ``DetectionMetrics.matched_iou_histogram()``: ``lo``, ``hi``, ``count``.
    title : str, default "IoU of the true positives"
    subtitle : sequence of str, optional
        Default: which detections count.
    width, height : int
        Plot size in pixels.

    Returns
    -------
    altair.Chart
        Named data ``matched_iou``: rows ``lo``, ``hi``, ``count``, ``share``.
    """
    rows = matched_iou_rows(histogram)
    total = sum(r["count"] or 0 for r in rows)
    lines = list(subtitle) or ["matched at IoU ≥ 0.5 (COCO), scoring at least the threshold"]
    if total == 0:
        lines = ["no true positives yet"]

    def build() -> alt.Chart:
        x = alt.X("lo:Q", title="IoU with the matched ground truth", bin="binned",
                  scale=alt.Scale(domain=[0.5, 1.0], nice=False),
                  axis=alt.Axis(values=[0.5, 0.6, 0.7, 0.8, 0.9, 1.0]))  # fmt: skip
        return (
            alt.Chart(named_data(MATCHED_IOU_DATA, rows))
            .mark_bar(color="#4c78a8", binSpacing=1)
            .encode(
                x=x,
                x2="hi:Q",
                y=alt.Y("count:Q", title="True positives"),
                tooltip=[
                    alt.Tooltip("lo:Q", title="IoU from", format=".2f"),
                    alt.Tooltip("hi:Q", title="IoU to", format=".2f"),
                    alt.Tooltip("count:Q", title="true positives", format=",d"),
                    alt.Tooltip("share:Q", title="share", format=".1%"),
                ],
            )
            .properties(
                title=alt.TitleParams(text=title, subtitle=lines, anchor="start"),
                width=width,
                height=height,
            )
        )

    return templated(("matched_iou", title, tuple(lines), width, height), rows, build)
