"""A whole run as one JSON document, and back.

Layout (format ``"runwatch.run"``, version 1)::

    {"format": "runwatch.run", "version": 1,
     "run": {name, task, primary_metric, goal, labels, created, start_time, duration,
             metric_options (only when the run has some)},
     "iterations": [{
         name, params, tags, status, error, created, start_time, end_time, duration,
         "metrics": {split: {metric: value}},          # per result set; null = NaN
         "metric_reasons": {split: {metric: why NaN}},
         "dataset_stats": {split: {n_samples, class_counts: [[label, count], ...]}},
         "losses": {split: {step: [...], value: [...], time: [...]}},
         "logged_metrics": {name: {step: [...], value: [...], time: [...]}},
         "feature_importance": null | {names, values, per_class},
         "confusion_matrices": {split: {labels: [...], matrix: [[...]]}},
         "curves": {split: {curve: {columns: [...], data: [[...], ...]}}},
         "engine_states": {split: {key: {dtype, shape, data (base64)}}},
         "steps": {split: [{step, true_labels, labels, matrix, metrics}, ...]}}, ...]}

``steps`` (the replay's snapshots, :mod:`runwatch.tracking._snapshots`) is
written only for iterations that have some, so a run without steps exports
as it did before them.

Times are seconds since the epoch. Keys are sorted, floats written by
``repr`` (shortest round trip), so export -> import -> export gives the same
bytes. On import, the engine states, metrics, stats, points and statuses are
stored; confusion matrices and curves are derived from the engine states and
recomputed on export. An import validates the whole document before writing
(:mod:`runwatch.tracking._document`) and writes it in one transaction: a
refused document leaves the store as it was.
"""

from __future__ import annotations

import base64
import json
import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _snapshots
from ._codec import encode_array, loads_metrics
from ._document import FORMAT, VERSION, parse_document
from ._validate import plain_label
from .engines import engine_class
from .store import Store, tick, transaction

if TYPE_CHECKING:
    from .run import Run


# ------------------------------------------------------------------- export


def _cell(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)


def _metrics_doc(metrics: dict[str, float]) -> dict[str, float | None]:
    return {k: (v if math.isfinite(v) else None) for k, v in metrics.items()}


def _frame_doc(df: Any) -> dict[str, Any]:
    return {
        "columns": [str(c) for c in df.columns],
        "data": [[_cell(v) for v in row] for row in df.itertuples(index=False, name=None)],
    }


def _series(rows: list[tuple[Any, ...]]) -> dict[str, list[Any]]:
    return {
        "step": [r[0] for r in rows],
        "value": [r[1] for r in rows],
        "time": [r[2] for r in rows],
    }


