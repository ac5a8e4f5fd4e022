"""The RunDetails widget in a real JupyterLab and headless Chromium (a plain script, not a test).

Starts JupyterLab on 127.0.0.1 (token, ``--LabApp.expose_app_in_browser``),
opens one notebook in Debian's Chromium through Playwright and measures:

1. **log → DOM latency** at 20 loss points a second: a running cell logs
   ``it.log_loss`` on a fixed 50 ms schedule and keeps ``time.time()`` of
   every call; in the page a MutationObserver on the loss chart records
   ``Date.now()`` and the number of points in the line's SVG path after each
   change. Latency of point k = first page time the path has ≥ k+1 points −
   the kernel's time of the call (one machine, one clock). The first second is
   warm-up (chart creation) and not counted. The kernel side also notes when
   the tracking poller handed the points to the widget and when the batch was
   sent; the page notes when the websocket frame arrived: the breakdown.
2. **bytes per appended loss point**: every kernel → page websocket frame is
   counted in the page (a wrapper around ``WebSocket`` installed before
   JupyterLab loads; binary v1 frames and JSON frames both decoded). Window:
   from a ``print`` marker before the loop to one after it (1.5 s after the
   last point), all frames between, divided by the points logged in the window.
   Once with an empty history (the latency loop) and once after
   ``--history`` (10,000) points were logged into the selected iteration.
3. **first render** of a ``--iterations`` (1,000) × 100-class run built in a
   store beforehand (tracking API, 300 label predictions per iteration, no
   probabilities): from the kernel's ``time.time()`` just before
   ``rw.RunDetails(run)`` (the run object already open) to the page's
   ``Date.now()`` when the view's iterations table holds its first page of
   rows (``PAGE_ROWS`` of js/table.ts, 100; the rest behind "Show all", as the
   table shows them) and says how many there are in all (the MutationObserver
   callback), and to the next animation frame after it.
4. **matrix mode switch** on that run's selected iteration (100 classes):
   in the page, ``performance.now()`` around setting the ``.rw-mode`` select
   and dispatching its ``change`` event until the matrix table was replaced
   (the panel redraws synchronously), and until the next animation frame.

Run: ``.venv/bin/python benchmarks/bench_widget.py [--quick] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from runwatch.tracking import Run  # noqa: E402

# The browser tests' server launcher and page helpers (running a cell, waiting for it).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.browser._page import run_cell, wait_cell_done  # noqa: E402
from tests.browser._server import start_jupyter, write_notebook  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
TARGETS = {
    "latency_p95_ms": 250.0,
    "bytes_per_point_after_history": 2048.0,
    "first_render_ms": 200.0,
    "mode_switch_ms": 50.0,
}

# ------------------------------------------------------------------ the page

# Installed before JupyterLab's own scripts: every message on a kernel's
# channels websocket is logged with its arrival time, size and kind.
INIT_SCRIPT = r"""
(() => {
  const log = { frames: [], loss: [] };
  window.__rwbench = log;
  const td = new TextDecoder();
  function decode(data) {
    let size = 0, msg = null;
    try {
      if (typeof data === "string") {
        size = new TextEncoder().encode(data).length;
        msg = JSON.parse(data);
      } else {
        const buf = data instanceof ArrayBuffer ? data : data.buffer;
        size = buf.byteLength;
        const dv = new DataView(buf);
        const n = Number(dv.getBigUint64(0, true));
        const offs = [];
        for (let i = 0; i < n; i++) offs.push(Number(dv.getBigUint64(8 * (i + 1), true)));
        const end = (i) => (i + 1 < n ? offs[i + 1] : size);
        const part = (i) => td.decode(new Uint8Array(buf, offs[i], end(i) - offs[i]));
        msg = { channel: part(0), header: JSON.parse(part(1)), content: JSON.parse(part(4)) };
      }
    } catch (e) { /* counted, kind unknown */ }
    const f = { t: Date.now(), size, kind: "?" };
    if (msg !== null && msg.header) {
      f.kind = msg.header.msg_type;
      f.id = msg.header.msg_id;
      const c = msg.content || {};
      if (f.kind === "stream") f.text = String(c.text || "").slice(0, 200);
      if (f.kind === "comm_msg" && c.data) {
        f.method = c.data.method;
        f.comm = c.comm_id;
        if (c.data.method === "custom" && c.data.content) {
          f.seq = c.data.content.seq;
          f.points = 0;
          for (const d of c.data.content.deltas || []) {
            if (d.kind === "loss") f.points += d.points.length;
          }
          f.deltas = (c.data.content.deltas || []).map((d) => d.kind).join(",");
        }
        if (c.data.method === "update" && c.data.state) {
          f.keys = Object.keys(c.data.state).join(",");
        }
      }
    }
    return f;
  }
  const Native = window.WebSocket;
  class Spy extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (String(url).includes("/channels")) {
        this.addEventListener("message", (e) => log.frames.push(decode(e.data)));
      }
    }
  }
  window.WebSocket = Spy;
  log.longtasks = [];
  try {
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) {
        log.longtasks.push({ t: performance.timeOrigin + e.startTime, d: e.duration });
      }
    }).observe({ type: "longtask", buffered: true });
  } catch (e) { /* no long task timing */ }
})();
"""

# The loss chart of the first widget: Date.now() and the point count of its line.
OBSERVE_LOSS = r"""
() => {
  const log = window.__rwbench;
  const chart = document.querySelector(".rw-root .rw-loss");
  const count = () => {
    const p = chart.querySelector("g.mark-line path");
    if (!p) return 0;
    const d = p.getAttribute("d") || "";
    let n = 0;
    for (let i = 0; i < d.length; i++) {
      const ch = d.charCodeAt(i);
      if (ch === 76 || ch === 77) n++;  // L, M
    }
    return n;
  };
  let last = -1;
  log.lossObserver = new MutationObserver(() => {
    const n = count();
    if (n !== last) { last = n; log.loss.push({ t: Date.now(), n }); }
  });
  const what = { childList: true, subtree: true, attributes: true, characterData: true };
  log.lossObserver.observe(chart, what);
}
"""

# Rows of the second widget's table: when the first row and all rows appeared.
OBSERVE_BIG = r"""
(want) => {
  const log = window.__rwbench;
  log.big = {};
  const nb = document.querySelector(".jp-Notebook");
  const obs = new MutationObserver(() => {
    const roots = document.querySelectorAll(".rw-root");
    if (roots.length < 2) return;
    const r = roots[1];
    if (log.big.root === undefined) log.big.root = Date.now();
    const n = r.querySelectorAll(".rw-iterations tr.rw-row").length;
    if (n > 0 && log.big.first === undefined) { log.big.first = Date.now(); log.big.firstN = n; }
    if (n >= want && log.big.rows === undefined) {
      log.big.rows = Date.now();
      requestAnimationFrame(() => { log.big.frame = Date.now(); });
      obs.disconnect();
    }
  });
  obs.observe(nb, { childList: true, subtree: true });
}
"""

# Rows of the widget `index`: when each iteration's row first showed, and when it
# read "completed" (Date.now(), in the MutationObserver's callback).
OBSERVE_ROWS = r"""
(index) => {
  const log = window.__rwbench;
  log.rows = {};
  const root = document.querySelectorAll(".rw-root")[index];
  const wrap = root.querySelector(".rw-table-wrap");
  const scan = () => {
    const t = Date.now();
    for (const tr of wrap.querySelectorAll("tr.rw-row")) {
      const e = (log.rows[tr.dataset.id] ??= {});
      if (e.seen === undefined) e.seen = t;
      const status = tr.cells[2] ? tr.cells[2].textContent : "";
      if (e.done === undefined && status === "completed") e.done = t;
    }
  };
  log.rowsObserver = new MutationObserver(scan);
  log.rowsObserver.observe(wrap, { childList: true, subtree: true, characterData: true });
}
"""

MODE_SWITCH = r"""
async (repeats) => {
  const root = document.querySelectorAll(".rw-root")[1];
  const sel = root.querySelector(".rw-mode select");
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const out = [];
  const seq = [];
  for (let i = 0; i < repeats; i++) seq.push("common", "confused");
  seq.push("all", "confused", "all", "confused");
  for (const mode of seq) {
    await frame();
    const before = root.querySelector(".rw-matrix");
    const t0 = performance.now();
    sel.value = mode;
    sel.dispatchEvent(new Event("change", { bubbles: true }));
    const t1 = performance.now();
    const after = root.querySelector(".rw-matrix");
    if (after) after.getBoundingClientRect();  // style + layout of the new table
    const tl = performance.now();
    await frame();
    const t2 = performance.now();
    out.push({ mode, sync: t1 - t0, layout: tl - t0, frame: t2 - t0, replaced: after !== before,
               headers: after ? after.querySelectorAll("thead th").length : 0 });
  }
  return out;
}
"""

# ------------------------------------------------------------------ the notebook

SETUP = """\
import json, threading, time
import runwatch as rw
import runwatch.views  # the chart stack, loaded before any loop
from IPython import get_ipython
from IPython.display import display
from runwatch.widget import RunDetails
from runwatch.widget._push import Pusher

