"""Run and Iteration: the logging API, read back in this process and from the store."""

from __future__ import annotations

import math
import subprocess
import threading

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from runwatch.tracking import Run, open_run
from runwatch.tracking.run import default_goal
from runwatch.tracking.store import Store

from .conftest import batches


def reopen(db: str) -> None:
    # Drop this process's Store objects so the next read goes to the file.
    for store in list(Store._instances.values()):
        store.close()


def test_context_manager_statuses_and_times(db):
    run = Run("r", store=db)
    with run.iteration("ok", params={"C": 0.5}) as it:
        assert it.status == "running"
        it.log_loss(0.3)
    assert it.status == "completed"
    assert it.started is not None and it.ended >= it.started
    assert it.duration == pytest.approx(it.ended - it.started)

    with pytest.raises(ZeroDivisionError):
        with run.iteration("bad") as bad:
            1 / 0  # noqa: B018
    assert bad.status == "failed"
    assert bad.error == "ZeroDivisionError: division by zero"

    with pytest.raises(KeyboardInterrupt):
        with run.iteration("stopped") as stopped:
            raise KeyboardInterrupt
    assert stopped.status == "canceled"

    queued = run.iteration("later")
    assert queued.status == "queued" and queued.started is None

    reopen(db)
    again = open_run("r", db)
    got = {
        row.name: (row.status, row.error if isinstance(row.error, str) else None)
        for row in again.iterations().itertuples()
    }
    assert got["ok"] == ("completed", None)
    assert got["bad"] == ("failed", "ZeroDivisionError: division by zero")
    assert got["stopped"][0] == "canceled"
    # "later" was queued by this (live) process, which still runs.
    assert got["later"][0] == "queued"
    assert again.get("ok").params == {"C": 0.5}


def test_metrics_match_sklearn_live_and_from_store(db):
    data = batches(5, 3, 64, seed=1)
    y = np.concatenate([b[0] for b in data])
    p = np.concatenate([b[1] for b in data])
    run = Run("m", primary_metric="AUC_weighted", store=db)
    with run.iteration("model") as it:
        for yb, pb in data:
            it.update("validation", yb, y_proba=pb)
    expected_acc = accuracy_score(y, p.argmax(axis=1))
    expected_auc = roc_auc_score(y, p, multi_class="ovr", average="weighted")
    expected_ll = log_loss(y, p)
    live = it.metrics("validation")
    assert live["accuracy"] == pytest.approx(expected_acc, abs=1e-12)
    assert live["AUC_weighted"] == pytest.approx(expected_auc, abs=1e-9)

    reopen(db)
    stored = open_run("m", db).get("model")
    m = stored.metrics("validation")
    assert m["accuracy"] == pytest.approx(expected_acc, abs=1e-12)
    assert m["AUC_weighted"] == pytest.approx(expected_auc, abs=1e-9)
    assert m["log_loss"] == pytest.approx(expected_ll, abs=1e-9)
    cm = stored.confusion_matrix("validation")
    for t in range(3):
        for q in range(3):
            assert cm.loc[t, q] == np.sum((y == t) & (p.argmax(axis=1) == q))
    assert set(stored.curves("validation")) >= {"roc", "pr"}
    stats = stored.dataset_stats("validation")
    assert stats["n_samples"] == len(y)
    assert stats["class_counts"] == {k: int(np.sum(y == k)) for k in range(3)}
    assert stored.metrics("test") == {}
    assert stored.confusion_matrix("test") is None


def test_losses_steps_times_and_logged_metrics(db):
    run = Run("l", store=db)
    with run.iteration("it") as it:
        it.log_loss(1.0)
        it.log_loss(0.5)
        it.log_loss(np.float32(0.25), step=10)
        it.log_loss(0.75, split="validation", time=1_700_000_000.0)
        it.log_metric("lr", 0.1)
        it.log_metric("lr", 0.01, step=5)
    df = it.losses()
    assert list(df["split"]) == ["train", "train", "train", "validation"]
    assert list(df["step"]) == [0, 1, 10, 0]
    assert list(df["value"]) == [1.0, 0.5, 0.25, 0.75]
    assert df["time"].iloc[3].timestamp() == pytest.approx(1_700_000_000.0)
    lm = it.logged_metrics()
    assert list(lm["step"]) == [0, 5] and list(lm["value"]) == [0.1, 0.01]


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda it: it.log_loss(float("nan")), "value"),
        (lambda it: it.log_loss(float("inf")), "value"),
        (lambda it: it.log_loss("0.4"), "value"),
        (lambda it: it.log_loss(True), "value"),
        (lambda it: it.log_loss(0.4, split="dev"), "split"),
        (lambda it: it.log_loss(0.4, step="3"), "step"),
        (lambda it: it.log_loss(0.4, step=float("nan")), "step"),
        (lambda it: it.log_loss(0.4, time="yesterday"), "time"),
        (lambda it: it.log_metric("", 0.4), "name"),
        (lambda it: it.log_metric("x", [0.4]), "value"),
        (lambda it: it.update("dev", [0, 1], y_pred=[0, 1]), "split"),
        (lambda it: it.update("train", [0, 1], y_proba=[[0.5, 0.5]]), "y_proba"),
        (lambda it: it.log_feature_importance(["a", "b"], [1.0]), "values"),
    ],
)
def test_bad_arguments_are_refused_and_record_nothing(db, call, argument):
    run = Run("bad", store=db)
    it = run.iteration("it")
    it.start()
    with pytest.raises(ValueError, match=argument):
        call(it)
    it.complete()
    assert it.losses().empty
    assert it.logged_metrics().empty
    assert it.metrics("train") == {}
    assert it.feature_importance is None


