"""Throttled, diffed pushes from a run to the widget's views.

The tracking layer's poller (``Run.on_change``) hands :meth:`Pusher.record`
each :class:`~runwatch.tracking.Change`; recording only notes ids and keeps
the new loss points, so it costs nothing measurable. A flusher thread calls
:meth:`Pusher.flush` at most ``1 / min_interval`` times a second: it builds
the deltas of everything that changed since the previous flush (rows, the
details of iterations whose metrics moved, new loss points), coalesces them,
numbers the batch and sends it as one custom message. The same batch is
applied to :attr:`Pusher.state` (the function the page's ``js/live.ts``
mirrors), and every ``snapshot_interval`` seconds that state becomes the
``_snapshot`` trait, so a view opened later starts current.

Nothing here runs on the training thread: a log call only appends to the
tracking layer's queue, as without the widget.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ._contract import Batch, Delta, Detail, LossPoint, RunInfo, Snapshot, empty_snapshot
from ._payload import (
    ENDED,
    iteration_detail,
    iteration_rows,
    iterations_chart_spec,
    loss_chart_spec,
    loss_points,
    metric_goals,
    run_info,
)

logger = logging.getLogger("runwatch")

#: Seconds between two batches at the most (≤ 4 messages a second).
MIN_INTERVAL = 0.25
#: Seconds between two refreshes of the ``_snapshot`` trait at the most.
SNAPSHOT_INTERVAL = 2.0
#: Bytes per second the ``_snapshot`` refreshes may cost at the most: a large
#: snapshot (long loss histories, many iterations) is refreshed less often, so
#: its share of each appended point stays bounded while deltas carry the news.
SNAPSHOT_BYTES_PER_SECOND = 25_000
#: Seconds between two detail deltas of one running iteration at the most.
LIVE_DETAIL_INTERVAL = 1.0
#: Seconds of detail building per batch; the rest waits for the next batch, so
#: rows and losses are never held up by charts.
DETAIL_BUDGET = 0.15
#: Loss points per iteration the state (and so the snapshot) keeps: past twice
#: this, the history is thinned evenly to this many, first and last kept. Views
#: that are open receive every point; a view opened later starts from the thinned
#: history, so neither memory nor the snapshot grows with a long loop.
LOSS_POINTS_KEPT = 2000


def coalesce(deltas: list[Delta]) -> list[Delta]:
    """Merge a list of deltas into the fewest that have the same effect.

    The last run header wins, the last row and the last details of an
    iteration win, and loss points of an iteration are concatenated in order.
    Order of the result: run, rows, details, losses.
    """
    run: Delta | None = None
    rows: dict[str, Delta] = {}
    details: dict[str, Delta] = {}
    losses: dict[str, list[LossPoint]] = {}
    for d in deltas:
        if d["kind"] == "run":
            run = d
        elif d["kind"] == "iteration":
            rows[d["row"]["id"]] = d
        elif d["kind"] == "detail":
            details[d["detail"]["iteration"]] = d
        elif d["kind"] == "loss":
            losses.setdefault(d["iteration"], []).extend(d["points"])
    out: list[Delta] = [] if run is None else [run]
    out += rows.values()
    out += details.values()
    out += [{"kind": "loss", "iteration": i, "points": p} for i, p in losses.items()]
    return out


def apply_batch(state: Snapshot, batch: Batch) -> bool:
    """Apply ``batch`` to ``state`` in place; False (and no change) on a gap in ``seq``.

    The Python twin of ``applyBatch`` in ``js/live.ts``.
    """
    if batch["seq"] != state["seq"] + 1:
        return False
    for d in batch["deltas"]:
        if d["kind"] == "run":
            state["run"] = d["run"]
        elif d["kind"] == "iteration":
            row = d["row"]
            rows = state["iterations"]
            for i, old in enumerate(rows):
                if old["id"] == row["id"]:
                    rows[i] = row
                    break
            else:
                rows.append(row)
            if row["is_best"]:
                for other in rows:
                    if other["id"] != row["id"]:
                        other["is_best"] = False
        elif d["kind"] == "detail":
            state["details"][d["detail"]["iteration"]] = d["detail"]
        elif d["kind"] == "loss":
            state["losses"].setdefault(d["iteration"], []).extend(d["points"])
    state["seq"] = batch["seq"]
    return True


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
    }


class Pusher:
    """Turns a run's changes into numbered batches for the widget.

    Parameters
    ----------
    run : runwatch.tracking.Run
    send : callable
        Sends one :class:`~._contract.Batch` to the views (``widget.send``).
    publish : callable
        Receives a new snapshot for the ``_snapshot`` trait.
    on_run : callable, optional
        Receives the run header after every batch that changed it (the widget
        moves its automatic selection with it).
    min_interval, snapshot_interval : float
        Throttles, in seconds.
    clock : callable
        Time source (tests pass a fake one).
    """

    def __init__(
        self,
        run: Any,
        send: Callable[[Batch], Any],
        publish: Callable[[Snapshot], Any],
        on_run: Callable[[RunInfo], Any] | None = None,
        min_interval: float = MIN_INTERVAL,
        snapshot_interval: float = SNAPSHOT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run = run
        self._send = send
        self._publish = publish
        self._on_run = on_run
        self.min_interval = min_interval
        self.snapshot_interval = snapshot_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        # What record() collected since the last flush.
        self._changed = False
        self._dirty: set[int] = set()
        self._points: list[Any] = []
        # What the views have.
        self.state: Snapshot = empty_snapshot(run_info(run, []))
        self.state["loss_chart"] = loss_chart_spec()
        self.state["iterations_chart"] = iterations_chart_spec()
        self.state["goals"] = metric_goals(run)
        self._final: set[str] = set()
        self._detail_sent: dict[str, float] = {}
        self._last_snapshot = -float("inf")
        self._snapshot_gap = snapshot_interval  # grows with the snapshot's size
        self._snapshot_stale = True
        self.sent = 0  # batches sent
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscription: Any = None

    # --------------------------------------------------------------- intake

    def record(self, change: Any) -> None:
        """Note a :class:`~runwatch.tracking.Change` (called on the poller thread; cheap)."""
        with self._lock:
            self._changed = True
            self._dirty.update(row["id"] for row in change.iteration_rows)
            self._dirty.update(iteration_id for iteration_id, _ in change.splits)
            self._points.extend(change.points)

    # ---------------------------------------------------------------- output

    def flush(self) -> Batch | None:
        """Send one batch of everything recorded since the last flush; return it (or None)."""
        with self._flush_lock:
            with self._lock:
                if not self._changed:
                    return None
                dirty, self._dirty = self._dirty, set()
                points, self._points = self._points, []
                self._changed = False
            deltas, held = self._deltas(dirty, points)
            if held:
                with self._lock:  # running iterations throttled this time: next flush
                    self._dirty.update(held)
                    self._changed = True
            if not deltas:
                return None
            batch: Batch = {"seq": self.state["seq"] + 1, "deltas": coalesce(deltas)}
            applied = apply_batch(self.state, batch)
            assert applied
            for d in batch["deltas"]:
                if d["kind"] == "loss":
                    losses = self.state["losses"]
                    losses[d["iteration"]] = thin_losses(losses[d["iteration"]])
            self._snapshot_stale = True
            self._send(batch)
            self.sent += 1
            if self._on_run is not None and any(d["kind"] == "run" for d in batch["deltas"]):
                self._on_run(self.state["run"])
            return batch

    def publish_snapshot(self, force: bool = False) -> bool:
        """Copy the state into the ``_snapshot`` trait when stale and due (or forced)."""
        with self._flush_lock:
            now = self._clock()
            if not self._snapshot_stale:
                return False
            if not force and now - self._last_snapshot < self._snapshot_gap:
                return False
            snapshot = snapshot_copy(self.state)
            self._publish(snapshot)
            self._last_snapshot = now
            self._snapshot_stale = False
            size = len(json.dumps(snapshot, default=str))
            self._snapshot_gap = max(self.snapshot_interval, size / SNAPSHOT_BYTES_PER_SECOND)
            return True

    def _deltas(self, dirty: set[int], points: list[Any]) -> tuple[list[Delta], set[int]]:
        deltas: list[Delta] = []
        rows = iteration_rows(self.run)
        header = run_info(self.run, rows)
        if header != self.state["run"]:
            deltas.append({"kind": "run", "run": header})
        known = {row["id"]: row for row in self.state["iterations"]}
        for row in rows:
            if known.get(row["id"]) != row:
                deltas.append({"kind": "iteration", "row": row})
        held: set[int] = set()
        if dirty:
            by_id = {it.id: it for it in self.run.iteration_list()}
            now = self._clock()
            started = time.perf_counter()
            for iteration_id in sorted(dirty):
                it = by_id.get(iteration_id)
                key = str(iteration_id)
                if it is None or key in self._final:
                    continue
                # The budget holds details back for the flusher thread's next round;
                # without that thread (a widget that does not follow the run) there
                # is no next round, so every detail goes now.
                budgeted = self._thread is not None
                if budgeted and time.perf_counter() - started > DETAIL_BUDGET:
                    held.add(iteration_id)
                    continue
                ended = it.status in ENDED
                if not ended and now - self._detail_sent.get(key, -float("inf")) < (
                    LIVE_DETAIL_INTERVAL
                ):
                    held.add(iteration_id)
                    continue
                detail = self._detail(it)
                if detail is None:
                    continue
                self._detail_sent[key] = now
                if detail["final"]:
                    self._final.add(key)
                deltas.append({"kind": "detail", "detail": detail})
        for iteration, new in loss_points(points).items():
            deltas.append({"kind": "loss", "iteration": iteration, "points": new})
        return deltas, held

    def _detail(self, iteration: Any) -> Detail | None:
        try:
            return iteration_detail(iteration)
        except Exception:  # one bad iteration must not stop the others' updates
            logger.exception("runwatch: building the details of iteration %s failed", iteration.id)
            return None

    # ---------------------------------------------------------------- thread

    def start(self, poll_interval: float = MIN_INTERVAL) -> None:
        """Subscribe to the run and start the flusher thread."""
        if self._thread is not None:
            return
        self._subscription = self.run.on_change(self.record, interval=poll_interval, replay=True)
        self._thread = threading.Thread(target=self._loop, name="runwatch-widget", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                first = self.state["seq"] == 0
                self.flush()
                self.publish_snapshot(force=first and self.state["seq"] > 0)
            except Exception:
                logger.exception("runwatch: pushing a widget update failed")
            self._stop.wait(self.min_interval)

    def stop(self) -> None:
        """Stop the subscription and the flusher thread."""
        self._stop.set()
        if self._subscription is not None:
            self._subscription.cancel()
        if self._thread is not None and threading.current_thread() is not self._thread:
            self._thread.join(5.0)
