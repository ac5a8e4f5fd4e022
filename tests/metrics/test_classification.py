"""ClassificationMetrics against scikit-learn (through Azure's definitions) on random problems."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from runwatch.metrics import CLASSIFICATION_METRICS, ClassificationMetrics
from runwatch.metrics._samples import RESERVOIR

from ._oracle import azure_classification
from .conftest import (
    assert_metrics_close,
    assert_same_state,
    classification_problem,
    stream_and_merge,
)

CASES = [
    # (n_classes, options)
    (2, {}),
    (2, {"strings": True, "weights": True}),
    (2, {"ties": True}),
    (2, {"imbalanced": True, "float32": True}),
    (3, {}),
    (3, {"ties": True, "weights": True}),
    (3, {"absent": 1}),
    (4, {"strings": True, "imbalanced": True}),
    (5, {"absent": 2, "weights": True, "ties": True}),
    (7, {"float32": True, "strings": True}),
    (10, {"imbalanced": True, "weights": True}),
    (20, {"absent": 5}),
    (50, {"imbalanced": True, "n": 3000}),
]


def _feed(problem, **extra):
    def feed(metric, part):
        w = None if problem.weight is None else problem.weight[part]
        metric.update(problem.y[part], y_proba=problem.proba[part], sample_weight=w, **extra)

    return feed


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("n_classes", "options"), CASES)
def test_every_metric_matches_the_oracle(n_classes, options, seed):
    rng = np.random.default_rng([n_classes, seed, len(options)])
    options = dict(options)
    n = options.pop("n", int(rng.integers(50, 600)))
    p = classification_problem(rng, n_classes, n, **options)
    metric = stream_and_merge(lambda: ClassificationMetrics(**p.kwargs), _feed(p), n, rng)
    got = metric.compute()
    assert list(got) == list(CLASSIFICATION_METRICS)
    expected = azure_classification(p.y, p.proba, p.labels, p.weight)
    rtol = 1e-5 if options.get("float32") else 1e-9
    assert_metrics_close(got, expected, rtol=rtol)
    assert set(metric.reasons()) == {name for name, v in got.items() if np.isnan(v)}


@pytest.mark.parametrize(("n_classes", "options"), CASES[:8])
def test_confusion_matrix_and_tables_match_scikit_learn(n_classes, options, rng):
    p = classification_problem(
        rng, n_classes, 300, **{k: v for k, v in options.items() if k != "n"}
    )
    metric = stream_and_merge(lambda: ClassificationMetrics(**p.kwargs), _feed(p), 300, rng)
    pred = np.asarray(p.labels)[np.argmax(p.proba, axis=1)]
    y = np.asarray(p.y).astype(pred.dtype)
    expected = skm.confusion_matrix(y, pred, labels=p.labels, sample_weight=p.weight)
    table = metric.confusion_matrix()
    assert list(table.index) == p.labels and list(table.columns) == p.labels
    np.testing.assert_allclose(table.to_numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(
        metric.confusion_matrix("true").to_numpy(),
        skm.confusion_matrix(y, pred, labels=p.labels, sample_weight=p.weight, normalize="true"),
        rtol=1e-12,
    )
    prec, rec, f1, support = skm.precision_recall_fscore_support(
        y, pred, labels=p.labels, sample_weight=p.weight, zero_division=0
    )
    per_class = metric.per_class()
    np.testing.assert_allclose(per_class["precision"], prec, rtol=1e-12)
    np.testing.assert_allclose(per_class["recall"], rec, rtol=1e-12)
    np.testing.assert_allclose(per_class["f1"], f1, rtol=1e-12)
    np.testing.assert_allclose(per_class["support"], support, rtol=1e-12)


def _brute_most_confused(matrix, labels, k):
    cells = [
        (matrix[i, j], i, j)
        for i in range(len(labels))
        for j in range(len(labels))
        if i != j and matrix[i, j] > 0
    ]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [(labels[i], labels[j], v) for v, i, j in cells[:k]]


@pytest.mark.parametrize("k", [0, 1, 7, 100])
def test_most_confused_and_most_common(k, rng):
    p = classification_problem(rng, 9, 500, strings=True, ties=True)
    metric = ClassificationMetrics(labels=p.labels)
    metric.update(p.y, y_proba=p.proba)
    pred = np.asarray(p.labels, dtype=object)[np.argmax(p.proba, axis=1)]
    matrix = skm.confusion_matrix(p.y, pred, labels=p.labels)
    assert metric.most_confused(k=k) == _brute_most_confused(matrix, p.labels, k)
    support = matrix.sum(axis=1)
    common = sorted([(lab, s) for lab, s in zip(p.labels, support) if s > 0], key=lambda t: -t[1])
    assert metric.most_common(k=k) == common[:k]


def test_binary_one_dimensional_scores_and_positive_label(rng):
    p = classification_problem(rng, 2, 400, strings=True, weights=True)
    one_d = ClassificationMetrics(labels=p.labels, positive_label=p.labels[0])
    one_d.update(p.y, y_proba=p.proba[:, 0], sample_weight=p.weight)
    two_d = ClassificationMetrics(labels=p.labels, positive_label=p.labels[0])
    two_d.update(p.y, y_proba=p.proba, sample_weight=p.weight)
    expected = azure_classification(p.y, p.proba, p.labels, p.weight, positive_label=p.labels[0])
    assert_metrics_close(one_d.compute(), expected)
    assert_metrics_close(two_d.compute(), expected)
    # The binary metrics really score the chosen class, not labels[1].
    y_pos = np.asarray(p.y) == p.labels[0]
    assert one_d.compute()["AUC_binary"] == pytest.approx(
        skm.roc_auc_score(y_pos, p.proba[:, 0], sample_weight=p.weight), rel=1e-12
    )


def test_labels_only_learns_classes_and_leaves_score_metrics_nan(rng):
    p = classification_problem(rng, 4, 300, strings=True)
    pred = np.asarray(p.labels, dtype=object)[np.argmax(p.proba, axis=1)]
    metric = ClassificationMetrics()
    for part in (slice(0, 7), slice(7, 150), slice(150, 300)):
        metric.update(p.y[part], y_pred=pred[part])
    assert metric.labels == sorted(set(p.y) | set(pred))
    got = metric.compute()
    expected = azure_classification(p.y, None, metric.labels, None, y_pred=pred)
    assert_metrics_close(got, expected)
    reasons = metric.reasons()
    assert "y_proba" in reasons["AUC_macro"] and "y_proba" in reasons["log_loss"]
    assert reasons["AUC_binary"].startswith("binary only")


def test_without_labels_proba_columns_are_classes_0_to_c(rng):
    p = classification_problem(rng, 3, 200)
    metric = ClassificationMetrics()
    metric.update(p.y[:50], y_pred=p.y[:50])  # learns a subset first
    metric.update(p.y[50:], y_proba=p.proba[50:])
    assert metric.labels == [0, 1, 2]
    assert metric.compute()["n_scored" if False else "accuracy"] == pytest.approx(
        skm.accuracy_score(p.y, np.r_[p.y[:50], np.argmax(p.proba[50:], axis=1)])
    )
    assert np.isnan(metric.compute()["AUC_macro"])  # the first batch had no scores


def test_norm_macro_recall_waits_for_classes_to_appear():
    # Rows predicted as class 2 before class 2 is seen: Azure's arg-max over the
    # present classes sends them elsewhere until class 2 appears in y_true.
    proba = np.array([[0.3, 0.2, 0.5], [0.1, 0.4, 0.5], [0.6, 0.1, 0.3], [0.2, 0.7, 0.1]])
    y = np.array([0, 1, 0, 1])
    metric = ClassificationMetrics(labels=[0, 1, 2])
    metric.update(y[:2], y_proba=proba[:2])
    metric.update(y[2:], y_proba=proba[2:])
    assert metric.compute()["norm_macro_recall"] == pytest.approx(
        azure_classification(y, proba, [0, 1, 2])["norm_macro_recall"]
    )
    metric.update([2, 2], y_proba=[[0.1, 0.1, 0.8], [0.5, 0.2, 0.3]])
    y2 = np.r_[y, 2, 2]
    proba2 = np.r_[proba, [[0.1, 0.1, 0.8], [0.5, 0.2, 0.3]]]
    assert metric.compute()["norm_macro_recall"] == pytest.approx(
        azure_classification(y2, proba2, [0, 1, 2])["norm_macro_recall"]
    )


def test_absent_classes_follow_azure_not_scikit_learn_or_torchmetrics():
    # notes/engine.md §1.4: one class absent; Azure drops its column.
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.6, 0.3, 0.1], [0.4, 0.5, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1]])
    metric = ClassificationMetrics(labels=[0, 1, 2])
    metric.update(y, y_proba=proba)
    expected = skm.roc_auc_score(np.eye(3)[y][:, :2], proba[:, :2], average="macro")
    assert metric.compute()["AUC_macro"] == pytest.approx(expected, rel=1e-12)
    assert metric.compute()["balanced_accuracy"] == pytest.approx(
        skm.recall_score(y, np.argmax(proba, axis=1), average="macro", zero_division=0)
    )


def test_one_class_gives_nan_with_reason_and_no_warning():
    metric = ClassificationMetrics(labels=["a", "b", "c"])
    metric.update(["a", "a"], y_proba=[[0.9, 0.05, 0.05], [0.2, 0.7, 0.1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = metric.compute()
        reasons = metric.reasons()
        metric.curves()
        metric.per_class()
    assert np.isnan(values["AUC_macro"]) and "one class" in reasons["AUC_macro"]
    assert np.isnan(values["norm_macro_recall"]) and "two classes" in reasons["norm_macro_recall"]
    assert values["accuracy"] == 0.5


def test_no_samples_gives_all_nan_with_reason():
    metric = ClassificationMetrics(labels=[0, 1])
    assert all(np.isnan(v) for v in metric.compute().values())
    assert set(metric.reasons().values()) == {"no samples yet"}
    assert metric.most_confused() == [] and metric.most_common() == []


# ---------------------------------------------------------------- curves
def _on_curve(x, y, ref_x, ref_y, tol=1e-9):
    """Every point (x, y) is one of the reference points, to float rounding."""
    x, y = np.asarray(x)[:, None], np.asarray(y)[:, None]
    dist = np.abs(x - ref_x[None, :]) + np.abs(y - ref_y[None, :])
    return bool(np.all(dist.min(axis=1) < tol))


@pytest.mark.parametrize(
    ("n_classes", "options"), [(2, {"weights": True}), (4, {"ties": True}), (6, {"strings": True})]
)
def test_curves_are_scikit_learns_points_thinned(n_classes, options, rng):
    p = classification_problem(rng, n_classes, 5000, **options)
    metric = ClassificationMetrics(labels=p.labels)
    for part in np.array_split(np.arange(5000), 7):
        metric.update(
            p.y[part],
            y_proba=p.proba[part],
            sample_weight=None if p.weight is None else p.weight[part],
        )
    curves = metric.curves()
    for c, label in enumerate(p.labels):
        y_c = np.asarray(p.y) == label
        fpr, tpr, _ = skm.roc_curve(
            y_c, p.proba[:, c], sample_weight=p.weight, drop_intermediate=False
        )
        roc = curves["roc"][(curves["roc"].curve == "class") & (curves["roc"].label == label)]
        assert len(roc) <= 300
        assert _on_curve(roc.fpr, roc.tpr, fpr, tpr)
        assert (roc.fpr.iloc[0], roc.tpr.iloc[0]) == (0, 0)
        assert (roc.fpr.iloc[-1], roc.tpr.iloc[-1]) == (1, 1)
        exact = skm.auc(fpr, tpr)
        assert abs(np.trapezoid(roc.tpr, roc.fpr) - exact) < 5e-3
        prec, rec, _ = skm.precision_recall_curve(y_c, p.proba[:, c], sample_weight=p.weight)
        pr = curves["pr"][(curves["pr"].curve == "class") & (curves["pr"].label == label)]
        assert _on_curve(pr.recall, pr.precision, rec, prec)
        gains = curves["gains"][curves["gains"].label == label]
        assert gains.gain.iloc[-1] == pytest.approx(1.0) and gains.fraction.iloc[
            -1
        ] == pytest.approx(1.0)
        if p.weight is None:
            true_frac, mean_pred = calibration_curve(y_c, p.proba[:, c], n_bins=10)
            cal = curves["calibration"][
                (curves["calibration"].curve == "class") & (curves["calibration"].label == label)
            ]
            np.testing.assert_allclose(cal.fraction_positive, true_frac, rtol=1e-12)
            np.testing.assert_allclose(cal.mean_predicted, mean_pred, rtol=1e-12)
    micro = curves["roc"][curves["roc"].curve == "micro"]
    onehot = np.asarray(p.y)[:, None] == np.asarray(p.labels)[None, :]
    exact_micro = skm.roc_auc_score(onehot, p.proba, average="micro", sample_weight=p.weight)
    assert abs(np.trapezoid(micro.tpr, micro.fpr) - exact_micro) < 5e-3
    assert set(curves["roc"].curve) == {"class", "micro", "macro"}


def test_lift_is_gain_over_fraction(rng):
    p = classification_problem(rng, 3, 800)
    metric = ClassificationMetrics(labels=p.labels)
    metric.update(p.y, y_proba=p.proba)
    curves = metric.curves()
    for label in p.labels:
        y_c = np.asarray(p.y) == label
        order = np.argsort(-p.proba[:, list(p.labels).index(label)], kind="stable")
        top = max(1, len(order) // 10)
        lift_at_10 = y_c[order[:top]].mean() / y_c.mean()
        lift = curves["lift"][curves["lift"].label == label]
        nearest = lift.iloc[(lift.fraction - top / len(order)).abs().argmin()]
        assert nearest.lift == pytest.approx(lift_at_10, rel=0.15)


# ---------------------------------------------------------------- binned mode
@pytest.mark.parametrize("n_classes", [2, 5, 10])
def test_binned_areas_are_within_their_bound_of_exact(n_classes, rng):
    p = classification_problem(rng, n_classes, 20000, ties=n_classes == 5)
    exact, binned = (
        ClassificationMetrics(labels=p.labels),
        ClassificationMetrics(labels=p.labels, curve_bins=True),
    )
    for part in np.array_split(np.arange(20000), 4):
        exact.update(p.y[part], y_proba=p.proba[part])
        binned.update(p.y[part], y_proba=p.proba[part])
    want, got, bounds = exact.compute(), binned.compute(), binned.error_bounds()
    for name, bound in bounds.items():
        assert abs(got[name] - want[name]) <= bound + 1e-12, name
        if name.startswith("AUC"):
            assert bound < 1e-3, (name, bound)
    for name in CLASSIFICATION_METRICS:
        if not name.startswith(("AUC", "average_precision")):
            assert got[name] == pytest.approx(want[name], rel=1e-12, nan_ok=True), name
    assert all(v == 0 for v in exact.error_bounds().values())


def test_binned_memory_does_not_grow_with_samples(rng):
    metric = ClassificationMetrics(labels=list(range(4)), curve_bins=256)
    sizes, smallest_cell = [], []
    for _ in range(4):
        p = classification_problem(rng, 4, 5000)
        metric.update(p.y, y_proba=p.proba)
        sizes.append(sum(v.nbytes for v in metric.state_dict().values()))
        smallest_cell.append(metric.counts.min())
    # The per-cell sample reservoirs fill up to RESERVOIR ids each, then stay that size.
    assert smallest_cell[1] >= RESERVOIR
    assert sizes[1] == sizes[2] == sizes[3]


# ---------------------------------------------------------------- state
def test_state_dict_is_plain_arrays_and_round_trips(rng, tmp_path):
    p = classification_problem(rng, 4, 500, strings=True, weights=True)
    metric = ClassificationMetrics(labels=p.labels, positive_label=p.labels[2])
    metric.update(p.y, y_proba=p.proba, sample_weight=p.weight)
    state = metric.state_dict()
    for key, array in state.items():  # np.save refuses objects without pickle
        np.save(tmp_path / f"{key}.npy", array, allow_pickle=False)
    loaded = {k: np.load(tmp_path / f"{k}.npy", allow_pickle=False) for k in state}
    again = ClassificationMetrics.from_state_dict(loaded)
    assert_metrics_close(again.compute(), metric.compute(), rtol=0, atol=0)
    assert again.labels == p.labels


def test_same_data_gives_equal_states(rng):
    p = classification_problem(rng, 3, 400, ties=True, weights=True)

    def run(order, n_batches):
        metric = ClassificationMetrics(labels=p.labels)
        for part in np.array_split(order, n_batches):
            metric.update(
                p.y[part], y_proba=p.proba[part], sample_weight=p.weight[part], sample_ids=part
            )  # the default id is the position in the stream: name the rows to compare orders
        return metric.state_dict()

    first, again = run(np.arange(400), 5), run(np.arange(400), 5)
    assert first.keys() == again.keys()
    for key in first:  # same data, same batches: the very same arrays
        np.testing.assert_array_equal(first[key], again[key], err_msg=key)
    shuffled = run(rng.permutation(400), 3)
    for key in first:  # other batches: equal up to the order of float additions
        if key.startswith("nmr_pending"):
            continue  # rows kept in arrival order
        if first[key].dtype.kind == "f":
            np.testing.assert_allclose(first[key], shuffled[key], rtol=1e-12, err_msg=key)
        else:
            np.testing.assert_array_equal(first[key], shuffled[key], err_msg=key)


def test_merge_does_not_change_its_argument(rng):
    p = classification_problem(rng, 3, 200)
    left, right = ClassificationMetrics(), ClassificationMetrics()
    left.update(p.y[:100], y_pred=p.y[:100])
    right.update(p.y[100:], y_proba=p.proba[100:])
    before = right.state_dict()
    left.merge(right)
    after = right.state_dict()
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert left.compute()["accuracy"] == pytest.approx(
        skm.accuracy_score(p.y, np.r_[p.y[:100], np.argmax(p.proba[100:], axis=1)])
    )


def test_merge_refuses_unlike_metrics():
    with pytest.raises(ValueError, match="other"):
        ClassificationMetrics(labels=[0, 1]).merge(
            ClassificationMetrics(labels=[0, 1], curve_bins=64)
        )
    a, b = ClassificationMetrics(), ClassificationMetrics()
    a.update([0, 1], y_proba=[[0.5, 0.5], [0.2, 0.8]])
    b.update([0, 1, 2], y_proba=np.full((3, 3), 1 / 3))
    with pytest.raises(ValueError, match="columns"):
        a.merge(b)


def test_reset_forgets_everything(rng):
    p = classification_problem(rng, 3, 100)
    metric = ClassificationMetrics()
    fresh = metric.state_dict()
    metric.update(p.y, y_proba=p.proba)
    metric.reset()
    assert metric.labels == []
    after = metric.state_dict()
    assert fresh.keys() == after.keys() and all(np.array_equal(fresh[k], after[k]) for k in fresh)


# ---------------------------------------------------------------- inputs
def test_accepts_lists_series_categoricals_and_array_likes():
    pd = pytest.importorskip("pandas")
    y = pd.Series(pd.Categorical(["b", "a", "b", "c"]), index=[10, 3, 7, 1])
    pred = pd.Series(["b", "a", "c", "c"], index=[0, 1, 2, 3])

    class ArrayLike:  # what a torch tensor or a jax array looks like to numpy
        def __init__(self, values):
            self.values = np.asarray(values)

        def __array__(self, dtype=None, copy=None):
            return self.values

    metric = ClassificationMetrics()
    metric.update(y, y_pred=ArrayLike(pred.tolist()), sample_weight=[1, 1, 1, 1])
    assert metric.labels == ["a", "b", "c"]
    assert metric.compute()["accuracy"] == 0.75


def _bad_inputs():
    good = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    return [
        ({"y_true": [0, 1, 2], "y_proba": good}, "y_proba has 2 rows"),
        ({"y_true": [0, 1], "y_proba": good[:, :2] / good[:, :2].sum(1, keepdims=True)}, "columns"),
        (
            {"y_true": [0, 1], "y_proba": np.where(good == 0.7, np.nan, good)},
            "y_proba contains NaN",
        ),
        (
            {"y_true": [0, 1], "y_proba": np.where(good == 0.7, np.inf, good)},
            "y_proba contains NaN or inf",
        ),
        ({"y_true": [0, 1], "y_proba": good * 2}, "y_proba"),
        ({"y_true": [0, 1], "y_proba": good * 0.9}, "y_proba rows must sum to 1"),
        ({"y_true": [0, 7], "y_proba": good}, "y_true has label 7"),
        ({"y_true": [0, 1], "y_pred": [0, 9]}, "y_pred has label 9"),
        (
            {"y_true": [0, 1], "y_proba": good, "sample_weight": [1, -1]},
            "sample_weight contains negative",
        ),
        ({"y_true": [0, 1], "y_proba": good, "sample_weight": [1]}, "sample_weight has 1 rows"),
        ({"y_true": [0, 1], "y_proba": good[None]}, "y_proba must be 1-D or 2-D"),
        ({"y_true": [[0, 1], [1, 0]], "y_proba": good}, "y_true must be 1-D"),
        ({"y_true": [0, 1]}, "y_proba or y_pred"),
        ({"y_true": "01", "y_proba": good}, "y_true must be an array"),
        ({"y_true": [0, None], "y_proba": good}, "y_true contains None"),
        (
            {"y_true": [0, 1], "y_proba": [["a", "b", "c"], ["a", "b", "c"]]},
            "y_proba must hold numbers",
        ),
    ]


@pytest.mark.parametrize(("args", "message"), _bad_inputs())
def test_bad_input_is_refused_and_changes_nothing(args, message, rng):
    metric = ClassificationMetrics(labels=[0, 1, 2])
    p = classification_problem(rng, 3, 50)
    metric.update(p.y, y_proba=p.proba)
    before, values = metric.state_dict(), metric.compute()
    with pytest.raises(ValueError, match=message) as info:
        metric.update(**args)
    assert str(info.value).count(".") >= 1 and "\n" not in str(info.value)
    after = metric.state_dict()
    assert before.keys() == after.keys() and all(
        np.array_equal(before[k], after[k]) for k in before
    )
    assert_metrics_close(metric.compute(), values, rtol=0, atol=0)


def test_learned_labels_refuse_a_new_type_and_stay_unchanged():
    metric = ClassificationMetrics()
    metric.update(["a", "b"], y_pred=["a", "a"])
    with pytest.raises(ValueError, match="mix label types"):
        metric.update([1, 2], y_pred=[1, 1])
    assert metric.labels == ["a", "b"]


def test_empty_batch_is_a_no_op():
    metric = ClassificationMetrics(labels=[0, 1])
    before = metric.state_dict()
    metric.update([], y_proba=np.zeros((0, 2)))
    metric.update(np.array([], dtype=int), y_pred=[])
    after = metric.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": [0]}, "at least 2"),
        ({"labels": [0, 0, 1]}, "duplicates"),
        ({"labels": "ab"}, "labels must be a sequence"),
        ({"labels": [0, 1], "positive_label": 5}, "positive_label 5"),
        ({"curve_bins": 2}, "curve_bins"),
        ({"curve_bins": "many"}, "curve_bins"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClassificationMetrics(**kwargs)


def test_scores_are_never_down_cast():
    # Two scores equal in float32 but not in float64: a down-cast would tie them.
    high, low = 0.5 + 2e-9, 0.5 + 1e-9
    assert np.float32(high) == np.float32(low)
    y = np.array([1, 0, 1, 0])
    proba1 = np.array([high, low, 0.2, 0.7])
    metric = ClassificationMetrics(labels=[0, 1])
    metric.update(y, y_proba=proba1)
    # high beats low, nothing else wins: 1 of 4 pairs; tied in float32 it would be 0.5 of 4.
    assert metric.compute()["AUC_binary"] == skm.roc_auc_score(y, proba1) == 0.25
    tied = skm.roc_auc_score(y, proba1.astype(np.float32))
    assert tied == 0.125


def test_float32_scores_match_scikit_learn_on_float32(rng):
    p = classification_problem(rng, 4, 500, float32=True, ties=True)
    metric = ClassificationMetrics(labels=p.labels)
    metric.update(p.y, y_proba=p.proba)
    expected = azure_classification(p.y, p.proba, p.labels)
    assert_metrics_close(metric.compute(), expected, rtol=1e-6)


def test_bool_labels():
    metric = ClassificationMetrics(labels=[False, True])
    metric.update([True, False, True], y_proba=[0.9, 0.2, 0.4])
    assert metric.compute()["recall_score_binary"] == 0.5
    assert metric.most_confused() == [(True, False, 1)]


def _log_loss_problem(rng, dtype, n_classes, n, one_column=False):
    """Random probabilities at ``dtype`` with confident right and wrong rows and tiny scores."""
    y = rng.integers(0, n_classes, n)
    proba = rng.dirichlet(np.full(n_classes, 0.5), n)
    rows = rng.permutation(n)
    wrong, right, tiny = rows[: n // 8], rows[n // 8 : n // 4], rows[n // 4 : n // 3]
    proba[wrong] = np.eye(n_classes)[(y[wrong] + 1) % n_classes]  # p(true) = 0
    proba[right] = np.eye(n_classes)[y[right]]  # p(true) = 1
    proba[tiny] = np.eye(n_classes)[(y[tiny] + 1) % n_classes] * (1 - 1e-6)
    proba[tiny, y[tiny]] = 1e-6  # below float16's and float32's eps, above float64's
    proba = proba.astype(dtype)  # rows still sum to 1 within 5e-4 (relative rounding)
    if one_column:
        return y, proba[:, 1]
    return y, proba


@pytest.mark.parametrize("curve_bins", [None, 64])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_log_loss_clips_at_the_eps_of_the_input_dtype_as_scikit_learn(dtype, curve_bins, rng):
    eps = float(np.finfo(dtype).eps)
    for trial in range(30):
        n_classes = 2 if trial % 3 == 0 else int(rng.integers(3, 8))
        y, proba = _log_loss_problem(rng, dtype, n_classes, int(rng.integers(8, 300)),
                                     one_column=trial % 6 == 0)  # fmt: skip
        weight = rng.uniform(0, 3, y.size) if trial % 2 else None
        labels = list(range(n_classes))
        metric = ClassificationMetrics(labels=labels, curve_bins=curve_bins)
        metric.update(y, y_proba=proba, sample_weight=weight)
        got = metric.compute()["log_loss"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # float16 rows do not sum to 1 within sqrt(eps)
            expected = skm.log_loss(y, proba, labels=labels, sample_weight=weight)
            # scikit-learn's rule with its arithmetic in float64: clip at the input's eps.
            wide = proba.astype(np.float64)
            if wide.ndim == 1:
                wide = np.c_[1 - proba, proba].astype(np.float64)
            exact = skm.log_loss(
                y, np.clip(wide, eps, 1 - eps), labels=labels, sample_weight=weight
            )
        assert got == pytest.approx(exact, rel=1e-12)
        # scikit-learn computes the log at the input precision (float16: 3 digits).
        assert got == pytest.approx(
            expected, rel={np.float16: 2e-3, np.float32: 1e-6}.get(dtype, 1e-12)
        )


def test_a_confident_wrong_float16_prediction_scores_as_scikit_learn():
    proba = np.array([[1.0, 0.0]], dtype=np.float16)
    metric = ClassificationMetrics(labels=[0, 1])
    metric.update([1], y_proba=proba)
    # -log(eps16) = 6.93; widening to float32 first gave -log(eps32) = 15.9.
    assert metric.compute()["log_loss"] == pytest.approx(-math.log(2.0**-10), rel=1e-12)
    assert skm.log_loss([1], proba, labels=[0, 1]) == pytest.approx(6.93, abs=0.01)


def test_batches_of_different_dtypes_each_clip_at_their_own_eps(rng):
    labels = [0, 1, 2]
    parts = [_log_loss_problem(rng, dtype, 3, 60) for dtype in (np.float16, np.float64, np.float32)]
    streamed = ClassificationMetrics(labels=labels)
    merged = ClassificationMetrics(labels=labels)
    for y, proba in parts:
        streamed.update(y, y_proba=proba)
        one = ClassificationMetrics(labels=labels)
        one.update(y, y_proba=proba)
        merged.merge(one)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per_batch = [skm.log_loss(y, proba, labels=labels) for y, proba in parts]
    expected = np.average(per_batch, weights=[y.size for y, _ in parts])
    assert streamed.compute()["log_loss"] == pytest.approx(expected, rel=2e-3)
    assert merged.compute()["log_loss"] == streamed.compute()["log_loss"]


# ------------------------------------------ binned mode: large batches in slices
def _large_batch(rng, n: int, k: int):
    y = rng.integers(0, k, n)
    logits = rng.normal(0.0, 2.0, (n, k)).astype(np.float32)
    logits[np.arange(n), y] += 2.0
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    weight = rng.exponential(1.0, n)  # not whole numbers: float sums depend on their order
    attributes = {"size": rng.normal(size=n), "source": rng.choice(["a", "b", "c"], n)}
    return y, proba, weight, attributes


def test_binned_update_in_slices_equals_the_same_slices_fed_one_by_one(rng):
    # Issue 17: a binned update folds a large batch in slices of UPDATE_CHUNK_SCORES scores,
    # so its temporaries stay the size of a slice. The state is the one the same slices
    # give fed as separate updates, bit for bit (float sums included).
    import runwatch.metrics.classification as classification

    k = 10
    rows = classification.UPDATE_CHUNK_SCORES // k
    n = 3 * rows + rows // 2 + 1  # three full slices, a partial one
    y, proba, weight, attributes = _large_batch(rng, n, k)
    ids = np.arange(10_000, 10_000 + n)
    one = ClassificationMetrics(labels=list(range(k)), curve_bins=True)
    one.update(y, y_proba=proba, sample_weight=weight, sample_ids=ids, attributes=attributes)
    sliced = ClassificationMetrics(labels=list(range(k)), curve_bins=True)
    for start in range(0, n, rows):
        part = slice(start, start + rows)
        sliced.update(
            y[part], y_proba=proba[part], sample_weight=weight[part], sample_ids=ids[part],
            attributes={name: values[part] for name, values in attributes.items()},
        )  # fmt: skip
    assert_same_state(one.state_dict(), sliced.state_dict())
    assert_metrics_close(one.compute(), sliced.compute(), rtol=0, atol=0)


def test_binned_update_in_slices_equals_one_slice(monkeypatch, rng):
    # Against the update with no slicing at all: every count bit for bit, float sums
    # to their last bits (only their order of addition differs).
    import runwatch.metrics.classification as classification

    k = 7
    y, proba, weight, attributes = _large_batch(rng, 200_001, k)
    states = []
    for chunk in (classification.UPDATE_CHUNK_SCORES, 10**12):
        monkeypatch.setattr(classification, "UPDATE_CHUNK_SCORES", chunk)
        m = ClassificationMetrics(labels=list(range(k)), curve_bins=True)
        m.update(y, y_proba=proba, sample_weight=weight, attributes=attributes)
        m.update(y[:1000], y_proba=proba[:1000])  # unweighted: whole-number sums
        states.append((m.state_dict(), m.compute()))
    (chunked, values), (whole, want) = states
    assert chunked.keys() == whole.keys()
    for key in chunked:
        if chunked[key].dtype.kind == "f":
            np.testing.assert_allclose(chunked[key], whole[key], rtol=1e-12, atol=0, err_msg=key)
        else:
            assert np.array_equal(chunked[key], whole[key]), key
    assert_metrics_close(values, want, rtol=1e-12, atol=1e-15)


def test_binned_update_temporaries_do_not_grow_with_the_batch(rng):
    # A 1M x 10 float32 batch (40 MB) took 927 MB of temporaries (float64 logits, bin
    # indices, per-cell weights of the whole batch); sliced, they are a slice's.
    import tracemalloc

    k = 10
    y, proba, _, _ = _large_batch(rng, 1_000_000, k)
    m = ClassificationMetrics(labels=list(range(k)), curve_bins=True)
    m.update(y[:100], y_proba=proba[:100])
    tracemalloc.start()
    try:
        m.update(y, y_proba=proba)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2.5 * proba.nbytes, (
        f"{peak / 2**20:.0f} MB for a {proba.nbytes / 2**20:.0f} MB batch"
    )
