"""JSON export and import: byte-identical round trips, refusals that write nothing."""

from __future__ import annotations

import base64
import copy
import json
import sqlite3

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from runwatch.tracking import Run, import_json, open_run
from runwatch.tracking.store import Store

from .conftest import batches


def table_counts(db: str) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("runs", "iterations", "points", "splits", "states")
        }
    finally:
        conn.close()


@pytest.fixture
def exported(db, tmp_path):
    run = Run("sweep", primary_metric="AUC_weighted", labels=[0, 1, 2], store=db)
    data = batches(3, 3, 40, seed=7)
    for k in range(2):
        with run.iteration(f"model-{k}", params={"C": 10.0**-k, "kernel": "rbf"}) as it:
            for e, (yb, pb) in enumerate(data):
                it.update("validation", yb, y_proba=pb)
                it.update("train", yb, y_pred=pb.argmax(1))
                it.log_loss(1.0 / (e + 1), step=e)
                it.log_loss(1.5 / (e + 1), split="validation", step=e)
            it.log_metric("lr", 0.01)
            it.tags["k"] = k
            it.log_feature_importance(["a", "b"], [0.25, 0.75])
    with pytest.raises(ValueError):
        with run.iteration("broken") as it:
            raise ValueError("no")
    path = tmp_path / "run.json"
    run.export_json(path)
    return path, data


def test_export_import_export_is_byte_identical(exported, tmp_path):
    path, _ = exported
    other = str(tmp_path / "other.db")
    imported = import_json(path, other)
    again = tmp_path / "again.json"
    imported.export_json(again)
    assert again.read_bytes() == path.read_bytes()


def test_document_content(exported):
    path, data = exported
    doc = json.loads(path.read_text())
    assert (doc["format"], doc["version"]) == ("runwatch.run", 1)
    assert doc["run"]["name"] == "sweep" and doc["run"]["labels"] == [0, 1, 2]
    its = doc["iterations"]
    assert [it["name"] for it in its] == ["model-0", "model-1", "broken"]
    assert [it["status"] for it in its] == ["completed", "completed", "failed"]
    assert its[2]["error"] == "ValueError: no"
    first = its[0]
    assert first["params"] == {"C": 1.0, "kernel": "rbf"}
    assert first["losses"]["train"]["value"] == [1.0, 0.5, 1.0 / 3]
    assert first["losses"]["validation"]["step"] == [0, 1, 2]
    assert len(first["losses"]["validation"]["time"]) == 3
    assert first["duration"] == pytest.approx(first["end_time"] - first["start_time"])
    y = np.concatenate([b[0] for b in data])
    p = np.concatenate([b[1] for b in data])
    expected_auc = roc_auc_score(y, p, multi_class="ovr", average="weighted")
    assert first["metrics"]["validation"]["AUC_weighted"] == pytest.approx(expected_auc, abs=1e-9)
    assert first["dataset_stats"]["validation"] == {
        "n_samples": len(y),
        "class_counts": [[k, int(np.sum(y == k))] for k in range(3)],
    }
    cm = first["confusion_matrices"]["train"]
    assert cm["labels"] == [0, 1, 2]
    assert cm["matrix"] == [
        [float(np.sum((y == t) & (p.argmax(1) == q))) for q in range(3)] for t in range(3)
    ]
    assert {"roc", "pr"} <= set(first["curves"]["validation"])
    for arrays in first["engine_states"].values():
        for spec in arrays.values():
            assert np.dtype(spec["dtype"]).kind != "O"
            raw = base64.b64decode(spec["data"])
            assert len(raw) == np.dtype(spec["dtype"]).itemsize * int(np.prod(spec["shape"]))


def test_imported_run_reads_like_the_original(exported, tmp_path, db):
    path, data = exported
    other = str(tmp_path / "other.db")
    imported = import_json(path, other, name="copy")
    assert imported.name == "copy"
    original = open_run("sweep", db)
    a = original.get("model-1")
    b = imported.get("model-1")
    assert a.metrics("validation") == b.metrics("validation")
    # the engine rebuilt from the imported state computes the same numbers
    assert b.engine("validation").compute() == pytest.approx(a.metrics("validation"), nan_ok=True)
    # the document groups points by split, so compare each split's series
    la, lb = a.losses(), b.losses()
    for split in ("train", "validation"):
        assert list(lb[lb["split"] == split]["value"]) == list(la[la["split"] == split]["value"])
    assert b.tags == {"k": 1}


