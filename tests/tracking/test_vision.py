"""Vision runs: detection, instance segmentation and (semantic) segmentation, end to end.

Each task as a run does what a classification run does: metrics equal to the
oracle (pycocotools, scikit-learn), ``run.best()``, losses and logged
metrics, states reopened in a new process, export/import byte-identical,
states of two processes merged equal to one pass, and bad input refused in one
sentence naming the argument with the store unchanged.
"""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, jaccard_score

import runwatch as rw
from runwatch.metrics import DetectionMetrics, InstanceSegmentationMetrics, SegmentationMetrics
from runwatch.tracking import import_json, open_run

from ..metrics.test_detection import coco_eval, coco_stats, random_scene
from ..metrics.test_instance_segmentation import coco_eval_segm, random_mask_scene
from .conftest import run_child, store_dump

SEG_LABELS = ["sky", "road", "car", "person"]


# ------------------------------------------------------------------- data
def detection_batches(rng, n_batches=3):
    """(preds, targets) lists of dicts, torchmetrics' format, with image ids."""
    out, next_id = [], 1
    for _ in range(n_batches):
        images = random_scene(rng, "crowd", n_images=int(rng.integers(2, 7)), n_classes=3)
        preds = [
            {"boxes": im["pred_boxes"], "scores": im["pred_scores"], "labels": im["pred_labels"]}
            for im in images
        ]
        targets = []
        for im in images:
            targets.append(
                {"boxes": im["true_boxes"], "labels": im["true_labels"],
                 "iscrowd": im["true_iscrowd"], "image_id": next_id}
            )  # fmt: skip
            next_id += 1
        out.append((preds, targets))
    return out


def instance_batches(rng, n_batches=3):
    """(preds, targets) with masks, half of the batches as COCO RLE dicts."""
    from ..metrics.test_instance_segmentation import encode

    out, next_id = [], 1
    for b in range(n_batches):
        images = random_mask_scene(rng, "crowd", n_images=int(rng.integers(2, 6)))
        preds, targets = [], []
        for im in images:
            rle = b % 2 == 1
            pm, tm = im["pred_masks"], im["true_masks"]
            preds.append(
                {"masks": encode(pm) if rle and len(pm) else pm,
                 "scores": im["pred_scores"], "labels": im["pred_labels"]}
            )  # fmt: skip
            targets.append(
                {"masks": encode(tm) if rle and len(tm) else tm, "labels": im["true_labels"],
                 "iscrowd": im["true_iscrowd"], "image_id": next_id}
            )  # fmt: skip
            next_id += 1
        out.append((preds, targets))
    return out


def segmentation_batches(rng, n_batches=3, noise=0.3):
    """(mask_true, kwargs) with 255 as void; kwargs hold mask_pred or y_proba (N, C, H, W)."""
    out = []
    for b in range(n_batches):
        shape = (int(rng.integers(1, 4)), 12, 9) if b != 1 else (12, 9)
        truth = rng.integers(0, 3, shape)  # class 3 ("person") never appears: a gap
        truth[rng.random(shape) < 0.1] = 255
        pred = np.where(rng.random(shape) < noise, rng.integers(0, 4, shape), truth)
        pred[truth == 255] = rng.integers(0, 4, int((truth == 255).sum()))
        if b == 2:
            axis = 0 if truth.ndim == 2 else 1
            proba = rng.random((*shape[:axis], 4, *shape[axis:])) * 0.5
            np.put_along_axis(proba, np.expand_dims(pred, axis), 1.0, axis=axis)
            out.append((truth, {"y_proba": proba}))
        else:
            out.append((truth, {"mask_pred": pred}))
    return out


TASKS = ("detection", "instance_segmentation", "segmentation")


def make_batches(task, seed):
    rng = np.random.default_rng(seed)
    return {
        "detection": detection_batches,
        "instance_segmentation": instance_batches,
        "segmentation": segmentation_batches,
    }[task](rng)


def new_run(task, name, db):
    if task == "segmentation":
        return rw.Run(name, task=task, labels=SEG_LABELS, metric_options={"ignore_index": 255},
                      store=db)  # fmt: skip
    return rw.Run(name, task=task, store=db)


