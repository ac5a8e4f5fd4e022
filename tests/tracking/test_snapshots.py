"""The replay's per-step snapshots: equal to a fresh engine fed the first k epochs, on both stores.

Every test runs on SQLite and on PostgreSQL (the ``db`` fixture). The oracle
is scikit-learn's ``confusion_matrix`` on the first k epochs' rows, and the
engine's own ``compute()`` on a fresh engine fed them (itself held to
scikit-learn by tests/metrics).
"""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

import runwatch as rw
from runwatch.metrics import ClassificationMetrics, RegressionMetrics
from runwatch.tracking import import_json, open_run
from runwatch.tracking.store import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

from .conftest import query, run_child, store_dump


def epochs(seed: int, n_epochs: int = 4, late: bool = True, weights: bool = False):
    """String-labelled epochs of predictions; class "zebra" first appears in the last one."""
    rng = np.random.default_rng(seed)
    classes = ["cat", "dog", "eel"]
    out = []
    for e in range(n_epochs):
        n = int(rng.integers(5, 40))
        pool = classes + (["zebra"] if late and e == n_epochs - 1 else [])
        y = rng.choice(pool, n)
        # imbalanced and wrong often enough for every cell to move
        pred = np.where(rng.random(n) < 0.6, y, rng.choice(pool, n))
        w = rng.integers(1, 4, n).astype(float) * 0.5 if weights else None
        out.append((y, pred, w))
    return out


def fresh_engine(data) -> ClassificationMetrics:
    m = ClassificationMetrics()
    for y, pred, w in data:
        m.update(y, y_pred=pred, sample_weight=w)
    return m


