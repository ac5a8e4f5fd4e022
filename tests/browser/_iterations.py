"""A sweep whose details are costly, and what the page saw of it: shared by both browser suites.

Twelve classes with probabilities on two splits make each finished
iteration's details take a few hundred milliseconds to build, and the page
hundreds more to compile their charts. The page spy (installed before the
front end loads) records every batch the kernel sends and when each row of
the table first appeared, so a test can check that rows travel in batches of
their own, never behind details, and print per-iteration latencies. The
figures themselves belong in benchmarks/bench_widget.py: this machine is
shared, so the tests assert the order of things, not their timing.
"""

from __future__ import annotations

import statistics
from typing import Any

from ._page import run_cell, wait_cell_done

#: Iterations of the sweep; each lasts about 0.6 s.
ITERATIONS = 8

SETUP = """\
import json, time
import numpy as np
import runwatch as rw
rng = np.random.default_rng(1)
CLASSES = [f"class {i:02d}" for i in range(12)]
def fake_model(n, skill):
    y = rng.integers(0, len(CLASSES), n)
    logits = rng.normal(0.0, 1.0, (n, len(CLASSES)))
    logits[np.arange(n), y] += skill
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.array(CLASSES, dtype=object)[y], p / p.sum(axis=1, keepdims=True)
run = rw.Run("costly", primary_metric="AUC_weighted", labels=CLASSES, store="costly.db")
w = rw.RunDetails(run)
w
"""

LOOP = f"""\
MARKS = []
for i in range({ITERATIONS}):
    t0 = time.time()
    with run.iteration(f"model-{{i}}") as it:
        for split in ("train", "validation"):
            y, p = fake_model(2000, 1.0 + 0.2 * i)
            it.update(split, y, y_proba=p)
        for step in range(6):
            it.log_loss(1.0 / (step + 1), step=step)
            time.sleep(0.1)
        t1 = time.time()
    MARKS.append({{"id": str(it.id), "start": t0, "end": t1}})
time.sleep(2.0)
print("MARKS", json.dumps(MARKS))
"""

#: Before the page loads: every custom message on a kernel websocket (arrival time,
#: the kinds of its deltas, the ids of its rows and details).
SPY = r"""
(() => {
  const log = { batches: [], rows: {} };
  window.__rwlanes = log;
  const td = new TextDecoder();
  function content(data) {
    try {
      if (typeof data === "string") return JSON.parse(data);
      const buf = data instanceof ArrayBuffer ? data : data.buffer;
      const dv = new DataView(buf);
      const n = Number(dv.getBigUint64(0, true));
      const offs = [];
      for (let i = 0; i < n; i++) offs.push(Number(dv.getBigUint64(8 * (i + 1), true)));
      const end = (i) => (i + 1 < n ? offs[i + 1] : buf.byteLength);
      const part = (i) => td.decode(new Uint8Array(buf, offs[i], end(i) - offs[i]));
      return { header: JSON.parse(part(1)), content: JSON.parse(part(4)) };
    } catch (e) {
      return null;
    }
  }
  const Native = window.WebSocket;
  class Spy extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (!String(url).includes("/channels")) return;
      this.addEventListener("message", (e) => {
        const msg = content(e.data);
        const data = msg?.content?.data;
        if (msg?.header?.msg_type !== "comm_msg" || data?.method !== "custom") return;
        const deltas = data.content?.deltas ?? [];
        log.batches.push({
          t: Date.now(),
          seq: data.content.seq,
          kinds: deltas.map((d) => d.kind),
          rows: deltas.filter((d) => d.kind === "iteration").map((d) => [d.row.id, d.row.status]),
          details: deltas.filter((d) => d.kind === "detail").map((d) => d.detail.iteration),
        });
      });
    }
  }
  window.WebSocket = Spy;
})();
"""

#: When each row of the first widget's table first showed (Date.now()).
OBSERVE_ROWS = r"""
() => {
  const log = window.__rwlanes;
  const wrap = document.querySelector(".rw-root .rw-table-wrap");
  new MutationObserver(() => {
    const t = Date.now();
    for (const tr of wrap.querySelectorAll("tr.rw-row")) log.rows[tr.dataset.id] ??= t;
  }).observe(wrap, { childList: true, subtree: true });
}
"""


def run_sweep(page: Any) -> tuple[list[dict], dict]:
    """Run the two cells (the widget, then the loop) in an open notebook; (marks, page log)."""
    import json

    run_cell(page, 0)
    page.locator(".rw-root .rw-table-wrap").wait_for(timeout=90_000)
    wait_cell_done(page, 0)
    page.evaluate(OBSERVE_ROWS)
    run_cell(page, 1)
    wait_cell_done(page, 1, timeout=120_000)
    out = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea-output")
    text = " ".join(out.all_inner_texts())
    marks = json.loads(text.split("MARKS", 1)[1].strip().splitlines()[0])
    return marks, page.evaluate("() => window.__rwlanes")


def check_rows_never_wait_for_details(marks: list[dict], log: dict) -> str:
    """Assert the order; return the per-iteration latencies as one line for the test output."""
    batches = log["batches"]
    assert len(marks) == ITERATIONS
    # Every finished iteration's details reached the page, each in a batch without
    # rows: a new row or a status never waited for a detail to be built.
    detailed = {i for b in batches for i in b["details"]}
    assert {m["id"] for m in marks} <= detailed, (sorted(detailed), marks)
    for b in batches:
        if b["details"]:
            assert not {"iteration", "run"} & set(b["kinds"]), b
    # Each iteration's "completed" row came in a batch numbered before the one
    # with its final details.
    seq_of = {}
    for b in batches:
        for rid, status in b["rows"]:
            if status == "completed":
                seq_of.setdefault(rid, b["seq"])
    for m in marks:
        detail_seqs = [b["seq"] for b in batches if m["id"] in b["details"]]
        assert seq_of[m["id"]] < max(detail_seqs), (m, seq_of, detail_seqs)
    rows = log["rows"]
    assert {m["id"] for m in marks} <= set(rows), rows
    ms = sorted(rows[m["id"]] - m["start"] * 1000 for m in marks)
    return (
        f"start -> row in the DOM, {len(ms)} iterations: median {statistics.median(ms):.0f} ms, "
        f"max {ms[-1]:.0f} ms (each {[round(x) for x in ms]})"
    )
