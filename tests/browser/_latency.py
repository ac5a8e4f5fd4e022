"""Latency per event, as every browser test reports it: p50, p95 and max over the events.

The machine is shared, so the figures are printed and kept as artifacts, and
asserted only against generous bounds; the speed targets live in benchmarks/.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def summary(ms: list[float]) -> dict[str, float]:
    """p50, p95 (linear interpolation, as numpy) and max of `ms`, and how many events."""
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(max(ms)),
        "n": len(ms),
    }


def line(what: str, ms: list[float]) -> str:
    """One line for the test output: `what`, then p50 / p95 / max of `ms`."""
    s = summary(ms)
    return (
        f"{what} ({s['n']} events): p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, "
        f"max {s['max_ms']:.1f} ms"
    )


def report(path: Path, timings: dict[str, list[float]]) -> None:
    """Print each event kind's line and write their summaries to `path` (JSON)."""
    for what, ms in timings.items():
        print(line(what, ms))
    path.write_text(json.dumps({k: summary(v) for k, v in timings.items()}, indent=1))
