"""The background writer: logging calls queue, one thread commits in batches.

A log call on the training thread appends a tuple to a ``collections.deque``
(atomic in CPython, no lock) and returns; it never touches the disk. The
writer thread wakes every ``INTERVAL`` seconds, drains the queue and commits
it in one transaction, so whatever was logged more than ``INTERVAL`` plus one
commit ago survives a ``kill -9``. It also commits on request (every
iteration end waits for one) and at interpreter exit (``atexit``), and it
refreshes its heartbeat while this process has iterations open, which is how
another process tells a live run from a dead one.

Queue entries (tuples, first item a tag):

- ``("loss", iteration_id, split, step, value, time)``
- ``("metric", iteration_id, name, step, value, time)``
- ``("state", iteration, split)``: the split's engine changed; the writer
  snapshots it (state copy, then ``compute()`` on the copy) at most every
  ``STATE_INTERVAL`` seconds, and at every requested flush.
- ``("iteration", iteration_id, {column: value})``: status, times, tags...
- ``("step", iteration, split, pos, step, state)``: a batch opened the split's
  next step; ``state`` is the engine state the previous step (``pos``) ended
  with, whose matrix and metrics the writer computes and stores
  (:mod:`runwatch.tracking._snapshots`). The current step's snapshot is
  written with each ``"state"`` snapshot of the split.

A step left as None is numbered here, off the training thread: the number of
points of that series before it.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
import weakref
from collections import deque
from typing import Any

import numpy as np

from . import _snapshots
from ._codec import dumps_metrics, encode_array
from .store import HOST, Store, tick, transaction

logger = logging.getLogger("runwatch")

INTERVAL = 0.2  # seconds between commits: well inside the one-second promise
HEARTBEAT = 1.0  # seconds between heartbeats while iterations are open
# Engine snapshots (a state copy plus compute()) are the writer's costly part
# and share the GIL with the training loop: at most this often unless a flush
# is asked for (iteration end, a reader in this process, exit).
STATE_INTERVAL = 0.5

_ITERATION_COLUMNS = frozenset(
    {"status", "error", "started", "ended", "tags", "feature_importance", "writer_id", "params"}
)


class Writer:
    """The one writer thread of this process for one store file.

    Parameters
    ----------
    store : Store
        The store it commits to.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.queue: deque[tuple[Any, ...]] = deque()
        # Iterations this process has open: their heartbeats, their state
        # snapshots, and what atexit marks interrupted.
        self.active: dict[int, Any] = {}
        self._run_of: dict[int, int] = {}
        self._steps: dict[tuple[int, str, str], int] = {}
        self._pending: list[tuple[Any, ...]] = []
        self._cond = threading.Condition()
        self._requested = 0
        self._done = 0
        self._states_asked = 0  # the newest ticket that wants engine snapshots now
        self._stop = False
        self._last_beat = 0.0
        self._last_states = 0.0
        self._dirty: dict[tuple[int, str], Any] = {}
        self._failures = 0
        conn = store.connect()
        now = time.time()
        with transaction(conn):
            self.id: int = conn.execute(
                "INSERT INTO writers (pid, host, started, heartbeat) VALUES (?, ?, ?, ?) "
                "RETURNING id",
                (os.getpid(), HOST, now, now),
            ).fetchone()[0]
        self._thread = threading.Thread(target=self._loop, name="runwatch-writer", daemon=True)
        self._thread.start()
        _open_writers.add(self)

    # ------------------------------------------------------------- interface

    def activate(self, iteration: Any) -> None:
        """Register an iteration this process logs into."""
        self._run_of[iteration.id] = iteration.run.id
        self.active[iteration.id] = iteration

    def deactivate(self, iteration_id: int) -> None:
        """Forget an iteration that ended (its last rows are already queued)."""
        self.active.pop(iteration_id, None)

    @property
    def alive(self) -> bool:
        """Whether the writer thread is running."""
        return self._thread.is_alive()

    def flush(self, timeout: float | None = 30.0, states: bool = True) -> bool:
        """Ask for a commit now and wait until everything queued before the call is in.

        Parameters
        ----------
        timeout : float or None
            Seconds to wait at the most (None: no limit).
        states : bool, default True
            Also snapshot every changed engine now. False commits points and
            iteration changes only (engines keep their ``STATE_INTERVAL``):
            what a follower polling several times a second asks for, so that
            its polls do not make the writer compute metrics each time.

        Returns
        -------
        bool
            Whether the commit finished within `timeout`.
        """
        if threading.current_thread() is self._thread:
            self._flush(force=states)
            return True
        with self._cond:
            self._requested += 1
            ticket = self._requested
            if states:
                self._states_asked = ticket
            self._cond.notify_all()
            return self._cond.wait_for(
                lambda: self._done >= ticket or not self._thread.is_alive(), timeout
            )

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is queued and stop the thread."""
        with self._cond:
            self._stop = True
            self._requested += 1
            self._states_asked = self._requested
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        _open_writers.discard(self)

    # ------------------------------------------------------------ the thread

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._requested > self._done or self._stop, INTERVAL)
                ticket = self._requested
                stop = self._stop
                asked = self._states_asked > self._done or stop
            try:
                self._flush(force=asked)
            except BaseException:  # never let the thread die: a dead writer loses data
                # The first failure and then one in a hundred: a broken disk
                # must not flood the log five times a second.
                if self._failures % 100 == 1:
                    logger.exception("runwatch: writing to %s failed; retrying", self.store.path)
            with self._cond:
                self._done = max(self._done, ticket)
                self._cond.notify_all()
            if stop:
                return

    def _drain(self) -> list[tuple[Any, ...]]:
        ops = self._pending
        self._pending = []
        queue = self.queue
        n = len(queue)
        pop = queue.popleft
        ops.extend(pop() for _ in range(n))
        return ops

    def _flush(self, force: bool = False) -> None:
        ops = self._drain()
        now = time.time()
        beat = bool(self.active) and now - self._last_beat >= HEARTBEAT
        points: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        closed: list[tuple[Any, ...]] = []
        dirty = self._dirty
        for op in ops:
            tag = op[0]
            if tag == "loss" or tag == "metric":
                points.append(op)
            elif tag == "state":
                dirty[(op[1].id, op[2])] = op[1]
            elif tag == "step":
                closed.append(op)
            else:
                updates.append(op)
        take_states = bool(dirty) and (force or now - self._last_states >= STATE_INTERVAL)
        if not points and not updates and not take_states and not beat and not closed:
            return
        states = dict(dirty) if take_states else {}
        # Snapshot engines and compute their metrics before taking the write
        # lock: that is CPU work other processes need not wait for.
        snaps = [_snapshot(it, split) for (_, split), it in states.items()]
        ended_steps = [e for e in map(_closed_step, closed) if e is not None]
        ops = [op for op in ops if op[0] != "state"]
        conn = self.store.connect()
        try:
            with transaction(conn):
                seq = tick(conn, iterations=bool(updates))
                if points:
                    self.store.insert_points(conn, self._number(conn, points))
                for _, iteration_id, fields in updates:
                    cols = [c for c in fields if c in _ITERATION_COLUMNS]
                    sets = ", ".join(f"{c} = ?" for c in cols)
                    conn.execute(
                        f"UPDATE iterations SET {sets}, seq = ? WHERE id = ?",
                        [fields[c] for c in cols] + [seq, iteration_id],
                    )
                for snap in snaps:
                    if snap is not None:
                        _write_snapshot(conn, seq, snap)
                for iteration_id, split, pos, step, parts in ended_steps:
                    _snapshots.write_step(conn, seq, iteration_id, split, pos, step, parts)
                conn.execute("UPDATE writers SET heartbeat = ? WHERE id = ?", (now, self.id))
        except BaseException:
            # Keep the batch for the next attempt; numbering restarts from the store.
            self._pending = ops + self._pending
            self._steps.clear()
            self._failures += 1
            raise
        self._last_beat = now
        for snap, it in zip(snaps, states.values()):
            if snap is not None and snap["step"] is not None:  # committed: final if no batch since
                it._steps.mark_stored(snap["split"], snap["version"], snap["step"][0])
        if take_states:
            self._last_states = now
            for key in states:
                if dirty.get(key) is states[key]:
                    del dirty[key]

    def _number(self, conn: Any, points: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        rows = []
        steps = self._steps
        run_of = self._run_of
        for kind, iteration_id, name, step, value, t in points:
            key = (iteration_id, kind, name)
            n = steps.get(key)
            if n is None:
                n = conn.execute(
                    "SELECT count(*) FROM points WHERE iteration_id = ? AND kind = ? AND name = ?",
                    key,
                ).fetchone()[0]
            steps[key] = n + 1
            run_id = run_of.get(iteration_id)
            if run_id is None:
                run_id = conn.execute(
                    "SELECT run_id FROM iterations WHERE id = ?", (iteration_id,)
                ).fetchone()[0]
                run_of[iteration_id] = run_id
            rows.append((run_id, iteration_id, kind, name, n if step is None else step, value, t))
        return rows


def _snapshot(iteration: Any, split: str) -> dict[str, Any] | None:
    # What _write_snapshot stores for one split of an iteration. Copy the
    # engine state under the iteration's lock (a memcpy), compute the metrics
    # from the copy outside it, so the training thread never waits for them.
    with iteration._lock:
        engine = iteration._engines.get(split)
        if engine is None:
            return None
        try:
            state = {k: np.array(v, copy=True) for k, v in engine.state_dict().items()}
        except Exception:
            logger.exception("runwatch: state_dict() failed for iteration %s", iteration.id)
            return None
        n, counts = iteration._counts.get(split, (0, {}))
        count_list = [[k, v] for k, v in counts.items()]
        current_step = iteration._steps.current(split)
        version = iteration._steps.version(split)
    metrics = reasons = step = None
    try:
        copy = type(engine).from_state_dict(state)
        metrics = copy.compute()
        reasons = copy.reasons() if hasattr(copy, "reasons") else {}
        if current_step is not None:  # the current step's snapshot is this state
            step = (*current_step, _snapshots.take(copy, metrics))
    except Exception:
        logger.exception("runwatch: computing metrics failed for iteration %s", iteration.id)
    return {
        "iteration_id": iteration.id,
        "split": split,
        "state": state,
        "n_samples": n,
        "class_counts": count_list,
        "metrics": metrics,
        "reasons": reasons,
        "step": step,
        "version": version,
    }


def _closed_step(op: tuple[Any, ...]) -> tuple[Any, ...] | None:
    # ("step", iteration, split, pos, step, state): the matrix and metrics of
    # the state a step ended with, computed here, off the training thread.
    # Never raises: this runs before the commit's try, whose batch must not be lost.
    _, iteration, split, pos, step, state = op
    metrics = None
    try:
        copy = type(iteration._engines[split]).from_state_dict(state)
        try:
            metrics = copy.compute()
        except Exception:
            logger.exception("runwatch: computing metrics failed for iteration %s", iteration.id)
        return iteration.id, split, pos, step, _snapshots.take(copy, metrics)
    except Exception:
        logger.exception("runwatch: a step snapshot failed for iteration %s", iteration.id)
        return None


def _write_snapshot(conn: Any, seq: int, snap: dict[str, Any]) -> None:
    iteration_id, split = snap["iteration_id"], snap["split"]
    if snap["step"] is not None:
        pos, step, parts = snap["step"]
        _snapshots.write_step(conn, seq, iteration_id, split, pos, step, parts)
    conn.execute("DELETE FROM states WHERE iteration_id = ? AND split = ?", (iteration_id, split))
    rows = []
    for key, arr in snap["state"].items():
        dtype, shape, data = encode_array(arr, f"state {key!r}")
        rows.append((iteration_id, split, key, dtype, json.dumps(shape), data))
    conn.executemany(
        "INSERT INTO states (iteration_id, split, key, dtype, shape, data) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute(
        "INSERT INTO splits "
        "(iteration_id, split, n_samples, class_counts, metrics, reasons, seq) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (iteration_id, split) DO UPDATE SET "
        "n_samples = excluded.n_samples, class_counts = excluded.class_counts, "
        "metrics = excluded.metrics, reasons = excluded.reasons, seq = excluded.seq",
        (
            iteration_id,
            split,
            snap["n_samples"],
            json.dumps(snap["class_counts"]),
            None if snap["metrics"] is None else dumps_metrics(snap["metrics"]),
            None if snap["reasons"] is None else json.dumps(snap["reasons"], sort_keys=True),
            seq,
        ),
    )


_open_writers: weakref.WeakSet[Writer] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    # At interpreter exit: an iteration still open will never be ended by
    # anyone, so it is interrupted; then commit everything and stop.
    for writer in list(_open_writers):
        for iteration in list(writer.active.values()):
            try:
                iteration._end("interrupted", "the process exited before it ended", False)
            except Exception:  # exit must go on; the reader sees a dead writer anyway
                logger.exception("runwatch: could not mark iteration %s", iteration.id)
        writer.close()
