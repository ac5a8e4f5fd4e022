import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from runwatch.widget._payload import (
    CURVE_POINTS,
    auto_selection,
    iteration_detail,
    iteration_rows,
    run_info,
    thin_curve,
)

from .conftest import XSS, log_sweep


def predicted(logged, name):
    labels = np.asarray(logged.labels)
    return labels[np.argmax(logged.proba[name], axis=1)]


def test_rows_rank_by_the_primary_metric_as_scikit_learn_computes_it(sweep):
    rows = iteration_rows(sweep.run)
    assert [r["name"] for r in rows] == ["GaussianNB", "DecisionTree", "LogisticRegression"]
    assert [r["index"] for r in rows] == [1, 2, 3]
    expected = {n: accuracy_score(sweep.y_true, predicted(sweep, n)) for n in sweep.proba}
    for r in rows:
        assert r["metric"] == pytest.approx(expected[r["name"]], abs=1e-12)
        assert r["status"] == "completed"
        assert r["duration"] is not None and r["duration"] >= 0
    best_name = max(expected, key=expected.get)
    assert [r["name"] for r in rows if r["is_best"]] == [best_name]
    # best-so-far is the running maximum.
    running = np.maximum.accumulate([expected[r["name"]] for r in rows])
    assert [r["best"] for r in rows] == pytest.approx(list(running), abs=1e-12)
    header = run_info(sweep.run, rows)
    assert header["best"] == str(sweep.ids[best_name]) == auto_selection(rows)
    assert header["status"] == "completed"
    assert header["primary_metric"] == "accuracy"


def test_detail_matches_scikit_learn_and_loses_no_sample(sweep):
    it = sweep.run.get(sweep.ids["DecisionTree"])
    detail = iteration_detail(it)
    assert detail["final"] is True
    assert list(detail["splits"]) == ["validation"]
    split = detail["splits"]["validation"]
    pred = predicted(sweep, "DecisionTree")
    labels = sweep.labels
    cm = confusion_matrix(sweep.y_true, pred, labels=labels)
    assert split["confusion"]["labels"] == [str(v) for v in labels]
    assert np.array_equal(np.array(split["confusion"]["counts"]), cm)
    assert sum(map(sum, split["confusion"]["counts"])) == len(sweep.y_true)
    p, r, f, s = precision_recall_fscore_support(sweep.y_true, pred, labels=labels, zero_division=0)
    rows = split["per_class"]
    assert [row["label"] for row in rows] == [str(v) for v in labels]
    assert [row["precision"] for row in rows] == pytest.approx(list(p), abs=1e-12)
    assert [row["recall"] for row in rows] == pytest.approx(list(r), abs=1e-12)
    assert [row["f1"] for row in rows] == pytest.approx(list(f), abs=1e-12)
    assert [row["support"] for row in rows] == list(s)
    assert split["metrics"]["accuracy"] == pytest.approx(accuracy_score(sweep.y_true, pred))
    assert len(split["metrics"]) >= 26


def test_finished_iterations_carry_thinned_chart_specs(sweep):
    detail = iteration_detail(sweep.run.get(sweep.ids["LogisticRegression"]))
    charts = detail["splits"]["validation"]["charts"]
    assert set(charts) == {"roc", "pr"}
    for name, spec in charts.items():
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        values = spec["data"]["values"]
        assert spec["data"]["name"] == name
        per_line: dict[str, int] = {}
        for row in values:
            per_line[row["series"]] = per_line.get(row["series"], 0) + 1
        assert len(per_line) == 12  # ten digits, micro and macro
        assert max(per_line.values()) <= CURVE_POINTS
    # Small enough to live in the page: well under 100 kB per split.
    assert len(json.dumps(detail, allow_nan=False)) < 100_000


def test_a_running_iteration_has_no_charts_until_it_ends(db):
    from runwatch.tracking import Run

    run = Run("live", store=db)
    it = run.iteration("epoch-0")
    it.update("validation", [0, 1, 1, 0], y_proba=[[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.9, 0.1]])
    detail = iteration_detail(it)
    assert detail["final"] is False
    assert detail["splits"]["validation"]["charts"] == {}
    assert detail["splits"]["validation"]["confusion"]["counts"] == [[2.0, 0.0], [1.0, 1.0]]
    it.complete()
    assert set(iteration_detail(it)["splits"]["validation"]["charts"]) == {"roc", "pr"}


def test_markup_in_a_label_is_carried_as_plain_text(db):
    logged = log_sweep(db, relabel=True)
    detail = iteration_detail(logged.run.get(logged.ids["GaussianNB"]))
    split = detail["splits"]["validation"]
    assert XSS in split["confusion"]["labels"]
    assert XSS in [r["label"] for r in split["per_class"]]
    series = {row["series"] for row in split["charts"]["roc"]["data"]["values"]}
    assert XSS in series
    json.dumps(detail, allow_nan=False)


def test_thin_curve_keeps_ends_of_every_line():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "curve": ["class"] * 100 + ["micro"] * 5,
            "label": [1] * 100 + ["micro"] * 5,
            "x": list(range(100)) + list(range(5)),
        }
    )
    thin = thin_curve(frame, max_points=10)
    a = thin[thin["curve"] == "class"]["x"].tolist()
    assert len(a) == 10 and a[0] == 0 and a[-1] == 99
    assert thin[thin["curve"] == "micro"]["x"].tolist() == [0, 1, 2, 3, 4]
