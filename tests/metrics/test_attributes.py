"""``by_attribute`` and ``attribute_importance`` against scikit-learn / scipy on each slice."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

from runwatch.metrics import ClassificationMetrics, _loss_grid

from .conftest import classification_problem, random_batches, stream_and_merge, through_npy

BUCKET_METRICS = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "log_loss")


def _attributes(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    brightness = rng.normal(size=n) * 10
    brightness[rng.random(n) < 0.05] = np.nan  # missing values: a bucket of their own
    return {
        "brightness": brightness,
        "blur": rng.integers(0, 6, n).astype(float),  # few distinct values: ties at the edges
        "source": rng.choice(["web", "scan", "phone", "crawl"], n, p=[0.5, 0.3, 0.15, 0.05]),
    }


def _problem(rng, **kwargs):
    p = classification_problem(
        rng, int(rng.integers(2, 6)), int(rng.integers(50, 400)),
        strings=bool(rng.random() < 0.5), imbalanced=bool(rng.random() < 0.5),
        weights=bool(rng.random() < 0.5), **kwargs,
    )  # fmt: skip
    return p, _attributes(rng, p.y.size)


def _slice_scores(p, rows: np.ndarray) -> dict[str, float]:
    """scikit-learn on the rows of one bucket (its default labels: seen in y_true or y_pred)."""
    y = np.asarray(p.y)[rows]
    pred = np.asarray(p.labels, dtype=object)[np.argmax(p.proba[rows], axis=1)]
    if not isinstance(p.labels[0], str):
        pred = pred.astype(np.int64)
    w = None if p.weight is None else p.weight[rows]
    out = {"count": rows.sum()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["accuracy"] = skm.accuracy_score(y, pred, sample_weight=w)
        for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score),
                         ("f1", skm.f1_score)):  # fmt: skip
            out[f"{name}_macro"] = fn(y, pred, average="macro", sample_weight=w, zero_division=0)
        if w is None or w.sum() > 0:
            out["log_loss"] = skm.log_loss(y, p.proba[rows], labels=p.labels, sample_weight=w)
        for label in p.labels:
            if np.any(y == label):
                out[f"recall[{label}]"] = skm.recall_score(
                    y, pred, labels=[label], average=None, sample_weight=w, zero_division=0
                )[0]
    return out


def _check_table(table: pd.DataFrame, p, values: np.ndarray, categorical: bool = False):
    """Each row equals scikit-learn on the rows its bucket names (edges or category)."""
    assert table["count"].sum() <= values.size
    for i, row in table.iterrows():
        if categorical:
            kept = set(table["bucket"]) - {"(other)"}
            rows = ~np.isin(values, list(kept)) if row["bucket"] == "(other)" else values == row[
                "bucket"]  # fmt: skip
        elif row["bucket"] == "(missing)":
            rows = np.isnan(values)
        else:
            lo, hi = row["lo"], row["hi"]
            rows = ((values > lo) | ((values == lo) & (i == 0))) & (values <= hi)
        want = _slice_scores(p, rows)
        assert row["count"] == want["count"], row["bucket"]
        for name, value in want.items():
            if name == "count":
                continue
            if np.isnan(value):
                assert np.isnan(row[name]), (row["bucket"], name)
            else:
                assert row[name] == pytest.approx(value, rel=1e-9, abs=1e-12), (row["bucket"], name)
        for label in p.labels:  # a class absent from the bucket's y_true has no recall
            if f"recall[{label}]" not in want:
                assert np.isnan(row[f"recall[{label}]"])


@pytest.mark.parametrize("curve_bins", [None, 64])
def test_every_bucket_equals_scikit_learn_on_its_rows(rng, curve_bins):
    for _ in range(12):
        p, attributes = _problem(rng, absent=int(rng.integers(0, 2)), ties=bool(rng.random() < 0.3))
        m = ClassificationMetrics(labels=p.labels, curve_bins=curve_bins)
        m.update(p.y, y_proba=p.proba, sample_weight=p.weight, attributes=attributes)
        for bins in (10, 3, 1):
            table = m.by_attribute("brightness", bins=bins)
            finite = table["bucket"] != "(missing)"
            assert finite.sum() <= bins
            assert table["count"].sum() == p.y.size  # every sample in one bucket
            _check_table(table, p, attributes["brightness"])
        _check_table(m.by_attribute("blur", bins=4), p, attributes["blur"])
        _check_table(m.by_attribute("source"), p, attributes["source"], categorical=True)
        folded = m.by_attribute("source", max_categories=2)
        assert list(folded["bucket"])[-1] == "(other)" and len(folded) == 2
        _check_table(folded, p, attributes["source"], categorical=True)


def test_exact_quantile_buckets_are_pandas_qcut(rng):
    p, attributes = _problem(rng)
    m = ClassificationMetrics(labels=p.labels)
    m.update(p.y, y_proba=p.proba, attributes=attributes)
    values = attributes["brightness"]
    finite = values[~np.isnan(values)]
    cut, edges = pd.qcut(finite, 10, duplicates="drop", retbins=True)
    table = m.by_attribute("brightness")
    np.testing.assert_allclose(table["lo"][:-1], edges[:-1], rtol=1e-12)
    np.testing.assert_allclose(table["hi"][:-1], edges[1:], rtol=1e-12)
    assert list(table["count"][:-1]) == list(pd.Series(cut).value_counts(sort=False))
    blur = pd.qcut(attributes["blur"], 4, duplicates="drop")  # ties: equal quantiles merge
    assert list(m.by_attribute("blur", bins=4)["count"]) == list(
        pd.Series(blur).value_counts(sort=False)
    )


def test_given_edges_leave_values_outside_them_out(rng):
    p, attributes = _problem(rng)
    m = ClassificationMetrics(labels=p.labels)
    m.update(p.y, y_proba=p.proba, sample_weight=p.weight, attributes=attributes)
    table = m.by_attribute("brightness", bins=[-5, 0, 1, 5])
    assert list(table["lo"][:3]) == [-5, 0, 1] and list(table["hi"][:3]) == [0, 1, 5]
    values = attributes["brightness"]
    assert table["count"][:3].sum() == np.sum((values >= -5) & (values <= 5))
    _check_table(table, p, values)


def test_importance_equals_scipy_spearman_and_the_correlation_ratio(rng):
    for _ in range(10):
        p, attributes = _problem(rng)
        m = ClassificationMetrics(labels=p.labels)
        m.update(p.y, y_proba=p.proba, sample_weight=p.weight, attributes=attributes)
        table = m.attribute_importance().set_index("attribute")
        truth = np.searchsorted(np.asarray(p.labels, dtype=object), np.asarray(p.y, dtype=object))
        error = (np.argmax(p.proba, axis=1) != truth).astype(float)
        eps = np.finfo(p.proba.dtype).eps
        loss = -np.log(np.clip(p.proba[np.arange(p.y.size), truth], eps, 1 - eps))
        for name in ("brightness", "blur"):
            values = attributes[name]
            ok = ~np.isnan(values)
            for column, target in (("with_error", error), ("with_loss", loss)):
                want = stats.spearmanr(values[ok], target[ok]).statistic
                assert table.loc[name, column] == pytest.approx(want, abs=1e-12, nan_ok=True)
        for column, target in (("with_error", error), ("with_loss", loss)):
            groups = [target[attributes["source"] == g] for g in np.unique(attributes["source"])]
            grand = target.mean()
            between = sum(g.size * (g.mean() - grand) ** 2 for g in groups)
            want = np.sqrt(between / np.sum((target - grand) ** 2))
            assert table.loc["source", column] == pytest.approx(want, rel=1e-9)
        magnitude = table["with_error"].abs().fillna(-1).to_numpy()
        assert np.all(np.diff(magnitude) <= 0)  # sorted by magnitude, strongest first


def test_importance_finds_the_attribute_that_drives_the_errors(rng):
    n = 3000
    y = rng.integers(0, 3, n)
    noise = rng.uniform(0, 1, n)  # the larger, the more often the prediction is wrong
    pred = np.where(rng.random(n) < noise, (y + 1) % 3, y)
    m = ClassificationMetrics(labels=[0, 1, 2])
    m.update(y, y_pred=pred, attributes={"noise": noise, "unrelated": rng.normal(size=n)})
    table = m.attribute_importance()
    assert table["attribute"][0] == "noise" and table["with_error"][0] > 0.4
    assert abs(table["with_error"][1]) < 0.1
    assert table["with_loss"].isna().all()  # no scores, no losses


def test_binned_importance_is_spearman_on_the_grid_bins(rng):
    p, attributes = _problem(rng)
    m = ClassificationMetrics(labels=p.labels, curve_bins=32)
    m.update(p.y, y_proba=p.proba, attributes=attributes)
    state = m.state_dict()
    index = list(state["attr.names"]).index("brightness")
    exponent = int(state[f"attr.{index}.exponent"])
    values = attributes["brightness"]
    ok = ~np.isnan(values)
    grid = np.ceil(np.ldexp(np.arcsinh(values[ok]), -exponent))
    truth = np.searchsorted(np.asarray(p.labels, dtype=object), np.asarray(p.y, dtype=object))
    error = (np.argmax(p.proba, axis=1) != truth)[ok]
    table = m.attribute_importance().set_index("attribute")
    assert table.loc["brightness", "with_error"] == pytest.approx(
        stats.spearmanr(grid, error).statistic, abs=1e-12
    )
    exact = stats.spearmanr(values[ok], error).statistic
    assert abs(table.loc["brightness", "with_error"] - exact) < 0.02
    # with the loss: Spearman on the cells of the joint (value, loss) grid, within its bound
    eps = np.finfo(p.proba.dtype).eps
    loss = -np.log(np.clip(p.proba[np.arange(p.y.size), truth], eps, 1 - eps))[ok]
    x_exp, y_exp = state[f"attr.{index}.loss.exponents"]
    x_bin = np.floor(np.ldexp(np.arcsinh(values[ok]), -int(x_exp)))
    y_bin = np.floor(np.ldexp(np.arcsinh(loss), -int(y_exp)))
    got = table.loc["brightness", "with_loss"]
    assert got == pytest.approx(stats.spearmanr(x_bin, y_bin).statistic, abs=1e-12)
    grid = m._failures.columns["brightness"].loss_grid
    exact_loss = stats.spearmanr(values[ok], loss).statistic
    assert abs(got - exact_loss) <= _loss_grid.spearman(grid)[1]
    assert abs(got - exact_loss) < 0.02


@pytest.mark.parametrize("curve_bins", [None, 64])
def test_streamed_merged_and_one_pass_agree(rng, curve_bins):
    for _ in range(6):
        _check_streamed_merged_one_pass(rng, curve_bins)


def _check_streamed_merged_one_pass(rng, curve_bins):
    p, attributes = _problem(rng)
    ids = rng.permutation(p.y.size) * 7

    def make():
        return ClassificationMetrics(labels=p.labels, curve_bins=curve_bins)

    def feed(m, part):
        frame = pd.DataFrame(
            {k: v[part] for k, v in attributes.items()},
            index=np.arange(p.y.size)[part][::-1],  # the index is ignored: values are positional
        )
        weight = None if p.weight is None else p.weight[part]
        m.update(p.y[part], y_proba=p.proba[part], sample_weight=weight, sample_ids=ids[part],
                 attributes=frame)  # fmt: skip

    one = make()
    feed(one, slice(None))
    merged = stream_and_merge(make, feed, p.y.size, rng)
    streamed = make()
    for part in random_batches(rng, p.y.size):
        feed(streamed, part)
    reloaded = ClassificationMetrics.from_state_dict(through_npy(one.state_dict()))
    for other in (merged, streamed, reloaded):
        for name, bins in (("brightness", 10), ("blur", 3), ("source", 10)):
            pd.testing.assert_frame_equal(
                other.by_attribute(name, bins=bins), one.by_attribute(name, bins=bins), rtol=1e-11
            )
        pd.testing.assert_frame_equal(
            other.attribute_importance(), one.attribute_importance(), rtol=1e-11
        )


def test_learned_labels_that_grow_keep_the_buckets_right(rng):
    y = rng.choice(["a", "b", "c", "d"], 300)
    pred = np.where(rng.random(300) < 0.7, y, rng.choice(["a", "b", "c", "d"], 300))
    size = rng.uniform(0, 1, 300)
    grown = ClassificationMetrics()
    order = np.argsort(y)  # "a" first: the label list grows batch by batch
    for part in np.array_split(order, 4):
        grown.update(y[part], y_pred=pred[part], attributes={"size": size[part]})
    fixed = ClassificationMetrics(labels=["a", "b", "c", "d"])
    fixed.update(y[order], y_pred=pred[order], attributes={"size": size[order]})
    pd.testing.assert_frame_equal(grown.by_attribute("size"), fixed.by_attribute("size"))


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"x": np.zeros(3)}, "attributes['x'] has 3 values but y_true has 4 samples."),
        ({"x": [1.0, np.inf, 0.0, 2.0]}, "attributes['x'] holds an infinite value"),
        ({"x": np.zeros((4, 2))}, "attributes['x'] must be 1-D"),
        ([1, 2, 3, 4], "attributes must be a dict of name -> per-sample values or a DataFrame"),
        ({3: np.zeros(4)}, "attributes names must be non-empty strings; got 3."),
        ({"x": [{}, {}, {}, {}]}, "attributes['x'] must hold numbers or strings; got dict"),
        (
            {"x": np.array(["a", 1, "b", 2], dtype=object)},
            "attributes['x'] mixes numbers and strings",
        ),
        ({"size": ["a", "b", "c", "d"]}, "attributes['size'] holds strings but earlier batches"),
        ({"other": np.zeros(4)}, "attributes gives ['other'] but earlier batches gave ['size']"),
    ],
)
def test_bad_attributes_are_refused_by_name_and_change_nothing(attributes, message):
    m = ClassificationMetrics(labels=[0, 1])
    m.update(
        [0, 1, 1], y_proba=[[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], attributes={"size": [1, 2, 3]}
    )
    before = m.state_dict()
    with pytest.raises(ValueError) as caught:
        m.update([0, 1, 0, 1], y_pred=[0, 1, 1, 1], attributes=attributes)
    assert str(caught.value).startswith(message), str(caught.value)
    after = m.state_dict()
    assert after.keys() == before.keys()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)


def test_bad_bins_and_names_are_refused():
    m = ClassificationMetrics(labels=[0, 1])
    m.update([0, 1], y_pred=[0, 0], attributes={"size": [1.0, 2.0], "kind": ["a", "b"]})
    for bins in (0, [1.0], [2.0, 1.0], [0, np.nan], "ten", True):
        with pytest.raises(ValueError, match=r"^bins must be an int >= 1"):
            m.by_attribute("size", bins=bins)
    with pytest.raises(ValueError, match=r"^name 'colour' is not an attribute"):
        m.by_attribute("colour")
    with pytest.raises(ValueError, match=r"^max_categories must be an int >= 1"):
        m.by_attribute("kind", max_categories=0)


def test_merging_states_given_other_attributes_is_refused_and_changes_nothing():
    a, b = ClassificationMetrics(labels=[0, 1]), ClassificationMetrics(labels=[0, 1])
    a.update([0, 1], y_pred=[0, 1], attributes={"size": [1.0, 2.0]})
    b.update([0, 1], y_pred=[1, 1], attributes={"kind": ["x", "y"]})
    before = a.state_dict()
    with pytest.raises(ValueError, match=r"^other has the attributes"):
        a.merge(ClassificationMetrics(labels=[0, 1]), b)
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_batches_without_attributes_are_left_out_of_the_tables():
    m = ClassificationMetrics(labels=[0, 1])
    m.update([0, 1, 1], y_pred=[0, 1, 0], attributes={"size": [1.0, 2.0, 3.0]})
    m.update([0, 0], y_pred=[1, 1])
    assert m.by_attribute("size", bins=1)["count"].tolist() == [3]
    assert m.n_samples == 5


@pytest.mark.parametrize("curve_bins", [None, 16])
def test_an_attribute_of_missing_values_only_is_one_missing_bucket(curve_bins):
    m = ClassificationMetrics(labels=[0, 1], curve_bins=curve_bins)
    m.update([0, 1, 1], y_pred=[0, 1, 0], attributes={"size": [np.nan] * 3, "kind": ["a"] * 3})
    m.update([], y_pred=[], attributes={"size": [], "kind": []})  # an empty batch: a no-op
    table = m.by_attribute("size")
    assert table["bucket"].tolist() == ["(missing)"] and table["count"].tolist() == [3]
    assert np.isnan(m.attribute_importance().set_index("attribute").loc["size", "with_error"])


def test_a_table_of_many_classes_is_built_without_a_pandas_warning(rng):
    # A column per class's recall: set one at a time, pandas warns past 100 columns
    # (PerformanceWarning, "highly fragmented"), in the widget's details of every iteration.
    k, n = 120, 3000
    truth, pred = rng.integers(0, k, n), rng.integers(0, k, n)
    m = ClassificationMetrics(labels=list(range(k)))
    m.update(truth, y_pred=pred, attributes={"x": rng.normal(size=n), "s": rng.choice(["a"], n)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tables = [m.by_attribute("x", bins=4), m.by_attribute("s")]
    for table in tables:
        assert list(table.columns[-k:]) == [f"recall[{c}]" for c in range(k)]
    rows = table["count"].to_numpy()
    assert rows.tolist() == [n]
    want = skm.recall_score(truth, pred, labels=[7], average=None)[0]
    assert table["recall[7]"].iloc[0] == pytest.approx(want)
