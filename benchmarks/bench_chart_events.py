"""What a person's gesture on the charts costs: hover, legend pick, smoothing, log axis (a script).

Builds a run in a temporary store (``--classes`` classes, the most the
widget draws, and ``--history`` train loss points plus a tenth as many
validation points), writes the widget's self-contained page
(``RunDetails.save_html``: the same bundle and specs as in a notebook, no
server) and opens it in Debian's Chromium through Playwright. Per event,
in the page: ``performance.now()`` just before the event is dispatched on
the element, and the time of the first DOM mutation after which the chart
shows the result (a MutationObserver checks after every mutation), then the
next animation frame after it. Events:

1. **hover**: a ``pointerover`` on a hover point of the ROC chart, two
   lines in turn; done when the hovered line alone is drawn thicker.
2. **legend pick**: a ``click`` on a legend label of the ROC chart, two
   classes in turn; done when that class's line alone is.
3. **smoothing**: the loss slider set to a new weight (its ``input`` event),
   alternating 0.6 / 0.9; done when the smoothed train line changed.
4. **log axis**: the toggle, on and off; done when the chart was drawn anew
   with the axis asked for (its ticks), data included.

Prints p50, p95 and max per event, in milliseconds, with the load average.

Run: ``.venv/bin/python benchmarks/bench_chart_events.py [--events 40] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

# Installed in the page: run `action`, resolve with [ms to done, ms to the frame after].
MEASURE = """
window.__measure = (observed, action, done) => new Promise((resolve, reject) => {
  const root = document.querySelector(observed);
  const t0 = performance.now();
  const fail = () => { obs.disconnect(); reject(new Error('not done in 10 s')); };
  const timer = setTimeout(fail, 10000);
  const obs = new MutationObserver(() => {
    if (!done()) return;
    obs.disconnect();
    clearTimeout(timer);
    const t1 = performance.now();
    requestAnimationFrame(() => resolve([t1 - t0, performance.now() - t0]));
  });
  obs.observe(root, { attributes: true, childList: true, subtree: true, characterData: true });
  action();
});
window.__thick = () => [...document.querySelectorAll('.rw-chart-roc g.mark-line path')]
  .filter((p) => Number(p.getAttribute('stroke-width')) === 3.5)
  .map((p) => p.getAttribute('stroke'));
window.__colour = (name) => {
  const chart = document.querySelector('.rw-chart-roc');
  const names = [...chart.querySelectorAll('.role-legend-label text')].map((t) => t.textContent);
  const symbols = [...chart.querySelectorAll('.role-legend-symbol path')];
  return symbols[names.indexOf(name)].getAttribute('stroke');
};
window.__smoothedPath = () =>
  document.querySelector('.rw-loss g.mark-line.layer_1_marks path')?.getAttribute('d');
window.__ticks = () =>
  [...document.querySelectorAll('.rw-loss .role-axis-label text')].map((t) => t.textContent);
"""


def build_page(folder: Path, classes: int, history: int) -> Path:
    """The widget's static page on a run with `classes` classes and `history` loss points."""
    import runwatch as rw

    rng = np.random.default_rng(0)
    labels = [f"class {i:02d}" for i in range(classes)]
    run = rw.Run("events", labels=labels, store=str(folder / "runs.db"))
    n = 3000
    y = rng.integers(0, classes, n)
    logits = (
        rng.normal(size=(n, classes)) + rng.uniform(0.3, 3, classes)[y, None] * np.eye(classes)[y]
    )
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    with run.iteration("model") as it:
        it.update("validation", np.asarray(labels, dtype=object)[y], y_proba=proba)
        for s in range(history):
            it.log_loss(2 * np.exp(-s / (history / 10)) + 0.02 + 0.05 * rng.random(), step=s)
            if s % 10 == 0:
                v = 2 * np.exp(-s / (history / 9)) + 0.08 + 0.03 * rng.random()
                it.log_loss(v, split="validation", step=s)
    run.flush()
    page = folder / "events.html"
    rw.RunDetails(run, live=False).save_html(str(page))
    return page


