"""Binned mode's joint grid of a numeric attribute and the per-sample log loss.

Spearman's rho of an attribute with the loss needs their joint ranks; in
binned mode neither is kept per sample, so each (attribute, loss) pair goes
to a cell of the power-of-two ``asinh`` grid of ``_sketch`` (the one behind
the binned regression Spearman), at most ``LOSS_GRID_BINS`` bins per axis:
merges are exact, and rho comes with the bound ``_sketch.binned_spearman``
gives (the largest bin's share on each axis).
"""

from __future__ import annotations

import numpy as np

from ._sketch import binned_spearman, fit_grid, grid_add, grid_cells, grid_rebin

#: Most bins per axis (cells: at most its square, in practice far fewer).
LOSS_GRID_BINS = 256
_NAMES = ("exponents", "lows", "highs", "x", "y", "counts")


def empty() -> dict[str, np.ndarray]:
    """A grid with no pairs."""
    return {
        "exponents": np.full(2, -52, np.int64), "lows": np.full(2, np.inf),
        "highs": np.full(2, -np.inf), "x": np.zeros(0, np.int64), "y": np.zeros(0, np.int64),
        "counts": np.zeros(0, np.int64),
    }  # fmt: skip


def add(grid: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """``grid`` with the pairs ``(x, y)`` added (a new dict; ``grid`` is not changed)."""
    if x.size == 0:
        return grid
    lows = np.minimum(grid["lows"], [x.min(), y.min()])
    highs = np.maximum(grid["highs"], [x.max(), y.max()])
    exponents = fit_grid(grid["exponents"], lows, highs, LOSS_GRID_BINS)
    cells = grid_rebin(_cells(grid), grid["exponents"], exponents)
    cells = grid_add(cells, grid_cells(x, y, exponents))
    return _grid(exponents, lows, highs, cells)


def merge(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The grid of both grids' pairs, as one pass over them would give."""
    lows, highs = np.minimum(a["lows"], b["lows"]), np.maximum(a["highs"], b["highs"])
    exponents = fit_grid(np.maximum(a["exponents"], b["exponents"]), lows, highs, LOSS_GRID_BINS)
    cells = grid_add(
        grid_rebin(_cells(a), a["exponents"], exponents),
        grid_rebin(_cells(b), b["exponents"], exponents),
    )
    return _grid(exponents, lows, highs, cells)


def spearman(grid: dict[str, np.ndarray]) -> tuple[float, float]:
    """Spearman's rho of the pairs (a bin's values tie) and its bound; NaN under 2 pairs."""
    n = int(grid["counts"].sum())
    if n < 2:
        return float("nan"), float("nan")
    return binned_spearman(
        {"grid_true": grid["x"], "grid_pred": grid["y"], "grid_counts": grid["counts"]}, n
    )


def state(grid: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The grid as plain arrays under ``prefix``."""
    return {f"{prefix}.{name}": grid[name] for name in _NAMES}


def from_state(entries: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The grid back from a state dict, checked (``ValueError`` naming the entry)."""
    out = {}
    for name in _NAMES:
        key = f"{prefix}.{name}"
        if key not in entries:
            raise ValueError(f"state is missing the entry {key!r}.")
        value = entries[key]
        floats = name in ("lows", "highs")
        if value.dtype.kind not in ("iuf" if floats else "iu") or value.ndim != 1:
            what = "numbers" if floats else "integers"
            raise ValueError(f"state[{key!r}] must be a 1-D array of {what}.")
        if name in ("exponents", "lows", "highs") and value.size != 2:
            raise ValueError(f"state[{key!r}] must hold 2 values, one per axis.")
        out[name] = value.astype(np.float64 if floats else np.int64)
    if not out["x"].size == out["y"].size == out["counts"].size:
        raise ValueError(f"state['{prefix}.x'], ['{prefix}.y'] and ['{prefix}.counts'] differ "
                         "in length.")  # fmt: skip
    return out


def _cells(grid: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return grid["x"], grid["y"], grid["counts"]


def _grid(exponents, lows, highs, cells) -> dict[str, np.ndarray]:
    x, y, counts = cells
    return {"exponents": exponents, "lows": lows, "highs": highs, "x": x, "y": y, "counts": counts}
