import numpy as np
import pandas as pd
import pytest

from runwatch.views import importance_chart, importance_rows

from .conftest import XSS, assert_only_data, named_values, to_spec

LOGGED = {  # the shape Iteration.log_feature_importance stores
    "names": ["age", XSS, "income", "height"],
    "values": [0.2, -0.7, 0.05, float("nan")],
    "per_class": [["yes", [0.1, 0.3, 0.5, 0.0]], ["no", [0.0, 0.0, 0.0, 0.9]]],
}


def test_rows_rank_by_magnitude_and_skip_nan():
    rows = importance_rows(LOGGED)
    assert [r["feature"] for r in rows] == [XSS, "age", "income"]
    assert [r["rank"] for r in rows] == [0, 1, 2]
    assert rows[0]["sign"] == "negative" and rows[1]["sign"] == "positive"


def test_per_class_and_other_inputs():
    assert [r["feature"] for r in importance_rows(LOGGED, label="no", top=1)] == ["height"]
    series = pd.Series([1.0, 3.0], index=["a", "b"])
    assert [r["feature"] for r in importance_rows(series)] == ["b", "a"]
    assert importance_rows({"x": np.float32(0.5)})[0]["importance"] == 0.5
    with pytest.raises(ValueError, match="label"):
        importance_rows(LOGGED, label="maybe")
    with pytest.raises(ValueError, match="top"):
        importance_rows(LOGGED, top=0)


def test_chart_shows_the_top_features_as_data():
    many = {f"f{i}": float(i) for i in range(50)}
    spec = to_spec(importance_chart(many, top=10))
    rows = named_values(spec, "importance")
    assert [r["feature"] for r in rows] == [f"f{i}" for i in range(49, 39, -1)]
    assert spec["title"]["subtitle"] == ["top 10 of 50 features"]
    assert spec["encoding"]["y"]["sort"] == {"field": "rank", "op": "min"}
    assert spec["mark"]["type"] == "bar"
    assert_only_data(to_spec(importance_chart(LOGGED)), XSS)


def test_nothing_logged_gives_a_valid_chart():
    spec = to_spec(importance_chart({}))
    assert named_values(spec, "importance") == []
