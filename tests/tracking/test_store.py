"""The store file: WAL, versioned schema, plain-array states, refusing foreign files."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from runwatch.tracking import Run
from runwatch.tracking.store import (
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    Store,
    effective_status,
)


def test_new_store_is_wal_versioned_and_marked(db):
    Run("r", store=db)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "iterations", "points", "splits", "states", "writers", "clock"} <= tables
    conn.close()


def test_a_store_from_a_newer_runwatch_is_refused(db):
    Run("r", store=db)
    Store._instances.clear()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ValueError, match="newer"):
        Store(db)


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
    Store(path)
    Store(path)
    conn = sqlite3.connect(path)
    calls.append(conn.execute("SELECT count(*) FROM clock").fetchone()[0])
    conn.close()
    assert calls == [1]


def test_states_in_the_store_are_plain_rows(db):
    run = Run("s", store=db)
    with run.iteration("it") as it:
        it.update("train", [0, 1, 1], y_pred=[0, 1, 0])
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT key, dtype, shape, data FROM states").fetchall()
    conn.close()
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
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    conn.close()
