"""The overfit gap in the static summary: tables of diverging bars and the loss gap as SVG.

As the page's gap panel (``js/gap.ts``), from the same payload: train minus
validation for every metric and per class (where the shown iteration logged
both splits; the classes of the largest gap flagged, ``runwatch.views.gap``'s
rule), and the gap of the loss curves over the steps both splits logged.
Inline styles only, every name escaped. Compare mode is interactive only: a
saved notebook shows the one iteration it was saved on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from runwatch.views.gap import (
    FLAGGED,
    MIN_FLAGGED_GAP,
    gap_column,
    loss_gap,
    metric_gap,
    per_class_gap,
)

from ._contract import Detail, LossPoint, SplitDetail
from ._static_format import esc, fmt_column
from ._static_svg import svg_lines

#: Colours of a positive gap (train higher) and a negative one.
POSITIVE, NEGATIVE = "#4e79a7", "#f28e2b"
_BAR_WIDTH = 120
_CELL = 'style="padding:2px 8px;border-bottom:1px solid #ddd;text-align:{align}"'
_TABLE = 'style="border-collapse:collapse;font-size:12px;font-variant-numeric:tabular-nums"'


def _td(text: str, numeric: bool = True) -> str:
    return f"<td {_CELL.format(align='right' if numeric else 'left')}>{text}</td>"


def _th(text: str, numeric: bool = True) -> str:
    return f"<th {_CELL.format(align='right' if numeric else 'left')}>{text}</th>"


def _signed(values: Sequence[float | None]) -> list[str]:
    """A column of gaps: the decimals of their sizes, a sign in front ("—" for none)."""
    texts = fmt_column([None if v is None else abs(v) for v in values])
    out = []
    for v, t in zip(values, texts):
        if v is None:
            out.append("\u2014")
        else:
            out.append(("+" if v > 0 else "\u2212" if v < 0 else "") + t)
    return out


def bar(gap: float | None, top: float) -> str:
    """A bar from the middle of a cell: right and blue for a positive gap, left and orange."""
    half = _BAR_WIDTH / 2
    inner = ""
    if gap is not None and top > 0:
        width = half * min(1.0, abs(gap) / top)
        left = half if gap >= 0 else half - width
        colour = POSITIVE if gap >= 0 else NEGATIVE
        inner = (
            f'<div style="position:absolute;top:0;left:{left:.1f}px;width:{width:.1f}px;'
            f'height:10px;background:{colour}"></div>'
        )
    return (
        '<td style="padding:2px 4px;border-bottom:1px solid #ddd">'
        f'<div style="position:relative;width:{_BAR_WIDTH}px;height:10px">'
        f'<div style="position:absolute;top:0;left:{half - 0.5:.1f}px;width:1px;height:10px;'
        f'background:#999"></div>{inner}</div></td>'
    )


def bar_scale(rows: Sequence[Mapping[str, Any]]) -> float:
    """The gap a full bar stands for: the largest gap of the scores and rates.

    Those are the metrics with both values within [-1, 1], so a log loss gap
    of 2.5 does not flatten gaps of 0.05 (its bar is cut at the end); the
    largest of all when there are no scores. As ``js/gap.ts``.
    """
    scores = [r for r in rows if abs(r["train"]) <= 1 and abs(r["validation"]) <= 1]
    return max((abs(r["gap"]) for r in scores or rows), default=0.0)


def _frame(split: SplitDetail) -> pd.DataFrame:
    rows = split.get("per_class") or []
    return pd.DataFrame([{k: v for k, v in r.items() if k != "label"} for r in rows]).set_axis(
        [r["label"] for r in rows]
    )


def metric_gap_table(train: SplitDetail, validation: SplitDetail) -> str:
    """Metric, train, validation, gap and its bar, for each metric defined in both."""
    # In the page's order: by group, the primary metric's first.
    names = [m for g in train.get("groups") or [] for m in g["metrics"]] or None
    rows = metric_gap(train["metrics"], validation["metrics"], names)
    if not rows:
        return ""
    values = fmt_column([v for r in rows for v in (r["train"], r["validation"])])
    gaps = _signed([r["gap"] for r in rows])
    top = bar_scale(rows)
    head = _th("Metric", False) + _th("Train") + _th("Validation") + _th("Gap") + _th("")
    body = "".join(
        f"<tr>{_td(esc(r['metric']), False)}{_td(values[2 * i])}{_td(values[2 * i + 1])}"
        f"{_td(gaps[i])}{bar(r['gap'], top)}</tr>"
        for i, r in enumerate(rows)
    )
    return (
        f'<table class="rw-static-gap" {_TABLE}><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def class_gap_table(train: SplitDetail, validation: SplitDetail) -> str:
    """Per class of both splits: the key column's train, validation and gap (a bar), a flag."""
    if not train.get("per_class") or not validation.get("per_class"):
        return ""
    names = {c for c, _ in validation.get("per_class_columns") or []}
    columns = [c for c, _ in train.get("per_class_columns") or [] if c in names]
    key = gap_column(columns)
    if key is None:
        return ""
    headings = dict(map(tuple, train.get("per_class_columns") or []))
    rows = per_class_gap(_frame(train), _frame(validation), [key])
    if not rows:
        return ""
    values = fmt_column([v for r in rows for v in (r["train"][key], r["validation"][key])])
    gaps = _signed([r["gap"][key] for r in rows])
    top = max((abs(r["gap"][key]) for r in rows if r["gap"][key] is not None), default=0.0)
    heading = esc(headings.get(key, key))
    head = (
        _th("Class", False)
        + _th(f"{heading} train")
        + _th(f"{heading} validation")
        + _th(f"{heading} gap")
        + _th("")
    )
    body = []
    for i, r in enumerate(rows):
        label = esc(r["label"])
        if r["flagged"]:
            label = f'<b>{label}</b> <span style="color:#c0392b" title="large gap">\u2691</span>'
        body.append(
            f"<tr>{_td(label, False)}{_td(values[2 * i])}{_td(values[2 * i + 1])}"
            f"{_td(gaps[i])}{bar(r['gap'][key], top)}</tr>"
        )
    note = (
        f'<div style="color:#888;font-size:11px">\u2691: the {FLAGGED} largest {heading} gaps '
        f"of at least {MIN_FLAGGED_GAP}.</div>"
    )
    return (
        f'<table class="rw-static-class-gap" {_TABLE}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{note}"
    )


