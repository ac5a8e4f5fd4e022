"""Chart specs' data made small (``widget/_spec_data.py``): it reads back as it was given."""

from runwatch.widget._spec_data import csv_data, round_data

from .conftest import XSS, chart_rows


def test_csv_data_reads_back_as_the_rows_it_was_given():
    rows = [
        {"series": 'a, "b"\nc', "kind": "class", "i": 0, "x": 0.25, "y": None, "other": True},
        {"series": XSS, "kind": "micro", "i": 1, "x": 1.0, "y": 2.5e-05, "other": False},
    ]
    spec = csv_data({"layer": [{}], "data": {"name": "roc", "values": [dict(r) for r in rows]}})
    assert isinstance(spec["data"]["values"], str)
    assert spec["data"]["format"]["parse"] == {
        "i": "number",
        "x": "number",
        "y": "number",
        "other": "boolean",
    }
    back = chart_rows(spec)
    assert back == [{**r, "i": float(r["i"])} for r in rows]
    nested = {"data": {"name": "n", "values": [{"a": [1, 2]}]}}
    assert csv_data(nested)["data"]["values"] == [{"a": [1, 2]}]  # left as JSON


def test_round_data_keeps_four_significant_digits_of_every_data_set():
    spec = {
        "data": {"values": [{"x": 0.123456789, "n": 3, "s": "a", "z": 0.0}]},
        "layer": [{"data": {"values": [{"y": 12345.678}]}}, {}],
        "datasets": {"d1": [{"w": 1.23456e-7, "inf": float("inf")}]},
    }
    out = round_data(spec)
    assert out is spec
    assert spec["data"]["values"] == [{"x": 0.1235, "n": 3, "s": "a", "z": 0.0}]
    assert spec["layer"][0]["data"]["values"] == [{"y": 12350.0}]
    assert spec["datasets"]["d1"] == [{"w": 1.235e-07, "inf": float("inf")}]
