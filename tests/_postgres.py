"""A throw-away PostgreSQL server for the tests: initdb in a temporary folder, a free port.

Debian's packages (``apt-get install postgresql``; scripts/_setup.sh installs
them when ``initdb`` is missing). PostgreSQL refuses to run as root, so as root
the server runs as the ``postgres`` user; clients connect over TCP on
127.0.0.1 with trust authentication. A missing server fails the tests that
need it, it never skips them.
"""

from __future__ import annotations

import getpass
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def _program(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    # Debian keeps the server's programs off PATH, in one folder per major version.
    for path in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return path
    raise RuntimeError(
        f"PostgreSQL's {name} was not found (apt-get install postgresql): the PostgreSQL "
        "store's tests need a server"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running server; :meth:`new_schema` gives each test a store of its own."""

    port: int
    user: str
    _names: itertools.count = field(default_factory=itertools.count)
    _tests_database: bool = False

    def url(self, database: str) -> str:
        """The ``postgresql://`` URL of `database` on this server."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE DATABASE cannot run inside one)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        """Create an empty database; return its URL (half a second: most tests take a schema)."""
        name = f"t{next(self._names)}"
        self.execute(f"CREATE DATABASE {name} TEMPLATE template0 STRATEGY file_copy")
        return self.url(name)

    def new_schema(self) -> str:
        """Create an empty schema in the shared database "tests"; return the URL whose
        search_path is that schema alone (a store of its own)."""
        if not self._tests_database:
            self.execute("CREATE DATABASE tests TEMPLATE template0")
            self._tests_database = True
        name = f"s{next(self._names)}"
        self.execute(f"CREATE SCHEMA {name}", "tests")
        return f"{self.url('tests')}?options=-csearch_path%3D{name}"


@contextmanager
def postgres_server() -> Iterator[Server]:
    """Start a server in a temporary folder; stop it and delete the folder at the end."""
    initdb, pg_ctl = _program("initdb"), _program("pg_ctl")
    root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if root else []
    user = "postgres" if root else getpass.getuser()
    # In memory where there is a tmpfs: a test server's files need no disk.
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    folder = tempfile.mkdtemp(prefix="runwatch-pg-", dir=shm)
    if root:
        shutil.chown(folder, "postgres", "postgres")
    data = os.path.join(folder, "data")
    log = os.path.join(folder, "server.log")

    def run(*args: str) -> None:
        done = subprocess.run([*run_as, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            server_log = open(log).read() if os.path.exists(log) else ""
            raise RuntimeError(f"{args[0]} failed: {done.stderr}{done.stdout}{server_log}")

    run(initdb, "-D", data, "-A", "trust", "-U", user, "-E", "UTF8", "--locale=C", "-N")
    port = _free_port()
    # fsync off: a test server's durability against power loss does not matter
    # (a killed client's commits stay: the server keeps running).
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off "
        "-c full_page_writes=off -c max_connections=300"
    )
    try:
        run(pg_ctl, "-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start")
        yield Server(port, user)
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", data, "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