# The kernel's side of every stage: (time.time(), event, info, thread name).
TRACE = []
def trace(event, info=None):
    TRACE.append((time.time(), event, info, threading.current_thread().name))
# Every iopub message: when a thread handed it to the iopub thread, and when that
# thread gave it to zmq (the page's frames carry the same msg_id).
_io = get_ipython().kernel.iopub_thread
def _msg_id(msg):
    try:
        i = next(k for k, part in enumerate(msg) if bytes(part) == b"<IDS|MSG>")
        return json.loads(bytes(msg[i + 2]))["msg_id"]
    except Exception:
        return None
_queue, _really = _io.send_multipart, _io._really_send
def _spy_queue(msg, *a, **k):
    trace("iopub queued", _msg_id(msg))
    return _queue(msg, *a, **k)
def _spy_really(msg, *a, **k):
    r = _really(msg, *a, **k)
    trace("iopub sent", _msg_id(msg))
    return r
_io.send_multipart, _io._really_send = _spy_queue, _spy_really
def _spy(cls, name):  # a method's start and end, with the run's name
    orig = getattr(cls, name, None)
    if orig is None:  # older code
        return
    def spy(self, *a, **k):
        run = getattr(getattr(self, "run", None), "name", None)
        trace(name + ">", run)
        try:
            return orig(self, *a, **k)
        finally:
            trace(name + "<", run)
    setattr(cls, name, spy)
for _name in ("beat", "poll", "flush_rows", "flush_details", "prime", "start"):
    _spy(Pusher, _name)
for _name in ("_after_cell", "_ipython_display_"):
    _spy(RunDetails, _name)

SEEN, SENT = [], []
_record = Pusher.record
def _spy_record(self, change):  # when the poller hands points to the widget
    SEEN.append((time.time(), len(change.points)))
    _record(self, change)
Pusher.record = _spy_record

run = rw.Run("latency", store="latency.db")
w = rw.RunDetails(run)
_send = w._pusher._send
def _spy_send(batch):  # when a batch leaves, and its JSON size
    t = time.time()
    _send(batch)
    pts = sum(len(d["points"]) for d in batch["deltas"] if d["kind"] == "loss")
    SENT.append((batch["seq"], t, pts, len(json.dumps(batch))))
w._pusher._send = _spy_send
def dump(name, **extra):
    with open(name, "w") as f:
        json.dump({"seen": SEEN, "sent": SENT, "trace": TRACE, **extra}, f)
w
"""

LATENCY = """\
it = run.iteration("live"); it.start()
LOG = []
print("LAT-START", flush=True)
t_next = time.time()
for k in range({n}):
    t_next += 0.05
    LOG.append(time.time())
    it.log_loss(1.0 / (k + 1), step=k)
    time.sleep(max(0.0, t_next - time.time()))
time.sleep(1.5)
print("LAT-END", flush=True)
dump("latency.json", log=LOG)
"""

HISTORY = """\
it.complete()
it2 = run.iteration("long"); it2.start()
for k in range({history}):
    it2.log_loss(1.0 / (k + 1), step=k)
time.sleep(4.0)
print("HISTORY-DONE", flush=True)
"""

BYTES = """\
LOG2 = []
print("{marker}-START", flush=True)
t_next = time.time()
for k in range({first}, {first} + {n}):
    t_next += {period}
    LOG2.append(time.time())
    it2.log_loss(1.0 / (k + 1), step=k)
    time.sleep(max(0.0, t_next - time.time()))
