"""Subprocess helpers for the tracking tests (the store fixtures are in tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

SRC = str(Path(__file__).resolve().parents[2] / "src")


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("RUNWATCH_STORE", None)
    return env


def spawn(code: str, *args: str, **kwargs) -> subprocess.Popen:
    """Start `code` in a fresh interpreter (``sys.argv[1:]`` = `args`)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=child_env(),
        **kwargs,
    )


def run_child(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter to completion; fail the test if it fails."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return done


def batches(n: int, n_classes: int, size: int, seed: int = 0):
    """Deterministic labelled batches: (y_true, y_proba) with some signal in the scores."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y = rng.integers(0, n_classes, size)
        logits = rng.normal(size=(size, n_classes))
        logits[np.arange(size), y] += 1.0
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        out.append((y, p))
    return out
