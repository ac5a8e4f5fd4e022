"""Watch machine-learning runs live in Jupyter and judge their models.

runwatch has an incremental metrics engine (:mod:`runwatch.metrics`), a
thread-safe tracking layer with an embedded store (:mod:`runwatch.tracking`)
and an anywidget front end (:class:`RunDetails`).

Importing :mod:`runwatch` loads none of them: ``Run``, ``RunDetails``, the
integrations (``sweep``, ``import_mlflow``, framework-free until called) and the other names
below are imported on first access, so ``import runwatch.metrics`` runs in a
plain script, a Dask worker or a training job without the widget
stack (anywidget, ipywidgets, traitlets, altair) or its bundle.

Examples
--------
>>> import runwatch as rw
>>> isinstance(rw.__version__, str)
True
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("runwatch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

# Public name -> the submodule that defines it, imported on first access.
_LAZY: dict[str, str] = {
    "Run": "runwatch.tracking",
    "Iteration": "runwatch.tracking",
    "runs": "runwatch.tracking",
    "open_run": "runwatch.tracking",
    "import_json": "runwatch.tracking",
    "RunDetails": "runwatch.widget",
    "sweep": "runwatch.integrations.sklearn",
    "import_mlflow": "runwatch.integrations.mlflow",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    """Import the submodule behind a public name on first access (PEP 562)."""
    try:
        module_name = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'runwatch' has no attribute {name!r}") from None
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the submodule exists but one of its own imports failed: show that error
        raise AttributeError(
            f"runwatch.{name} is served by {module_name}, which is not in this build of runwatch"
        ) from exc
    try:
        value = getattr(module, name)
    except AttributeError:
        raise AttributeError(
            f"runwatch.{name} is served by {module_name}, which does not define {name!r}"
        ) from None
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__() -> list[str]:
    """List the module's names, the lazily imported ones included."""
    return sorted(set(globals()) | set(_LAZY))