def assert_same_metrics(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for name, value in want.items():
        if math.isnan(value):
            assert math.isnan(got[name]), name
        else:
            assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


@pytest.mark.parametrize(
    "seed, commits",
    # commits: when the writer commits the split (a step's end is then in the store
    # already, or only part of it), or never until the end (each step copies its state)
    [(0, "never"), (1, "never"), (2, "after_epoch"), (3, "mid_epoch"), (4, "after_epoch")],
)
def test_the_matrix_at_step_k_is_a_fresh_engine_fed_the_first_k_epochs(db, seed, commits):
    data = epochs(seed, weights=seed % 2 == 1)
    run = rw.Run("r", store=db)
    with run.iteration("net") as it:
        for e, (y, pred, w) in enumerate(data):
            # two batches per epoch: the snapshot is the epoch's end, not a batch's
            half = len(y) // 2
            it.update("validation", y[:half], y_pred=pred[:half],
                      sample_weight=None if w is None else w[:half], step=e)  # fmt: skip
            if commits == "mid_epoch":
                run.flush()
            it.update("validation", y[half:], y_pred=pred[half:],
                      sample_weight=None if w is None else w[half:], step=e)  # fmt: skip
            if commits == "after_epoch":
                run.flush()
    snaps = it.steps("validation")
    assert [s.step for s in snaps] == list(range(len(data)))
    for k, snap in enumerate(snaps):
        first = data[: k + 1]
        y = np.concatenate([d[0] for d in first])
        pred = np.concatenate([d[1] for d in first])
        w = None if first[0][2] is None else np.concatenate([d[2] for d in first])
        labels = sorted(set(y) | set(pred))
        want = confusion_matrix(y, pred, labels=labels, sample_weight=w)
        frame = snap.confusion_matrix()
        assert list(frame.index) == labels and list(frame.columns) == labels
        np.testing.assert_array_equal(frame.to_numpy(), want)
        assert snap.matrix.dtype == (np.float64 if w is not None and np.any(w % 1) else np.int64)
        assert_same_metrics(snap.metrics, fresh_engine(first).compute())
    # "zebra" is in the last step only; the last step is the split itself
    assert "zebra" not in snaps[-2].labels and "zebra" in snaps[-1].labels
    np.testing.assert_array_equal(
        snaps[-1].confusion_matrix().to_numpy(), it.confusion_matrix("validation").to_numpy()
    )


def test_a_step_committed_before_the_next_opens_is_not_copied(db, monkeypatch):
    from runwatch.tracking import _snapshots

    copies = []
    real = _snapshots.copy_state
    monkeypatch.setattr(_snapshots, "copy_state", lambda e: copies.append(1) or real(e))
    run = rw.Run("r", store=db)
    with run.iteration("net") as it:
        for e, (y, pred, _) in enumerate(epochs(9)):
            it.update("validation", y, y_pred=pred, step=e)
            run.flush()  # as an epoch of training would give the writer time to
        assert copies == []
        it.update("validation", ["cat"], y_pred=["dog"], step=9)  # not committed yet
        it.update("validation", ["cat"], y_pred=["dog"], step=10)
        assert copies == [1]


def test_steps_with_scores_float_steps_and_batches_without_a_step(db):
    rng = np.random.default_rng(3)
    run = rw.Run("r", labels=["a", "b", "c"], store=db)
    fed = []
    with run.iteration("net") as it:
        for step in (0.5, 1.0, 2.5):
            y = rng.choice(["a", "b", "c"], 30)
            p = rng.dirichlet(np.ones(3), 30)
            it.update("validation", y, y_proba=p, step=step)
            y2 = rng.choice(["a", "b", "c"], 10)
            p2 = rng.dirichlet(np.ones(3), 10)
            it.update("validation", y2, y_proba=p2)  # no step: counts in the current one
            fed.append([(y, p), (y2, p2)])
    snaps = it.steps("validation")
    assert [s.step for s in snaps] == [0.5, 1.0, 2.5]
    assert all(isinstance(s.step, float) for s in snaps)
    for k, snap in enumerate(snaps):
        m = ClassificationMetrics(labels=["a", "b", "c"])
        for pairs in fed[: k + 1]:
            for y, p in pairs:
                m.update(y, y_proba=p)
        np.testing.assert_array_equal(snap.matrix, m.confusion_matrix().to_numpy())
        assert_same_metrics(snap.metrics, m.compute())  # AUC, log loss: the scores' metrics too
    assert it.steps("train") == []


def test_a_step_below_the_last_is_refused_naming_step_and_nothing_changes(db):
    run = rw.Run("r", store=db)
    it = run.iteration("net")
    it.update("validation", ["a", "b"], y_pred=["a", "a"], step=3)
    it.update("validation", ["a", "b"], y_pred=["b", "b"], step=5)
    run.flush()
    before = store_dump(db)
    state = it.engine("validation").state_dict()
    for bad, message in (
        (4, "step must not decrease within a split: validation is at step 5, got 4"),
        ("6", "step must be an integer or a real number"),
        (float("nan"), "step must be finite"),
        (True, "step must be an integer or a real number"),
    ):
        with pytest.raises(ValueError, match=message):
            it.update("validation", ["a"], y_pred=["b"], step=bad)
    # a batch the engine refuses at a new step opens no step
    with pytest.raises(ValueError, match="y_pred"):
        it.update("validation", ["a", "b"], y_pred=["a"], step=9)
    run.flush()
    assert store_dump(db) == before
    after = it.engine("validation").state_dict()
    assert after.keys() == state.keys()
    assert all(np.array_equal(after[k], state[k]) for k in state)
    assert [s.step for s in it.steps("validation")] == [3, 5]
    it.update("validation", ["a"], y_pred=["b"], step=5)  # the same step again is fine
    it.update("train", ["a"], y_pred=["b"], step=0)  # each split has its own steps
    it.complete()
    assert [s.step for s in it.steps("validation")] == [3, 5]
    assert [s.step for s in it.steps("train")] == [0]


def test_update_from_takes_a_step(db):
    run = rw.Run("r", store=db)
    data = epochs(11, late=False)
    with run.iteration("dask") as it:
        for e, (y, pred, _) in enumerate(data):
            part = ClassificationMetrics()
            part.update(y, y_pred=pred)
            it.update_from(part, "validation", step=e)
        with pytest.raises(ValueError, match="step must not decrease"):
            it.update_from(part, "validation", step=0)
    for k, snap in enumerate(it.steps("validation")):
        np.testing.assert_array_equal(
            snap.matrix, fresh_engine(data[: k + 1]).confusion_matrix().to_numpy()
        )


def test_regression_keeps_the_metrics_per_step(db):
    rng = np.random.default_rng(0)
    run = rw.Run("reg", task="regression", store=db)
    fed = []
    with run.iteration("net") as it:
        for e in range(3):
            y, p = rng.normal(size=20), rng.normal(size=20)
            it.update("validation", y, p, step=e)
            fed.append((y, p))
    for k, snap in enumerate(it.steps("validation")):
        m = RegressionMetrics()
        for y, p in fed[: k + 1]:
            m.update(y, p)
        assert snap.matrix is None and snap.confusion_matrix() is None
        assert_same_metrics(snap.metrics, m.compute())


def test_a_detection_run_keeps_its_matrix_with_background_per_step(db):
    from .test_vision import make_batches

    run = rw.Run("det", task="detection", store=db)
    batches = make_batches("detection", 1)  # image ids run on across its batches
    with run.iteration("yolo") as it:
        for e, (preds, targets) in enumerate(batches):
            it.update("validation", preds, targets, step=e)
    snaps = it.steps("validation")
    assert len(snaps) == len(batches)
    for k, snap in enumerate(snaps):
        m = rw.metrics.DetectionMetrics()
        for preds, targets in batches[: k + 1]:
            m.update_batch(preds, targets)
        want = m.confusion_matrix()
        got = snap.confusion_matrix()
        assert list(got.index) == list(want.index) and list(got.columns) == list(want.columns)
        np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
        assert_same_metrics(snap.metrics, m.compute())


def test_export_import_is_byte_identical_and_carries_the_steps(db, tmp_path):
    run = rw.Run("r", store=db)
    data = epochs(5, weights=True)
    with run.iteration("net") as it:
        for e, (y, pred, w) in enumerate(data):
            it.update("validation", y, y_pred=pred, sample_weight=w, step=e)
            it.update("train", y, y_pred=y, step=e * 10)
    with run.iteration("no-steps") as plain:
        plain.update("validation", ["a"], y_pred=["a"])
    path = tmp_path / "run.json"
    run.export_json(path)
    doc = json.loads(path.read_text())
    first, second = doc["iterations"]
    assert "steps" not in second  # a run without steps exports as before
    assert [s["step"] for s in first["steps"]["validation"]] == [0, 1, 2, 3]
    assert first["steps"]["train"][-1]["matrix"] == confusion_matrix(
        np.concatenate([d[0] for d in data]), np.concatenate([d[0] for d in data])
    ).tolist()
    for other in (str(tmp_path / "other.db"), db):
        imported = import_json(path, other, name="copy" if other == db else None)
        again = tmp_path / "again.json"
        imported.export_json(again)
        assert json.loads(again.read_text())["run"]["name"] == imported.name
        if other != db:
            assert again.read_bytes() == path.read_bytes()
        got = imported.get("net").steps("validation")
        want = it.steps("validation")
        assert [s.step for s in got] == [s.step for s in want]
        for a, b in zip(got, want):
            assert a.labels == b.labels and a.matrix.dtype == b.matrix.dtype
            np.testing.assert_array_equal(a.matrix, b.matrix)
            assert_same_metrics(a.metrics, b.metrics)


def test_a_malformed_steps_entry_is_refused_and_nothing_is_written(db, tmp_path):
    run = rw.Run("r", store=db)
    with run.iteration("net") as it:
        it.update("validation", ["a", "b"], y_pred=["a", "a"], step=0)
        it.update("validation", ["a", "b"], y_pred=["b", "a"], step=1)
    doc = run.to_dict()
    target = str(tmp_path / "target.db")
    rw.Run("other", store=target)
    before = store_dump(target)
    for change, where in (
        (lambda s: s[1].update(step=0), r"steps\.validation\[1\]\.step must be above"),
        (lambda s: s[0].update(matrix=[[1, 2]]), r"steps\.validation\[0\]\.matrix must be"),
        (lambda s: s[0].update(step="0"), r"steps\.validation\[0\]\.step must be a finite"),
        (lambda s: s[0].pop("metrics"), r"steps\.validation\[0\]\.metrics is missing"),
        (lambda s: s[0].update(labels=[{"a": 1}, "b"]), r"\[0\]\.labels must be a list of labels"),
    ):
        bad = json.loads(json.dumps(doc))
        change(bad["iterations"][0]["steps"]["validation"])
        p = tmp_path / "bad.json"
        p.write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=where):
            import_json(p, target)
        assert store_dump(target) == before


