"""What one iteration's detail costs the kernel: the panels RunDetails sends (a plain script).

A finished iteration's detail (metrics by group, per-class table, confusion
matrix and the chart specs of every split) is built in the widget's thread,
beside the user's training loop, once per iteration. This times
``runwatch.widget._payload.iteration_detail`` on a run of classifiers with
probabilities (two splits each), two ways:

- **runwatch**: as the widget builds it; the curve charts and the per-class
  bars come from ``views.chart_spec``, which reuses the dict of the first
  chart of each shape (kind, lines, titles, size) with the new rows;
- **Altair every time**: the same, with those templates dropped before each
  detail, so Altair builds and serialises each chart (``chart.to_dict()``):
  five curve charts and the per-class bars per split, as the widget did
  before, and as a notebook drawing the views' charts per iteration does.

Figures: median milliseconds per detail over the iterations, and the ratio.
Run: ``.venv/bin/python benchmarks/bench_details.py [--iterations 20] [--classes 10]``.

``--task detection`` times a detector's iterations instead (issue 13's
target: 80 classes, a finished iteration's detail in at most 100 ms): each
iteration a noisy detector scored on ``--images`` validation images of a
few boxes each; its detail has the metric groups, the per-class table, the
detection confusion matrix with its background, the per-class bars, COCO's
PR curves of the 20 weakest classes and the matched-IoU histogram. Figures:
p50, p95 and max milliseconds per detail.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import runwatch as rw  # noqa: E402
from runwatch.views import _specs  # noqa: E402
from runwatch.widget._payload import iteration_detail  # noqa: E402


def build_run(path: str, iterations: int, classes: int, rows: int) -> rw.Run:
    """A finished run: each iteration a noisy classifier scored on train and validation."""
    rng = np.random.default_rng(0)
    labels = [f"class {i}" for i in range(classes)]
    run = rw.Run("details", primary_metric="accuracy", labels=labels, store=path)
    for i in range(iterations):
        with run.iteration(f"model-{i}") as it:
            for split in ("train", "validation"):
                y = rng.integers(0, classes, rows)
                logits = rng.normal(size=(rows, classes)) + rng.uniform(0.5, 3) * np.eye(classes)[y]
                proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
                it.update(split, np.asarray(labels, dtype=object)[y], y_proba=proba)
    run.flush()
    return run


def build_detection_run(path: str, iterations: int, classes: int, images: int) -> rw.Run:
    """A finished detection run: boxes jittered from the truth, some relabelled, some spurious."""
    rng = np.random.default_rng(0)
    labels = [f"class {i}" for i in range(classes)]
    run = rw.Run("details", task="detection", labels=labels, store=path)
    for i in range(iterations):
        noise = 12.0 / (1 + i)
        preds, targets = [], []
        for _ in range(images):
            n = int(rng.integers(1, 8))
            xy = rng.uniform(0, 400, (n, 2))
            wh = rng.uniform(8, 160, (n, 2))
            truth = rng.integers(0, classes, n)
            at = xy + rng.normal(0, noise, xy.shape)
            boxes = np.hstack([at, at + np.maximum(wh + rng.normal(0, noise, wh.shape), 2)])
            named = np.where(rng.random(n) < 0.1, rng.integers(0, classes, n), truth)
            extra = rng.uniform(0, 400, (2, 2))
            boxes = np.vstack([boxes, np.hstack([extra, extra + 40])])
            named = np.append(named, rng.integers(0, classes, 2))
            scores = np.append(rng.uniform(0.3, 1, n), rng.uniform(0, 0.7, 2))
            names = np.asarray(labels)
            preds.append({"boxes": boxes, "scores": scores, "labels": names[named]})
            targets.append({"boxes": np.hstack([xy, xy + wh]), "labels": names[truth]})
        with run.iteration(f"epoch-{i}") as it:
            it.update("validation", preds, targets)
    run.flush()
    return run


def percentiles(ms: list[float]) -> tuple[float, float, float]:
    """p50, p95 and max of ``ms``."""
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), max(ms)


def detection(args: argparse.Namespace) -> int:
    """Time a detection run's details; print p50 / p95 / max."""
    with tempfile.TemporaryDirectory() as tmp:
        run = build_detection_run(
            os.path.join(tmp, "details.db"), args.iterations, args.classes, args.images
        )
        first = time_details(run, True)[0]  # imports and the templates' first build
        full_passes: list[int] = []
        ms, cpu_ms = cpu_timed_details(run, full_passes)
        more, more_cpu = cpu_timed_details(run, full_passes)
        ms, cpu_ms = ms + more, cpu_ms + more_cpu
        # The engine's share: compute() (COCO's accumulate) on the engine the detail reads.
        engine_ms = []
        for iteration in run.iteration_list() * 2:
            engine = iteration.engine("validation")
            engine._cache = None  # as a detail finds it: nothing computed yet
            t = time.perf_counter()
            engine.compute()
            engine_ms.append((time.perf_counter() - t) * 1000)
    load = os.getloadavg()[0]
    print(
        f"one detection iteration's detail: {args.classes} classes, {args.images} validation "
        f"images; {len(ms)} details of {args.iterations} iterations; load {load:.1f}"
    )
    rows = (("detail", ms), ("detail, CPU time", cpu_ms), ("of which compute()", engine_ms))
    for name, values in rows:
        p50, p95, top = percentiles(values)
        print(f"{name:20s} p50 {p50:6.1f} ms, p95 {p95:6.1f} ms, max {top:6.1f} ms")
    print(
        f"full (generation 2) garbage-collector passes during the {len(ms)} details: "
        f"{len(full_passes)}"
    )
    print(f"first detail (cold: imports, Altair's first chart of each shape): {first:.1f} ms")
    return 0


