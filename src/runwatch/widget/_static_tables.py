"""HTML tables of the static summary: iterations, a split's metrics, per class, the matrix.

Inline styles only (no stylesheet), every name escaped; a confusion matrix
with many classes is folded to the most confused ones plus "(other)".
"""

from __future__ import annotations

from collections.abc import Sequence

from ._contract import IterationRow, SplitDetail
from ._static_format import column_format, esc, fmt_column, fmt_duration, fmt_number

#: Classes shown in the static confusion matrix before the rest fold into "(other)".
MATRIX_CLASSES = 7

#: Iterations listed in the static table at the most: the best, the shown one and
#: the newest; a saved notebook of a 1,000-iteration sweep stays readable and small.
STATIC_ROWS = 50

#: Metrics listed first in the static metrics table, when present.
KEY_METRICS = (
    "accuracy",
    "AUC_weighted",
    "f1_score_macro",
    "log_loss",
    "balanced_accuracy",
    "precision_score_macro",
    "recall_score_macro",
    "r2_score",
    "root_mean_squared_error",
    "mean_absolute_error",
    "spearman_correlation",
    "mAP",
    "mAP_50",
    "mAP_75",
    "mAR_100",
    "mean_iou",
    "pixel_accuracy",
    "frequency_weighted_iou",
)

#: The per-class columns of a payload saved before it listed them: classification's.
CLASSIFICATION_COLUMNS = (
    ("precision", "Precision"),
    ("recall", "Recall"),
    ("f1", "F1"),
    ("support", "Support"),
)

#: Columns that count (samples, boxes, pixels): whole numbers print as integers.
COUNT_COLUMNS = frozenset({"support", "predicted", "tp", "fp", "fn"})

_CELL = 'style="padding:2px 8px;border-bottom:1px solid #ddd;text-align:{align}"'
#: Figures of one width, so the numbers of a right-aligned column line up on the point.
_NUMS = "font-variant-numeric:tabular-nums"


def _td(text: str, numeric: bool = False, extra: str = "") -> str:
    return f"<td {_CELL.format(align='right' if numeric else 'left')}{extra}>{text}</td>"


def _th(text: str, numeric: bool = False) -> str:
    return f"<th {_CELL.format(align='right' if numeric else 'left')}>{text}</th>"