def feed(it, task, batches, split="validation"):
    for first, second in batches:
        if task == "segmentation":
            it.update(split, first, **second)
        else:
            it.update(split, first, second)


def images_of(batches):
    """The detection batches as the metrics tests' image dicts and their ids."""
    images, ids = [], []
    for preds, targets in batches:
        for p, t in zip(preds, targets):
            images.append(
                {"pred_boxes": p["boxes"], "pred_scores": p["scores"], "pred_labels": p["labels"],
                 "true_boxes": t["boxes"], "true_labels": t["labels"],
                 "true_iscrowd": t["iscrowd"], "true_area": None}
            )  # fmt: skip
            ids.append(t["image_id"])
    return images, ids


def oracle(task, batches):
    """Detection's 12 COCO stats from pycocotools, or segmentation's metrics from scikit-learn."""
    if task == "detection":
        images, ids = images_of(batches)
        labels = sorted({int(v) for im in images for k in ("pred_labels", "true_labels")
                         for v in im[k]})  # fmt: skip
        return coco_stats(coco_eval(images, ids, labels))
    truth = np.concatenate([t.ravel() for t, _ in batches])
    pred = np.concatenate(
        [
            (kw["mask_pred"] if "mask_pred" in kw else kw["y_proba"].argmax(axis=-3)).ravel()
            for _, kw in batches
        ]
    )
    keep = truth != 255
    truth, pred = truth[keep], pred[keep]
    cm = confusion_matrix(truth, pred, labels=range(4))
    return {
        "mean_iou": jaccard_score(truth, pred, average="macro"),
        "frequency_weighted_iou": jaccard_score(truth, pred, average="weighted"),
        "pixel_accuracy": float(np.trace(cm) / cm.sum()),
    }


def assert_same_metrics(got, want):
    for name, value in want.items():
        if math.isnan(value):
            assert math.isnan(got[name]), name
        else:
            assert got[name] == pytest.approx(value, abs=1e-12), name


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize(
    ("task", "primary"),
    [("detection", "mAP"), ("instance_segmentation", "mAP"), ("segmentation", "mean_iou")],
)
def test_default_primary_metric_and_goal(task, primary, db):
    run = new_run(task, "r", db)
    assert (run.task, run.primary_metric, run.goal) == (task, primary, "maximize")


def test_a_detection_run_equals_pycocotools_and_picks_the_best(db):
    good = make_batches("detection", 1)
    run = new_run("detection", "det", db)
    with run.iteration("good", params={"lr": 0.1}) as it:
        for step, (preds, targets) in enumerate(good):
            it.update("validation", preds, targets)
            it.log_loss(1.0 / (step + 1), step=step)
        it.log_metric("lr", 0.1)
    worse = [([{**p, "scores": p["scores"][::-1].copy()} for p in preds], targets)
             for preds, targets in good]  # fmt: skip
    with run.iteration("shuffled-scores") as it2:
        feed(it2, "detection", worse)
    assert_same_metrics(it.metrics("validation"), oracle("detection", good))
    assert_same_metrics(it2.metrics("validation"), oracle("detection", worse))
    best = max((it, it2), key=lambda i: i.metrics("validation")["mAP"])
    assert run.best().id == best.id
    assert list(it.losses()["value"]) == [1.0, 0.5, pytest.approx(1 / 3)]
    assert list(it.logged_metrics()["value"]) == [0.1]
    n_images = sum(len(t) for _, t in good)
    stats = it.dataset_stats("validation")
    assert stats["n_samples"] == n_images
    objects = np.concatenate([t["labels"] for _, ts in good for t in ts])
    values, counts = np.unique(objects, return_counts=True)
    assert stats["class_counts"] == dict(zip(values.tolist(), counts.tolist()))


