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