time.sleep(1.5)
print("{marker}-END", flush=True)
dump("{marker}.json", log=LOG2)
"""

# Per-iteration latency: a sweep of classifiers whose details are costly (classes
# with probabilities, two splits), each lasting about a second, one after another as
# a loop runs them. The kernel's time.time() before run.iteration() and before its end.
ITER_SETUP = """\
import numpy as np
rng = np.random.default_rng(1)
CLASSES = [f"class {{i:02d}}" for i in range({classes})]
def fake_model(n, skill):
    y = rng.integers(0, len(CLASSES), n)
    logits = rng.normal(0.0, 1.0, (n, len(CLASSES)))
    logits[np.arange(n), y] += skill
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.array(CLASSES, dtype=object)[y], p / p.sum(axis=1, keepdims=True)
runi = rw.Run("iterations", primary_metric="AUC_weighted", labels=CLASSES, store="iters.db")
wi = rw.RunDetails(runi{thumbnail})
SENT_I = []
_send_i = wi._pusher._send
def _spy_send_i(batch):  # when each batch left: its rows and details
    t = time.time()
    _send_i(batch)
    rows = [d["row"]["id"] for d in batch["deltas"] if d["kind"] == "iteration"]
    details = [d["detail"]["iteration"] for d in batch["deltas"] if d["kind"] == "detail"]
    SENT_I.append((batch["seq"], t, rows, details))
wi._pusher._send = _spy_send_i
_changed_i = runi._store.iteration_changed
def _spy_changed_i():  # an iteration created, started or ended: the beat is woken
    trace("wake", "iterations")
    _changed_i()
runi._store.iteration_changed = _spy_changed_i
wi
"""

ITER_LOOP = """\
MARKS = []
for i in range({iterations}):
    t0 = time.time()
    with runi.iteration(f"model-{{i:02d}}", params={{"skill": 1.0 + 0.1 * i}}) as it:
        for split in ("train", "validation"):
            y, p = fake_model({rows}, 1.0 + 0.1 * i)
            it.update(split, y, y_proba=p{attributes})
        for step in range(10):
            it.log_loss(1.0 / (step + 1), step=step)
            time.sleep({length} / 10)
        t1 = time.time()
    MARKS.append({{"id": str(it.id), "start": t0, "end": t1}})
time.sleep(3.0)
with open("iters.json", "w") as f:
    json.dump({{"marks": MARKS, "sent": SENT_I, "comm": wi.model_id, "trace": TRACE}}, f)
"""

# --attributes: the sweep's batches carry sample ids and two attributes (issue 14), and
# the widget has a thumbnail function, so every finished iteration's details carry the
# by-attribute tables, the attribute importance and the top losses.
ATTRIBUTES = (
    ", sample_ids=np.arange(len(y)) + 10**6 * i,"
    ' attributes={"brightness": rng.normal(size=len(y)),'
    ' "source": rng.choice(["web", "scan", "phone"], len(y))}'
)
THUMBNAIL = ", thumbnail=lambda i: np.zeros((32, 32), np.uint8)"

OPEN_BIG = 'big = rw.Run("big", store="big.db")\nlen(big.iteration_list())'

# Where the kernel's part of the first render goes (run after it).
PROFILE_BIG = """\
with open("trace_big.json", "w") as f:  # before this cell adds a second widget's
    json.dump(TRACE, f)
from runwatch.widget._payload import iteration_rows, run_info
from runwatch.widget._push import Pusher as _P
def _t(f):
    t = time.perf_counter(); f(); return (time.perf_counter() - t) * 1000
prof = {
    "static_html_ms": _t(w3._static_html),
    "repr_mimebundle_ms": _t(w3._repr_mimebundle_),
    "iteration_rows_ms": _t(lambda: iteration_rows(big)),
    "run_info_ms": _t(lambda: run_info(big, iteration_rows(big))),
    "new_pusher_ms": _t(lambda: _P(big, lambda b: None, lambda s: None)),
    "esm_bytes": len(w3._esm) if isinstance(w3._esm, (str, bytes)) else None,
}
import cProfile, io, pstats
_pr = cProfile.Profile()
_pr.enable()
_w4 = rw.RunDetails(big)  # a second widget on the big run, profiled: where the constructor goes
_pr.disable()
_w4.close()
_out = io.StringIO()
pstats.Stats(_pr, stream=_out).sort_stats("cumulative").print_stats(25)
prof["constructor_profile"] = _out.getvalue()
with open("profile.json", "w") as f:
    json.dump(prof, f)
"""

SHOW_BIG = """\
t_before = time.time()
w3 = rw.RunDetails(big)
t_built = time.time()
display(w3)
t_shown = time.time()
with open("big.json", "w") as f:
    json.dump({"before": t_before, "built": t_built, "shown": t_shown}, f)
"""


# ------------------------------------------------------------------ plumbing


def wait_cell(page, index: int, timeout_s: float) -> None:
    """Wait until cell `index` shows an execution count (it ended); fail on a traceback."""
    wait_cell_done(page, index, timeout=timeout_s * 1000)
    errors = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea-output")
    text = " ".join(errors.all_inner_texts())
    if "Traceback" in text or "Error" in text.split("\n")[0]:
        raise RuntimeError(f"cell {index} failed:\n{text[:3000]}")


def build_big(path: Path, iterations: int, classes: int, rows: int = 300) -> float:
    """A finished run of `iterations` classifiers over `classes` classes; seconds taken."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    labels = [f"class {i:03d}" for i in range(classes)]
    names = np.array(labels, dtype=object)
    run = Run("big", primary_metric="accuracy", labels=labels, store=str(path))
    for i in range(iterations):
        y = rng.integers(0, classes, rows)
        good = rng.random(rows) < rng.uniform(0.3, 0.95)
        pred = np.where(good, y, (y + rng.integers(1, 4, rows)) % classes)
        it = run.iteration(f"model-{i:04d}", params={"i": i})
        it.start()
        it.update("validation", names[y], y_pred=names[pred])
        it.complete()
    run.flush()
    return time.perf_counter() - t0


def page_rows() -> int:
    """Rows the iterations table draws before "Show all" (``PAGE_ROWS`` in js/table.ts)."""
    source = (Path(__file__).resolve().parents[1] / "js" / "table.ts").read_text()
    return int(re.search(r"export const PAGE_ROWS = (\d+);", source).group(1))