def test_steps_are_read_and_continued_in_a_new_process(db):
    data = epochs(8, n_epochs=4)
    run = rw.Run("r", store=db)
    with run.iteration("net") as it:
        for e, (y, pred, _) in enumerate(data[:2]):
            it.update("validation", y, y_pred=pred, step=e)
    payload = json.dumps([[list(y), list(p)] for y, p, _ in data[2:]])
    out = run_child(
        """
        import json, sys
        from runwatch.tracking import open_run
        run = open_run("r", sys.argv[1])
        it = run.iteration("net", resume=True)
        try:
            it.update("validation", ["cat"], y_pred=["cat"], step=0)
        except ValueError as e:
            print(json.dumps(str(e)))
        for e, (y, p) in enumerate(json.loads(sys.argv[2]), start=2):
            it.update("validation", y, y_pred=p, step=e)
        it.complete()
        """,
        db,
        payload,
    ).stdout
    assert "step must not decrease within a split: validation is at step 1, got 0" in out
    snaps = open_run("r", db).get("net").steps("validation")
    assert [s.step for s in snaps] == [0, 1, 2, 3]
    for k, snap in enumerate(snaps):
        np.testing.assert_array_equal(
            snap.confusion_matrix().to_numpy(),
            fresh_engine(data[: k + 1]).confusion_matrix().to_numpy(),
        )


