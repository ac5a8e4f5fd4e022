import numpy as np
import pandas as pd
import pytest

from runwatch.views import (
    predicted_vs_true_chart,
    predicted_vs_true_rows,
    residual_rows,
    residuals_chart,
)
from runwatch.views.regression import PREDICTED_VS_TRUE_COLUMNS, RESIDUAL_COLUMNS

from .conftest import named_values, to_spec


def _pvt():
    mean_p = np.array([0.4, 1.6, 2.4])
    std = np.array([0.1, 0.3, np.nan])  # a NaN must not break the JSON
    return pd.DataFrame(
        {
            "bin_lower": [0.0, 1.0, 2.0],
            "bin_upper": [1.0, 2.0, 3.0],
            "count": np.array([5, 12, 1], dtype=np.int64),
            "mean_true": [0.5, 1.5, 2.5],
            "mean_predicted": mean_p,
            "std_predicted": std,
            "lower": mean_p - std,
            "upper": mean_p + std,
        }
    )


def _residuals():
    table = pd.DataFrame(
        {
            "bin_lower": [-3.0, -1.0, 0.0, 1.0],
            "bin_upper": [-1.0, 0.0, 1.0, 2.5],
            "count": [1, 8, 9, 2],
        }
    )
    table.attrs.update({"mean": 0.05, "std": 0.9, "count": 20})
    return table


def test_predicted_vs_true_rows_and_chart():
    rows = predicted_vs_true_rows(_pvt())
    assert [list(r) for r in rows] == [list(PREDICTED_VS_TRUE_COLUMNS)] * 3
    assert rows[1]["count"] == 12 and type(rows[1]["count"]) is int
    assert rows[2]["std_predicted"] is None and rows[2]["lower"] is None
    spec = to_spec(predicted_vs_true_chart(_pvt()))
    assert named_values(spec, "predicted_vs_true") == rows
    bars, predictions = spec["layer"]
    assert bars["mark"]["type"] == "rect"
    assert bars["encoding"]["x"]["field"] == "bin_lower"
    assert bars["encoding"]["x2"]["field"] == "bin_upper"
    assert bars["encoding"]["y"]["field"] == "count"
    marks = [layer["mark"]["type"] for layer in predictions["layer"]]
    assert marks == ["area", "line", "line"]  # error band, ideal diagonal, mean prediction
    band = predictions["layer"][0]["encoding"]
    assert (band["y"]["field"], band["y2"]["field"]) == ("lower", "upper")
    assert spec["resolve"] == {"scale": {"y": "independent"}}
    assert spec["title"]["text"] == "Predicted vs true"


def test_residual_rows_label_bins_and_chart():
    rows = residual_rows(_residuals())
    assert [r["bin"] for r in rows] == ["[-3, -1)", "[-1, 0)", "[0, 1)", "[1, 2.5]"]
    assert [r["count"] for r in rows] == [1, 8, 9, 2]
    spec = to_spec(residuals_chart(_residuals()))
    assert named_values(spec, "residuals") == rows
    assert spec["encoding"]["x"]["sort"] == {"field": "bin_index", "op": "min"}
    assert spec["title"]["subtitle"] == ["mean 0.05, std 0.9, n = 20"]


def test_empty_tables_give_valid_charts():
    spec = to_spec(predicted_vs_true_chart(pd.DataFrame(columns=list(PREDICTED_VS_TRUE_COLUMNS))))
    assert named_values(spec, "predicted_vs_true") == []
    spec = to_spec(residuals_chart(pd.DataFrame(columns=list(RESIDUAL_COLUMNS))))
    assert named_values(spec, "residuals") == []
    assert spec["title"]["subtitle"] == ["no predictions yet"]


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="mean_true"):
        predicted_vs_true_chart(_pvt().drop(columns="mean_true"))
    with pytest.raises(ValueError, match="count"):
        residuals_chart(_residuals().drop(columns="count"))


def test_engine_regression_curves_when_available():
    regression = pytest.importorskip("runwatch.metrics.regression")
    rng = np.random.default_rng(0)
    y = rng.normal(size=400)
    metric = regression.RegressionMetrics()
    metric.update(y, y + rng.normal(scale=0.3, size=400))
    curves = metric.curves()
    spec = to_spec(predicted_vs_true_chart(curves["predicted_vs_true"]))
    rows = named_values(spec, "predicted_vs_true")
    assert sum(r["count"] for r in rows) == 400
    spec = to_spec(residuals_chart(curves["residuals"]))
    assert sum(r["count"] for r in named_values(spec, "residuals")) == 400


def test_residual_bins_without_width_or_samples_are_left_out():
    # Azure's edges when every residual lies within +-2 std(y): an empty, zero-width
    # bin at each end. One beyond the edges with samples stays.
    table = pd.DataFrame(
        {
            "bin_lower": [-2.0, -2.0, -1.0, 0.0, 1.0, 2.0],
            "bin_upper": [-2.0, -1.0, 0.0, 1.0, 2.0, 2.0],
            "count": [0, 3, 5, 4, 1, 0],
        }
    )
    rows = residual_rows(table)
    assert [r["bin"] for r in rows] == ["[-2, -1)", "[-1, 0)", "[0, 1)", "[1, 2]"]
    assert [r["bin_index"] for r in rows] == [0, 1, 2, 3]
    assert sum(r["count"] for r in rows) == 13
    wide = pd.DataFrame(
        {
            "bin_lower": [-6.0, -2.0, -1.0, 0.0, 1.0, 2.0],
            "bin_upper": [-2.0, -1.0, 0.0, 1.0, 2.0, 3.5],
            "count": [2, 3, 5, 4, 1, 1],
        }
    )
    assert [r["bin"] for r in residual_rows(wide)] == [
        "[-6, -2)",
        "[-2, -1)",
        "[-1, 0)",
        "[0, 1)",
        "[1, 2)",
        "[2, 3.5]",
    ]
