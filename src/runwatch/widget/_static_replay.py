"""The replay in the static summary: the primary metric per step, the first and last matrices.

Where no script runs (GitHub, nbviewer) there is no slider: the shown split's
steps become a strip of the primary metric at each step (at most
:data:`STRIP_STEPS`, evenly spread, first and last kept) and the confusion
matrices of its first and last steps side by side, coloured as the page's.
Inline styles only, every name escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._contract import StepSnapshot
from ._payload import dense_counts
from ._static_format import esc, fmt_column
from ._static_tables import matrix_table, pinned_rows

#: Steps the strip shows at the most.
STRIP_STEPS = 20
_CELL = 'style="padding:2px 6px;border-bottom:1px solid #ddd;text-align:right"'


def strip_positions(n: int, most: int = STRIP_STEPS) -> list[int]:
    """``most`` positions of ``n`` evenly spread, first and last kept (all when fewer)."""
    if n <= most:
        return list(range(n))
    return sorted({round(i * (n - 1) / (most - 1)) for i in range(most)})


def replay_html(steps: Sequence[StepSnapshot], primary: str, task: str) -> str:
    """The replay's block for one split ("" with fewer than two steps)."""
    if len(steps) < 2:
        return ""
    shown = [steps[i] for i in strip_positions(len(steps))]
    values = fmt_column([s["metrics"].get(primary) for s in shown])
    head = "".join(f"<th {_CELL}>{esc(str(s['step']))}</th>" for s in shown)
    cells = "".join(f"<td {_CELL}>{v}</td>" for v in values)
    strip = (
        '<table style="border-collapse:collapse;font-size:12px;font-variant-numeric:tabular-nums">'
        f"<tr><th {_CELL}>step</th>{head}</tr><tr><th {_CELL}>{esc(primary)}</th>{cells}</tr>"
        "</table>"
    )
    parts = [
        f'<div style="margin:8px 0"><div style="font-weight:bold;margin:4px 0">Replay: '
        f"{len(steps)} steps</div>{strip}"
    ]
    ends = [(steps[0], "first"), (steps[-1], "last")]
    if all(s["confusion"] for s, _ in ends):
        parts.append('<div style="display:flex;gap:24px;flex-wrap:wrap;margin-top:6px">')
        for snap, which in ends:
            cm = snap["confusion"]
            assert cm is not None
            table = matrix_table(cm["labels"], dense_counts(cm), pinned_rows(task, cm["labels"]))
            parts.append(
                f'<div><div style="color:#555;margin-bottom:2px">{which} step '
                f"({esc(str(snap['step']))})</div>{table}</div>"
            )
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)
