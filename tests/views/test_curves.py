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
from runwatch.views.curves import AVERAGE_NAMES, CLASS_COLOURS

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
    # The legend (by rank) lists the averages first, then the classes in table order.
    rank = {r["series"]: r["rank"] for r in rows}
    assert sorted(rank, key=rank.__getitem__) == ["micro average (2)", "macro average", *labels]


def test_classes_given_come_in_the_order_given(multiclass):
    frame = multiclass.curves["roc"]
    rows = curve_rows(frame, "fpr", "tpr", classes=["class 7", XSS, "class 2"], averages=("macro",))
    rank = {r["series"]: r["rank"] for r in rows}
    assert sorted(rank, key=rank.__getitem__) == ["macro average", "class 7", XSS, "class 2"]
    assert list(_series(rows)) == ["class 7", XSS, "class 2", "macro average"]  # averages on top


def test_roc_threshold_infinity_becomes_null(default_specs):
    spec = default_specs("roc")
    rows = named_values(spec, "roc")
    assert rows[0]["threshold"] is None  # +inf at (0, 0)
    assert all(r["threshold"] is None for r in rows if r["kind"] == "macro")


def _layer(spec, mark):
    return next(layer for layer in spec["layer"] if layer["mark"]["type"] == mark)


def test_legend_click_and_hover_highlight_a_line(default_specs):
    spec = default_specs("roc")
    params = {p["name"]: p for p in spec["params"]}
    shown, hover = params["roc_shown"], params["roc_hover"]
    # Vega-Lite's interactive legend: click one, shift-click more (its default toggle).
    assert shown["bind"] == "legend"
    assert shown["select"] == {"type": "point", "fields": ["series"]}
    assert "value" not in shown  # nothing highlighted at first: every line drawn as usual
    # Hover: only over a mark with a series (the reference rule has none).
    on = hover["select"].pop("on")
    assert on.startswith("pointerover[") and "isValid(event.item.datum.series)" in on
    assert hover["select"] == {"type": "point", "fields": ["series"], "clear": "pointerout"}
    lines = _layer(spec, "line")
    assert shown["views"] == hover["views"] == [lines["name"]]
    hovered = "vlSelectionTest('roc_hover_store', datum)"
    picked = "vlSelectionTest('roc_shown_store', datum)"
    hovering, picking = "length(data('roc_hover_store'))", "length(data('roc_shown_store'))"
    # Lit (opaque): the hovered line; with none hovered, the picked ones; with none
    # picked either, every line. The rest faint.
    opacity = lines["encoding"]["opacity"]
    assert opacity["value"] == pytest.approx(0.15)
    assert opacity["condition"] == {
        "test": f"{hovering} ? {hovered} : !{picking} || {picked}",
        "value": 1.0,
    }
    # Hovered or picked lines are thicker too (not all of them when none is picked).
    width = lines["encoding"]["strokeWidth"]
    assert width["condition"] == {
        "test": f"{hovering} ? {hovered} : {picking} && {picked}",
        "value": 3.5,
    }
    # Every point carries its tooltip (faint lines too) and is a hover target.
    points = _layer(spec, "circle")
    assert "transform" not in points
    assert {t["field"] for t in points["encoding"]["tooltip"]} >= {"series", "fpr", "tpr"}


def _lab(colour):
    """CIELAB (D65) of a #rrggbb colour, written out from the sRGB definition."""
    rgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_averages_lead_in_black_and_classes_get_distinct_colours(default_specs, multiclass):
    spec = default_specs("roc")  # 12 classes and two averages
    lines = _layer(spec, "line")
    color = lines["encoding"]["color"]
    assert color["sort"] == {"field": "rank", "op": "min"}  # averages first (their ranks)
    colours = color["scale"]["range"]
    assert colours[:2] == ["#000000", "#555555"]
    assert lines["encoding"]["strokeDash"]["scale"] == {
        "domain": ["class", "micro", "macro"],
        "range": [[1, 0], [6, 3], [2, 2]],
    }
    assert lines["encoding"]["strokeWidth"]["scale"] == {
        "type": "ordinal",
        "domain": ["class", "micro", "macro"],
        "range": [1.5, 2.5, 2.5],
    }
    assert colours[2:] == list(CLASS_COLOURS[:12])  # one colour a class, no more
    # Up to 20 classes, no two colours alike: CIELAB distance at least 25 between any
    # two (category20, whose light/dark pairs read as one line, gets down to 16.6),
    # and 15 from the averages' black and grey and from the white background.
    twenty = _outputs([f"c{i}" for i in range(20)], n=800, seed=5).curves["roc"]
    classes = _layer(to_spec(roc_chart(twenty)), "line")["encoding"]["color"]["scale"]["range"][2:]
    assert len(set(classes)) == 20
    for i, a in enumerate(classes):
        for b in classes[i + 1 :]:
            assert np.linalg.norm(_lab(a) - _lab(b)) >= 25, (a, b)
        for other in ("#000000", "#555555", "#ffffff"):
            assert np.linalg.norm(_lab(a) - _lab(other)) >= 15, (a, other)
    assert "color" not in _layer(spec, "circle")["encoding"]  # invisible hover targets


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


def test_calibration_markers_are_one_size_with_the_counts_in_the_tooltip(multiclass, default_specs):
    frame = multiclass.curves["calibration"]
    spec = default_specs("calibration")
    rows = named_values(spec, "calibration")
    assert sum(r["count"] for r in rows if r["kind"] == "class") == pytest.approx(
        frame.loc[frame["curve"] == "class", "count"].sum()
    )
    points = _layer(spec, "circle")
    # One legend only (the lines'): no size channel, so no size legend.
    assert "size" not in points["encoding"] and points["mark"]["size"] == 30
    lines = _layer(spec, "line")
    assert points["encoding"]["opacity"] == lines["encoding"]["opacity"]
    assert points["encoding"]["color"] == lines["encoding"]["color"]
    for series in {r["series"] for r in rows}:
        assert sum(r["share"] for r in rows if r["series"] == series) == pytest.approx(1.0)
    tips = {t["field"]: t for t in points["encoding"]["tooltip"]}
    assert {"count", "share", "bin"} <= set(tips) and tips["share"]["format"] == ".1%"


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


@pytest.mark.parametrize("name", list(CHARTS))
def test_other_classes_as_many_lines_reuse_the_template(name):
    # The 20 weakest classes change from one iteration to the next: the names are data,
    # so the chart comes from the template of its line count, and is Altair's all the same.
    from runwatch.views import _specs

    chart = CHARTS[name][0]
    first = _outputs(["cat", "dog", "owl"], n=300, seed=1).curves[name]
    other = _outputs(["ant", XSS, "yak"], n=300, seed=2).curves[name]
    _specs.forget_templates()
    chart_spec(chart, first)
    built = len(_specs._TEMPLATES)
    got = chart_spec(chart, other)
    assert len(_specs._TEMPLATES) == built
    assert json.loads(json.dumps(got)) == json.loads(
        json.dumps(chart(other).to_dict(validate=False))
    )
