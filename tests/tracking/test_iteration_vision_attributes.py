"""``Iteration.update`` of vision runs with per-image ``sample_ids`` and ``attributes``."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

from runwatch.tracking import Run, import_json, open_run

from .conftest import run_child


def _images(rng: np.random.Generator, n: int, first: int) -> tuple[list, list]:
    preds, targets = [], []
    for i in range(n):
        m = int(rng.integers(0, 4))
        corner = rng.uniform(0, 80, (m, 2))
        gt = np.c_[corner, corner + rng.uniform(8, 30, (m, 2))]
        det = gt + rng.normal(0, 3, gt.shape)
        det[:, 2:] = np.maximum(det[:, 2:], det[:, :2])
        preds.append({"boxes": det, "scores": rng.random(m), "labels": rng.integers(0, 3, m)})
        targets.append({"boxes": gt, "labels": rng.integers(0, 3, m), "image_id": first + i})
    return preds, targets


def _fill_detection(db: str) -> tuple:
    rng = np.random.default_rng(5)
    run = Run("boxes", task="detection", labels=[0, 1, 2], store=db)
    with run.iteration("model") as it:
        for b in range(3):
            preds, targets = _images(rng, 12, 100 * b)
            attrs = {"brightness": rng.uniform(0, 1, 12), "source": rng.choice(["a", "b"], 12)}
            ids = [f"img-{b}-{i}.png" for i in range(12)]
            it.update("validation", preds, targets, sample_ids=ids, attributes=attrs)
    return run, it


def _fill_segmentation(db: str) -> tuple:
    rng = np.random.default_rng(6)
    run = Run("masks", task="segmentation", labels=["sky", "road", "car"], store=db)
    with run.iteration("model") as it:
        for _ in range(3):
            truth = rng.integers(0, 3, (5, 8, 8))
            pred = np.where(rng.random(truth.shape) < 0.7, truth, rng.integers(0, 3, truth.shape))
            it.update("validation", truth, pred, attributes={"brightness": rng.uniform(0, 1, 5)})
    return run, it


def tables(e, detection):
    """What a reader sees of a vision engine's per-image tables, as JSON."""
    out = {
        "brightness": e.by_attribute("brightness", bins=3).to_json(double_precision=15),
        "importance": e.attribute_importance().to_json(double_precision=15),
        "top": e.top_losses(10).to_json(double_precision=15),
    }
    if detection:
        out["source"] = e.by_attribute("source").to_json(double_precision=15)
        out["samples"] = e.samples("background", 1, k=5)
    return out


@pytest.mark.parametrize("task", ["detection", "segmentation"])
def test_attributes_reach_the_engine_and_a_new_process_reads_them(db, task):
    fill = _fill_detection if task == "detection" else _fill_segmentation
    run, it = fill(db)
    live = tables(it.engine("validation"), task == "detection")
    if task == "detection":
        assert live["samples"] and live["samples"][0].startswith("img-")
    done = run_child(
        inspect.getsource(tables)
        + """
import json, sys
from runwatch.tracking import open_run
e = open_run(sys.argv[2], sys.argv[1]).get("model").engine("validation")
print(json.dumps(tables(e, sys.argv[3] == "detection")))
""",
        db,
        run.name,
        task,
    )
    assert json.loads(done.stdout) == live


@pytest.mark.parametrize("task", ["detection", "segmentation"])
def test_export_import_keeps_them_byte_identical(db, tmp_path, task):
    fill = _fill_detection if task == "detection" else _fill_segmentation
    run, it = fill(db)
    path, again = tmp_path / "run.json", tmp_path / "again.json"
    run.export_json(path)
    imported = import_json(path, str(tmp_path / "other.db"))
    imported.export_json(again)
    assert again.read_bytes() == path.read_bytes()
    engine = imported.get("model").engine("validation")
    detection = task == "detection"
    assert tables(engine, detection) == tables(it.engine("validation"), detection)


def test_bad_attributes_through_update_record_nothing(db):
    rng = np.random.default_rng(7)
    run = Run("bad", task="detection", labels=[0, 1, 2], store=db)
    with run.iteration("it") as it:
        preds, targets = _images(rng, 3, 0)
        it.update("train", preds, targets, attributes={"size": [1.0, 2.0, 3.0]})
        before = it.engine("train").state_dict()
        preds, targets = _images(rng, 3, 10)
        with pytest.raises(ValueError, match=r"^attributes\['size'\] has 2 values"):
            it.update("train", preds, targets, attributes={"size": [1.0, 2.0]})
        with pytest.raises(ValueError, match=r"^sample_ids has 1 ids"):
            it.update("train", preds, targets, sample_ids=["a"], attributes={"size": [1, 2, 3]})
        after = it.engine("train").state_dict()
        assert after.keys() == before.keys()
        for key, value in before.items():
            np.testing.assert_array_equal(after[key], value, err_msg=key)
    reopened = open_run("bad", db).get("it").engine("train")
    assert reopened.by_attribute("size", bins=1)["count"].tolist() == [3]
