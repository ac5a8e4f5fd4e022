"""Runs and iterations: the logging API, the embedded store, watching and export.

A :class:`Run` holds iterations (the models of a sweep, the epochs of a
loop); an :class:`Iteration` feeds predictions to one metrics engine per split
and records losses, metrics, parameters and tags. Everything goes to one
store (the SQLite file ``./runwatch.db`` unless ``store=`` or
``$RUNWATCH_STORE`` names another file or a ``postgresql://`` database)
through a background writer, so logging never waits for the disk, and other
processes can watch the run while it is written.

This package imports numpy (and pandas when a table is asked for), never the
widget stack.

Examples
--------
>>> import os, tempfile
>>> from runwatch.tracking import Run, open_run
>>> path = os.path.join(tempfile.mkdtemp(), "runs.db")
>>> run = Run("epochs", primary_metric="loss", store=path)
>>> for epoch in range(3):
...     with run.iteration(f"epoch-{epoch}") as it:
...         it.log_metric("loss", 1.0 / (epoch + 1))
>>> open_run("epochs", store=path).best().name
'epoch-2'
"""

from __future__ import annotations

from typing import Any

from .engines import ENGINES, register_engine
from .export import import_json
from .run import Iteration, Run
from .store import Store
from .watch import Change, Point, Subscription

__all__ = [
    "ENGINES",
    "Change",
    "Iteration",
    "Point",
    "Run",
    "Store",
    "Subscription",
    "import_json",
    "open_run",
    "register_engine",
    "runs",
]


def open_run(name: str, store: Any = None) -> Run:
    """Return the run called `name` in `store`, to read it or log more iterations.

    Raises
    ------
    FileNotFoundError
        When the store file does not exist.
    ValueError
        When the store has no run called `name`.
    """
    opened = Store.open(store, create=False)
    row = opened.run_row(name)
    if row is None:
        known = ", ".join(repr(r["name"]) for r in opened.run_rows()) or "none"
        raise ValueError(f"name: no run called {name!r} in {opened.path} (runs: {known})")
    return Run._from_row(opened, row)


def runs(store: Any = None) -> Any:
    """Return one row per run in `store`.

    Columns: name, task, primary_metric, goal, created, iterations, status,
    best (the best primary metric of its iterations).

    Raises
    ------
    FileNotFoundError
        When the store file does not exist.
    """
    import pandas as pd

    opened = Store.open(store, create=False)
    rows = []
    for row in opened.run_rows():
        run = Run._from_row(opened, row)
        table = run.iteration_records()
        rows.append(
            {
                "name": run.name,
                "task": run.task,
                "primary_metric": run.primary_metric,
                "goal": run.goal,
                "created": run.created,
                "iterations": len(table),
                "status": run.status,
                "best": table[-1]["best"] if table else float("nan"),
            }
        )
    columns = ["name", "task", "primary_metric", "goal", "created", "iterations", "status", "best"]
    df = pd.DataFrame(rows, columns=columns)
    df["created"] = pd.to_datetime(df["created"].astype("float64"), unit="s", utc=True)
    df["best"] = df["best"].astype("float64")
    return df
