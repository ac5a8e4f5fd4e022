import numpy as np
import pandas as pd
import pytest

from runwatch.views import (
    OTHER,
    confusion_chart,
    confusion_rows,
    fold_confusion,
    most_common_classes,
    most_confused_classes,
    normalize_confusion,
    select_classes,
)

from .conftest import XSS, assert_only_data, named_values, to_spec


def _matrix(values, labels=None):
    labels = labels if labels is not None else [f"c{i}" for i in range(len(values))]
    return pd.DataFrame(
        np.asarray(values),
        index=pd.Index(labels, name="true"),
        columns=pd.Index(labels, name="predicted"),
    )


def _random_matrix(seed, k=12, weighted=False):
    rng = np.random.default_rng(seed)
    values = rng.poisson(rng.gamma(0.6, 6, size=(k, k)))
    values += np.diag(rng.integers(0, 80, k))
    if weighted:
        values = values * rng.uniform(0.5, 1.5, size=(k, k))
    return _matrix(values)


def _brute_most_confused(values, labels, k):
    """Straight from the definition: walk off-diagonal cells by count, take their classes."""
    cells = sorted(
        (-values[i][j], i, j)
        for i in range(len(labels))
        for j in range(len(labels))
        if i != j and values[i][j] > 0
    )
    chosen = []
    for _, i, j in cells:
        for c in (i, j):
            if c not in chosen and len(chosen) < k:
                chosen.append(c)
    support = sorted((-sum(values[i]), i) for i in range(len(labels)))
    for _, i in support:
        if len(chosen) < k and i not in chosen:
            chosen.append(i)
    return [labels[i] for i in chosen]


def _brute_most_common(values, labels, k):
    return [labels[i] for _, i in sorted((-sum(values[i]), i) for i in range(len(labels)))[:k]]


@pytest.mark.parametrize("seed", range(20))
def test_top_seven_selections_match_brute_force(seed):
    m = _random_matrix(seed, k=int(np.random.default_rng(seed).integers(2, 15)))
    values, labels = m.to_numpy().tolist(), list(m.index)
    assert most_confused_classes(m) == _brute_most_confused(values, labels, 7)
    assert most_common_classes(m) == _brute_most_common(values, labels, 7)


def test_selections_agree_with_the_engine(multiclass):
    m, engine = multiclass.matrix, multiclass.metric
    assert most_common_classes(m) == [label for label, _ in engine.most_common(7)]
    pairs = engine.most_confused(k=len(m) ** 2)
    expected = []
    for true, pred, _ in pairs:
        for c in (true, pred):
            if c not in expected and len(expected) < 7:
                expected.append(c)
    assert most_confused_classes(m) == expected
    assert XSS in select_classes(m, "all")


def test_no_confusion_falls_back_to_most_common():
    m = _matrix(np.diag([5, 1, 9, 3, 7, 2, 8, 4, 6]))
    assert most_confused_classes(m, k=3) == ["c2", "c6", "c4"]


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("weighted", [False, True])
def test_folding_keeps_every_count(seed, weighted):
    m = _random_matrix(seed, weighted=weighted)
    rng = np.random.default_rng(seed)
    keep = sorted(rng.choice(len(m), size=int(rng.integers(1, len(m))), replace=False))
    classes = [m.index[i] for i in rng.permutation(keep)]
    folded = fold_confusion(m, classes)
    kept = [m.index[i] for i in keep]
    assert list(folded.index) == [*kept, OTHER] == list(folded.columns)
    assert folded.attrs["other"] == OTHER
    assert folded.to_numpy().sum() == pytest.approx(m.to_numpy().sum())
    assert folded.dtypes.iloc[0] == m.dtypes.iloc[0]
    np.testing.assert_allclose(folded.loc[kept, kept].to_numpy(), m.loc[kept, kept].to_numpy())
    np.testing.assert_allclose(folded.loc[kept].sum(axis=1), m.loc[kept].sum(axis=1))
    np.testing.assert_allclose(folded[kept].sum(axis=0), m[kept].sum(axis=0))
    rest = [c for c in m.index if c not in kept]
    assert folded.loc[OTHER, OTHER] == pytest.approx(m.loc[rest, rest].to_numpy().sum())


def test_folding_everything_kept_has_no_other_row():
    m = _random_matrix(0, k=4)
    folded = fold_confusion(m, list(m.index))
    assert list(folded.index) == list(m.index)
    assert "other" not in folded.attrs
    np.testing.assert_array_equal(folded.to_numpy(), m.to_numpy())


def test_folding_a_class_already_named_other():
    m = _matrix(np.arange(9).reshape(3, 3), labels=["a", OTHER, "b"])
    folded = fold_confusion(m, ["a", OTHER])
    assert list(folded.index) == ["a", OTHER, f"{OTHER} (2)"]
    assert folded.to_numpy().sum() == 36


