"""SegmentationMetrics against scikit-learn on the valid pixels, streamed and merged."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from runwatch.metrics.segmentation import SEGMENTATION_METRICS, SegmentationMetrics

from .conftest import assert_metrics_close, assert_same_state, stream_and_merge, through_npy


def oracle(gt: np.ndarray, pred: np.ndarray, k: int, ignore=None) -> dict:
    gt, pred = np.asarray(gt).ravel(), np.asarray(pred).ravel()
    if ignore is not None:
        keep = gt != ignore
        gt, pred = gt[keep], pred[keep]
    if gt.size == 0:
        return dict.fromkeys(SEGMENTATION_METRICS, float("nan"))
    seen = np.unique(np.concatenate([gt, pred]))  # the classes with a non-empty union
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "mean_iou": skm.jaccard_score(gt, pred, labels=seen, average="macro"),
            "frequency_weighted_iou": skm.jaccard_score(gt, pred, labels=seen, average="weighted"),
            "pixel_accuracy": skm.accuracy_score(gt, pred),
            "mean_pixel_accuracy": skm.balanced_accuracy_score(gt, pred),
        }


def random_masks(rng, k, shape, ignore=None, skew=False):
    p = rng.dirichlet(np.ones(k) * (0.3 if skew else 3.0))
    gt = rng.choice(k, size=shape, p=p)
    pred = np.where(rng.random(shape) < rng.uniform(0.3, 0.95), gt, rng.integers(0, k, shape))
    if ignore is not None:
        gt = np.where(rng.random(shape) < 0.1, ignore, gt)
    return gt, pred


@pytest.mark.parametrize("ignore", [None, 255, 0, -1])
def test_equals_sklearn_on_random_problems_streamed_and_merged(ignore, rng):
    for trial in range(25):
        k = int(rng.integers(1, 12))
        shape = (int(rng.integers(1, 6)), int(rng.integers(1, 20)), int(rng.integers(1, 20)))
        gt, pred = random_masks(rng, k, shape, ignore, skew=trial % 2 == 0)

        def feed(metric, part, gt=gt, pred=pred):  # a run of whole images, (n, h, w)
            metric.update(gt[part], pred[part])

        m = stream_and_merge(
            lambda k=k: SegmentationMetrics(k, ignore_index=ignore), feed, shape[0], rng
        )
        assert list(m.compute()) == list(SEGMENTATION_METRICS)
        assert_metrics_close(m.compute(), oracle(gt, pred, k, ignore), rtol=1e-12, atol=1e-15)
        assert int(m.confmat.sum()) == int(np.sum(gt != ignore)) if ignore is not None else gt.size
        keep = gt.ravel() != ignore if ignore is not None else np.ones(gt.size, bool)
        g, q = gt.ravel()[keep], pred.ravel()[keep]
        if g.size:
            jac = skm.jaccard_score(g, q, labels=range(k), average=None, zero_division=0)
            union = np.array([np.sum((g == c) | (q == c)) for c in range(k)])
            assert np.allclose(
                m.per_class()["iou"], np.where(union > 0, jac, np.nan), equal_nan=True, rtol=1e-12
            )


def test_confusion_matrix_equals_sklearn_and_normalises(rng):
    gt, pred = random_masks(rng, 5, (4, 32, 32), ignore=255)
    m = SegmentationMetrics(5, ignore_index=255, labels=["sky", "road", "car", "tree", "person"])
    m.update(gt, pred)  # a whole batch at once, (n, h, w)
    keep = gt != 255
    want = skm.confusion_matrix(gt[keep], pred[keep], labels=range(5))
    frame = m.confusion_matrix()
    assert frame.index.tolist() == ["sky", "road", "car", "tree", "person"]
    assert frame.index.name == "true" and frame.columns.name == "predicted"
    assert np.array_equal(frame.to_numpy(), want)
    assert np.allclose(
        m.confusion_matrix("true").to_numpy(),
        skm.confusion_matrix(gt[keep], pred[keep], labels=range(5), normalize="true"),
    )
    assert m.confusion_matrix("all").to_numpy().sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="normalize"):
        m.confusion_matrix("rows")
    assert m.per_class().loc["car", "support"] == np.sum(gt[keep] == 2)


def test_edges():
    m = SegmentationMetrics(3, ignore_index=255)
    assert all(math.isnan(v) for v in m.compute().values())
    assert set(m.reasons()) == set(SEGMENTATION_METRICS)
    m.update(np.full((4, 4), 255), np.zeros((4, 4), int))
    assert "ignore_index" in m.reasons()["mean_iou"]
    m.update(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8))
    assert m.compute() == {
        "mean_iou": 1.0,
        "frequency_weighted_iou": 1.0,
        "pixel_accuracy": 1.0,
        "mean_pixel_accuracy": 1.0,
    }
    assert np.isnan(m.per_class()["iou"].iloc[1])  # never true nor predicted
    m.update(np.zeros((0, 4), int), np.zeros((0, 4), int))  # empty batch: no-op
    m.update(np.array([[1.0, 2.0]]), np.array([[1.0, 1.0]]))  # whole floats are fine
    assert int(m.confmat.sum()) == 6


def test_bad_input_names_the_argument_and_changes_nothing():
    m = SegmentationMetrics(4, ignore_index=255)
    m.update([[0, 1], [2, 3]], [[0, 1], [3, 3]])
    before = m.state_dict()
    bad = [
        (np.zeros((2, 2), int), np.zeros((2, 3), int), "mask_pred"),
        (np.zeros((2, 2)) + 0.5, np.zeros((2, 2), int), "mask_true"),
        (np.array([[0, np.nan]]), np.zeros((1, 2), int), "mask_true"),
        (np.array([[0, 4]]), np.zeros((1, 2), int), "mask_true"),
        (np.array([[0, -1]]), np.zeros((1, 2), int), "mask_true"),
        (np.zeros((1, 2), int), np.array([[0, 7]]), "mask_pred"),
        (np.zeros((1, 2), int), np.array([["a", "b"]]), "mask_pred"),
        ("0101", np.zeros(4, int), "mask_true"),
    ]
    for gt, pred, name in bad:
        with pytest.raises(ValueError, match=name):
            m.update(gt, pred)
    assert_same_state(before, m.state_dict())
    m.update(np.array([[255, 1]]), np.array([[255, 1]]))  # predictions at ignored pixels: any value
    assert int(m.n_ignored) == 1


def test_constructor_checks():
    for args, kwargs in (
        ((0,), {}),
        (("3",), {}),
        ((True,), {}),
        ((3,), {"ignore_index": 1.5}),
        ((3,), {"labels": ["a", "b"]}),
        ((3,), {"labels": "abc"}),
    ):
        with pytest.raises(ValueError):
            SegmentationMetrics(*args, **kwargs)


def test_state_dict_round_trip_and_merge_rules(rng):
    gt, pred = random_masks(rng, 6, (3, 16, 16), ignore=-1)
    m = SegmentationMetrics(6, ignore_index=-1, labels=list("abcdef"))
    m.update(gt, pred)
    back = SegmentationMetrics.from_state_dict(through_npy(m.state_dict()))
    assert back.compute() == m.compute() and back.labels == list("abcdef")
    assert repr(back) == repr(m)
    with pytest.raises(ValueError, match="other"):
        m.merge(SegmentationMetrics(6, ignore_index=255, labels=list("abcdef")))
    other = SegmentationMetrics(6, ignore_index=-1, labels=list("abcdef"))
    other.update(gt[:1], pred[:1])
    saved = other.state_dict()
    m.merge(other)
    assert_same_state(saved, other.state_dict())


@settings(max_examples=50, deadline=None)
@given(
    k=st.integers(1, 6),
    masks=st.lists(
        st.lists(st.tuples(st.integers(0, 6), st.integers(0, 5)), min_size=0, max_size=30),
        min_size=1,
        max_size=5,
    ),
)
def test_merge_of_any_split_equals_one_pass(k, masks):
    one = SegmentationMetrics(k, ignore_index=6)
    parts = []
    all_gt, all_pred = [], []
    for mask in masks:
        gt = np.array([min(g, 6) if g == 6 else g % k for g, _ in mask], np.int64)
        pred = np.array([q % k for _, q in mask], np.int64)
        one.update(gt, pred)
        part = SegmentationMetrics(k, ignore_index=6)
        part.update(gt, pred)
        parts.append(part)
        all_gt.append(gt)
        all_pred.append(pred)
    merged = parts[0].merge(*parts[1:])
    assert np.array_equal(merged.confmat, one.confmat)
    assert_metrics_close(merged.compute(), one.compute(), rtol=0, atol=1e-15)
    all_masks = np.concatenate(all_gt), np.concatenate(all_pred)
    assert_metrics_close(one.compute(), oracle(*all_masks, k, 6), rtol=1e-12, atol=1e-15)


def test_memory_independent_of_pixels(rng):
    # The pixel matrix, plus per image its id, whether the id is its running index (a byte)
    # and 3 x K counts (for by_attribute, top_losses).
    sizes = []
    for side in (16, 256):
        m = SegmentationMetrics(19, ignore_index=255)
        gt, pred = random_masks(rng, 19, (2, side, side), ignore=255)
        m.update(gt, pred)
        size = sum(a.nbytes for a in m.state_dict().values())
        m.update(gt, pred)
        sizes.append((size, sum(a.nbytes for a in m.state_dict().values())))
    assert sizes[0] == sizes[1]
    assert sizes[0][1] - sizes[0][0] == 2 * (8 + 1 + 3 * 19 * 8)
    assert sizes[0][0] < 5000


@pytest.mark.parametrize("ignore", [None, 255])
def test_y_proba_scores_as_its_arg_max_equal_sklearn(ignore, rng):
    for _ in range(15):
        k = int(rng.integers(1, 7))
        one = rng.random() < 0.3
        shape = (int(rng.integers(1, 12)), int(rng.integers(1, 12)))
        if not one:
            shape = (int(rng.integers(1, 4)), *shape)
        gt, _ = random_masks(rng, k, shape, ignore)
        axis = 0 if one else 1
        logits = rng.normal(size=(*shape[:axis], k, *shape[axis:]))
        logits[..., : shape[-1] // 2] = np.round(logits[..., : shape[-1] // 2])  # ties
        pred = np.argmax(logits, axis=axis)  # ties: the first class, as numpy's arg-max
        m = SegmentationMetrics(k, ignore_index=ignore)
        m.update(gt, y_proba=logits)
        assert_metrics_close(m.compute(), oracle(gt, pred, k, ignore), atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y_proba": np.ones((2, 3, 3))}, r"y_proba has shape \(2, 3, 3\) but mask_true of shape"),
        ({"y_proba": np.ones((3, 3, 3))}, r"and 3 classes need \(3, 2, 3\)"),
        ({"y_proba": np.array([[["a"]]])}, "y_proba must hold numbers"),
        ({"y_proba": np.full((3, 2, 3), np.inf)}, "y_proba contains NaN or infinite values"),
        ({}, "give one of mask_pred and y_proba"),
        ({"mask_pred": np.zeros((2, 3), int), "y_proba": np.ones((3, 2, 3))}, "give one of"),
    ],
)
def test_bad_y_proba_names_the_argument_and_changes_nothing(kwargs, message):
    m = SegmentationMetrics(3)
    m.update([[0, 1, 2], [2, 1, 0]], [[0, 1, 1], [2, 1, 0]])
    before = m.state_dict()
    with pytest.raises(ValueError, match=message):
        m.update(np.zeros((2, 3), int), **kwargs)
    assert_same_state(before, m.state_dict())
