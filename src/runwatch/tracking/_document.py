"""Checking a runwatch JSON document before it is imported.

:func:`parse_document` walks the whole document (the layout is in
:mod:`runwatch.tracking.export`) and returns the values the store needs,
engine states decoded to arrays and read back by their task's engine (a state
it cannot read would only fail later, in a view), before anything is written;
a refusal names the document and where it is wrong (``run.json is a malformed
runwatch document: iterations[2].losses.train.step[5] must be a finite
number``).
``FORMAT`` and ``VERSION`` are what this runwatch writes and reads.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from . import _snapshots
from ._codec import decode_array
from ._validate import SPLITS, STATUSES, TASKS
from .engines import engine_class

FORMAT = "runwatch.run"
VERSION = 1


class _Malformed(Exception):
    """Where a document is wrong; :func:`parse_document` names the document around it."""


class _Doc:
    """Typed access into a parsed document; every failure names where it is."""

    @staticmethod
    def fail(where: str, what: str) -> None:
        raise _Malformed(f"{where} {what}")

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


def _check_state(engine: type, arrays: dict[str, Any], where: str) -> None:
    """Refuse an engine state its engine cannot read back (views would fail on it later)."""
    try:
        engine.from_state_dict(arrays)
    except ValueError as exc:
        _Doc.fail(where, f"is not a state {engine.__name__} reads: {exc}")


def _steps(it: dict[str, Any], where: str) -> dict[str, list[dict[str, Any]]]:
    """An iteration's replay snapshots by split (documents before them have none)."""
    if "steps" not in it:
        return {}
    steps = _Doc.get(it, "steps", where, dict)
    _check_split_keys(steps, f"{where}.steps")
    out = {}
    for split, snaps in steps.items():
        w = f"{where}.steps.{split}"
        if not isinstance(snaps, list):
            _Doc.fail(w, "must be a list of snapshots")
        parts = [_snapshots.from_document(s, f"{w}[{i}]", _Doc.fail) for i, s in enumerate(snaps)]
        for i in range(1, len(parts)):
            if parts[i]["step"] <= parts[i - 1]["step"]:
                _Doc.fail(f"{w}[{i}].step", "must be above the step before it")
        out[split] = parts
    return out


def _check_split_keys(obj: dict[str, Any], where: str) -> None:
    for key in obj:
        if key not in SPLITS:
            _Doc.fail(f"{where}.{key}", "is not a split (train, validation, test)")


def parse_document(doc: Any, source: str = "the document") -> dict[str, Any]:
    """Validate a parsed JSON document and return what the store needs from it.

    Parameters
    ----------
    doc : Any
        The parsed JSON.
    source : str
        How messages name the document (the path it was read from).

    Returns
    -------
    dict
        ``{"run": {...}, "iterations": [{..., "splits": [...], "points": [...]}]}``,
        every value checked.

    Raises
    ------
    ValueError
        When `doc` is not a runwatch document of this version, or malformed;
        the message names `source` and where in it.
    """
    if not isinstance(doc, dict):
        raise ValueError(
            f"{source} is not a runwatch document: its top level is {_json_kind(doc)}, "
            f'not an object with "format": "{FORMAT}".'
        )
    if doc.get("format") != FORMAT:
        if "format" in doc:
            what = f"its format is {_short(doc['format'])}, not {FORMAT!r}"
        else:
            keys = ", ".join(repr(k) for k in list(doc)[:6]) + (", ..." if len(doc) > 6 else "")
            what = f'it has no "format": "{FORMAT}" (its top-level keys: {keys or "none"})'
        raise ValueError(f"{source} is not a runwatch document: {what}.")
    version = doc.get("version")
    if version != VERSION:
        raise ValueError(
            f"{source} is a runwatch document of version {version!r}; "
            f"this runwatch reads version {VERSION}."
        )
    try:
        return _parse(doc)
    except _Malformed as exc:
        raise ValueError(f"{source} is a malformed runwatch document: {exc}") from None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"


def _parse(doc: dict[str, Any]) -> dict[str, Any]:
    run = _Doc.get(doc, "run", "document", dict)
    out_run = {
        "name": _Doc.get(run, "name", "run", str),
        "task": _Doc.get(run, "task", "run", str),
        "primary_metric": _Doc.get(run, "primary_metric", "run", str),
        "goal": _Doc.get(run, "goal", "run", str),
        "labels": _Doc.get(run, "labels", "run", list, nullable=True),
        "created": _Doc.get(run, "created", "run", "number"),
        # Written only when the run has some (documents before them have none).
        "metric_options": _Doc.get(run, "metric_options", "run", dict, nullable=True)
        if "metric_options" in run
        else None,
    }
    if out_run["task"] not in TASKS:
        _Doc.fail("run.task", f"is not a known task: {out_run['task']!r}")
    try:
        engine: Any = engine_class(out_run["task"])
    except ValueError:
        engine = None  # no engine for this task in this build: its states travel unread
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
            if arrays and engine is not None:
                _check_state(engine, arrays, f"{where}.engine_states.{split}")
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
        parsed["steps"] = _steps(it, where)
        iterations.append(parsed)
    return {"run": out_run, "iterations": iterations}
