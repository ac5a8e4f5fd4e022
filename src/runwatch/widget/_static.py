"""Static HTML of a run: the summary a saved notebook shows, and the page ``save_html`` writes.

Two products, both built from a :class:`~._contract.Snapshot` (plain data):

- :func:`summary_html`: an HTML fragment with no script and no stylesheet
  (header, iterations table, the primary metric per iteration and the loss
  over time as inline SVG, the selected iteration's metrics and confusion
  matrix), for the ``text/html`` part of the widget's output. GitHub and
  nbviewer show it where no kernel runs.
- :func:`page_html`: one self-contained page. The widget's bundle
  (``static/bundle.js``, vega included) is inlined as a ``data:`` module and
  rendered with a stand-in model that serves the snapshot, so the page is the
  interactive widget, offline. A Content-Security-Policy forbids every
  network request; the summary stays visible if scripts do not run.

Every name (run, iterations, classes, metrics) goes through :func:`html.escape`;
the snapshot is embedded as JSON with ``<``, ``>`` and ``&`` escaped.

This module reads the snapshots and assembles the summary and the page; the
summary's pieces are in ``_static_svg`` (the inline SVG charts),
``_static_tables`` (the HTML tables) and ``_static_format`` (escaping, numbers).
"""

from __future__ import annotations

import base64
import json
import math
import time
from pathlib import Path
from typing import Any, cast

from ._contract import LossPoint, Snapshot
from ._payload import ENDED, dense_counts
from ._replay import stored_steps
from ._static_format import esc, fmt, fmt_duration
from ._static_gap import gap_html
from ._static_replay import replay_html
from ._static_svg import loss_chart, metric_chart
from ._static_tables import (
    iterations_table,
    matrix_table,
    metrics_table,
    per_class_table,
    pinned_rows,
)
from ._static_vision import vision_charts

# ------------------------------------------------------------------ snapshot


def build_snapshot(run: Any, reuse: Snapshot | None = None) -> Snapshot:
    """A complete snapshot of ``run`` as the store has it now (pending logs committed first).

    Read from the store, so it does not depend on how far a live widget's
    pushes got. The final details found in ``reuse`` (a live widget's state)
    are taken as they are; the others are built here.
    """
    from ._batches import thin_losses
    from ._payload import iteration_detail, iteration_rows, run_info
    from ._push import Pusher

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
    snapshot["steps"] = stored_steps(run, [int(r["id"]) for r in rows])
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
        snapshot["steps"] = stored_steps(run, [iteration.id])
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


# ------------------------------------------------------------------ summary


def no_predictions(status: str, has_losses: bool) -> str:
    """What the summary says of an iteration with no predictions in any split.

    "Yet" while it runs; once it has ended, that none were, and where its
    loss is when it has one. The page's sentences (js/detail.ts ``noPredictions``).
    """
    if status not in ENDED:
        return "No predictions logged for this iteration yet."
    if has_losses:
        return "No predictions were logged for this iteration; its loss is charted below."
    return "No predictions were logged for this iteration."


def failure_blocks(failures: Any) -> list[str]:
    """The failure panels as static blocks: a bucket table per attribute, importance, top losses."""
    from ._static_failures import by_attribute_tables, importance_table, top_losses_table

    blocks = [_block(title, table) for title, table in by_attribute_tables(failures)]
    if failures["attributes"]:
        blocks.append(_block("Attribute importance", importance_table(failures)))
    if failures["top_losses"]:
        blocks.append(_block("Top losses", top_losses_table(failures)))
    return blocks


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
    if run.get("started") is not None:  # absent from snapshots older than it
        end = run["ended"] if run.get("ended") is not None else time.time()
        header.append(f"<span>elapsed {fmt_duration(end - run['started'])}</span>")
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
        params = (detail or {}).get("params") or []  # absent in snapshots older than it
        if params:
            parts.append(
                '<div style="font-size:12px;margin-bottom:6px">'
                + " &middot; ".join(
                    f'<span style="color:#666">{esc(name)}</span> = {esc(value)}'
                    for name, value in params
                )
                + "</div>"
            )
        sd = detail["splits"].get(shown_split) if detail and shown_split else None
        if sd is not None:
            parts.append(_block("Metrics", metrics_table(sd, run["primary_metric"])))
            if sd.get("per_class"):
                parts.append(_block("Per class", per_class_table(sd)))
            parts.extend(_block(title, svg) for title, svg in vision_charts(sd))
            if sd.get("confusion"):
                cm = sd["confusion"]
                pinned = pinned_rows(run["task"], cm["labels"])
                table = matrix_table(cm["labels"], dense_counts(cm), pinned)
                parts.append(_block("Confusion matrix", table))
            steps = snapshot.get("steps", {}).get(iid or "", {}).get(shown_split or "", [])
            parts.append(replay_html(steps, run["primary_metric"], run["task"]))
            failures = sd.get("failures")  # absent in snapshots older than it
            if failures:
                parts += failure_blocks(failures)
        losses = snapshot["losses"].get(iid or "", [])
        parts.append(gap_html(detail, losses))
        if sd is None:
            text = no_predictions(row["status"], bool(losses))
            parts.append(f'<p style="color:#888;font-style:italic">{esc(text)}</p>')
        if losses:
            parts.append(_block("", loss_chart(losses)))
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
        "_uid": "page",
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