def test_a_version_2_sqlite_store_migrates_and_keeps_its_runs(tmp_path):
    path = str(tmp_path / "v2.db")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    MIGRATIONS[0](conn)
    MIGRATIONS[1](conn)
    conn.execute("PRAGMA user_version = 2")
    conn.execute(
        "INSERT INTO runs (name, task, primary_metric, goal, labels, created, seq) "
        "VALUES ('old', 'classification', 'accuracy', 'maximize', NULL, 0, 1)"
    )
    conn.commit()
    conn.close()
    old = rw.Run("old", store=path)
    with old.iteration("net") as it:
        it.update("validation", ["a", "b"], y_pred=["a", "b"], step=1)
    assert [s.step for s in it.steps("validation")] == [1]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    conn.close()


def test_a_version_2_postgres_store_migrates_and_keeps_its_runs(postgres):
    import psycopg

    from runwatch.tracking import _postgres

    pg = postgres.new_schema()
    conn = psycopg.connect(pg, autocommit=True)
    conn.execute("CREATE TABLE runwatch_schema (version integer NOT NULL)")
    conn.execute("INSERT INTO runwatch_schema (version) VALUES (2)")

    class Plain:  # MIGRATIONS take the store's connections, which speak "?"
        def execute(self, sql):
            return conn.execute(sql)

    _postgres.MIGRATIONS[0](Plain())
    _postgres.MIGRATIONS[1](Plain())
    conn.execute(
        "INSERT INTO runs (name, task, primary_metric, goal, labels, created, seq) "
        "VALUES ('old', 'classification', 'accuracy', 'maximize', NULL, 0, 1)"
    )
    conn.close()
    old = rw.Run("old", store=pg)
    with old.iteration("net") as it:
        it.update("validation", ["a", "b"], y_pred=["a", "b"], step=1)
    assert [s.step for s in it.steps("validation")] == [1]
    assert query(pg, "SELECT version FROM runwatch_schema") == [(SCHEMA_VERSION,)]


def test_a_step_snapshot_that_fails_loses_no_point_of_its_commit(db, monkeypatch):
    from runwatch.tracking import _snapshots

    def broken(engine, metrics):
        raise RuntimeError("no matrix today")

    monkeypatch.setattr(_snapshots, "take", broken)
    run = rw.Run("r", store=db)
    it = run.iteration("net")
    it.update("validation", ["a"], y_pred=["a"], step=0)
    it.update("validation", ["b"], y_pred=["a"], step=1)  # queues step 0's end
    it.log_loss(0.5)
    it.complete()
    assert list(it.losses()["value"]) == [0.5]
    assert it.status == "completed" and run.get("net").status == "completed"
    assert it.metrics("validation")["accuracy"] == 0.5
