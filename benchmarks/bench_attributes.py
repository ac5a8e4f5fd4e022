"""What ``sample_ids`` and ``attributes`` cost ``ClassificationMetrics.update``, as ratios.

Streams ``--n`` samples x ``--classes`` classes of softmax scores in
``--batches`` batches into one engine per variant and times the updates
only (batches are made beforehand, outside the clock):

- ``plain``: ``update(y, y_proba=p)``, the baseline;
- ``int ids`` / ``string ids``: with ``sample_ids`` (the reservoirs and the
  top-loss heap);
- ``attributes``: string ids and three attributes (two numeric, one of
  five categories), exact mode; ``attributes binned``: the same with
  ``curve_bins=True``.

Then, for the attribute variants, the time of one ``by_attribute`` of each
attribute plus ``attribute_importance`` at the end. Prints a table with
each variant's time over ``plain``'s and the load average.

    python benchmarks/bench_attributes.py               # n = 1,000,000 in 100 batches
    python benchmarks/bench_attributes.py --n 200000
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))

from runwatch.metrics import ClassificationMetrics  # noqa: E402


def make_batches(n: int, k: int, batches: int, seed: int = 7) -> list[dict]:
    """The stream: labels, softmax scores, int and string ids and three attributes per batch."""
    rng = np.random.default_rng(seed)
    out = []
    start = 0
    for size in np.diff(np.linspace(0, n, batches + 1).astype(int)):
        y = rng.integers(0, k, size)
        logits = rng.normal(scale=2.0, size=(size, k))
        logits[np.arange(size), y] += rng.gamma(2.0, 1.5, size)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        ids = np.arange(start, start + size)
        out.append({
            "y": y, "p": p, "int_ids": ids,
            "str_ids": np.char.add("img_", ids.astype(str)),
            "attributes": {
                "brightness": rng.normal(size=size),
                "blur": rng.gamma(1.0, 2.0, size),
                "source": rng.choice(["web", "scan", "phone", "crawl", "synthetic"], size),
            },
        })  # fmt: skip
        start += size
    return out


VARIANTS = {
    "plain": (None, {}),
    "plain binned": (True, {}),
    "int ids": (None, {"sample_ids": "int_ids"}),
    "string ids": (None, {"sample_ids": "str_ids"}),
    "attributes": (None, {"sample_ids": "str_ids", "attributes": "attributes"}),
    "attributes binned": (True, {"sample_ids": "str_ids", "attributes": "attributes"}),
}


def run(name: str, data: list[dict], k: int) -> tuple[float, float | None]:
    """Seconds of the updates of one variant, and of its tables at the end (None: no attributes)."""
    bins, extra = VARIANTS[name]
    m = ClassificationMetrics(labels=list(range(k)), curve_bins=bins)
    start = time.perf_counter()
    for b in data:
        m.update(b["y"], y_proba=b["p"], **{arg: b[key] for arg, key in extra.items()})
    updates = time.perf_counter() - start
    if "attributes" not in extra:
        return updates, None
    start = time.perf_counter()
    for attribute in ("brightness", "blur", "source"):
        m.by_attribute(attribute)
    m.attribute_importance()
    return updates, time.perf_counter() - start


def main() -> None:
    """Time every variant (interleaved, best of ``--repeat``) and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = make_batches(args.n, args.classes, args.batches)
    print(f"n={args.n:,} classes={args.classes} batches={args.batches} "
          f"load={os.getloadavg()[0]:.1f}")  # fmt: skip
    names = list(VARIANTS)
    best: dict[str, tuple[float, float | None]] = {}
    for _ in range(args.repeat):  # interleaved, best of each: the machine's load varies
        for name in names:
            got = run(name, data, args.classes)
            if name not in best or got[0] < best[name][0]:
                best[name] = got
    print(f"{'variant':<20}{'updates s':>10}{'x plain':>9}{'tables s':>10}")
    for name in names:
        updates, tables = best[name]
        base = best["plain binned" if VARIANTS[name][0] else "plain"][0]
        shown = "" if tables is None else f"{tables:10.3f}"
        print(f"{name:<20}{updates:10.3f}{updates / base:8.2f}x{shown}")
    print(f"(binned rows are over plain binned; load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
