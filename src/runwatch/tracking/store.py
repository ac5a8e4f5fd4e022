"""Opening a store: which backend a ``store=`` value names, and the names other modules use.

``store=`` (and ``$RUNWATCH_STORE``, and the CLI's ``--store``) is a file
path or a URL whose scheme ``BACKENDS`` knows:

- a path or ``sqlite:///path``: an SQLite file (:mod:`runwatch.tracking._sqlite`);
- ``postgresql://user@host:port/db`` or ``postgres://...``: a PostgreSQL
  database (:mod:`runwatch.tracking._postgres`, which imports psycopg 3, the
  ``runwatch[postgres]`` extra, only then).

Any other ``scheme://`` is refused, never taken for a file name. Both
backends implement the :class:`~runwatch.tracking._backend.Store` protocol:
the same schema, migrations and guarantees.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from ._backend import (
    HOST,
    STALE_AFTER,
    STALE_LOCAL_AFTER,
    Store,
    effective_status,
    pid_alive,
    tick,
    transaction,
)
from ._sqlite import (
    APPLICATION_ID,
    BUSY_TIMEOUT_MS,
    MIGRATIONS,
    SCHEMA_VERSION,
    SQLiteStore,
    sqlite_url_path,
)

__all__ = [
    "APPLICATION_ID",
    "BACKENDS",
    "BUSY_TIMEOUT_MS",
    "DEFAULT_STORE",
    "HOST",
    "MIGRATIONS",
    "OPEN_TIMEOUT",
    "SCHEMA_VERSION",
    "STALE_AFTER",
    "STALE_LOCAL_AFTER",
    "SQLiteStore",
    "Store",
    "effective_status",
    "open_store",
    "pid_alive",
    "sqlite_url_path",
    "tick",
    "transaction",
    "url_scheme",
]

DEFAULT_STORE = "runwatch.db"
#: Seconds that opening a store waits, in all, for other connections holding
#: its lock (another process creating or migrating the same store) before it
#: raises ``TimeoutError``.
OPEN_TIMEOUT = 30.0
# RFC 3986: a scheme is a letter, then letters, digits, "+", "-" or ".".
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def url_scheme(where: str) -> str | None:
    """Return the lower-cased scheme of `where` if it is a ``scheme://`` URL, else None.

    A Windows drive letter is not followed by ``//``: such a path stays a path.
    """
    match = _URL.match(where)
    return match.group(1).lower() if match else None


def _given(store: Any) -> tuple[str, str]:
    """Return what `store` (else ``$RUNWATCH_STORE``, else the default) says, and its name."""
    if store is None:
        env = os.environ.get("RUNWATCH_STORE")
        if env:
            return env, "RUNWATCH_STORE"
        return DEFAULT_STORE, "store"
    if not isinstance(store, (str, os.PathLike)):
        raise ValueError(f"store must be a path or a URL, got {type(store).__name__}")
    return os.fspath(store), "store"


def _check_scheme(scheme: str, argument: str) -> None:
    if scheme not in BACKENDS:
        raise ValueError(
            f"{argument}: no runwatch store opens {scheme}:// URLs; give a file path or a URL "
            f"of a supported scheme ({', '.join(f'{s}://' for s in sorted(BACKENDS))})"
        )


def open_store(store: Any = None, create: bool = True) -> Store:
    """Return the store `store` names (see :meth:`Store.open`)."""
    where, argument = _given(store)
    scheme = url_scheme(where)
    if scheme is None:
        return SQLiteStore.open_file(os.path.abspath(where), create)
    _check_scheme(scheme, argument)
    return BACKENDS[scheme](where, create, argument)


def _open_sqlite_url(url: str, create: bool, argument: str) -> Store:
    return SQLiteStore.open_file(sqlite_url_path(url, argument), create)


def _open_postgres_url(url: str, create: bool, argument: str) -> Store:
    # Imported here: psycopg is an optional extra, needed by PostgreSQL URLs only.
    try:
        from ._postgres import PostgresStore
    except ImportError as exc:
        if exc.name != "psycopg":
            raise
        raise ImportError(
            f"{argument}: a postgresql:// store needs psycopg 3: pip install 'runwatch[postgres]'",
            name="psycopg",
        ) from None

    return PostgresStore.open_url(url, create, argument)


#: scheme -> opener(url, create, argument name) of the store= URLs runwatch
#: opens. Plain paths are SQLite files; any scheme missing here is refused.
BACKENDS: dict[str, Callable[[str, bool, str], Store]] = {
    "sqlite": _open_sqlite_url,
    "postgresql": _open_postgres_url,
    "postgres": _open_postgres_url,
}
