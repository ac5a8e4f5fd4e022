"""The detector's charts: COCO's PR curves per class at IoU 0.5 and the matched-IoU histogram."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from runwatch.views import chart_spec
from runwatch.views.detection import detection_pr_chart, matched_iou_chart, matched_iou_rows

from .conftest import XSS, named_values, to_spec

GRID = np.linspace(0, 1, 101)


def pr_table(labels):
    """A curves()["pr"] table: a stepped line per class and their mean."""
    rng = np.random.default_rng(0)
    parts = []
    lines = []
    for label in labels:
        p = np.sort(rng.random(101))[::-1]
        lines.append(p)
        parts.append(pd.DataFrame({"curve": "class", "label": label, "recall": GRID,
                                   "precision": p}))  # fmt: skip
    parts.append(pd.DataFrame({"curve": "macro", "label": "macro", "recall": GRID,
                               "precision": np.mean(lines, axis=0)}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def test_pr_chart_draws_each_class_and_the_mean_first_in_the_legend():
    spec = to_spec(detection_pr_chart(pr_table(["cat", "dog", XSS])))
    rows = named_values(spec, "pr")
    legend = sorted({(r["rank"], r["series"]) for r in rows})
    assert [s for _, s in legend] == ["macro average", "cat", "dog", XSS]
    assert len(rows) == 4 * 101
    assert {r["kind"] for r in rows if r["series"] == "macro average"} == {"macro"}
    assert spec["title"]["text"] == "Precision-recall at IoU 0.5"
    assert spec["title"]["subtitle"] == ["COCO: 101-point interpolated, area all, 100 detections"]
    # The curve charts' highlight: a legend pick and a hover selection on the lines.
    assert {"pr_shown", "pr_hover"} <= {p["name"] for p in spec["params"]}


def test_pr_chart_keeps_only_the_given_classes_in_their_order():
    spec = to_spec(detection_pr_chart(pr_table(["a", "b", "c"]), classes=["c", "a"],
                                      subtitle=["the 2 weakest"]))  # fmt: skip
    legend = sorted({(r["rank"], r["series"]) for r in named_values(spec, "pr")})
    assert [s for _, s in legend] == ["macro average", "c", "a"]
    assert spec["title"]["subtitle"] == ["the 2 weakest"]


def test_an_empty_pr_chart_says_why():
    empty = pd.DataFrame({"curve": [], "label": [], "recall": [], "precision": []})
    spec = to_spec(detection_pr_chart(empty))
    assert named_values(spec, "pr") == []
    assert spec["title"]["subtitle"] == ["no ground truth yet"]


def hist(counts):
    edges = np.linspace(0.5, 1.0, 11)
    return pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "count": counts})


def test_matched_iou_chart_has_a_bar_per_bin_with_its_share():
    counts = [0, 1, 2, 3, 4, 5, 6, 7, 8, 4]
    spec = to_spec(matched_iou_chart(hist(counts)))
    rows = named_values(spec, "matched_iou")
    assert [r["count"] for r in rows] == counts
    assert [r["lo"] for r in rows] == pytest.approx(np.linspace(0.5, 0.95, 10))
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    assert rows[9]["share"] == pytest.approx(4 / 40)
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["field"] == "lo" and spec["encoding"]["x2"]["field"] == "hi"


def test_matched_iou_chart_without_true_positives_says_so():
    spec = to_spec(matched_iou_chart(hist([0] * 10)))
    assert spec["title"]["subtitle"] == ["no true positives yet"]
    assert all(r["share"] == 0 for r in named_values(spec, "matched_iou"))


def test_chart_spec_equals_altairs_dict_for_both_charts():
    pr = pr_table(["a", "b"])
    first = chart_spec(detection_pr_chart, pr, classes=["b"])
    assert first == detection_pr_chart(pr, classes=["b"]).to_dict(validate=False)
    again = chart_spec(detection_pr_chart, pr_table(["x", "y"]), classes=["b"])
    # A template of the same shape, with the new table's rows: no "b" there, the mean only.
    assert {r["series"] for r in named_values(again, "pr")} == {"macro average"}
    h = hist([1] * 10)
    assert chart_spec(matched_iou_chart, h) == matched_iou_chart(h).to_dict(validate=False)


def test_matched_iou_rows_refuse_a_table_without_counts():
    with pytest.raises(ValueError, match="histogram must have the columns"):
        matched_iou_rows(pd.DataFrame({"lo": [0.5], "hi": [0.55]}))
