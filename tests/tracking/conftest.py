"""The tracking tests' store fixture (every test on SQLite and on PostgreSQL), subprocess helpers.

``db`` is parametrized: an SQLite file that does not exist yet, then an empty
schema on a PostgreSQL server the session starts (tests/_postgres.py). A
test that truly concerns SQLite alone (file locking, WAL, paths) asks for
``sqlite_db`` instead and says why.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from runwatch.tracking.store import Store, url_scheme

from .._postgres import Server, postgres_server

SRC = str(Path(__file__).resolve().parents[2] / "src")
#: Every table of a store, in dependency order.
TABLES = ("runs", "writers", "iterations", "points", "splits", "states", "steps", "clock")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    """A PostgreSQL server for the session (a missing one fails the tests, never skips them)."""
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store that does not exist yet: an SQLite path, then a PostgreSQL URL (a new schema)."""
    if request.param == "sqlite":
        return str(tmp_path / "runs.db")
    return request.getfixturevalue("postgres").new_schema()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    """Path of an SQLite store file that does not exist yet (for SQLite-only tests)."""
    return str(tmp_path / "runs.db")


def query(db: str, sql: str, args: tuple = ()) -> list[tuple]:
    """Rows of `sql` on a new connection to the store `db` (as another process would read)."""
    known = set(Store._instances.values())
    store = Store.open(db, create=False)
    conn = store.new_connection()
    try:
        return [tuple(row) for row in conn.execute(sql, args).fetchall()]
    finally:
        conn.close()
        if store not in known:  # leave the test's stores as they were
            store.close()


def store_dump(db: str) -> dict[str, list[tuple]]:
    """Every row of every table of the store: equal dumps, equal stores."""
    return {t: sorted(query(db, f"SELECT * FROM {t}"), key=repr) for t in TABLES}


@contextmanager
def write_lock_held(db: str) -> Iterator[None]:
    """Another connection holding what every write transaction of the store waits for."""
    Store.open(db)  # the schema exists
    if url_scheme(db) is None:
        conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")
    else:  # every PostgreSQL write starts with the clock's row lock
        import psycopg

        conn = psycopg.connect(db, autocommit=True)
        conn.execute("BEGIN")
        conn.execute("SELECT seq FROM clock FOR UPDATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("RUNWATCH_STORE", None)
    return env


def spawn(code: str, *args: str, **kwargs) -> subprocess.Popen:
    """Start `code` in a fresh interpreter (``sys.argv[1:]`` = `args`)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=child_env(),
        **kwargs,
    )


def run_child(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter to completion; fail the test if it fails."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return done


def batches(n: int, n_classes: int, size: int, seed: int = 0):
    """Deterministic labelled batches: (y_true, y_proba) with some signal in the scores."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y = rng.integers(0, n_classes, size)
        logits = rng.normal(size=(size, n_classes))
        logits[np.arange(size), y] += 1.0
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        out.append((y, p))
    return out
