"""The store file: WAL, versioned schema, plain-array states, refusing foreign files;
opening it from many processes at once; store URLs."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading

import numpy as np
import pytest

from runwatch.tracking import Run, open_run
from runwatch.tracking import store as store_module
from runwatch.tracking.store import (
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    SQLiteStore,
    Store,
    effective_status,
    url_scheme,
)

from .conftest import query, spawn, write_lock_held


def test_new_store_is_wal_versioned_and_marked(sqlite_db):
    # SQLite only: WAL and the file's PRAGMA marks (PostgreSQL: test_postgres_store.py).
    db = sqlite_db
    Run("r", store=db)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "iterations", "points", "splits", "states", "writers", "clock"} <= tables
    conn.close()


def test_a_store_from_a_newer_runwatch_is_refused(sqlite_db):
    # SQLite only: the version is a PRAGMA of the file (PostgreSQL: test_postgres_store.py).
    db = sqlite_db
    Run("r", store=db)
    Store._instances.clear()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ValueError, match="newer"):
        SQLiteStore(db)


def test_another_programs_sqlite_file_is_refused(tmp_path):
    path = str(tmp_path / "other.db")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(ValueError, match="not a runwatch store"):
        Run("r", store=path)
    text = tmp_path / "text.db"
    text.write_text("hello, I am not a database" * 100)
    with pytest.raises(ValueError, match="not a runwatch store"):
        Run("r", store=str(text))


def test_migrations_run_once_from_an_older_version(tmp_path):
    path = str(tmp_path / "old.db")
    calls = []
    # A fresh file is version 0: the one migration runs; opening again runs none.
    SQLiteStore(path)
    SQLiteStore(path)
    conn = sqlite3.connect(path)
    calls.append(conn.execute("SELECT count(*) FROM clock").fetchone()[0])
    conn.close()
    assert calls == [1]


def test_states_in_the_store_are_plain_rows(db):
    run = Run("s", store=db)
    with run.iteration("it") as it:
        it.update("train", [0, 1, 1], y_pred=[0, 1, 0])
    rows = query(db, "SELECT key, dtype, shape, data FROM states")
    assert rows
    for _key, dtype, _shape, data in rows:
        assert np.dtype(dtype).kind in "biufUSc"
        assert isinstance(data, bytes)


def test_effective_status():
    import os
    import time

    from runwatch.tracking.store import HOST

    now = time.time()
    assert effective_status("completed", None, None, None, now) == "completed"
    assert effective_status("running", None, None, None, now) == "interrupted"
    assert effective_status("running", os.getpid(), HOST, now, now) == "running"
    assert effective_status("running", 2**22 + 12345, HOST, now, now) == "interrupted"
    assert effective_status("running", 1, "elsewhere", now - 5, now) == "running"
    assert effective_status("queued", 1, "elsewhere", now - 60, now) == "interrupted"


def test_a_version_1_store_gains_metric_options_and_keeps_its_runs(tmp_path):
    path = str(tmp_path / "v1.db")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO runs (name, task, primary_metric, goal, labels, created, seq) "
        "VALUES ('old', 'classification', 'accuracy', 'maximize', NULL, 0, 1)"
    )
    conn.commit()
    conn.close()
    old = Run("old", store=path)
    assert old.metric_options == {}
    seg = Run("seg", task="segmentation", labels=["a", "b"], metric_options={"ignore_index": 9},
              store=path)  # fmt: skip
    assert seg.metric_options == {"ignore_index": 9}
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


# ------------------------------------------------------- opening, all at once

# Each child opens the store named by each line of its stdin (all children get
# the same line at the same moment) and, with "log", logs one iteration into
# it; it answers "ok" or the error, one line per store.
OPEN_EACH_LINE = """
import sys
from runwatch.tracking import Run
from runwatch.tracking.store import Store

worker, log = sys.argv[1], sys.argv[2] == "log"
print("ready", flush=True)
for line in sys.stdin:
    path = line.rstrip("\\n")
    try:
        if log:
            run = Run("race", primary_metric="loss", store=path)
            with run.iteration(f"worker-{worker}") as it:
                it.log_loss(float(worker), step=0)
        Store.open(path).close()
        answer = "ok"
    except Exception as exc:
        answer = f"{type(exc).__name__}: {exc}".replace("\\n", " ")
    print(answer, flush=True)