def cpu_timed_details(run: rw.Run, full_passes: list[int]) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per iteration's detail, in run order.

    Appends to ``full_passes`` each full garbage-collector pass that ran
    inside a detail (a pause of the whole process, ~100 ms here: what once
    set the p95).
    """

    def count(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            full_passes.append(1)

    wall, cpu = [], []
    gc.callbacks.append(count)
    try:
        for iteration in run.iteration_list():
            t, c = time.perf_counter(), time.process_time()
            iteration_detail(iteration)
            wall.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    finally:
        gc.callbacks.remove(count)
    return wall, cpu


def time_details(run: rw.Run, templates: bool) -> list[float]:
    """Milliseconds per iteration's detail, in run order."""
    out = []
    for iteration in run.iteration_list():
        if not templates:
            _specs.forget_templates()
        t = time.perf_counter()
        iteration_detail(iteration)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> int:
    """Build the run, time both ways, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1000, help="samples per split")
    parser.add_argument("--task", choices=("classification", "detection"), default="classification")
    parser.add_argument("--images", type=int, default=500, help="detection: images per iteration")
    args = parser.parse_args()
    if args.task == "detection":
        return detection(args)
    with tempfile.TemporaryDirectory() as tmp:
        run = build_run(os.path.join(tmp, "details.db"), args.iterations, args.classes, args.rows)
        iteration_detail(run.iteration_list()[0])  # imports and first-use costs out of the way
        rows = {}
        for name, templates in (("Altair every time", False), ("runwatch", True)):
            _specs.forget_templates()
            ms = time_details(run, templates)
            rows[name] = (statistics.median(ms), ms[0])
    load = os.getloadavg()[0]
    print(
        f"one iteration's detail: {args.classes} classes, train + validation with "
        f"probabilities, {args.rows} samples each; {args.iterations} iterations; load {load:.1f}"
    )
    print(f"{'':20s} {'median ms':>10s} {'first ms':>9s} {'vs runwatch':>12s}")
    base = rows["runwatch"][0]
    for name, (median, first) in rows.items():
        print(f"{name:20s} {median:10.1f} {first:9.1f} {median / base:11.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
