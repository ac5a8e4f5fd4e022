"""Shared data and spec checks for the view tests: real engine outputs, JSON and text checks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from runwatch.metrics import ClassificationMetrics

#: A class name that must stay text: it may only ever appear as a data value.
XSS = "<img src=x onerror=alert(1)>"


@dataclass
class Outputs:
    """What the engine hands the views for one iteration."""

    metric: ClassificationMetrics
    curves: dict
    matrix: Any
    per_class: Any
    values: dict
    reasons: dict


def _outputs(labels: list, n: int, seed: int, signal: float = 1.2) -> Outputs:
    rng = np.random.default_rng(seed)
    k = len(labels)
    truth = rng.choice(k, n, p=rng.dirichlet(np.full(k, 2.0)))
    logits = rng.normal(size=(n, k)) + signal * np.eye(k)[truth]
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    m = ClassificationMetrics(labels=labels)
    m.update(np.asarray(labels, dtype=object)[truth], y_proba=proba)
    return Outputs(
        metric=m,
        curves=m.curves(),
        matrix=m.confusion_matrix(),
        per_class=m.per_class(),
        values=m.compute(),
        reasons=m.reasons(),
    )


@pytest.fixture(scope="session")
def multiclass() -> Outputs:
    """12 classes, one named like an HTML injection, one named like an average."""
    labels = [f"class {i}" for i in range(10)] + [XSS, "micro average"]
    return _outputs(labels, n=1500, seed=4)


@pytest.fixture(scope="session")
def binary() -> Outputs:
    """Two integer classes (labels that are not strings)."""
    return _outputs([0, 1], n=600, seed=7)


def to_spec(chart) -> dict:
    """The chart's Vega-Lite spec: validated by Altair, and plain JSON (no NaN, no inf)."""
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    return json.loads(json.dumps(spec, allow_nan=False))


def named_values(spec: dict, name: str) -> list[dict]:
    """The inline values of the data set called ``name``, wherever it sits in the spec."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and data.get("name") == name and "values" in data:
                found.append(data["values"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert len(found) == 1, f"expected one data set named {name!r}, found {len(found)}"
    return found[0]


def string_paths(node, path=()):
    """Every string in the spec (keys included) with the path leading to it."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path + (key,), key
            yield from string_paths(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from string_paths(value, path + (i,))
    elif isinstance(node, str):
        yield path, node


def assert_only_data(spec: dict, text: str) -> None:
    """``text`` appears, verbatim, only as a data value; no html anywhere.

    Data values: rows of inline data, or the initial value of a selection
    parameter (Vega-Lite turns it into the rows of the selection's store).
    Never a title, an axis or legend property, an expression or an html field.
    """
    hits = [p for p, s in string_paths(spec) if text in s]
    assert hits, f"{text!r} is not in the spec at all"
    for p in hits:
        assert s_exact(spec, p) == text, f"{text!r} embedded in a longer string at {p}"
        in_rows = any(
            p[i] in ("values", "datasets") and isinstance(p[i + 1], (int, str))
            for i in range(len(p) - 1)
        )
        in_selection = len(p) == 5 and p[0] == "params" and p[2] == "value"
        assert in_rows or in_selection, f"{text!r} outside data at {p}"
    keys = {p[-1] for p, _ in string_paths(spec) if isinstance(p[-1], str)}
    assert "html" not in keys


def s_exact(spec, path):
    node = spec
    for step in path:
        node = node[step]
    return node