def export_document(run: Run) -> dict[str, Any]:
    """Return all of `run` as plain JSON data (see the module docstring)."""
    store = run._store
    store.flush()
    with store.snapshot() as conn:
        rows = run._rows()
        ids = [r["id"] for r in rows]
        split_rows = store.split_rows(ids)
        points = conn.execute(
            "SELECT iteration_id, kind, name, step, value, time FROM points WHERE run_id = ? "
            "ORDER BY id",
            (run.id,),
        ).fetchall()
        states = {
            (s["iteration_id"], s["split"]): store.state(s["iteration_id"], s["split"])
            for s in split_rows
        }
        step_rows = _snapshots.read_rows(store, ids)
    try:
        cls: Any = engine_class(run.task)
    except ValueError:
        cls = None  # no engine for this task in this build: states travel, views do not

    by_iteration: dict[int, dict[str, Any]] = {}
    for iteration_id, kind, name, step, value, t in points:
        series = by_iteration.setdefault(iteration_id, {"loss": {}, "metric": {}})[kind]
        series.setdefault(name, []).append((step, value, t))

    steps_of: dict[int, dict[str, list[Any]]] = {}
    for r in step_rows:
        snap = _snapshots.to_document(_snapshots.decode_row(r))
        steps_of.setdefault(r["iteration_id"], {}).setdefault(r["split"], []).append(snap)

    splits_of: dict[int, list[dict[str, Any]]] = {}
    for s in split_rows:
        splits_of.setdefault(s["iteration_id"], []).append(s)

    iterations = []
    for row in rows:
        metrics, reasons, stats, matrices, curves, engine_states = {}, {}, {}, {}, {}, {}
        for s in splits_of.get(row["id"], []):
            split = s["split"]
            metrics[split] = _metrics_doc(loads_metrics(s["metrics"]))
            reasons[split] = json.loads(s["reasons"]) if s["reasons"] else {}
            stats[split] = {
                "n_samples": s["n_samples"],
                "class_counts": json.loads(s["class_counts"]),
            }
            state = states.get((row["id"], split))
            if state is None:
                continue
            engine_states[split] = {}
            for key, arr in state.items():
                dtype, shape, data = encode_array(arr, f"state {key!r}")
                engine_states[split][key] = {
                    "dtype": dtype,
                    "shape": shape,
                    "data": base64.b64encode(data).decode("ascii"),
                }
            try:
                engine = None if cls is None else cls.from_state_dict(state)
            except ValueError:  # a state this engine cannot read: it travels, views do not
                engine = None
            if engine is not None:
                if hasattr(engine, "confusion_matrix"):
                    cm = engine.confusion_matrix()
                    matrices[split] = {
                        "labels": [plain_label(v) for v in cm.columns],
                        "true_labels": [plain_label(v) for v in cm.index],
                        "matrix": [[_cell(v) for v in r] for r in cm.to_numpy().tolist()],
                    }
                if hasattr(engine, "curves"):
                    curves[split] = {
                        str(k): _frame_doc(df)
                        for k, df in engine.curves().items()
                        if hasattr(df, "itertuples")
                    }
        series = by_iteration.get(row["id"], {"loss": {}, "metric": {}})
        started, ended = row["started"], row["ended"]
        extra = {"steps": steps_of[row["id"]]} if row["id"] in steps_of else {}
        iterations.append(
            {
                **extra,
                "name": row["name"],
                "params": json.loads(row["params"]),
                "tags": json.loads(row["tags"]),
                "status": row["status"],
                "error": row["error"],
                "created": row["created"],
                "start_time": started,
                "end_time": ended,
                "duration": None if started is None or ended is None else ended - started,
                "metrics": metrics,
                "metric_reasons": reasons,
                "dataset_stats": stats,
                "losses": {k: _series(v) for k, v in series["loss"].items()},
                "logged_metrics": {k: _series(v) for k, v in series["metric"].items()},
                "feature_importance": (
                    None
                    if row["feature_importance"] is None
                    else json.loads(row["feature_importance"])
                ),
                "confusion_matrices": matrices,
                "curves": curves,
                "engine_states": engine_states,
            }
        )
    starts = [r["started"] for r in rows if r["started"] is not None]
    ends = [r["ended"] for r in rows]
    start = min(starts) if starts else None
    done = bool(rows) and all(e is not None for e in ends) and start is not None
    run_doc = {
        "name": run.name,
        "task": run.task,
        "primary_metric": run.primary_metric,
        "goal": run.goal,
        "labels": run.labels,
        "created": run.created,
        "start_time": start,
        "duration": (max(ends) - start) if done else None,
    }
    if run.metric_options:
        run_doc["metric_options"] = run.metric_options
    return {"format": FORMAT, "version": VERSION, "run": run_doc, "iterations": iterations}


def dumps(document: dict[str, Any]) -> str:
    """Return `document` as the canonical JSON text (sorted keys, repr floats)."""
    # Compact: curves and states are long lists of numbers.
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text + "\n"


