"""Throttled, diffed pushes from a run to the widget's views, in two lanes.

One thread per widget drives the run's news on a fixed beat of
``min_interval`` seconds: it asks this process's writer to commit what was
logged (points and iteration changes only; engines keep the writer's pace),
reads the run's changes from the store (:meth:`Run.watcher`), and sends the
header, the rows that changed and the new loss points as one numbered batch.
Doing the three steps in series on one beat, rather than on three independent
timers, is what keeps a logged point's way to the page under one beat. A run
written by another process is followed the same way; its writer's own commit
interval is then added.

The details of iterations whose metrics moved (every split's metrics, matrix
and chart specs: 0.1-0.6 s each for ten classes with probabilities) are built
in a second thread, the detail lane, and sent in batches of their own, the
page's choice first. So a new row, a status or a loss point never waits
behind a detail being built: both lanes number their batches from one
sequence, under one lock held only to apply and send.

Each batch is applied to :attr:`Pusher.state` (the function the page's
``js/live.ts`` mirrors). That state becomes the ``_snapshot`` trait, which a
view starts from, only when a view may need it: in the first seconds after
the widget starts (its first view may still be loading the front end), when a
cell ends (:meth:`Pusher.catch_up`) and when a view asks (it saw a gap). Views
that are open follow the batches, so a long loop re-sends no history.
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

from ._batches import apply_batch, coalesce, snapshot_copy, thin_losses
from ._contract import Batch, Delta, Detail, RunInfo, Snapshot, empty_snapshot
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
from ._replay import step_deltas

logger = logging.getLogger("runwatch")

#: Seconds between two beats, so between two batches at the most (≤ 5 a second).
MIN_INTERVAL = 0.2
#: Seconds between two refreshes of the ``_snapshot`` trait at the most.
SNAPSHOT_INTERVAL = 2.0
#: Bytes per second the ``_snapshot`` refreshes may cost at the most: a large
#: snapshot (long loss histories, many iterations) is refreshed less often.
SNAPSHOT_BYTES_PER_SECOND = 25_000
#: Seconds after the thread starts during which the ``_snapshot`` trait is
#: refreshed on its own (throttled as above). The first view may still be
#: loading the front end, and messages sent before it listens are lost; a cell
#: that runs a loop cannot answer its request for a snapshot. Later, views
#: follow the batches and a snapshot is published only on demand.
SNAPSHOT_STARTUP = 10.0
#: Beats woken early by an iteration created, started or ended in this process:
#: at most WAKE_BURST of them in any WAKE_BURST * WAKE_GAP seconds. An iteration
#: that ends and the next that starts a moment later get a batch each at once;
#: a sweep of tiny iterations makes at most 20 rows' batches a second.
WAKE_GAP = 0.05
WAKE_BURST = 3
#: Seconds the detail lane waits for the rows lane at one checkpoint at the most
#: (it then goes on: a stuck beat must not stop the details).
YIELD_TIMEOUT = 2.0
#: Seconds between two detail deltas of one running iteration at the most.
LIVE_DETAIL_INTERVAL = 1.0
#: Seconds of detail building per detail batch: the page gets the details a
#: budget at a time rather than all at the end of a long run of them.
DETAIL_BUDGET = 0.1


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
        Throttles, in seconds: the beat, and the ``_snapshot`` refresh while
        it is refreshed on its own (:data:`SNAPSHOT_STARTUP`).
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
        self._lock = threading.Lock()  # what record() collected
        self._flush_lock = threading.Lock()  # the state and the sequence: apply and send
        self._detail_lock = threading.Lock()  # one detail builder at a time
        self._poll_lock = threading.Lock()
        self._watcher = run.watcher()
        self._following = True
        # What record() collected since the last flush: rows, header and
        # points for the rows lane, iterations whose details are due for the
        # detail lane.
        self._changed = False
        self._rows_changed = True
        self._pending: set[int] = set()  # details due after the next rows' batch
        self._dirty: set[int] = set()  # details due
        self._points: list[Any] = []
        self._steps: set[tuple[int, str, int]] = set()  # step snapshots written (the replay)
        self._preferred: list[str] = []  # details to build first (the page's selection)
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
        self._started: float | None = None  # clock time of the first beat
        self.sent = 0  # batches sent
        self._stop = threading.Event()
        self._details_due = threading.Event()
        # The rows lane is idle: no beat runs and none is due at once. The detail
        # lane builds only then (checkpoints between the pieces of a detail).
        self._rows_idle = threading.Event()
        self._rows_idle.set()
        self._wake = _Wake(self._rows_idle)  # an iteration changed in this process: beat now
        self._woken: list[float] = []  # when the last woken beats ran (WAKE_BURST)
        self._beaten = threading.Event()  # the first beat is done: the detail lane may start
        self._thread: threading.Thread | None = None
        self._detail_thread: threading.Thread | None = None

    # --------------------------------------------------------------- intake

    def record(self, change: Any) -> None:
        """Note a :class:`~runwatch.tracking.Change` (cheap: ids and new points only)."""
        with self._lock:
            self._changed = True
            if change.iteration_rows or change.splits:
                self._rows_changed = True
            # Due for the detail lane once the rows' batch of this change is out.
            self._pending.update(row["id"] for row in change.iteration_rows)
            self._pending.update(iteration_id for iteration_id, _ in change.splits)
            for point in change.points:
                if point.kind != "loss":  # a logged metric may be the primary one
                    self._rows_changed = True
                    break
            self._points.extend(change.points)
            self._steps.update(getattr(change, "steps", ()))

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
        self.flush_rows(send=False)  # rows and header: now the automatic pick is known
        # Its details (30 ms for 100 classes) go first in the first beat, once
        # the widget has shown its table.
        self.prefer(self.state["run"]["auto"])

    def flush(self, send: bool = True, budget: float | None = None) -> list[Batch]:
        """Both lanes now, on the caller's thread: the rows' batch, then the details' batches.

        Parameters
        ----------
        send : bool, default True
            False applies the batches to :attr:`state` only (nobody listens yet).
        budget : float or None
            Seconds of detail building at the most (the preferred iterations'
            details are built regardless); what does not fit stays due. None:
            every detail now.

        Returns
        -------
        list of Batch
            The batches, in the order they were numbered (and sent).
        """
        batches = [self.flush_rows(send=send), *self.flush_details(budget, send=send)]
        return [b for b in batches if b is not None]

    def flush_rows(self, send: bool = True) -> Batch | None:
        """The rows lane: the header, changed rows and new loss points as one batch.

        Builds no detail: the iterations whose details are due stay due for
        :meth:`flush_details`, which they reach only after this batch is out.
        Returns the batch, or None when nothing changed.
        """
        with self._flush_lock:
            with self._lock:
                if not self._changed:
                    return None
                points, self._points = self._points, []
                steps, self._steps = self._steps, set()
                rows_changed, self._rows_changed = self._rows_changed, False
                pending, self._pending = self._pending, set()
                self._changed = False
            deltas: list[Delta] = []
            if rows_changed:
                # The beat committed just before it polled: read what is committed.
                # A running iteration's duration is not re-read while only its
                # points arrive: the page counts it from the row's start time.
                rows = iteration_rows(self.run, flush=False)
                header = run_info(self.run, rows)
                if header != self.state["run"]:
                    deltas.append({"kind": "run", "run": header})
                known = {row["id"]: row for row in self.state["iterations"]}
                for row in rows:
                    if known.get(row["id"]) != row:
                        deltas.append({"kind": "iteration", "row": row})
            for iteration, new in loss_points(points).items():
                deltas.append({"kind": "loss", "iteration": iteration, "points": new})
            deltas.extend(step_deltas(self.run, steps))  # small: a matrix and metrics each
            batch = self._emit(deltas, send)
        if pending:
            # Only now: an iteration's details never reach the page before the
            # row change that made them due.
            with self._lock:
                self._dirty.update(pending)
            self._details_due.set()
        return batch

    def flush_details(
        self,
        budget: float | None = None,
        send: bool = True,
        pause: Callable[[], Any] | None = None,
    ) -> list[Batch]:
        """The detail lane: build the due details and send them, the preferred ones first.

        The preferred iterations' details are built regardless of ``budget``
        and sent at once, in a batch of their own; then the others, as many as
        ``budget`` seconds of building allow (None: all), in one batch. What
        does not fit, and running iterations' details asked again within
        :data:`LIVE_DETAIL_INTERVAL`, stay due. ``pause`` is called between
        the pieces of a detail (the detail lane's thread passes
        :meth:`yield_to_rows`). Returns the batches sent.
        """
        out: list[Batch] = []
        with self._detail_lock:
            with self._lock:
                dirty, self._dirty = self._dirty, set()
                preferred = list(self._preferred)
            if not dirty:
                return out
            rank = {int(p): i for i, p in enumerate(preferred) if p.isdigit()}
            first = sorted((i for i in dirty if i in rank), key=rank.__getitem__)
            # After the page's choice, the newest: what a person looks at.
            rest = sorted((i for i in dirty if i not in rank), key=lambda i: -i)
            held: set[int] = set()
            for group, limit in ((first, None), (rest, budget)):
                if not group:
                    continue
                deltas = self._detail_deltas(group, limit, held, pause)
                with self._flush_lock:
                    batch = self._emit(deltas, send)
                if batch is not None:
                    out.append(batch)
            if held:
                with self._lock:  # running iterations throttled, or over budget: later
                    self._dirty.update(held)
        return out

    def _detail_deltas(
        self,
        order: list[int],
        budget: float | None,
        held: set[int],
        pause: Callable[[], Any] | None = None,
    ) -> list[Delta]:
        deltas: list[Delta] = []
        now = self._clock()
        by_id: dict[int, Any] | None = None  # read once, and only for many
        started = time.perf_counter()
        for iteration_id in order:
            key = str(iteration_id)
            if key in self._final:
                continue
            if budget is not None and time.perf_counter() - started >= budget:
                held.add(iteration_id)
                continue
            # One: one row. Many: one read of every row beats many reads of one.
            if by_id is None and len(order) > 10:
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
            detail = self._detail(it, pause)
            if detail is None:
                continue
            self._detail_sent[key] = now
            if detail["final"]:
                self._final.add(key)
                with self._lock:
                    if key in self._preferred:
                        self._preferred.remove(key)
            deltas.append({"kind": "detail", "detail": detail})
        return deltas

    def _emit(self, deltas: list[Delta], send: bool) -> Batch | None:
        """Number ``deltas`` as the next batch, apply it to the state, send it (flush lock held)."""
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

    def _detail(self, iteration: Any, pause: Callable[[], Any] | None = None) -> Detail | None:
        try:
            if pause is None:
                return iteration_detail(iteration)
            return iteration_detail(iteration, pause=pause)
        except Exception:  # one bad iteration must not stop the others' updates
            logger.exception("runwatch: building the details of iteration %s failed", iteration.id)
            return None

    def yield_to_rows(self) -> None:
        """Wait while the rows lane works: a beat runs, or one is due at once.

        The detail lane calls it between the pieces of a detail. Both lanes
        share the GIL, and a beat is mostly short calls that release it
        (SQLite, the writer's commit, the send): against a thread that builds
        details it waited up to a switch interval (5 ms) for each, and a
        beat of a millisecond took 0.1-0.5 s. Waiting here, the detail lane
        leaves the beat the GIL. At most :data:`YIELD_TIMEOUT` seconds.
        """
        if not self._rows_idle.is_set() and not self._stop.is_set():
            self._rows_idle.wait(YIELD_TIMEOUT)

    # ------------------------------------------------------------- snapshot

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

    # ---------------------------------------------------------------- thread

    def beat(self, follow: bool = True, details: bool = True) -> None:
        """One beat: read the run's changes (``follow``) and send the rows' batch.

        With ``details`` the due details are built and sent here too, after
        the rows (a budget's worth); the thread leaves them to the detail lane.
        The ``_snapshot`` trait is refreshed at the first beat and, throttled,
        during the first :data:`SNAPSHOT_STARTUP` seconds.
        """
        now = self._clock()
        if self._started is None:
            self._started = now
        first = self.state["seq"] == 0
        self._rows_idle.clear()
        try:
            if follow:
                try:
                    self.poll()
                except Exception:  # a store another process holds locked: the next beat reads it
                    logger.exception("runwatch: reading the run failed")
            self.flush_rows()
        finally:
            if not self._wake.is_set():  # else another beat is due at once
                self._rows_idle.set()
        if details:
            self.flush_details(budget=DETAIL_BUDGET)
        if first and self.state["seq"] > 0:
            self.publish_snapshot(force=True)
        elif now - self._started < SNAPSHOT_STARTUP:
            self.publish_snapshot()

    def catch_up(self) -> None:
        """A beat now, on the caller's thread, then the snapshot refreshed if stale.

        The widget calls it when a cell ends: a view opened in a later cell,
        or the view redrawn by the summary's update, then starts from the run
        as the cell left it. Rows only: the details stay with the threads.
        The cell that shows a widget ends while the page draws it; building
        details then (0.1 s and more) took the GIL from the messages the first
        view waits for.
        """
        self.beat(self._following, details=False)
        self.publish_snapshot(force=True)

    def start(self, follow: bool = True) -> None:
        """Start the threads: the beat every ``min_interval`` seconds, and the detail lane.

        With ``follow=False`` one thread reads nothing new: it sends the
        details still due after :meth:`prime`, publishes the snapshot and ends.
        """
        if self._thread is not None:
            return
        self._following = follow
        if follow:
            self.run._store.iteration_events.add(self._wake)
            self._detail_thread = threading.Thread(
                target=self._detail_loop, name="runwatch-widget-details", daemon=True
            )
            self._detail_thread.start()
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
        self._wake.wait(self.min_interval)
        woke = False
        while not self._stop.is_set():
            self._wake.clear()  # what happens from here on is read by this beat or the next
            try:
                # Following, the detail lane builds the details; otherwise this
                # thread does, after the rows.
                self.beat(follow, details=not follow)
            except Exception:
                logger.exception("runwatch: pushing a widget update failed")
            # This thread's beat only, not catch_up()'s at the end of the
            # cell that shows the widget: the detail lane starts a beat later.
            self._beaten.set()
            if not follow and not self._changed and not self._dirty and not self._pending:
                self.publish_snapshot(force=True)
                break
            # A fixed beat, not a fixed pause: the work of a beat does not
            # stretch the time a logged point waits for the next one.
            last = time.monotonic()
            if not woke:  # a beat woken early leaves the next one where it was
                due += self.min_interval
            if due < last:
                due = last
            # An iteration created, started or ended here wakes it early (its
            # row then reaches the page in milliseconds, not up to a beat later).
            woke = self._wake.wait(due - time.monotonic()) and not self._stop.is_set()
            if woke:
                now = time.monotonic()
                self._stop.wait(wake_delay(self._woken, now))
                self._woken = [*self._woken, max(now, time.monotonic())][-WAKE_BURST:]
        self._watcher.close()

    def _detail_loop(self) -> None:
        warm_up()
        # Not before the first beat: the details left after priming would take
        # the GIL from the widget's construction and display (the first render).
        while not self._beaten.wait(self.min_interval) and not self._stop.is_set():
            pass
        while not self._stop.is_set():
            # Woken by record(); the timeout retries what was held (throttled
            # running iterations, the rest of a budget).
            self._details_due.wait(self.min_interval)
            self._details_due.clear()
            try:
                while not self._stop.is_set() and self.flush_details(
                    budget=DETAIL_BUDGET, pause=self.yield_to_rows
                ):
                    pass
            except Exception:
                logger.exception("runwatch: pushing a widget update failed")

    def stop(self) -> None:
        """Stop the threads."""
        self._stop.set()
        self._details_due.set()
        self._wake.set()
        self._rows_idle.set()
        self.run._store.iteration_events.discard(self._wake)
        for thread in (self._thread, self._detail_thread):
            if thread is not None and threading.current_thread() is not thread:
                thread.join(5.0)


class _Wake(threading.Event):
    """The beat's wake-up call, which also tells the detail lane to wait for that beat.

    The store sets it from the thread that created, started or ended an
    iteration (``Store.iteration_events``).
    """

    def __init__(self, rows_idle: threading.Event) -> None:
        super().__init__()
        self._rows_idle = rows_idle

    def set(self) -> None:
        self._rows_idle.clear()
        super().set()


def wake_delay(woken: list[float], now: float) -> float:
    """Seconds a beat woken at ``now`` waits, given when the last woken beats ran.

    None while fewer than :data:`WAKE_BURST` ran in the last
    ``WAKE_BURST * WAKE_GAP`` seconds; else until the oldest of them leaves
    that window.
    """
    window = WAKE_BURST * WAKE_GAP
    recent = [t for t in woken if now - t < window]
    if len(recent) < WAKE_BURST:
        return 0.0
    return min(recent) + window - now


def warm_up() -> None:
    """Import what building a detail needs (the views, Altair, pandas) ahead of the first one.

    Run at the start of the detail lane, so the first finished iteration of a
    loop does not also pay the imports (about a second without them).
    """
    try:
        import runwatch.views  # noqa: F401  (curves, tables, regression: Altair and pandas)
    except ImportError:  # the views layer is optional
        pass
