"""What a log call costs the training thread (a plain script, not a test).

Times, per call, on the calling thread:

- ``list.append`` of one float (the floor: keeping the number in memory);
- ``Iteration.log_loss`` (validation + a deque append; the background writer
  commits meanwhile, competing for the GIL, as it does in a real loop), also
  with a ``RunDetails`` widget following the run (its thread beats 5 times a
  second: commit, read, build and send a batch);
- a direct SQLite insert per point, committed each time (what a naive logger
  does), and the same inside one transaction;
- ``Iteration.update`` with a 256-row batch (3 classes, probabilities) against
  the bare engine's ``update`` and a ``list.append`` of the batch.

Run: ``python benchmarks/bench_tracking.py [--points N]``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from runwatch.metrics import ClassificationMetrics  # noqa: E402
from runwatch.tracking import Run  # noqa: E402


def per_call(func, n: int, repeat: int = 5) -> float:
    """Best-of-`repeat` seconds per call of `func(n)` (which makes n calls)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        func(n)
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def main() -> None:
    """Time each operation and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--batches", type=int, default=300)
    args = parser.parse_args()
    n, nb = args.points, args.batches
    tmp = tempfile.mkdtemp()
    values = [float(i % 1000) / 1000 for i in range(n)]

    def bare_append(k: int) -> None:
        out: list[float] = []
        append = out.append
        for v in values[:k]:
            append(v)

    run = Run("bench", store=os.path.join(tmp, "bench.db"))
    it = run.iteration("loss")
    it.start()

    def log_loss(k: int) -> None:
        log = it.log_loss
        for v in values[:k]:
            log(v)

    t_append = per_call(bare_append, n)
    # The call alone: short bursts with the queue committed between them, so
    # the writer thread is idle while the burst is timed.
    burst = min(n, 20_000)
    t_call = float("inf")
    for _ in range(10):
        run.flush()
        t0 = time.perf_counter()
        log_loss(burst)
        t_call = min(t_call, (time.perf_counter() - t0) / burst)
    run.flush()
    # Sustained: the writer commits while the loop runs and shares the GIL.
    t_log = per_call(log_loss, n)
    t0 = time.perf_counter()
    run.flush()
    t_drain = time.perf_counter() - t0
    # end to end: n points logged and committed, divided by n
    t_e2e_start = time.perf_counter()
    log_loss(n)
    run.flush()
    t_e2e = (time.perf_counter() - t_e2e_start) / n
    it.complete()

    # Sustained again, with a RunDetails following the run (its thread commits,
    # reads and builds batches five times a second, sharing the GIL).
    from runwatch.widget import RunDetails

    wrun = Run("bench-widget", store=os.path.join(tmp, "bench.db"))
    widget = RunDetails(wrun)
    wit = wrun.iteration("loss")
    wit.start()

    def log_loss_watched(k: int) -> None:
        log = wit.log_loss
        for v in values[:k]:
            log(v)

    t_log_widget = per_call(log_loss_watched, n)
    wit.complete()
    widget.close()

    conn = sqlite3.connect(os.path.join(tmp, "direct.db"), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE points (id INTEGER PRIMARY KEY, step INT, value REAL, time REAL)")
    n_sql = min(n, 20_000)

    def sqlite_commit_each(k: int) -> None:
        for i, v in enumerate(values[:k]):
            conn.execute(
                "INSERT INTO points (step, value, time) VALUES (?, ?, ?)", (i, v, time.time())
            )

    def sqlite_one_transaction(k: int) -> None:
        conn.execute("BEGIN")
        for i, v in enumerate(values[:k]):
            conn.execute(
                "INSERT INTO points (step, value, time) VALUES (?, ?, ?)", (i, v, time.time())
            )
        conn.execute("COMMIT")

    t_sql_each = per_call(sqlite_commit_each, n_sql, repeat=3)
    t_sql_tx = per_call(sqlite_one_transaction, n, repeat=3)
    conn.close()

    rng = np.random.default_rng(0)
    ys = [rng.integers(0, 3, 256) for _ in range(nb)]
    ps = [rng.dirichlet([1, 1, 1], 256) for _ in range(nb)]

    def batches_append(k: int) -> None:
        out = []
        for y, p in zip(ys[:k], ps[:k], strict=True):
            out.append((y, p))

    def bare_engine(k: int) -> None:
        m = ClassificationMetrics(labels=[0, 1, 2])
        for y, p in zip(ys[:k], ps[:k], strict=True):
            m.update(y, y_proba=p)

    urun = Run("bench-update", labels=[0, 1, 2], store=os.path.join(tmp, "bench.db"))

    def tracked_update(k: int) -> None:
        # The iteration's start and end are per model, not per batch: outside the timing.
        u = urun.iteration("update").start()
        t0 = time.perf_counter()
        for y, p in zip(ys[:k], ps[:k], strict=True):
            u.update("validation", y, y_proba=p)
        timings.append((time.perf_counter() - t0) / k)
        u.complete()

    timings: list[float] = []

    t_batch_append = per_call(batches_append, nb)
    t_engine = per_call(bare_engine, nb, repeat=3)
    for _ in range(3):
        tracked_update(nb)
    t_update = min(timings)

    rows = [
        ("list.append (1 float)", t_append, t_append),
        ("log_loss, call alone (writer idle)", t_call, t_append),
        ("log_loss, sustained (writer busy)", t_log, t_append),
        ("log_loss, sustained, widget following", t_log_widget, t_append),
        ("log_loss, logged + committed", t_e2e, t_append),
        ("sqlite insert, commit each", t_sql_each, t_append),
        ("sqlite insert, one transaction", t_sql_tx, t_append),
        ("list.append (256-row batch)", t_batch_append, t_batch_append),
        ("engine.update (256 rows, bare)", t_engine, t_engine),
        ("Iteration.update (256 rows)", t_update, t_engine),
    ]
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, sqlite {sqlite3.sqlite_version}"
    )
    print(f"{n} points, {nb} batches of 256 rows; best of several runs\n")
    print(f"{'operation':36} {'per call':>12} {'ratio':>12}")
    print(f"{'-' * 36} {'-' * 12} {'-' * 12}")
    for name, t, base in rows:
        ref = "x append" if base is t_append else ("x bare" if base is t_engine else "x append")
        print(f"{name:36} {t * 1e6:>9.3f} us {t / base:>7.1f} {ref}")
    print(f"\nwriter drain after the timed loops: {t_drain * 1e3:.1f} ms")
    print(
        f"log_loss / list.append: {t_call / t_append:.1f}x alone, {t_log / t_append:.1f}x "
        "sustained (target: within 5x)"
    )
    print(f"sqlite commit-per-point / log_loss: {t_sql_each / t_log:.0f}x")
    print(
        f"log_loss with a RunDetails following / without: {t_log_widget / t_log:.2f}x "
        "(target: as cheap)"
    )


if __name__ == "__main__":
    main()
