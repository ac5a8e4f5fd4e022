"""Runs and iterations: the logging API and the reads behind it.

A :class:`Run` is one experiment execution (a sweep, a training loop); its
:class:`Iteration` objects are the models of the sweep or the epochs of the
loop. An iteration keeps one metrics engine per split (train, validation,
test), fed batch by batch on the caller's thread; losses, logged metrics,
status changes and engine snapshots go to the store through the background
writer (:mod:`runwatch.tracking.writer`), never synchronously.

Creating a run or an iteration is the one synchronous write: it returns the
store's id, which other processes and the widget refer to.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time as _time_module
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validate import (
    ENDED,
    GOALS,
    SPLITS,
    TASKS,
    check_choice,
    check_labels,
    check_mapping,
    check_name,
    check_number,
    check_split,
    check_step,
    check_time,
    plain_label,
    to_plain,
)
from .engines import DEFAULT_PRIMARY, engine_class, new_engine, update_engine
from .store import Store, loads_metrics, tick, transaction

if TYPE_CHECKING:
    import pandas as pd

    from .watch import Change, Subscription

logger = logging.getLogger("runwatch")
_now = _time_module.time
# Splits searched for the primary metric, most telling first.
_PRIMARY_SPLITS = ("validation", "test", "train")


def default_goal(metric: str) -> str:
    """Return "minimize" for errors and losses, "maximize" for every other metric.

    Examples
    --------
    >>> default_goal("log_loss"), default_goal("AUC_weighted")
    ('minimize', 'maximize')
    """
    lowered = metric.lower()
    return "minimize" if ("error" in lowered or "loss" in lowered) else "maximize"


class Run:
    """A run: a named experiment in a store, holding iterations.

    Opening a name that exists appends to that run; it never replaces it.

    Parameters
    ----------
    name : str
        The run's name, unique in the store.
    task : {"classification", "regression", "detection", "segmentation"}, optional
        Which metrics engine the iterations use. Default: the stored run's
        task, else "classification". A different task for an existing name is
        an error.
    primary_metric : str, optional
        The metric that ranks iterations. Default: Azure AutoML's for the task
        ("accuracy" for classification, "spearman_correlation" for regression).
    goal : {"maximize", "minimize"}, optional
        Default: "minimize" for errors and losses, else "maximize".
    labels : sequence, optional
        The class labels, in the column order of ``y_proba``. Default: learnt
        as seen.
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
    ) -> None:
        check_name(name, "name")
        if task is not None:
            check_choice(task, TASKS, "task")
        if primary_metric is not None:
            check_name(primary_metric, "primary_metric")
        if goal is not None:
            check_choice(goal, GOALS, "goal")
        labels = check_labels(labels)
        opened = Store.open(store)
        row = opened.run_row(name)
        if row is None:
            new_task = task or "classification"
            metric = primary_metric or DEFAULT_PRIMARY[new_task]
            conn = opened.connect()
            with transaction(conn):
                seq = tick(conn)
                # OR IGNORE: another process may create the same run at the same
                # time; then both append to the one row, compared below.
                conn.execute(
                    "INSERT OR IGNORE INTO runs "
                    "(name, task, primary_metric, goal, labels, created, seq) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        name,
                        new_task,
                        metric,
                        goal or default_goal(metric),
                        None if labels is None else json.dumps(labels),
                        _now(),
                        seq,
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
                seq = tick(conn)
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
        with self._cache_lock:
            self._cache[it.id] = it
        return it

    def flush(self, timeout: float | None = 30.0) -> None:
        """Commit everything this process logged so far."""
        self._store.flush(timeout)

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
        rows = self._rows()
        if isinstance(key, str):
            matches = [r for r in rows if r["name"] == key]
        else:
            matches = [r for r in rows if r["id"] == key]
        if not matches:
            raise KeyError(f"run {self.name!r} has no iteration {key!r}")
        return self._wrap(matches[-1])

    def iteration_list(self) -> list[Iteration]:
        """Return every iteration of the run, oldest first."""
        return [self._wrap(row) for row in self._rows()]

    def _table(self) -> list[dict[str, Any]]:
        self._store.flush()
        with self._store.snapshot() as conn:
            rows = self._rows()
            ids = [r["id"] for r in rows]
            split_rows = self._store.split_rows(ids)
            # Through the iterations (the points_series index), not a scan of points.
            logged = conn.execute(
                "SELECT iteration_id, value FROM points WHERE iteration_id IN "
                "(SELECT id FROM iterations WHERE run_id = ?) AND kind = 'metric' AND name = ? "
                "ORDER BY id",
                (self.id, self.primary_metric),
            ).fetchall()
        metrics: dict[int, dict[str, dict[str, float]]] = {}
        for s in split_rows:
            metrics.setdefault(s["iteration_id"], {})[s["split"]] = loads_metrics(s["metrics"])
        last_logged = dict(logged)  # later points overwrite earlier ones
        best = math.nan
        sign = 1.0 if self.goal == "maximize" else -1.0
        out = []
        for row in rows:
            value = math.nan
            found = False
            for split in _PRIMARY_SPLITS:
                split_metrics = metrics.get(row["id"], {}).get(split)
                if split_metrics and self.primary_metric in split_metrics:
                    value = split_metrics[self.primary_metric]
                    found = True
                    break
            if not found and row["id"] in last_logged:
                value = float(last_logged[row["id"]])
            if not math.isnan(value) and (math.isnan(best) or sign * value > sign * best):
                best = value
            started, ended = row["started"], row["ended"]
            if started is None:
                duration = None
            elif ended is not None:
                duration = ended - started
            elif row["status"] == "running":
                duration = _now() - started
            else:
                duration = None
            out.append(
                {
                    "id": row["id"],
                    "name": row["name"],
                    "status": row["status"],
                    "created": row["created"],
                    "started": started,
                    "ended": ended,
                    "duration": duration,
                    "metric": value,
                    "best": best,
                    "error": row["error"],
                }
            )
        return out

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
        df = pd.DataFrame(self._table(), columns=columns)
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
        table = self._table()
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


class Tags(MutableMapping):
    """An iteration's free-form tags: a dict whose changes are written to the store.

    Keys are strings, values JSON data.
    """

    def __init__(self, iteration: Iteration, data: dict[str, Any]) -> None:
        self._iteration = iteration
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        check_name(key, "tag name")
        self._data[key] = to_plain(value, f"tag {key!r}")
        self._iteration._save_tags()

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._iteration._save_tags()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Tags({self._data!r})"


class Iteration:
    """One model of a sweep or one epoch of a loop, inside a :class:`Run`.

    Get one from :meth:`Run.iteration` (to log) or :meth:`Run.get` (to read).
    As a context manager it runs inside the block, completes on a clean exit,
    fails with the exception's text when one escapes (the exception still
    propagates), and is canceled by ``KeyboardInterrupt``.
    """

    def __init__(self, run: Run, row: dict[str, Any], live: bool) -> None:
        self.run = run
        self.id: int = row["id"]
        self._live = live
        self._lock = threading.RLock()
        self._engines: dict[str, Any] = {}
        self._counts: dict[str, tuple[int, dict[Any, int]]] = {}
        self._load_row(row)
        if live:
            self._writer = run._store.writer
            self._q: Any = self._writer.queue
        else:
            self._q = _ReadOnlyQueue(self)
        self._append = self._q.append  # bound once: log_loss runs once per batch

    def _load_row(self, row: dict[str, Any]) -> None:
        self.name: str = row["name"]
        self.params: dict[str, Any] = json.loads(row["params"])
        self._tags = Tags(self, json.loads(row["tags"]))
        self._status: str = row["status"]
        self._error: str | None = row["error"]
        self.created: float = row["created"]
        self._started: float | None = row["started"]
        self._ended: float | None = row["ended"]
        fi = row.get("feature_importance")
        self._feature_importance = None if fi is None else json.loads(fi)

    def __repr__(self) -> str:
        return f"<Iteration {self.id} {self.name!r} {self.status}>"

    # ------------------------------------------------------------- properties

    @property
    def status(self) -> str:
        """queued, running, completed, failed, canceled or interrupted."""
        return self._status

    @property
    def error(self) -> str | None:
        """The text of the exception that failed the iteration, if any."""
        return self._error

    @property
    def started(self) -> float | None:
        """When it started running (seconds since the epoch), or None."""
        return self._started

    @property
    def ended(self) -> float | None:
        """When it ended (seconds since the epoch), or None."""
        return self._ended

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (to now while running), or None before it starts."""
        if self._started is None:
            return None
        if self._ended is not None:
            return self._ended - self._started
        return _now() - self._started if self._status == "running" else None

    @property
    def tags(self) -> Tags:
        """Free-form tags; assigning one writes it to the store."""
        return self._tags

    @tags.setter
    def tags(self, value: Mapping[str, Any]) -> None:
        self._tags = Tags(self, check_mapping(value, "tags"))
        self._save_tags()

    @property
    def feature_importance(self) -> dict[str, Any] | None:
        """What :meth:`log_feature_importance` logged last, or None."""
        return self._feature_importance

    # -------------------------------------------------------------- lifecycle

    def _set(self, **fields: Any) -> None:
        # Through the store's writer, not self._q: tags of an iteration opened
        # for reading may change too (reading alone starts no writer).
        self.run._store.writer.queue.append(("iteration", self.id, fields))

    def _save_tags(self) -> None:
        self._set(tags=json.dumps(self._tags._data, sort_keys=True))

    def start(self) -> Iteration:
        """Mark the iteration running (done for you by ``with`` or the first log call)."""
        with self._lock:
            self._check_open()
            if self._status == "queued":
                self._status = "running"
                self._started = _now()
                self._set(status="running", started=self._started)
        return self

    def _check_open(self) -> None:
        if not self._live:
            raise RuntimeError(
                f"iteration {self.id} ({self.name!r}) was opened for reading; use "
                "run.iteration(name, resume=True) to log into it"
            )
        if self._status in ENDED:
            raise RuntimeError(
                f"iteration {self.id} ({self.name!r}) is {self._status}; it takes no more logs"
            )

    def _ensure_running(self) -> None:
        if self._status != "running":
            self.start()

    def _end(self, status: str, error: str | None, wait: bool = True) -> None:
        with self._lock:
            self._check_open()
            self._status = status
            self._ended = _now()
            self._error = error
            self._set(status=status, ended=self._ended, error=error)
            self._writer.deactivate(self.id)
        if wait:
            # Every iteration end is committed before the call returns.
            self._writer.flush()

    def complete(self) -> None:
        """Mark the iteration completed and commit everything it logged."""
        self._end("completed", None)

    def fail(self, error: str | BaseException) -> None:
        """Mark the iteration failed with `error` (a message or the exception)."""
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}"
        self._end("failed", str(error))

    def cancel(self) -> None:
        """Mark the iteration canceled."""
        self._end("canceled", None)

    def __enter__(self) -> Iteration:
        self.start()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if self._status in ENDED:
            return False
        if exc_type is None:
            self.complete()
        elif issubclass(exc_type, KeyboardInterrupt):
            self._end("canceled", "KeyboardInterrupt")
        else:
            self._end("failed", f"{exc_type.__name__}: {exc}")
        return False  # the exception propagates

    def _resume(self) -> None:
        store = self.run._store
        splits = {s["split"]: s for s in store.split_rows([self.id])}
        for split, srow in splits.items():
            state = store.state(self.id, split)
            if state is not None:
                self._engines[split] = engine_class(self.run.task).from_state_dict(state)
            counts = {
                (tuple(k) if isinstance(k, list) else k): v
                for k, v in json.loads(srow["class_counts"])
            }
            self._counts[split] = (srow["n_samples"], counts)
        writer = self._writer
        self._status = "running"
        self._ended = None
        self._error = None
        if self._started is None:
            self._started = _now()
        self._set(
            status="running", ended=None, error=None, started=self._started, writer_id=writer.id
        )
        writer.activate(self)

    # ---------------------------------------------------------------- logging

    def update(
        self,
        split: str,
        y_true: Any,
        y_proba: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
    ) -> None:
        """Feed one batch of a split's predictions to its metrics engine.

        O(batch) on the calling thread; the engine's state reaches the store
        with the next commit.

        Parameters
        ----------
        split : {"train", "validation", "test"}
            The result set the batch belongs to.
        y_true, y_proba, y_pred, sample_weight
            As the task's engine takes them (``ClassificationMetrics.update``).

        Raises
        ------
        ValueError
            On an unknown split or a batch the engine refuses; nothing is
            recorded then.
        """
        check_split(split)
        with self._lock:
            self._check_open()
            engine = self._engines.get(split)
            fresh = engine is None
            if fresh:
                engine = new_engine(self.run.task, self.run.labels)
            update_engine(
                engine, y_true, y_proba=y_proba, y_pred=y_pred, sample_weight=sample_weight
            )
            if fresh:
                self._engines[split] = engine
            n, counts = self._counts.get(split, (0, {}))
            self._counts[split] = _count(n, counts, y_true, self.run.task)
            self._ensure_running()
            self._q.append(("state", self, split))

    def log_loss(self, value: float, split: str = "train", step: Any = None, time: Any = None):
        """Record one loss value.

        Parameters
        ----------
        value : float
            The loss; finite.
        split : {"train", "validation", "test"}, default "train"
        step : int or float, optional
            Default: the number of losses of this split logged before.
        time : float or datetime, optional
            When it was measured (seconds since the epoch). Default: now.

        Raises
        ------
        ValueError
            On a non-number (``"0.4"`` included), NaN or infinite value, an
            unknown split, a non-numeric step; nothing is recorded then.
        """
        # The common case is checked inline: this runs once per batch.
        if value.__class__ is not float or value - value != 0.0:
            value = check_number(value, "value")
        if split.__class__ is not str or split not in SPLITS:
            check_split(split)
        if step is not None and step.__class__ is not int:
            step = check_step(step)
        t = _now() if time is None else check_time(time)
        if self._status != "running":
            self._ensure_running()
        self._append(("loss", self.id, split, step, value, t))

    def log_metric(self, name: str, value: float, step: Any = None, time: Any = None) -> None:
        """Record one value of a metric the engine does not compute.

        Parameters
        ----------
        name : str
        value : float
            Finite.
        step : int or float, optional
            Default: the number of values of this metric logged before.
        time : float or datetime, optional
            Default: now.
        """
        if name.__class__ is not str or not name:
            check_name(name, "name")
        if value.__class__ is not float or value - value != 0.0:
            value = check_number(value, "value")
        if step is not None and step.__class__ is not int:
            step = check_step(step)
        t = _now() if time is None else check_time(time)
        if self._status != "running":
            self._ensure_running()
        self._append(("metric", self.id, name, step, value, t))

    def log_feature_importance(self, names: Any, values: Any, per_class: Any = None) -> None:
        """Record feature importances (a later call replaces an earlier one).

        Parameters
        ----------
        names : sequence of str
            Feature names.
        values : sequence of float
            Overall importance per feature, same length as `names`.
        per_class : dict or 2-D array, optional
            Importance per class: ``{label: values}``, or an array with one row
            per run label.
        """
        if isinstance(names, str) or not hasattr(names, "__iter__"):
            raise ValueError(f"names must be a sequence of feature names, got {names!r}")
        names = [plain_label(n) for n in names]
        if not all(isinstance(n, str) and n for n in names):
            raise ValueError("names must be non-empty strings")
        vals = _finite_vector(values, "values", len(names))
        rows: list[list[Any]] | None = None
        if per_class is not None:
            if isinstance(per_class, Mapping):
                items = list(per_class.items())
            else:
                arr = np.asarray(per_class)
                if self.run.labels is None or arr.ndim != 2 or len(arr) != len(self.run.labels):
                    raise ValueError(
                        "per_class must be a {label: values} dict, or a 2-D array with one row "
                        "per run label"
                    )
                items = list(zip(self.run.labels, arr, strict=True))
            rows = [
                [plain_label(k), _finite_vector(v, f"per_class[{k!r}]", len(names))]
                for k, v in items
            ]
        fi = {"names": names, "values": vals, "per_class": rows}
        with self._lock:
            self._check_open()
            self._ensure_running()
            self._feature_importance = fi
            self._set(feature_importance=json.dumps(fi, sort_keys=True))

    # ------------------------------------------------------------ the writer

    def _snapshot(self, split: str) -> dict[str, Any] | None:
        # Runs on the writer thread: copy the state under the lock (a memcpy),
        # compute the metrics from the copy outside it.
        with self._lock:
            engine = self._engines.get(split)
            if engine is None:
                return None
            try:
                state = {k: np.array(v, copy=True) for k, v in engine.state_dict().items()}
            except Exception:
                logger.exception("runwatch: state_dict() failed for iteration %s", self.id)
                return None
            n, counts = self._counts.get(split, (0, {}))
            count_list = [[k, v] for k, v in counts.items()]
        metrics = reasons = None
        try:
            copy = type(engine).from_state_dict(state)
            metrics = copy.compute()
            reasons = copy.reasons() if hasattr(copy, "reasons") else {}
        except Exception:
            logger.exception("runwatch: computing metrics failed for iteration %s", self.id)
        return {
            "iteration_id": self.id,
            "split": split,
            "state": state,
            "n_samples": n,
            "class_counts": count_list,
            "metrics": metrics,
            "reasons": reasons,
        }

    # ---------------------------------------------------------------- reading

    def engine(self, split: str = "validation") -> Any:
        """Return a copy of the split's metrics engine, or None if it has no data.

        The copy is yours: updating it changes nothing here.
        """
        check_split(split)
        with self._lock:
            live = self._engines.get(split)
            state = None if live is None else live.state_dict()
            if state is not None:
                state = {k: np.array(v, copy=True) for k, v in state.items()}
        if state is None:
            state = self.run._store.state(self.id, split)
            if state is None:
                return None
        return engine_class(self.run.task).from_state_dict(state)

    def metrics(self, split: str = "validation") -> dict[str, float]:
        """Return every metric of the task for the split (empty if it has no data)."""
        check_split(split)
        if self._live and split in self._engines:
            engine = self.engine(split)
            return {} if engine is None else dict(engine.compute())
        for s in self.run._store.split_rows([self.id]):
            if s["split"] == split:
                return loads_metrics(s["metrics"])
        return {}

    def reasons(self, split: str = "validation") -> dict[str, str]:
        """Return why each NaN metric of the split is NaN."""
        check_split(split)
        if self._live and split in self._engines:
            engine = self.engine(split)
            return {} if engine is None else dict(engine.reasons())
        for s in self.run._store.split_rows([self.id]):
            if s["split"] == split and s["reasons"]:
                return json.loads(s["reasons"])
        return {}

    def curves(self, split: str = "validation") -> dict[str, Any]:
        """Return the split's curves (tidy DataFrames by name; empty if no data)."""
        engine = self.engine(split)
        return {} if engine is None else engine.curves()

    def confusion_matrix(self, split: str = "validation") -> pd.DataFrame | None:
        """Return the split's confusion matrix (true label x predicted), or None."""
        engine = self.engine(split)
        return None if engine is None else engine.confusion_matrix()

    def dataset_stats(self, split: str = "validation") -> dict[str, Any]:
        """Return {"n_samples": int, "class_counts": {label: count}} for the split."""
        check_split(split)
        with self._lock:
            if self._live and split in self._counts:
                n, counts = self._counts[split]
                return {"n_samples": n, "class_counts": dict(counts)}
        for s in self.run._store.split_rows([self.id]):
            if s["split"] == split:
                counts = {
                    (tuple(k) if isinstance(k, list) else k): v
                    for k, v in json.loads(s["class_counts"])
                }
                return {"n_samples": s["n_samples"], "class_counts": counts}
        return {"n_samples": 0, "class_counts": {}}

    def _points_frame(self, kind: str, label: str) -> pd.DataFrame:
        import pandas as pd

        if self._live:
            self._writer.flush()
        rows = self.run._store.points(self.id, kind)
        df = pd.DataFrame(rows, columns=[label, "step", "value", "time"])
        df["value"] = df["value"].astype("float64")
        df["time"] = pd.to_datetime(df["time"].astype("float64"), unit="s", utc=True)
        return df

    def losses(self) -> pd.DataFrame:
        """Return the losses logged so far: columns split, step, value, time (UTC)."""
        return self._points_frame("loss", "split")

    def logged_metrics(self) -> pd.DataFrame:
        """Return the values logged with :meth:`log_metric`: name, step, value, time."""
        return self._points_frame("metric", "name")


def _finite_vector(values: Any, name: str, length: int) -> list[float]:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got {values!r}")
    if len(arr) != length:
        raise ValueError(f"{name} has {len(arr)} values for {length} names")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return [float(v) for v in arr]


def _count(n: int, counts: dict[Any, int], y_true: Any, task: str) -> tuple[int, dict[Any, int]]:
    # Dataset stats: how many samples, and per class how many (unweighted).
    if task != "classification":
        try:
            return n + len(y_true), counts
        except TypeError:
            return n, counts
    arr = np.asarray(y_true)
    arr = arr.reshape(-1) if arr.ndim else arr.reshape(1)
    counts = dict(counts)
    try:
        labels, sizes = np.unique(arr, return_counts=True)
        pairs = zip(labels.tolist(), sizes.tolist(), strict=True)
    except TypeError:  # mixed label types do not sort
        found: dict[Any, int] = {}
        for v in arr.tolist():
            found[v] = found.get(v, 0) + 1
        pairs = iter(found.items())
    for label, size in pairs:
        key = plain_label(label)
        counts[key] = counts.get(key, 0) + int(size)
    return n + int(arr.size), counts


class _ReadOnlyQueue:
    # Stands in for the writer queue of an iteration opened for reading, so the
    # hot logging path needs no extra check to refuse.
    def __init__(self, iteration: Iteration) -> None:
        self._iteration = iteration

    def append(self, _: Any) -> None:
        self._iteration._check_open()
        raise RuntimeError("this iteration takes no logs")  # pragma: no cover
