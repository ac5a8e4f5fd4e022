"""Throttled, diffed pushes from a run to the widget's views.

One thread per widget drives the whole path on a fixed beat of
``min_interval`` seconds: it asks this process's writer to commit what was
logged (points and iteration changes only; engines keep the writer's pace),
reads the run's changes from the store (:meth:`Run.watcher`), builds the
deltas of everything that changed since the last beat (rows, the details of
iterations whose metrics moved, new loss points), coalesces them, numbers the
batch and sends it as one custom message. Doing the three steps in series on
one beat, rather than on three independent timers, is what keeps a logged
point's way to the page under one beat. A run written by another process is
followed the same way; its writer's own commit interval is then added.

The same batch is applied to :attr:`Pusher.state` (the function the page's
``js/live.ts`` mirrors), and every ``snapshot_interval`` seconds that state
becomes the ``_snapshot`` trait, so a view opened later starts current.
:meth:`Pusher.prime` fills the state before the widget exists (header, rows,
losses), so the first view draws the table at once; the details follow in the
first beats, the shown iteration's first.

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

#: Seconds between two beats, so between two batches at the most (≤ 5 a second).
MIN_INTERVAL = 0.2
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
DETAIL_BUDGET = 0.1
#: Seconds between two refreshes of the rows while an iteration runs (its
#: duration moves) and nothing else changed them.
ROWS_INTERVAL = 1.0
#: Loss points per iteration the state (and so the snapshot) keeps: past twice
#: this, the history is thinned evenly to this many, first and last kept. Views
#: that are open receive every point; a view opened later starts from the thinned
#: history, so neither memory nor the snapshot grows with a long loop.
LOSS_POINTS_KEPT = 1000


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
        Throttles, in seconds: the beat, and the ``_snapshot`` refresh.
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
        self._poll_lock = threading.Lock()
        self._watcher = run.watcher()
        self._following = True
        # What record() collected since the last flush.
        self._changed = False
        self._rows_changed = True
        self._dirty: set[int] = set()
        self._points: list[Any] = []
        self._preferred: list[str] = []  # details to build first (the page's selection)
        # What the views have.
        self.state: Snapshot = empty_snapshot(run_info(run, []))
        self.state["loss_chart"] = loss_chart_spec()
        self.state["iterations_chart"] = iterations_chart_spec()
        self.state["goals"] = metric_goals(run)
        self._final: set[str] = set()
        self._detail_sent: dict[str, float] = {}
        self._rows_read = -float("inf")
        self._last_snapshot = -float("inf")
        self._snapshot_gap = snapshot_interval  # grows with the snapshot's size
        self._snapshot_stale = True
        self.sent = 0  # batches sent
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --------------------------------------------------------------- intake

    def record(self, change: Any) -> None:
        """Note a :class:`~runwatch.tracking.Change` (cheap: ids and new points only)."""
        with self._lock:
            self._changed = True
            if change.iteration_rows or change.splits:
                self._rows_changed = True
            self._dirty.update(row["id"] for row in change.iteration_rows)
            self._dirty.update(iteration_id for iteration_id, _ in change.splits)
            for point in change.points:
                if point.kind != "loss":  # a logged metric may be the primary one
                    self._rows_changed = True
                    break
            self._points.extend(change.points)

    def prefer(self, iteration_id: str | None) -> None:
        """Build this iteration's details before the others still waiting."""
        if iteration_id is None:
            return
        with self._lock:
            if iteration_id in self._preferred:
                self._preferred.remove(iteration_id)
            self._preferred.insert(0, iteration_id)

    def poll(self, commit: bool = True) -> None:
        """Record what the store holds that this pusher has not seen.

        With ``commit``, first ask this process's writer to commit what was
        logged (points and iteration changes; engines keep their own pace).
        """
        if commit:
            self.run.flush(timeout=1.0, states=False)
        with self._poll_lock:  # the watcher keeps one position: one reader at a time
            self.record(self._watcher.poll())

    # ---------------------------------------------------------------- output

    def prime(self) -> None:
        """Bring the state to the run as it is now, without sending anything.

        Header, rows and losses of every iteration; their details stay due and
        go out in the first batches (:meth:`start`), a budget at a time, the
        one the page shows first.
        """
        self.run.flush()  # engines too: the first view shows current metrics
        with self._poll_lock:
            self.record(self._watcher.poll())
        self.flush(send=False, budget=0.0)  # rows and header: now the automatic pick is known
        # Its details (30 ms for 100 classes) go first in the first beat, once
        # the widget has shown its table.
        self.prefer(self.state["run"]["auto"])

    def flush(self, send: bool = True, budget: float | None = None) -> Batch | None:
        """Apply everything recorded since the last flush as one batch, send it and return it.

        Parameters
        ----------
        send : bool, default True
            False applies the batch to :attr:`state` only (nobody listens yet).
        budget : float or None
            Seconds of detail building at the most (the preferred iteration's
            details are built regardless); what does not fit stays due for
            the next flush. None: every detail now.
        """
        with self._flush_lock:
            with self._lock:
                if not self._changed:
                    return None
                dirty, self._dirty = self._dirty, set()
                points, self._points = self._points, []
                rows_changed, self._rows_changed = self._rows_changed, False
                preferred = list(self._preferred)
                self._changed = False
            deltas, held = self._deltas(dirty, points, rows_changed, preferred, budget)
            if held:
                with self._lock:  # running iterations throttled, or over budget: next flush
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
            if not send:  # priming: the widget takes its selection from the state
                return batch
            self._send(batch)
            self.sent += 1
            if self._on_run is not None and any(d["kind"] == "run" for d in batch["deltas"]):
                self._on_run(self.state["run"])
            return batch

    def snapshot(self, published: bool = False) -> Snapshot:
        """A copy of the state that later batches cannot change.

        With ``published``, the caller hands it to the ``_snapshot`` trait
        itself (the widget's constructor): no refresh is due until the state
        changes.
        """
        with self._flush_lock:
            copy = snapshot_copy(self.state)
            if published:
                self._last_snapshot = self._clock()
                self._snapshot_stale = False
            return copy

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

    def _rows_due(self, rows_changed: bool, now: float) -> bool:
        if rows_changed:
            return True
        # Nothing but losses changed: only a running iteration's duration moved.
        running = any(r["status"] == "running" for r in self.state["iterations"])
        return running and now - self._rows_read >= ROWS_INTERVAL

    def _deltas(
        self,
        dirty: set[int],
        points: list[Any],
        rows_changed: bool,
        preferred: list[str],
        budget: float | None,
    ) -> tuple[list[Delta], set[int]]:
        deltas: list[Delta] = []
        now = self._clock()
        if self._rows_due(rows_changed, now):
            # The beat committed just before it polled: read what is committed.
            rows = iteration_rows(self.run, flush=False)
            self._rows_read = now
            header = run_info(self.run, rows)
            if header != self.state["run"]:
                deltas.append({"kind": "run", "run": header})
            known = {row["id"]: row for row in self.state["iterations"]}
            for row in rows:
                if known.get(row["id"]) != row:
                    deltas.append({"kind": "iteration", "row": row})
        held: set[int] = set()
        if dirty:
            by_id: dict[int, Any] | None = None  # read once, and only if a detail is built
            rank = {int(p): i for i, p in enumerate(preferred) if p.isdigit()}
            # The page's choice first, then the newest: what a person looks at.
            order = sorted(dirty, key=lambda i: (rank.get(i, len(rank)), -i))
            started = time.perf_counter()
            for iteration_id in order:
                key = str(iteration_id)
                if key in self._final:
                    continue
                first = iteration_id in rank
                if not first and budget is not None and time.perf_counter() - started >= budget:
                    held.add(iteration_id)
                    continue
                # The preferred one alone: one row. Many: one read of every row
                # beats many reads of one.
                if by_id is None and not first and len(order) > 10:
                    by_id = {it.id: it for it in self.run.iteration_list()}
                it = by_id.get(iteration_id) if by_id is not None else None
                if it is None:
                    try:
                        it = self.run.get(iteration_id)
                    except KeyError:  # deleted meanwhile
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
                    with self._lock:
                        if key in self._preferred:
                            self._preferred.remove(key)
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

    def beat(self, follow: bool = True) -> None:
        """One beat: read the run's changes (``follow``), send them, refresh the snapshot."""
        first = self.state["seq"] == 0
        if follow:
            try:
                self.poll()
            except Exception:  # a store another process holds locked: the next beat reads it
                logger.exception("runwatch: reading the run failed")
        self.flush(budget=DETAIL_BUDGET)
        self.publish_snapshot(force=first and self.state["seq"] > 0)

    def catch_up(self) -> None:
        """A beat now, on the caller's thread, then the snapshot refreshed if stale.

        The widget calls it when a cell ends: a view opened in a later cell,
        or the view redrawn by the summary's update, then starts from the run
        as the cell left it, whatever the size-based gap between refreshes.
        """
        self.beat(self._following)
        self.publish_snapshot(force=True)

    def start(self, follow: bool = True) -> None:
        """Start the thread that beats every ``min_interval`` seconds.

        With ``follow=False`` it reads nothing new: it sends the details still
        due after :meth:`prime`, publishes the snapshot and ends.
        """
        if self._thread is not None:
            return
        self._following = follow
        self._thread = threading.Thread(
            target=self._loop, args=(follow,), name="runwatch-widget", daemon=True
        )
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait for a thread started with ``follow=False`` to send everything."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self, follow: bool) -> None:
        # The first beat waits one interval: priming just read everything, and
        # the widget's display (in the kernel, then in the page) goes first.
        due = time.monotonic() + self.min_interval
        self._stop.wait(self.min_interval)
        while not self._stop.is_set():
            try:
                self.beat(follow)
            except Exception:
                logger.exception("runwatch: pushing a widget update failed")
            if not follow and not self._changed:
                self.publish_snapshot(force=True)
                break
            # A fixed beat, not a fixed pause: the work of a beat does not
            # stretch the time a logged point waits for the next one.
            due += self.min_interval
            now = time.monotonic()
            if due < now:
                due = now
            self._stop.wait(due - now)
        self._watcher.close()

    def stop(self) -> None:
        """Stop the thread."""
        self._stop.set()
        if self._thread is not None and threading.current_thread() is not self._thread:
            self._thread.join(5.0)