def mutate(doc, where, value):
    target = doc
    for key in where[:-1]:
        target = target[key]
    if value is KeyError:
        del target[where[-1]]
    else:
        target[where[-1]] = value


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        (("format",), "smartml", "format"),
        (("version",), 99, "version"),
        (("run", "name"), 3, "run.name"),
        (("run", "goal"), "up", "run.goal"),
        (("iterations", 1, "status"), "done", "status"),
        (("iterations", 1, "losses", "train", "value", 1), "0.5", r"value\[1\]"),
        (("iterations", 1, "losses", "train", "step"), [0], "different lengths"),
        (("iterations", 1, "metrics"), KeyError, "metrics is missing"),
        (("iterations", 1, "dataset_stats", "dev"), {"n_samples": 1, "class_counts": []}, "dev"),
        (("iterations", 1, "engine_states", "validation", "confmat", "data"), "!!", "base64"),
        (("iterations", 1, "engine_states", "validation", "confmat", "dtype"), "|O", "plain"),
        (("iterations", 1, "engine_states", "validation", "confmat", "shape"), [2, 2], "bytes"),
    ],
)
def test_malformed_documents_are_refused_and_nothing_is_written(
    exported, tmp_path, where, value, message
):
    path, _ = exported
    doc = json.loads(path.read_text())
    bad = copy.deepcopy(doc)
    mutate(bad, where, value)
    bad_path = tmp_path / "bad.json"
    bad_path.write_text(json.dumps(bad))
    other = str(tmp_path / "other.db")
    Run("existing", store=other)
    before = table_counts(other)
    with pytest.raises(ValueError, match=message):
        import_json(bad_path, other)
    assert table_counts(other) == before


def test_not_json_and_foreign_json_are_refused(tmp_path, db):
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        import_json(p, db)
    p.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a runwatch document"):
        import_json(p, db)
    p.write_text(json.dumps({"runId": "AutoML_1", "metrics": {}}))
    with pytest.raises(ValueError, match="format"):
        import_json(p, db)


def test_import_refuses_a_taken_name_and_writes_nothing(exported, db):
    path, _ = exported
    before = table_counts(db)
    with pytest.raises(ValueError, match="already exists"):
        import_json(path, db)
    assert table_counts(db) == before


def test_a_failure_mid_import_rolls_back(exported, tmp_path, monkeypatch):
    # The last statement of the import fails: the run, iterations and points
    # inserted before it must vanish with the transaction.
    path, _ = exported
    other = str(tmp_path / "other.db")
    Run("existing", store=other)
    before = table_counts(other)
    from runwatch.tracking import export

    real = export.encode_array
    calls = {"n": 0}

    def failing(arr, name="state"):
        calls["n"] += 1
        if calls["n"] > 20:
            raise ValueError("disk on fire")
        return real(arr, name)

    monkeypatch.setattr(export, "encode_array", failing)
    with pytest.raises(ValueError, match="disk on fire"):
        import_json(path, other)
    assert calls["n"] > 20
    assert table_counts(other) == before


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
text = st.text(min_size=1, max_size=12)
# A name must hold more than whitespace (str.strip's, so "\x85" too): the API refuses the rest.
names = text.filter(str.strip)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    losses=st.lists(
        st.tuples(st.sampled_from(["train", "validation", "test"]), finite), max_size=30
    ),
    params=st.dictionaries(text, st.one_of(finite, text, st.integers(-(2**53), 2**53), st.none())),
    tag=names,
    metric=st.tuples(names, finite),
)
def test_round_trip_is_byte_identical_for_arbitrary_content(
    tmp_path_factory, losses, params, tag, metric
):
    tmp = tmp_path_factory.mktemp("rt")
    run = Run("prop", store=str(tmp / "a.db"))
    with run.iteration(tag, params=params) as it:
        for split, value in losses:
            it.log_loss(value, split=split)
        it.log_metric(*metric)
        it.tags[tag] = params
    first = tmp / "first.json"
    run.export_json(first)
    second = tmp / "second.json"
    import_json(first, str(tmp / "b.db")).export_json(second)
    assert second.read_bytes() == first.read_bytes()
    doc = json.loads(first.read_text())
    # the document holds exactly what was logged, per split, in order
    got = doc["iterations"][0]["losses"]
    for split in ("train", "validation", "test"):
        expected = [v for s, v in losses if s == split]
        assert got.get(split, {"value": []})["value"] == expected
    assert doc["iterations"][0]["params"] == params
    for store in list(Store._instances.values()):
        store.close()
