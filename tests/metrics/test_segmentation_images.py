"""Per-image attributes of semantic segmentation: scikit-learn per bucket, top losses, merges."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import confusion_matrix

from runwatch.metrics import SegmentationMetrics
from runwatch.metrics._samples import id_hash

from .conftest import assert_same_state, random_batches, through_npy
from .test_detection_images import _members

K, IGNORE = 4, 255


def _scene(rng, n=40):
    truth = rng.integers(0, K - 1, (n, 6, 7))  # class 3 is never true: predicted only
    noise = rng.random((n, 1, 1)) * 0.8  # some images much worse than others
    pred = np.where(rng.random(truth.shape) < noise, rng.integers(0, K, truth.shape), truth)
    truth[rng.random(truth.shape) < 0.05] = IGNORE
    truth[0] = IGNORE  # an image with no valid pixel
    attrs = {
        "noise": noise.ravel().round(1),
        "source": rng.choice(["web", "scan", "phone"], n),
        "blur": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
    }
    return truth, pred, attrs


def _feed(m, truth, pred, attrs, part, ids=None):
    m.update(truth[part], pred[part], sample_ids=None if ids is None else ids[part],
             attributes={k: v[part] for k, v in attrs.items()})  # fmt: skip


def _streamed(rng, truth, pred, attrs, ids=None):
    workers = [SegmentationMetrics(K, IGNORE) for _ in range(int(rng.integers(1, 4)))]
    for part in random_batches(rng, truth.shape[0]):
        _feed(workers[int(rng.integers(len(workers)))], truth, pred, attrs, part, ids)
    workers = [SegmentationMetrics.from_state_dict(through_npy(w.state_dict()))
               if rng.random() < 0.5 else w for w in workers]  # fmt: skip
    return workers[0].merge(*workers[1:])


def _sklearn(truth, pred):
    valid = truth != IGNORE
    if not valid.any():
        return np.full(K, np.nan), np.nan, np.nan
    cm = confusion_matrix(truth[valid], pred[valid], labels=list(range(K))).astype(float)
    diag, union = np.diag(cm), cm.sum(0) + cm.sum(1) - np.diag(cm)
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, diag / union, np.nan)
    mean = np.nanmean(iou) if (union > 0).any() else np.nan
    accuracy = diag.sum() / cm.sum() if cm.sum() else np.nan
    return iou, mean, accuracy


def test_each_bucket_equals_scikit_learn_on_its_pixels(rng):
    for _ in range(5):
        truth, pred, attrs = _scene(rng)
        ids = np.arange(truth.shape[0]) * 3 + 1
        m = _streamed(rng, truth, pred, attrs, ids)
        for name in attrs:
            table = m.by_attribute(name, bins=int(rng.integers(2, 6)), max_categories=2)
            covered = np.zeros(truth.shape[0], bool)
            for _, row in table.iterrows():
                inside = _members(table, row, attrs[name])
                covered |= inside
                assert row["count"] == inside.sum()
                iou, mean, accuracy = _sklearn(truth[inside], pred[inside])
                assert np.isclose(row["mean_iou"], mean, equal_nan=True)
                assert np.isclose(row["pixel_accuracy"], accuracy, equal_nan=True)
                got = row[[f"iou[{c}]" for c in range(K)]].to_numpy(float)
                assert np.allclose(got, iou, equal_nan=True)
                alone = SegmentationMetrics(K, IGNORE)
                if inside.any():
                    alone.update(truth[inside], pred[inside])
                    assert np.isclose(row["mean_iou"], alone.compute()["mean_iou"], equal_nan=True)
            assert covered.all()


def test_top_losses_and_importance_equal_a_direct_computation(rng):
    truth, pred, attrs = _scene(rng, n=60)
    ids = np.array([f"frame_{i:03d}" for i in range(60)])
    m = _streamed(rng, truth, pred, attrs, ids)
    per_image = [_sklearn(truth[i : i + 1], pred[i : i + 1]) for i in range(60)]
    loss = np.array([1 - p[1] for p in per_image])
    error = np.array([1 - p[2] for p in per_image])
    scored = ~np.isnan(loss)
    assert not scored[0]  # all pixels ignored: no loss, not in the table
    order = np.lexsort((ids[scored], id_hash(ids[scored]), -loss[scored]))
    top = m.top_losses(60)
    assert top["id"].tolist() == ids[scored][order].tolist()
    assert np.allclose(top["loss"], loss[scored][order])
    assert np.allclose(top["pixel_error"], error[scored][order])
    got = m.attribute_importance().set_index("attribute")
    x = attrs["noise"]
    assert np.isclose(got.loc["noise", "with_loss"], stats.spearmanr(x[scored], loss[scored])[0])
    assert np.isclose(got.loc["noise", "with_error"], stats.spearmanr(x[scored], error[scored])[0])
    assert got.loc["noise", "with_loss"] > 0.5  # noisier images are worse: the point of it
    b = attrs["blur"]
    ok = scored & ~np.isnan(b)
    assert np.isclose(got.loc["blur", "with_loss"], stats.spearmanr(b[ok], loss[ok])[0])


def test_streamed_merged_and_one_pass_hold_the_same_tables(rng):
    truth, pred, attrs = _scene(rng, n=50)
    one = SegmentationMetrics(K, IGNORE)
    _feed(one, truth, pred, attrs, slice(None))
    merged = _streamed(rng, truth, pred, attrs)
    back = SegmentationMetrics.from_state_dict(through_npy(one.state_dict()))
    assert_same_state(back.state_dict(), one.state_dict())
    for m in (merged, back):
        for name in attrs:
            assert one.by_attribute(name).equals(m.by_attribute(name))
        assert one.top_losses(10)["loss"].equals(m.top_losses(10)["loss"])
        assert np.array_equal(one.confusion_matrix(), m.confusion_matrix())


def test_a_two_d_mask_is_one_image_and_default_ids_run_on(rng):
    m = SegmentationMetrics(3)
    m.update([[0, 1], [2, 2]], [[0, 1], [2, 1]], attributes={"x": [1.0]})
    m.update(np.zeros((2, 2, 2), int), np.zeros((2, 2, 2), int), attributes={"x": [2.0, 3.0]})
    assert sorted(m.top_losses(5)["id"]) == [0, 1, 2]
    assert m.by_attribute("x", bins=[0, 1, 3])["count"].tolist() == [1, 2]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(sample_ids=[1]), "sample_ids has 1 ids but the batch has 2 images."),
        (dict(attributes={"x": [1.0]}), "attributes['x'] has 1 values but the batch has 2 images."),
        (dict(attributes=None), "attributes were given to earlier batches"),
    ],
)
def test_bad_ids_and_attributes_are_refused_by_name_and_change_nothing(change, message):
    m = SegmentationMetrics(3)
    m.update(np.zeros((2, 3, 3), int), np.ones((2, 3, 3), int), attributes={"x": [1.0, 2.0]})
    before = copy.deepcopy(m.state_dict())
    with pytest.raises(ValueError) as caught:
        m.update(np.zeros((2, 3, 3), int), np.ones((2, 3, 3), int),
                 **{"attributes": {"x": [1.0, 2.0]}, **change})  # fmt: skip
    assert message in str(caught.value)
    assert_same_state(m.state_dict(), before)


def test_a_state_stored_before_per_image_rows_opens():
    m = SegmentationMetrics(3)
    m.update(np.zeros((2, 3, 3), int), np.ones((2, 3, 3), int))
    old = {k: v for k, v in m.state_dict().items() if not k.startswith("images.")}
    back = SegmentationMetrics.from_state_dict(old)
    assert m.has_image_rows and not back.has_image_rows
    assert np.array_equal(back.confusion_matrix(), m.confusion_matrix())
    with pytest.raises(ValueError, match="^top_losses: this metric holds images stored before"):
        back.top_losses(3)
    empty = {k: v for k, v in SegmentationMetrics(3).state_dict().items()
             if not k.startswith("images.")}  # fmt: skip
    fresh = SegmentationMetrics.from_state_dict(empty)
    assert fresh.has_image_rows  # an empty state lacks no row
    fresh.update(np.zeros((1, 2, 2), int), np.zeros((1, 2, 2), int))
    assert fresh.top_losses(3)["id"].tolist() == [0]


def test_default_ids_of_merged_states_are_one_pass_running_indices(rng):
    truth, pred, attrs = _scene(rng, n=12)
    one = SegmentationMetrics(K, IGNORE)
    _feed(one, truth, pred, attrs, slice(None))
    halves = [SegmentationMetrics(K, IGNORE) for _ in range(2)]
    _feed(halves[0], truth, pred, attrs, slice(0, 5))
    _feed(halves[1], truth, pred, attrs, slice(5, None))
    second = SegmentationMetrics.from_state_dict(through_npy(halves[1].state_dict()))
    assert_same_state(halves[0].merge(second).state_dict(), one.state_dict())
