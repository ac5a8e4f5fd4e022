"""A whole run as one JSON document, and back.

Layout (format ``"runwatch.run"``, version 1)::

    {"format": "runwatch.run", "version": 1,
     "run": {name, task, primary_metric, goal, labels, created, start_time, duration},
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
         "engine_states": {split: {key: {dtype, shape, data (base64)}}}}, ...]}

Times are seconds since the epoch. Keys are sorted, floats written by
``repr`` (shortest round trip), so export -> import -> export gives the same
bytes. On import, the engine states, metrics, stats, points and statuses are
stored; confusion matrices and curves are derived from the engine states and
recomputed on export. An import validates the whole document before writing
and writes it in one transaction: a refused document leaves the store as it
was.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validate import SPLITS, STATUSES, TASKS, plain_label
from .engines import engine_class
from .store import Store, decode_array, encode_array, loads_metrics, tick, transaction

if TYPE_CHECKING:
    from .run import Run

FORMAT = "runwatch.run"
VERSION = 1


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
    try:
        cls: Any = engine_class(run.task)
    except ValueError:
        cls = None  # no engine for this task in this build: states travel, views do not

    by_iteration: dict[int, dict[str, Any]] = {}
    for iteration_id, kind, name, step, value, t in points:
        series = by_iteration.setdefault(iteration_id, {"loss": {}, "metric": {}})[kind]
        series.setdefault(name, []).append((step, value, t))

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
        iterations.append(
            {
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
    return {
        "format": FORMAT,
        "version": VERSION,
        "run": {
            "name": run.name,
            "task": run.task,
            "primary_metric": run.primary_metric,
            "goal": run.goal,
            "labels": run.labels,
            "created": run.created,
            "start_time": start,
            "duration": (max(ends) - start) if done else None,
        },
        "iterations": iterations,
    }


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


class _Doc:
    """Typed access into a parsed document; every failure names where it is."""

    @staticmethod
    def fail(where: str, what: str) -> None:
        raise ValueError(f"malformed runwatch document: {where} {what}")

    @classmethod
    def get(cls, obj: dict[str, Any], key: str, where: str, kinds: Any, nullable: bool = False):
        if key not in obj:
            cls.fail(f"{where}.{key}", "is missing")
        value = obj[key]
        if value is None and nullable:
            return None
        if not _is(value, kinds):
            cls.fail(f"{where}.{key}", f"must be {_kind_name(kinds)}, got {_short(value)}")
        return value


def _is(value: Any, kinds: Any) -> bool:
    if kinds == "number":
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and (math.isfinite(value))
        )
    if kinds == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kinds)


def _kind_name(kinds: Any) -> str:
    if isinstance(kinds, str):
        return "a finite number" if kinds == "number" else "an integer"
    names = {dict: "an object", list: "a list", str: "a string"}
    if isinstance(kinds, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kinds)
    return names.get(kinds, kinds.__name__)


def _short(value: Any) -> str:
    text = json.dumps(value)[:60] if _jsonable(value) else repr(value)[:60]
    return f"{type(value).__name__} {text}"


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _series_rows(obj: Any, where: str) -> list[tuple[Any, float, float]]:
    if not isinstance(obj, dict):
        _Doc.fail(where, "must be an object with step, value and time lists")
    cols = [_Doc.get(obj, k, where, list) for k in ("step", "value", "time")]
    if len({len(c) for c in cols}) != 1:
        _Doc.fail(where, "has step, value and time lists of different lengths")
    for k, col in zip(("step", "value", "time"), cols, strict=True):
        for i, v in enumerate(col):
            if not _is(v, "number"):
                _Doc.fail(f"{where}.{k}[{i}]", f"must be a finite number, got {_short(v)}")
    return list(zip(*cols, strict=True))


def _metric_values(obj: Any, where: str) -> dict[str, float | None]:
    if not isinstance(obj, dict):
        _Doc.fail(where, "must be an object")
    for k, v in obj.items():
        if v is not None and not _is(v, "number"):
            _Doc.fail(f"{where}.{k}", f"must be a number or null, got {_short(v)}")
    return obj


def _check_split_keys(obj: dict[str, Any], where: str) -> None:
    for key in obj:
        if key not in SPLITS:
            _Doc.fail(f"{where}.{key}", "is not a split (train, validation, test)")


def _parse(doc: Any) -> dict[str, Any]:
    """Validate a document and return what the store needs from it."""
    if not isinstance(doc, dict):
        raise ValueError(f"not a runwatch document: the top level is a {type(doc).__name__}")
    if doc.get("format") != FORMAT:
        raise ValueError(
            f"not a runwatch document: format is {doc.get('format')!r}, expected {FORMAT!r}"
        )
    version = doc.get("version")
    if version != VERSION:
        raise ValueError(
            f"unsupported runwatch document version {version!r} (this runwatch reads {VERSION})"
        )
    run = _Doc.get(doc, "run", "document", dict)
    out_run = {
        "name": _Doc.get(run, "name", "run", str),
        "task": _Doc.get(run, "task", "run", str),
        "primary_metric": _Doc.get(run, "primary_metric", "run", str),
        "goal": _Doc.get(run, "goal", "run", str),
        "labels": _Doc.get(run, "labels", "run", list, nullable=True),
        "created": _Doc.get(run, "created", "run", "number"),
    }
    if out_run["task"] not in TASKS:
        _Doc.fail("run.task", f"is not a known task: {out_run['task']!r}")
    if out_run["goal"] not in ("maximize", "minimize"):
        _Doc.fail("run.goal", f"must be 'maximize' or 'minimize', got {out_run['goal']!r}")
    iterations = []
    for i, it in enumerate(_Doc.get(doc, "iterations", "document", list)):
        where = f"iterations[{i}]"
        if not isinstance(it, dict):
            _Doc.fail(where, "must be an object")
        status = _Doc.get(it, "status", where, str)
        if status not in STATUSES:
            _Doc.fail(f"{where}.status", f"is not a status: {status!r}")
        parsed: dict[str, Any] = {
            "name": _Doc.get(it, "name", where, str),
            "params": _Doc.get(it, "params", where, dict),
            "tags": _Doc.get(it, "tags", where, dict),
            # Nobody writes an imported iteration: one that was running is cut off.
            "status": "interrupted" if status in ("queued", "running") else status,
            "error": _Doc.get(it, "error", where, str, nullable=True),
            "created": _Doc.get(it, "created", where, "number"),
            "started": _Doc.get(it, "start_time", where, "number", nullable=True),
            "ended": _Doc.get(it, "end_time", where, "number", nullable=True),
            "feature_importance": _Doc.get(it, "feature_importance", where, dict, nullable=True),
        }
        metrics = _Doc.get(it, "metrics", where, dict)
        reasons = _Doc.get(it, "metric_reasons", where, dict)
        stats = _Doc.get(it, "dataset_stats", where, dict)
        engine_states = _Doc.get(it, "engine_states", where, dict)
        for key, obj in (
            ("metrics", metrics),
            ("metric_reasons", reasons),
            ("dataset_stats", stats),
            ("engine_states", engine_states),
        ):
            _check_split_keys(obj, f"{where}.{key}")
        for key in ("confusion_matrices", "curves"):
            _check_split_keys(_Doc.get(it, key, where, dict), f"{where}.{key}")
        splits = []
        for split, st in stats.items():
            w = f"{where}.dataset_stats.{split}"
            if not isinstance(st, dict):
                _Doc.fail(w, "must be an object")
            n = _Doc.get(st, "n_samples", w, "int")
            counts = _Doc.get(st, "class_counts", w, list)
            for j, pair in enumerate(counts):
                if not (isinstance(pair, list) and len(pair) == 2 and _is(pair[1], "int")):
                    _Doc.fail(f"{w}.class_counts[{j}]", "must be a [label, count] pair")
            m = _metric_values(metrics.get(split, {}), f"{where}.metrics.{split}")
            r = reasons.get(split, {})
            if not isinstance(r, dict) or not all(isinstance(v, str) for v in r.values()):
                _Doc.fail(f"{where}.metric_reasons.{split}", "must map metric names to strings")
            arrays = {}
            state = engine_states.get(split)
            if state is not None:
                if not isinstance(state, dict):
                    _Doc.fail(f"{where}.engine_states.{split}", "must be an object")
                for key, spec in state.items():
                    w2 = f"{where}.engine_states.{split}.{key}"
                    if not isinstance(spec, dict):
                        _Doc.fail(w2, "must be an object with dtype, shape and data")
                    dtype = _Doc.get(spec, "dtype", w2, str)
                    shape = _Doc.get(spec, "shape", w2, list)
                    data = _Doc.get(spec, "data", w2, str)
                    try:
                        raw = base64.b64decode(data.encode("ascii"), validate=True)
                    except (binascii.Error, UnicodeEncodeError):
                        _Doc.fail(f"{w2}.data", "is not base64")
                    try:
                        arrays[key] = decode_array(dtype, shape, raw, w2)
                    except ValueError as exc:
                        _Doc.fail(w2, f"is not a plain array: {exc}")
            splits.append((split, n, counts, m, r, arrays))
        for split in list(metrics) + list(engine_states):
            if split not in stats:
                _Doc.fail(f"{where}.dataset_stats", f"has no entry for split {split!r}")
        losses = _Doc.get(it, "losses", where, dict)
        _check_split_keys(losses, f"{where}.losses")
        logged = _Doc.get(it, "logged_metrics", where, dict)
        points = []
        for split, series in losses.items():
            for row in _series_rows(series, f"{where}.losses.{split}"):
                points.append(("loss", split, *row))
        for name, series in logged.items():
            for row in _series_rows(series, f"{where}.logged_metrics.{name}"):
                points.append(("metric", name, *row))
        parsed["splits"] = splits
        parsed["points"] = points
        iterations.append(parsed)
    return {"run": out_run, "iterations": iterations}


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
        message says where), or its run name is taken in the store. Nothing
        is written then.
    """
    from .run import Run

    try:
        with open(os.fspath(path), encoding="utf-8") as f:
            doc = json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{os.fspath(path)} is not JSON: {exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{os.fspath(path)} is not UTF-8 text") from None
    parsed = _parse(doc)
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
            seq = tick(conn)
            run_id = conn.execute(
                "INSERT INTO runs (name, task, primary_metric, goal, labels, created, seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    run["name"],
                    run["task"],
                    run["primary_metric"],
                    run["goal"],
                    None if run["labels"] is None else json.dumps(run["labels"]),
                    float(run["created"]),
                    seq,
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
                conn.executemany(
                    "INSERT INTO points (run_id, iteration_id, kind, name, step, value, time) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
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
    finally:
        conn.close()
    row = opened.run_row(run["name"])
    assert row is not None
    return Run._from_row(opened, row)