def pct(values: list[float], q: float) -> float:
    """The `q`th percentile (NaN when empty)."""
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def window(frames: list[dict], start: str, end: str) -> list[dict]:
    """The frames strictly between the stream frames whose text holds `start` and `end`."""
    i0 = next(i for i, f in enumerate(frames) if start in f.get("text", ""))
    i1 = next(i for i, f in enumerate(frames) if i > i0 and end in f.get("text", ""))
    return frames[i0 + 1 : i1]


def bytes_summary(frames: list[dict], points: int) -> dict:
    """Bytes of `frames` in all, per point and by kind (batches, snapshot updates, other)."""
    total = sum(f["size"] for f in frames)
    custom = [f for f in frames if f.get("method") == "custom"]
    updates = [f for f in frames if f.get("method") == "update"]
    snapshots = [f for f in updates if "_snapshot" in f.get("keys", "")]
    return {
        "points": points,
        "frames": len(frames),
        "bytes_total": total,
        "bytes_per_point": total / points,
        "custom_messages": len(custom),
        "custom_bytes_per_point": sum(f["size"] for f in custom) / points,
        "snapshot_updates": len(snapshots),
        "snapshot_bytes": [f["size"] for f in snapshots],
        "snapshot_bytes_per_point": sum(f["size"] for f in snapshots) / points,
        "other_bytes": total - sum(f["size"] for f in custom + snapshots),
    }


def latency(log: list[float], loss: list[dict], warmup: int) -> list[float]:
    """Per point: first page time the path had ≥ k+1 points − kernel time of the call (ms)."""
    out = []
    j = 0
    for k, t in enumerate(log):
        while j < len(loss) and loss[j]["n"] < k + 1:
            j += 1
        if j == len(loss):
            break
        if k >= warmup:
            out.append(loss[j]["t"] - t * 1000)
    return out


def per_iteration(
    marks: list[dict],
    rows: dict,
    long: list[float],
    sent: list,
    arrived: dict,
    trace: list | None = None,
    msg_ids: dict | None = None,
) -> dict:
    """Start -> row in the DOM and end -> "completed" in the DOM, per iteration (ms).

    Also the stages of the row's way: start -> the kernel sent the first batch
    with it, that batch -> its websocket frame in the page, the frame -> the DOM.
    With the kernel's ``trace`` and the page's message ids, the kernel's part
    is split further: start -> the beat that sent it began, that beat's poll
    (the writer's commit and the read), the rows read and sent, the iopub
    thread handing the message to zmq; and whether the detail lane was building
    while that beat ran.
    """
    trace = trace or []
    msg_ids = msg_ids or {}
    beats = [t * 1000 for t, ev, info, th in trace if ev == "beat>" and info == "iterations"]
    polled = [t * 1000 for t, ev, info, th in trace if ev == "poll<" and info == "iterations"]
    iopub = {info: t * 1000 for t, ev, info, th in trace if ev == "iopub sent"}
    building: list[tuple[float, float]] = []  # the detail lane's flush_details calls
    opened = None
    for t, ev, info, th in trace:
        if info == "iterations" and th == "runwatch-widget-details":
            if ev == "flush_details>":
                opened = t * 1000
            elif ev == "flush_details<" and opened is not None:
                building.append((opened, t * 1000))
                opened = None
    got = [(m, rows.get(m["id"], {})) for m in marks]
    start = [r["seen"] - m["start"] * 1000 for m, r in got if "seen" in r]
    end = [r["done"] - m["end"] * 1000 for m, r in got if "done" in r]
    names = (
        "start_to_sent",
        "sent_to_frame",
        "frame_to_dom",
        "start_to_beat",
        "beat_to_polled",
        "polled_to_sent",
        "sent_to_iopub",
        "iopub_to_frame",
    )
    stages: dict[str, list[float]] = {k: [] for k in names}
    overlapped = 0
    for m, r in got:
        first = next(((seq, t) for seq, t, ids, _ in sent if m["id"] in ids), None)
        if first is None or first[0] not in arrived or "seen" not in r:
            continue
        seq, t_sent = first
        t_sent *= 1000
        stages["start_to_sent"].append(t_sent - m["start"] * 1000)
        stages["sent_to_frame"].append(arrived[seq] - t_sent)
        stages["frame_to_dom"].append(r["seen"] - arrived[seq])
        beat = max((b for b in beats if b <= t_sent), default=None)
        if beat is not None and beat >= m["start"] * 1000 - 250:
            poll = next((p for p in polled if p >= beat), t_sent)
            stages["start_to_beat"].append(beat - m["start"] * 1000)
            stages["beat_to_polled"].append(poll - beat)
            stages["polled_to_sent"].append(t_sent - poll)
            if any(a < t_sent and b > beat for a, b in building):
                overlapped += 1
        out = iopub.get(msg_ids.get(seq))
        if out is not None:
            stages["sent_to_iopub"].append(out - t_sent)
            stages["iopub_to_frame"].append(arrived[seq] - out)

    def stats(values: list[float]) -> dict:
        return {
            "p50_ms": pct(values, 50),
            "p95_ms": pct(values, 95),
            "max_ms": max(values, default=float("nan")),
            "n": len(values),
            "each_ms": [round(v) for v in values],
        }

    return {
        "iterations": len(marks),
        "start_to_row": stats(start),
        "end_to_status": stats(end),
        "page_long_tasks": {"count": len(long), "max_ms": max(long, default=0.0)},
        "stages": {k: stats(v) for k, v in stages.items() if v},
        "beats_while_details_built": overlapped,
        "batches": {
            "rows": sum(1 for _, _, ids, det in sent if ids and not det),
            "details": sum(1 for _, _, ids, det in sent if det and not ids),
            "both": sum(1 for _, _, ids, det in sent if ids and det),
        },
    }


#: The messages of a widget's display: its model, the output, the summary's update.
RENDER_KINDS = ("comm_open", "comm_msg", "display_data", "update_display_data")