def test_start_and_end_times_can_be_given_for_imported_runs(db):
    import datetime as dt

    run = Run("imported", store=db)
    it = run.iteration("past").start(time=1_700_000_000.5)
    with pytest.raises(ValueError, match="time"):
        it.complete(time=1_600_000_000)  # before it started: refused, still running
    with pytest.raises(ValueError, match="time"):
        it.complete(time="yesterday")
    assert it.status == "running" and it.ended is None
    it.complete(time=dt.datetime(2023, 11, 14, 22, 20, tzinfo=dt.timezone.utc))
    reopen(db)
    again = open_run("imported", store=db).get("past")
    assert (again.started, again.ended) == (1_700_000_000.5, 1_700_000_400.0)
    assert again.duration == 399.5


def test_bad_update_leaves_engine_unchanged(db):
    run = Run("u", store=db)
    with run.iteration("it") as it:
        it.update("train", [0, 1, 1], y_pred=[0, 1, 0])
        with pytest.raises(ValueError):
            it.update("train", [0, 1], y_pred=[0, 1, 1])  # lengths disagree
        assert it.metrics("train")["accuracy"] == pytest.approx(2 / 3)
        assert it.dataset_stats("train")["n_samples"] == 3


def test_run_arguments_and_reopening(db):
    with pytest.raises(ValueError, match="task"):
        Run("x", task="clustering", store=db)
    with pytest.raises(ValueError, match="goal"):
        Run("x", goal="up", store=db)
    with pytest.raises(ValueError, match="name"):
        Run("", store=db)
    first = Run("x", task="classification", primary_metric="log_loss", store=db)
    assert first.goal == "minimize"
    with first.iteration("a"):
        pass
    second = Run("x", store=db)  # appends
    assert (second.id, second.task, second.primary_metric) == (
        first.id,
        "classification",
        "log_loss",
    )
    with second.iteration("b"):
        pass
    assert list(open_run("x", db).iterations()["name"]) == ["a", "b"]
    with pytest.raises(ValueError, match="task"):
        Run("x", task="regression", store=db)
    with pytest.raises(ValueError, match="no run called"):
        open_run("nope", db)


def test_default_goal():
    assert default_goal("mean_absolute_error") == "minimize"
    assert default_goal("log_loss") == "minimize"
    assert default_goal("AUC_weighted") == "maximize"
    assert default_goal("accuracy") == "maximize"


def test_store_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "env.db"
    monkeypatch.setenv("RUNWATCH_STORE", str(path))
    run = Run("e")
    assert run.store == str(path)
    assert path.exists()
    monkeypatch.delenv("RUNWATCH_STORE")
    monkeypatch.chdir(tmp_path)
    assert Run("d").store == str(tmp_path / "runwatch.db")


def test_iterations_table_best_so_far_and_best(db):
    values = [0.2, 0.7, float("nan"), 0.5, 0.9, 0.1]
    run = Run("b", primary_metric="score", store=db)
    for i, v in enumerate(values):
        with run.iteration(f"i{i}") as it:
            if not math.isnan(v):
                it.log_metric("score", v)
    df = run.iterations()
    expected_best, best = [], float("nan")
    for v in values:
        if not math.isnan(v) and (math.isnan(best) or v > best):
            best = v
        expected_best.append(best)
    np.testing.assert_array_equal(df["metric"].to_numpy(), np.array(values))
    np.testing.assert_array_equal(df["best"].to_numpy(), np.array(expected_best))
    assert run.best().name == "i4"
    low = Run("b-min", primary_metric="score", goal="minimize", store=db)
    for i, v in enumerate(values):
        with low.iteration(f"i{i}") as it:
            if not math.isnan(v):
                it.log_metric("score", v)
    assert low.best().name == "i5"


