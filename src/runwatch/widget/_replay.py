"""The replay's payload: per-step snapshots as deltas, and the ``replay_step`` trait's check.

An iteration updated with ``step=`` keeps a snapshot per step of each split
(:mod:`runwatch.tracking._snapshots`). The page receives each one once, as a
:class:`~._contract.StepDelta` in the rows' batch of the beat that saw it
written (the current step's again each time the writer rewrites it, twice a
second at most while it runs), and keeps them in ``Snapshot.steps``; no beat
re-sends the others. ``js/replay.ts`` draws the slider from them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ._contract import StepDelta, StepSnapshot
from ._payload import confusion, number


def step_payload(snap: Any) -> StepSnapshot:
    """One snapshot (``Iteration.steps``' items) as plain data: step, matrix, metrics."""
    frame = snap.confusion_matrix()
    return {
        "step": snap.step,
        "confusion": None if frame is None else confusion(frame),
        "metrics": {str(k): number(v) for k, v in snap.metrics.items()},
    }


def step_deltas(run: Any, keys: Iterable[tuple[int, str, int]]) -> list[StepDelta]:
    """The deltas of the snapshots at ``keys`` ((iteration id, split, position)), as stored now."""
    from runwatch.tracking import _snapshots

    wanted = set(keys)
    if not wanted:
        return []
    ids = sorted({k[0] for k in wanted})
    out: list[StepDelta] = []
    for row in _snapshots.read_rows(run._store, ids):
        key = (row["iteration_id"], row["split"], row["pos"])
        if key not in wanted:
            continue
        out.append(
            {
                "kind": "step",
                "iteration": str(key[0]),
                "split": str(key[1]),
                "pos": int(key[2]),
                "snapshot": step_payload(_snapshots.decode_row(row)),
            }
        )
    return out


def check_replay_step(run: Any, iteration: str | None, split: str, value: Any) -> Any:
    """``value`` if it is None or a step of ``iteration``'s ``split``; else ValueError.

    Returns the step as stored (``3`` for ``3.0`` given where the step is the int 3).
    """
    if value is None:
        return None
    steps: list[Any] = []
    if iteration is not None and str(iteration).isdigit():
        try:
            steps = [s.step for s in run.get(int(iteration)).steps(split)]
        except KeyError:
            steps = []
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if numeric and math.isfinite(value):
        for step in steps:
            if step == value:
                return step
    shown = ", ".join(repr(s) for s in steps[:10]) + (", ..." if len(steps) > 10 else "")
    where = f"iteration {iteration}'s {split} split"
    raise ValueError(
        f"replay_step must be None (the latest) or a step of {where} "
        f"({shown or 'it has no steps'}); got {value!r}."
    )


def stored_steps(
    run: Any, iteration_ids: Iterable[int]
) -> dict[str, dict[str, list[StepSnapshot]]]:
    """Every stored snapshot of the given iterations: id -> split -> snapshots in step order.

    What a snapshot built from the store (``save_html``, the static summary) carries.
    """
    from runwatch.tracking import _snapshots

    out: dict[str, dict[str, list[StepSnapshot]]] = {}
    for row in _snapshots.read_rows(run._store, sorted(set(iteration_ids))):
        splits = out.setdefault(str(row["iteration_id"]), {})
        splits.setdefault(str(row["split"]), []).append(step_payload(_snapshots.decode_row(row)))
    return out
