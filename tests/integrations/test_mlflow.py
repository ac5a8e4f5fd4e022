"""rw.import_mlflow against a real MLflow store written by MLflow itself."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

import runwatch as rw
from runwatch.tracking import open_run

from ._data import rows


@pytest.fixture
def mlruns(tmp_path: Path, monkeypatch) -> Path:
    """An mlruns folder with one experiment of four runs, written by MLflow."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    folder = tmp_path / "mlruns"
    client = MlflowClient(tracking_uri=folder.as_uri())
    exp = client.create_experiment("digits")
    client.create_experiment("empty")
    for name, status in (("lr", "FINISHED"), ("mlp", "FAILED"), ("svm", "KILLED")):
        r = client.create_run(exp, run_name=name, tags={"team": "vision"})
        client.log_param(r.info.run_id, "C", "0.5")
        for step in range(3):
            client.log_metric(r.info.run_id, "loss", 1.0 / (step + 1), step=step)
            client.log_metric(r.info.run_id, "val_loss", 2.0 / (step + 1), step=step)
        client.log_metric(r.info.run_id, "accuracy", 0.9 if name == "lr" else 0.7, step=2)
        client.log_metric(r.info.run_id, "accuracy", math.nan, step=3)
        client.set_terminated(r.info.run_id, status=status)
    client.create_run(exp, run_name="still-running")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    return folder


def test_each_ended_mlflow_run_is_an_iteration_with_params_tags_histories_and_status(mlruns, db):
    run = rw.import_mlflow(mlruns, store=db)
    assert run.name == "digits"
    assert rows(db) == [
        ("lr", "completed", None),
        ("mlp", "failed", "the MLflow run FAILED"),
        ("svm", "canceled", None),
    ]
    lr = run.get("lr")
    assert lr.params == {"C": "0.5"}
    assert lr.tags["team"] == "vision" and len(lr.tags["mlflow.run_id"]) == 32
    assert not any(k.startswith("mlflow.source") for k in lr.tags)
    losses = lr.losses()
    assert list(losses[losses["split"] == "train"]["value"]) == [1.0, 0.5, 1.0 / 3]
    assert list(losses[losses["split"] == "validation"]["value"]) == [2.0, 1.0, 2.0 / 3]
    assert list(losses[losses["split"] == "validation"]["step"]) == [0, 1, 2]
    logged = lr.logged_metrics()
    assert list(logged[logged["name"] == "accuracy"]["value"]) == [0.9]  # the NaN is left out
    assert run.best().name == "lr"  # accuracy, the default primary metric, from MLflow


def test_importing_twice_does_not_duplicate(mlruns, db):
    rw.import_mlflow(str(mlruns), experiment="digits", store=db)
    first = rows(db)
    run = rw.import_mlflow(mlruns.as_uri(), experiment="digits", store=db)
    assert rows(db) == first
    assert len(run.get("lr").losses()) == 6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tracking_uri": 3}, "tracking_uri must be an mlruns folder"),
        ({"tracking_uri": "/no/such/mlruns"}, "tracking_uri '/no/such/mlruns' is not a folder"),
        ({"experiment": "nope"}, "experiment 'nope' is not in the MLflow store"),
        ({"experiment": 1}, "experiment must be a name or id"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_arguments_are_refused_in_one_sentence_and_write_nothing(mlruns, db, kwargs, message):
    args = {"tracking_uri": mlruns, "store": db, **kwargs}
    with pytest.raises(ValueError, match=message) as caught:
        rw.import_mlflow(**args)
    assert "\n" not in str(caught.value)
    assert not Path(db).exists()


def test_iterations_start_and_end_when_the_mlflow_runs_did(mlruns, db):
    client = MlflowClient(tracking_uri=mlruns.as_uri())
    exp = client.get_experiment_by_name("digits")
    ended = [r for r in client.search_runs([exp.experiment_id]) if r.info.end_time is not None]
    rw.import_mlflow(mlruns, store=db)
    reopened = open_run("digits", store=db)
    for mlrun in ended:
        it = reopened.get(mlrun.info.run_name)
        assert it.started == mlrun.info.start_time / 1000.0
        assert it.ended == mlrun.info.end_time / 1000.0
