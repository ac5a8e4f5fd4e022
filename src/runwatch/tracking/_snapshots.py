"""Per-step snapshots of a split's confusion matrix and metrics: what the replay reads.

``it.update(split, ..., step=epoch)`` marks the batches of a split with a step
(an int or a float, non-decreasing per split). The split keeps one snapshot
per step: its confusion matrix and its ``compute()`` metrics, never the
engine state, so a step costs a few KB (the K x K matrix as int64, or float64
when weights make it fractional, plus the metrics as JSON).

Semantics (the issue's proof: "the replayed matrix at step k equals a fresh
engine fed the first k epochs"): the snapshot of step k is the split's state
after every update with a step at most k, cumulative like the split's engine
itself. Batches without a step count in the current step (or, before the
first step, in the first). The last step's snapshot is the split's current
state, written again with each engine snapshot of the background writer.
When a batch opens a new step, the previous step's snapshot is final if the
writer committed it after the split's last batch (the usual case in a
training loop, where an epoch of training separates two evaluations);
otherwise the state it ended with is copied on the caller's thread (a memcpy
of the engine's arrays) and its matrix and metrics are computed on the
writer's thread.

Labels are kept by name per snapshot (the matrix's true labels, its rows,
and predicted labels, its columns), so snapshots taken as the engine learns
labels align by name; detection keeps its background row and column as the
engine's matrix has them. Engines without a confusion matrix (regression)
keep the metrics only.

Stored in the ``steps`` table (schema version 3, both backends): one row per
(iteration, split, position), the step as JSON text (an int stays an int), the
labels as JSON, the matrix as raw bytes with its dtype.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ._codec import decode_array, dumps_metrics, encode_array, loads_metrics
from ._validate import check_step, plain_label

if TYPE_CHECKING:
    import pandas as pd

#: What the ``steps`` table holds, in column order (``_sqlite``, ``_postgres``).
COLUMNS = (
    "iteration_id", "split", "pos", "step", "true_labels", "labels", "dtype", "matrix",
    "metrics", "seq",
)  # fmt: skip


@dataclass(frozen=True)
class StepSnapshot:
    """A split of an iteration as it stood at the end of one step.

    Attributes
    ----------
    step : int or float
        The step, as given to ``update``.
    true_labels, labels : list
        The matrix's rows (true labels) and columns (predicted labels), in
        the engine's order at that step.
    matrix : numpy.ndarray or None
        ``(len(true_labels), len(labels))`` counts: int64, or float64 with
        fractional weights. None for engines without a confusion matrix.
    metrics : dict
        ``compute()`` of the split at that step (NaN where undefined).
    """

    step: int | float
    true_labels: list[Any]
    labels: list[Any]
    matrix: np.ndarray | None
    metrics: dict[str, float] = field(default_factory=dict)

    def confusion_matrix(self) -> pd.DataFrame | None:
        """The matrix as the engine's ``confusion_matrix()`` gives it (rows true), or None."""
        import pandas as pd

        if self.matrix is None:
            return None
        return pd.DataFrame(
            self.matrix,
            index=pd.Index(self.true_labels, name="true"),
            columns=pd.Index(self.labels, name="predicted"),
        )


