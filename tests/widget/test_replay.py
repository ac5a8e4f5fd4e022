"""The replay in the widget: step snapshots travel once each, and ``replay_step`` both ways."""

from __future__ import annotations

import json

import numpy as np
import pytest
import traitlets
from sklearn.metrics import confusion_matrix

from runwatch.tracking import Run
from runwatch.tracking.watch import Watcher
from runwatch.widget import RunDetails
from runwatch.widget._batches import apply_batch, coalesce, snapshot_copy
from runwatch.widget._payload import dense_counts
from runwatch.widget._push import Pusher

from .test_push import Recorder


def step_deltas(batches):
    return [d for b in batches for d in b["deltas"] if d["kind"] == "step"]


def epoch(rng, n=40):
    y = rng.choice(["cat", "dog", "eel"], n)
    return y, np.where(rng.random(n) < 0.7, y, rng.choice(["cat", "dog"], n))


def test_each_new_step_travels_once_and_the_history_is_never_resent(db):
    rng = np.random.default_rng(0)
    run = Run("loop", store=db)
    rec = Recorder()
    pusher = Pusher(run, rec.send, rec.publish, clock=lambda: 0.0)
    watcher = Watcher(run._store, run.id)
    it = run.iteration("net")
    fed = []
    sizes = []
    for e in range(6):
        y, pred = epoch(rng)
        fed.append((y, pred))
        it.update("validation", y, y_pred=pred, step=e)
        run.flush()
        before = len(rec.batches)
        pusher.record(watcher.poll())
        pusher.flush_rows()
        new = step_deltas(rec.batches[before:])
        # the step just opened, alone: the one before was committed final before it
        # (the flush above), so it is neither rewritten nor sent again
        assert [d["pos"] for d in new] == [e]
        sizes.append(max(len(json.dumps(d)) for d in new))
        before = len(rec.batches)
        pusher.record(watcher.poll())  # nothing new: a beat sends no step
        pusher.flush_rows()
        assert step_deltas(rec.batches[before:]) == []
    it.complete()
    run.flush()
    pusher.record(watcher.poll())
    pusher.flush_rows()
    # a step costs the same bytes whatever came before it (a few hundred for 3 classes)
    assert max(sizes) < 1500 and max(sizes) - min(sizes) < 200
    snaps = pusher.state["steps"][str(it.id)]["validation"]
    assert [s["step"] for s in snaps] == list(range(6))
    for k, snap in enumerate(snaps):
        y = np.concatenate([f[0] for f in fed[: k + 1]])
        pred = np.concatenate([f[1] for f in fed[: k + 1]])
        labels = snap["confusion"]["labels"]
        want = confusion_matrix(y, pred, labels=labels)
        assert dense_counts(snap["confusion"]) == want.tolist()
        assert snap["metrics"]["accuracy"] == pytest.approx(float(np.mean(y == pred)), abs=1e-12)


def test_step_deltas_coalesce_by_position_and_apply_in_place():
    def delta(pos, acc):
        snap = {"step": pos, "confusion": None, "metrics": {"accuracy": acc}}
        return {"kind": "step", "iteration": "1", "split": "validation", "pos": pos,
                "snapshot": snap}  # fmt: skip

    merged = coalesce([delta(1, 0.1), delta(0, 0.5), delta(1, 0.2)])
    got = [(d["pos"], d["snapshot"]["metrics"]["accuracy"]) for d in merged]
    assert got == [(0, 0.5), (1, 0.2)]
    from runwatch.widget._contract import empty_snapshot

    state = empty_snapshot({"name": "r"})  # type: ignore[arg-type]
    assert apply_batch(state, {"seq": 1, "deltas": merged})
    copy = snapshot_copy(state)
    assert apply_batch(state, {"seq": 2, "deltas": [delta(1, 0.3), delta(5, 0.9)]})
    snaps = state["steps"]["1"]["validation"]
    assert [s["metrics"]["accuracy"] for s in snaps] == [0.5, 0.3]  # a hole is refused
    assert [s["metrics"]["accuracy"] for s in copy["steps"]["1"]["validation"]] == [0.5, 0.2]


@pytest.fixture
def stepped(db):
    rng = np.random.default_rng(1)
    run = Run("loop", store=db)
    with run.iteration("first") as first:
        for e in (1, 2, 3):
            first.update("validation", *epoch(rng)[:1], y_pred=epoch(rng)[0], step=e)
    with run.iteration("second") as second:
        for e in (0.5, 1.5):
            second.update("validation", *epoch(rng)[:1], y_pred=epoch(rng)[0], step=e)
    widget = RunDetails(run, live=False)
    yield widget, first, second
    widget.close()


def test_replay_step_takes_a_step_of_the_shown_split_and_refuses_anything_else(stepped):
    widget, first, second = stepped
    widget.selected = str(first.id)
    assert widget.replay_step is None
    widget.replay_step = 2.0
    assert widget.replay_step == 2 and isinstance(widget.replay_step, int)  # as stored
    seen = []
    widget.observe(lambda c: seen.append(c["new"]), names="replay_step")
    for bad in (7, "2", True, float("nan"), [2]):
        with pytest.raises(traitlets.TraitError) as err:
            widget.replay_step = bad
        message = str(err.value)
        assert message.startswith("replay_step must be None (the latest) or a step of iteration")
        assert f"validation split (1, 2, 3); got {bad!r}." in message
        assert widget.replay_step == 2
    assert seen == []
    widget.split = "train"  # another split: its steps, none here
    assert widget.replay_step is None
    with pytest.raises(traitlets.TraitError, match=r"train split \(it has no steps\); got 1\.$"):
        widget.replay_step = 1
    widget.split = "validation"
    widget.replay_step = 3
    widget.selected = str(second.id)  # another iteration: back to the latest
    assert widget.replay_step is None
    widget.replay_step = 0.5
    assert widget.replay_step == 0.5
    assert seen == [None, 3, None, 0.5]


def test_the_snapshot_a_view_starts_from_has_every_step(stepped):
    widget, first, second = stepped
    widget._pusher.join(10)
    state = json.loads(widget.get_state()["_snapshot"])
    assert [s["step"] for s in state["steps"][str(first.id)]["validation"]] == [1, 2, 3]
    assert [s["step"] for s in state["steps"][str(second.id)]["validation"]] == [0.5, 1.5]
