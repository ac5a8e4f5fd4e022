"""Iterations: what one model of a sweep (or one epoch) logs, and how it is read back.

An :class:`Iteration` belongs to a :class:`~runwatch.tracking.run.Run`, which
creates it (:meth:`Run.iteration`) or opens it for reading (:meth:`Run.get`).
It keeps one metrics engine per split (train, validation, test), fed batch by
batch on the caller's thread; losses, logged metrics, status changes, its
:class:`Tags` and engine snapshots go to the store through the background
writer (:mod:`runwatch.tracking.writer`, which also takes the snapshots),
never synchronously. Argument checks are in ``_validate``, the dataset-stats
counting in ``_stats``.
"""

from __future__ import annotations

import json
import threading
import time as _time_module
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _snapshots
from ._codec import loads_metrics
from ._stats import count_engine, count_samples, load_class_counts
from ._validate import (
    ENDED,
    SPLITS,
    check_feature_importance,
    check_mapping,
    check_name,
    check_number,
    check_split,
    check_step,
    check_time,
    to_plain,
)
from .engines import engine_class, new_engine, update_engine

if TYPE_CHECKING:
    import pandas as pd

    from .run import Run

_now = _time_module.time


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
        # Guards the engines and counts, which the writer thread snapshots too.
        self._lock = threading.RLock()
        self._engines: dict[str, Any] = {}
        self._counts: dict[str, tuple[int, dict[Any, int]]] = {}
        self._steps = _snapshots.StepLog()
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
        store = self.run._store
        store.writer.queue.append(("iteration", self.id, fields))
        store.iteration_changed()

    def _save_tags(self) -> None:
        self._set(tags=json.dumps(self._tags._data, sort_keys=True))

    def start(self, time: Any = None) -> Iteration:
        """Mark the iteration running (done for you by ``with`` or the first log call).

        `time` (seconds since the epoch or a ``datetime``; default now) is for
        runs recorded elsewhere and imported, which started before the import.
        """
        started = _now() if time is None else check_time(time)
        with self._lock:
            self._check_open()
            if self._status == "queued":
                self._status = "running"
                self._started = started
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

    def _end(self, status: str, error: str | None, wait: bool = True, time: Any = None) -> None:
        ended = _now() if time is None else check_time(time)
        with self._lock:
            self._check_open()
            if time is not None and self._started is not None and ended < self._started:
                raise ValueError(
                    f"time {ended!r} is before the iteration started ({self._started!r})"
                )
            self._status = status
            self._ended = ended
            self._error = error
            self._set(status=status, ended=self._ended, error=error)
            self._writer.deactivate(self.id)
        if wait:
            # Every iteration end is committed before the call returns.
            self._writer.flush()

    def complete(self, time: Any = None) -> None:
        """Mark the iteration completed and commit everything it logged.

        `time`: when it ended, as in :meth:`start` (default now).
        """
        self._end("completed", None, time=time)

    def fail(self, error: str | BaseException, time: Any = None) -> None:
        """Mark the iteration failed with `error` (a message or the exception)."""
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}"
        self._end("failed", str(error), time=time)

    def cancel(self, time: Any = None) -> None:
        """Mark the iteration canceled."""
        self._end("canceled", None, time=time)

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
            counts = load_class_counts(srow["class_counts"])
            self._counts[split] = (srow["n_samples"], counts)
        for split in SPLITS:
            steps = [snap.step for snap in _snapshots.read(store, self.id, split)]
            if steps:
                self._steps.load(split, steps)
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

    def update(self, split: str, *args: Any, step: Any = None, **kwargs: Any) -> None:
        """Feed one batch of a split's predictions to its metrics engine.

        O(batch) on the calling thread; the engine's state reaches the store
        with the next commit. ``step`` (an epoch: int or float, non-decreasing
        per split) keeps a snapshot of the split's confusion matrix and
        metrics per step for the replay (:meth:`steps`): the snapshot of step
        k holds every batch with a step up to k (cumulative, as the split's
        engine does), a batch without a step counts in the current step. A
        batch that opens a new step before the writer committed the last one
        copies the engine state once (that step's end). What follows
        ``split`` is the task's:

        - classification: ``(y_true, y_proba=None, y_pred=None, sample_weight=None,
          sample_ids=None, attributes=None)`` (``ClassificationMetrics.update``;
          the ids and per-sample attributes are kept in the engine's state, for
          ``engine(split).by_attribute``, ``samples``, ``top_losses``);
          regression: ``(y_true, y_pred, sample_weight=None)``;
        - detection: ``(preds, targets)``, lists of per-image dicts in
          torchmetrics' ``MeanAveragePrecision`` format (boxes xyxy, scores,
          labels; targets boxes, labels, optional iscrowd, area, image_id),
          as ``DetectionMetrics.update_batch`` takes them;
        - instance_segmentation: the same with ``"masks"`` ((n, H, W) booleans
          or COCO RLE dicts) instead of boxes
          (``InstanceSegmentationMetrics.update_batch``);
        - segmentation: ``(mask_true, mask_pred)`` integer masks (H, W) or
          (N, H, W), or ``(mask_true, y_proba=scores)`` with scores (N, C, H,
          W) (``SegmentationMetrics.update``).

        Parameters
        ----------
        split : {"train", "validation", "test"}
            The result set the batch belongs to.
        *args, **kwargs
            The batch, as above.
        step : int or float, optional
            The step (epoch) the batch belongs to, for the replay.

        Raises
        ------
        ValueError
            On an unknown split, a step that is not a number or below the
            split's last one, or a batch the engine refuses; nothing is
            recorded then.
        """
        check_split(split)
        with self._lock:
            self._check_open()
            step, opens = self._steps.plan(split, step)
            engine = self._engines.get(split)
            fresh = engine is None
            if fresh:
                engine = new_engine(self.run.task, self.run.labels, self.run.metric_options)
            closing = self._closing(split, engine, fresh, opens)
            task = self.run.task
            given = update_engine(engine, task, args, kwargs)
            if fresh:
                self._engines[split] = engine
            n, counts = self._counts.get(split, (0, {}))
            self._counts[split] = count_samples(n, counts, given, task)
            self._ensure_running()
            self._record_step(split, step, opens, closing)
            self._q.append(("state", self, split))

    def _closing(self, split: str, engine: Any, fresh: bool, opens: bool) -> Any:
        # The state the split's current step ends with, when this batch opens
        # the next one: copied now, before the batch changes the engine, unless
        # the writer already committed it (then the store's snapshot is final).
        current = self._steps.current(split)
        if not opens or current is None or fresh or self._steps.is_stored(split):
            return None
        return (*current, _snapshots.copy_state(engine))

    def _record_step(self, split: str, step: Any, opens: bool, closing: Any) -> None:
        # After the engine took the batch: a refused batch records no step.
        self._steps.fed(split)
        if closing is not None:
            pos, closed, state = closing
            self._q.append(("step", self, split, pos, closed, state))
        if opens:
            self._steps.commit(split, step)

    def update_from(self, engine: Any, split: str = "validation", step: Any = None) -> None:
        """Merge a metrics engine's data into a split, as if its batches were fed here.

        For engines filled elsewhere: ``runwatch.dask.evaluate`` on a cluster,
        another process, a state loaded with ``from_state_dict``. The split's
        engine becomes its merge with a copy of `engine` (which stays yours),
        its dataset stats grow by what `engine` holds, and it reaches the
        store like an ``update``, so a ``RunDetails`` following the run shows it.

        Parameters
        ----------
        engine : ClassificationMetrics, RegressionMetrics, ...
            An engine of this run's task, made with the run's labels and
            ``metric_options`` (its merge refuses other arguments).
        split : {"train", "validation", "test"}, default "validation"
        step : int or float, optional
            The step the merged data belongs to, as in :meth:`update`.

        Raises
        ------
        ValueError
            On an unknown split, a bad step (as in :meth:`update`), an engine
            of another class or one that does not merge with the split's
            (other labels or options); nothing is recorded then.
        """
        check_split(split)
        task = self.run.task
        cls = engine_class(task)
        if type(engine) is not cls:
            raise ValueError(
                f"engine must be a {cls.__name__} for this {task} run; got {type(engine).__name__}"
            )
        incoming = cls.from_state_dict(engine.state_dict())  # a copy: `engine` stays the caller's
        with self._lock:
            self._check_open()
            step, opens = self._steps.plan(split, step)
            current = self._engines.get(split)
            if current is None:
                merged = new_engine(task, self.run.labels, self.run.metric_options)
            else:
                merged = cls.from_state_dict(current.state_dict())  # the split's, if merge refuses
            try:
                merged.merge(incoming)
            except ValueError as exc:
                why = f"engine does not merge into this run's {split} metrics: {exc}"
                raise ValueError(why) from None
            closing = self._closing(split, current, current is None, opens)
            self._engines[split] = merged
            n, counts = self._counts.get(split, (0, {}))
            self._counts[split] = count_engine(n, counts, incoming, task)
            self._ensure_running()
            self._record_step(split, step, opens, closing)
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
        fi = check_feature_importance(names, values, per_class, self.run.labels)
        with self._lock:
            self._check_open()
            self._ensure_running()
            self._feature_importance = fi
            self._set(feature_importance=json.dumps(fi, sort_keys=True))

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

    def steps(self, split: str = "validation") -> list[_snapshots.StepSnapshot]:
        """Return the split's snapshot per step, in step order (empty without steps).

        Each holds the step, the confusion matrix (``.confusion_matrix()``,
        true labels in rows, by name) and the metrics of the split after every
        batch with a step up to it (see :meth:`update`). Read from the store,
        after committing what this process logged.
        """
        check_split(split)
        if self._live:
            self._writer.flush()
        return _snapshots.read(self.run._store, self.id, split)

    def dataset_stats(self, split: str = "validation") -> dict[str, Any]:
        """Return {"n_samples": int, "class_counts": {label: count}} for the split."""
        check_split(split)
        with self._lock:
            if self._live and split in self._counts:
                n, counts = self._counts[split]
                return {"n_samples": n, "class_counts": dict(counts)}
        for s in self.run._store.split_rows([self.id]):
            if s["split"] == split:
                counts = load_class_counts(s["class_counts"])
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


class _ReadOnlyQueue:
    # Stands in for the writer queue of an iteration opened for reading, so the
    # hot logging path needs no extra check to refuse.
    def __init__(self, iteration: Iteration) -> None:
        self._iteration = iteration

    def append(self, _: Any) -> None:
        self._iteration._check_open()
        raise RuntimeError("this iteration takes no logs")  # pragma: no cover