class StepLog:
    """The steps an iteration's splits have seen, in order (the caller holds its lock).

    ``plan`` checks a step before the batch is fed, ``commit`` records it once
    the engine took the batch: a refused batch leaves the log as it was. Each
    batch a split takes bumps its version (``fed``); the writer marks the
    (version, position) it committed (``mark_stored``), so a new step knows
    whether the previous one's snapshot in the store is final (``is_stored``).
    """

    def __init__(self) -> None:
        self._steps: dict[str, list[int | float]] = {}
        self._versions: dict[str, int] = {}
        self._stored: dict[str, tuple[int, int]] = {}

    def fed(self, split: str) -> None:
        """The split took a batch."""
        self._versions[split] = self._versions.get(split, 0) + 1

    def version(self, split: str) -> int:
        """How many batches the split took (in this process)."""
        return self._versions.get(split, 0)

    def mark_stored(self, split: str, version: int, pos: int) -> None:
        """The writer committed the split's snapshot at ``pos`` as of ``version``."""
        self._stored[split] = (version, pos)

    def is_stored(self, split: str) -> bool:
        """Whether the store's snapshot of the current step holds every batch the split took."""
        current = self.current(split)
        return current is not None and self._stored.get(split) == (self.version(split), current[0])

    def load(self, split: str, steps: list[int | float]) -> None:
        """Continue a split whose steps the store holds (a resumed iteration)."""
        self._steps[split] = list(steps)

    def steps(self, split: str) -> list[int | float]:
        """The split's steps so far."""
        return list(self._steps.get(split, ()))

    def current(self, split: str) -> tuple[int, int | float] | None:
        """(position, step) of the split's last step, or None before any."""
        steps = self._steps.get(split)
        if not steps:
            return None
        return len(steps) - 1, steps[-1]

    def plan(self, split: str, step: Any) -> tuple[int | float | None, bool]:
        """The checked step of a batch and whether it opens a new step.

        Raises
        ------
        ValueError
            Naming ``step``, when it is not a number or is below the split's
            last step.
        """
        step = check_step(step)
        if step is None:
            return None, False
        steps = self._steps.get(split)
        if not steps:
            return step, True
        last = steps[-1]
        if step < last:
            raise ValueError(
                f"step must not decrease within a split: {split} is at step {last!r}, got {step!r}"
            )
        return step, step > last

    def commit(self, split: str, step: int | float) -> int:
        """Record a new step of the split; return its position."""
        steps = self._steps.setdefault(split, [])
        steps.append(step)
        return len(steps) - 1


def copy_state(engine: Any) -> dict[str, np.ndarray]:
    """A copy of an engine's state that later batches cannot change."""
    return {k: np.array(v, copy=True) for k, v in engine.state_dict().items()}


def take(engine: Any, metrics: dict[str, float] | None) -> dict[str, Any]:
    """The snapshot parts of an engine (a copy nobody else updates): labels, matrix, metrics."""
    true_labels: list[Any] = []
    labels: list[Any] = []
    matrix = None
    if hasattr(engine, "confusion_matrix"):
        frame = engine.confusion_matrix()
        true_labels = [plain_label(v) for v in frame.index]
        labels = [plain_label(v) for v in frame.columns]
        matrix = counts_array(frame.to_numpy())
    return {
        "true_labels": true_labels,
        "labels": labels,
        "matrix": matrix,
        "metrics": {} if metrics is None else dict(metrics),
    }


def counts_array(values: Any) -> np.ndarray:
    """Counts as int64 when every one is whole (no fractional weights), else float64."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0 or (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
        return arr.astype(np.int64)
    return arr


def step_text(step: int | float) -> str:
    """A step as JSON text that reads back as the same type (3 -> "3", 3.0 -> "3.0")."""
    return json.dumps(step)


def write_step(
    conn: Any, seq: int, iteration_id: int, split: str, pos: int, step: Any, parts: dict[str, Any]
) -> None:
    """Insert or replace one snapshot row, inside the caller's write transaction."""
    matrix = parts["matrix"]
    dtype = data = None
    if matrix is not None:
        dtype, _shape, data = encode_array(matrix, "step matrix")
    conn.execute(
        "INSERT INTO steps (iteration_id, split, pos, step, true_labels, labels, dtype, matrix, "
        "metrics, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (iteration_id, split, pos) DO UPDATE SET step = excluded.step, "
        "true_labels = excluded.true_labels, labels = excluded.labels, dtype = excluded.dtype, "
        "matrix = excluded.matrix, metrics = excluded.metrics, seq = excluded.seq",
        (
            iteration_id,
            split,
            pos,
            step_text(step),
            json.dumps(parts["true_labels"]),
            json.dumps(parts["labels"]),
            dtype,
            data,
            dumps_metrics(parts["metrics"]),
            seq,
        ),
    )


