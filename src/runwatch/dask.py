"""Evaluation on a Dask cluster: one engine per partition, merged in a tree.

``evaluate`` takes dask arrays, dask DataFrame columns or dask bags. Each
partition (a chunk of rows, a DataFrame partition, a bag partition) is fed to
a fresh engine on the worker that holds it; the engines' ``state_dict()``
(plain numpy arrays, never a pickled engine) are merged ``split_every`` at a
time in a tree, partitions kept in order, and the client gets one engine back.
Because the engines' merges equal one pass (README, "What a merge equals"),
that engine equals the one-process engine fed the partitions in order: every
count and matrix bit for bit, exact-mode values exactly, float sums to their
rounding, binned values within the bounds they report.

Imported only when used (``import runwatch.dask``); it needs the ``dask``
extra. A distributed ``Client``, when one is active, runs the graph (dask's
default scheduler otherwise).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dask
import dask.array as da
import dask.bag as db
import numpy as np

from .tracking.engines import UPDATE_METHOD, engine_class

__all__ = ["evaluate"]

#: Which engine argument each of ``evaluate``'s inputs feeds, per task.
ARGUMENTS: dict[str, dict[str, str]] = {
    "classification": {"y_true": "y_true", "y_proba": "y_proba", "y_pred": "y_pred",
                       "sample_weight": "sample_weight"},
    "regression": {"y_true": "y_true", "y_pred": "y_pred", "sample_weight": "sample_weight"},
    "segmentation": {"y_true": "mask_true", "y_pred": "mask_pred", "y_proba": "y_proba"},
    "detection": {"y_true": "targets", "y_pred": "preds"},
    "instance_segmentation": {"y_true": "targets", "y_pred": "preds"},
}  # fmt: skip

#: How many states one merge task takes (the tree's fan-in).
DEFAULT_SPLIT_EVERY = 8


@dataclass(frozen=True)
class _Spec:
    """What a worker needs to build and feed an engine: plain data, shipped with each task."""

    task: str
    labels: Any
    options: dict[str, Any] = field(default_factory=dict)
    names: tuple[str, ...] = ()  # the engine arguments fed, in the order of a task's parts
    batches: bool = False  # a bag of batches: each element a dict of evaluate's arguments


def evaluate(
    y_true: Any,
    y_proba: Any = None,
    y_pred: Any = None,
    *,
    task: str = "classification",
    labels: Any = None,
    sample_weight: Any = None,
    split_every: int = DEFAULT_SPLIT_EVERY,
    **engine_options: Any,
) -> Any:
    """Evaluate predictions held by a Dask cluster; return one metrics engine.

    Parameters
    ----------
    y_true : dask Array, dask Series/DataFrame or dask Bag
        True values, partitioned as the predictions. For detection and
        instance segmentation, a bag of per-image target dicts (torchmetrics'
        format, as ``DetectionMetrics.update_batch`` takes them). A bag given
        alone is a bag of batches: each element a dict with keys among
        ``y_true``, ``y_proba``, ``y_pred``, ``sample_weight``, fed to the
        engine as one call of this function's arguments would be.
    y_proba : dask Array or DataFrame, optional
        Class scores (classification ``(n, C)`` or ``(n,)``; segmentation
        ``(n, C, h, w)``), rows chunked as ``y_true``.
    y_pred : dask Array, Series or Bag, optional
        Predicted labels, values or masks; for detection a bag of per-image
        prediction dicts.
    task : str
        ``"classification"``, ``"regression"``, ``"detection"``,
        ``"instance_segmentation"`` or ``"segmentation"``.
    labels : sequence, optional
        The engine's ``labels`` (segmentation: its class names, which also
        give ``num_classes``). ``None``: each partition learns the labels it
        sees and the merge unites them, as one pass would (sorted); no extra
        pass over the data is made to find them.
    sample_weight : dask Array or Series, optional
        Per-sample weights (classification, regression), chunked as ``y_true``.
    split_every : int
        How many states one merge task combines (default 8).
    **engine_options
        Further arguments of the task's engine (``curve_bins=True``,
        ``mode="binned"``, ``ignore_index=255``, ``score_threshold=0.3``...).

    Returns
    -------
    ClassificationMetrics, RegressionMetrics, DetectionMetrics, ...
        The task's engine holding every partition's data.

    Raises
    ------
    ValueError
        In one sentence naming the argument, before any work is sent: an
        unknown task, an argument this task does not take, an input that is
        not a dask collection, inputs partitioned differently (number of
        partitions, or row chunks of arrays), bad engine options. A partition
        the engine refuses raises its ``ValueError`` (naming the argument) from
        the worker, and no engine is returned.
    """
    spec_task = _check_task(task)
    if isinstance(split_every, bool) or not isinstance(split_every, int) or split_every < 2:
        raise ValueError(f"split_every must be an int >= 2; got {split_every!r}.")
    given = {"y_true": y_true, "y_proba": y_proba, "y_pred": y_pred,
             "sample_weight": sample_weight}  # fmt: skip
    given = {name: value for name, value in given.items() if value is not None}
    if "y_true" not in given:
        raise ValueError("y_true is required: the true values, as a dask collection.")
    accepted = ARGUMENTS[spec_task]
    for name in given:
        if name not in accepted:
            raise ValueError(f"{name} is not used by a {spec_task} evaluation.")
    engine = _new_engine(spec_task, labels, engine_options)  # checks labels and options here
    batches = isinstance(y_true, db.Bag) and len(given) == 1
    if not batches:
        _check_needed(spec_task, given)
    parts = {name: _partitions(name, value) for name, value in given.items()}
    _check_aligned(parts)
    names = tuple(parts) if batches else tuple(accepted[name] for name in parts)
    spec = _Spec(spec_task, labels, dict(engine_options), names, batches)
    count = len(parts["y_true"].pieces)
    if count == 0:
        return engine
    level = [
        dask.delayed(_partition_state, pure=True)(spec, *(p.pieces[i] for p in parts.values()))
        for i in range(count)
    ]
    while len(level) > 1:  # neighbours merge, so partitions stay in order
        level = [
            dask.delayed(_merge_states, pure=True)(spec_task, *level[i : i + split_every])
            for i in range(0, len(level), split_every)
        ]
    (state,) = dask.compute(level[0])
    return type(engine).from_state_dict(state)


# ------------------------------------------------------------ on the client
@dataclass
class _Parts:
    """One input as a list of delayed partitions, with their lengths where dask knows them."""

    what: str  # "array", "frame" or "bag", for the messages
    pieces: list[Any]
    lengths: tuple[float, ...] | None  # None: unknown (frames, bags)
    divisions: tuple[Any, ...] | None = None


def _check_task(task: Any) -> str:
    if not isinstance(task, str) or task not in ARGUMENTS:
        raise ValueError(f"task must be one of {', '.join(map(repr, ARGUMENTS))}; got {task!r}.")
    return task


def _check_needed(task: str, given: dict[str, Any]) -> None:
    if task in ("detection", "instance_segmentation", "regression") and "y_pred" not in given:
        raise ValueError(f"y_pred is required for a {task} evaluation.")
    if task in ("classification", "segmentation") and not {"y_proba", "y_pred"} & set(given):
        raise ValueError(f"y_proba or y_pred is required for a {task} evaluation.")


def _new_engine(task: str, labels: Any, options: dict[str, Any]) -> Any:
    """The task's engine with ``labels`` and ``options``; its own checks name the argument."""
    cls = engine_class(task)
    params = inspect.signature(cls).parameters
    kwargs = dict(options)
    for key in kwargs:
        if key not in params or key == "labels":
            raise ValueError(f"{key} is not an argument of {cls.__name__}.")
    if labels is not None:
        if "labels" not in params:
            raise ValueError(f"labels is not used by {cls.__name__}.")
        kwargs["labels"] = labels
        if "num_classes" in params and "num_classes" not in kwargs:
            try:
                kwargs["num_classes"] = len(labels)
            except TypeError:
                raise ValueError(f"labels must be a sequence; got {labels!r}.") from None
    if "num_classes" in params and "num_classes" not in kwargs:
        raise ValueError(f"labels must name the classes of a {task} evaluation (or num_classes).")
    return cls(**kwargs)