def test_an_instance_segmentation_run_equals_pycocotools_segm(db):
    rng = np.random.default_rng(5)
    images = random_mask_scene(rng, "crowd", n_images=8)
    ids = list(range(1, len(images) + 1))
    preds = [{"masks": im["pred_masks"], "scores": im["pred_scores"], "labels": im["pred_labels"]}
             for im in images]  # fmt: skip
    targets = [{"masks": im["true_masks"], "labels": im["true_labels"],
                "iscrowd": im["true_iscrowd"], "image_id": i}
               for im, i in zip(images, ids)]  # fmt: skip
    run = new_run("instance_segmentation", "inst", db)
    with run.iteration("maskrcnn") as it:
        it.update("validation", preds[:3], targets[:3])
        it.update("validation", preds=preds[3:], targets=targets[3:])
    ev, _ = coco_eval_segm(images, ids)
    assert_same_metrics(it.metrics("validation"), coco_stats(ev))
    assert run.best().id == it.id
    assert it.dataset_stats("validation")["n_samples"] == len(images)


def test_a_segmentation_run_equals_scikit_learn_with_ignore_index_and_y_proba(db):
    batches = make_batches("segmentation", 2)
    run = new_run("segmentation", "seg", db)
    assert run.metric_options == {"ignore_index": 255}
    with run.iteration("unet") as it:
        feed(it, "segmentation", batches)
    assert_same_metrics(it.metrics("validation"), oracle("segmentation", batches))
    expected_masks = sum(1 if t.ndim == 2 else len(t) for t, _ in batches)
    assert it.dataset_stats("validation")["n_samples"] == expected_masks
    assert it.engine("validation").per_class().index.tolist() == SEG_LABELS


@pytest.mark.parametrize("task", TASKS)
def test_states_reopened_in_a_new_process_compute_the_same(task, db):
    batches = make_batches(task, 3)
    run = new_run(task, "r", db)
    with run.iteration("it") as it:
        feed(it, task, batches)
        it.log_loss(0.5)
    here = it.engine("validation").compute()
    out = run_child(
        """
        import json, sys
        from runwatch.tracking import open_run
        run = open_run("r", sys.argv[1])
        it = run.get("it")
        print(json.dumps([it.engine("validation").compute(), it.metrics("validation"),
                          run.best().name, run.primary_metric, list(it.losses()["value"])]))
        """,
        db,
    ).stdout
    there, stored, best, primary, losses = json.loads(out.replace("NaN", "null"))
    for name, value in here.items():
        if math.isnan(value):
            assert there[name] is None and stored[name] is None, name
        else:
            assert there[name] == value and stored[name] == value, name
    assert (best, primary, losses) == ("it", run.primary_metric, [0.5])


@pytest.mark.parametrize("task", TASKS)
def test_export_import_export_is_byte_identical(task, db, tmp_path):
    run = new_run(task, "r", db)
    for k in range(2):
        with run.iteration(f"epoch-{k}", params={"epoch": k}) as it:
            feed(it, task, make_batches(task, 10 + k))
            feed(it, task, make_batches(task, 20 + k)[:1], split="train")
            it.log_loss(1.0 / (k + 1), step=k)
            it.log_metric("lr", 0.01)
    path = tmp_path / "run.json"
    run.export_json(path)
    imported = import_json(path, str(tmp_path / "other.db"))
    assert imported.task == task and imported.metric_options == run.metric_options
    again = tmp_path / "again.json"
    imported.export_json(again)
    assert again.read_bytes() == path.read_bytes()
    a, b = run.get("epoch-1"), imported.get("epoch-1")
    assert_same_metrics(b.engine("validation").compute(), a.metrics("validation"))
    assert imported.best().name == run.best().name


CHILD_LOGS = """
import pickle, sys
import runwatch as rw
task, store, name, path = sys.argv[1:]
with open(path, "rb") as f:
    batches = pickle.load(f)
seg = {"labels": LABELS, "metric_options": {"ignore_index": 255}}
options = seg if task == "segmentation" else {}
run = rw.Run("shared", task=task, store=store, **options)
with run.iteration(name) as it:
    for first, second in batches:
        if task == "segmentation":
            it.update("validation", first, **second)
        else:
            it.update("validation", first, second)
""".replace("LABELS", repr(SEG_LABELS))