def decode_row(row: dict[str, Any]) -> StepSnapshot:
    """A ``steps`` row (as a dict of its columns) as a :class:`StepSnapshot`."""
    true_labels = json.loads(row["true_labels"])
    labels = json.loads(row["labels"])
    matrix = None
    if row["matrix"] is not None:
        shape = [len(true_labels), len(labels)]
        matrix = decode_array(row["dtype"], shape, bytes(row["matrix"]), "step matrix")
    return StepSnapshot(
        step=json.loads(row["step"]),
        true_labels=true_labels,
        labels=labels,
        matrix=matrix,
        metrics=loads_metrics(row["metrics"]),
    )


def read_rows(
    store: Any, iteration_ids: list[int], split: str | None = None
) -> list[dict[str, Any]]:
    """The ``steps`` rows of the given iterations (and split), by iteration, split, position."""
    if not iteration_ids:
        return []
    marks = ",".join("?" * len(iteration_ids))
    sql = f"SELECT * FROM steps WHERE iteration_id IN ({marks})"
    args: list[Any] = list(iteration_ids)
    if split is not None:
        sql += " AND split = ?"
        args.append(split)
    cur = store.connect().execute(sql + " ORDER BY iteration_id, split, pos", args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def read(store: Any, iteration_id: int, split: str) -> list[StepSnapshot]:
    """One split's snapshots, in step order."""
    return [decode_row(r) for r in read_rows(store, [iteration_id], split)]


# ------------------------------------------------------------- export / import


def to_document(snap: StepSnapshot) -> dict[str, Any]:
    """A snapshot as plain JSON data (export): matrix rows as ints, or floats when weighted."""
    return {
        "step": snap.step,
        "true_labels": snap.true_labels,
        "labels": snap.labels,
        "matrix": None if snap.matrix is None else snap.matrix.tolist(),
        "metrics": {k: (v if math.isfinite(v) else None) for k, v in snap.metrics.items()},
    }


def from_document(doc: Any, where: str, fail: Any) -> dict[str, Any]:
    """The parts of an exported snapshot, checked (``fail(where, what)`` raises)."""
    if not isinstance(doc, dict):
        fail(where, "must be an object with step, true_labels, labels, matrix and metrics")
    for key in ("step", "true_labels", "labels", "matrix", "metrics"):
        if key not in doc:
            fail(f"{where}.{key}", "is missing")
    try:
        step = check_step(doc["step"], "step")
    except ValueError:
        step = None
    if step is None:
        fail(f"{where}.step", f"must be a finite number, got {doc['step']!r}")
    true_labels, labels = doc["true_labels"], doc["labels"]
    for key, names in (("true_labels", true_labels), ("labels", labels)):
        if not isinstance(names, list) or not all(
            isinstance(v, (str, int, float)) and not (isinstance(v, float) and not math.isfinite(v))
            for v in names
        ):
            fail(f"{where}.{key}", "must be a list of labels (strings or numbers)")
    matrix = doc["matrix"]
    arr = None
    if matrix is not None:
        ok = isinstance(matrix, list) and len(matrix) == len(true_labels)
        ok = ok and all(isinstance(r, list) and len(r) == len(labels) for r in matrix)
        cells = [v for r in matrix for v in r] if ok else []
        ok = ok and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in cells
        )
        if not ok:
            fail(f"{where}.matrix", "must be a true_labels x labels list of finite numbers")
        whole = all(isinstance(v, int) for v in cells)
        arr = np.asarray(matrix, dtype=np.int64 if whole else np.float64).reshape(
            len(true_labels), len(labels)
        )
    metrics = doc["metrics"]
    numbers = (v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in
               (metrics.values() if isinstance(metrics, dict) else [None]))  # fmt: skip
    if not isinstance(metrics, dict) or not all(numbers):
        fail(f"{where}.metrics", "must map metric names to numbers or null")
    values = {k: (math.nan if v is None else float(v)) for k, v in metrics.items()}
    return {
        "step": step,
        "true_labels": true_labels,
        "labels": labels,
        "matrix": arr,
        "metrics": values,
    }
