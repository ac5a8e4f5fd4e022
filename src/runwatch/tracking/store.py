"""The embedded store: one SQLite file in WAL mode, its schema, migrations and reads.

Layout (schema version 2):

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

``store=`` (and ``$RUNWATCH_STORE``) is a file path or a URL whose scheme
``BACKENDS`` knows: only ``sqlite:///path`` today. Any other ``scheme://`` is
refused, never taken for a file name; a new backend (PostgreSQL) registers
its scheme there and nowhere else.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np

from ._codec import decode_array

# "RWCH": marks the file as a runwatch store, so another program's SQLite file
# is refused instead of having tables added to it.
APPLICATION_ID = 0x52574348
DEFAULT_STORE = "runwatch.db"
HOST = socket.gethostname()
# A writer on another host is presumed dead after this long without a heartbeat.
STALE_AFTER = 15.0
# On this host the pid decides; this only guards against a reused pid.
STALE_LOCAL_AFTER = 300.0
BUSY_TIMEOUT_MS = 30_000
#: Seconds that opening a store waits, in all, for other connections holding
#: its lock (another process creating or migrating the same file) before it
#: raises ``TimeoutError``.
OPEN_TIMEOUT = 30.0
# SQLite's primary result codes (the low byte of an extended code).
_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
# SQLITE_PERM, READONLY, IOERR, FULL, CANTOPEN: the file system said no, not the file.
_IO_CODES = {3, 8, 10, 13, 14}
# RFC 3986: a scheme is a letter, then letters, digits, "+", "-" or ".".
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


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


# MIGRATIONS[k] takes the schema from version k to k + 1. Append, never edit.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migration_1, _migration_2]
SCHEMA_VERSION = len(MIGRATIONS)


def url_scheme(where: str) -> str | None:
    """Return the lower-cased scheme of `where` if it is a ``scheme://`` URL, else None.

    A Windows drive letter is not followed by ``//``: such a path stays a path.
    """
    match = _URL.match(where)
    return match.group(1).lower() if match else None


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


def _given(store: Any) -> tuple[str, str]:
    """Return what `store` (else ``$RUNWATCH_STORE``, else the default) says, and its name."""
    if store is None:
        env = os.environ.get("RUNWATCH_STORE")
        if env:
            return env, "RUNWATCH_STORE"
        return DEFAULT_STORE, "store"
    if not isinstance(store, (str, os.PathLike)):
        raise ValueError(f"store must be a path, got {type(store).__name__}")
    return os.fspath(store), "store"


def _check_scheme(scheme: str, argument: str) -> None:
    if scheme not in BACKENDS:
        raise ValueError(
            f"{argument}: no runwatch store opens {scheme}:// URLs; give a file path or a URL "
            f"of a supported scheme ({', '.join(f'{s}://' for s in sorted(BACKENDS))})"
        )


def pid_alive(pid: int) -> bool:
    """Return whether process `pid` exists on this host."""
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def effective_status(
    status: str,
    pid: int | None,
    host: str | None,
    heartbeat: float | None,
    now: float | None = None,
) -> str:
    """Return the status an iteration reads as, given its writer's liveness.

    A queued or running iteration whose writer process is gone (dead pid on
    this host, a heartbeat older than ``STALE_AFTER`` elsewhere, no writer at
    all) is interrupted: nobody will ever end it.
    """
    if status not in ("running", "queued"):
        return status
    if pid is None or heartbeat is None:
        return "interrupted"
    age = (time.time() if now is None else now) - heartbeat
    if host == HOST:
        if not pid_alive(pid) or age > STALE_LOCAL_AFTER:
            return "interrupted"
        return status
    return "interrupted" if age > STALE_AFTER else status


class Store:
    """One store file, shared by every run of this process that logs to it.

    Use :meth:`open`, which returns the same object for the same path, so a
    process has one background writer per file. Each thread reads through its
    own connection; the writer thread has its own.

    Parameters
    ----------
    path : str
        Absolute path of the SQLite file.
    """

    _instances: dict[str, Store] = {}
    _instances_lock = threading.Lock()

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._writer: Any = None
        self._writer_lock = threading.Lock()
        # Followers in this process (the widget) that hear of an iteration being
        # created, started or ended at once, rather than at their next poll.
        self.iteration_events: set[threading.Event] = set()
        self._migrate()

    # ---------------------------------------------------------------- opening

    @classmethod
    def open(cls, store: Any = None, create: bool = True) -> Store:
        """Return the store `store` names, creating it if asked.

        `store` wins, then the ``RUNWATCH_STORE`` environment variable, then
        ``./runwatch.db``: a file path, or a URL that goes to the backend of
        its scheme in ``BACKENDS`` (``sqlite:///path`` only, see
        :func:`sqlite_url_path`). The same file gives the same object.

        Safe from any number of processes and threads at once: another
        connection holding the file's lock is waited for, at most
        ``OPEN_TIMEOUT`` (30 s) in all.

        Raises
        ------
        FileNotFoundError
            When the file does not exist and `create` is false.
        ValueError
            When `store` is a URL of a scheme no backend opens, the file is
            not a runwatch store or was written by a newer runwatch.
        OSError
            When the file system refuses the file (a folder, no permission).
        TimeoutError
            When other connections kept the file locked for ``OPEN_TIMEOUT``.
        """
        if isinstance(store, Store):
            return store
        where, argument = _given(store)
        scheme = url_scheme(where)
        if scheme is None:
            return cls.open_file(os.path.abspath(where), create)
        _check_scheme(scheme, argument)
        return BACKENDS[scheme](where, create, argument)

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
            opened = cls(path)
            cls._instances[path] = opened
            return opened

    def connect(self) -> sqlite3.Connection:
        """Return this thread's connection to the store."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.new_connection()
            self._local.conn = conn
        return conn

    def disconnect(self) -> None:
        """Close this thread's connection, if it has one (a thread that ends calls it)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

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
        deadline = time.monotonic() + OPEN_TIMEOUT
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
                    f"{OPEN_TIMEOUT:g} s while opening it"
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

    def iteration_changed(self) -> None:
        """Set each event of :attr:`iteration_events` (an iteration was created, started, ended)."""
        for event in tuple(self.iteration_events):
            event.set()

    @property
    def writer(self) -> Any:
        """The background writer of this process for this file (started on first use)."""
        if self._writer is None:
            with self._writer_lock:
                if self._writer is None:
                    from .writer import Writer

                    self._writer = Writer(self)
        return self._writer

    def flush(self, timeout: float | None = 30.0, states: bool = True) -> None:
        """Commit everything this process logged so far (no-op if it logged nothing).

        ``states=False`` leaves engine snapshots to their own schedule (see
        :meth:`Writer.flush <runwatch.tracking.writer.Writer.flush>`).
        """
        if self._writer is not None:
            self._writer.flush(timeout=timeout, states=states)

    # ------------------------------------------------------------------ reads

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Read several tables from one consistent snapshot of the file."""
        conn = self.connect()
        if conn.in_transaction:  # nested: already inside a snapshot
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def run_row(self, name: str) -> dict[str, Any] | None:
        """Return the run called `name` as a dict, or None."""
        cur = self.connect().execute("SELECT * FROM runs WHERE name = ?", (name,))
        return _one(cur)

    def run_rows(self) -> list[dict[str, Any]]:
        """Return every run, oldest first."""
        return _all(self.connect().execute("SELECT * FROM runs ORDER BY id"))

    def iteration_rows(
        self, run_id: int, since_seq: int = 0, ids: list[int] | None = None
    ) -> list[dict[str, Any]]:
        """Return a run's iterations with their writer's liveness, oldest first."""
        sql = (
            "SELECT i.*, w.pid AS writer_pid, w.host AS writer_host, w.heartbeat "
            "FROM iterations i LEFT JOIN writers w ON w.id = i.writer_id "
            "WHERE i.run_id = ? AND i.seq > ?"
        )
        args: list[Any] = [run_id, since_seq]
        if ids is not None:
            sql += f" AND i.id IN ({','.join('?' * len(ids))})"
            args += ids
        rows = _all(self.connect().execute(sql + " ORDER BY i.id", args))
        now = time.time()
        for row in rows:
            row["stored_status"] = row["status"]
            row["status"] = effective_status(
                row["status"], row["writer_pid"], row["writer_host"], row["heartbeat"], now
            )
        return rows

    def active_rows(self, run_id: int) -> list[dict[str, Any]]:
        """Return the run's queued and running iterations (the only ones that can die)."""
        sql = (
            "SELECT i.*, w.pid AS writer_pid, w.host AS writer_host, w.heartbeat "
            "FROM iterations i LEFT JOIN writers w ON w.id = i.writer_id "
            "WHERE i.run_id = ? AND i.status IN ('queued', 'running') ORDER BY i.id"
        )
        rows = _all(self.connect().execute(sql, (run_id,)))
        now = time.time()
        for row in rows:
            row["stored_status"] = row["status"]
            row["status"] = effective_status(
                row["status"], row["writer_pid"], row["writer_host"], row["heartbeat"], now
            )
        return rows

    def split_rows(self, iteration_ids: list[int] | None = None) -> list[dict[str, Any]]:
        """Return the dataset stats and stored metrics of the given iterations."""
        if iteration_ids is None:
            return _all(self.connect().execute("SELECT * FROM splits ORDER BY iteration_id, split"))
        if not iteration_ids:
            return []
        marks = ",".join("?" * len(iteration_ids))
        sql = f"SELECT * FROM splits WHERE iteration_id IN ({marks}) ORDER BY iteration_id, split"
        return _all(self.connect().execute(sql, iteration_ids))

    def state(self, iteration_id: int, split: str) -> dict[str, np.ndarray] | None:
        """Return the saved engine state of one split, or None if there is none."""
        rows = (
            self.connect()
            .execute(
                "SELECT key, dtype, shape, data FROM states WHERE iteration_id = ? AND split = ? "
                "ORDER BY key",
                (iteration_id, split),
            )
            .fetchall()
        )
        if not rows:
            return None
        return {
            key: decode_array(dtype, json.loads(shape), data, f"state {key!r}")
            for key, dtype, shape, data in rows
        }

    def points(self, iteration_id: int, kind: str) -> list[tuple[Any, ...]]:
        """Return (name, step, value, time) of one iteration's losses or metrics, in order."""
        return (
            self.connect()
            .execute(
                "SELECT name, step, value, time FROM points WHERE iteration_id = ? AND kind = ? "
                "ORDER BY id",
                (iteration_id, kind),
            )
            .fetchall()
        )

    def close(self) -> None:
        """Flush and stop this process's writer for the file and forget the store."""
        if self._writer is not None:
            self._writer.close()
        with self._instances_lock:
            if self._instances.get(self.path) is self:
                del self._instances[self.path]
        self.disconnect()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run a block as one write transaction: all of it commits, or none of it."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _open_sqlite_url(url: str, create: bool, argument: str) -> Store:
    return Store.open_file(sqlite_url_path(url, argument), create)


#: scheme -> opener(url, create, argument name) of the store= URLs runwatch
#: opens. Plain paths are SQLite files; any scheme missing here is refused.
BACKENDS: dict[str, Callable[[str, bool, str], Any]] = {"sqlite": _open_sqlite_url}


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


def tick(conn: sqlite3.Connection) -> int:
    """Advance the store's clock inside the current write transaction; return the new tick."""
    return conn.execute("UPDATE clock SET seq = seq + 1 RETURNING seq").fetchone()[0]


def _one(cur: sqlite3.Cursor) -> dict[str, Any] | None:
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def _all(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _forget_after_fork() -> None:
    # A forked child must not reuse the parent's connections or writer thread
    # (which does not exist in the child): start from nothing.
    Store._instances = {}
    Store._instances_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
