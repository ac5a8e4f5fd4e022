"""Static HTML of a run: the summary a saved notebook shows, and the page ``save_html`` writes.

Two products, both built from a :class:`~._contract.Snapshot` (plain data):

- :func:`summary_html`: an HTML fragment with no script and no stylesheet
  (header, iterations table, the primary metric per iteration and the loss
  over time as inline SVG, the selected iteration's metrics and confusion
  matrix), for the ``text/html`` part of the widget's output. GitHub and
  nbviewer show it where no kernel runs.
- :func:`page_html`: one self-contained page. The widget's bundle
  (``static/widget.js``, vega included) is inlined as a ``data:`` module and
  rendered with a stand-in model that serves the snapshot, so the page is the
  interactive widget, offline. A Content-Security-Policy forbids every
  network request; the summary stays visible if scripts do not run.

Every name (run, iterations, classes, metrics) goes through :func:`html.escape`;
the snapshot is embedded as JSON with ``<``, ``>`` and ``&`` escaped.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from ._contract import IterationRow, LossPoint, Snapshot, SplitDetail
from ._payload import ENDED

#: Classes shown in the static confusion matrix before the rest fold into "(other)".
MATRIX_CLASSES = 7

#: The colours of the loss lines, by split (the views layer's).
SPLIT_COLOURS = {"train": "#4c78a8", "validation": "#f58518", "test": "#54a24b"}

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
)

_CELL = 'style="padding:2px 8px;border-bottom:1px solid #ddd;text-align:{align}"'


def esc(value: Any) -> str:
    """``value`` as HTML text (quotes escaped too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def fmt(value: float | None, digits: int = 4) -> str:
    """A number for a table cell; an em dash when missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "\u2014"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:.{digits}f}"


def fmt_duration(seconds: float | None) -> str:
    """Seconds as ``0.42 s``, ``3.1 s`` or ``2 min 05 s``."""
    if seconds is None:
        return "\u2014"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"


# ------------------------------------------------------------------ snapshot


def build_snapshot(run: Any, reuse: Snapshot | None = None) -> Snapshot:
    """A complete snapshot of ``run`` as the store has it now (pending logs committed first).

    Read from the store, so it does not depend on how far a live widget's
    pushes got. The final details found in ``reuse`` (a live widget's state)
    are taken as they are; the others are built here.
    """
    from ._payload import iteration_detail, iteration_rows, run_info
    from ._push import Pusher, thin_losses

    try:
        run.flush()
    except Exception:  # a run opened read-only from another process has nothing pending
        pass
    if reuse is None:  # the charts' specs and whatever else a fresh widget starts with
        reuse = Pusher(run, lambda batch: None, lambda snapshot: None).state
    rows = iteration_rows(run)
    snapshot = cast(Snapshot, dict(reuse))
    snapshot["run"] = run_info(run, rows)
    snapshot["iterations"] = rows
    snapshot["details"] = {}
    snapshot["losses"] = {}
    known = reuse.get("details", {})
    for iteration in run.iteration_list():
        key = str(iteration.id)
        old = known.get(key)
        detail = old if old is not None and old["final"] else iteration_detail(iteration)
        snapshot["details"][key] = detail
        points = _loss_points(iteration)
        if points:
            snapshot["losses"][key] = thin_losses(points)
    return snapshot


def _loss_points(iteration: Any) -> list[LossPoint]:
    frame = iteration.losses()
    return [
        {"split": str(split), "step": float(step), "value": float(value)}
        for split, step, value in zip(frame["split"], frame["step"], frame["value"])
    ]


def summary_snapshot(run: Any, selected: str | None = None) -> Snapshot:
    """What :func:`summary_html` needs, read from the store now, cheaply.

    All rows and the header, but the details and losses of the one iteration
    shown (``selected``, else the automatic pick) and no chart specs: its cost
    does not grow with the number of iterations' details.
    """
    from ._contract import empty_snapshot
    from ._payload import iteration_detail, iteration_rows, run_info

    try:
        run.flush()
    except Exception:
        pass
    rows = iteration_rows(run)
    snapshot = empty_snapshot(run_info(run, rows))
    snapshot["iterations"] = rows
    ids = {row["id"] for row in rows}
    iid = selected if selected in ids else snapshot["run"]["auto"]
    if iid is not None:
        iteration = run.get(int(iid))
        snapshot["details"][iid] = iteration_detail(iteration, charts=False)
        snapshot["losses"][iid] = _loss_points(iteration)
    return snapshot


def pick(
    snapshot: Snapshot, selected: str | None, split: str | None
) -> tuple[str | None, str | None]:
    """The iteration and split the detail panels show, as the page picks them."""
    ids = {row["id"] for row in snapshot["iterations"]}
    iid = selected if selected in ids else snapshot["run"].get("auto")
    detail = snapshot["details"].get(iid) if iid is not None else None
    if detail is None or not detail["splits"]:
        return iid, None
    splits = detail["splits"]
    if split in splits:
        return iid, split
    for name in ("validation", "test", "train"):
        if name in splits:
            return iid, name
    return iid, next(iter(splits))


# ---------------------------------------------------------------------- svg


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
    for v in (y_lo, (y_lo + y_hi) / 2, y_hi):
        y = sy(v)
        out.append(
            f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" fill="#555">'
            f"{esc(fmt(v))}</text>"
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


# ------------------------------------------------------------------- tables


def _td(text: str, numeric: bool = False, extra: str = "") -> str:
    return f"<td {_CELL.format(align='right' if numeric else 'left')}{extra}>{text}</td>"


def _th(text: str, numeric: bool = False) -> str:
    return f"<th {_CELL.format(align='right' if numeric else 'left')}>{text}</th>"


def iterations_table(rows: Sequence[IterationRow], metric: str, selected: str | None) -> str:
    """The iterations table; the best row bold and starred, the shown one marked."""
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
    body = []
    for r in rows:
        style = ' style="font-weight:bold;background:#eef6ee"' if r["is_best"] else ""
        name = esc(r["name"]) + (" \u2605" if r["is_best"] else "")
        if r["id"] == selected:
            name += ' <span style="color:#888">(shown below)</span>'
        cells = [
            _td(str(r["index"]), True),
            _td(name),
            _td(esc(r["status"])),
            _td(fmt_duration(r["duration"]), True),
            _td(fmt(r["metric"]), True),
            _td(fmt(r["best"]), True),
        ]
        body.append(f'<tr class="rw-static-row"{style}>{"".join(cells)}</tr>')
    return (
        '<table class="rw-static-iterations" style="border-collapse:collapse;font-size:12px">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def metrics_table(detail: SplitDetail, primary: str) -> str:
    """The split's metrics, key ones first, in two columns of name and value."""
    metrics = detail["metrics"]
    names = [m for m in KEY_METRICS if m in metrics]
    names += sorted(m for m in metrics if m not in names)
    rows = []
    for name in names:
        label = f"<b>{esc(name)}</b>" if name == primary else esc(name)
        rows.append(f"<tr>{_td(label)}{_td(fmt(metrics[name]), True)}</tr>")
    return (
        '<table class="rw-static-metrics" style="border-collapse:collapse;font-size:12px">'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def fold_matrix(
    labels: Sequence[str], counts: Sequence[Sequence[float]], k: int = MATRIX_CLASSES
) -> tuple[list[str], list[list[float]]]:
    """At most ``k`` classes (the most confused ones) plus an "(other)" row and column.

    With ``k`` classes or fewer, the matrix as it is. No count is dropped.
    """
    n = len(labels)
    if n <= k:
        return list(labels), [list(map(float, row)) for row in counts]
    pairs = sorted(
        ((counts[i][j], i, j) for i in range(n) for j in range(n) if i != j and counts[i][j] > 0),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    keep: list[int] = []
    for _, i, j in pairs:
        for c in (i, j):
            if c not in keep and len(keep) < k:
                keep.append(c)
        if len(keep) >= k:
            break
    support = sorted(range(n), key=lambda i: (-sum(counts[i]), i))
    for i in support:  # too few confusions: fill with the most common classes
        if len(keep) >= k:
            break
        if i not in keep:
            keep.append(i)
    keep.sort()
    index = {c: pos for pos, c in enumerate(keep)}
    other = len(keep)
    out = [[0.0] * (other + 1) for _ in range(other + 1)]
    for i in range(n):
        for j in range(n):
            out[index.get(i, other)][index.get(j, other)] += float(counts[i][j])
    return [labels[c] for c in keep] + ["(other)"], out


def matrix_table(labels: Sequence[str], counts: Sequence[Sequence[float]]) -> str:
    """A confusion matrix as an HTML table, cells shaded by their share of the row."""
    labels, counts = fold_matrix(labels, counts)
    head = "".join(
        f'<th style="padding:2px 6px;font-weight:normal;color:#555">{esc(lab)}</th>'
        for lab in labels
    )
    body = []
    for lab, row in zip(labels, counts):
        total = sum(row) or 1.0
        cells = []
        for v in row:
            share = v / total
            shade = f"rgba(76,120,168,{share:.2f})"
            colour = "#fff" if share > 0.55 else "#222"
            text = f"{v:g}" if v else ""
            cells.append(
                f'<td style="padding:2px 6px;text-align:right;background:{shade};color:{colour};'
                f'border:1px solid #eee">{text}</td>'
            )
        body.append(
            f'<tr><th style="padding:2px 6px;text-align:right;font-weight:normal;color:#555">'
            f"{esc(lab)}</th>{''.join(cells)}</tr>"
        )
    return (
        '<table class="rw-static-confusion" style="border-collapse:collapse;font-size:11px">'
        f'<thead><tr><th style="padding:2px 6px;color:#888;font-weight:normal">true \\ predicted'
        f"</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


# ------------------------------------------------------------------ summary


def _block(title: str, inner: str) -> str:
    return (
        '<div style="display:inline-block;vertical-align:top;margin:0 18px 12px 0">'
        f'<div style="font-weight:bold;font-size:12px;margin-bottom:4px">{esc(title)}</div>'
        f"{inner}</div>"
    )


def summary_html(snapshot: Snapshot, selected: str | None = None, split: str | None = None) -> str:
    """A static HTML summary of the snapshot: no script, no stylesheet, every name escaped."""
    run = snapshot["run"]
    rows = snapshot["iterations"]
    iid, shown_split = pick(snapshot, selected, split)
    done = sum(1 for r in rows if r["status"] in ENDED)
    best = next((r for r in rows if r["is_best"]), None)
    header = [
        f'<span style="font-size:15px;font-weight:bold">{esc(run["name"])}</span>',
        f'<span style="color:#666">{esc(run["task"])}</span>',
        f'<span style="border:1px solid #999;border-radius:8px;padding:0 6px">'
        f"{esc(run['status'])}</span>",
        f"<span>{done} of {len(rows)} iterations done</span>",
    ]
    if best is not None:
        header.append(
            f"<span>best: {esc(best['name'])} (#{best['index']}) "
            f"{esc(run['primary_metric'])} {fmt(best['metric'])}</span>"
        )
    parts = [
        '<div class="rw-static" style="font-family:sans-serif;font-size:13px">',
        f'<div style="margin-bottom:8px">{" &middot; ".join(header)}</div>',
    ]
    if not rows:
        parts.append('<p style="color:#888">No iterations logged yet.</p></div>')
        return "".join(parts)
    parts.append(_block("Iterations", iterations_table(rows, run["primary_metric"], iid)))
    chart = metric_chart(snapshot)
    if chart:
        parts.append(_block("", chart))
    row = next((r for r in rows if r["id"] == iid), None)
    if row is not None:
        parts.append(
            f'<div style="font-weight:bold;margin:6px 0">Iteration #{row["index"]}: '
            f"{esc(row['name'])}"
            + (f' <span style="color:#666">({esc(shown_split)})</span>' if shown_split else "")
            + "</div><div>"
        )
        detail = snapshot["details"].get(iid) if iid is not None else None
        sd = detail["splits"].get(shown_split) if detail and shown_split else None
        if sd is not None:
            parts.append(_block("Metrics", metrics_table(sd, run["primary_metric"])))
            if sd.get("confusion"):
                cm = sd["confusion"]
                parts.append(_block("Confusion matrix", matrix_table(cm["labels"], cm["counts"])))
        losses = snapshot["losses"].get(iid or "", [])
        if losses:
            parts.append(_block("", loss_chart(losses)))
        if sd is None and not losses:
            parts.append('<p style="color:#888">No predictions logged for this iteration yet.</p>')
        parts.append("</div>")
    parts.append(
        '<div style="color:#999;font-size:11px">runwatch: a static summary; '
        "run the notebook to see the live widget.</div></div>"
    )
    return "".join(parts)


# --------------------------------------------------------------------- page


def _clean(value: Any) -> Any:
    """NaN and infinities to None, recursively (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def script_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` as unicode escapes."""
    text = json.dumps(_clean(value), allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


#: No request leaves the page: scripts and images only from the page itself (inline, data:).
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval' data: blob:; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src 'none'"
)

_BOOT = """\
const read = (id) => JSON.parse(document.getElementById(id).textContent);
const values = read("rw-state");
values._snapshot = read("rw-snapshot");
const listeners = new Map();
const model = {
  get: (name) => values[name],
  set(name, value) {
    // As Backbone: an unchanged value fires no change event.
    if (JSON.stringify(values[name]) === JSON.stringify(value)) return;
    values[name] = value;
    for (const f of [...(listeners.get("change:" + name) ?? [])]) f();
  },
  save_changes() {},
  send() {},
  on(event, f) {
    if (!listeners.has(event)) listeners.set(event, []);
    listeners.get(event).push(f);
  },
  off(event, f) {
    const list = listeners.get(event) ?? [];
    if (f === undefined) list.length = 0;
    else if (list.includes(f)) list.splice(list.indexOf(f), 1);
  },
};
const status = document.getElementById("rw-page-status");
try {
  const mod = await import(document.getElementById("rw-bundle").dataset.src);
  let widget = mod.default;
  if (typeof widget === "function") widget = await widget();
  if (widget.initialize) await widget.initialize({ model });
  await widget.render({ model, el: document.getElementById("rw-widget") });
  document.getElementById("rw-static").hidden = true;
  document.body.dataset.rendered = "true";
} catch (err) {
  status.textContent =
    "The interactive view could not start (" + err + "); the static summary is below.";
  document.body.dataset.rendered = "false";
}
"""


def page_html(
    snapshot: Snapshot,
    bundle: bytes,
    selected: str | None = None,
    split: str = "validation",
    auto_selected: bool = True,
) -> str:
    """One self-contained page: the widget rendered from ``snapshot``, plus the static summary."""
    title = f"runwatch: {snapshot['run']['name']}"
    state = {
        "selected": selected,
        "split": split,
        "selected_cell": None,
        "_auto_selected": auto_selected,
    }
    src = "data:text/javascript;base64," + base64.b64encode(bundle).decode("ascii")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>"
        "<style>body{margin:16px;font-family:sans-serif}"
        "#rw-page-status{color:#a33;font-size:12px}</style></head><body>\n"
        '<div id="rw-page-status"></div>\n'
        '<div id="rw-widget"></div>\n'
        f'<div id="rw-static">{summary_html(snapshot, selected, split)}</div>\n'
        f'<script type="application/json" id="rw-snapshot">{script_json(snapshot)}</script>\n'
        f'<script type="application/json" id="rw-state">{script_json(state)}</script>\n'
        f'<script type="text/plain" id="rw-bundle" data-src="{src}"></script>\n'
        f'<script type="module">\n{_BOOT}</script>\n'
        "</body></html>\n"
    )


def write_page(path: Any, html_text: str) -> Path:
    """Write ``html_text`` to ``path`` (parents created); return the absolute path."""
    out = Path(path).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_text, encoding="utf-8")
    return out