def export_json(run: Run, path: Any) -> None:
    """Write `run` to `path` as one JSON document."""
    text = dumps(export_document(run))
    with open(os.fspath(path), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


# ------------------------------------------------------------------- import


def import_json(path: Any, store: Any = None, name: str | None = None) -> Run:
    """Add the run in a JSON document written by :meth:`Run.export_json` to a store.

    Parameters
    ----------
    path : str or path
        The document.
    store : str or path, optional
        Default: ``$RUNWATCH_STORE``, else ``./runwatch.db``.
    name : str, optional
        Import under this name instead of the document's.

    Returns
    -------
    Run
        The imported run.

    Raises
    ------
    ValueError
        When the file is not JSON, not a runwatch document, malformed (the
        message names `path`, as given, and where in the document), or its
        run name is taken in the store. Nothing is written then.
    """
    from .run import Run

    try:
        source = os.fspath(path)
    except TypeError:
        raise ValueError(f"path must be a file path; got {type(path).__name__}.") from None
    try:
        with open(source, encoding="utf-8") as f:
            doc = json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source} is not JSON: {exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{source} is not UTF-8 text") from None
    parsed = parse_document(doc, source)
    run = parsed["run"]
    if name is not None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        run["name"] = name
    opened = Store.open(store)
    conn = opened.new_connection()
    try:
        with transaction(conn):
            if conn.execute("SELECT 1 FROM runs WHERE name = ?", (run["name"],)).fetchone():
                raise ValueError(
                    f"name: a run called {run['name']!r} already exists in {opened.path}; "
                    "pass name= to import it under another name"
                )
            seq = tick(conn, iterations=True)
            run_id = conn.execute(
                "INSERT INTO runs (name, task, primary_metric, goal, labels, created, seq, "
                "metric_options) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    run["name"],
                    run["task"],
                    run["primary_metric"],
                    run["goal"],
                    None if run["labels"] is None else json.dumps(run["labels"]),
                    float(run["created"]),
                    seq,
                    json.dumps(run["metric_options"], sort_keys=True)
                    if run["metric_options"]
                    else None,
                ),
            ).fetchone()[0]
            for it in parsed["iterations"]:
                fi = it["feature_importance"]
                iteration_id = conn.execute(
                    "INSERT INTO iterations (run_id, name, params, tags, status, error, created, "
                    "started, ended, feature_importance, writer_id, seq) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?) RETURNING id",
                    (
                        run_id,
                        it["name"],
                        json.dumps(it["params"], sort_keys=True),
                        json.dumps(it["tags"], sort_keys=True),
                        it["status"],
                        it["error"],
                        float(it["created"]),
                        None if it["started"] is None else float(it["started"]),
                        None if it["ended"] is None else float(it["ended"]),
                        None if fi is None else json.dumps(fi, sort_keys=True),
                        seq,
                    ),
                ).fetchone()[0]
                opened.insert_points(
                    conn,
                    [
                        (run_id, iteration_id, kind, key, step, float(value), float(t))
                        for kind, key, step, value, t in it["points"]
                    ],
                )
                for split, n, counts, metrics, reasons, arrays in it["splits"]:
                    conn.execute(
                        "INSERT INTO splits (iteration_id, split, n_samples, class_counts, "
                        "metrics, reasons, seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            iteration_id,
                            split,
                            n,
                            json.dumps(counts),
                            json.dumps(
                                {k: (None if v is None else float(v)) for k, v in metrics.items()},
                                sort_keys=True,
                            ),
                            json.dumps(reasons, sort_keys=True),
                            seq,
                        ),
                    )
                    for key, arr in arrays.items():
                        dtype, shape, data = encode_array(arr)
                        conn.execute(
                            "INSERT INTO states (iteration_id, split, key, dtype, shape, data) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (iteration_id, split, key, dtype, json.dumps(shape), data),
                        )
                for split, snaps in it["steps"].items():
                    for pos, parts in enumerate(snaps):
                        _snapshots.write_step(
                            conn, seq, iteration_id, split, pos, parts["step"], parts
                        )
    finally:
        conn.close()
    row = opened.run_row(run["name"])
    assert row is not None
    return Run._from_row(opened, row)