@pytest.mark.parametrize("task", TASKS)
def test_states_of_two_processes_merge_to_one_pass(task, db, tmp_path):
    batches = make_batches(task, 4) + make_batches(task, 5)
    if task != "segmentation":  # image ids must not repeat across the two halves
        for offset, (_, targets) in enumerate(batches[3:]):
            for t in targets:
                t["image_id"] += 1000 * (offset + 1)
    halves = {"shard-0": batches[:3], "shard-1": batches[3:]}
    for name, part in halves.items():
        path = tmp_path / f"{name}.pkl"
        path.write_bytes(pickle.dumps(part))
        run_child(CHILD_LOGS, task, db, name, str(path), timeout=120)
    run = open_run("shared", db)
    merged = run.get("shard-0").engine("validation").merge(run.get("shard-1").engine("validation"))
    one = new_run(task, "one-pass", db)
    with one.iteration("all") as it:
        feed(it, task, batches)
    want = it.engine("validation")
    got_state, want_state = merged.state_dict(), want.state_dict()
    assert got_state.keys() == want_state.keys()
    if task == "segmentation":
        for key in got_state:
            np.testing.assert_array_equal(got_state[key], want_state[key], err_msg=key)
    assert_same_metrics(merged.compute(), want.compute())


# ---------------------------------------------------------------- bad input
def snapshot(db):
    """Every row of every table of the store."""
    return store_dump(db)


def _det():
    return (
        [{"boxes": [[0, 0, 10, 10]], "scores": [0.9], "labels": [1]}],
        [{"boxes": [[1, 0, 10, 10]], "labels": [1]}],
    )


def _inst():
    m = np.zeros((1, 6, 6), bool)
    m[0, 1:4, 1:5] = True
    return [{"masks": m, "scores": [0.9], "labels": [1]}], [{"masks": m.copy(), "labels": [1]}]


BAD = [
    ("detection", lambda p, t: ([{"box": [[0, 0, 1, 1]], **p[0]}], [{"labels": [1]}]),
     r"targets\[0\] has no 'boxes' entry"),
    ("detection", lambda p, t: ([{**p[0], "boxes": [[0, 0, 1, 1, 1]]}], t),
     r"preds\[0\]\['boxes'\] must have shape \(n, 4\)"),
    ("detection", lambda p, t: ([{**p[0], "boxes": [[0, math.nan, 1, 1]]}], t),
     r"preds\[0\]\['boxes'\] contains NaN"),
    ("detection", lambda p, t: (p, [{**t[0], "labels": [7]}]),
     r"targets\[0\]\['labels'\] has label 7, which is not one of labels"),
    ("detection", lambda p, t: (p, t + t), "preds has 1 images but targets has 2"),
    ("instance_segmentation", lambda p, t: (p, [{**t[0], "masks": np.zeros((1, 5, 6), bool)}]),
     r"preds\[0\]\['masks'\] has masks of size 6x6 but the image's other masks are 5x6"),
    ("instance_segmentation",
     lambda p, t: ([{**p[0], "masks": [{"size": [6, 6], "counts": [1]}]}], t),
     r"preds\[0\]\['masks'\]\[0\]\['counts'\] covers 1 pixels"),
    ("instance_segmentation", lambda p, t: (p, [{"boxes": [[0, 0, 1, 1]], "labels": [1]}]),
     r"targets\[0\] has no 'masks' entry"),
]  # fmt: skip


@pytest.mark.parametrize(("task", "change", "message"), BAD)
def test_bad_vision_batches_are_refused_and_the_store_is_unchanged(task, change, message, db):
    run = rw.Run("r", task=task, labels=[1, 2], store=db)
    good = _det() if task == "detection" else _inst()
    with run.iteration("it") as it:
        it.update("validation", *good)
        run.flush()
        before, metrics = snapshot(db), it.metrics("validation")
        with pytest.raises(ValueError, match=message):
            it.update("validation", *change(*good))
        run.flush()
        assert snapshot(db) == before
        assert repr(it.metrics("validation")) == repr(metrics)  # NaN-aware, exact