def render_timeline(
    before: float, big: dict, frames: list[dict], trace: list, long: list[dict]
) -> list[tuple[float, str]]:
    """The first render's events, in ms from the clock's start: kernel, iopub, page.

    Kernel: the big widget's pusher and hooks (from the notebook's trace),
    each iopub message when a thread queued it and when the iopub thread gave
    it to zmq; page: each websocket frame of the window, the view's root and
    rows in the DOM, and every long task that began in the window.
    """
    end = big["frame"] + 5
    events: list[tuple[float, str]] = []
    # Frames up to 300 ms after the figure: a summary update that came right after it.
    shown = {}
    for f in frames:
        if before - 50 <= f["t"] <= end + 300 and f["kind"] in RENDER_KINDS:
            shown[f.get("id")] = f
            what = f"{f['kind']} {f.get('method') or ''}".strip()
            events.append((f["t"], f"page: frame {what}, {f['size']:,} B {f.get('deltas') or ''}"))
    for t, ev, info, th in trace:
        t *= 1000
        if not before - 5 <= t <= end + 300:
            continue
        if ev.startswith("iopub"):
            f = shown.get(info)
            if f is not None:
                events.append((t, f"kernel: {ev} {f['kind']} {f.get('method') or ''}".strip()))
        elif info == "big" or ev.startswith("_"):
            events.append((t, f"kernel {th}: {ev}"))
    for name, key in (("view root", "root"), ("first rows", "first"), ("rows", "rows")):
        events.append((big[key], f"page: {name} in the DOM"))
    events.append((big["frame"], "page: next frame"))
    for x in long:
        if before - 300 <= x["t"] <= end:
            events.append((x["t"], f"page: long task of {x['d']:.0f} ms begins"))
    return [(round(t - before, 1), what) for t, what in sorted(events)]


def breakdown(
    log: list[float], seen: list, sent: list, frames: list[dict], loss: list[dict], warmup: int
) -> dict:
    """Median ms per stage for points k ≥ warmup: log → poller → sent → frame → DOM."""

    # Points are handed over in order: cumulative counts map point k to its stage times.
    def stage(times_counts: list[tuple[float, int]]) -> list[float]:
        out, total = [], 0
        for t, c in times_counts:
            out.extend([t] * c)
            total += c
        return out

    t_seen = stage([(t * 1000, c) for t, c in seen])
    t_sent = stage([(t * 1000, c) for _, t, c, _ in sent])
    t_frame = stage([(f["t"], f["points"]) for f in frames if f.get("method") == "custom"])
    t_dom = []
    j = 0
    for k in range(len(log)):
        while j < len(loss) and loss[j]["n"] < k + 1:
            j += 1
        t_dom.append(loss[j]["t"] if j < len(loss) else float("nan"))
    n = min(len(log), len(t_seen), len(t_sent), len(t_frame), len(t_dom))
    rows = range(warmup, n)

    def med(a: list[float], b: list[float]) -> float:
        return statistics.median(b[k] - a[k] for k in rows) if rows else float("nan")

    t_log = [t * 1000 for t in log]
    return {
        "log_to_poller_ms": med(t_log, t_seen),
        "poller_to_sent_ms": med(t_seen, t_sent),
        "sent_to_page_frame_ms": med(t_sent, t_frame),
        "frame_to_dom_ms": med(t_frame, t_dom),
        "points_matched": n,
    }


# ------------------------------------------------------------------ main