def loss_gap_chart(points: Sequence[LossPoint]) -> str:
    """The gap of the loss curves by step, as inline SVG ("" without steps both splits logged)."""
    rows = loss_gap(points)
    if not rows:
        return ""
    pts = [(r["step"], r["gap"]) for r in rows]
    return svg_lines(
        [("train \u2212 validation", POSITIVE, pts, False)],
        "loss gap (train \u2212 validation)",
        "step",
        "loss gap",
    )


def gap_html(detail: Detail | Mapping[str, Any] | None, losses: Sequence[LossPoint]) -> str:
    """The gap's tables and chart for the shown iteration ("" when it has no gap to show)."""
    splits = (detail or {}).get("splits") or {}
    parts = []
    if "train" in splits and "validation" in splits:
        parts.append(metric_gap_table(splits["train"], splits["validation"]))
        parts.append(class_gap_table(splits["train"], splits["validation"]))
    parts.append(loss_gap_chart(losses))
    inner = "".join(
        f'<div style="display:inline-block;vertical-align:top;margin-right:18px">{p}</div>'
        for p in parts
        if p
    )
    if not inner:
        return ""
    return (
        '<div class="rw-static-gaps" style="margin:6px 0 12px">'
        '<div style="font-weight:bold;font-size:12px;margin-bottom:4px">'
        "Overfit gap (train \u2212 validation)</div>"
        f"{inner}</div>"
    )