def summary(ms: list[float]) -> dict[str, float]:
    """p50, p95 and max of `ms`."""
    q = statistics.quantiles(ms, n=20, method="inclusive") if len(ms) > 1 else ms * 19
    return {"p50": statistics.median(ms), "p95": q[18], "max": max(ms), "n": len(ms)}


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40, help="events of each kind")
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--history", type=int, default=10_000)
    parser.add_argument("--json", metavar="PATH", help="also write every figure here")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        page_file = build_page(Path(tmp), args.classes, args.history)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 2400})
                page.goto(page_file.as_uri())
                page.wait_for_selector(".rw-chart-roc g.mark-line path", timeout=60_000)
                page.wait_for_selector(".rw-loss g.mark-line.layer_1_marks path", timeout=60_000)
                page.wait_for_timeout(1000)
                page.evaluate(MEASURE)
                figures = measure(page, args.events)
            finally:
                browser.close()
    load = os.getloadavg()[0]
    print(f"{args.classes} classes, {args.history:,} train loss points; load {load:.1f}")
    header = f"{'event':<14} {'p50':>8} {'p95':>8} {'max':>8}"
    print(f"{header}   ms to the chart changed; to the next frame")
    for name, (done, frame) in figures.items():
        d, f = summary(done), summary(frame)
        print(
            f"{name:<14} {d['p50']:8.1f} {d['p95']:8.1f} {d['max']:8.1f}"
            f"   frame {f['p50']:.1f} / {f['p95']:.1f} / {f['max']:.1f}  (n={d['n']})"
        )
    if args.json:
        out = {k: {"done": summary(d), "frame": summary(f)} for k, (d, f) in figures.items()}
        Path(args.json).write_text(json.dumps({"load": load, **out}, indent=2))


def measure(page, events: int) -> dict[str, tuple[list[float], list[float]]]:
    """Per kind of event: ms to done and ms to the frame after, one entry per event."""
    out: dict[str, tuple[list[float], list[float]]] = {}

    def run(name: str, observed: str, action: str, done: str, arg=None) -> None:
        d, f = page.evaluate(
            f"(arg) => window.__measure({observed!r}, () => {{ {action} }}, () => {done})", arg
        )
        out.setdefault(name, ([], []))
        out[name][0].append(d)
        out[name][1].append(f)

    # Hover: the middle hover point of two lines in turn, as the browser fires it.
    hover = """
      const pts = [...document.querySelectorAll('.rw-chart-roc g.mark-symbol path')]
        .filter((p) => (p.getAttribute('aria-label') || '').includes(`line: ${arg};`));
      const el = pts[Math.floor(pts.length / 2)];
      const r = el.getBoundingClientRect();
      el.dispatchEvent(new PointerEvent('pointerover', { bubbles: true, clientX: r.x + r.width / 2,
        clientY: r.y + r.height / 2, pointerType: 'mouse' }));
    """
    for i in range(events):
        name = ["class 03", "class 11"][i % 2]
        colour = page.evaluate("(n) => window.__colour(n)", name)
        run("hover", ".rw-chart-roc", hover, f"window.__thick().join() === {colour!r}", name)
    # Leave the chart, so the legend pick is not outweighed by a hover.
    page.evaluate(
        "() => document.querySelector('.rw-chart-roc svg').dispatchEvent("
        "new PointerEvent('pointerout', { bubbles: true }))"
    )
    page.mouse.move(1, 1)
    legend = """
      const el = [...document.querySelectorAll('.rw-chart-roc .role-legend-label text')]
        .find((t) => t.textContent === arg);
      const r = el.getBoundingClientRect();
      const at = { bubbles: true, clientX: r.x + 2, clientY: r.y + 2 };
      el.dispatchEvent(new MouseEvent('click', at));
    """
    for i in range(events):
        name = ["class 05", "class 14"][i % 2]
        colour = page.evaluate("(n) => window.__colour(n)", name)
        run("legend pick", ".rw-chart-roc", legend, f"window.__thick().join() === {colour!r}", name)
    slider = """
      const s = document.querySelector('.rw-loss-smoothing');
      window.__before = window.__smoothedPath();
      s.value = arg; s.dispatchEvent(new Event('input'));
    """
    for i in range(events):
        weight = ["0.9", "0.6"][i % 2]
        run("smoothing", ".rw-loss", slider, "window.__smoothedPath() !== window.__before", weight)
    toggle = "document.querySelector('.rw-loss-log').click();"
    for i in range(max(2, events // 4)):
        log = i % 2 == 0  # on, then off
        done = (
            "window.__ticks().includes('0.1') && !!window.__smoothedPath()"
            if log
            else "!window.__ticks().includes('0.1') && !!window.__smoothedPath()"
        )
        run("log axis", ".rw-loss", toggle, done)
    return out


if __name__ == "__main__":
    main()
