"""Which metrics engine serves which task: one registry, imported lazily.

The tracking layer never names an engine class in its code: a task maps to an
import path (``"module:Class"``), and the class is imported on first use. The
regression, detection and segmentation engines plug in by being importable at
their path, with no special case here. Every engine has ``update``,
``compute``, ``reasons``, ``state_dict`` and ``from_state_dict``; what
arguments its constructor and ``update`` take is read from their signatures.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache
from typing import Any

ENGINES: dict[str, str] = {
    "classification": "runwatch.metrics:ClassificationMetrics",
    "regression": "runwatch.metrics:RegressionMetrics",
    "detection": "runwatch.metrics:DetectionMetrics",
    "instance_segmentation": "runwatch.metrics:InstanceSegmentationMetrics",
    "segmentation": "runwatch.metrics:SegmentationMetrics",
}

# Azure AutoML's default primary metric per task (its "mean_average_precision"
# is COCO's mAP@[.5:.95], the engines' "mAP"; semantic segmentation: mean IoU).
DEFAULT_PRIMARY: dict[str, str] = {
    "classification": "accuracy",
    "regression": "spearman_correlation",
    "detection": "mAP",
    "instance_segmentation": "mAP",
    "segmentation": "mean_iou",
}

# The engine method ``Iteration.update`` feeds, where it is not ``update``:
# detection runs take torchmetrics' per-image dicts, as ``update_batch`` does.
UPDATE_METHOD: dict[str, str] = {
    "detection": "update_batch",
    "instance_segmentation": "update_batch",
}


def register_engine(task: str, path: str) -> None:
    """Serve `task` with the engine class at `path` (``"package.module:Class"``).

    Parameters
    ----------
    task : str
        Task name, as given to ``Run(task=...)``.
    path : str
        Import path of the class, ``"module:Class"``.
    """
    if ":" not in path:
        raise ValueError(f"path must look like 'package.module:Class', got {path!r}")
    ENGINES[task] = path
    engine_class.cache_clear()


@cache
def engine_class(task: str) -> type:
    """Return the engine class serving `task`, importing it on first use.

    Raises
    ------
    ValueError
        When no engine is registered for `task` or it cannot be imported.
    """
    try:
        path = ENGINES[task]
    except KeyError:
        raise ValueError(f"task {task!r} has no metrics engine registered") from None
    module_name, _, attr = path.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(
            f"task {task!r} has no metrics engine in this build ({path} cannot be imported: {exc})"
        ) from None


@cache
def _signature(func: Any) -> inspect.Signature:
    return inspect.signature(func)


def _parameters(func: Any) -> frozenset[str]:
    return frozenset(_signature(func).parameters)


def new_engine(task: str, labels: list[Any] | None, options: dict[str, Any] | None = None) -> Any:
    """Return a fresh engine for `task`, given the run's labels where it takes them.

    An engine that needs its number of classes (``num_classes``) gets the
    number of labels.

    Raises
    ------
    ValueError
        When the engine refuses the labels or options (naming the argument),
        or needs labels and none were given.
    """
    cls = engine_class(task)
    kwargs = dict(options or {})
    params = _parameters(cls)
    for key in kwargs:
        if key not in params or key in ("labels", "num_classes"):
            raise ValueError(
                f"metric_options has {key!r}, which {cls.__name__} does not take "
                "(labels come from the run's labels)"
            )
    if labels is not None and "labels" in params:
        kwargs["labels"] = list(labels)
    if "num_classes" in params:
        if labels is None:
            raise ValueError(
                f"labels must name the classes of a {task} run (mask value i is labels[i])"
            )
        kwargs["num_classes"] = len(labels)
    return cls(**kwargs)


def update_engine(engine: Any, task: str, args: tuple[Any, ...], kwargs: dict[str, Any]):
    """Feed one batch to `engine` as ``Iteration.update`` got it; return the bound arguments.

    The arguments go to the task's update method (``UPDATE_METHOD``, else
    ``update``); keyword arguments given as None are left out.

    Raises
    ------
    ValueError
        When an argument was given that this task's engine does not take
        (``y_proba`` for regression), or the arguments do not fit its
        signature; or when the engine refuses the batch.
    """
    name = UPDATE_METHOD.get(task, "update")
    method = getattr(type(engine), name)
    signature = _signature(method)
    given = {k: v for k, v in kwargs.items() if v is not None}
    for key in given:
        if key not in signature.parameters:
            raise ValueError(f"{key} is not used by {type(engine).__name__}.{name}")
    try:
        bound = signature.bind(engine, *args, **given)
    except TypeError as exc:
        shown = ", ".join(
            p.name if p.default is p.empty else f"{p.name}={p.default!r}"
            for p in list(signature.parameters.values())[1:]
        )
        raise ValueError(
            f"the arguments after split must fit {type(engine).__name__}.{name}({shown}): {exc}"
        ) from None
    method(*bound.args, **bound.kwargs)
    arguments = dict(bound.arguments)
    arguments.pop("self", None)
    return arguments