SEG_BAD = [
    (lambda t, p: ((t, p[:, :2]), {}),
     r"mask_pred has shape \(3, 2\) but mask_true has shape \(3, 3\)"),
    (lambda t, p: ((t, p + 4), {}), r"mask_pred has value 4, not a class index 0..3"),
    (lambda t, p: ((t + 5, p), {}),
     r"mask_true has value 5, not a class index 0..3 or ignore_index"),
    (lambda t, p: ((t,), {"y_proba": np.ones((2, 3, 3))}),
     r"y_proba has shape \(2, 3, 3\) but mask_true of shape \(3, 3\) and 4 classes need "
     r"\(4, 3, 3\)"),
    (lambda t, p: ((t,), {"y_proba": np.full((4, 3, 3), math.nan)}), "y_proba contains NaN"),
    (lambda t, p: ((t, p), {"y_proba": np.ones((4, 3, 3))}), "give one of mask_pred and y_proba"),
    (lambda t, p: ((t, p), {"sample_weight": [1]}), "sample_weight is not used by Segmentation"),
    (lambda t, p: ((t, p, p, p), {}), "the arguments after split must fit SegmentationMetrics"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "message"), SEG_BAD)
def test_bad_segmentation_batches_are_refused_and_the_store_is_unchanged(change, message, db):
    run = new_run("segmentation", "seg", db)
    truth = np.array([[0, 1, 255], [2, 2, 1], [0, 0, 0]])
    pred = np.array([[0, 1, 3], [2, 1, 1], [0, 0, 1]])
    with run.iteration("it") as it:
        it.update("validation", truth, pred)
        run.flush()
        before, metrics = snapshot(db), it.metrics("validation")
        args, kwargs = change(truth, pred)
        with pytest.raises(ValueError, match=message):
            it.update("validation", *args, **kwargs)
        run.flush()
        assert snapshot(db) == before
        assert repr(it.metrics("validation")) == repr(metrics)  # NaN-aware, exact


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "segmentation"}, "labels must name the classes of a segmentation run"),
        ({"task": "segmentation", "labels": [0, 1], "metric_options": {"ignore": 255}},
         "metric_options has 'ignore', which SegmentationMetrics does not take"),
        ({"task": "segmentation", "labels": [0, 1], "metric_options": {"ignore_index": 0.5}},
         "ignore_index must be an int or None"),
        ({"task": "detection", "metric_options": {"score_threshold": "high"}}, "score_threshold"),
        ({"task": "detection", "metric_options": ["iou"]}, "metric_options must be a dict"),
        ({"task": "instance_segmentation", "labels": ["a"], "metric_options": {"labels": ["b"]}},
         "metric_options has 'labels'"),
        ({"task": "panoptic"}, "task must be one of"),
    ],
)  # fmt: skip
def test_bad_vision_runs_are_refused_and_nothing_is_stored(kwargs, message, db):
    rw.Run("existing", store=db)
    before = snapshot(db)
    with pytest.raises(ValueError, match=message):
        rw.Run("new", store=db, **kwargs)
    assert snapshot(db) == before


def test_reopening_with_other_metric_options_is_refused(db):
    new_run("segmentation", "seg", db)
    with pytest.raises(ValueError, match="metric_options is .* but run 'seg' already exists"):
        rw.Run("seg", metric_options={"ignore_index": 0}, store=db)
    assert rw.Run("seg", store=db).metric_options == {"ignore_index": 255}


def test_an_engine_with_metric_options_scores_with_them(db):
    run = rw.Run("det", task="detection", metric_options={"score_threshold": 0.95}, store=db)
    with run.iteration("it") as it:
        it.update("validation", *_det())
    engine = it.engine("validation")
    assert isinstance(engine, DetectionMetrics) and engine._score_threshold == 0.95
    assert engine.per_class()["tp"].sum() == 0  # the one detection scores 0.9 < 0.95


@pytest.mark.parametrize(
    ("task", "cls"),
    [("instance_segmentation", InstanceSegmentationMetrics), ("segmentation", SegmentationMetrics)],
)
def test_each_task_keeps_its_engine(task, cls, db):
    run = new_run(task, "r", db)
    with run.iteration("it") as it:
        feed(it, task, make_batches(task, 6)[:1])
    assert type(it.engine("validation")) is cls