def main() -> int:
    """Run every measurement, print the table; 0 unless the lab or browser is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller run (~2 min)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure here")
    parser.add_argument("--points", type=int, help="points per timed loop (default 400; quick 100)")
    parser.add_argument("--history", type=int, default=10_000)
    parser.add_argument("--iterations", type=int, help="big run iterations (1000; quick 200)")
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument(
        "--slow-seconds", type=int, help="window at 1 point/s after the history (60; quick 20)"
    )
    parser.add_argument("--fast-seconds", type=int, default=10, help="window at 50 points/s")
    parser.add_argument(
        "--sweep", type=int, help="iterations of the per-iteration latency loop (20; quick 8)"
    )
    parser.add_argument("--sweep-classes", type=int, default=12)
    parser.add_argument("--keep", action="store_true", help="keep the lab folder (printed)")
    parser.add_argument(
        "--attributes",
        action="store_true",
        help="the sweep logs sample ids and attributes; the widget has a thumbnail function",
    )
    parser.add_argument(
        "--page-profile",
        metavar="PATH",
        help="save the page's CPU profile of the first render (Chrome DevTools .cpuprofile JSON)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="print where a RunDetails constructor goes"
    )
    args = parser.parse_args()
    n_points = args.points or (100 if args.quick else 400)
    n_iter = args.iterations or (200 if args.quick else 1000)
    history = args.history
    warmup = 20  # the first second: the chart is created
    slow_n = args.slow_seconds or (20 if args.quick else 60)
    fast_n = 50 * args.fast_seconds
    sweep = args.sweep or (8 if args.quick else 20)

    if not os.path.exists(CHROMIUM):
        print(f"{CHROMIUM} missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="bench-widget-"))
    t_build = build_big(root / "big.db", n_iter, args.classes)
    print(f"built the big run: {n_iter} iterations x {args.classes} classes in {t_build:.1f} s")
    write_notebook(
        root / "bench.ipynb",
        [
            SETUP,
            LATENCY.format(n=n_points),
            HISTORY.format(history=history),
            BYTES.format(marker="B20", first=history, n=n_points, period=0.05),
            BYTES.format(marker="B1", first=history + n_points, n=slow_n, period=1.0),
            BYTES.format(marker="B50", first=history + n_points + slow_n, n=fast_n, period=0.02),
            "it2.complete()",
            OPEN_BIG,
            SHOW_BIG,
            PROFILE_BIG,
            "w3._pusher.stop()",
            ITER_SETUP.format(
                classes=args.sweep_classes, thumbnail=THUMBNAIL if args.attributes else ""
            ),
            ITER_LOOP.format(
                iterations=sweep,
                rows=2000,
                length=1.0,
                attributes=ATTRIBUTES if args.attributes else "",
            ),
        ],
    )

    from playwright.sync_api import sync_playwright

    results: dict = {
        "config": {
            "points": n_points,
            "history": history,
            "iterations": n_iter,
            "classes": args.classes,
            "rate_per_s": 20,
            "warmup_points": warmup,
            "slow_points": slow_n,
            "fast_points": fast_n,
            "sweep_iterations": sweep,
            "sweep_classes": args.sweep_classes,
            "attributes": args.attributes,
        },
        "load_before": os.getloadavg(),
    }
    try:
        with start_jupyter("lab", root) as server, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 2200})
            page.add_init_script(INIT_SCRIPT)
            page.goto(server.notebook_url("bench.ipynb"))
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.wait_for_timeout(500)
            accept = page.locator(".jp-Dialog .jp-mod-accept")
            if accept.count():
                accept.first.click()
            page.locator(".jp-StatusBar-Widget", has_text="Idle").first.wait_for(timeout=60_000)

            # 0: the widget on an empty run (loads the module).
            run_cell(page, 0)
            page.locator(".rw-root .rw-loss").first.wait_for(state="attached", timeout=90_000)
            wait_cell(page, 0, 60)
            page.evaluate(OBSERVE_LOSS)

            # 1: 20 points a second into a fresh iteration.
            run_cell(page, 1)
            wait_cell(page, 1, n_points / 20 + 60)
            page.evaluate("() => window.__rwbench.lossObserver.disconnect()")
            bench = page.evaluate("() => window.__rwbench")
            lat = json.loads((root / "latency.json").read_text())
            ms = latency(lat["log"], bench["loss"], warmup)
            frames = bench["frames"]
            lat_frames = window(frames, "LAT-START", "LAT-END")
            results["latency"] = {
                "p50_ms": pct(ms, 50),
                "p95_ms": pct(ms, 95),
                "max_ms": max(ms),
                "points": len(ms),
                "logged": len(lat["log"]),
                "page_points": bench["loss"][-1]["n"] if bench["loss"] else 0,
                "breakdown": breakdown(
                    lat["log"], lat["seen"], lat["sent"], lat_frames, bench["loss"], warmup
                ),
                "batches": len([f for f in lat_frames if f.get("method") == "custom"]),
            }
            results["bytes_empty_history"] = bytes_summary(lat_frames, n_points)

            # 2-6: `history` points, then 20, 1 and 50 a second again.
            run_cell(page, 2)
            wait_cell(page, 2, 180)
            for cell, marker, n in ((3, "B20", n_points), (4, "B1", slow_n), (5, "B50", fast_n)):
                run_cell(page, cell)
                wait_cell(page, cell, n / 20 + slow_n + 60)
                frames = window(
                    page.evaluate("() => window.__rwbench.frames"),
                    f"{marker}-START",
                    f"{marker}-END",
                )
                b = bytes_summary(frames, n)
                kernel_sent = json.loads((root / f"{marker}.json").read_text())["sent"]
                seqs = {f["seq"] for f in frames if f.get("method") == "custom"}
                b["kernel_batch_json_bytes_per_point"] = (
                    sum(x[3] for x in kernel_sent if x[0] in seqs) / n
                )
                results[f"bytes_after_history_{marker[1:]}_per_s"] = b
            results["bytes_after_history"] = results["bytes_after_history_20_per_s"]
            run_cell(page, 6)
            wait_cell(page, 6, 60)

            # 4, 5: first render of the big run.
            run_cell(page, 7)
            wait_cell(page, 7, 120)
            page.evaluate(OBSERVE_BIG, min(n_iter, page_rows()))
            cdp = None
            if args.page_profile:  # the page's CPU profile of the first render (DevTools)
                cdp = page.context.new_cdp_session(page)
                cdp.send("Profiler.enable")
                cdp.send("Profiler.setSamplingInterval", {"interval": 200})
                cdp.send("Profiler.start")
            run_cell(page, 8)
            page.wait_for_function(
                "() => window.__rwbench.big.frame !== undefined", timeout=180_000
            )
            wait_cell(page, 8, 120)
            if cdp is not None:
                profile = cdp.send("Profiler.stop")["profile"]
                Path(args.page_profile).write_text(json.dumps(profile))
                cdp.detach()
            big = page.evaluate("() => window.__rwbench.big")
            marks = json.loads((root / "big.json").read_text())
            before = marks["before"] * 1000
            results["first_render"] = {
                "before_to_rows_ms": big["rows"] - before,
                "before_to_frame_ms": big["frame"] - before,
                "constructor_ms": (marks["built"] - marks["before"]) * 1000,
                "display_call_ms": (marks["shown"] - marks["built"]) * 1000,
                "before_to_view_ms": big["root"] - before,
                "before_to_first_rows_ms": big["first"] - before,
                "first_rows": big["firstN"],
            }
            big_frames = [
                f
                for f in page.evaluate("() => window.__rwbench.frames")
                if f["t"] >= before - 50 and f["t"] <= big["rows"] + 5
            ]
            results["first_render"]["frames_until_rows"] = [
                {
                    "dt_ms": f["t"] - before,
                    "size": f["size"],
                    "kind": f["kind"],
                    "method": f.get("method"),
                    "deltas": (f.get("deltas") or "")[:60],
                }
                for f in big_frames
                if f["kind"] in ("comm_open", "comm_msg", "display_data")
            ]

            # Matrix mode switch: the big run's first iteration (its details come first;
            # the kernel sends the iterations' details a few at a time).
            page.locator(".rw-root").nth(1).locator(".rw-iterations tr.rw-row").first.click()
            try:
                page.wait_for_function(
                    "() => document.querySelectorAll('.rw-root')[1]?.querySelector('.rw-matrix')",
                    timeout=120_000,
                )
            except Exception:
                page.screenshot(path=str(root / "failure.png"), full_page=True)
                diag = page.evaluate(
                    "(t) => ({now: Date.now() - t, frames: window.__rwbench.frames"
                    ".filter((f) => f.t >= t).map((f) => [f.t - t, f.size, f.deltas || f.kind]),"
                    " long: window.__rwbench.longtasks.filter((x) => x.t >= t)"
                    ".map((x) => [Math.round(x.t - t), Math.round(x.d)])})",
                    before,
                )
                (root / "failure.json").write_text(json.dumps(diag))
                print(f"matrix never showed; diagnostics in {root}", file=sys.stderr)
                args.keep = True
                raise
            repeats = 5 if args.quick else 15
            busy = page.evaluate(MODE_SWITCH, repeats)  # details still streaming in
            run_cell(page, 9)
            wait_cell(page, 9, 120)
            results["first_render"]["timeline"] = render_timeline(
                before,
                big,
                page.evaluate("() => window.__rwbench.frames"),
                json.loads((root / "trace_big.json").read_text()),
                page.evaluate("() => window.__rwbench.longtasks"),
            )
            run_cell(page, 10)  # stop the pusher: the page alone
            wait_cell(page, 10, 60)
            page.wait_for_timeout(1000)
            switches = page.evaluate(MODE_SWITCH, repeats)
            details = page.evaluate(
                "(t) => window.__rwbench.frames.filter((f) => f.t >= t && f.deltas)"
                ".map((f) => f.deltas.split(',').filter((d) => d === 'detail').length)"
                ".reduce((a, b) => a + b, 0)",
                before,
            )
            results["first_render"]["details_received"] = details
            long = page.evaluate(
                "(t) => window.__rwbench.longtasks.filter((x) => x.t >= t).map((x) => x.d)",
                before,
            )
            results["first_render"]["page_long_tasks"] = {
                "count": len(long),
                "total_ms": sum(long),
                "max_ms": max(long, default=0.0),
            }
            results["first_render"]["seconds_since_display"] = time.time() - before / 1000
            results["first_render"]["kernel_profile"] = json.loads(
                (root / "profile.json").read_text()
            )
            top = [s for s in switches if s["mode"] != "all" and s["replaced"]]
            every = [s for s in switches if s["mode"] == "all"]
            results["mode_switch"] = {
                "top7_layout_ms_median": statistics.median(s["layout"] for s in top),
                "top7_layout_ms_max": max(s["layout"] for s in top),
                "all_layout_ms_median": statistics.median(s["layout"] for s in every),
                "top7_sync_ms_median": statistics.median(s["sync"] for s in top),
                "top7_sync_ms_max": max(s["sync"] for s in top),
                "top7_frame_ms_median": statistics.median(s["frame"] for s in top),
                "top7_frame_ms_max": max(s["frame"] for s in top),
                "all_sync_ms_median": statistics.median(s["sync"] for s in every),
                "all_frame_ms_median": statistics.median(s["frame"] for s in every),
                "all_headers": every[0]["headers"] if every else 0,
                "busy_layout_ms_median": statistics.median(
                    s["layout"] for s in busy if s["mode"] != "all"
                ),
                "busy_layout_ms_max": max(s["layout"] for s in busy if s["mode"] != "all"),
                "switches": switches,
                "busy_switches": busy,
            }

            # 11, 12: per-iteration latency on a sweep with costly details.
            run_cell(page, 11)
            wait_cell(page, 11, 60)
            page.wait_for_function(
                "() => document.querySelectorAll('.rw-root').length >= 3", timeout=60_000
            )
            page.locator(".rw-root").nth(2).scroll_into_view_if_needed()
            page.evaluate(OBSERVE_ROWS, 2)
            t_sweep = time.time() * 1000
            run_cell(page, 12)
            wait_cell(page, 12, sweep * 10 + 60)
            sweep_log = json.loads((root / "iters.json").read_text())
            rows_seen = page.evaluate("() => window.__rwbench.rows")
            long = page.evaluate(
                "(t) => window.__rwbench.longtasks.filter((x) => x.t >= t).map((x) => x.d)",
                t_sweep,
            )
            arrived = {
                f["seq"]: f["t"]
                for f in page.evaluate("() => window.__rwbench.frames")
                if f.get("comm") == sweep_log["comm"] and f.get("method") == "custom"
            }
            msg_ids = {
                f["seq"]: f.get("id")
                for f in page.evaluate("() => window.__rwbench.frames")
                if f.get("comm") == sweep_log["comm"] and f.get("method") == "custom"
            }
            results["iterations"] = per_iteration(
                sweep_log["marks"],
                rows_seen,
                long,
                sweep_log["sent"],
                arrived,
                sweep_log.get("trace"),
                msg_ids,
            )
            page.locator(".rw-root").nth(2).screenshot(path=str(root / "sweep.png"))
            page.screenshot(path=str(root / "bench.png"), full_page=True)
            browser.close()
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"lab folder kept: {root}")

    results["load_after"] = os.getloadavg()
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def report(r: dict) -> None:
    """Print the figures against their targets, then the details."""
    c = r["config"]
    lat, b0, b1 = r["latency"], r["bytes_empty_history"], r["bytes_after_history"]
    fr, ms = r["first_render"], r["mode_switch"]

    def verdict(value: float, target: float) -> str:
        return "PASS" if value <= target else f"FAIL ({value / target:.1f}x)"

    rows = [
        ("log -> DOM latency p50 (ms)", f"{lat['p50_ms']:.0f}", "", ""),
        (
            "log -> DOM latency p95 (ms)",
            f"{lat['p95_ms']:.0f}",
            "<= 250",
            verdict(lat["p95_ms"], TARGETS["latency_p95_ms"]),
        ),
        ("bytes / point, empty history", f"{b0['bytes_per_point']:.0f}", "", ""),
        (
            f"bytes / point after {c['history']:,} points, 20 points/s",
            f"{b1['bytes_per_point']:.0f}",
            "<= 2048",
            verdict(b1["bytes_per_point"], TARGETS["bytes_per_point_after_history"]),
        ),
        (
            f"bytes / point after {c['history']:,} points, 1 point/s",
            f"{r['bytes_after_history_1_per_s']['bytes_per_point']:.0f}",
            "<= 2048",
            verdict(
                r["bytes_after_history_1_per_s"]["bytes_per_point"],
                TARGETS["bytes_per_point_after_history"],
            ),
        ),
        (
            f"bytes / point after {c['history']:,} points, 50 points/s",
            f"{r['bytes_after_history_50_per_s']['bytes_per_point']:.0f}",
            "<= 2048",
            verdict(
                r["bytes_after_history_50_per_s"]["bytes_per_point"],
                TARGETS["bytes_per_point_after_history"],
            ),
        ),
        (
            "iteration start -> row in DOM p50 / p95 / max (ms)",
            "{p50_ms:.0f} / {p95_ms:.0f} / {max_ms:.0f}".format(**r["iterations"]["start_to_row"]),
            "p95 <= 250",
            verdict(r["iterations"]["start_to_row"]["p95_ms"], TARGETS["latency_p95_ms"]),
        ),
        (
            "iteration end -> status in DOM p50 / p95 / max (ms)",
            "{p50_ms:.0f} / {p95_ms:.0f} / {max_ms:.0f}".format(**r["iterations"]["end_to_status"]),
            "p95 <= 250",
            verdict(r["iterations"]["end_to_status"]["p95_ms"], TARGETS["latency_p95_ms"]),
        ),
        (
            f"first render, {c['iterations']} it x {c['classes']} cl (ms)",
            f"{fr['before_to_rows_ms']:.0f}",
            "<= 200",
            verdict(fr["before_to_rows_ms"], TARGETS["first_render_ms"]),
        ),
        (
            "matrix mode switch, top 7 (ms, median)",
            f"{ms['top7_layout_ms_median']:.1f}",
            "<= 50",
            verdict(ms["top7_layout_ms_median"], TARGETS["mode_switch_ms"]),
        ),
        (
            "matrix mode switch, top 7 (ms, worst)",
            f"{ms['top7_layout_ms_max']:.1f}",
            "<= 50",
            verdict(ms["top7_layout_ms_max"], TARGETS["mode_switch_ms"]),
        ),
        (
            f"matrix mode switch, all {c['classes']} classes (ms)",
            f"{ms['all_layout_ms_median']:.1f}",
            "",
            "",
        ),
    ]
    print()
    print(
        f"RunDetails in JupyterLab + headless Chromium; {c['points']} points at 20/s, "
        f"first {c['warmup_points']} not timed"
    )
    w = max(len(x[0]) for x in rows)
    print(f"{'figure'.ljust(w)}  {'value':>15}  {'target':>10}  verdict")
    for name, value, target, v in rows:
        print(f"{name.ljust(w)}  {value:>15}  {target:>10}  {v}")
    lb, la = r["load_before"], r["load_after"]
    print(
        f"load average (1, 5, 15 min): before {lb[0]:.2f} {lb[1]:.2f} {lb[2]:.2f}, "
        f"after {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}"
    )
    it = r["iterations"]
    print(
        f"per iteration ({it['iterations']} iterations, {c['sweep_classes']} classes with "
        f"probabilities, train + validation): start -> row {it['start_to_row']['each_ms']} ms; "
        f"end -> completed {it['end_to_status']['each_ms']} ms; page long tasks "
        f"{it['page_long_tasks']['count']} (longest {it['page_long_tasks']['max_ms']:.0f} ms)"
    )
    st = it["stages"]
    print(
        "  row's way, median / max: "
        + ", ".join(
            f"{k.replace('_', ' ')} {v['p50_ms']:.0f} / {v['max_ms']:.0f} ms" for k, v in st.items()
        )
        + f"; batches with rows {it['batches']['rows']}, with details {it['batches']['details']},"
        f" with both {it['batches']['both']}; beats that sent a new row while the detail lane"
        f" was building: {it['beats_while_details_built']}"
    )
    bd = lat["breakdown"]
    print()
    print(
        f"latency: {lat['points']} points timed of {lat['logged']} logged "
        f"(page drew {lat['page_points']}), {lat['batches']} batches; max {lat['max_ms']:.0f} ms"
    )
    print(
        f"  median stages: log -> poller {bd['log_to_poller_ms']:.0f} ms, "
        f"poller -> sent {bd['poller_to_sent_ms']:.0f} ms, "
        f"sent -> page frame {bd['sent_to_page_frame_ms']:.0f} ms, "
        f"frame -> DOM {bd['frame_to_dom_ms']:.0f} ms"
    )
    named = [("empty history, 20/s", b0)] + [
        (f"after {c['history']:,}, {rate}/s", r[f"bytes_after_history_{rate}_per_s"])
        for rate in (1, 20, 50)
    ]
    for name, b in named:
        print(
            f"bytes, {name}: {b['frames']} frames, {b['bytes_total']:,} B for {b['points']} "
            f"points; batches {b['custom_messages']} ({b['custom_bytes_per_point']:.0f} B/pt), "
            f"_snapshot updates {b['snapshot_updates']} {b['snapshot_bytes']} "
            f"({b['snapshot_bytes_per_point']:.0f} B/pt), other {b['other_bytes']:,} B"
        )
    print(
        f"  kernel-side batch JSON after history: "
        f"{b1['kernel_batch_json_bytes_per_point']:.0f} B/pt"
    )
    print(
        f"first render: RunDetails() {fr['constructor_ms']:.0f} ms, display() "
        f"{fr['display_call_ms']:.0f} ms, view in page at {fr['before_to_view_ms']:.0f} ms, "
        f"first rows ({fr['first_rows']}) at {fr['before_to_first_rows_ms']:.0f} ms, all rows at "
        f"{fr['before_to_rows_ms']:.0f} ms, next frame at {fr['before_to_frame_ms']:.0f} ms"
    )
    for dt, what in fr.get("timeline", []):
        print(f"  {dt:+8.1f} ms  {what}")
    print(
        f"  details received {fr['details_received']} of {c['iterations']} iterations after "
        f"{fr['seconds_since_display']:.0f} s"
    )
    lt = fr["page_long_tasks"]
    print(
        f"  page main thread since display: {lt['count']} long tasks (> 50 ms), "
        f"{lt['total_ms']:.0f} ms in all, longest {lt['max_ms']:.0f} ms"
    )
    kp = fr["kernel_profile"]
    print(
        "  kernel, timed again after: "
        + ", ".join(f"{k} {v:.0f}" for k, v in kp.items() if isinstance(v, (int, float)))
    )
    if "--profile" in sys.argv and kp.get("constructor_profile"):
        print("  a second RunDetails(big), profiled in the kernel:")
        print(kp["constructor_profile"])
    print(
        f"mode switch: top-7 sync median {ms['top7_sync_ms_median']:.1f} ms "
        f"(max {ms['top7_sync_ms_max']:.1f}); to next frame median "
        f"{ms['top7_frame_ms_median']:.1f} ms; 'all' ({ms['all_headers']} header cells) sync "
        f"{ms['all_sync_ms_median']:.1f} ms, to next frame {ms['all_frame_ms_median']:.1f} ms"
        f" (figures in the table: sync + forced style/layout of the new table, pusher"
        f" stopped); while details still stream in: median {ms['busy_layout_ms_median']:.1f}"
        f" ms, worst {ms['busy_layout_ms_max']:.1f} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
