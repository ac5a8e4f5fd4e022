import json

from runwatch.widget._batches import apply_batch, coalesce, snapshot_copy, thin_losses


def row(id, status="running", is_best=False):
    return {
        "id": id,
        "index": int(id),
        "name": f"m{id}",
        "status": status,
        "duration": 1.0,
        "metric": None,
        "best": None,
        "is_best": is_best,
    }


def running_state():
    """The state of a widget on a running classification run with nothing logged yet."""
    from runwatch.widget._contract import empty_snapshot

    return empty_snapshot(
        {
            "name": "r",
            "task": "classification",
            "primary_metric": "accuracy",
            "goal": "maximize",
            "status": "running",
            "best": None,
            "auto": None,
        }
    )


def loss(iteration, *values):
    return {
        "kind": "loss",
        "iteration": iteration,
        "points": [{"split": "train", "step": float(i), "value": v} for i, v in enumerate(values)],
    }


def test_coalesce_keeps_the_last_row_and_concatenates_losses():
    deltas = [
        loss("1", 0.9),
        {"kind": "iteration", "row": row("1")},
        {"kind": "iteration", "row": row("1", "completed")},
        loss("2", 0.5),
        loss("1", 0.8, 0.7),
    ]
    out = coalesce(deltas)
    assert [d["kind"] for d in out] == ["iteration", "loss", "loss"]
    assert out[0]["row"]["status"] == "completed"
    assert [p["value"] for p in out[1]["points"]] == [0.9, 0.8, 0.7]
    assert out[1]["iteration"] == "1" and out[2]["iteration"] == "2"


def test_apply_batch_refuses_a_gap_and_moves_the_best_flag():
    state = running_state()
    assert apply_batch(
        state, {"seq": 1, "deltas": [{"kind": "iteration", "row": row("1", is_best=True)}]}
    )
    assert not apply_batch(state, {"seq": 3, "deltas": [loss("1", 1.0)]})
    assert state["seq"] == 1 and state["losses"] == {}
    assert apply_batch(
        state, {"seq": 2, "deltas": [{"kind": "iteration", "row": row("2", is_best=True)}]}
    )
    assert [r["is_best"] for r in state["iterations"]] == [False, True]


def test_thin_losses_keeps_ends_and_short_histories():
    points = [{"split": "train", "step": float(i), "value": 1.0} for i in range(10)]
    assert thin_losses(points, kept=6) is points  # under twice the cap: unchanged
    long = points * 3
    for i, p in enumerate(long):
        long[i] = {**p, "step": float(i)}
    thin = thin_losses(long, kept=5)
    assert [p["step"] for p in thin] == [0.0, 7.0, 14.0, 22.0, 29.0]


def test_snapshot_copy_is_not_changed_by_later_batches():
    state = running_state()
    apply_batch(
        state,
        {
            "seq": 1,
            "deltas": [{"kind": "iteration", "row": row("1", is_best=True)}, loss("1", 0.5)],
        },
    )
    snap = snapshot_copy(state)
    before = json.dumps(snap, sort_keys=True)
    apply_batch(
        state,
        {
            "seq": 2,
            "deltas": [{"kind": "iteration", "row": row("2", is_best=True)}, loss("1", 0.4)],
        },
    )
    assert json.dumps(snap, sort_keys=True) == before
