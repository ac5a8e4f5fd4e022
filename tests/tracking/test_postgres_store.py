"""What only the PostgreSQL store has: its schema marker, advisory-lock opening, URLs,
typed steps, NOTIFY-woken followers, an optional driver. Everything else runs on both
stores through the ``db`` fixture."""

from __future__ import annotations

import sys
import threading
import time

import psycopg
import pytest

from runwatch.tracking import Run, open_run
from runwatch.tracking import store as store_module
from runwatch.tracking._postgres import MIGRATIONS
from runwatch.tracking.store import APPLICATION_ID, SCHEMA_VERSION, Store, tick, transaction

from .conftest import TABLES, query, run_child, spawn


@pytest.fixture
def pg(postgres) -> str:
    return postgres.new_database()


def raw(pg: str, sql: str) -> list[tuple]:
    """Rows of `sql` through psycopg alone (the database may be no runwatch store)."""
    with psycopg.connect(pg, autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def test_a_new_database_gets_every_table_and_the_schema_version(pg):
    Run("r", store=pg)
    assert query(pg, "SELECT version FROM runwatch_schema") == [(SCHEMA_VERSION,)]
    tables = {r[0] for r in raw(pg, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == set(TABLES) | {"runwatch_schema"}
    # Real doubles, not PostgreSQL's 4-byte real: a value comes back bit for bit.
    run = open_run("r", pg)
    with run.iteration("it") as it:
        it.log_loss(0.1 + 0.2, step=0)
    assert list(open_run("r", pg).get("it").losses()["value"]) == [0.1 + 0.2]


def test_a_database_from_a_newer_runwatch_is_refused(pg):
    Run("r", store=pg)
    Store.open(pg).close()
    query(pg, f"UPDATE runwatch_schema SET version = {SCHEMA_VERSION + 1} RETURNING version")
    newer = rf"version {SCHEMA_VERSION + 1}, newer than this runwatch reads \({SCHEMA_VERSION}\)"
    with pytest.raises(ValueError, match=newer):
        Run("r", store=pg)


def test_another_programs_database_is_refused_and_gets_no_table(postgres, pg):
    db = pg.rsplit("/", 1)[1]
    postgres.execute("CREATE TABLE customers (id integer)", db)
    with pytest.raises(ValueError, match=r"not a runwatch store \(schema 'public' has 1 other"):
        Run("r", store=pg)
    tables = raw(pg, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert tables == [("customers",)]
    assert Store._instances == {}


def test_a_schema_of_its_own_is_a_store_of_its_own(postgres, pg):
    db = pg.rsplit("/", 1)[1]
    postgres.execute("CREATE TABLE customers (id integer)", db)
    postgres.execute("CREATE SCHEMA team", db)
    postgres.execute("CREATE SCHEMA other", db)
    url = pg + "?options=-csearch_path%3Dteam"
    Run("r", store=url)
    assert open_run("r", url).name == "r"
    assert Store.open(url) is not Store.open(pg + "?options=-csearch_path%3Dother")
    assert raw(pg, "SELECT count(*) FROM team.runs") == [(1,)]


def test_a_version_1_database_gains_metric_options_and_keeps_its_runs(pg):
    conn = psycopg.connect(pg, autocommit=True)
    conn.execute("CREATE TABLE runwatch_schema (version integer NOT NULL)")
    conn.execute("INSERT INTO runwatch_schema VALUES (1)")

    class Plain:  # MIGRATIONS take the store's connections, which speak "?"
        def execute(self, sql):
            return conn.execute(sql)

    MIGRATIONS[0](Plain())
    conn.execute(
        "INSERT INTO runs (name, task, primary_metric, goal, labels, created, seq) "
        "VALUES ('old', 'classification', 'accuracy', 'maximize', NULL, 0, 1)"
    )
    conn.close()
    assert Run("old", store=pg).metric_options == {}
    seg = Run("seg", task="segmentation", labels=["a", "b"], metric_options={"ignore_index": 9},
              store=pg)  # fmt: skip
    assert seg.metric_options == {"ignore_index": 9}
    assert query(pg, "SELECT version FROM runwatch_schema") == [(SCHEMA_VERSION,)]


def _hold_schema_lock(pg: str) -> psycopg.Connection:
    """Another connection in the middle of creating the schema (what opening waits for)."""
    holder = psycopg.connect(pg, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", (APPLICATION_ID,))
    return holder


def test_opening_a_new_database_waits_for_a_process_creating_it(pg):
    holder = _hold_schema_lock(pg)
    release = threading.Timer(0.3, holder.close)
    release.start()
    t0 = time.monotonic()
    try:
        run = Run("r", store=pg)
    finally:
        release.join()
    assert time.monotonic() - t0 >= 0.25
    with run.iteration("it") as it:
        it.log_loss(0.5)
    assert list(open_run("r", store=pg).get("it").losses()["value"]) == [0.5]


def test_opening_gives_up_after_the_stated_timeout_and_creates_nothing(pg, monkeypatch):
    monkeypatch.setattr(store_module, "OPEN_TIMEOUT", 0.3)
    holder = _hold_schema_lock(pg)
    try:
        with pytest.raises(TimeoutError, match=r"^store: .* stayed locked .* for 0\.3 s"):
            Run("r", store=pg)
        assert Store._instances == {}
    finally:
        holder.close()
    assert raw(pg, "SELECT to_regclass('runwatch_schema')") == [(None,)]
    Run("r", store=pg)  # the lock gone, the same call works


def test_processes_creating_one_new_database_together_all_log_into_it(pg):
    code = """
import sys
from runwatch.tracking import Run
run = Run("race", primary_metric="loss", store=sys.argv[1])
with run.iteration(f"worker-{sys.argv[2]}") as it:
    it.log_loss(float(sys.argv[2]), step=0)
"""
    procs = [spawn(code, pg, str(w)) for w in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0] * 4
    run = open_run("race", pg)
    assert sorted(run.iterations()["name"]) == [f"worker-{w}" for w in range(4)]
    for it in run.iteration_list():
        assert list(it.losses()["value"]) == [float(it.name.split("-")[1])]


def test_without_create_an_empty_database_is_not_found_and_stays_empty(pg):
    with pytest.raises(FileNotFoundError, match=r"^no runwatch store at postgresql://"):
        open_run("r", pg)
    assert raw(pg, "SELECT to_regclass('runwatch_schema')") == [(None,)]


def test_a_server_that_does_not_answer_is_an_os_error_without_the_password(monkeypatch):
    url = "postgresql://me:secret@127.0.0.1:1/runs"
    with pytest.raises(OSError, match=r"^store: cannot connect to postgresql://me@127\.0\.0\.1:1/"):
        Run("r", store=url)
    try:
        Run("r", store=url)
    except OSError as exc:
        assert "secret" not in str(exc)
    assert Store._instances == {}


def test_postgres_scheme_environment_and_password_free_name(postgres, pg, monkeypatch):
    Run("r", store=pg)
    alias = pg.replace("postgresql://", "postgres://")
    assert Store.open(alias) is Store.open(pg)
    monkeypatch.setenv("RUNWATCH_STORE", pg)
    assert Run("r").store == pg
    with_password = pg.replace(f"{postgres.user}@", f"{postgres.user}:pw@")
    assert Run("r", store=with_password).store == pg  # trust auth ignores it; never shown


@pytest.mark.parametrize("step", [3, 3.0, 0.5, 1e-7, 1e16, 2.5e300, 2**70, -7])
def test_a_step_keeps_its_type_and_value(pg, step):
    # SQLite's step column has no type; PostgreSQL's jsonb keeps an int an int.
    run = Run("s", store=pg)
    with run.iteration("it") as it:
        it.log_loss(1.0, step=step)
    (got,) = open_run("s", pg).get("it").losses()["step"].tolist()
    assert type(got) is type(step) and got == step


def test_a_follower_is_woken_by_notify_not_by_its_interval(pg):
    run = Run("n", store=pg)
    seen = []
    arrived = threading.Event()

    def callback(change):
        seen.extend(p.value for p in change.points)
        if seen:
            arrived.set()

    # An interval of 60 s: only a NOTIFY can bring the point within the test.
    sub = run.on_change(callback, interval=60.0, replay=False)
    try:
        time.sleep(0.3)  # let the first (empty) poll and LISTEN happen
        t0 = time.monotonic()
        run_child(
            """
import sys
from runwatch.tracking import Run
with Run("n", store=sys.argv[1]).iteration("it") as it:
    it.log_loss(0.25, step=0)
""",
            pg,
        )
        assert arrived.wait(10.0)
        assert time.monotonic() - t0 < 10.0
    finally:
        sub.cancel()
    assert seen == [0.25]


def test_tracking_imports_no_psycopg_until_a_postgresql_url_is_used(pg):
    code = """
import sys
import runwatch.tracking as t
assert "psycopg" not in sys.modules
t.Run("r", store=sys.argv[1] + "/sqlite.db")
assert "psycopg" not in sys.modules
t.Run("r", store=sys.argv[2])
assert "psycopg" in sys.modules
"""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        run_child(code, folder, pg)


def test_without_psycopg_a_postgresql_url_says_which_extra_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.delitem(sys.modules, "runwatch.tracking._postgres", raising=False)
    with pytest.raises(ImportError, match=r"^store: .*pip install 'runwatch\[postgres\]'"):
        Run("r", store="postgresql://u@127.0.0.1:1/runs")
    assert Store._instances == {}


def test_every_commit_wakes_followers_and_only_iteration_changes_wake_the_widget(pg):
    Run("e", store=pg)
    store = Store.open(pg)
    any_commit, iteration_change = threading.Event(), threading.Event()
    store.change_events.add(any_commit)
    store.iteration_events.add(iteration_change)
    assert any_commit.wait(5.0)  # the listener announces itself once listening
    time.sleep(0.1)
    any_commit.clear()
    iteration_change.clear()
    conn = store.new_connection()  # another connection, as another process would commit
    try:
        with transaction(conn):
            tick(conn)  # a commit of points or a heartbeat
        assert any_commit.wait(5.0)
        time.sleep(0.2)
        assert not iteration_change.is_set()
        any_commit.clear()
        with transaction(conn):
            tick(conn, iterations=True)
        assert iteration_change.wait(5.0) and any_commit.is_set()
    finally:
        conn.close()
