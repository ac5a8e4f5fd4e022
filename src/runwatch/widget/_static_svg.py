"""Inline SVG charts of the static summary: the primary metric per iteration and the loss.

Plain SVG elements with their attributes (no script, no stylesheet), every
name escaped, so the charts show wherever the HTML does (GitHub, nbviewer).
"""

from __future__ import annotations

from collections.abc import Sequence

from ._contract import LossPoint, Snapshot
from ._static_format import esc, fmt_column

#: The colours of the loss lines, by split (the views layer's).
SPLIT_COLOURS = {"train": "#4c78a8", "validation": "#f58518", "test": "#54a24b"}


def _scale(lo: float, hi: float, a: float, b: float):
    span = hi - lo if hi > lo else 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def _bounds(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi == lo:
        pad = abs(lo) * 0.05 or 0.5
        return lo - pad, hi + pad
    return lo, hi


def svg_lines(
    series: Sequence[tuple[str, str, Sequence[tuple[float, float]], bool]],
    title: str,
    x_title: str,
    y_title: str,
    width: int = 360,
    height: int = 200,
) -> str:
    """A small line chart as inline SVG: ``series`` of (name, colour, points, stepped)."""
    points = [p for _, _, pts, _ in series for p in pts]
    if not points:
        return ""
    left, right, top, bottom = 56, 12, 26, 34
    x_lo, x_hi = _bounds([p[0] for p in points])
    y_lo, y_hi = _bounds([p[1] for p in points])
    sx = _scale(x_lo, x_hi, left, width - right)
    sy = _scale(y_lo, y_hi, height - bottom, top)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 16}" '
        f'viewBox="0 0 {width} {height + 16}" role="img" font-family="sans-serif" font-size="10">',
        f"<title>{esc(title)}</title>",
        f'<text x="{left}" y="14" font-size="12" font-weight="bold">{esc(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{width - left - right}" '
        f'height="{height - top - bottom}" fill="none" stroke="#ccc"/>',
    ]
    ticks = (y_lo, (y_lo + y_hi) / 2, y_hi)
    for v, label in zip(ticks, fmt_column(ticks)):  # the axis's labels: one column
        y = sy(v)
        out.append(
            f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" fill="#555">'
            f"{esc(label)}</text>"
        )
    for v in (x_lo, x_hi):
        label = f"{v:g}"
        out.append(
            f'<text x="{sx(v):.1f}" y="{height - bottom + 12}" text-anchor="middle" '
            f'fill="#555">{esc(label)}</text>'
        )
    out.append(
        f'<text x="{(left + width - right) / 2:.1f}" y="{height - 8}" text-anchor="middle" '
        f'fill="#333">{esc(x_title)}</text>'
    )
    out.append(
        f'<text x="12" y="{(top + height - bottom) / 2:.1f}" text-anchor="middle" fill="#333" '
        f'transform="rotate(-90 12 {(top + height - bottom) / 2:.1f})">{esc(y_title)}</text>'
    )
    legend_x = left
    for name, colour, pts, stepped in series:
        if not pts:
            continue
        coords: list[tuple[float, float]] = []
        for i, (x, y) in enumerate(pts):
            if stepped and i > 0:
                coords.append((sx(x), sy(pts[i - 1][1])))
            coords.append((sx(x), sy(y)))
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        dash = ' stroke-dasharray="4 3"' if stepped else ""
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>'
        )
        if not stepped and len(pts) <= 60:
            for x, y in pts:
                out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{colour}"/>')
        out.append(
            f'<rect x="{legend_x}" y="{height + 4}" width="10" height="3" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="{height + 9}" fill="#333">{esc(name)}</text>'
        )
        legend_x += 24 + 6 * len(name)
    out.append("</svg>")
    return "".join(out)


def metric_chart(snapshot: Snapshot) -> str:
    """The primary metric per iteration, with the best so far as a stepped line."""
    rows = snapshot["iterations"]
    metric = snapshot["run"]["primary_metric"]
    value = [(float(r["index"]), r["metric"]) for r in rows if r["metric"] is not None]
    best = [(float(r["index"]), r["best"]) for r in rows if r["best"] is not None]
    return svg_lines(
        [(metric, "#4c78a8", value, False), ("best so far", "#e45756", best, True)],  # type: ignore[list-item]
        f"{metric} per iteration",
        "iteration",
        metric,
    )


def loss_chart(points: Sequence[LossPoint], max_points: int = 300) -> str:
    """Loss over steps, one line per split."""
    series = []
    for split in sorted({p["split"] for p in points}, key=lambda s: (s not in SPLIT_COLOURS, s)):
        pts = [(p["step"], p["value"]) for p in points if p["split"] == split]
        if len(pts) > max_points:
            step = (len(pts) - 1) / (max_points - 1)
            pts = [pts[round(i * step)] for i in range(max_points)]
        series.append((split, SPLIT_COLOURS.get(split, "#888"), pts, False))
    return svg_lines(series, "loss", "step", "loss")
