"""Inline SVG of a vision split for the static summary: PR curves, matched IoUs, IoU bars.

Drawn from the split's plain data (``plots`` and the per-class rows), never
from the page's chart specs, so a summary built without charts has them
too: detection and instance segmentation get COCO's precision-recall curves
per class at IoU 0.5 (the mean first, black and thick) and the histogram of
the true positives' IoUs; semantic segmentation gets its IoU per class as
bars, weakest first. Plain elements and attributes, every name escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ._contract import SplitDetail
from ._static_format import esc

#: Classes drawn in the static IoU bars at the most (the page's per-class bars draw as many).
BAR_CLASSES = 20

_FALLBACK = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f")


def _class_colours() -> Sequence[str]:
    try:
        from runwatch.views.curves import CLASS_COLOURS
    except ImportError:
        return _FALLBACK
    return CLASS_COLOURS


def _head(width: int, height: int, title: str, subtitle: str | None) -> list[str]:
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="10">',
        f"<title>{esc(title)}</title>",
        f'<text x="4" y="13" font-size="12" font-weight="bold">{esc(title)}</text>',
    ]
    if subtitle:
        out.append(f'<text x="4" y="26" fill="#666">{esc(subtitle)}</text>')
    return out


def _axes(left: float, top: float, w: float, h: float, x_title: str, y_title: str) -> list[str]:
    """A frame with 0, 0.5 and 1 on both axes (the curves' unit square)."""
    out = [f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>']
    for v in (0.0, 0.5, 1.0):
        y = top + h * (1 - v)
        x = left + w * v
        out.append(
            f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" fill="#555">{v:g}</text>'
            f'<text x="{x:.1f}" y="{top + h + 12}" text-anchor="middle" fill="#555">{v:g}</text>'
        )
    out.append(
        f'<text x="{left + w / 2:.1f}" y="{top + h + 26}" text-anchor="middle" fill="#333">'
        f"{esc(x_title)}</text>"
    )
    mid = top + h / 2
    out.append(
        f'<text x="10" y="{mid:.1f}" text-anchor="middle" fill="#333" '
        f'transform="rotate(-90 10 {mid:.1f})">{esc(y_title)}</text>'
    )
    return out


def pr_svg(pr: dict[str, Any]) -> str:
    """COCO's PR curves at IoU 0.5: a line per class and their mean, with a legend beside."""
    lines = [ln for ln in pr.get("lines") or [] if ln.get("points")]
    if not lines:
        return ""
    left, top, w, h = 40, 36, 260, 200
    legend_x = left + w + 14
    height = max(top + h + 34, top + 12 * len(lines) + 8)
    out = _head(legend_x + 170, height, "Precision-recall at IoU 0.5", pr.get("note"))
    out += _axes(left, top, w, h, "Recall", "Precision")
    colours = _class_colours()
    classes: list[str] = []
    means: list[str] = []  # drawn last: on top of the classes, as in the page
    n_class = 0
    for at, line in enumerate(lines):
        if line["kind"] == "macro":
            colour, width, dash = "#000000", 2.5, ' stroke-dasharray="6 3"'
        else:
            colour, width, dash = colours[n_class % len(colours)], 1.5, ""
            n_class += 1
        coords = " ".join(
            f"{left + w * r:.1f},{top + h * (1 - p):.1f}"
            for r, p in line["points"]
            if r is not None and p is not None
        )
        (means if line["kind"] == "macro" else classes).append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" '
            f'stroke-width="{width}"{dash}><title>{esc(line["label"])}</title></polyline>'
        )
        y = top + 12 * at + 4
        out.append(
            f'<rect x="{legend_x}" y="{y}" width="12" height="3" fill="{colour}"/>'
            f'<text x="{legend_x + 16}" y="{y + 4}" fill="#333">{esc(line["label"])}</text>'
        )
    drawn = classes + means
    out += drawn
    out.append("</svg>")
    return "".join(out)


def iou_histogram_svg(hist: dict[str, Any]) -> str:
    """The true positives' IoUs: a bar per bin of 0.05 from 0.5 to 1, its count above it."""
    counts = [int(c) for c in hist.get("count") or []]
    if not counts or not any(counts):
        return ""
    left, top, w, h = 44, 36, 260, 160
    out = _head(left + w + 12, top + h + 34, "IoU of the true positives", "matched at IoU ≥ 0.5")
    top_count = max(counts)
    out.append(f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>')
    lo, hi = hist["lo"], hist["hi"]

    def scale(v: float) -> float:
        return left + w * (v - 0.5) / 0.5

    for a, b, c in zip(lo, hi, counts):
        bar = h * c / top_count
        x0, x1 = scale(a), scale(b)
        out.append(
            f'<rect x="{x0 + 0.5:.1f}" y="{top + h - bar:.1f}" width="{x1 - x0 - 1:.1f}" '
            f'height="{bar:.1f}" fill="#4c78a8"><title>IoU {a:.2f}–{b:.2f}: {c}</title></rect>'
        )
        if c:
            out.append(
                f'<text x="{(x0 + x1) / 2:.1f}" y="{top + h - bar - 2:.1f}" '
                f'text-anchor="middle" fill="#333" font-size="9">{c}</text>'
            )
    for v in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        out.append(
            f'<text x="{scale(v):.1f}" y="{top + h + 12}" text-anchor="middle" fill="#555">'
            f"{v:.1f}</text>"
        )
    out.append(
        f'<text x="{left + w / 2:.1f}" y="{top + h + 26}" text-anchor="middle" fill="#333">'
        "IoU with the matched ground truth</text>"
    )
    out.append(
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" fill="#555">{top_count}</text>'
        f'<text x="{left - 4}" y="{top + h + 3}" text-anchor="end" fill="#555">0</text>'
    )
    out.append("</svg>")
    return "".join(out)


def iou_bars_svg(rows: Sequence[dict[str, Any]], top: int = BAR_CLASSES) -> str:
    """Semantic segmentation's IoU per class as bars, weakest first (none last), values beside."""

    def badness(at: int) -> tuple[float, int]:
        v = rows[at].get("iou")
        return (math.inf if not isinstance(v, (int, float)) else float(v), at)

    order = sorted(range(len(rows)), key=badness)
    if not order:
        return ""
    subtitle = (
        f"the {top} of {len(rows)} classes with the lowest IoU, worst first"
        if len(order) > top
        else "by IoU, worst first"
    )
    order = order[:top]
    left, head, w, step = 110, 34, 200, 14
    out = _head(left + w + 50, head + step * len(order) + 8, "IoU per class", subtitle)
    for n, at in enumerate(order):
        v = rows[at].get("iou")
        y = head + n * step
        label = str(rows[at]["label"])
        out.append(
            f'<text x="{left - 4}" y="{y + 10}" text-anchor="end" fill="#333">'
            f"{esc(label if len(label) <= 18 else label[:17] + '…')}</text>"
        )
        # A faint track the bar fills: the scale is 0 to 1 without an axis.
        out.append(f'<rect x="{left}" y="{y + 2}" width="{w}" height="{step - 4}" fill="#eee"/>')
        if isinstance(v, (int, float)):
            out.append(
                f'<rect x="{left}" y="{y + 2}" width="{w * max(0.0, min(1.0, v)):.1f}" '
                f'height="{step - 4}" fill="#4c78a8">'
                f"<title>{esc(label)}: IoU {v:.4f}</title></rect>"
                f'<text x="{left + w * max(0.0, min(1.0, v)) + 4:.1f}" y="{y + 10}" '
                f'fill="#555">{v:.3f}</text>'
            )
        else:
            out.append(f'<text x="{left + 4}" y="{y + 10}" fill="#888">—</text>')
    out.append("</svg>")
    return "".join(out)


def vision_charts(detail: SplitDetail) -> list[tuple[str, str]]:
    """The SVG blocks of a vision split, ``(title, svg)``: none for other tasks."""
    out: list[tuple[str, str]] = []
    plots = detail.get("plots") or {}
    if plots.get("pr"):
        out.append(("", pr_svg(plots["pr"])))
    if plots.get("matched_iou"):
        out.append(("", iou_histogram_svg(plots["matched_iou"])))
    columns = [c[0] for c in detail.get("per_class_columns") or []]
    if "iou" in columns and detail.get("per_class"):
        out.append(("", iou_bars_svg(detail["per_class"])))  # type: ignore[arg-type]
    return [(title, svg) for title, svg in out if svg]