def iterations_table(rows: Sequence[IterationRow], metric: str, selected: str | None) -> str:
    """The iterations table; the best row bold and starred, the shown one marked.

    Past :data:`STATIC_ROWS` rows: the best, the shown one and the newest, in
    run order, and a last row saying how many were left out.
    """
    every = rows
    left_out = 0
    if len(rows) > STATIC_ROWS:
        keep = {r["id"] for r in rows if r["is_best"] or r["id"] == selected}
        for r in reversed(rows):
            if len(keep) >= STATIC_ROWS:
                break
            keep.add(r["id"])
        left_out = len(rows) - len(keep)
        rows = [r for r in rows if r["id"] in keep]
    head = "".join(
        _th(t, n)
        for t, n in (
            ("#", True),
            ("Iteration", False),
            ("Status", False),
            ("Duration", True),
            (esc(metric), True),
            ("Best so far", True),
        )
    )
    # One format for the metric and best-so-far columns, over every row (as the page).
    form = column_format([v for r in every for v in (r["metric"], r["best"])])
    body = []
    for r in rows:
        # The name bold, not the row: bold figures are wider and would leave the point.
        style = ' style="background:#eef6ee"' if r["is_best"] else ""
        name = esc(r["name"]) + (" \u2605" if r["is_best"] else "")
        if r["is_best"]:
            name = f"<b>{name}</b>"
        if r["id"] == selected:
            name += ' <span style="color:#888">(shown below)</span>'
        cells = [
            _td(str(r["index"]), True),
            _td(name),
            _td(esc(r["status"])),
            _td(fmt_duration(r["duration"]), True),
            _td(fmt_number(r["metric"], form), True),
            _td(fmt_number(r["best"], form), True),
        ]
        body.append(f'<tr class="rw-static-row"{style}>{"".join(cells)}</tr>')
    if left_out:
        body.append(
            f'<tr><td colspan="6" style="color:#888;padding:2px 8px">{left_out} older '
            "iterations not listed; run the notebook to see them all.</td></tr>"
        )
    return (
        '<table class="rw-static-iterations" style="border-collapse:collapse;font-size:12px;'
        f'{_NUMS}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def metrics_table(detail: SplitDetail, primary: str) -> str:
    """The split's metrics, key ones first, in two columns of name and value.

    Every value with the same decimals (:func:`fmt_column`); an undefined one
    shows its reason on hover.
    """
    metrics = detail["metrics"]
    names = [m for m in KEY_METRICS if m in metrics]
    names += sorted(m for m in metrics if m not in names)
    values = fmt_column([metrics[name] for name in names])
    reasons = detail.get("reasons") or {}
    rows = []
    for name, value in zip(names, values):
        label = f"<b>{esc(name)}</b>" if name == primary else esc(name)
        why = f' title="{esc(reasons[name])}"' if name in reasons else ""
        rows.append(f"<tr>{_td(label)}{_td(value, True, why)}</tr>")
    return (
        f'<table class="rw-static-metrics" style="border-collapse:collapse;font-size:12px;{_NUMS}">'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def per_class_table(detail: SplitDetail) -> str:
    """The per-class table: a row per class, the columns the payload lists.

    As the page's (js/detail.ts ``perClassTable``): classification's precision,
    recall, F1 and support; detection's AP, AP50, ...; segmentation's IoU, ...;
    each column with its own decimals, counts as integers. Past
    :data:`STATIC_ROWS` classes, the first ones and a row saying how many more.
    """
    every = detail["per_class"]
    rows = every[:STATIC_ROWS]
    columns = [tuple(c) for c in detail.get("per_class_columns") or CLASSIFICATION_COLUMNS]
    # Decimals over every class, as the page's column, even past the rows listed.
    texts = [
        fmt_column([_number(r.get(name)) for r in every], counts=name in COUNT_COLUMNS)
        for name, _ in columns
    ]
    head = _th("Class") + "".join(_th(esc(heading), True) for _, heading in columns)
    body = [
        "<tr>" + _td(esc(r["label"])) + "".join(_td(t[i], True) for t in texts) + "</tr>"
        for i, r in enumerate(rows)
    ]
    if len(every) > len(rows):
        body.append(
            f'<tr><td colspan="{len(columns) + 1}" style="color:#888;padding:2px 8px">'
            f"{len(every) - len(rows)} more classes not listed; run the notebook to see them "
            "all.</td></tr>"
        )
    return (
        f'<table class="rw-static-per-class" style="border-collapse:collapse;font-size:12px;'
        f'{_NUMS}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def _number(value: object) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


#: Tasks whose matrix ends with a "background" row and column (js/confusion.ts pinnedRows).
BACKGROUND_TASKS = ("detection", "instance_segmentation")


def pinned_rows(task: str, labels: Sequence[str]) -> list[int]:
    """The rows always shown beside the top ``k``: a detector's "background", else none."""
    last = len(labels) - 1
    return [last] if task in BACKGROUND_TASKS and labels and labels[last] == "background" else []


def fold_matrix(
    labels: Sequence[str],
    counts: Sequence[Sequence[float]],
    k: int = MATRIX_CLASSES,
    pinned: Sequence[int] = (),
) -> tuple[list[str], list[list[float]]]:
    """At most ``k`` classes (the most confused ones) plus an "(other)" row and column.

    With ``k`` classes or fewer, the matrix as it is. No count is dropped.
    ``pinned`` rows (a detector's background) are shown besides the ``k``
    and never folded; cells with them still rank the other classes.
    """
    n = len(labels)
    fixed = {i for i in pinned if 0 <= i < n}
    if n - len(fixed) <= k:
        return list(labels), [list(map(float, row)) for row in counts]
    pairs = sorted(
        ((counts[i][j], i, j) for i in range(n) for j in range(n) if i != j and counts[i][j] > 0),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    keep: list[int] = []
    for _, i, j in pairs:
        for c in (i, j):
            if c not in keep and c not in fixed and len(keep) < k:
                keep.append(c)
        if len(keep) >= k:
            break
    support = sorted(range(n), key=lambda i: (-sum(counts[i]), i))
    for i in support:  # too few confusions: fill with the most common classes
        if len(keep) >= k:
            break
        if i not in keep and i not in fixed:
            keep.append(i)
    keep = sorted(keep + sorted(fixed))
    index = {c: pos for pos, c in enumerate(keep)}
    other = len(keep)
    out = [[0.0] * (other + 1) for _ in range(other + 1)]
    for i in range(n):
        for j in range(n):
            out[index.get(i, other)][index.get(j, other)] += float(counts[i][j])
    return [labels[c] for c in keep] + ["(other)"], out


#: Fill of the "(other)" cells, outside the colour scale: the page's (js/confusion.ts OTHER_FILL).
OTHER_FILL = "#e8e8e8"


def scale_max(counts: Sequence[Sequence[float]], other: bool) -> float:
    """The top of the colour scale: the largest count outside the "(other)" row and column.

    They are grey, so the big (other)/(other) count does not wash out the shown
    classes' cells (js/confusion.ts ``scaleMax``).
    """
    last = len(counts) - 1
    return max(
        (
            float(v)
            for i, row in enumerate(counts)
            for j, v in enumerate(row)
            if not (other and (i == last or j == last))
        ),
        default=0.0,
    )


def _cell_style(value: float, top: float, grey: bool, diagonal: bool) -> str:
    """A count's cell as the page colours raw counts (js/confusion.ts ``ConfusionPanel.draw``)."""
    style = "padding:2px 6px;text-align:right;border:1px solid #eee"
    if grey:
        return f"{style};background:{OTHER_FILL};color:#555"
    alpha = min(1.0, value / top) if top > 0 else 0.0
    colour = "#fff" if alpha > 0.55 else "#222"
    weight = ";font-weight:bold" if diagonal else ""
    return f"{style};background:rgba(31,119,180,{0.08 + 0.82 * alpha:.3f});color:{colour}{weight}"


def matrix_table(
    labels: Sequence[str], counts: Sequence[Sequence[float]], pinned: Sequence[int] = ()
) -> str:
    """A confusion matrix as an HTML table, coloured as the page colours its counts.

    Cells shade with their count over the largest count of the shown classes;
    the "(other)" row and column are grey and outside that scale; the diagonal
    is bold. Counts print as the page's count columns (:func:`fmt_column`).
    ``pinned`` rows and columns (a detector's background) are never folded.
    """
    other = len(labels) - len(set(pinned)) > MATRIX_CLASSES
    labels, counts = fold_matrix(labels, counts, pinned=pinned)
    top = scale_max(counts, other)
    texts = fmt_column([v for row in counts for v in row], counts=True)
    last = len(labels) - 1
    head = "".join(
        f'<th style="padding:2px 6px;font-weight:normal;color:#555">{esc(lab)}</th>'
        for lab in labels
    )
    body = []
    for i, (lab, row) in enumerate(zip(labels, counts)):
        cells = []
        for j, v in enumerate(row):
            grey = other and (i == last or j == last)
            style = _cell_style(float(v), top, grey, i == j and not grey)
            cells.append(f'<td style="{style}">{texts[i * len(row) + j]}</td>')
        body.append(
            f'<tr><th style="padding:2px 6px;text-align:right;font-weight:normal;color:#555">'
            f"{esc(lab)}</th>{''.join(cells)}</tr>"
        )
    return (
        '<table class="rw-static-confusion" style="border-collapse:collapse;font-size:11px;'
        f'{_NUMS}"><thead><tr><th style="padding:2px 6px;color:#888;font-weight:normal">'
        f"true \\ predicted</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
