"""The threshold tables as the page reads them (``views/thresholds.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from runwatch.views import thresholds as views


def test_classification_counts_travel_as_ints_when_whole_else_floats():
    table = {"threshold": np.array([0.0, 0.5, 1.0]), "tp": np.array([3.0, 2.0, 0.0]),
             "fp": np.array([3.0, 1.0, 0.0]), "positives": 3.0, "negatives": 3.0}  # fmt: skip
    out = views.classification_table({np.int64(1): table}, binary=True, mode="exact")
    c = out["classes"][0]
    assert c == {"label": "1", "positives": 3, "negatives": 3, "threshold": [0.0, 0.5, 1.0],
                 "tp": [3, 2, 0], "fp": [3, 1, 0]}  # fmt: skip
    assert all(type(v) is int for v in c["tp"])
    weighted = views.classification_table(
        {"a": {**table, "tp": table["tp"] * 0.5}}, binary=False, mode="binned"
    )
    assert weighted["classes"][0]["tp"] == [1.5, 1.0, 0.0] and weighted["mode"] == "binned"


def test_detection_steps_add_back_up_to_the_cumulative_counts():
    rng = np.random.default_rng(0)
    steps = rng.integers(0, 3, (3, 6))
    cumulative = np.cumsum(steps[:, ::-1], axis=1)[:, ::-1]
    table = {"threshold": np.linspace(0, 1, 6), "tp": cumulative, "fp": cumulative * 2,
             "iou_sum": cumulative * 0.5,
             "support": np.array([4, 5, 6]), "n_true": np.array([4, 5, 7]),
             "cells": np.array([[0, 0, 2, 1], [3, 1, 0, 2]])}  # fmt: skip
    out = views.detection_table(table, ["a", "b", "c"])
    back = np.zeros((3, 6), np.int64)
    tp = out["tp"]
    for c, i, n in zip(tp["class"], tp["at"], tp["n"], strict=True):
        assert type(n) is int
        back[c, i] = n
    np.testing.assert_array_equal(np.cumsum(back[:, ::-1], axis=1)[:, ::-1], cumulative)
    cells = out["cells"]
    columns = [cells["row"], cells["column"], cells["at"], cells["n"]]
    assert columns == [[0, 3], [0, 1], [2, 0], [1, 2]]
    assert out["n_true"] == [4, 5, 7]
    iou = np.zeros((3, 6))
    for c, i, s in zip(out["iou"]["class"], out["iou"]["at"], out["iou"]["n"], strict=True):
        iou[c, i] = s
    np.testing.assert_allclose(np.cumsum(iou[:, ::-1], axis=1)[:, ::-1], cumulative * 0.5)


def test_a_large_detection_table_is_a_few_flat_lists():
    # A list per entry (thousands per detail) made the kernel's garbage
    # collector run a full pass every ~20 details; the count of containers
    # must not grow with the entries.
    rng = np.random.default_rng(1)
    steps = rng.integers(0, 3, (80, 200))
    cumulative = np.cumsum(steps[:, ::-1], axis=1)[:, ::-1]
    cells = np.column_stack([rng.integers(0, 81, 5000), rng.integers(0, 81, 5000),
                             rng.integers(0, 200, 5000), rng.integers(1, 4, 5000)])  # fmt: skip
    table = {"threshold": np.linspace(0, 1, 200), "tp": cumulative, "fp": cumulative,
             "iou_sum": cumulative * 0.5, "support": np.full(80, 9), "n_true": np.full(80, 9),
             "cells": cells}  # fmt: skip
    out = views.detection_table(table, list(range(80)))

    def containers(value: object) -> int:
        if isinstance(value, dict):
            return 1 + sum(containers(v) for v in value.values())
        if isinstance(value, list):
            return 1 + sum(containers(v) for v in value)
        return 0

    assert containers(out) <= 30
    assert sum(out["cells"]["n"]) == cells[:, 3].sum()


def test_detection_exact_sends_the_non_zero_cells():
    matrix = pd.DataFrame([[2, 0, 1], [0, 0, 3], [1, 0, 0]])
    per_class = pd.DataFrame(
        {"tp": [2, 0], "fp": [1, 0], "support": [3, 3], "mean_iou": [0.7, np.nan]}
    )
    result = {"threshold": 0.4, "confusion_matrix": matrix, "per_class": per_class}
    out = views.detection_exact(result)
    assert out["cells"] == [[0, 0, 2], [0, 2, 1], [1, 2, 3], [2, 0, 1]]
    assert (out["tp"], out["fp"], out["support"], out["threshold"]) == ([2, 0], [1, 0], [3, 3], 0.4)
    assert out["mean_iou"] == [0.7, None]