def _partitions(name: str, value: Any) -> _Parts:
    """``value``'s partitions; arrays are rechunked to whole rows (one chunk across columns)."""
    if isinstance(value, da.Array):
        if value.ndim == 0:
            raise ValueError(f"{name} must have at least one dimension; got a 0-d dask array.")
        whole = {axis: -1 for axis in range(1, value.ndim) if len(value.chunks[axis]) > 1}
        if whole:  # a row must sit in one chunk; this moves no row between partitions
            value = value.rechunk(whole)
        return _Parts("array", list(value.to_delayed().reshape(-1)), tuple(value.chunks[0]))
    if isinstance(value, db.Bag):
        return _Parts("bag", list(value.to_delayed()), None)
    frame = _frame_parts(value)
    if frame is not None:
        return frame
    raise ValueError(
        f"{name} must be a dask Array, dask DataFrame/Series or dask Bag; "
        f"got {type(value).__name__} (wrap it with dask.array.from_array or from_pandas)."
    )


def _frame_parts(value: Any) -> _Parts | None:
    try:
        import dask.dataframe as dd
    except ImportError:  # dask without its dataframe extra: no frame can be given either
        return None
    if not isinstance(value, (dd.DataFrame, dd.Series)):
        return None
    known = value.known_divisions
    return _Parts(
        "frame", list(value.to_delayed()), None, tuple(value.divisions) if known else None
    )


