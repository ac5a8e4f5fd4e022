import datetime as dt

import numpy as np
import pandas as pd
import pytest

from runwatch.views import LOSS_DATA, loss_chart, loss_rows
from runwatch.views.losses import smoothed

from .conftest import named_values, to_spec


def _losses(n=5):
    """The shape of Iteration.losses(): split, step, value, time (UTC)."""
    return pd.DataFrame(
        {
            "split": ["train"] * n + ["validation"] * n,
            "step": list(range(n)) * 2,
            "value": np.r_[np.linspace(1.0, 0.2, n), np.linspace(1.1, 0.4, n)],
            "time": pd.to_datetime(1.7e9 + np.arange(2 * n), unit="s", utc=True),
        }
    )


def test_named_data_source_loss_holds_the_history():
    spec = to_spec(loss_chart(_losses()))
    assert LOSS_DATA == "loss"
    assert spec["data"]["name"] == "loss"  # at the top: every layer reads the one source
    assert all("data" not in layer for layer in spec["layer"])
    rows = named_values(spec, "loss")
    assert len(rows) == 10
    assert rows[0] == {"split": "train", "step": 0, "value": 1.0, "time": 1.7e12, "smoothed": 1.0}
    lines = spec["layer"][0]
    assert lines["mark"]["type"] == "line"
    assert lines["encoding"]["x"]["field"] == "step"
    assert lines["encoding"]["y"]["field"] == "value"
    assert lines["encoding"]["color"]["scale"]["domain"] == ["train", "validation", "test"]
    assert spec["title"]["text"] == "Loss"


def test_appended_rows_have_the_snapshot_shape():
    snapshot = loss_rows(_losses())
    delta = loss_rows([{"split": "train", "step": 5, "value": 0.1, "time": 1.7e9 + 20}])
    assert set(delta[0]) == set(snapshot[0])
    naive = loss_rows([{"split": "test", "step": 1, "value": 0.5, "time": dt.datetime(2026, 1, 1)}])
    no_time = loss_rows(
        pd.DataFrame({"split": ["train"], "step": [0], "value": [1.0], "time": [pd.NaT]})
    )
    assert "time" not in no_time[0]
    assert naive[0]["time"] == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1000


def test_empty_chart_waits_for_points():
    spec = to_spec(loss_chart())
    assert named_values(spec, "loss") == []
    assert spec["title"]["subtitle"] == ["no losses yet"]


def test_long_history_is_thinned_per_split_keeping_the_ends():
    losses = _losses(3000)
    rows = loss_rows(losses, max_points=100)
    for split in ("train", "validation"):
        steps = [r["step"] for r in rows if r["split"] == split]
        assert len(steps) == 100 and steps[0] == 0 and steps[-1] == 2999
    assert len(loss_rows(losses)) == 6000


def test_nan_is_a_gap_and_bad_input_is_refused():
    rows = loss_rows([{"split": "train", "step": 0, "value": float("nan")}])
    assert rows[0]["value"] is None
    with pytest.raises(ValueError, match="value"):
        loss_rows([{"split": "train", "step": 0}])
    with pytest.raises(TypeError, match="losses"):
        loss_rows({"split": "train"})


def test_log_scale_leaves_out_values_at_or_below_zero():
    spec = to_spec(loss_chart(_losses(), log_scale=True))
    raw, smooth, dot, points = spec["layer"]
    for layer, field in ((raw, "value"), (smooth, "smoothed"), (points, "value")):
        assert layer["encoding"]["y"]["scale"] == {"type": "log"}
        assert layer["transform"] == [{"filter": f"datum.{field} > 0"}]
    # The lone-point dot counts only the points the log axis can draw.
    assert dot["encoding"]["y"]["scale"] == {"type": "log"}
    assert "datum.value > 0" in dot["transform"][0]["filter"]


def test_tooltips_can_be_left_out_for_long_live_histories():
    spec = to_spec(loss_chart(_losses(), tooltips=False))
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "line", "circle"]
    spec = to_spec(loss_chart(_losses()))
    tips = spec["layer"][3]["encoding"]["tooltip"]
    assert [t["field"] for t in tips] == ["split", "step", "value", "smoothed"]


