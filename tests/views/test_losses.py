import datetime as dt

import numpy as np
import pandas as pd
import pytest

from runwatch.views import LOSS_DATA, loss_chart, loss_rows

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
    assert rows[0] == {"split": "train", "step": 0, "value": 1.0, "time": 1.7e12}
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


def test_log_scale():
    spec = to_spec(loss_chart(_losses(), log_scale=True))
    assert spec["layer"][0]["encoding"]["y"]["scale"] == {"type": "log"}


def test_tooltips_can_be_left_out_for_long_live_histories():
    spec = to_spec(loss_chart(_losses(), tooltips=False))
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line"]
    spec = to_spec(loss_chart(_losses()))
    tips = spec["layer"][1]["encoding"]["tooltip"]
    assert [t["field"] for t in tips] == ["split", "step", "value"]
