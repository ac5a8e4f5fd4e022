"""``Iteration.update`` with ``sample_ids`` and ``attributes``: stored, reopened, exported."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from runwatch.tracking import Run, import_json, open_run

from .conftest import batches, run_child


def _fill(db: str, curve_bins=None) -> tuple:
    rng = np.random.default_rng(3)
    options = None if curve_bins is None else {"curve_bins": curve_bins}
    run = Run("attrs", labels=[0, 1, 2], store=db, metric_options=options)
    with run.iteration("model") as it:
        for b, (y, p) in enumerate(batches(4, 3, 50, seed=2)):
            frame = pd.DataFrame({
                "brightness": rng.normal(size=y.size),
                "source": rng.choice(["web", "scan", "phone"], y.size),
            }, index=rng.permutation(y.size))  # fmt: skip
            ids = [f"img-{b}-{i}" for i in range(y.size)]
            it.update("validation", y, y_proba=p, sample_ids=ids, attributes=frame)
    return run, it


def _tables(engine) -> dict:
    return {
        "brightness": engine.by_attribute("brightness", bins=4).to_json(double_precision=15),
        "source": engine.by_attribute("source").to_json(double_precision=15),
        "importance": engine.attribute_importance().to_json(double_precision=15),
        "samples": engine.samples(0, 1, k=10),
        "top": engine.top_losses(10).to_json(double_precision=15),
    }


@pytest.mark.parametrize("curve_bins", [None, 64])
def test_attributes_and_ids_reach_the_engine_and_a_new_process_reads_them(db, curve_bins):
    _, it = _fill(db, curve_bins)
    live = _tables(it.engine("validation"))
    assert len(live["samples"]) == 10 and live["samples"][0].startswith("img-")
    done = run_child(
        """
        import json, sys
        from runwatch.tracking import open_run
        e = open_run("attrs", sys.argv[1]).get("model").engine("validation")
        print(json.dumps({
            "brightness": e.by_attribute("brightness", bins=4).to_json(double_precision=15),
            "source": e.by_attribute("source").to_json(double_precision=15),
            "importance": e.attribute_importance().to_json(double_precision=15),
            "samples": e.samples(0, 1, k=10),
            "top": e.top_losses(10).to_json(double_precision=15),
        }))
        """,
        db,
    )
    assert json.loads(done.stdout) == live


def test_export_import_keeps_them_byte_identical(db, tmp_path):
    run, it = _fill(db)
    path, again = tmp_path / "run.json", tmp_path / "again.json"
    run.export_json(path)
    imported = import_json(path, str(tmp_path / "other.db"))
    imported.export_json(again)
    assert again.read_bytes() == path.read_bytes()
    engine = imported.get("model").engine("validation")
    assert _tables(engine) == _tables(it.engine("validation"))


def test_bad_attributes_through_update_record_nothing(db):
    run = Run("bad", labels=[0, 1], store=db)
    with run.iteration("it") as it:
        it.update("train", [0, 1, 1], y_pred=[0, 1, 0], attributes={"size": [1.0, 2.0, 3.0]})
        before = it.engine("train").state_dict()
        with pytest.raises(ValueError, match=r"^attributes\['size'\] has 2 values"):
            it.update("train", [0, 1, 1], y_pred=[0, 1, 1], attributes={"size": [1.0, 2.0]})
        with pytest.raises(ValueError, match=r"^sample_ids has 1 ids"):
            it.update("train", [0, 1], y_pred=[0, 1], sample_ids=["a"])
        after = it.engine("train").state_dict()
        for key, value in before.items():
            np.testing.assert_array_equal(after[key], value, err_msg=key)
        assert it.dataset_stats("train")["n_samples"] == 3
    reopened = open_run("bad", db).get("it").engine("train")
    assert reopened.by_attribute("size", bins=1)["count"].tolist() == [3]