def _check_aligned(parts: dict[str, _Parts]) -> None:
    """Refuse inputs that would pair rows of different partitions, before any work is sent."""
    first = parts["y_true"]
    for name, other in parts.items():
        if name == "y_true":
            continue
        if len(other.pieces) != len(first.pieces):
            raise ValueError(
                f"{name} has {len(other.pieces)} partitions but y_true has "
                f"{len(first.pieces)}; partition them alike (rechunk or repartition)."
            )
        if first.lengths is not None and other.lengths is not None:
            if not _same_lengths(first.lengths, other.lengths):
                raise ValueError(
                    f"{name} has row chunks {_short(other.lengths)} but y_true has "
                    f"{_short(first.lengths)}; rechunk it with .rechunk({{0: y_true.chunks[0]}})."
                )
        if first.divisions is not None and other.divisions is not None:
            if first.divisions != other.divisions:
                raise ValueError(
                    f"{name} has divisions {_short(other.divisions)} but y_true has "
                    f"{_short(first.divisions)}; its partitions hold other rows."
                )


def _same_lengths(a: Sequence[float], b: Sequence[float]) -> bool:
    # Unknown chunk sizes (NaN) cannot be compared here; the engine checks them on the worker.
    return all(math.isnan(x) or math.isnan(y) or x == y for x, y in zip(a, b))


def _short(values: Sequence[Any]) -> str:
    shown = ", ".join(str(v) for v in values[:6])
    return f"({shown}{', ...' if len(values) > 6 else ''})"


# ------------------------------------------------------------ on the workers
def _partition_state(spec: _Spec, *pieces: Any) -> dict[str, np.ndarray]:
    """One partition fed to a fresh engine; its state as plain arrays."""
    engine = _new_engine(spec.task, spec.labels, spec.options)
    if spec.batches:
        for batch in pieces[0]:
            _feed(engine, spec.task, _batch_arguments(spec.task, batch))
    else:
        _feed(engine, spec.task, dict(zip(spec.names, pieces)))
    return engine.state_dict()


def _merge_states(task: str, *states: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Neighbouring states merged, in order."""
    cls = engine_class(task)
    first = cls.from_state_dict(states[0])
    first.merge(*(cls.from_state_dict(s) for s in states[1:]))
    return first.state_dict()


def _feed(engine: Any, task: str, arguments: dict[str, Any]) -> None:
    method = getattr(engine, UPDATE_METHOD.get(task, "update"))
    if arguments:
        method(**arguments)


def _batch_arguments(task: str, batch: Any) -> dict[str, Any]:
    """A bag element (a dict of ``evaluate``'s arguments) as the engine's arguments."""
    if not isinstance(batch, dict):
        raise ValueError(
            f"each element of a bag of batches (y_true) must be a dict of evaluate's arguments; "
            f"got {type(batch).__name__}."
        )
    accepted = ARGUMENTS[task]
    for key in batch:
        if key not in accepted:
            raise ValueError(
                f"a batch of y_true has {key!r}, which a {task} evaluation does not use."
            )
    return {accepted[key]: value for key, value in batch.items() if value is not None}
