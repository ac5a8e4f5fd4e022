"""What the replay costs: bytes per step in the store and per delta, and the step's CPU (a script).

For 3, 10 and 100 classes, an iteration fed ``--epochs`` epochs of
``--rows`` predictions (probabilities, so the metrics include the scores')
with ``step=epoch``:

- bytes per step in the store: the ``steps`` row's matrix, labels, step and
  metrics (what ``length()`` of each column gives; the row's keys and the
  database's page overhead not counted), and the whole store file's growth
  per step against the same loop without ``step=``;
- bytes per step delta: the JSON of the ``"step"`` delta the widget sends;
- the training thread's time in ``update`` with ``step=`` over the same loop
  without it, median of 3, in two loop shapes: epochs back to back (the
  worst case: each new step copies the engine state, since the writer has not
  committed the last one yet) and epochs with the writer's commit between
  them (what an epoch of training gives it: the step's snapshot is final in
  the store and nothing is copied).

Run: ``nice -n -15 python benchmarks/bench_replay.py [--epochs 20] [--rows 2000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from runwatch.tracking import Run  # noqa: E402
from runwatch.widget._replay import step_deltas  # noqa: E402


def epochs(k: int, n_epochs: int, rows: int, seed: int = 0):
    """``n_epochs`` batches of (labels, probabilities) over ``k`` classes, some signal in them."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_epochs):
        y = rng.integers(0, k, rows)
        logits = rng.normal(size=(rows, k))
        logits[np.arange(rows), y] += 2.0
        p = np.exp(logits)
        out.append((y, p / p.sum(axis=1, keepdims=True)))
    return out


def feed(
    path: str, name: str, data, k: int, with_steps: bool, pause: bool
) -> tuple[float, Run, int]:
    """Seconds spent in ``update`` over the epochs, the run and the iteration's id."""
    run = Run(name, labels=list(range(k)), store=path)
    took = 0.0
    with run.iteration("net") as it:
        for e, (y, p) in enumerate(data):
            t0 = time.perf_counter()
            if with_steps:
                it.update("validation", y, y_proba=p, step=e)
            else:
                it.update("validation", y, y_proba=p)
            took += time.perf_counter() - t0
            if pause:  # not timed: the writer commits, as during an epoch of training
                run.flush()
    run.flush()
    return took, run, it.id


def main() -> None:
    """Print the table and the JSON of the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--rows", type=int, default=2000)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}, {args.epochs} epochs of {args.rows} rows")
    print(
        f"{'classes':>8} {'store B/step':>13} {'file B/step':>12} {'delta B':>8} "
        f"{'CPU back to back':>17} {'CPU after commit':>17}"
    )
    results = []
    for k in (3, 10, 100):
        data = epochs(k, args.epochs, args.rows)
        with tempfile.TemporaryDirectory() as tmp:
            ratios: dict[bool, list[float]] = {False: [], True: []}
            for repeat in range(3):
                for pause in (True, False):  # the last store kept is back to back's
                    plain_path = os.path.join(tmp, f"plain{repeat}{pause}.db")
                    step_path = os.path.join(tmp, f"steps{repeat}{pause}.db")
                    plain, prun, _ = feed(plain_path, "plain", data, k, False, pause)
                    stepped, run, iteration_id = feed(step_path, "steps", data, k, True, pause)
                    ratios[pause].append(stepped / plain)
                    prun._store.close()
                    if repeat < 2 or pause:
                        run._store.close()
            conn = run._store.connect()
            row = conn.execute(
                "SELECT avg(length(matrix) + length(true_labels) + length(labels) + "
                "length(step) + length(metrics)), count(*) FROM steps"
            ).fetchone()
            store_bytes, n = float(row[0]), int(row[1])
            file_growth = (os.path.getsize(step_path) - os.path.getsize(plain_path)) / n
            keys = [(iteration_id, "validation", pos) for pos in range(n)]
            deltas = step_deltas(run, keys)
            delta_bytes = float(np.mean([len(json.dumps(d)) for d in deltas]))
            run._store.close()
        tight, paused = (float(np.median(ratios[p])) for p in (False, True))
        results.append(
            {"classes": k, "store_bytes_per_step": store_bytes, "file_bytes_per_step": file_growth,
             "delta_bytes": delta_bytes, "cpu_back_to_back": tight, "cpu_after_commit": paused}
        )  # fmt: skip
        print(
            f"{k:>8} {store_bytes:>13.0f} {file_growth:>12.0f} {delta_bytes:>8.0f} "
            f"{tight:>16.2f}x {paused:>16.2f}x"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
