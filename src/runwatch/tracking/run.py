"""Runs: the named experiments of a store, and the reads across their iterations.

A :class:`Run` is one experiment execution (a sweep, a training loop). It
creates and finds its :class:`~runwatch.tracking.iteration.Iteration` objects
(the models of the sweep, the epochs of the loop), tables them by primary
metric, picks the best, watches the store for changes and exports itself as
JSON (:mod:`runwatch.tracking.export`). What one iteration logs and reads is
in :mod:`runwatch.tracking.iteration`.

Creating a run or an iteration is the one synchronous write: it returns the
store's id, which other processes and the widget refer to.
"""

from __future__ import annotations

import json
import math
import operator
import threading
import time as _time_module
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._records import records
from ._validate import (
    ENDED,
    GOALS,
    TASKS,
    check_choice,
    check_labels,
    check_mapping,
    check_name,
    check_number,
)
from .engines import DEFAULT_PRIMARY, engine_class, new_engine
from .iteration import Iteration
from .store import Store, tick, transaction

if TYPE_CHECKING:
    import pandas as pd

    from .watch import Change, Subscription, Watcher

_now = _time_module.time
# Splits searched for the primary metric, most telling first.


def default_goal(metric: str) -> str:
    """Return "minimize" for errors and losses, "maximize" for every other metric.

    Examples
    --------
    >>> default_goal("log_loss"), default_goal("AUC_weighted")
    ('minimize', 'maximize')
    """
    lowered = metric.lower()
    return "minimize" if ("error" in lowered or "loss" in lowered) else "maximize"


def _options(row: dict[str, Any]) -> dict[str, Any]:
    """A run row's metric options (empty when none were given)."""
    text = row.get("metric_options")
    return json.loads(text) if text else {}


def check_engine_arguments(task: str, labels: Any, options: dict[str, Any] | None) -> None:
    """Refuse labels or metric options the task's engine would refuse (by building one).

    A task without an engine in this build is not checked: its first update says so.
    """
    try:
        engine_class(task)
    except ValueError:
        return
    new_engine(task, labels, options)


