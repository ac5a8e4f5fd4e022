"""The SQLite backend: one file in WAL mode, its schema and migrations.

Layout (schema version 3; :mod:`runwatch.tracking._postgres` builds the same
tables):

- ``runs``: one row per run (name unique, task, primary metric, goal, labels,
  metric options).
- ``iterations``: one row per iteration (status, times, params, tags, feature
  importance, the writer that owns it).
- ``writers``: one row per process that logged (pid, host, heartbeat); a
  running iteration whose writer is dead or silent reads as interrupted.
- ``points``: every loss and logged metric, in commit order (``id`` is the
  rowid and points are never deleted, so ids grow with commits and a watcher
  reads ``id > last_seen``, a range of the primary key).
- ``splits``: per iteration and split, the dataset stats and the metrics the
  writer computed from the engine state it saved with them.
- ``states``: the engine state, one row per array (raw bytes, dtype, shape):
  plain arrays, never pickle (:mod:`runwatch.tracking._codec`).
- ``steps``: per iteration, split and step, the confusion matrix and metrics
  at the end of that step (:mod:`runwatch.tracking._snapshots`, the replay).
- ``clock``: one counter bumped by every write transaction; rows that change
  in place (iterations, splits) carry the tick that last touched them, so a
  watcher reads ``seq > last_seen`` instead of everything.

The schema version is ``PRAGMA user_version``; ``MIGRATIONS[k]`` takes a store
from version ``k`` to ``k + 1`` inside one transaction.

Opening is safe from any number of processes and threads at once (parallel
sweep workers all create the same new file): a lock held by another
connection is waited for, the schema step is retried in one transaction, for
at most ``OPEN_TIMEOUT`` (30 s) in all, and only a file that really is
something else reads as "not a runwatch store".
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

from . import store as _opening
from ._backend import Store, transaction

# "RWCH": marks the file as a runwatch store, so another program's SQLite file
# is refused instead of having tables added to it.
APPLICATION_ID = 0x52574348
BUSY_TIMEOUT_MS = 30_000
# SQLite's primary result codes (the low byte of an extended code).
_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
# SQLITE_PERM, READONLY, IOERR, FULL, CANTOPEN: the file system said no, not the file.
_IO_CODES = {3, 8, 10, 13, 14}


def _migration_1(conn: sqlite3.Connection) -> None:
    statements = [
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            task TEXT NOT NULL,
            primary_metric TEXT NOT NULL,
            goal TEXT NOT NULL,
            labels TEXT,
            created REAL NOT NULL,
            seq INTEGER NOT NULL)""",
        """CREATE TABLE writers (
            id INTEGER PRIMARY KEY,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            started REAL NOT NULL,
            heartbeat REAL NOT NULL)""",
        """CREATE TABLE iterations (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            name TEXT NOT NULL,
            params TEXT NOT NULL,
            tags TEXT NOT NULL,
            status TEXT NOT NULL,
            error TEXT,
            created REAL NOT NULL,
            started REAL,
            ended REAL,
            feature_importance TEXT,
            writer_id INTEGER REFERENCES writers(id),
            seq INTEGER NOT NULL)""",
        "CREATE INDEX iterations_run_seq ON iterations(run_id, seq)",
        # step has no declared type: an int step stays an int, a float a float.
        # id is the rowid without AUTOINCREMENT (30% cheaper inserts): points
        # are never deleted, so a new rowid is always max + 1, in commit order.
        """CREATE TABLE points (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL,
            iteration_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            step,
            value REAL NOT NULL,
            time REAL NOT NULL)""",
        "CREATE INDEX points_series ON points(iteration_id, kind, name)",
        """CREATE TABLE splits (
            iteration_id INTEGER NOT NULL,
            split TEXT NOT NULL,
            n_samples INTEGER NOT NULL,
            class_counts TEXT NOT NULL,
            metrics TEXT,
            reasons TEXT,
            seq INTEGER NOT NULL,
            PRIMARY KEY (iteration_id, split))""",
        "CREATE INDEX splits_seq ON splits(seq)",
        """CREATE TABLE states (
            iteration_id INTEGER NOT NULL,
            split TEXT NOT NULL,
            key TEXT NOT NULL,
            dtype TEXT NOT NULL,
            shape TEXT NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (iteration_id, split, key))""",
        "CREATE TABLE clock (seq INTEGER NOT NULL)",
        "INSERT INTO clock (seq) VALUES (0)",
    ]
    for statement in statements:
        conn.execute(statement)


def _migration_2(conn: sqlite3.Connection) -> None:
    # The run's engine arguments beyond its labels (JSON; e.g. a segmentation
    # run's ignore_index), which every iteration's engine is built with.
    conn.execute("ALTER TABLE runs ADD COLUMN metric_options TEXT")


def _migration_3(conn: sqlite3.Connection) -> None:
    # One snapshot per step of a split (tracking/_snapshots.py): the matrix
    # and metrics of the replay, never the engine state. step is JSON text,
    # so an int step reads back as an int on every backend.
    conn.execute(
        """CREATE TABLE steps (
            iteration_id INTEGER NOT NULL,
            split TEXT NOT NULL,
            pos INTEGER NOT NULL,
            step TEXT NOT NULL,
            true_labels TEXT NOT NULL,
            labels TEXT NOT NULL,
            dtype TEXT,
            matrix BLOB,
            metrics TEXT,
            seq INTEGER NOT NULL,
            PRIMARY KEY (iteration_id, split, pos))"""
    )
    conn.execute("CREATE INDEX steps_seq ON steps(seq)")