def test_primary_metric_prefers_validation_split(db):
    run = Run("p", primary_metric="accuracy", store=db)
    with run.iteration("it") as it:
        it.update("train", [0, 1, 1, 0], y_pred=[0, 1, 1, 0])  # accuracy 1
        it.update("validation", [0, 1, 1, 0], y_pred=[1, 1, 1, 0])  # accuracy 0.75
    assert run.iterations()["metric"].iloc[0] == pytest.approx(0.75)


def test_tags_params_feature_importance_round_trip(db):
    run = Run("t", labels=["cat", "dog"], store=db)
    with run.iteration("it", params={"depth": np.int64(3), "lr": 0.1}) as it:
        it.tags["owner"] = "me"
        it.tags.update({"round": 2})
        it.log_feature_importance(
            ["f1", "f2"], [0.7, 0.3], per_class={"cat": [1, 2], "dog": [3, 4]}
        )
    reopen(db)
    got = open_run("t", db).get(it.id)
    assert got.params == {"depth": 3, "lr": 0.1}
    assert dict(got.tags) == {"owner": "me", "round": 2}
    assert got.feature_importance == {
        "names": ["f1", "f2"],
        "values": [0.7, 0.3],
        "per_class": [["cat", [1.0, 2.0]], ["dog", [3.0, 4.0]]],
    }
    with pytest.raises(ValueError, match="params"):
        run.iteration("x", params={"f": object()})
    with pytest.raises(ValueError, match="labels"):
        Run("t", labels=["dog", "cat"], store=db)


def test_ended_or_read_only_iterations_refuse_logs(db):
    run = Run("c", store=db)
    with run.iteration("it") as it:
        it.log_loss(1.0)
    with pytest.raises(RuntimeError, match="completed"):
        it.log_loss(0.5)
    with pytest.raises(RuntimeError, match="completed"):
        it.update("train", [0], y_pred=[0])
    reader = open_run("c", db).get("it")
    with pytest.raises(RuntimeError):
        reader.log_loss(0.5)
    assert list(it.losses()["value"]) == [1.0]


def test_resume_continues_engine_and_steps(db):
    data = batches(4, 2, 50, seed=3)
    run = Run("res", store=db)
    with run.iteration("model") as it:
        for yb, pb in data[:2]:
            it.update("validation", yb, y_proba=pb)
            it.log_loss(0.1)
    reopen(db)
    run2 = Run("res", store=db)
    with run2.iteration("model", resume=True) as it2:
        assert it2.id == it.id
        for yb, pb in data[2:]:
            it2.update("validation", yb, y_proba=pb)
            it2.log_loss(0.2)
    y = np.concatenate([b[0] for b in data])
    p = np.concatenate([b[1] for b in data])
    assert it2.metrics("validation")["AUC_macro"] == pytest.approx(
        roc_auc_score(y, p[:, 1]), abs=1e-9
    )
    assert it2.dataset_stats("validation")["n_samples"] == 200
    assert list(it2.losses()["step"]) == [0, 1, 2, 3]
    assert len(open_run("res", db).iterations()) == 1


def test_threads_log_into_one_run(db):
    run = Run("th", store=db)
    data = batches(8, 3, 32, seed=5)
    its = [run.iteration(f"w{k}") for k in range(4)]
    shared = run.iteration("shared")
    shared.start()

    def work(k: int) -> None:
        with its[k] as it:
            for i in range(500):
                it.log_loss(float(i), step=i)
                shared.log_metric(f"m{k}", float(i))
            for yb, pb in data:
                shared.update("train", yb, y_proba=pb)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shared.complete()
    for it in its:
        assert list(it.losses()["value"]) == [float(i) for i in range(500)]
    lm = shared.logged_metrics()
    for k in range(4):
        assert list(lm[lm["name"] == f"m{k}"]["value"]) == [float(i) for i in range(500)]
    y = np.concatenate([b[0] for b in data] * 4)
    p = np.concatenate([b[1] for b in data] * 4)
    assert shared.metrics("train")["accuracy"] == pytest.approx(accuracy_score(y, p.argmax(1)))


def test_resume_refuses_an_iteration_another_writer_holds(db):
    from .conftest import spawn

    Run("held", store=db)
    proc = spawn(
        """
        import sys, time
        from runwatch.tracking import Run
        it = Run("held", store=sys.argv[1]).iteration("busy")
        it.start()
        it.run.flush()
        print("ready", flush=True)
        time.sleep(30)
        """,
        db,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        with pytest.raises(ValueError, match="still running"):
            Run("held", store=db).iteration("busy", resume=True)
    finally:
        proc.kill()
        proc.wait()
    # its writer is dead now: the iteration reads interrupted and can be resumed
    it = Run("held", store=db).iteration("busy", resume=True)
    assert it.status == "running"
    it.complete()
    assert open_run("held", db).get("busy").status == "completed"
