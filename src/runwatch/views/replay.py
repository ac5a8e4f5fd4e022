"""The replay: a split's confusion matrix and metrics at each step, and "Δ vs best".

The input is an iteration's snapshots per step (``Iteration.steps(split)``:
objects with ``step``, ``metrics`` and ``confusion_matrix()``), the snapshot
of step k holding every batch with a step up to k. The page computes the same
from the snapshots it holds (``js/replay.ts``); these are the reference,
tested against scikit-learn.

"Δ vs best" is the row-normalised matrix at step k minus the best iteration's
final row-normalised matrix, labels aligned by name
(:func:`runwatch.views.compare.confusion_difference`); the best iteration is
``run.best()``, by the run's primary metric and goal.

>>> import pandas as pd
>>> from types import SimpleNamespace as Snap
>>> m = lambda rows: pd.DataFrame(rows, index=["a", "b"], columns=["a", "b"])
>>> steps = [Snap(step=0, metrics={"accuracy": 0.5}, confusion_matrix=lambda: m([[1, 1], [1, 1]])),
...          Snap(step=1, metrics={"accuracy": 0.75}, confusion_matrix=lambda: m([[2, 0], [1, 1]]))]
>>> metrics_at(steps, 0)["accuracy"], step_index(steps)
(0.5, 1)
>>> delta_vs_best(steps, m([[1, 0], [0, 1]]), step=0)
     a    b
a -0.5  0.5
b  0.5 -0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ._data import clean
from .compare import confusion_difference

__all__ = ["delta_vs_best", "matrix_at", "metrics_at", "replay_rows", "step_index"]


def step_index(steps: Sequence[Any], step: Any = None) -> int:
    """Position of ``step`` among the snapshots' steps; None: the last one.

    Raises
    ------
    ValueError
        Naming ``step``, when there are no snapshots or none is at ``step``.
    """
    if not steps:
        raise ValueError("step: the split has no steps (log with it.update(..., step=epoch)).")
    if step is None:
        return len(steps) - 1
    for i, snap in enumerate(steps):
        if snap.step == step and not isinstance(step, bool):
            return i
    known = ", ".join(repr(s.step) for s in steps[:10]) + (", ..." if len(steps) > 10 else "")
    raise ValueError(f"step {step!r} is not a step of the split (its steps: {known}).")


def matrix_at(steps: Sequence[Any], step: Any = None) -> pd.DataFrame:
    """The confusion matrix (true x predicted) after every batch with a step up to ``step``.

    Raises
    ------
    ValueError
        Naming ``step`` as :func:`step_index`, or when the engine keeps no matrix.
    """
    frame = steps[step_index(steps, step)].confusion_matrix()
    if frame is None:
        raise ValueError("step: this task's snapshots keep no confusion matrix (regression).")
    return frame


def metrics_at(steps: Sequence[Any], step: Any = None) -> dict[str, float]:
    """Every metric of the split after every batch with a step up to ``step``."""
    return dict(steps[step_index(steps, step)].metrics)


def delta_vs_best(steps: Sequence[Any], best: pd.DataFrame, step: Any = None) -> pd.DataFrame:
    """The row-normalised matrix at ``step`` minus ``best``'s, labels aligned by name.

    Parameters
    ----------
    steps : sequence
        The shown iteration's snapshots (``Iteration.steps(split)``).
    best : pandas.DataFrame
        The best iteration's final matrix (``run.best().confusion_matrix(split)``).
    step : int or float, optional
        Default: the last step.

    Returns
    -------
    pandas.DataFrame
        Between -1 and 1: positive where a larger share of the true class
        lands in that cell at ``step`` than in the best iteration.
    """
    return confusion_difference(matrix_at(steps, step), best)


def replay_rows(steps: Sequence[Any], names: Sequence[str]) -> list[dict[str, Any]]:
    """One row per step: ``step`` and each metric of ``names`` (None where undefined)."""
    return [
        {"step": snap.step, **{name: clean(snap.metrics.get(name)) for name in names}}
        for snap in steps
    ]