# MIGRATIONS[k] takes the schema from version k to k + 1. Append, never edit.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migration_1, _migration_2, _migration_3]
SCHEMA_VERSION = len(MIGRATIONS)


def sqlite_url_path(url: str, argument: str = "store") -> str:
    """Return the absolute path of the file a ``sqlite:///path`` URL names.

    SQLAlchemy's spelling: three slashes then a relative path
    (``sqlite:///runs.db``), four for an absolute one
    (``sqlite:////data/runs.db``); percent escapes are decoded. No host, query
    or fragment, and never in memory (``sqlite://``): another process could
    not watch that store.

    Raises
    ------
    ValueError
        Naming `argument`, when the URL is not of that form.
    """
    rest = url[len("sqlite://") :]
    if not rest.startswith("/"):
        raise ValueError(
            f"{argument}: a sqlite URL names a file after three slashes (sqlite:///runs.db, "
            "sqlite:////abs/runs.db), with no host and never in memory"
        )
    path = rest[1:]
    if not path or "?" in path or "#" in path:
        raise ValueError(
            f"{argument}: a sqlite URL is sqlite:///FILE with a file name and no query or "
            "fragment, e.g. sqlite:///runs.db"
        )
    return os.path.abspath(unquote(path))


class SQLiteStore(Store):
    """One SQLite file in WAL mode (see the module docstring).

    Parameters
    ----------
    path : str
        Absolute path of the file.
    """

    @classmethod
    def open_file(cls, path: str, create: bool = True) -> Store:
        """Return the store at the absolute `path` (see :meth:`open`)."""
        with cls._instances_lock:
            found = cls._instances.get(path)
            if found is not None and os.path.exists(path):
                return found
            if not create and not os.path.exists(path):
                raise FileNotFoundError(f"no runwatch store at {path}")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            opened = SQLiteStore(path)
            cls._instances[path] = opened
            return opened

    def new_connection(self) -> sqlite3.Connection:
        """Return a new connection in autocommit mode (transactions are explicit)."""
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # WAL + NORMAL: a commit survives a killed process (not a power cut), and
        # readers never block the writer.
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _migrate(self) -> None:
        """Create or upgrade the schema, waiting out other connections for ``OPEN_TIMEOUT``.

        SQLite answers some lock conflicts at once, without its busy handler:
        switching a fresh file to WAL while another connection writes it fails
        immediately with "database is locked". Those attempts start over, the
        schema step inside one transaction each time, after a short random
        pause that doubles up to 0.1 s.
        """
        deadline = time.monotonic() + _opening.OPEN_TIMEOUT
        pause = 0.002
        while True:
            try:
                self._migrate_once(deadline)
                return
            except sqlite3.DatabaseError as exc:
                code = _result_code(exc)
                if code not in _BUSY_CODES:
                    raise _open_error(self.path, exc, code) from None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"store: {self.path} stayed locked by another connection for "
                    f"{_opening.OPEN_TIMEOUT:g} s while opening it"
                )
            time.sleep(min(left, pause * random.uniform(0.5, 1.5)))
            pause = min(2 * pause, 0.1)

    def _migrate_once(self, deadline: float) -> None:
        conn = self.new_connection()
        try:
            # The statements below wait for a lock at most until the deadline.
            wait_ms = max(1, int((deadline - time.monotonic()) * 1000))
            conn.execute(f"PRAGMA busy_timeout = {wait_ms}")
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            if app_id not in (0, APPLICATION_ID):
                raise ValueError(f"{self.path} is not a runwatch store (application_id {app_id})")
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode.lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            version = self._check_version(conn)
            if app_id == APPLICATION_ID and version == SCHEMA_VERSION:
                return  # up to date: no write lock to wait for
            with transaction(conn):
                # Again inside the write transaction: another process may have
                # created the schema since this one looked.
                version = self._check_version(conn)
                if version == 0:
                    tables = conn.execute(
                        "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                    ).fetchone()[0]
                    if tables:
                        raise ValueError(f"{self.path} is an SQLite file but not a runwatch store")
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                for step in MIGRATIONS[version:]:
                    step(conn)
                if version != SCHEMA_VERSION:
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        finally:
            conn.close()

    def _check_version(self, conn: sqlite3.Connection) -> int:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"{self.path} has schema version {version}, newer than this runwatch "
                f"reads ({SCHEMA_VERSION}); upgrade runwatch"
            )
        return version



def _result_code(exc: sqlite3.DatabaseError) -> int | None:
    """SQLite's primary result code of `exc` (from its message before Python 3.11)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF
    message = str(exc)
    if "database is locked" in message:
        return 5
    if "database table is locked" in message:
        return 6
    if "unable to open database file" in message:
        return 14
    return None


def _open_error(path: str, exc: sqlite3.DatabaseError, code: int | None) -> Exception:
    """What opening `path` raises for an SQLite error that waiting cannot cure."""
    if code in _IO_CODES:
        return OSError(f"store: cannot open {path}: {exc}")
    return ValueError(f"{path} is not a runwatch store: {exc}")


