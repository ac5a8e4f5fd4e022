"""runwatch.dask.evaluate on a LocalCluster against one process (issue 17).

The workload: ``--n`` rows (default 100,000,000) of a ``--classes``-class
classifier's float32 softmax scores, in partitions of ``--partition`` rows
(default 1,000,000), each generated from its own seed where it is evaluated
(on a worker, or in the one process), as a dataset read from storage would be.
``ClassificationMetrics(curve_bins=True)`` (binned: 4,096 logit bins, memory
independent of the rows) evaluates them:

- **one process**: partition after partition, one engine, in this process;
- **dask, 2 workers**: ``runwatch.dask.evaluate`` on a
  ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` (started
  before the clock): one engine per partition on the workers, states merged
  in a tree, one engine back.

Printed: wall seconds and rows per second of each (generation included, as
reading would be; the one-process engine's own update time beside it), the
speed-up, every metric's |dask - one process| (the histograms are counts, so
only float sums may differ in their last bits) and the confusion matrices'
equality; and the peak RSS of each worker above its idle RSS at ``--n``/4,
``--n``/2 and ``--n`` rows (a fresh cluster each time): flat when memory
does not grow with the rows.

    python benchmarks/bench_dask.py                      # 100M rows (slow on 2 busy cores)
    python benchmarks/bench_dask.py --n 20000000         # what benchmarks/README.md reports
    python benchmarks/bench_dask.py --quick              # 4M rows smoke run

A script, not a test: prints its figures and exits 0 unless it crashed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from typing import Any

import numpy as np

SEED = 20261205


def make_partition(index: int, rows: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """One partition: true classes and the float32 softmax of a noisy model's logits."""
    rng = np.random.default_rng([SEED, index])
    y = rng.integers(0, classes, rows)
    logits = rng.normal(0.0, 2.0, (rows, classes)).astype(np.float32)
    logits[np.arange(rows), y] += rng.gamma(2.0, 1.5, rows).astype(np.float32)
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return y, logits


def sizes(n: int, partition: int) -> list[int]:
    """Partition sizes summing to ``n``."""
    full, rest = divmod(n, partition)
    return [partition] * full + ([rest] if rest else [])


def one_process(n: int, partition: int, classes: int) -> dict[str, Any]:
    """Every partition generated and fed to one engine here; its metrics and timings."""
    from runwatch.metrics import ClassificationMetrics

    engine = ClassificationMetrics(labels=list(range(classes)), curve_bins=True)
    rss_before = _max_rss_mb()
    start, updating, cpu = time.perf_counter(), 0.0, time.process_time()
    for i, rows in enumerate(sizes(n, partition)):
        y, proba = make_partition(i, rows, classes)
        t = time.perf_counter()
        engine.update(y, y_proba=proba)
        updating += time.perf_counter() - t
    values = engine.compute()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "update_seconds": updating, "engine": engine, "values": values,
            "cpu_seconds": time.process_time() - cpu,
            "rss_growth_mb": _max_rss_mb() - rss_before}  # fmt: skip


