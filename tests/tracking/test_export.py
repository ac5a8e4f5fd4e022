"""JSON export and import: byte-identical round trips, refusals that write nothing."""

from __future__ import annotations

import base64
import copy
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from runwatch.tracking import Run, import_json, open_run
from runwatch.tracking.store import Store

from .conftest import batches, query, store_dump


def table_counts(db: str) -> dict[str, int]:
    return {
        t: query(db, f"SELECT count(*) FROM {t}")[0][0]
        for t in ("runs", "iterations", "points", "splits", "states")
    }


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


def existing_store(db: str) -> list[str]:
    """Put one finished run in the store `db`, all written; return its dump."""
    run = Run("existing", store=db)
    with run.iteration("it") as it:
        it.log_loss(0.5)
    run.flush()
    return store_dump(db)


#: Small but realistic JSON files of other tools, each of which someone may pass by mistake.
FOREIGN = {
    "null": None,
    "list": [{"name": "sweep", "iterations": []}],
    "mlflow-run": {  # GET /api/2.0/mlflow/runs/get
        "run": {
            "info": {
                "run_id": "7c0b4f9a2e8d4b1f9c3a5e6d7f8a9b0c",
                "experiment_id": "1",
                "run_name": "rf-baseline",
                "status": "FINISHED",
                "start_time": 1733390000000,
                "end_time": 1733390042000,
                "artifact_uri": "mlflow-artifacts:/1/7c0b4f9a2e8d4b1f9c3a5e6d7f8a9b0c/artifacts",
                "lifecycle_stage": "active",
            },
            "data": {
                "metrics": [{"key": "rmse", "value": 0.71, "timestamp": 1733390041000, "step": 0}],
                "params": [{"key": "n_estimators", "value": "100"}],
                "tags": [{"key": "mlflow.runName", "value": "rf-baseline"}],
            },
        }
    },
    "mlflow-meta": {  # meta.yaml of an mlruns/ run directory, as JSON
        "artifact_uri": "file:///home/me/mlruns/1/7c0b4f9a/artifacts",
        "end_time": 1733390042000,
        "entry_point_name": "",
        "experiment_id": "1",
        "lifecycle_stage": "active",
        "run_id": "7c0b4f9a",
        "run_name": "rf-baseline",
        "source_type": 4,
        "start_time": 1733390000000,
        "status": 3,
        "user_id": "me",
    },
    "coco-annotations": {
        "info": {"description": "val subset", "version": "1.0", "year": 2017},
        "images": [{"id": 397133, "file_name": "000000397133.jpg", "width": 640, "height": 427}],
        "annotations": [
            {
                "id": 1,
                "image_id": 397133,
                "category_id": 1,
                "bbox": [388.66, 69.92, 109.41, 277.62],
                "area": 17376.91,
                "iscrowd": 0,
            }
        ],
        "categories": [{"id": 1, "name": "person", "supercategory": "person"}],
    },
    "wandb-summary": {
        "_runtime": 41.8,
        "_step": 99,
        "_timestamp": 1733390042.5,
        "train/loss": 0.118,
        "val/accuracy": 0.964,
        "_wandb": {"runtime": 41},
    },
}


@pytest.mark.parametrize("kind", list(FOREIGN))
def test_a_file_that_is_not_a_runwatch_export_is_refused_naming_it(kind, tmp_path, db):
    path = tmp_path / f"{kind}.json"
    path.write_text(json.dumps(FOREIGN[kind]))
    before = existing_store(db)
    for as_given in (str(path), path):  # a str, or a Path (named by its str)
        with pytest.raises(ValueError) as caught:
            import_json(as_given, db)
        message = str(caught.value)
        assert message.startswith(f"{path} is not a runwatch document: "), message
        assert "\n" not in message
        assert store_dump(db) == before


def test_foreign_json_says_what_it_found(tmp_path, db):
    path = tmp_path / "x.json"
    path.write_text("null")
    with pytest.raises(ValueError, match=r"its top level is null, not an object"):
        import_json(path, db)
    path.write_text(json.dumps(FOREIGN["coco-annotations"]))
    with pytest.raises(ValueError, match=r"top-level keys: 'info', 'images', 'annotations'"):
        import_json(path, db)


@pytest.fixture
def two_iterations(db, tmp_path):
    """An export whose last iteration, like the first, has an engine state."""
    run = Run("two", primary_metric="accuracy", labels=[0, 1, 2], store=db)
    for k, (y, p) in enumerate(batches(2, 3, 30, seed=3)):
        with run.iteration(f"model-{k}") as it:
            it.update("validation", y, y_proba=p)
            it.log_loss(0.5, step=0)
    path = tmp_path / "two.json"
    run.export_json(path)
    return json.loads(path.read_text())


def _array_spec(array: np.ndarray) -> dict:
    return {
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "data": base64.b64encode(array.tobytes()).decode("ascii"),
    }


LAST_ITERATION_CORRUPTIONS = {
    # (what is done to iterations[-1], what the message says after the path)
    "cut short": (lambda it: it.pop("engine_states"), "iterations[1].engine_states is missing"),
    "not an object": (lambda it: "model-1", "iterations[1] must be an object"),
    "state bytes cut": (
        lambda it: it["engine_states"]["validation"]["confmat"].update(data="AAAA"),
        "iterations[1].engine_states.validation.confmat is not a plain array",
    ),
    "state of the wrong shape": (
        lambda it: it["engine_states"]["validation"].update(confmat=_array_spec(np.eye(2))),
        "iterations[1].engine_states.validation is not a state ClassificationMetrics reads: "
        "state['confmat'] has shape (2, 2); it must be (3, 3).",
    ),
    "state numbers as strings": (
        lambda it: it["engine_states"]["validation"].update(n_samples=_array_spec(np.array("30"))),
        "state['n_samples'] must hold integers; got the string '30'.",
    ),
    "state entry missing": (
        lambda it: it["engine_states"]["validation"].pop("scores.offsets"),
        "state is missing the entry 'scores.offsets'.",
    ),
}


@pytest.mark.parametrize("case", list(LAST_ITERATION_CORRUPTIONS))
def test_an_export_with_a_corrupt_last_iteration_is_refused_naming_the_file(
    case, two_iterations, tmp_path
):
    corrupt, expected = LAST_ITERATION_CORRUPTIONS[case]
    doc = copy.deepcopy(two_iterations)
    replaced = corrupt(doc["iterations"][-1])
    if isinstance(replaced, str):
        doc["iterations"][-1] = replaced
    path = tmp_path / "corrupt.json"
    path.write_text(json.dumps(doc))
    other = str(tmp_path / "other.db")
    before = existing_store(other)
    with pytest.raises(ValueError) as caught:
        import_json(str(path), other)
    message = str(caught.value)
    assert message.startswith(f"{path} is a malformed runwatch document: iterations[1]"), message
    assert expected in message
    assert store_dump(other) == before
