"""Per-image attributes of detection runs: pycocotools per bucket, samples, top losses, merges."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy import stats

from runwatch.metrics import DetectionMetrics, InstanceSegmentationMetrics
from runwatch.metrics._samples import id_hash

from .conftest import assert_same_state, random_batches, through_npy
from .test_detection import coco_eval, coco_stats, random_scene
from .test_samples import _bottom_k

KINDS = ("plain", "crowd", "ties", "area")


def _scene(rng, kind, n_images=None):
    images = random_scene(rng, kind, n_images=n_images or int(rng.integers(20, 60)))
    ids = rng.permutation(10_000)[: len(images)] + 1
    brightness = rng.uniform(0, 1, len(images)).round(2)  # ties between images
    brightness[rng.random(len(images)) < 0.1] = np.nan
    source = rng.choice(["web", "scan", "phone"], len(images), p=[0.5, 0.3, 0.2])
    objects = np.array([len(im["true_labels"]) for im in images], np.float64)
    attrs = {"brightness": brightness, "source": source, "objects": objects}
    return images, ids, attrs


def _dicts(images, ids):
    preds, targets = [], []
    for image, image_id in zip(images, ids):
        preds.append({"boxes": image["pred_boxes"], "scores": image["pred_scores"],
                      "labels": image["pred_labels"]})  # fmt: skip
        t = {"boxes": image["true_boxes"], "labels": image["true_labels"],
             "iscrowd": image["true_iscrowd"], "image_id": int(image_id)}  # fmt: skip
        if image["true_area"] is not None:
            t["area"] = image["true_area"]
        targets.append(t)
    return preds, targets


def _feed(m, images, ids, attrs, part, sample_ids=None):
    preds, targets = _dicts(images[part], ids[part])
    given = None if sample_ids is None else sample_ids[part]
    m.update_batch(preds, targets, sample_ids=given,
                   attributes={k: v[part] for k, v in attrs.items()})  # fmt: skip


def _streamed(rng, images, ids, attrs, labels, sample_ids=None):
    workers = [DetectionMetrics(labels=labels) for _ in range(int(rng.integers(1, 4)))]
    order = rng.permutation(len(images))
    shuffled = [images[i] for i in order]
    for part in random_batches(rng, len(images)):
        w = workers[int(rng.integers(len(workers)))]
        _feed(w, np.array(shuffled, dtype=object), ids[order],
              {k: v[order] for k, v in attrs.items()}, part,
              None if sample_ids is None else sample_ids[order])  # fmt: skip
    workers = [DetectionMetrics.from_state_dict(through_npy(w.state_dict())) if rng.random() < 0.5
               else w for w in workers]  # fmt: skip
    return workers[0].merge(*workers[1:])


def _members(table, row, values):
    """The images of a bucket, from the reported edges (or the category)."""
    if np.isnan(row["lo"]) and row["bucket"] != "(missing)":
        if row["bucket"] == "(other)":
            named = set(table["bucket"]) - {"(other)"}
            return ~np.isin(values, list(named))
        return values == row["bucket"]
    if row["bucket"] == "(missing)":
        return np.isnan(values)
    first = row.name == 0
    low = values >= row["lo"] if first else values > row["lo"]
    return low & (values <= row["hi"])


def _one_image_counts(image, labels):
    m = DetectionMetrics(labels=labels)
    m.update(**{k: v for k, v in image.items() if v is not None})
    t = m.per_class()
    return int(t["tp"].sum()), int(t["fp"].sum()), int(t["fn"].sum()), m.confusion_matrix()


@pytest.mark.parametrize("kind", KINDS)
def test_each_bucket_equals_pycocotools_on_its_images(rng, kind):
    for _ in range(3):
        images, ids, attrs = _scene(rng, kind)
        labels = list(range(5))
        m = _streamed(rng, images, ids, attrs, labels)
        assert m.n_images == len(images)
        for name in attrs:
            table = m.by_attribute(name, bins=int(rng.integers(2, 6)), max_categories=2)
            covered = np.zeros(len(images), bool)
            for _, row in table.iterrows():
                inside = _members(table, row, attrs[name])
                assert not (covered & inside).any()
                covered |= inside
                chosen = np.flatnonzero(inside)
                assert row["count"] == chosen.size
                if chosen.size:
                    ev = coco_eval([images[i] for i in chosen], ids[chosen], labels)
                    want = coco_stats(ev)
                else:
                    want = {"mAP": np.nan, "mAP_50": np.nan}
                for stat in ("mAP", "mAP_50"):
                    assert np.isclose(row[stat], want[stat], rtol=1e-9, atol=1e-12,
                                      equal_nan=True), (name, row["bucket"], stat)  # fmt: skip
                tp, fp, fn = (sum(_one_image_counts(images[i], labels)[j] for i in chosen)
                              for j in range(3))  # fmt: skip
                assert (row["tp"], row["fp"], row["fn"]) == (tp, fp, fn)
                assert row["precision"] == (tp / (tp + fp) if tp + fp else 0.0)
                assert row["recall"] == (tp / (tp + fn) if tp + fn else 0.0)
                assert np.isclose(row["f1"], 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0)
            assert covered.all()


def _direct_loss(images, labels):
    out = []
    for image in images:
        tp, fp, fn, _ = _one_image_counts(image, labels)
        out.append(1 - 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return np.array(out)


def test_top_losses_and_importance_equal_a_direct_computation(rng):
    images, ids, attrs = _scene(rng, "plain", n_images=80)
    labels = list(range(5))
    m = _streamed(rng, images, ids, attrs, labels)
    loss = _direct_loss(images, labels)
    hashes = id_hash(ids.astype(np.int64))
    order = np.lexsort((ids, hashes, -loss))
    top = m.top_losses(15)
    assert top["id"].tolist() == ids[order[:15]].tolist()
    assert np.allclose(top["loss"], loss[order[:15]])
    wrong = np.array([sum(_one_image_counts(im, labels)[1:3]) > 0 for im in images], float)
    got = m.attribute_importance().set_index("attribute")
    b = attrs["brightness"]
    ok = ~np.isnan(b)
    assert np.isclose(got.loc["brightness", "with_loss"], stats.spearmanr(b[ok], loss[ok])[0])
    assert np.isclose(got.loc["brightness", "with_error"], stats.spearmanr(b[ok], wrong[ok])[0])
    assert np.isclose(got.loc["objects", "with_loss"], stats.spearmanr(attrs["objects"], loss)[0])
    # The correlation ratio of the loss over the sources, from its definition.
    src = attrs["source"]
    groups = [loss[src == s] for s in np.unique(src)]
    between = sum(g.size * (g.mean() - loss.mean()) ** 2 for g in groups)
    eta = np.sqrt(between / ((loss - loss.mean()) ** 2).sum())
    assert np.isclose(got.loc["source", "with_loss"], eta)
    assert got.loc["source", "measure"] == "correlation ratio"
    strength = np.nan_to_num(got["with_error"].abs().to_numpy(), nan=-1)
    assert np.all(np.diff(strength) <= 1e-12)


def test_samples_are_the_cells_images_bottom_k_as_the_reservoir(rng):
    images, ids, attrs = _scene(rng, "plain", n_images=120)
    labels = list(range(3))
    for image in images:  # few classes: full cells, well over k
        image["pred_labels"] = image["pred_labels"] % 3
        image["true_labels"] = image["true_labels"] % 3
    names = [f"img_{i:05d}.png" for i in ids]
    m = _streamed(rng, images, ids, attrs, labels, sample_ids=np.array(names))
    cells: dict[tuple, list[str]] = {}
    for image, name in zip(images, names):
        cm = _one_image_counts(image, labels)[3]
        for t in cm.index:
            for p in cm.columns:
                if cm.loc[t, p] > 0:
                    cells.setdefault((t, p), []).append(name)
    assert ("background", 0) in cells and (0, "background") in cells
    for (t, p), members in cells.items():
        for k in (5, 50):
            got = m.samples(t, p, k=k)
            if len(members) <= k:
                assert got == sorted(members)
            else:  # the reservoir's rule: the k smallest seeded hashes, tested uniform there
                assert got == _bottom_k(np.array(members), k, seed=0)
    assert m.samples("background", "background", k=5) == []


def test_streamed_merged_and_one_pass_hold_the_same_tables(rng):
    images, ids, attrs = _scene(rng, "crowd", n_images=70)
    labels = list(range(5))
    one = DetectionMetrics(labels=labels)
    _feed(one, np.array(images, dtype=object), ids, attrs, slice(None))
    merged = _streamed(rng, images, ids, attrs, labels)
    halves = [DetectionMetrics(labels=labels) for _ in range(2)]
    _feed(halves[0], np.array(images, dtype=object), ids, attrs, slice(0, 35))
    _feed(halves[1], np.array(images, dtype=object), ids, attrs, slice(35, None))
    halves[0].merge(halves[1])
    for m in (merged, halves[0], DetectionMetrics.from_state_dict(through_npy(one.state_dict()))):
        for name in attrs:
            a, b = one.by_attribute(name), m.by_attribute(name)
            assert a.drop(columns=["mAP", "mAP_50"]).equals(b.drop(columns=["mAP", "mAP_50"]))
            assert np.allclose(a[["mAP", "mAP_50"]], b[["mAP", "mAP_50"]], equal_nan=True)
        assert one.top_losses(30).equals(m.top_losses(30))
        a, b = one.attribute_importance(), m.attribute_importance()
        assert np.allclose(a.iloc[:, 3:], b.iloc[:, 3:], equal_nan=True)
        for cell in ((0, 0), ("background", 1), (2, "background")):
            assert one.samples(*cell, k=7) == m.samples(*cell, k=7)


def test_default_ids_are_image_ids_or_the_running_index_and_labels_can_grow(rng):
    images, ids, attrs = _scene(rng, "plain", n_images=6)
    m = DetectionMetrics()  # labels learned: the classes grow as images arrive
    preds, targets = _dicts(images, ids)
    del targets[1]["image_id"]
    m.update_batch(preds[:3], targets[:3], attributes={k: v[:3] for k, v in attrs.items()})
    m.update_batch(preds[3:], targets[3:], attributes={k: v[3:] for k, v in attrs.items()})
    top = set(m.top_losses(6)["id"])
    assert top == {*ids[[0, 2, 3, 4, 5]].tolist(), 1}
    fresh = DetectionMetrics(labels=m.labels)
    fresh.update_batch(preds, [{**t, "image_id": i} for t, i in zip(targets, range(6))],
                       attributes=attrs)  # fmt: skip
    assert np.allclose(m.by_attribute("source")["mAP"], fresh.by_attribute("source")["mAP"],
                       equal_nan=True)  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(sample_ids=[1, 2]), "sample_ids has 2 ids but the batch has 3 images."),
        (dict(attributes={"brightness": [0.1, 0.2]}), "attributes['brightness'] has 2 values"),
        (dict(attributes={"brightness": ["a", "b", "c"]}), "['brightness'] holds strings"),
        (dict(attributes=None), "attributes were given to earlier batches"),
        (dict(attributes={"other": [1, 2, 3]}), "attributes gives ['other']"),
        (dict(sample_ids=["a", "b", "c"]), "sample_ids are strings"),
    ],
)
def test_bad_ids_and_attributes_are_refused_by_name_and_change_nothing(rng, change, message):
    images, ids, attrs = _scene(rng, "plain", n_images=6)
    m = DetectionMetrics(labels=list(range(5)))
    preds, targets = _dicts(images, ids)
    m.update_batch(preds[:3], targets[:3], attributes={"brightness": attrs["brightness"][:3]})
    before = copy.deepcopy(m.state_dict())
    kwargs = {"attributes": {"brightness": attrs["brightness"][3:]}, **change}
    with pytest.raises(ValueError) as caught:
        m.update_batch(preds[3:], targets[3:], **kwargs)
    assert message in str(caught.value)
    assert_same_state(m.state_dict(), before)


def test_merging_states_with_other_attributes_is_refused():
    a, b = DetectionMetrics(labels=[0]), DetectionMetrics(labels=[0])
    image = ({"boxes": [[0, 0, 5, 5]], "scores": [0.9], "labels": [0]},
             {"boxes": [[0, 0, 5, 5]], "labels": [0]})  # fmt: skip
    a.update_batch([image[0]], [{**image[1], "image_id": 1}], attributes={"x": [1.0]})
    b.update_batch([image[0]], [{**image[1], "image_id": 2}], attributes={"y": [1.0]})
    before = a.state_dict()
    with pytest.raises(ValueError, match="^other has the attributes"):
        a.merge(b)
    assert_same_state(a.state_dict(), before)


def test_a_state_stored_before_per_image_rows_opens_and_says_what_it_lacks(rng):
    images, ids, attrs = _scene(rng, "plain", n_images=8)
    m = DetectionMetrics(labels=list(range(5)))
    _feed(m, np.array(images, dtype=object), ids, attrs, slice(None))
    old = {k: v for k, v in m.state_dict().items() if not k.startswith("images.")}
    back = DetectionMetrics.from_state_dict(old)
    assert m.has_image_rows and not back.has_image_rows
    assert back.compute() == pytest.approx(m.compute(), nan_ok=True)
    with pytest.raises(ValueError, match="^by_attribute: this metric holds images stored before"):
        back.by_attribute("source")
    assert "images.ids" not in back.state_dict()  # it does not pretend to know them


def test_instance_segmentation_buckets_equal_a_metric_of_the_buckets_images(rng):
    def masks(n):
        out = np.zeros((n, 16, 16), bool)
        for j in range(n):
            x, y = rng.integers(0, 10, 2)
            out[j, y : y + int(rng.integers(2, 7)), x : x + int(rng.integers(2, 7))] = True
        return out

    preds, targets, source = [], [], []
    for i in range(30):
        n_gt, n_det = int(rng.integers(0, 4)), int(rng.integers(0, 4))
        gt = masks(n_gt)
        det = np.concatenate([gt[: min(n_gt, n_det)], masks(max(0, n_det - n_gt))])
        preds.append({"masks": det, "scores": rng.random(det.shape[0]),
                      "labels": rng.integers(0, 2, det.shape[0])})  # fmt: skip
        targets.append({"masks": gt, "labels": rng.integers(0, 2, n_gt), "image_id": i})
        source.append("a" if rng.random() < 0.5 else "b")
    m = InstanceSegmentationMetrics(labels=[0, 1])
    m.update_batch(preds[:10], targets[:10], attributes={"source": source[:10]})
    m.update_batch(preds[10:], targets[10:], attributes={"source": source[10:]})
    table = m.by_attribute("source").set_index("bucket")
    for s in ("a", "b"):
        mine = [i for i in range(30) if source[i] == s]
        alone = InstanceSegmentationMetrics(labels=[0, 1])
        alone.update_batch([preds[i] for i in mine], [targets[i] for i in mine])
        assert np.isclose(table.loc[s, "mAP"], alone.compute()["mAP"], equal_nan=True)
        assert table.loc[s, "count"] == len(mine)


def test_default_ids_of_merged_states_are_one_pass_running_indices(rng):
    images, ids, attrs = _scene(rng, "plain", n_images=10)
    preds, targets = _dicts(images, ids)
    for t in targets[::2]:
        del t["image_id"]  # these default to their running index
    one = DetectionMetrics(labels=list(range(5)))
    one.update_batch(preds, targets, attributes=attrs)
    a, b = DetectionMetrics(labels=list(range(5))), DetectionMetrics(labels=list(range(5)))
    a.update_batch(preds[:4], targets[:4], attributes={k: v[:4] for k, v in attrs.items()})
    b.update_batch(preds[4:], targets[4:], attributes={k: v[4:] for k, v in attrs.items()})
    a.merge(b)
    assert sorted(a.top_losses(10)["id"]) == sorted(one.top_losses(10)["id"])
    assert sorted(a.top_losses(10)["id"]) == sorted([*range(0, 10, 2), *ids[1::2].tolist()])
