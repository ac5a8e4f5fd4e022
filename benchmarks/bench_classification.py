"""Streaming classification-metrics benchmark: runwatch against its peers.

Streams ``--n`` samples x ``--classes`` classes of softmax scores from a noisy
model in ``--batches`` batches and, every ``batches / checkpoints`` batches,
asks each contender for every metric and every curve. Contenders:

- ``runwatch-exact``   ``ClassificationMetrics(curve_bins=None)``: compute() + curves()
- ``runwatch-binned``  ``ClassificationMetrics(curve_bins=True)`` (4096 logit bins)
- ``sklearn``          scikit-learn recomputing everything on all data so far
- ``torchmetrics-exact`` / ``torchmetrics-binned`` (thresholds=4096), optional:
                       skipped with a note when torch / torchmetrics are absent
- ``numpy-floor``      the least work anyone can do: keep the batches, then once
                       at the end one bincount confusion matrix and one argsort
                       (+ cumsum) per class on all the data

Each contender runs in its own fresh subprocess, so peak memory figures are
comparable and no contender warms a cache for another. Wall time counts only
the contender's own calls (update + checkpoints); generating the synthetic
batches is outside the clock. Peak memory: tracemalloc (a second, traced run,
so tracing never slows the timed run) for the numpy-based contenders, and the
growth of the process's max RSS over the run (``resource.getrusage``) for all
of them, the only comparable figure for torch.

    python benchmarks/bench_classification.py            # the full run (minutes)
    python benchmarks/bench_classification.py --quick    # n = 100,000 smoke run
    python benchmarks/bench_classification.py --json results.json

This is a script, not a test: it prints a table and PASS/FAIL for the targets
of issue 2 and always exits 0 unless it crashed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from typing import Any

import numpy as np
from _harness import fmt_ratio, max_rss_mb, result_file, run_contender, torch_available, versions

# Benchmark the checkout's engine, whether or not runwatch is installed.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))

SEED = 20260101
# Compared between binned and exact: every score-based average.
SCORE_KEYS = (
    "AUC_macro", "AUC_micro", "AUC_weighted",
    "average_precision_score_macro", "average_precision_score_micro",
    "average_precision_score_weighted",
)
REPORT_KEYS = SCORE_KEYS + ("accuracy", "log_loss", "f1_score_macro")
NUMPY_CONTENDERS = ("runwatch-exact", "runwatch-binned", "sklearn", "numpy-floor")
TORCH_CONTENDERS = ("torchmetrics-exact", "torchmetrics-binned")
ALL_CONTENDERS = NUMPY_CONTENDERS[:2] + TORCH_CONTENDERS + NUMPY_CONTENDERS[2:]


# --------------------------------------------------------------------- data
def class_prior(k: int) -> np.ndarray:
    """Class frequencies, mildly imbalanced."""
    prior = np.geomspace(1.0, 0.3, k)  # mildly imbalanced: the rarest class ~0.3x the commonest
    return prior / prior.sum()


def make_batch(index: int, size: int, k: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """One batch of (y_true, softmax scores) of a noisy model; deterministic in ``index``.

    Logits are N(0, 2.5^2) noise; the true class gets a per-sample margin
    (Gamma(2, 3): easy and hard samples) and its neighbour class 0.4 of it
    (a confusion structure). Gives ~60% accuracy, macro AUC ~0.9, and about
    half of all scores below 0.005, as real softmax outputs have.
    """
    rng = np.random.default_rng([SEED, index + 1])
    y = rng.choice(k, size, p=class_prior(k))
    z = rng.normal(0.0, 2.5, (size, k))
    margin = rng.gamma(2.0, 3.0, size)
    rows = np.arange(size)
    z[rows, y] += margin
    z[rows, (y + 1) % k] += 0.4 * margin
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return y.astype(np.int64), p.astype(dtype)


# ---------------------------------------------------------------- contenders
class RunwatchContender:
    """``ClassificationMetrics``: compute() and curves() at each checkpoint."""

    def __init__(self, k: int, bins: int | None) -> None:
        from runwatch.metrics import ClassificationMetrics

        self.m = ClassificationMetrics(labels=list(range(k)), curve_bins=bins)

    def update(self, y, p) -> None:
        """Take one batch."""
        self.m.update(y, y_proba=p)

    def checkpoint(self) -> dict[str, float]:
        """Every metric and curve on all data so far; returns the compared values."""
        values = self.m.compute()
        self.curves = self.m.curves()
        return {key: values[key] for key in REPORT_KEYS}

    def extra(self) -> dict[str, Any]:
        """Outside the clock: bounds and per-class areas for the accuracy check."""
        table = self.m.per_class()
        return {
            "bounds": {key: self.m.error_bounds()[key] for key in SCORE_KEYS},
            "per_class_auc": [float(v) for v in table["auc"]],
            "per_class_ap": [float(v) for v in table["average_precision"]],
            "curve_rows": {name: len(frame) for name, frame in self.curves.items()},
        }


class SklearnContender:
    """Keep every batch; at each checkpoint recompute every output on all data so far."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.ys: list[np.ndarray] = []
        self.ps: list[np.ndarray] = []

    def update(self, y, p) -> None:
        """Take one batch."""
        self.ys.append(y)
        self.ps.append(p)

    def checkpoint(self) -> dict[str, float]:
        """Every metric and curve on all data so far; returns the compared values."""
        from sklearn.calibration import calibration_curve
        from sklearn.metrics import (
            accuracy_score,
            average_precision_score,
            confusion_matrix,
            log_loss,
            matthews_corrcoef,
            precision_recall_curve,
            precision_recall_fscore_support,
            roc_auc_score,
            roc_curve,
        )
        from sklearn.preprocessing import label_binarize

        k = self.k
        y, p = np.concatenate(self.ys), np.concatenate(self.ps)
        self.ys, self.ps = [y], [p]  # keep one array, as anyone recomputing would
        labels = np.arange(k)
        onehot = label_binarize(y, classes=labels)
        pred = p.argmax(axis=1)
        out = {}
        for avg in ("macro", "micro", "weighted"):
            out[f"AUC_{avg}"] = roc_auc_score(onehot, p, average=avg)
            out[f"average_precision_score_{avg}"] = average_precision_score(onehot, p, average=avg)
            prec, rec, f1, _ = precision_recall_fscore_support(
                y, pred, labels=labels, average=avg, zero_division=0)
            out[f"f1_score_{avg}"] = f1
        out["accuracy"] = accuracy_score(y, pred)
        out["log_loss"] = log_loss(y, p, labels=labels)
        out["matthews_correlation"] = matthews_corrcoef(y, pred)
        self.cm = confusion_matrix(y, pred, labels=labels)
        self.curves = []
        for c in range(k):  # per-class ROC, PR and reliability curves
            self.curves.append(roc_curve(onehot[:, c], p[:, c]))
            self.curves.append(precision_recall_curve(onehot[:, c], p[:, c]))
            self.curves.append(calibration_curve(onehot[:, c], p[:, c], n_bins=10))
        self.curves.append(roc_curve(onehot.ravel(), p.ravel()))  # micro
        self.curves.append(precision_recall_curve(onehot.ravel(), p.ravel()))
        return {key: float(out[key]) for key in REPORT_KEYS}

    def extra(self) -> dict[str, Any]:
        """Figures gathered after the clock stopped."""
        from sklearn.metrics import average_precision_score, roc_auc_score
        from sklearn.preprocessing import label_binarize

        y, p = np.concatenate(self.ys), np.concatenate(self.ps)
        onehot = label_binarize(y, classes=np.arange(self.k))
        return {
            "per_class_auc": [float(v) for v in roc_auc_score(onehot, p, average=None)],
            "per_class_ap": [float(v) for v in average_precision_score(onehot, p, average=None)],
        }


