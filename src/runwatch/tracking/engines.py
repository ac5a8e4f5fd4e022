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
    "segmentation": "runwatch.metrics:SegmentationMetrics",
}

# Azure AutoML's default primary metric per task.
DEFAULT_PRIMARY: dict[str, str] = {
    "classification": "accuracy",
    "regression": "spearman_correlation",
    "detection": "mean_average_precision",
    "segmentation": "mean_average_precision",
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
def _parameters(func: Any) -> frozenset[str]:
    return frozenset(inspect.signature(func).parameters)


def new_engine(task: str, labels: list[Any] | None, options: dict[str, Any] | None = None) -> Any:
    """Return a fresh engine for `task`, given the run's labels where it takes them."""
    cls = engine_class(task)
    kwargs = dict(options or {})
    if labels is not None and "labels" in _parameters(cls):
        kwargs["labels"] = list(labels)
    return cls(**kwargs)


def update_engine(engine: Any, y_true: Any, **kwargs: Any) -> None:
    """Feed one batch to `engine`, passing only the arguments that were given.

    Raises
    ------
    ValueError
        When an argument was given that this task's engine does not take
        (``y_proba`` for regression).
    """
    accepted = _parameters(type(engine).update)
    given = {k: v for k, v in kwargs.items() if v is not None}
    for key in given:
        if key not in accepted:
            raise ValueError(f"{key} is not used by {type(engine).__name__}.update")
    engine.update(y_true, **given)
