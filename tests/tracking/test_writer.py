"""The background writer: commits without being asked, survives kill -9, closes at exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from runwatch.tracking import Run, open_run

from .conftest import child_env, query, run_child, spawn, write_lock_held

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")


def count_points(db: str) -> int:
    return query(db, "SELECT count(*) FROM points")[0][0]


def test_logged_points_are_committed_within_a_second_unasked(db):
    run = Run("w", store=db)
    it = run.iteration("it")
    t0 = time.time()
    for i in range(1000):
        it.log_loss(float(i))
    # Another connection (as another process would) sees them without a flush.
    while count_points(db) < 1000:
        assert time.time() - t0 < 1.0, "points not committed within a second"
        time.sleep(0.02)
    it.complete()


def test_logging_does_not_wait_for_a_locked_store(db):
    run = Run("lock", store=db)
    it = run.iteration("it")
    it.start()
    run.flush()
    with write_lock_held(db):
        t0 = time.perf_counter()
        for i in range(10_000):
            it.log_loss(float(i))
        elapsed = time.perf_counter() - t0
    assert elapsed < 0.5  # the disk is locked, yet 10,000 calls returned at once
    it.complete()
    assert len(it.losses()) == 10_000


KILLED_WRITER = """
import sys, time
from runwatch.tracking import Run
run = Run("killed", store=sys.argv[1])
it = run.iteration("epoch")
it.start()
done = run.iteration("finished")
with done:
    done.log_loss(1.0)
log = open(sys.argv[2], "w")
i = 0
while True:
    it.log_loss(float(i), step=i)
    # Written after the call returned: the point was logged at or before this time.
    log.write(f"{i} {time.time()!r}\\n")
    log.flush()
    i += 1
    time.sleep(0.002)
"""


def test_kill_9_keeps_everything_logged_a_second_before(db, tmp_path):
    log_path = tmp_path / "logged.txt"
    proc = spawn(KILLED_WRITER, db, str(log_path))
    try:
        deadline = time.time() + 20
        while not (log_path.exists() and log_path.stat().st_size > 0):
            assert time.time() < deadline and proc.poll() is None, "writer never started"
            time.sleep(0.05)
        time.sleep(2.0)
        killed_at = time.time()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    logged = []
    for line in log_path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            logged.append((int(parts[0]), float(parts[1])))
    must_have = {i for i, t in logged if t < killed_at - 1.0}
    assert len(must_have) > 100  # the child really was logging for a while

    run = open_run("killed", db)
    it = run.get("epoch")
    stored = it.losses()
    steps = list(stored["step"])
    assert must_have <= set(steps)
    assert steps == list(range(len(steps)))  # a prefix, in order, no gaps
    assert list(stored["value"]) == [float(s) for s in steps]
    assert it.status == "interrupted"
    assert run.get("finished").status == "completed"
    assert run.status == "interrupted"
    assert set(run.iterations()["status"]) == {"interrupted", "completed"}


def test_interpreter_exit_commits_and_marks_open_iterations_interrupted(db):
    run_child(
        """
        import sys
        from runwatch.tracking import Run
        run = Run("exit", store=sys.argv[1])
        it = run.iteration("left-open")
        for i in range(2500):
            it.log_loss(float(i))
        # no complete(), no flush(): atexit must do it
        """,
        db,
    )
    it = open_run("exit", db).get("left-open")
    assert it.status == "interrupted"
    assert it.error == "the process exited before it ended"
    assert list(it.losses()["value"]) == [float(i) for i in range(2500)]


def test_failed_child_iteration_reads_failed(db):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from runwatch.tracking import Run\n"
            "with Run('f', store=sys.argv[1]).iteration('it'):\n"
            "    raise RuntimeError('boom')\n",
            db,
        ],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "RuntimeError: boom" in done.stderr
    it = open_run("f", db).get("it")
    assert (it.status, it.error) == ("failed", "RuntimeError: boom")


def test_flush_without_states_commits_points_and_leaves_engines_to_their_pace(db, monkeypatch):
    from runwatch.tracking import writer

    monkeypatch.setattr(writer, "STATE_INTERVAL", 3600.0)  # only an asked flush saves engines
    run = Run("w", primary_metric="accuracy", store=db)
    it = run.iteration("it")
    it.start()
    it.update("validation", [0, 1], y_pred=[0, 0])
    run.flush()  # engines saved: accuracy 0.5
    it.update("validation", [1, 1], y_pred=[1, 1])
    it.log_loss(0.3)
    run.flush(states=False)
    assert count_points(db) == 1
    reader = open_run("w", db)
    assert reader.iteration_records(flush=False)[0]["metric"] == 0.5
    run.flush()
    assert reader.iteration_records(flush=False)[0]["metric"] == 0.75
    it.complete()
