"""Numbered delta batches: merging deltas, applying a batch to a state, copying a state.

Pure functions on the plain data of :mod:`._contract`, shared by the pusher
(:mod:`._push`), which applies every batch it sends to the state a view
starts from, and mirrored by the page's ``js/live.ts``.
"""

from __future__ import annotations

from ._contract import Batch, Delta, LossPoint, Snapshot, StepDelta

#: Loss points per iteration the state (and so the snapshot) keeps: past twice
#: this, the history is thinned evenly to this many, first and last kept. Views
#: that are open receive every point; a view opened later starts from the thinned
#: history, so neither memory nor the snapshot grows with a long loop.
LOSS_POINTS_KEPT = 1000


def coalesce(deltas: list[Delta]) -> list[Delta]:
    """Merge a list of deltas into the fewest that have the same effect.

    The last run header wins, the last row and the last details of an
    iteration win, loss points of an iteration are concatenated in order, and
    the last snapshot of an (iteration, split, position) wins.
    Order of the result: run, rows, details, losses, step snapshots (by position).
    """
    run: Delta | None = None
    rows: dict[str, Delta] = {}
    details: dict[str, Delta] = {}
    losses: dict[str, list[LossPoint]] = {}
    steps: dict[tuple[str, str, int], Delta] = {}
    for d in deltas:
        if d["kind"] == "run":
            run = d
        elif d["kind"] == "iteration":
            rows[d["row"]["id"]] = d
        elif d["kind"] == "detail":
            details[d["detail"]["iteration"]] = d
        elif d["kind"] == "loss":
            losses.setdefault(d["iteration"], []).extend(d["points"])
        elif d["kind"] == "step":
            steps[(d["iteration"], d["split"], d["pos"])] = d
    out: list[Delta] = [] if run is None else [run]
    out += rows.values()
    out += details.values()
    out += [{"kind": "loss", "iteration": i, "points": p} for i, p in losses.items()]
    out += [steps[k] for k in sorted(steps, key=lambda k: k[2])]
    return out


def apply_batch(state: Snapshot, batch: Batch) -> bool:
    """Apply ``batch`` to ``state`` in place; False (and no change) on a gap in ``seq``.

    The Python twin of ``applyBatch`` in ``js/live.ts``.
    """
    if batch["seq"] != state["seq"] + 1:
        return False
    rows = state["iterations"]
    at: dict[str, int] | None = None  # row positions, built once per batch (1,000 rows)
    for d in batch["deltas"]:
        if d["kind"] == "run":
            state["run"] = d["run"]
        elif d["kind"] == "iteration":
            row = d["row"]
            if at is None:
                at = {r["id"]: i for i, r in enumerate(rows)}
            i = at.get(row["id"])
            if i is None:
                at[row["id"]] = len(rows)
                rows.append(row)
            else:
                rows[i] = row
            if row["is_best"]:
                for other in rows:
                    if other["is_best"] and other["id"] != row["id"]:
                        other["is_best"] = False
        elif d["kind"] == "detail":
            state["details"][d["detail"]["iteration"]] = d["detail"]
        elif d["kind"] == "loss":
            state["losses"].setdefault(d["iteration"], []).extend(d["points"])
        elif d["kind"] == "step":
            apply_step(state, d)
    state["seq"] = batch["seq"]
    return True


def apply_step(state: Snapshot, d: StepDelta) -> None:
    """Put a step snapshot at its position (a new one at the end, else in place).

    A position past the end (an earlier one never arrived) is refused: the
    list stays in step order with no holes. The twin of ``applyStep`` in ``js/replay.ts``.
    """
    splits = state.setdefault("steps", {}).setdefault(d["iteration"], {})
    snaps = splits.setdefault(d["split"], [])
    if d["pos"] < len(snaps):
        snaps[d["pos"]] = d["snapshot"]
    elif d["pos"] == len(snaps):
        snaps.append(d["snapshot"])


def thin_losses(points: list[LossPoint], kept: int = LOSS_POINTS_KEPT) -> list[LossPoint]:
    """``points`` itself while shorter than ``2 * kept``; else ``kept`` evenly spread, ends kept."""
    n = len(points)
    if n < 2 * kept:
        return points
    step = (n - 1) / (kept - 1)
    return [points[round(i * step)] for i in range(kept)]


def snapshot_copy(state: Snapshot) -> Snapshot:
    """A copy of ``state`` that later batches cannot change, without a deep copy.

    Batches replace the header, details and rows rather than editing them,
    except the ``is_best`` flag of rows and the loss lists, which are copied.
    """
    return {
        "seq": state["seq"],
        "run": state["run"],
        "iterations": [dict(row) for row in state["iterations"]],  # type: ignore[misc]
        "details": dict(state["details"]),
        "losses": {k: list(v) for k, v in state["losses"].items()},
        "loss_chart": state["loss_chart"],
        "iterations_chart": state["iterations_chart"],
        "goals": state["goals"],
        "steps": {
            i: {split: list(snaps) for split, snaps in splits.items()}
            for i, splits in state.get("steps", {}).items()
        },
    }
