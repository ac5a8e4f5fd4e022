"""The chart above the iterations table: rows with best-so-far, and the spec."""

import math

import pytest

from runwatch.views import ITERATIONS_DATA, iterations_chart, iterations_rows


def its(*values):
    return [
        {"index": i + 1, "id": str(i + 1), "name": f"m{i}", "value": v}
        for i, v in enumerate(values)
    ]


@pytest.mark.parametrize(
    ("goal", "best", "first_best"),
    [("maximize", [0.5, 0.5, 0.7, 0.7, 0.7], 2), ("minimize", [0.5, 0.5, 0.5, 0.5, 0.2], 4)],
)
def test_best_so_far_follows_the_goal_and_skips_missing_values(goal, best, first_best):
    rows = iterations_rows(its(0.5, None, 0.7, math.nan, 0.2), goal=goal, selected="3")
    assert [r["best"] for r in rows] == best
    assert [r["value"] for r in rows] == [0.5, None, 0.7, None, 0.2]
    assert [r["is_best"] for r in rows] == [i == first_best for i in range(5)]
    assert [r["selected"] for r in rows] == [False, False, True, False, False]


def test_ties_mark_the_first_and_nothing_before_a_value():
    rows = iterations_rows(its(None, 0.4, 0.4))
    assert rows[0]["best"] is None and [r["is_best"] for r in rows] == [False, True, False]
    assert not any(r["is_best"] for r in iterations_rows(its(None)))


def test_bad_goal_is_refused_naming_it():
    with pytest.raises(ValueError, match="goal"):
        iterations_rows(its(1.0), goal="max")


def test_labels_stay_data_and_the_spec_streams_on_named_data():
    rows = iterations_rows([{"index": 1, "id": 7, "name": "<b>x</b>", "value": 1}])
    assert rows[0]["id"] == "7" and rows[0]["name"] == "<b>x</b>"
    spec = iterations_chart(rows, metric="accuracy").to_dict()
    assert spec["data"] == {"name": ITERATIONS_DATA, "values": rows}
    line, points = spec["layer"]
    assert line["mark"]["type"] == "line" and line["mark"]["interpolate"] == "step-after"
    assert line["encoding"]["y"]["field"] == "best"
    assert points["encoding"]["y"]["field"] == "value"
    assert points["encoding"]["y"]["title"] == "accuracy"
    assert "<b>" not in str({k: v for k, v in spec.items() if k != "data"})
    empty = iterations_chart().to_dict()
    assert empty["data"] == {"name": ITERATIONS_DATA, "values": []}