class Run:
    """A run: a named experiment in a store, holding iterations.

    Opening a name that exists appends to that run; it never replaces it.

    Parameters
    ----------
    name : str
        The run's name, unique in the store.
    task : {"classification", "regression", "detection", "instance_segmentation", \
"segmentation"}, optional
        Which metrics engine the iterations use ("segmentation" is semantic
        segmentation). Default: the stored run's task, else "classification".
        A different task for an existing name is an error.
    primary_metric : str, optional
        The metric that ranks iterations. Default: Azure AutoML's for the task
        ("accuracy" for classification, "spearman_correlation" for regression,
        "mAP" for detection and instance segmentation, "mean_iou" for
        segmentation).
    goal : {"maximize", "minimize"}, optional
        Default: "minimize" for errors and losses, else "maximize".
    labels : sequence, optional
        The class labels, in the column order of ``y_proba``. Default: learnt
        as seen. A segmentation run needs them: mask value ``i`` is
        ``labels[i]``.
    metric_options : dict, optional
        More arguments of the task's engine, e.g. ``{"ignore_index": 255}``
        for segmentation or ``{"score_threshold": 0.3}`` for detection;
        checked when the run is created and kept with it.
    store : str or path, optional
        The SQLite file. Default: ``$RUNWATCH_STORE``, else ``./runwatch.db``.

    Raises
    ------
    ValueError
        On a bad argument, or when the name exists with another task, primary
        metric, goal or labels.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "doc.db")
    >>> run = Run("sweep-1", primary_metric="log_loss", store=path)
    >>> run.goal
    'minimize'
    >>> with run.iteration("baseline", params={"C": 1.0}) as it:
    ...     it.log_loss(0.7)
    ...     it.log_loss(0.5)
    >>> it.status, list(it.losses()["value"])
    ('completed', [0.7, 0.5])
    """

    def __init__(
        self,
        name: str,
        task: str | None = None,
        primary_metric: str | None = None,
        goal: str | None = None,
        labels: Any = None,
        store: Any = None,
        metric_options: Any = None,
    ) -> None:
        check_name(name, "name")
        if task is not None:
            check_choice(task, TASKS, "task")
        if primary_metric is not None:
            check_name(primary_metric, "primary_metric")
        if goal is not None:
            check_choice(goal, GOALS, "goal")
        labels = check_labels(labels)
        options = None
        if metric_options is not None:
            options = check_mapping(metric_options, "metric_options")
        opened = Store.open(store)
        row = opened.run_row(name)
        if row is None:
            new_task = task or "classification"
            metric = primary_metric or DEFAULT_PRIMARY[new_task]
            check_engine_arguments(new_task, labels, options)
            conn = opened.connect()
            with transaction(conn):
                seq = tick(conn)
                # DO NOTHING: another process may create the same run at the same
                # time; then both append to the one row, compared below.
                conn.execute(
                    "INSERT INTO runs "
                    "(name, task, primary_metric, goal, labels, created, seq, metric_options) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                    (
                        name,
                        new_task,
                        metric,
                        goal or default_goal(metric),
                        None if labels is None else json.dumps(labels),
                        _now(),
                        seq,
                        json.dumps(options, sort_keys=True) if options else None,
                    ),
                )
            row = opened.run_row(name)
            assert row is not None
        stored_labels = None if row["labels"] is None else json.loads(row["labels"])
        for arg, given, stored in (
            ("task", task, row["task"]),
            ("primary_metric", primary_metric, row["primary_metric"]),
            ("goal", goal, row["goal"]),
            ("labels", labels, stored_labels),
            ("metric_options", options, _options(row)),
        ):
            if given is not None and given != stored:
                raise ValueError(
                    f"{arg} is {given!r} but run {name!r} already exists in {opened.path} "
                    f"with {arg} {stored!r}; reopen it without {arg} or pick another name"
                )
        self._setup(opened, row)

    @classmethod
    def _from_row(cls, store: Store, row: dict[str, Any]) -> Run:
        run = cls.__new__(cls)
        run._setup(store, row)
        return run

    def _setup(self, store: Store, row: dict[str, Any]) -> None:
        self._store = store
        self.id: int = row["id"]
        self.name: str = row["name"]
        self.task: str = row["task"]
        self.primary_metric: str = row["primary_metric"]
        self.goal: str = row["goal"]
        self.labels: list[Any] | None = None if row["labels"] is None else json.loads(row["labels"])
        self.created: float = row["created"]
        self.metric_options: dict[str, Any] = _options(row)
        self._cache: dict[int, Iteration] = {}
        self._cache_lock = threading.Lock()
        self._watcher: Any = None

    # ------------------------------------------------------------- properties

    @property
    def store(self) -> str:
        """Path of the store file."""
        return self._store.path

    @property
    def status(self) -> str:
        """The run's status, from its iterations' statuses.

        running if any iteration runs, else queued if any waits, else
        interrupted if any was cut off, else completed if any completed, else
        failed or canceled; queued when it has no iteration.
        """
        statuses = {row["status"] for row in self._rows()}
        for status in ("running", "queued", "interrupted", "completed", "failed", "canceled"):
            if status in statuses:
                return status
        return "queued"

    def __repr__(self) -> str:
        return f"Run({self.name!r}, task={self.task!r}, primary_metric={self.primary_metric!r})"

    # ---------------------------------------------------------------- logging

    def iteration(self, name: str, params: Mapping[str, Any] | None = None, resume: bool = False):
        """Start logging a new iteration (a model of a sweep, an epoch).

        Parameters
        ----------
        name : str
            Its name; names need not be unique.
        params : dict, optional
            Its hyper-parameters (JSON data).
        resume : bool, default False
            Continue the latest iteration called `name` instead: its engines
            are reloaded from their saved state, its losses go on numbering.

        Returns
        -------
        Iteration
            Queued; it runs once used as a context manager, started, or
            logged into.
        """
        check_name(name, "name")
        plain = check_mapping(params, "params")
        if resume:
            rows = [r for r in self._rows() if r["name"] == name]
            if not rows:
                raise ValueError(f"name {name!r}: run {self.name!r} has no iteration to resume")
            if params is not None:
                raise ValueError("params cannot be changed when resuming an iteration")
            row = rows[-1]
            with self._cache_lock:
                found = self._cache.get(row["id"])
            if found is not None and found._live and found.status not in ENDED:
                return found
            if row["status"] in ("queued", "running"):
                raise ValueError(
                    f"name: iteration {row['id']} ({name!r}) is still {row['status']} in process "
                    f"{row['writer_pid']} on {row['writer_host']}; one writer per iteration"
                )
            it = Iteration(self, row, live=True)
            it._resume()
        else:
            writer = self._store.writer
            conn = self._store.connect()
            created = _now()
            with transaction(conn):
                seq = tick(conn, iterations=True)
                iteration_id = conn.execute(
                    "INSERT INTO iterations (run_id, name, params, tags, status, created, "
                    "writer_id, seq) VALUES (?, ?, ?, '{}', 'queued', ?, ?, ?) RETURNING id",
                    (self.id, name, json.dumps(plain, sort_keys=True), created, writer.id, seq),
                ).fetchone()[0]
            row = {
                "id": iteration_id,
                "name": name,
                "params": json.dumps(plain),
                "tags": "{}",
                "status": "queued",
                "error": None,
                "created": created,
                "started": None,
                "ended": None,
                "feature_importance": None,
            }
            it = Iteration(self, row, live=True)
            writer.activate(it)
            self._store.iteration_changed()
        with self._cache_lock:
            self._cache[it.id] = it
        return it

    def flush(self, timeout: float | None = 30.0, states: bool = True) -> None:
        """Commit everything this process logged so far.

        Parameters
        ----------
        timeout : float or None
            Seconds to wait for the commit at the most.
        states : bool, default True
            Also save every changed engine's state and metrics now. A follower
            that polls several times a second passes False: points and
            iteration changes are committed at once, engines keep the writer's
            own pace (twice a second), so polling does not cost a
            ``compute()`` each time.
        """
        self._store.flush(timeout, states=states)

    # ---------------------------------------------------------------- reading

    def _rows(self, since_seq: int = 0) -> list[dict[str, Any]]:
        return self._store.iteration_rows(self.id, since_seq)

    def _wrap(self, row: dict[str, Any]) -> Iteration:
        with self._cache_lock:
            it = self._cache.get(row["id"])
            if it is None:
                it = Iteration(self, row, live=False)
                self._cache[row["id"]] = it
            elif not it._live:
                it._load_row(row)
            return it

    def get(self, key: int | str) -> Iteration:
        """Return the iteration with id `key`, or the latest one named `key`.

        Raises
        ------
        KeyError
            When there is none.
        """
        if isinstance(key, str):
            matches = [r for r in self._rows() if r["name"] == key]
        else:  # one row, not the run's 1,000
            try:
                matches = self._store.iteration_rows(self.id, ids=[operator.index(key)])
            except TypeError:
                matches = []
        if not matches:
            raise KeyError(f"run {self.name!r} has no iteration {key!r}")
        return self._wrap(matches[-1])

    def iteration_list(self) -> list[Iteration]:
        """Return every iteration of the run, oldest first."""
        return [self._wrap(row) for row in self._rows()]

    def iteration_records(self, flush: bool = True) -> list[dict[str, Any]]:
        """Return :meth:`iterations` as plain dicts (times as epoch seconds), without pandas.

        Parameters
        ----------
        flush : bool, default True
            Commit what this process logged first. A caller that just flushed
            (or follows only what is committed) passes False.
        """
        if flush:
            self._store.flush()
        return records(self._store, self.id, self.primary_metric, self.goal)

    def iterations(self) -> pd.DataFrame:
        """Return one row per iteration, oldest first.

        Columns: id, name, status, created, started, ended (UTC timestamps),
        duration (seconds), metric (the primary metric: from the validation
        split, else test, else train, else the last value logged with
        ``log_metric`` under that name), best (the best metric so far, by the
        run's goal), error. ``df.attrs["primary_metric"]`` names the metric.
        """
        import pandas as pd

        columns = ["id", "name", "status", "created", "started", "ended", "duration"]
        columns += ["metric", "best", "error"]
        df = pd.DataFrame(self.iteration_records(), columns=columns)
        for col in ("created", "started", "ended"):
            df[col] = pd.to_datetime(df[col].astype("float64"), unit="s", utc=True)
        df["duration"] = df["duration"].astype("float64")
        df["metric"] = df["metric"].astype("float64")
        df["best"] = df["best"].astype("float64")
        df["error"] = df["error"].astype(object).where(df["error"].notna(), None)
        df.attrs["primary_metric"] = self.primary_metric
        df.attrs["goal"] = self.goal
        return df

    def best(self) -> Iteration | None:
        """Return the iteration with the best primary metric (the first on ties), or None."""
        table = self.iteration_records()
        best_row = None
        sign = 1.0 if self.goal == "maximize" else -1.0
        for row in table:
            v = row["metric"]
            if math.isnan(v):
                continue
            if best_row is None or sign * v > sign * best_row["metric"]:
                best_row = row
        return None if best_row is None else self.get(best_row["id"])

    # --------------------------------------------------------------- watching

    def refresh(self) -> Change:
        """Read what changed in the store since the last refresh (the first: everything).

        Returns
        -------
        Change
            New or changed iterations (status included, interrupted ones
            too), new points, and the splits whose metrics changed.
        """
        from .watch import Watcher

        if self._watcher is None:
            self._watcher = Watcher(self._store, self.id)
        change = self._watcher.poll()
        for row in change.iteration_rows:
            self._wrap(row)
        return change

    def watcher(self, replay: bool = True) -> Watcher:
        """A new reader of this run's changes, polled by the caller (``.poll()``).

        Unlike :meth:`refresh` it keeps its own position, so several followers
        (a widget, user code) each see every change; unlike :meth:`on_change`
        it starts no thread.

        Parameters
        ----------
        replay : bool, default True
            The first poll brings everything already in the store; with False,
            only what comes after this call.
        """
        from .watch import Watcher

        return Watcher(self._store, self.id, replay)

    def on_change(
        self,
        callback: Callable[[Change], Any],
        interval: float = 0.25,
        replay: bool = True,
    ) -> Subscription:
        """Call `callback(change)` from a poller thread whenever the run changes.

        Parameters
        ----------
        callback : callable
            Receives a :class:`~runwatch.tracking.watch.Change`. An exception it
            raises is logged and the subscription goes on.
        interval : float, default 0.25
            Seconds between polls.
        replay : bool, default True
            The first call brings everything already in the store; with False,
            only what comes after the subscription.

        Returns
        -------
        Subscription
            Call ``.cancel()`` to stop.
        """
        from .watch import Subscription

        if not callable(callback):
            raise ValueError(f"callback must be callable, got {type(callback).__name__}")
        interval = check_number(interval, "interval")
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        return Subscription(self._store, self.id, callback, interval, replay)

    # ----------------------------------------------------------------- export

    def export_json(self, path: Any) -> None:
        """Write the whole run to `path` as one JSON document (see :mod:`.export`)."""
        from .export import export_json

        export_json(self, path)

    def to_dict(self) -> dict[str, Any]:
        """Return the document :meth:`export_json` writes, as plain data."""
        from .export import export_document

        return export_document(self)
