"""views.attributes against the engine, and scikit-learn on each bucket (members from its edges)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score

from runwatch.metrics import ClassificationMetrics
from runwatch.views import chart_spec
from runwatch.views.attributes import (
    ATTRIBUTE_DATA,
    BUCKET_METRICS,
    IMPORTANCE_DATA,
    MAX_CLASS_LINES,
    attribute_importance_chart,
    attribute_importance_rows,
    by_attribute_chart,
    by_attribute_rows,
    top_losses_rows,
)

from .conftest import XSS, assert_only_data, named_values, to_spec

LABELS = ["cat", "dog", XSS, "owl"]


def _problem(seed: int, n: int = 900, labels=LABELS):
    """A stream whose errors grow with `blur`; `source` is categorical, with a rare value."""
    rng = np.random.default_rng(seed)
    k = len(labels)
    truth = rng.choice(k, n, p=rng.dirichlet(np.full(k, 3.0)))
    blur = np.round(rng.gamma(2.0, 1.0, n), 1)  # rounded: ties across bucket edges
    logits = rng.normal(size=(n, k)) + (3.0 - blur)[:, None] * np.eye(k)[truth]
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    source = rng.choice(["web", "scan", "phone", "fax"], n, p=[0.5, 0.3, 0.19, 0.01])
    m = ClassificationMetrics(labels=labels)
    y = np.asarray(labels, dtype=object)[truth]
    for part in np.array_split(np.arange(n), 3):
        m.update(y[part], y_proba=proba[part], sample_ids=[f"s{i}" for i in part],
                 attributes={"blur": blur[part], "source": source[part]})  # fmt: skip
    return m, y, proba, blur, source


def _members(row: dict, values: np.ndarray, first: bool) -> np.ndarray:
    if row["lo"] is None:  # a category
        return values == row["bucket"]
    above = values >= row["lo"] if first else values > row["lo"]
    return above & (values <= row["hi"])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_rows_equal_scikit_learn_on_each_bucket(seed):
    m, y, proba, blur, source = _problem(seed)
    pred = np.asarray(LABELS, dtype=object)[proba.argmax(axis=1)]
    order = np.argsort(LABELS)
    for name, values, bins in (("blur", blur, 5), ("source", source, None)):
        table = m.by_attribute(name, bins=bins) if bins else m.by_attribute(name, max_categories=3)
        for metric in BUCKET_METRICS:
            rows = by_attribute_rows(table, metric, classes=["dog", XSS])
            overall = [r for r in rows if r["overall"]]
            assert [r["order"] for r in overall] == list(range(len(table)))
            for r in overall:
                if r["bucket"] == "(other)":  # the rarest categories, folded
                    members = ~np.isin(values, [b for b in table["bucket"] if b != "(other)"])
                else:
                    members = _members(r, values, r["order"] == 0)
                assert r["count"] == members.sum() > 0
                yt, yp = y[members], pred[members]
                want = {
                    "recall_macro": recall_score(yt, yp, average="macro", zero_division=0),
                    "precision_macro": precision_score(yt, yp, average="macro", zero_division=0),
                    "f1_macro": f1_score(yt, yp, average="macro", zero_division=0),
                    "accuracy": accuracy_score(yt, yp),
                    # scikit-learn takes the probability columns in sorted label order
                    "log_loss": log_loss(yt, proba[members][:, order], labels=sorted(LABELS)),
                }[metric]
                assert r["value"] == pytest.approx(want, abs=1e-12), (name, metric, r)
                for c in ("dog", XSS):
                    line = next(x for x in rows if x["series"] == c and x["order"] == r["order"])
                    if (yt == c).any():
                        assert line["value"] == pytest.approx(np.mean(yp[yt == c] == c))
                    else:
                        assert line["value"] is None  # absent from the bucket: no recall


def test_bucket_edges_cover_every_value_once():
    m, _, _, blur, _ = _problem(5)
    rows = [r for r in by_attribute_rows(m.by_attribute("blur")) if r["overall"]]
    hits = sum(_members(r, blur, r["order"] == 0).astype(int) for r in rows)
    assert (hits == 1).all()


def test_chart_is_valid_vega_lite_and_labels_stay_data():
    m, *_ = _problem(6)
    numeric = to_spec(by_attribute_chart(m.by_attribute("blur"), classes=[XSS, "owl"]))
    rows = named_values(numeric, ATTRIBUTE_DATA)
    assert {r["series"] for r in rows} == {"recall (macro)", XSS, "owl"}
    assert all(r["line"] for r in rows)
    assert_only_data(numeric, XSS)
    line, points = numeric["hconcat"][0]["layer"]
    assert (line["mark"]["type"], points["mark"]["type"]) == ("line", "point")
    assert line["transform"] == [{"filter": "datum.line"}]  # categories: points only
    assert numeric["hconcat"][1]["mark"]["type"] == "bar"
    assert numeric["hconcat"][1]["encoding"]["y"]["axis"] is None  # named once, on the left
    assert numeric["hconcat"][1]["transform"] == [{"filter": "datum.overall"}]
    assert numeric["resolve"] == {"scale": {"y": "shared"}}
    categorical = to_spec(by_attribute_chart(m.by_attribute("source"), "log_loss", numeric=False))
    rows = named_values(categorical, ATTRIBUTE_DATA)
    assert not any(r["line"] for r in rows) and max(r["value"] for r in rows) > 0
    # One spec for every metric and attribute: only the rows differ.
    del numeric["data"], categorical["data"]
    assert numeric == categorical


def test_chart_spec_from_a_template_equals_altair():
    a, *_ = _problem(7)
    b, *_ = _problem(8)
    for m in (a, b):  # the second of the same shape comes from the template
        table = m.by_attribute("blur")
        fast = chart_spec(by_attribute_chart, table, "f1_macro", ["cat"])
        assert fast == by_attribute_chart(table, "f1_macro", ["cat"]).to_dict(validate=False)


def test_importance_rows_follow_the_engine_and_scipy():
    m, y, proba, blur, _ = _problem(9)
    frame = m.attribute_importance()
    rows = attribute_importance_rows(frame)
    assert [r["attribute"] for r in rows[::2]] == frame["attribute"].tolist()
    wrong = (np.asarray(LABELS, dtype=object)[proba.argmax(axis=1)] != y).astype(float)
    blur_error = next(r for r in rows if r["attribute"] == "blur" and r["target"] == "error")
    assert blur_error["value"] == pytest.approx(spearmanr(blur, wrong).statistic, abs=1e-12)
    assert blur_error["value"] > 0  # more blur, more errors: the sign survives
    loss = -np.log(proba[np.arange(y.size), [LABELS.index(v) for v in y]])
    blur_loss = next(r for r in rows if r["attribute"] == "blur" and r["target"] == "log loss")
    assert blur_loss["value"] == pytest.approx(spearmanr(blur, loss).statistic, abs=1e-12)
    spec = to_spec(attribute_importance_chart(frame))
    assert named_values(spec, IMPORTANCE_DATA) == rows
    assert spec["encoding"]["x"]["scale"] == {"domain": [-1, 1]}


def test_top_losses_rows_equal_a_direct_computation():
    m, y, proba, _, _ = _problem(10)
    loss = -np.log(proba[np.arange(y.size), [LABELS.index(v) for v in y]])
    order = np.argsort(-loss, kind="stable")[:15]
    rows = top_losses_rows(m.top_losses(15))
    assert [r["id"] for r in rows] == [f"s{i}" for i in order]
    np.testing.assert_allclose([r["loss"] for r in rows], loss[order], rtol=1e-12)
    assert [r["true"] for r in rows] == [str(v) for v in y[order]]
    ints = ClassificationMetrics(labels=[0, 1])
    ints.update([0, 1], y_proba=[[0.9, 0.1], [0.8, 0.2]])
    assert top_losses_rows(ints.top_losses(2)) == [
        {"id": 1, "true": "1", "predicted": "0", "loss": pytest.approx(-np.log(0.2))},
        {"id": 0, "true": "0", "predicted": "0", "loss": pytest.approx(-np.log(0.9))},
    ]


def test_bad_input_names_the_argument():
    m, *_ = _problem(11)
    table = m.by_attribute("blur")
    with pytest.raises(ValueError, match="^metric must be one of"):
        by_attribute_rows(table, "auc")
    with pytest.raises(ValueError, match="^classes \\['bird'\\] have no recall column"):
        by_attribute_rows(table, classes=["bird"])
    with pytest.raises(ValueError, match=f"^classes may name at most {MAX_CLASS_LINES}"):
        by_attribute_rows(table, classes=["cat"] * (MAX_CLASS_LINES + 1))
    with pytest.raises(ValueError, match="^table must have the columns"):
        by_attribute_rows(pd.DataFrame({"bucket": ["a"]}))
    with pytest.raises(ValueError, match="^frame must have the columns"):
        top_losses_rows(pd.DataFrame({"id": [1]}))
