"""Counts at a score threshold, against scikit-learn, pycocotools and a fresh engine."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score

from runwatch.metrics import ClassificationMetrics, DetectionMetrics
from runwatch.metrics._thresholds import boundaries

from .conftest import classification_problem, stream_and_merge
from .test_detection import brute_confusion, coco_eval, coco_table, feed, labels_of, random_scene

PROBLEMS = [
    {"n_classes": 2},
    {"n_classes": 2, "strings": True, "weights": True},
    {"n_classes": 2, "ties": True, "imbalanced": True},
    {"n_classes": 2, "float32": True},
    {"n_classes": 4, "ties": True, "weights": True},
    {"n_classes": 5, "strings": True, "absent": 1, "imbalanced": True},
]


def engine(problem, rng, **kwargs):
    make = lambda: ClassificationMetrics(**problem.kwargs, **kwargs)  # noqa: E731
    w = problem.weight

    def feed_part(m, part):
        m.update(problem.y[part], y_proba=problem.proba[part],
                 sample_weight=None if w is None else w[part])  # fmt: skip

    return stream_and_merge(make, feed_part, problem.y.size, rng)


def oracle(problem, positive, t):
    """scikit-learn on ``positive`` against the rest, predicted where its column is >= t."""
    column = problem.labels.index(positive)
    truth = problem.y == positive
    pred = problem.proba[:, column] >= t
    cm = confusion_matrix(truth, pred, labels=[True, False], sample_weight=problem.weight)
    kw = {"sample_weight": problem.weight, "zero_division": 0}
    return cm, [f(truth, pred, **kw) for f in (precision_score, recall_score, f1_score)]


def thresholds_to_try(problem, rng, column):
    scores = problem.proba[:, column].astype(np.float64)
    return np.r_[0.0, 1.0, 0.5, rng.choice(scores, 8), rng.random(5)]


@pytest.mark.parametrize("case", range(len(PROBLEMS)))
def test_exact_at_threshold_equals_scikit_learn(case, rng):
    for _ in range(3):
        problem = classification_problem(rng, n=int(rng.integers(20, 300)), **PROBLEMS[case])
        m = engine(problem, rng)
        binary = len(problem.labels) == 2
        positives = [None] if binary else problem.labels
        for positive in positives:
            label = problem.labels[1] if positive is None else positive
            for t in thresholds_to_try(problem, rng, problem.labels.index(label)):
                got = m.at_threshold(float(t), positive=positive)
                cm, (precision, recall, f1) = oracle(problem, label, t)
                assert got["threshold"] == t and got["bound"] == 0
                assert (got["tp"], got["fn"], got["fp"], got["tn"]) == pytest.approx(
                    cm.ravel().tolist(), abs=1e-9
                )
                matrix = got["matrix"]
                assert matrix.loc[label, label] == pytest.approx(cm[0, 0], abs=1e-9)
                if binary:  # the labels in their order, as confusion_matrix(y, y_pred) gives
                    other = problem.labels[0]
                    assert matrix.index.tolist() == problem.labels
                    assert matrix.loc[other, label] == pytest.approx(cm[1, 0], abs=1e-9)
                    assert matrix.loc[label, other] == pytest.approx(cm[0, 1], abs=1e-9)
                else:
                    assert matrix.index.tolist() == [label, "(rest)"]
                    assert matrix.loc["(rest)", label] == pytest.approx(cm[1, 0], abs=1e-9)
                assert got["precision"] == pytest.approx(precision, abs=1e-12)
                assert got["recall"] == pytest.approx(recall, abs=1e-12)
                assert got["f1"] == pytest.approx(f1, abs=1e-12)
                if problem.weight is None:
                    assert matrix.to_numpy().dtype.kind == "i"


def test_a_one_column_y_proba_is_the_positive_class(rng):
    y = rng.integers(0, 2, 200)
    p = np.clip(y * 0.3 + rng.random(200) * 0.7, 0, 1)
    m = ClassificationMetrics(labels=["no", "yes"])
    m.update(np.where(y == 1, "yes", "no"), y_proba=p)
    for t in (0.0, 0.31, float(p[7]), 0.99):
        got = m.at_threshold(t)
        cm = confusion_matrix(y, (p >= t).astype(int), labels=[0, 1])
        np.testing.assert_array_equal(got["matrix"].to_numpy(), cm)


@pytest.mark.parametrize("case", [0, 1, 4])
def test_binned_is_exact_at_the_boundary_it_reports_within_its_bound(case, rng):
    problem = classification_problem(rng, n=500, **PROBLEMS[case])
    m = engine(problem, rng, curve_bins=64)
    label = problem.labels[1]
    column = problem.labels.index(label)
    edges = boundaries(m._scores)
    # scores exactly on the rounded edges, which the binning may put on either side
    on_edge = m._scores.lower_edges[[3, 17, 31, 32, 50]]
    rest = np.delete(problem.proba[:5], column, axis=1)
    rest *= ((1 - on_edge) / rest.sum(axis=1))[:, None]
    problem.proba[:5] = np.insert(rest, column, on_edge, axis=1)
    m = engine(problem, rng, curve_bins=64)
    for t in np.r_[thresholds_to_try(problem, rng, column), m._scores.lower_edges[[3, 17, 32]]]:
        got = m.at_threshold(float(t), positive=label)
        used = got["threshold"]
        assert used <= t and used in edges
        cm, _ = oracle(problem, label, used)
        assert (got["tp"], got["fn"], got["fp"], got["tn"]) == pytest.approx(
            cm.ravel().tolist(), abs=1e-9
        )
        at_t, _ = oracle(problem, label, t)
        assert np.abs(at_t - cm).max() <= got["bound"] + 1e-9
        if used == t:
            assert got["bound"] == 0


@pytest.mark.parametrize("binned", [False, True])
def test_threshold_table_is_exact_at_every_point_it_keeps(binned, rng):
    problem = classification_problem(rng, n=3000, n_classes=3, ties=True, weights=True)
    m = engine(problem, rng, curve_bins=256 if binned else None)
    for label in problem.labels:
        table = m.threshold_table(positive=label, max_points=201)
        t = table["threshold"]
        assert t.size <= 201 and np.all(np.diff(t) > 0)
        if not binned:  # the 0.01 grid is kept as it is
            assert np.isin(np.round(np.linspace(0, 1, 101), 12), np.round(t, 12)).all()
        column = problem.labels.index(label)
        truth = problem.y == label
        w = problem.weight
        for i in range(t.size):
            above = problem.proba[:, column] >= t[i]
            assert table["tp"][i] == pytest.approx(w[above & truth].sum(), abs=1e-9)
            assert table["fp"][i] == pytest.approx(w[above & ~truth].sum(), abs=1e-9)
        assert table["positives"] == pytest.approx(w[truth].sum())
        assert table["negatives"] == pytest.approx(w[~truth].sum())
    assert m.threshold_table(positive=label, max_points=31)["threshold"].size <= 31
    default = m.threshold_table(positive=label)["threshold"]  # 110 points shared by 3 classes
    assert default.size <= 36
    if not binned:
        assert np.isin(np.round(np.linspace(0, 1, 11), 12), np.round(default, 12)).all()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.at_threshold("0.5"), "threshold must be a number from 0 to 1"),
        (lambda m: m.at_threshold(float("nan")), "threshold must be a number from 0 to 1"),
        (lambda m: m.at_threshold(1.5), "threshold must be a number from 0 to 1"),
        (lambda m: m.at_threshold(True), "threshold must be a number from 0 to 1"),
        (lambda m: m.at_threshold(0.5, positive="owl"), "positive 'owl' is not one of"),
        (lambda m: m.threshold_table(positive="owl"), "positive 'owl' is not one of"),
    ],
)
def test_bad_threshold_or_positive_names_it_and_changes_nothing(call, message, rng):
    problem = classification_problem(rng, n=100, n_classes=2, strings=True)
    m = ClassificationMetrics(labels=problem.labels)
    m.update(problem.y, y_proba=problem.proba)
    before = m.state_dict()
    with pytest.raises(ValueError, match=message):
        call(m)
    after = m.state_dict()
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_multiclass_needs_a_positive_and_labels_only_batches_have_no_threshold(rng):
    problem = classification_problem(rng, n=100, n_classes=3)
    m = ClassificationMetrics(labels=problem.labels)
    m.update(problem.y, y_proba=problem.proba)
    with pytest.raises(ValueError, match="positive must name the class"):
        m.at_threshold(0.5)
    m.update(problem.y, y_pred=problem.y)
    with pytest.raises(ValueError, match="needs y_proba for every batch; 100 of 200"):
        m.at_threshold(0.5, positive=0)


# ------------------------------------------------------------------ detection
@pytest.mark.parametrize("kind", ["random", "ties", "crowd", "overlaps", "grid"])
def test_detection_at_threshold_equals_a_fresh_engine_at_that_threshold(kind, rng):
    for _ in range(3):
        images = random_scene(rng, kind, n_classes=3)
        labels = labels_of(images)
        ids = np.arange(len(images))
        m = feed(images, ids, rng, DetectionMetrics)
        scores = np.concatenate([im["pred_scores"] for im in images]).astype(np.float64)
        ev = coco_eval(images, ids, labels)
        for t in np.r_[0.0, 0.5, 1.0, rng.choice(scores, min(6, scores.size)), rng.random(3)]:
            got = m.at_threshold(float(t))
            fresh = feed(images, ids, rng, lambda t=t: DetectionMetrics(score_threshold=t))
            np.testing.assert_array_equal(
                got["confusion_matrix"].to_numpy(), fresh.confusion_matrix().to_numpy()
            )
            np.testing.assert_array_equal(
                got["confusion_matrix"].to_numpy(), brute_confusion(images, labels, t)
            )
            want = fresh.per_class()
            table = got["per_class"]
            for column in ("precision", "recall", "f1", "tp", "fp", "fn", "support"):
                np.testing.assert_array_equal(table[column], want[column])
            tp, fp, *_ = coco_table(ev, labels, t)
            np.testing.assert_array_equal(table["tp"], tp)
            np.testing.assert_array_equal(table["fp"], fp)


def test_detection_threshold_table_sums_to_the_matrix_and_table_at_each_grid_point(rng):
    images = random_scene(rng, "crowd", n_images=20, n_classes=4)
    labels = labels_of(images)
    m = feed(images, np.arange(20), rng, DetectionMetrics)
    table = m.threshold_table()
    k = len(labels)
    grid = table["threshold"]
    assert grid.size == 101 and grid[0] == 0 and grid[-1] == 1
    cells = table["cells"]
    for i in range(0, grid.size, 7):
        want = m.at_threshold(float(grid[i]))
        matrix = np.zeros((k + 1, k + 1), np.int64)
        use = cells[:, 2] >= i
        np.add.at(matrix, (cells[use, 0], cells[use, 1]), cells[use, 3])
        matrix[:k, k] = table["n_true"] - matrix[:k, :k].sum(axis=1)
        np.testing.assert_array_equal(matrix, want["confusion_matrix"].to_numpy())
        np.testing.assert_array_equal(table["tp"][:, i], want["per_class"]["tp"])
        np.testing.assert_array_equal(table["fp"][:, i], want["per_class"]["fp"])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_iou = table["iou_sum"][:, i] / table["tp"][:, i]
        np.testing.assert_allclose(mean_iou, want["per_class"]["mean_iou"], rtol=1e-12)
    np.testing.assert_array_equal(table["support"], m.per_class()["support"])


def test_detection_scores_outside_zero_one_get_a_grid_over_their_range(rng):
    images = random_scene(rng, "random", n_images=8, n_classes=2)
    for image in images:
        image["pred_scores"] = image["pred_scores"] * 20 - 5
    m = feed(images, np.arange(8), rng, DetectionMetrics)
    grid = m.threshold_table()["threshold"]
    scores = np.concatenate([im["pred_scores"] for im in images])
    assert grid[0] == scores.min() and grid[-1] == pytest.approx(scores.max())
    np.testing.assert_array_equal(
        m.at_threshold(-5.0)["confusion_matrix"].to_numpy(),
        brute_confusion(images, labels_of(images), -5.0),
    )


@pytest.mark.parametrize("bad", ["0.5", float("nan"), float("inf"), None, True])
def test_detection_bad_threshold_names_it_and_changes_nothing(bad, rng):
    images = random_scene(rng, "random", n_images=4, n_classes=2)
    m = feed(images, np.arange(4), rng, DetectionMetrics)
    before = m.state_dict()
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        m.at_threshold(bad)
    after = m.state_dict()
    assert all(
        np.array_equal(before[k], after[k], equal_nan=before[k].dtype.kind == "f") for k in before
    )


def test_detection_state_keeps_four_bytes_more_per_detection(rng):
    images = random_scene(rng, "random", n_images=10, n_classes=3)
    m = feed(images, np.arange(10), rng, DetectionMetrics)
    state = m.state_dict()
    n = state["det_label"].size
    assert state["det_cm_true"].shape == (n,) and state["det_cm_true"].dtype == np.int32


def test_a_detection_state_stored_before_the_confusion_rows_still_opens(rng):
    images = random_scene(rng, "crowd", n_images=12, n_classes=3)
    m = feed(images, np.arange(12), rng, DetectionMetrics)
    old = {k: v for k, v in m.state_dict().items() if k != "det_cm_true"}  # as stored before
    loaded = DetectionMetrics.from_state_dict(old)
    assert loaded.compute() == pytest.approx(m.compute(), nan_ok=True)
    np.testing.assert_array_equal(
        loaded.confusion_matrix().to_numpy(), m.confusion_matrix().to_numpy()
    )
    before = loaded.state_dict()
    with pytest.raises(ValueError, match="^threshold: .*stored before"):
        loaded.at_threshold(0.3)
    with pytest.raises(ValueError, match="^threshold: "):
        loaded.threshold_table()
    assert all(
        np.array_equal(before[k], v, equal_nan=v.dtype.kind == "f")
        for k, v in loaded.state_dict().items()
    )
    # Merged with new detections, the old ones keep the matrix unknown away from its threshold.
    more = random_scene(rng, "random", n_images=3, n_classes=3)
    loaded.merge(feed(more, np.arange(100, 103), rng, DetectionMetrics))
    with pytest.raises(ValueError, match="^threshold: "):
        loaded.at_threshold(0.3)
