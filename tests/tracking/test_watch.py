"""Watching a run from another process: refresh and on_change read only what is new."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest

from runwatch.tracking import Run, open_run

from .conftest import run_child, spawn


def test_refresh_returns_only_what_is_new(db):
    run = Run("r", store=db)
    reader = open_run("r", db)
    assert not reader.refresh()
    it = run.iteration("a")
    it.log_loss(1.0)
    it.log_loss(2.0)
    run.flush()
    first = reader.refresh()
    assert [p.value for p in first.points] == [1.0, 2.0]
    assert first.statuses == {it.id: "running"}
    assert not reader.refresh()  # nothing new: nothing read
    it.log_loss(3.0)
    it.update("validation", [0, 1], y_pred=[0, 1])
    it.complete()
    second = reader.refresh()
    assert [p.value for p in second.points] == [3.0]
    assert second.statuses == {it.id: "completed"}
    assert second.splits == [(it.id, "validation")]
    assert reader.get("a").status == "completed"


def test_on_change_without_replay_starts_from_now(db):
    run = Run("n", store=db)
    with run.iteration("old") as it:
        it.log_loss(1.0)
    seen = []
    sub = open_run("n", db).on_change(lambda c: seen.extend(p.value for p in c.points), 0.05, False)
    with sub:
        with run.iteration("new") as it:
            it.log_loss(2.0)
        deadline = time.time() + 5
        while not seen and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
    assert seen == [2.0]
    assert not sub.active


FOLLOWED_WRITER = """
import sys
from runwatch.tracking import Run
run = Run("followed", store=sys.argv[1])
with run.iteration("it") as it:
    for i in range(100_000):
        it.log_loss(float(i), step=i)
"""


def test_on_change_follows_100000_points_from_another_process(db):
    Run("followed", store=db)  # so the reader can open it before the writer starts
    reader = open_run("followed", db)
    values: list[float] = []
    statuses: list[str] = []
    done = threading.Event()

    def on_change(change):
        values.extend(p.value for p in change.points if p.kind == "loss")
        statuses.extend(change.statuses.values())
        if len(values) >= 100_000 and "completed" in statuses:
            done.set()

    sub = reader.on_change(on_change, interval=0.05)
    try:
        proc = spawn(FOLLOWED_WRITER, db)
        assert proc.wait(60) == 0
        assert done.wait(20), f"reader saw {len(values)} points"
    finally:
        sub.cancel()
    assert values == [float(i) for i in range(100_000)]


def test_watcher_sees_a_dead_writer_as_interrupted(db, tmp_path):
    Run("dies", store=db)
    reader = open_run("dies", db)
    flag = tmp_path / "started"
    proc = spawn(
        """
        import sys, time, pathlib
        from runwatch.tracking import Run
        it = Run("dies", store=sys.argv[1]).iteration("it")
        it.start()
        it.log_loss(1.0)
        it.run.flush()
        pathlib.Path(sys.argv[2]).write_text("x")
        time.sleep(60)
        """,
        db,
        str(flag),
    )
    try:
        deadline = time.time() + 20
        while not flag.exists():
            assert time.time() < deadline
            time.sleep(0.05)
        assert list(reader.refresh().statuses.values()) == ["running"]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    change = reader.refresh()
    assert list(change.statuses.values()) == ["interrupted"]
    assert not reader.refresh()  # reported once


@pytest.mark.skipif(sys.platform == "win32", reason="fork-free but slow to spawn there")
def test_two_processes_log_iterations_of_one_run(db):
    code = """
    import sys
    from runwatch.tracking import Run
    worker = sys.argv[2]
    run = Run("sweep", primary_metric="score", store=sys.argv[1])
    for j in range(5):
        with run.iteration(f"{worker}-{j}", params={"j": j}) as it:
            for i in range(200):
                it.log_loss(float(i), step=i)
            it.update("validation", [0, 1, 1, 0], y_pred=[0, 1, j % 2, 0])
            it.log_metric("score", float(j))
    """
    procs = [spawn(code, db, w) for w in ("a", "b")]
    for p in procs:
        assert p.wait(60) == 0
    run = open_run("sweep", db)
    df = run.iterations()
    assert sorted(df["name"]) == sorted(f"{w}-{j}" for w in "ab" for j in range(5))
    assert set(df["status"]) == {"completed"}
    for it in run.iteration_list():
        assert list(it.losses()["step"]) == list(range(200))
        j = int(it.name.split("-")[1])
        assert it.metrics("validation")["accuracy"] == (1.0 if j % 2 else 0.75)
    assert df["best"].iloc[-1] == 4.0


def test_a_broken_callback_does_not_end_the_subscription(db):
    run = Run("cb", store=db)
    calls = []

    def callback(change):
        calls.append(len(change.points))
        raise RuntimeError("bug in the callback")

    sub = run.on_change(callback, interval=0.05)
    it = run.iteration("it")
    it.log_loss(1.0)
    it.complete()
    deadline = time.time() + 5
    while not calls and time.time() < deadline:
        time.sleep(0.02)
    it2 = run.iteration("it2")
    it2.log_loss(2.0)
    it2.complete()
    while len(calls) < 2 and time.time() < deadline:
        time.sleep(0.02)
    sub.cancel()
    assert len(calls) >= 2


def test_run_child_helper_sanity(db):
    # The subprocess helpers see this checkout's package, not an installed one.
    out = run_child("import runwatch.tracking, sys; print(runwatch.tracking.__file__)").stdout
    assert out.strip().endswith(os.path.join("runwatch", "tracking", "__init__.py"))


def test_an_iteration_created_started_or_ended_sets_the_stores_events(db):
    run = Run("events", store=db)
    heard = threading.Event()
    run._store.iteration_events.add(heard)
    try:
        it = run.iteration("m")
        assert heard.is_set()
        heard.clear()
        it.log_loss(0.5, split="train")  # the first log starts it
        assert heard.is_set()
        heard.clear()
        it.log_loss(0.4, split="train")  # points are not iteration changes
        assert not heard.is_set()
        it.complete()
        assert heard.is_set()
    finally:
        run._store.iteration_events.discard(heard)
