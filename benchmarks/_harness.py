"""What every benchmark script shares: contenders in fresh subprocesses, and how figures print.

Each contender runs in its own interpreter so peak memory is comparable; the
worker writes its result as JSON to a file the parent names
(``--worker-out``). Imported by the scripts beside it (run as
``python benchmarks/bench_*.py``, so this folder is on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from typing import Any


def result_file() -> str:
    """A fresh path for a worker's JSON result (``run_contender`` deletes it)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        return tmp.name


def run_contender(cmd: list[str], out: str, name: str, label: str, tail: int = 5) -> dict[str, Any]:
    """Run one worker command, print its progress line, and return its JSON result.

    A worker that fails gives ``{"contender": name, "error": <its last stderr lines>}``.
    """
    print(f"  running {label} ...", end="", flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    try:
        if proc.returncode != 0:
            print(" FAILED")
            lines = proc.stderr.strip().splitlines()[-tail:]
            return {"contender": name, "error": " | ".join(lines) or f"exit {proc.returncode}"}
        with open(out) as fh:
            result = json.load(fh)
    finally:
        os.unlink(out)
    print(f" {result['seconds']:.2f} s")
    return result


def max_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def torch_available() -> str | None:
    """None when torch and torchmetrics import, else why not."""
    code = "import torch, torchmetrics"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        return proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "import failed"
    return None


def fmt_ratio(a: float | None, b: float | None) -> str:
    """``a / b`` as ``12.3x``, or ``-`` when either is missing."""
    if a is None or b is None or b == 0:
        return "-"
    r = a / b
    return f"{r:.1f}x" if r >= 10 else f"{r:.2f}x"


def versions(packages: tuple[str, ...]) -> dict[str, str]:
    """Python's version and each installed package's (from its metadata; none imported)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in packages:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found