def on_cluster(n: int, partition: int, classes: int) -> dict[str, Any]:
    """The same partitions evaluated by two worker processes; timings and peak worker RSS."""
    import dask
    import dask.array as da
    from distributed import Client, LocalCluster

    from runwatch.dask import evaluate

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, memory_limit=None,
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        # Idle RSS of a worker that has imported the engine (runs one tiny evaluation first).
        warm = make_partition(10**6, 1000, classes)
        evaluate(da.from_array(warm[0], chunks=500), da.from_array(warm[1], chunks=(500, classes)),
                 labels=list(range(classes)), curve_bins=True)  # fmt: skip
        idle = client.run(_current_rss_mb)
        cpu_before = client.run(time.process_time)
        parts = [dask.delayed(make_partition, pure=True)(i, rows, classes)
                 for i, rows in enumerate(sizes(n, partition))]  # fmt: skip
        y = da.concatenate([
            da.from_delayed(p[0], (rows,), np.int64) for p, rows in zip(parts, sizes(n, partition))
        ])  # fmt: skip
        proba = da.concatenate([
            da.from_delayed(p[1], (rows, classes), np.float32)
            for p, rows in zip(parts, sizes(n, partition))
        ])  # fmt: skip
        start = time.perf_counter()
        engine = evaluate(y, proba, labels=list(range(classes)), curve_bins=True)
        values = engine.compute()
        seconds = time.perf_counter() - start
        peak = client.run(_max_rss_mb)
        cpu = client.run(time.process_time)
    return {"seconds": seconds, "engine": engine, "values": values,
            "worker_cpu_seconds": sorted(cpu[w] - cpu_before[w] for w in cpu),
            "worker_peak_above_idle_mb": sorted(peak[w] - idle[w] for w in peak)}  # fmt: skip


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(argv: list[str] | None = None) -> int:
    """Run both, print the figures; 0 unless something crashed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000_000, help="rows (default 100M)")
    parser.add_argument("--partition", type=int, default=1_000_000, help="rows per partition")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="4M rows")
    parser.add_argument("--no-scaling", action="store_true", help="skip the n/4 and n/2 runs")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.quick:
        args.n = 4_000_000
    print(f"runwatch.dask benchmark: {args.n:,} rows x {args.classes} classes (float32), "
          f"partitions of {args.partition:,}, curve_bins=True; {os.cpu_count()} CPUs, "
          f"load {', '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip
    single = one_process(args.n, args.partition, args.classes)
    load_single = os.getloadavg()[0]
    cluster = on_cluster(args.n, args.partition, args.classes)
    load_cluster = os.getloadavg()[0]
    diffs = {
        k: abs(cluster["values"][k] - v)
        for k, v in single["values"].items()
        if not (np.isnan(v) and np.isnan(cluster["values"][k]))
    }
    same_matrix = cluster["engine"].confusion_matrix().equals(single["engine"].confusion_matrix())
    print(f"\n{'':<22}{'seconds':>9}{'rows/s':>14}{'load after':>12}")
    print(f"{'one process':<22}{single['seconds']:>9.1f}{args.n / single['seconds']:>14,.0f}"
          f"{load_single:>12.1f}   CPU {single['cpu_seconds']:.1f} s (engine updates "
          f"{single['update_seconds']:.1f} s wall)")  # fmt: skip
    print(f"{'dask, 2 workers':<22}{cluster['seconds']:>9.1f}{args.n / cluster['seconds']:>14,.0f}"
          f"{load_cluster:>12.1f}   CPU per worker "
          + ", ".join(f"{c:.1f}" for c in cluster["worker_cpu_seconds"]) + " s")  # fmt: skip
    print(f"speed-up {single['seconds'] / cluster['seconds']:.2f}x with 2 workers")
    print(f"max |dask - one process| over the {len(diffs)} defined metrics: "
          f"{max(diffs.values()):.1e} ({max(diffs, key=diffs.get)}); confusion matrices "
          f"{'identical' if same_matrix else 'DIFFER'}")  # fmt: skip
    print(f"one process: max RSS growth {single['rss_growth_mb']:.0f} MB")
    scaling = {args.n: cluster["worker_peak_above_idle_mb"]}
    if not args.no_scaling:
        for n in (args.n // 4, args.n // 2):
            scaling[n] = on_cluster(n, args.partition, args.classes)["worker_peak_above_idle_mb"]
    print("worker peak RSS above idle (MB), per worker:")
    for n in sorted(scaling):
        print(f"  {n:>13,} rows: " + ", ".join(f"{mb:.0f}" for mb in scaling[n]))
    if args.json:
        out = {"n": args.n, "partition": args.partition, "classes": args.classes,
               "one_process_seconds": single["seconds"], "dask_seconds": cluster["seconds"],
               "update_seconds": single["update_seconds"], "max_diff": max(diffs.values()),
               "one_process_cpu_seconds": single["cpu_seconds"],
               "worker_cpu_seconds": cluster["worker_cpu_seconds"],
               "confusion_identical": bool(same_matrix),
               "worker_peak_above_idle_mb": {str(k): v for k, v in scaling.items()}}  # fmt: skip
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