class FloorContender:
    """The minimum: keep the batches; once, at the end, bincount + one argsort per class."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.ys: list[np.ndarray] = []
        self.ps: list[np.ndarray] = []
        self.final = False

    def update(self, y, p) -> None:
        """Take one batch."""
        self.ys.append(y)
        self.ps.append(p)

    def checkpoint(self) -> dict[str, float]:
        """Every metric and curve on all data so far; returns the compared values."""
        if not self.final:
            return {}
        k = self.k
        y, p = np.concatenate(self.ys), np.concatenate(self.ps)
        pred = p.argmax(axis=1)
        cm = np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
        aucs = []
        for c in range(k):
            order = np.argsort(p[:, c])[::-1]
            tps = np.cumsum(y[order] == c)
            n_pos = tps[-1]
            n_neg = y.size - n_pos
            # Mann-Whitney from the ranks (ties ignored): sum over negatives of positives above.
            aucs.append(float(tps[y[order] != c].sum()) / (n_pos * n_neg))
        return {"accuracy": float(np.trace(cm) / cm.sum()), "AUC_macro": float(np.mean(aucs))}

    def extra(self) -> dict[str, Any]:
        """Figures gathered after the clock stopped."""
        return {}


class TorchmetricsContender:
    """torchmetrics as its docs recommend: one MetricCollection, CPU, default validation.

    The collection's compute groups share state between metrics with equal states.

    torchmetrics has no micro average for MulticlassAUROC / MulticlassAveragePrecision
    and no log-loss metric: micro AUC/AP/ROC/PR come from the Binary* metrics on the
    flattened one-hot problem (what a user needing Azure's AUC_micro would write), and
    log loss from a MeanMetric of per-batch NLL; both parts are timed separately
    (``micro_seconds``) so they can be left out of the comparison.
    """

    def __init__(self, k: int, thresholds: int | None) -> None:
        import torch
        from torchmetrics import MeanMetric, MetricCollection
        from torchmetrics.classification import (
            BinaryAUROC,
            BinaryAveragePrecision,
            BinaryPrecisionRecallCurve,
            BinaryROC,
            MulticlassAccuracy,
            MulticlassAUROC,
            MulticlassAveragePrecision,
            MulticlassConfusionMatrix,
            MulticlassF1Score,
            MulticlassMatthewsCorrCoef,
            MulticlassPrecision,
            MulticlassPrecisionRecallCurve,
            MulticlassRecall,
            MulticlassROC,
        )

        self.torch = torch
        t = thresholds
        metrics = {
            "AUC_macro": MulticlassAUROC(k, average="macro", thresholds=t),
            "AUC_weighted": MulticlassAUROC(k, average="weighted", thresholds=t),
            "average_precision_score_macro": MulticlassAveragePrecision(
                k, average="macro", thresholds=t),
            "average_precision_score_weighted": MulticlassAveragePrecision(
                k, average="weighted", thresholds=t),
            "roc": MulticlassROC(k, thresholds=t),
            "pr": MulticlassPrecisionRecallCurve(k, thresholds=t),
            "confusion_matrix": MulticlassConfusionMatrix(k),
            "accuracy": MulticlassAccuracy(k, average="micro"),
            "matthews_correlation": MulticlassMatthewsCorrCoef(k),
        }
        for avg in ("macro", "micro", "weighted"):
            metrics[f"f1_score_{avg}"] = MulticlassF1Score(k, average=avg)
            metrics[f"precision_score_{avg}"] = MulticlassPrecision(k, average=avg)
            metrics[f"recall_score_{avg}"] = MulticlassRecall(k, average=avg)
        self.multiclass = MetricCollection(metrics)
        self.micro = MetricCollection({
            "AUC_micro": BinaryAUROC(thresholds=t),
            "average_precision_score_micro": BinaryAveragePrecision(thresholds=t),
            "roc_micro": BinaryROC(thresholds=t),
            "pr_micro": BinaryPrecisionRecallCurve(thresholds=t),
        })
        self.log_loss = MeanMetric()
        self.k = k
        self.micro_seconds = 0.0

    def update(self, y, p) -> None:
        """Take one batch."""
        torch = self.torch
        yt, pt = torch.from_numpy(y), torch.from_numpy(p)
        self.multiclass.update(pt, yt)
        nll = torch.nn.functional.nll_loss(
            torch.log(pt.clamp(torch.finfo(pt.dtype).eps, 1.0)), yt, reduction="sum")
        self.log_loss.update(nll / yt.numel(), weight=yt.numel())
        start = time.perf_counter()
        onehot = torch.nn.functional.one_hot(yt, self.k)
        self.micro.update(pt.reshape(-1), onehot.reshape(-1))
        self.micro_seconds += time.perf_counter() - start

    def checkpoint(self) -> dict[str, float]:
        """Every metric and curve on all data so far; returns the compared values."""
        values = self.multiclass.compute()
        start = time.perf_counter()
        values.update(self.micro.compute())
        self.micro_seconds += time.perf_counter() - start
        values["log_loss"] = self.log_loss.compute()
        return {key: float(values[key]) for key in REPORT_KEYS if key in values}

    def extra(self) -> dict[str, Any]:
        """Figures gathered after the clock stopped."""
        return {"micro_seconds": self.micro_seconds}


def make_contender(name: str, k: int, bins: int):
    """The contender called ``name``."""
    if name == "runwatch-exact":
        return RunwatchContender(k, None)
    if name == "runwatch-binned":
        return RunwatchContender(k, bins)
    if name == "sklearn":
        return SklearnContender(k)
    if name == "numpy-floor":
        return FloorContender(k)
    if name == "torchmetrics-exact":
        return TorchmetricsContender(k, None)
    if name == "torchmetrics-binned":
        return TorchmetricsContender(k, bins)
    raise ValueError(f"unknown contender {name!r}")


# -------------------------------------------------------------------- worker
def run_worker(args: argparse.Namespace) -> dict[str, Any]:
    """Run one contender over the stream, in this (fresh) process."""
    name, n, k, batches = args.worker, args.n, args.classes, args.batches
    size = n // batches
    every = max(1, batches // args.checkpoints)
    # Warm-up on a throw-away instance and a tiny batch: imports (pandas, scikit-learn,
    # torch kernels) and first-call costs stay out of both the clock and the traced peak.
    warm = make_contender(name, k, args.bins)
    if isinstance(warm, FloorContender):
        warm.final = True
    warm.update(*make_batch(-1, 200, k, args.dtype))
    warm.checkpoint()
    del warm
    contender = make_contender(name, k, args.bins)
    if args.trace:
        tracemalloc.start()
    rss_before = max_rss_mb()
    load_before = os.getloadavg()[0]
    seconds = cpu = 0.0
    checkpoints = []
    for i in range(batches):
        y, p = make_batch(i, size, k, args.dtype)
        last = i == batches - 1
        if isinstance(contender, FloorContender):
            contender.final = last
        start, start_cpu = time.perf_counter(), time.process_time()
        contender.update(y, p)
        values = contender.checkpoint() if (i + 1) % every == 0 or last else None
        seconds += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        if values is not None:
            checkpoints.append({"samples": (i + 1) * size, **values})
        del y, p
    result: dict[str, Any] = {
        "contender": name, "seconds": seconds, "cpu_seconds": cpu, "checkpoints": checkpoints,
        "load_avg_1min": [load_before, os.getloadavg()[0]],
        "rss_growth_mb": max_rss_mb() - rss_before, "max_rss_mb": max_rss_mb(),
    }
    if args.trace:
        result["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    else:
        result.update(contender.extra())
    return result


def spawn(name: str, args: argparse.Namespace, *, n: int | None = None,
          batches: int | None = None, trace: bool = False) -> dict[str, Any]:
    """Run one contender in a fresh subprocess and return its result."""
    out = result_file()
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", name,
           "--n", str(n or args.n), "--classes", str(args.classes),
           "--batches", str(batches or args.batches), "--checkpoints", str(args.checkpoints),
           "--bins", str(args.bins), "--dtype", args.dtype, "--worker-out", out]
    if trace:
        cmd.append("--trace")
    label = f"{name} (n={n or args.n:,}{', tracemalloc' if trace else ''})"
    return run_contender(cmd, out, name, label, tail=5)


# -------------------------------------------------------------------- report
def engine_fingerprint() -> dict[str, str]:
    """Which engine code ran (the checkout may move while a run lasts).

    git HEAD, whether src/runwatch/metrics differs from it, and a hash of that
    folder's .py files.
    """
    import hashlib

    folder = os.path.join(ROOT, "src", "runwatch", "metrics")
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as fh:
                digest.update(name.encode() + fh.read())
    out = {"metrics_sha256": digest.hexdigest()[:12]}
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--",
                                "src/runwatch/metrics"], capture_output=True, text=True).stdout
        note = " + uncommitted changes in src/runwatch/metrics" if dirty.strip() else ""
        out["git"] = head + note
    except (OSError, subprocess.CalledProcessError):
        out["git"] = "unknown"
    return out


def accuracy_check(exact: dict, binned: dict, sklearn: dict | None) -> dict[str, Any]:
    """Max |binned - exact| per score metric over every checkpoint, with the bound."""
    report: dict[str, Any] = {}
    for key in SCORE_KEYS:
        diffs = [abs(b[key] - e[key]) for b, e in zip(binned["checkpoints"], exact["checkpoints"])]
        report[key] = {"max_abs_diff": max(diffs), "final_bound": binned["bounds"][key],
                       "final_diff": diffs[-1], "within_bound": diffs[-1] <= binned["bounds"][key]}
    per_auc = np.abs(np.subtract(binned["per_class_auc"], exact["per_class_auc"]))
    per_ap = np.abs(np.subtract(binned["per_class_ap"], exact["per_class_ap"]))
    report["per_class_auc_max_abs_diff"] = float(per_auc.max())
    report["per_class_ap_max_abs_diff"] = float(per_ap.max())
    if sklearn is not None and "checkpoints" in sklearn:
        report["exact_vs_sklearn_max_abs_diff"] = max(
            abs(e[key] - s[key])
            for e, s in zip(exact["checkpoints"], sklearn["checkpoints"])
            for key in REPORT_KEYS
        )
    return report


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the contenders (or, as a worker, one), print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="samples (default 1,000,000)")
    parser.add_argument("--classes", type=int, default=10, help="classes (default 10)")
    parser.add_argument("--batches", type=int, default=100, help="batches (default 100)")
    parser.add_argument("--checkpoints", type=int, default=10,
                        help="compute() + curves() calls along the stream (default 10)")
    parser.add_argument("--bins", type=int, default=4096,
                        help="runwatch curve_bins and torchmetrics thresholds (default 4096)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="dtype of the scores (default float64)")
    parser.add_argument("--quick", action="store_true", help="smoke run: n = 100,000")
    parser.add_argument("--json", metavar="PATH", help="also save every figure as JSON")
    parser.add_argument("--only", metavar="NAMES",
                        help=f"comma-separated subset of: {', '.join(ALL_CONTENDERS)}")
    parser.add_argument("--no-torch", action="store_true", help="skip the torchmetrics contenders")
    parser.add_argument("--no-scaling", action="store_true",
                        help="skip the binned-memory scaling runs (n/10, n, 3n)")
    parser.add_argument("--reuse", metavar="PATH",
                        help="take the contenders not run now from an earlier --json file "
                             "(same --n/--classes/--batches; marked * in the table)")
    # internal: one contender in this process
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.n = 100_000
    if args.n % args.batches:
        parser.error("--n must be a multiple of --batches")

    if args.worker:
        result = run_worker(args)
        with open(args.worker_out, "w") as fh:
            json.dump(result, fh)
        return 0

    names = list(ALL_CONTENDERS) if not args.only else [s.strip() for s in args.only.split(",")]
    torch_note = None
    if args.no_torch:
        torch_note = "skipped (--no-torch)"
    else:
        missing = torch_available()
        if missing:
            torch_note = f"skipped: torch/torchmetrics not importable ({missing})"
    if torch_note:
        names = [nm for nm in names if nm not in TORCH_CONTENDERS]

    env_note = {v: os.environ.get(v) for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                               "OMP_NUM_THREADS")}
    info = {"n": args.n, "classes": args.classes, "batches": args.batches,
            "checkpoints": args.checkpoints, "bins": args.bins, "dtype": args.dtype,
            "cpus": os.cpu_count(), "machine": platform.machine(), "env": env_note,
            "versions": versions(("numpy", "scikit-learn", "torch", "torchmetrics"))}
    print(f"runwatch classification benchmark: {args.n:,} samples x {args.classes} classes, "
          f"{args.dtype} softmax scores, {args.batches} batches of {args.n // args.batches:,}, "
          f"compute() + curves() {args.checkpoints} times; bins/thresholds = {args.bins}")
    print(f"  {info['cpus']} CPUs, {info['versions']}, env {env_note}")
    if torch_note:
        print(f"  torchmetrics: {torch_note}")

    fingerprint = engine_fingerprint()
    info["engine"] = fingerprint
    print(f"  engine: git {fingerprint['git']}, src/runwatch/metrics sha256 "
          f"{fingerprint['metrics_sha256']}")

    results: dict[str, dict] = {}
    for name in names:
        results[name] = spawn(name, args)
        if name in NUMPY_CONTENDERS and "error" not in results[name]:
            traced = spawn(name, args, trace=True)
            results[name]["tracemalloc_peak_mb"] = traced.get("tracemalloc_peak_mb")
    reused: dict[str, str] = {}
    if args.reuse:
        with open(args.reuse) as fh:
            old = json.load(fh)
        same = all(old["info"][key] == info[key]
                   for key in ("n", "classes", "batches", "checkpoints", "bins", "dtype"))
        if not same:
            parser.error(f"--reuse {args.reuse}: n/classes/batches/checkpoints/bins/dtype differ")
        for name, r in old["results"].items():
            if name not in results and "error" not in r:
                results[name] = r
                reused[name] = old["info"].get("engine", {}).get("git", "?")
        if reused:
            print(f"  reused from {args.reuse}: {', '.join(reused)}")
        info["reused"] = {"path": args.reuse, "contenders": list(reused)}

    scaling: dict[str, Any] = {}
    if not args.no_scaling and "runwatch-binned" in names:
        size = args.n // args.batches
        for n in (args.n // 10, args.n, 3 * args.n):
            r = spawn("runwatch-binned", args, n=n, batches=n // size, trace=True)
            scaling[str(n)] = r.get("tracemalloc_peak_mb")

    # ---------------------------------------------------------------- table
    def secs(name):
        r = results.get(name)
        return None if r is None or "error" in r else r["seconds"]

    exact_s, binned_s = secs("runwatch-exact"), secs("runwatch-binned")
    print()
    head = (f"{'contender':<22}{'seconds':>10}{'vs rw exact':>13}{'vs rw binned':>14}"
            f"{'peak MB':>10}{'  (how)':<14}{'RSS growth MB':>15}{'cpu s':>9}{'load':>11}")
    print(head)
    print("-" * len(head))
    for name in ALL_CONTENDERS:
        if name not in results:
            if name in TORCH_CONTENDERS and torch_note:
                print(f"{name:<22}{'-':>10}  {torch_note}")
            continue
        r = results[name]
        if "error" in r:
            print(f"{name:<22}{'error':>10}  {r['error']}")
            continue
        peak = r.get("tracemalloc_peak_mb")
        how = "tracemalloc" if peak is not None else "max RSS"
        if peak is None:
            peak = r["rss_growth_mb"]
        cpu = f"{r['cpu_seconds']:.2f}" if "cpu_seconds" in r else "-"
        load = "{:.1f}-{:.1f}".format(*r["load_avg_1min"]) if "load_avg_1min" in r else "-"
        label = name + ("*" if name in reused else "")
        print(f"{label:<22}{r['seconds']:>10.2f}{fmt_ratio(r['seconds'], exact_s):>13}"
              f"{fmt_ratio(r['seconds'], binned_s):>14}{peak:>10.1f}  {how:<12}"
              f"{r['rss_growth_mb']:>15.1f}{cpu:>9}{load:>11}")
    for name in TORCH_CONTENDERS:
        r = results.get(name)
        if r and "micro_seconds" in r:
            print(f"  {name}: {r['micro_seconds']:.2f} s of it is the micro AUC/AP/ROC/PR "
                  f"(Binary* on the flattened one-hot; torchmetrics has no multiclass micro); "
                  f"without it {r['seconds'] - r['micro_seconds']:.2f} s")
    print("  ratio = contender seconds / runwatch seconds (above 1: runwatch is faster); "
          "cpu s = process CPU time over the same calls; load = 1-min load average before-after")
    if reused:
        print("  * reused from " + args.reuse + " (engine there: "
              + "; ".join(f"{k}: {v}" for k, v in reused.items()) + ")")

    accuracy = None
    if exact_s is not None and binned_s is not None:
        accuracy = accuracy_check(results["runwatch-exact"], results["runwatch-binned"],
                                  results.get("sklearn"))
        print("\nbinned vs exact (runwatch), max over the checkpoints, "
              "and the reported bound at the end:")
        for key in SCORE_KEYS:
            a = accuracy[key]
            print(f"  {key:<34} max |diff| {a['max_abs_diff']:.2e}   final |diff| "
                  f"{a['final_diff']:.2e} <= bound {a['final_bound']:.2e}: "
                  f"{'yes' if a['within_bound'] else 'NO'}")
        print(f"  per class: max |dAUC| {accuracy['per_class_auc_max_abs_diff']:.2e}, "
              f"max |dAP| {accuracy['per_class_ap_max_abs_diff']:.2e}")
        if "exact_vs_sklearn_max_abs_diff" in accuracy:
            print(f"  runwatch exact vs scikit-learn, max |diff| over {len(REPORT_KEYS)} metrics x "
                  f"checkpoints: {accuracy['exact_vs_sklearn_max_abs_diff']:.2e}")
        for name in TORCH_CONTENDERS:
            r = results.get(name)
            if r and "checkpoints" in r:
                d = max(abs(c[key] - e[key])
                        for c, e in zip(r["checkpoints"], results["runwatch-exact"]["checkpoints"])
                        for key in SCORE_KEYS)
                print(f"  {name} vs runwatch exact, max |diff| AUC/AP: {d:.2e}")
    if scaling:
        print("\nrunwatch-binned peak memory (tracemalloc) as n grows, batches of "
              f"{args.n // args.batches:,}:")
        for n, mb in scaling.items():
            shown = "error" if mb is None else f"{mb:.2f} MB"
            print(f"  n = {int(n):>10,}: {shown}")

    # -------------------------------------------------------------- targets
    tm_exact = secs("torchmetrics-exact")
    floor = secs("numpy-floor")
    targets = []

    def target(text, ok):
        status = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
        targets.append({"target": text, "status": status})

    def ratio(a, b):
        return None if a is None or b is None else a / b

    r = ratio(tm_exact, binned_s)
    target(f"binned >= 50x faster than torchmetrics exact ({'-' if r is None else f'{r:.1f}x'})",
           None if r is None else r >= 50)
    r = ratio(tm_exact, exact_s)
    target(f"exact >= 10x faster than torchmetrics exact ({'-' if r is None else f'{r:.1f}x'})",
           None if r is None else r >= 10)
    r = ratio(exact_s, floor)
    target(f"exact within 20x of the numpy floor ({'-' if r is None else f'{r:.1f}x'})",
           None if r is None else r <= 20)
    r = ratio(binned_s, floor)
    target(f"binned within 20x of the numpy floor ({'-' if r is None else f'{r:.1f}x'})",
           None if r is None else r <= 20)
    peaks = [v for v in scaling.values() if v is not None]
    flat = None if len(peaks) < 3 else max(peaks) / min(peaks)
    shown = "-" if flat is None else f"{flat:.3f}"
    target(f"binned peak memory flat from n/10 to 3n (max/min {shown} <= 1.10)",
           None if flat is None else flat <= 1.10)
    if accuracy is not None:
        auc = max(accuracy[k]["max_abs_diff"] for k in SCORE_KEYS if k.startswith("AUC"))
        bounded = all(accuracy[k]["within_bound"] for k in SCORE_KEYS)
        target(f"binned AUC within 1e-3 of exact (max {auc:.1e}) and every final "
               f"AUC/AP inside its reported bound ({'yes' if bounded else 'no'})",
               auc <= 1e-3 and bounded)
    print("\ntargets (issue 2):")
    for t in targets:
        print(f"  [{t['status']}] {t['target']}")
    tm = results.get("torchmetrics-exact")
    if tm and "micro_seconds" in tm:
        rest = tm["seconds"] - tm["micro_seconds"]
        print(f"  [info] without torchmetrics' micro part ({rest:.2f} s, so without AUC/AP micro): "
              f"binned {fmt_ratio(rest, binned_s)}, exact {fmt_ratio(rest, exact_s)} faster")

    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"info": info, "results": results, "binned_memory_scaling_mb": scaling,
                       "accuracy": accuracy, "targets": targets, "torch_note": torch_note},
                      fh, indent=2)
        print(f"\nsaved {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