@pytest.mark.parametrize("log_scale", [False, True])
def test_a_split_with_one_point_is_drawn_as_a_visible_dot(log_scale):
    # A validation loss logged once among a train history: no line can show it.
    losses = [{"split": "train", "step": s, "value": 1.0 / (s + 1)} for s in range(30)]
    losses.append({"split": "validation", "step": 29, "value": 0.5})
    spec = to_spec(loss_chart(losses, log_scale=log_scale))
    visible = [
        layer
        for layer in spec["layer"]
        if layer["mark"]["type"] in ("circle", "point", "square")
        and layer["mark"].get("opacity", 1) > 0
    ]
    assert len(visible) == 1, "one visible point layer: the lone points' dots"
    dot = visible[0]
    assert dot["encoding"]["color"]["field"] == "split"
    assert (dot["encoding"]["x"]["field"], dot["encoding"]["y"]["field"]) == ("step", "value")
    # The rows it draws: per split, the drawable points counted, kept where there is one.
    # Computed in the spec (not from the rows given) so appended rows get it too.
    steps = dot["transform"]
    assert "isValid(datum.value)" in steps[0]["filter"]
    agg = steps[1]
    assert agg["groupby"] == ["split"]
    ops = {a["as"]: (a["op"], a.get("field")) for a in agg["aggregate"]}
    # Where n is 1 a sum is the point itself.
    assert ops == {"n": ("count", None), "step": ("sum", "step"), "value": ("sum", "value")}
    assert steps[2] == {"filter": "datum.n == 1"}


def _direct(values, w, t):
    """TensorBoard's smoothed value at t, written out: the finite values so far, weighted
    (1 - w) w^(t - i), over the weights' total 1 - w^n."""
    if values[t] is None or not np.isfinite(values[t]):
        return values[t]
    finite = [v for v in values[: t + 1] if v is not None and np.isfinite(v)]
    n = len(finite)
    return sum((1 - w) * w ** (n - 1 - i) * v for i, v in enumerate(finite)) / (1 - w**n)


@pytest.mark.parametrize("seed", range(8))
def test_smoothed_is_tensorboards_debiased_moving_average(seed):
    rng = np.random.default_rng(seed)
    w = [0.0, 0.3, 0.6, 0.9, 0.99][seed % 5]
    values = list(np.exp(-rng.random(int(rng.integers(1, 80)))) * 5 - 1)
    for i in rng.choice(len(values), len(values) // 8, replace=False):
        values[i] = [None, float("nan"), float("inf")][i % 3]
    got = smoothed(values, w)
    for t, want in enumerate(_direct(values, w, t) for t in range(len(values))):
        if want is None or not np.isfinite(want):
            assert got[t] is want or (np.isnan(want) and np.isnan(got[t]))
        else:
            assert got[t] == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_the_chart_smooths_each_split_in_step_order_behind_a_parameter():
    losses = _losses(6).sample(frac=1.0, random_state=0)  # history in no particular order
    spec = to_spec(loss_chart(losses, smoothing=0.8))
    assert {"name": "smoothing", "value": 0.8} in spec["params"]
    rows = named_values(spec, "loss")
    for split in ("train", "validation"):
        mine = sorted((r for r in rows if r["split"] == split), key=lambda r: r["step"])
        want = smoothed([r["value"] for r in mine], 0.8)
        assert [r["smoothed"] for r in mine] == pytest.approx(want)
    raw, smooth = spec["layer"][:2]
    assert smooth["encoding"]["y"]["field"] == "smoothed"
    # The raw line is faint behind a smoothed one; at 0 only the raw line shows.
    assert raw["mark"]["opacity"] == {"expr": "smoothing > 0 ? 0.25 : 1"}
    assert smooth["mark"]["opacity"] == {"expr": "smoothing > 0 ? 1 : 0"}
    plain = named_values(to_spec(loss_chart(_losses())), "loss")
    assert all(r["smoothed"] == r["value"] for r in plain)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2, "0.5", True, None])
def test_a_bad_smoothing_weight_is_refused_naming_it(bad):
    with pytest.raises((TypeError, ValueError), match="smoothing"):
        loss_chart(_losses(), smoothing=bad)
    with pytest.raises((TypeError, ValueError), match="smoothing"):
        smoothed([1.0], bad)
