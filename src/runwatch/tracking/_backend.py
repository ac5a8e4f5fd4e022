"""What every store backend is: the :class:`Store` protocol and the reads they share.

A store is one database (an SQLite file, a PostgreSQL database or schema)
holding the tables described in :mod:`runwatch.tracking._sqlite` (schema
version 3, the same tables, columns and migrations on every backend). A
backend subclasses :class:`Store` and supplies:

- ``new_connection()``: a DB-API connection in autocommit mode whose
  ``execute(sql, args)`` takes ``?`` placeholders and returns a cursor
  (``fetchone``, ``fetchall``, ``description``), with ``executemany``,
  ``in_transaction`` and ``close``;
- ``_migrate()``: create or upgrade the schema, safe from many processes;
- ``BEGIN_READ``: the statement that opens one consistent read snapshot;
- ``insert_points``, ``split_metric_rows`` and ``follow_interval`` where the
  SQL dialects or the way followers hear of changes differ.

Every write transaction goes through :func:`transaction` and starts with
:func:`tick`, which advances the one-row clock: that row lock serialises
writers on every backend, so points and ticks grow in commit order and a
follower reading ``id > last`` or ``seq > last`` misses nothing.

The SQL the other tracking modules run is the portable subset both backends
speak (``?`` placeholders, ``RETURNING``, ``ON CONFLICT``).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ._codec import decode_array

HOST = socket.gethostname()
# A writer on another host is presumed dead after this long without a heartbeat.
STALE_AFTER = 15.0
# On this host the pid decides; this only guards against a reused pid.
STALE_LOCAL_AFTER = 300.0


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
    """One store, shared by every run of this process that logs to it.

    Use :meth:`open`, which returns the same object for the same store, so a
    process has one background writer per store. Each thread reads through
    its own connection; the writer thread has its own.

    Parameters
    ----------
    path : str
        What names the store in messages and in :attr:`_instances`: the
        absolute path of an SQLite file, a PostgreSQL URL without its password.
    """

    _instances: dict[str, Store] = {}
    _instances_lock = threading.Lock()
    #: Opens one consistent read snapshot (see :meth:`snapshot`).
    BEGIN_READ = "BEGIN"

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._writer: Any = None
        self._writer_lock = threading.Lock()
        # Followers in this process (the widget) that hear of an iteration being
        # created, started or ended at once, rather than at their next poll.
        self.iteration_events: set[threading.Event] = set()
        # Followers (Subscription) woken when another connection committed;
        # only backends that announce commits (PostgreSQL's NOTIFY) set them.
        self.change_events: set[threading.Event] = set()
        self._migrate()

    # ---------------------------------------------------------------- opening

    @classmethod
    def open(cls, store: Any = None, create: bool = True) -> Store:
        """Return the store `store` names, creating it if asked.

        `store` wins, then the ``RUNWATCH_STORE`` environment variable, then
        ``./runwatch.db``: a file path (SQLite), or a URL that goes to the
        backend of its scheme in :data:`runwatch.tracking.store.BACKENDS`
        (``sqlite:///path``, ``postgresql://user@host:port/db``). The same
        store gives the same object.

        Safe from any number of processes and threads at once: another
        connection holding the store's lock is waited for, at most
        ``OPEN_TIMEOUT`` (30 s) in all.

        Raises
        ------
        FileNotFoundError
            When the store does not exist and `create` is false.
        ValueError
            When `store` is a URL of a scheme no backend opens, the file or
            database is not a runwatch store or was written by a newer runwatch.
        OSError
            When the file system refuses the file (a folder, no permission) or
            the database server cannot be reached.
        TimeoutError
            When other connections kept the store locked for ``OPEN_TIMEOUT``.
        ImportError
            When a PostgreSQL URL is given and psycopg is not installed.
        """
        if isinstance(store, Store):
            return store
        from .store import open_store

        return open_store(store, create)

    def connect(self) -> Any:
        """Return this thread's connection to the store."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._broken(conn):
            conn = self.new_connection()
            self._local.conn = conn
        return conn

    def disconnect(self) -> None:
        """Close this thread's connection, if it has one (a thread that ends calls it)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def new_connection(self) -> Any:
        """Return a new connection in autocommit mode (transactions are explicit)."""
        raise NotImplementedError

    def _migrate(self) -> None:
        """Create or upgrade the schema (each backend, safe from many processes)."""
        raise NotImplementedError

    def _broken(self, conn: Any) -> bool:
        # A connection the server dropped is replaced on the next connect().
        return False

    def iteration_changed(self) -> None:
        """Set each event of :attr:`iteration_events` (an iteration was created, started, ended)."""
        for event in tuple(self.iteration_events):
            event.set()

    def follow_interval(self, interval: float) -> float:
        """Seconds a follower waits between two looks when no commit wakes it.

        A follower polls every `interval` on a backend that announces nothing
        (SQLite); one that announces commits overrides this.
        """
        return interval

    @property
    def writer(self) -> Any:
        """The background writer of this process for this store (started on first use)."""
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

    # ----------------------------------------------------------- SQL dialects

    def insert_points(self, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        """Insert points inside the caller's write transaction, in order.

        Each row is (run_id, iteration_id, kind, name, step, value, time).
        """
        conn.executemany(
            "INSERT INTO points (run_id, iteration_id, kind, name, step, value, time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def split_metric_rows(self, run_id: int, name: str) -> list[tuple[Any, ...]]:
        """Return (iteration_id, split, value) of metric `name` in each split of the run.

        A metric stored as null (undefined, NaN) gives None; a split without
        the metric gives no row.
        """
        return (
            self.connect()
            .execute(
                "SELECT s.iteration_id, s.split, j.value FROM splits s "
                "JOIN iterations i ON i.id = s.iteration_id, json_each(s.metrics) j "
                "WHERE i.run_id = ? AND j.key = ?",
                (run_id, name),
            )
            .fetchall()
        )

    # ------------------------------------------------------------------ reads

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        """Read several tables from one consistent snapshot of the store."""
        conn = self.connect()
        if conn.in_transaction:  # nested: already inside a snapshot
            yield conn
            return
        conn.execute(self.BEGIN_READ)
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
            if not ids:
                return []
            sql += f" AND i.id IN ({','.join('?' * len(ids))})"
            args += ids
        return _with_status(_all(self.connect().execute(sql + " ORDER BY i.id", args)))

    def active_rows(self, run_id: int) -> list[dict[str, Any]]:
        """Return the run's queued and running iterations (the only ones that can die)."""
        sql = (
            "SELECT i.*, w.pid AS writer_pid, w.host AS writer_host, w.heartbeat "
            "FROM iterations i LEFT JOIN writers w ON w.id = i.writer_id "
            "WHERE i.run_id = ? AND i.status IN ('queued', 'running') ORDER BY i.id"
        )
        return _with_status(_all(self.connect().execute(sql, (run_id,))))

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
            key: decode_array(dtype, json.loads(shape), bytes(data), f"state {key!r}")
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
        """Flush and stop this process's writer for the store and forget the store."""
        if self._writer is not None:
            self._writer.close()
        with self._instances_lock:
            if self._instances.get(self.path) is self:
                del self._instances[self.path]
        self.disconnect()


@contextmanager
def transaction(conn: Any) -> Iterator[Any]:
    """Run a block as one write transaction: all of it commits, or none of it."""
    # SQLite: take the write lock now, not at the first write (no upgrade deadlock).
    conn.execute("BEGIN IMMEDIATE" if isinstance(conn, sqlite3.Connection) else "BEGIN")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def tick(conn: Any, iterations: bool = False) -> int:
    """Advance the store's clock inside the current write transaction; return the new tick.

    The clock's row lock is what orders write transactions on every backend;
    a backend that announces commits (PostgreSQL) does it here too, saying
    whether the transaction creates or changes iterations (`iterations`), what
    :attr:`Store.iteration_events` wait for.
    """
    if isinstance(conn, sqlite3.Connection):
        return conn.execute("UPDATE clock SET seq = seq + 1 RETURNING seq").fetchone()[0]
    return conn.tick(iterations)


def _with_status(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = time.time()
    for row in rows:
        row["stored_status"] = row["status"]
        row["status"] = effective_status(
            row["status"], row["writer_pid"], row["writer_host"], row["heartbeat"], now
        )
    return rows


def _one(cur: Any) -> dict[str, Any] | None:
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def _all(cur: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _forget_after_fork() -> None:
    # A forked child must not reuse the parent's connections or writer thread
    # (which does not exist in the child): start from nothing.
    Store._instances = {}
    Store._instances_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
