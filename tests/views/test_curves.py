import json

import numpy as np
import pandas as pd
import pytest

from runwatch.views import (
    calibration_chart,
    chart_spec,
    curve_rows,
    gains_chart,
    lift_chart,
    pr_chart,
    roc_chart,
)
from runwatch.views.curves import AVERAGE_NAMES

from .conftest import XSS, _outputs, assert_only_data, named_values, to_spec

CHARTS = {
    "roc": (roc_chart, "fpr", "tpr"),
    "pr": (pr_chart, "recall", "precision"),
    "lift": (lift_chart, "fraction", "lift"),
    "gains": (gains_chart, "fraction", "gain"),
    "calibration": (calibration_chart, "mean_predicted", "fraction_positive"),
}


@pytest.fixture(scope="module")
def default_specs(multiclass):
    """Each chart of the multiclass outputs with default arguments, validated once."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = to_spec(CHARTS[name][0](multiclass.curves[name]))
        return cache[name]

    return get


def _series(rows):
    out = {}
    for r in rows:
        out.setdefault(r["series"], []).append(r)
    return out


@pytest.mark.parametrize("name", list(CHARTS))
def test_every_curve_chart_is_valid_and_carries_the_engine_points(multiclass, default_specs, name):
    _, x, y = CHARTS[name]
    frame = multiclass.curves[name]
    spec = default_specs(name)  # lift and gains draw micro only: the engine gives no macro
    rows = named_values(spec, name)
    assert spec["title"]["text"] and spec["width"] > 0 and spec["height"] > 0
    by_series = _series(rows)
    engine = frame.groupby(["curve", "label"], sort=False).size()
    assert len(by_series) == len(engine)
    assert len(rows) == len(frame)  # the engine thinned already: every point kept
    for points in by_series.values():
        assert len(points) <= 500
        assert [p["i"] for p in points] == list(range(len(points)))
        assert all(p[x] is None or 0 <= p[x] <= 1 for p in points)
    # the drawn values are the engine's, in order
    first = frame[frame["curve"] == "class"].iloc[0]
    assert rows[0][x] == pytest.approx(first[x]) and rows[0][y] == pytest.approx(first[y])
    assert_only_data(spec, XSS)


def test_series_names_classes_then_averages_and_stay_unique(multiclass):
    rows = curve_rows(multiclass.curves["roc"], "fpr", "tpr", ["threshold"])
    series = list(_series(rows))
    labels = [str(label) for label in multiclass.metric.labels]
    # a class is literally named "micro average": the average gets a suffix, nothing merges
    assert series[: len(labels)] == labels
    assert series[len(labels) :] == ["micro average (2)", "macro average"]
    kinds = {r["series"]: r["kind"] for r in rows}
    assert kinds["micro average"] == "class" and kinds["micro average (2)"] == "micro"
    ranks = [r["rank"] for r in rows]
    assert ranks == sorted(ranks)


def test_roc_threshold_infinity_becomes_null(default_specs):
    spec = default_specs("roc")
    rows = named_values(spec, "roc")
    assert rows[0]["threshold"] is None  # +inf at (0, 0)
    assert all(r["threshold"] is None for r in rows if r["kind"] == "macro")


def test_legend_click_hides_a_line(default_specs):
    spec = default_specs("roc")
    rows = named_values(spec, "roc")
    (param,) = [p for p in spec["params"] if p["name"] == "roc_shown"]
    assert param["bind"] == "legend"
    assert param["select"]["fields"] == ["series"] and param["select"]["toggle"] == "true"
    # every line starts shown: a click toggles one out of the selection
    series = list(dict.fromkeys(r["series"] for r in rows))
    assert param["value"] == [{"series": s} for s in series]
    lines = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")
    assert lines["encoding"]["color"]["field"] == "series"
    (condition,) = lines["encoding"]["opacity"]["condition"]
    assert condition == {"param": "roc_shown", "value": 1.0}
    assert lines["encoding"]["opacity"]["value"] == 0.0
    assert param["views"] == [lines["name"]]
    # the hover points of hidden lines are filtered out, so no tooltip for them
    points = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "circle")
    assert points["transform"] == [{"filter": {"param": "roc_shown"}}]
    assert {t["field"] for t in points["encoding"]["tooltip"]} >= {"series", "fpr", "tpr"}


def test_roc_has_per_class_micro_and_macro_lines_with_dashes(default_specs):
    spec = default_specs("roc")
    rows = named_values(spec, "roc")
    assert {r["kind"] for r in rows} == {"class", "micro", "macro"}
    lines = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")
    assert lines["encoding"]["strokeDash"]["field"] == "kind"
    assert lines["encoding"]["order"]["field"] == "i"
    diagonal = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "rule")
    assert "data" in diagonal  # its own data: one rule, not one per point


def test_classes_and_averages_filter(multiclass):
    rows = curve_rows(
        multiclass.curves["pr"], "recall", "precision", classes=["class 3", XSS], averages=()
    )
    assert list(_series(rows)) == ["class 3", XSS]
    with pytest.raises(ValueError, match="averages"):
        curve_rows(multiclass.curves["pr"], "recall", "precision", averages=("weighted",))


def test_integer_labels_are_shown_as_text(binary):
    spec = to_spec(pr_chart(binary.curves["pr"]))
    series = {r["series"] for r in named_values(spec, "pr")}
    assert series == {"0", "1", AVERAGE_NAMES["micro"], AVERAGE_NAMES["macro"]}


def test_calibration_points_are_sized_by_bin_count(multiclass, default_specs):
    frame = multiclass.curves["calibration"]
    spec = default_specs("calibration")
    rows = named_values(spec, "calibration")
    assert sum(r["count"] for r in rows if r["kind"] == "class") == pytest.approx(
        frame.loc[frame["curve"] == "class", "count"].sum()
    )
    points = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "circle")
    assert points["encoding"]["size"]["field"] == "share"
    for series in {r["series"] for r in rows}:
        assert sum(r["share"] for r in rows if r["series"] == series) == pytest.approx(1.0)
    assert "count" in {t["field"] for t in points["encoding"]["tooltip"]}


def test_long_lines_are_thinned_keeping_the_ends():
    n = 5000
    x = np.linspace(0, 1, n)
    frame = pd.DataFrame({"curve": "class", "label": "a", "fpr": x, "tpr": np.sqrt(x)})
    rows = curve_rows(frame, "fpr", "tpr", max_points=300)
    assert len(rows) == 300
    assert rows[0]["fpr"] == 0.0 and rows[-1]["fpr"] == 1.0
    assert np.all(np.diff([r["fpr"] for r in rows]) > 0)


@pytest.mark.parametrize("name", list(CHARTS))
def test_empty_tables_give_a_valid_waiting_chart(name):
    make, _, _ = CHARTS[name]
    columns = {
        "roc": ["fpr", "tpr", "threshold"],
        "pr": ["recall", "precision", "threshold"],
        "lift": ["fraction", "lift"],
        "gains": ["fraction", "gain"],
        "calibration": ["bin", "mean_predicted", "fraction_positive", "count"],
    }[name]
    spec = to_spec(make(pd.DataFrame(columns=["curve", "label", *columns])))
    assert named_values(spec, name) == []
    assert spec["title"]["subtitle"] == ["no scores yet"]


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="tpr"):
        roc_chart(pd.DataFrame({"curve": [], "label": [], "fpr": []}))


@pytest.mark.parametrize("name", list(CHARTS))
def test_chart_spec_is_what_altair_gives_from_its_template_too(name):
    chart = CHARTS[name][0]
    # Same classes, other scores (a template hit); other classes (a new shape); the
    # first again after others were built; a smaller chart; classes filtered out.
    cat_dog = [_outputs(["cat", "dog", XSS], n=300, seed=seed).curves[name] for seed in (1, 2)]
    other = _outputs(list(range(5)), n=400, seed=3).curves[name]
    calls = [
        (cat_dog[0], {}),
        (cat_dog[1], {}),
        (other, {}),
        (cat_dog[0], {}),
        (cat_dog[1], {"width": 200, "height": 150}),
        (other, {"classes": [0, 3], "averages": ["micro"]}),
        (other.iloc[:0], {}),
    ]
    for frame, kwargs in calls:
        got = chart_spec(chart, frame, **kwargs)
        want = json.loads(json.dumps(chart(frame, **kwargs).to_dict(validate=False)))
        assert json.loads(json.dumps(got)) == want
    # Each call hands out its own dict: changing one leaves the next intact.
    first = chart_spec(chart, cat_dog[0])
    first["layer"].clear()
    first["data"]["values"].clear()
    assert chart_spec(chart, cat_dog[0]) == json.loads(
        json.dumps(chart(cat_dog[0]).to_dict(validate=False))
    )