def test_bad_class_filter_is_named():
    m = _random_matrix(1, k=3)
    with pytest.raises(ValueError, match="classes"):
        fold_confusion(m, ["nope"])
    with pytest.raises(TypeError, match="classes"):
        select_classes(m, classes="c1")
    with pytest.raises(ValueError, match="mode"):
        select_classes(m, mode="biggest")
    with pytest.raises(ValueError, match="square"):
        fold_confusion(m.iloc[:2], ["c0"])


def test_normalised_rows_and_columns_sum_to_one():
    m = _random_matrix(3)
    m.iloc[2] = 0  # an empty row stays zero
    rows = normalize_confusion(m, "true").to_numpy().sum(axis=1)
    np.testing.assert_allclose(np.delete(rows, 2), 1.0)
    assert rows[2] == 0
    cols = normalize_confusion(m, "pred").to_numpy().sum(axis=0)
    np.testing.assert_allclose(cols[cols > 0], 1.0)
    with pytest.raises(ValueError, match="normalize"):
        normalize_confusion(m, "all")


def test_rows_carry_count_and_both_shares():
    m = _matrix([[3, 1], [0, 4]], labels=["x", "y"])
    rows = {(r["true"], r["predicted"]): r for r in confusion_rows(m, "pred")}
    cell = rows[("x", "y")]
    assert cell["count"] == 1 and cell["row_share"] == 0.25 and cell["col_share"] == 0.2
    assert cell["value"] == 0.2 and not cell["diagonal"]
    assert rows[("y", "x")]["col_share"] == 0.0


@pytest.mark.parametrize("normalize", [None, "true", "pred"])
@pytest.mark.parametrize("mode", ["most_confused", "most_common"])
def test_chart_of_engine_matrix(multiclass, normalize, mode):
    m = multiclass.matrix
    spec = to_spec(confusion_chart(m, normalize=normalize, mode=mode))
    rows = named_values(spec, "confusion")
    assert len(rows) == 8 * 8  # 7 classes and (other)
    assert sum(r["count"] for r in rows) == m.to_numpy().sum()
    assert {r["true"] for r in rows if r["true_index"] == 7} == {OTHER}
    expected = select_classes(m, mode)
    assert [r["true"] for r in rows if r["predicted_index"] == 0][:7] == [str(c) for c in expected]
    by_true = {}
    for r in rows:
        by_true[r["true"]] = by_true.get(r["true"], 0) + r["value"]
    if normalize == "true":
        assert all(v == pytest.approx(1.0) for v in by_true.values())
    elif normalize is None:
        assert all(r["value"] == r["count"] for r in rows)
    rect = spec["layer"][0]
    assert rect["mark"]["type"] == "rect"
    assert rect["encoding"]["x"]["field"] == "predicted"
    assert rect["encoding"]["y"]["field"] == "true"
    assert rect["encoding"]["color"]["field"] == "value"
    tips = {t["field"] for t in rect["encoding"]["tooltip"]}
    assert tips >= {"true", "predicted", "count", "row_share", "col_share"}
    (cell,) = spec["params"]
    assert cell["name"] == "cell" and cell["select"]["fields"] == ["true", "predicted"]
    assert spec["layer"][1]["mark"]["type"] == "text"
    assert spec["title"]["subtitle"] == ["5 classes folded into (other)"]


def test_other_cells_are_grey_and_the_scale_spans_the_shown_classes():
    m = _matrix([[5, 1, 0], [2, 7, 1], [0, 3, 900]], labels=["a", "b", "c"])
    spec = to_spec(confusion_chart(m, classes=["a", "b"]))
    color = spec["layer"][0]["encoding"]["color"]
    assert color["condition"]["test"] == "datum.other"
    assert color["scale"]["domain"] == [0, 7.0]
    rows = named_values(spec, "confusion")
    assert [r["other"] for r in rows if r["true"] == "a"] == [False, False, True]


def test_class_filter_and_all_mode(multiclass):
    m = multiclass.matrix
    spec = to_spec(confusion_chart(m, classes=[XSS, "class 2"]))
    rows = named_values(spec, "confusion")
    assert [r["true"] for r in rows if r["predicted_index"] == 0] == ["class 2", XSS, OTHER]
    spec = to_spec(confusion_chart(m, mode="all"))
    assert len(named_values(spec, "confusion")) == len(m) ** 2
    assert spec["title"]["subtitle"] == []


def test_labels_stay_data(multiclass):
    spec = to_spec(confusion_chart(multiclass.matrix, mode="all", normalize="true"))
    assert_only_data(spec, XSS)


def test_weighted_counts_are_formatted_as_decimals():
    m = _random_matrix(2, k=4, weighted=True)
    spec = to_spec(confusion_chart(m))
    assert spec["layer"][1]["encoding"]["text"]["format"] == ",.2~f"
    spec = to_spec(confusion_chart(_random_matrix(2, k=4)))
    assert spec["layer"][1]["encoding"]["text"]["format"] == ",d"