"""


def open_together(tmp_path, processes: int, stores: int, log: bool) -> tuple[list[str], list[str]]:
    """Have `processes` fresh interpreters open each of `stores` new files at the same moment.

    Returns the paths and the failures ("store k, worker w: error").
    """
    children = [
        spawn(
            OPEN_EACH_LINE,
            str(w),
            "log" if log else "open",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(processes)
    ]
    paths, failures = [], []
    try:
        for child in children:
            assert child.stdout.readline() == "ready\n"
        for k in range(stores):
            path = str(tmp_path / f"new-{k}.db")
            paths.append(path)
            for child in children:  # a line each, then wait for every answer
                child.stdin.write(path + "\n")
                child.stdin.flush()
            for w, child in enumerate(children):
                answer = child.stdout.readline().strip()
                if answer != "ok":
                    failures.append(f"store {k}, worker {w}: {answer or 'no answer'}")
    finally:
        for child in children:
            child.stdin.close()
            child.wait(timeout=60)
    return paths, failures


def test_processes_creating_one_new_store_together_all_log_into_it(tmp_path):
    # Parallel sweep workers start like this. SQLite refuses the switch of a
    # fresh file to WAL at once, without waiting, while another process writes
    # it: that read as "not a runwatch store" in about 1 round in 25.
    processes = 4
    paths, failures = open_together(tmp_path, processes, stores=100, log=True)
    assert failures == []
    for path in paths:
        run = open_run("race", store=path)
        table = run.iterations()
        assert sorted(table["name"]) == [f"worker-{w}" for w in range(processes)]
        assert set(table["status"]) == {"completed"}
        for it in run.iteration_list():
            assert list(it.losses()["value"]) == [float(it.name.split("-")[1])]


def test_two_processes_opening_150_new_stores_together_never_fail(tmp_path):
    # The measurement: 80 of these 300 opens failed.
    paths, failures = open_together(tmp_path, processes=2, stores=150, log=False)
    assert failures == []
    for path in paths:
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.close()


def _hold_write_lock(path: str) -> sqlite3.Connection:
    """Another connection in the middle of writing `path` (as a process creating it would be)."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_opening_a_new_store_waits_for_a_connection_writing_it(sqlite_db):
    # SQLite only: the file's lock (PostgreSQL's advisory lock: test_postgres_store.py).
    db = sqlite_db
    holder = _hold_write_lock(db)
    release = threading.Timer(0.3, holder.execute, ("ROLLBACK",))
    release.start()
    try:
        run = Run("r", store=db)
    finally:
        release.join()
        holder.close()
    with run.iteration("it") as it:
        it.log_loss(0.5)
    assert list(open_run("r", store=db).get("it").losses()["value"]) == [0.5]


def test_opening_gives_up_after_the_stated_timeout_and_changes_nothing(sqlite_db, monkeypatch):
    # SQLite only: the file's lock and size (PostgreSQL: test_postgres_store.py).
    db = sqlite_db
    monkeypatch.setattr(store_module, "OPEN_TIMEOUT", 0.3)
    holder = _hold_write_lock(db)
    try:
        with pytest.raises(TimeoutError, match=r"^store: .* stayed locked .* for 0\.3 s"):
            Run("r", store=db)
        assert Store._instances == {}
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert os.path.getsize(db) == 0  # nothing written while it waited
    Run("r", store=db)  # the lock gone, the same call works


def test_opening_an_up_to_date_store_takes_no_write_lock(db, monkeypatch):
    # A watcher opens the store while a writer is in a long transaction.
    Run("r", store=db)
    Store.open(db).close()
    monkeypatch.setattr(store_module, "OPEN_TIMEOUT", 0.3)
    with write_lock_held(db):
        Store.open(db).close()
        assert open_run("r", store=db).name == "r"


def test_a_folder_is_refused_as_a_file_system_error(tmp_path):
    with pytest.raises(OSError, match=r"^store: cannot open .*: unable to open database file"):
        Run("r", store=str(tmp_path))


# ----------------------------------------------------------------- store URLs


@pytest.mark.parametrize(
    "url",
    [
        "mysql+pymysql://user:secret@db.example/runs",
        "mysql+pymysql://db.example/runs",
        "HTTPS://example.com/runs.db",
        "file:///tmp/runs.db",
    ],
)
def test_a_url_no_backend_opens_is_refused_and_creates_nothing(url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scheme = url.split("://")[0].lower()
    with pytest.raises(ValueError, match=r"^store: .*sqlite://") as refused:
        Run("r", store=url)
    message = str(refused.value)
    assert f"{scheme}://" in message
    assert "secret" not in message  # the URL's password is not repeated
    assert os.listdir(tmp_path) == []
    assert Store._instances == {}
    monkeypatch.setenv("RUNWATCH_STORE", url)
    with pytest.raises(ValueError, match=r"^RUNWATCH_STORE: .*sqlite://"):
        Run("r")
    assert os.listdir(tmp_path) == []


def test_a_sqlite_url_names_the_file_sqlalchemy_would(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    relative = Run("r", store="sqlite:///runs.db")
    assert relative.store == str(tmp_path / "runs.db")
    absolute = str(tmp_path / "sub" / "abs.db")
    assert Store.open(f"sqlite:///{absolute}") is Store.open(absolute)  # four slashes
    assert Store.open("SQLite:///my%20runs.db").path == str(tmp_path / "my runs.db")
    monkeypatch.setenv("RUNWATCH_STORE", "sqlite:///from-env.db")
    assert Run("r").store == str(tmp_path / "from-env.db")


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///", "sqlite://host/runs.db", "sqlite:///runs.db?mode=ro"]
)
def test_a_sqlite_url_without_a_plain_file_is_refused(url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"^store: a sqlite URL .*sqlite:///runs\.db"):
        Run("r", store=url)
    assert os.listdir(tmp_path) == []


def test_only_scheme_and_two_slashes_make_a_url():
    assert url_scheme("postgresql+psycopg://h/db") == "postgresql+psycopg"
    assert url_scheme("SQLITE:///x.db") == "sqlite"
    for path in ["runs.db", "C:\\runs\\a.db", "C:/runs/a.db", "a:b.db", "/tmp/x://y", "1a://b"]:
        assert url_scheme(path) is None, path
