"""Watching a run: read only what changed since the last look.

Points have ids that grow with commits and the rows that change in place
(iterations, splits) carry the store clock's tick of their last write; every
backend serialises write transactions on the clock, so everything committed
after a reader's snapshot has a larger id or tick. A :class:`Watcher` keeps
the largest of each it has seen and asks for ``> last`` only. The one thing
no write announces is a writer dying, so each poll also looks at the run's
queued and running iterations (few) and reports those that now read as
interrupted.

A :class:`Subscription` polls every ``interval`` on SQLite; on PostgreSQL it
is woken by the NOTIFY of each commit and looks on its own only every second
(:meth:`Store.follow_interval`), for dead writers.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .store import Store

logger = logging.getLogger("runwatch")


class Point(NamedTuple):
    """One logged loss (kind "loss", name = split) or metric (kind "metric")."""

    id: int
    iteration_id: int
    kind: str
    name: str
    step: int | float
    value: float
    time: float


@dataclass
class Change:
    """What changed in a run between two polls.

    Attributes
    ----------
    iteration_rows : list of dict
        Iterations created or changed (status, times, tags, ...), each as its
        store row with the status it reads as.
    points : list of Point
        New losses and metrics, in commit order.
    splits : list of (iteration_id, split)
        Splits whose engine state and metrics were saved again.
    steps : list of (iteration_id, split, position)
        Per-step snapshots (the replay's) written or rewritten, by iteration,
        split and position.
    """

    iteration_rows: list[dict[str, Any]] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    splits: list[tuple[int, str]] = field(default_factory=list)
    steps: list[tuple[int, str, int]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.iteration_rows or self.points or self.splits or self.steps)

    @property
    def statuses(self) -> dict[int, str]:
        """Iteration id -> status, for the iterations in this change."""
        return {row["id"]: row["status"] for row in self.iteration_rows}


class Watcher:
    """Reads a run's changes incrementally.

    Parameters
    ----------
    store : Store
    run_id : int
    replay : bool, default True
        Start from the beginning (the first poll returns everything) or from now.
    """

    def __init__(self, store: Store, run_id: int, replay: bool = True) -> None:
        self.store = store
        self.run_id = run_id
        self.last_point = 0
        self.last_seq = 0
        self._reported: dict[int, str] = {}
        if not replay:
            with store.snapshot() as conn:
                self.last_seq = conn.execute("SELECT seq FROM clock").fetchone()[0]
                self.last_point = conn.execute(
                    "SELECT coalesce(max(id), 0) FROM points WHERE run_id = ?", (run_id,)
                ).fetchone()[0]
                for row in store.iteration_rows(run_id):
                    self._reported[row["id"]] = row["status"]

    def poll(self) -> Change:
        """Return what was committed since the previous poll."""
        store = self.store
        with store.snapshot() as conn:
            seq = conn.execute("SELECT seq FROM clock").fetchone()[0]
            rows = store.iteration_rows(self.run_id, since_seq=self.last_seq)
            active = store.active_rows(self.run_id)
            points = conn.execute(
                "SELECT id, iteration_id, kind, name, step, value, time FROM points "
                "WHERE run_id = ? AND id > ? ORDER BY id",
                (self.run_id, self.last_point),
            ).fetchall()
            splits = conn.execute(
                "SELECT s.iteration_id, s.split FROM splits s "
                "JOIN iterations i ON i.id = s.iteration_id "
                "WHERE i.run_id = ? AND s.seq > ? ORDER BY s.seq, s.iteration_id, s.split",
                (self.run_id, self.last_seq),
            ).fetchall()
            steps = conn.execute(
                "SELECT st.iteration_id, st.split, st.pos FROM steps st "
                "JOIN iterations i ON i.id = st.iteration_id "
                "WHERE i.run_id = ? AND st.seq > ? ORDER BY st.iteration_id, st.split, st.pos",
                (self.run_id, self.last_seq),
            ).fetchall()
        self.last_seq = seq
        if points:
            self.last_point = points[-1][0]
        changed = {row["id"]: row for row in rows}
        for row in active:
            # Status changes nobody wrote: the writer died.
            if row["id"] not in changed and self._reported.get(row["id"]) != row["status"]:
                changed[row["id"]] = row
        for row in changed.values():
            self._reported[row["id"]] = row["status"]
        return Change(
            iteration_rows=sorted(changed.values(), key=lambda r: r["id"]),
            points=[Point._make(p) for p in points],
            splits=[tuple(s) for s in splits],
            steps=[tuple(s) for s in steps],
        )

    def close(self) -> None:
        """Close the calling thread's connection to the store (a polling thread that ends)."""
        self.store.disconnect()


class Subscription:
    """A poller thread calling a callback with each non-empty :class:`Change`.

    Created by :meth:`Run.on_change`; stop it with :meth:`cancel`.
    """

    def __init__(
        self,
        store: Store,
        run_id: int,
        callback: Any,
        interval: float,
        replay: bool = True,
    ) -> None:
        self._watcher = Watcher(store, run_id, replay)
        self._callback = callback
        self._interval = interval
        self._stopped = threading.Event()
        # Set by a commit the store announces, or by cancel().
        self._wake = threading.Event()
        store.change_events.add(self._wake)
        self._thread = threading.Thread(target=self._loop, name="runwatch-watch", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                change = self._watcher.poll()
            except Exception:
                logger.exception("runwatch: polling %s failed", self._watcher.store.path)
                change = None
            if change:
                try:
                    self._callback(change)
                except Exception:  # a broken callback must not end the subscription
                    logger.exception("runwatch: on_change callback raised")
            self._wake.wait(self._watcher.store.follow_interval(self._interval))
            self._wake.clear()
        self._watcher.store.change_events.discard(self._wake)
        self._watcher.close()

    @property
    def active(self) -> bool:
        """Whether the poller still runs."""
        return self._thread.is_alive()

    def cancel(self, timeout: float | None = 5.0) -> None:
        """Stop polling (waits for a callback in progress to return)."""
        self._stopped.set()
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cancel()
