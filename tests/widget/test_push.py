import json
import time

import pytest

from runwatch.tracking import Run
from runwatch.tracking.watch import Watcher
from runwatch.widget import RunDetails
from runwatch.widget._batches import LOSS_POINTS_KEPT
from runwatch.widget._push import (
    LIVE_DETAIL_INTERVAL,
    MIN_INTERVAL,
    SNAPSHOT_BYTES_PER_SECOND,
    Pusher,
)


def detail_ids(batches):
    return [d["detail"]["iteration"] for b in batches for d in b["deltas"] if d["kind"] == "detail"]


def wait_until(condition, seconds: float, pause: float = 0.05) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` pass; its last value."""
    deadline = time.monotonic() + seconds
    while not (held := condition()) and time.monotonic() < deadline:
        time.sleep(pause)
    return held


def loss_deltas(rec):
    return [d for b in rec.batches for d in b["deltas"] if d["kind"] == "loss"]


class Recorder:
    def __init__(self):
        self.batches = []
        self.snapshots = []

    def send(self, batch):
        self.batches.append(json.loads(json.dumps(batch, allow_nan=False)))

    def publish(self, snapshot):
        self.snapshots.append(snapshot)


def test_bytes_per_appended_loss_point_do_not_grow_with_history(db):
    run = Run("epochs", primary_metric="accuracy", store=db)
    rec = Recorder()
    pusher = Pusher(run, rec.send, rec.publish, clock=lambda: 0.0)
    watcher = Watcher(run._store, run.id)
    it = run.iteration("loop")

    def push_one_point():
        it.log_loss(0.5, split="train")
        run.flush()
        pusher.record(watcher.poll())
        return len(json.dumps(pusher.flush_rows()))

    sizes = {}
    for history in (100, 10_000):
        already = len(pusher.state["losses"].get(str(it.id), []))
        for i in range(history - already):
            it.log_loss(1.0 / (i + 1), split="train")
        run.flush()
        pusher.record(watcher.poll())
        pusher.flush()
        sizes[history] = push_one_point()
    # The state behind the snapshot keeps a thinned history, the last point included.
    kept = pusher.state["losses"][str(it.id)]
    assert len(kept) < 2 * LOSS_POINTS_KEPT
    assert kept[-1]["step"] == 10_000 and kept[0]["step"] == 0
    assert sizes[10_000] <= 2048
    assert abs(sizes[10_000] - sizes[100]) <= 16  # only a number's digits may differ
    last = rec.batches[-1]
    assert sum(len(d["points"]) for d in last["deltas"] if d["kind"] == "loss") == 1
    it.complete()


def test_a_large_snapshot_is_refreshed_less_often(db):
    run = Run("long", primary_metric="accuracy", store=db)
    rec = Recorder()
    now = [0.0]
    pusher = Pusher(run, rec.send, rec.publish, snapshot_interval=2.0, clock=lambda: now[0])
    watcher = Watcher(run._store, run.id)
    it = run.iteration("loop")
    for i in range(5_000):
        it.log_loss(1.0 / (i + 1), split="train")
    run.flush()
    pusher.record(watcher.poll())
    pusher.flush()
    assert pusher.publish_snapshot()
    size = len(json.dumps(rec.snapshots[-1], default=str))
    gap = size / SNAPSHOT_BYTES_PER_SECOND
    assert gap > 2.0, size  # big enough for the budget to matter
    it.log_loss(0.1, split="train")
    run.flush()
    pusher.record(watcher.poll())
    pusher.flush()
    now[0] = 2.5  # past snapshot_interval, not yet past the size-based gap
    assert not pusher.publish_snapshot()
    now[0] = gap + 0.01
    assert pusher.publish_snapshot()
    assert rec.snapshots[-1]["seq"] == pusher.state["seq"]
    it.complete()


def test_many_log_calls_make_few_messages_and_every_point_arrives_once(db):
    run = Run("fast", primary_metric="accuracy", store=db)
    rec = Recorder()
    pusher = Pusher(run, rec.send, rec.publish)
    pusher.start()
    n = 3000
    started = time.monotonic()
    try:
        with run.iteration("loop") as it:
            for i in range(n):
                it.log_loss(1.0 / (i + 1), split="train", step=i)
                if i % 100 == 0:
                    time.sleep(0.05)
            it.update("validation", [0, 1, 1], y_proba=[[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        key = str(it.id)

        def done():
            got = sum(len(d["points"]) for d in loss_deltas(rec))
            detail = pusher.state["details"].get(key)
            return got >= n and detail is not None and detail["final"]

        wait_until(done, 10)
        total_time = time.monotonic() - started
    finally:
        pusher.stop()
    steps = [
        p["step"]
        for b in rec.batches
        for d in b["deltas"]
        if d["kind"] == "loss"
        for p in d["points"]
    ]
    assert steps == [float(i) for i in range(n)]
    assert [b["seq"] for b in rec.batches] == list(range(1, len(rec.batches) + 1))
    # Rows and points: at most one batch a beat (plus the first one, the one after
    # the loop, and the beats the iteration's start and end woke early); details:
    # a running iteration's at most once a second, and the final one.
    rows = [b for b in rec.batches if not any(d["kind"] == "detail" for d in b["deltas"])]
    details = [b for b in rec.batches if b not in rows]
    assert len(rows) <= total_time / MIN_INTERVAL + 4, (len(rows), total_time)
    assert len(details) <= total_time / LIVE_DETAIL_INTERVAL + 2, (len(details), total_time)
    assert len(rec.batches) < n / 50
    # Finished: the final details are in the state the snapshot is copied from.
    assert pusher.state["details"][str(it.id)]["final"]
    assert pusher.publish_snapshot(force=True) or rec.snapshots
    assert rec.snapshots[-1]["seq"] == pusher.state["seq"]


def test_widget_selects_the_best_until_the_user_picks(sweep):
    widget = RunDetails(sweep.run, live=False)
    rows = widget._snapshot["iterations"]
    assert len(rows) == 3
    best = next(r["id"] for r in rows if r["is_best"])
    assert widget.selected == best
    assert widget._auto_selected
    other = next(r["id"] for r in rows if not r["is_best"])
    widget.selected = other  # a pick (page or user code)
    assert not widget._auto_selected
    widget._follow({**widget._snapshot["run"], "auto": best})
    assert widget.selected == other
    widget.close()


def test_live_widget_follows_the_run_while_nothing_is_picked(db):
    run = Run("follow", primary_metric="accuracy", store=db)
    widget = RunDetails(run)
    sent = []
    widget._pusher._send = sent.append
    try:
        for k, proba in enumerate([[0.6, 0.4], [0.2, 0.8]]):
            with run.iteration(f"m{k}") as it:
                # m1 predicts class 1 for everything: accuracy 1.0 on [1, 1]
                it.update("validation", [1, 1], y_proba=[proba, proba])
        wait_until(lambda: widget.selected == str(it.id), 10)
        assert widget.selected == str(it.id)
        assert sent and all(b["seq"] == i + 1 for i, b in enumerate(sent))
    finally:
        widget.close()


def test_the_snapshot_carries_the_iterations_chart_and_the_metric_goals(sweep):
    w = RunDetails(sweep.run, live=False)
    try:
        w._pusher.join(30)  # not following: the thread sends what priming left, then ends
        snap = w._snapshot
        chart = snap["iterations_chart"]
        assert chart["data"] == {"name": "iterations", "values": []}  # the page fills it
        assert snap["goals"]["accuracy"] == "maximize"
        assert snap["goals"]["log_loss"] == "minimize"
        # Every finished iteration's details, with all its charts, are in the page.
        assert len(snap["details"]) == 3
        for detail in snap["details"].values():
            assert {"roc", "pr", "lift", "gains", "calibration", "per_class"} <= set(
                detail["splits"]["validation"]["charts"]
            )
        json.dumps(snap, allow_nan=False)
    finally:
        w.close()


def test_prime_fills_rows_and_header_and_the_shown_details_go_first(sweep):
    rec = Recorder()
    pusher = Pusher(sweep.run, rec.send, rec.publish)
    pusher.prime()
    assert rec.batches == []  # no view yet: the snapshot carries it
    rows = pusher.state["iterations"]
    assert [r["name"] for r in rows] == ["GaussianNB", "DecisionTree", "LogisticRegression"]
    auto = pusher.state["run"]["auto"]
    assert auto == next(r["id"] for r in rows if r["is_best"])
    assert pusher.state["details"] == {}  # the table first; details in the beats
    batches = pusher.flush(budget=0.0)  # room for the shown iteration only
    assert detail_ids(batches) == [auto]
    assert set(detail_ids(pusher.flush())) == {r["id"] for r in rows} - {auto}


def test_one_beat_takes_a_point_logged_in_this_process_to_a_batch(db):
    run = Run("beat", store=db)
    rec = Recorder()
    pusher = Pusher(run, rec.send, rec.publish)
    pusher.prime()
    it = run.iteration("loop")
    it.start()
    it.log_loss(0.25, split="train", step=7)
    pusher.beat()  # commits, reads and sends in series: no second beat needed
    points = [p for d in loss_deltas(rec) for p in d["points"]]
    assert points == [{"split": "train", "step": 7.0, "value": 0.25}]
    it.complete()


def test_the_page_choice_gets_its_details_first(sweep):
    rec = Recorder()
    pusher = Pusher(sweep.run, rec.send, rec.publish)
    pusher.prime()
    rows = pusher.state["iterations"]
    auto = pusher.state["run"]["auto"]
    oldest = min((r["id"] for r in rows if r["id"] != auto), key=int)  # else the newest go first
    pusher.prefer(oldest)  # a click in the page
    batches = pusher.flush(budget=0.0)  # room for the preferred ones only
    assert detail_ids(batches) == [oldest, auto]  # the click, then the automatic pick


def test_loss_points_alone_do_not_reread_the_rows(db, monkeypatch):
    run = Run("rows", store=db)
    rec = Recorder()
    pusher = Pusher(run, rec.send, rec.publish)
    pusher.prime()
    with run.iteration("done") as it:
        it.log_metric("accuracy", 0.5)
    pusher.beat()
    reads = []
    monkeypatch.setattr(run, "iteration_records", lambda **kw: reads.append(kw) or [])
    it2 = run.iteration("loop")
    it2.start()
    pusher.beat()  # a new iteration: rows are read
    assert len(reads) == 1
    it2.log_loss(0.5, split="train")
    pusher.beat()
    assert len(reads) == 1
    assert loss_deltas(rec)[-1]["points"][0]["value"] == 0.5


def test_an_automatic_move_tells_the_page_it_is_automatic(sweep, monkeypatch):
    # The page may hold a click the kernel has not read (its _auto_selected is
    # False): the kernel's move must say "automatic" in the same message.
    w = RunDetails(sweep.run, live=False)
    try:
        sent = []
        monkeypatch.setattr(w, "_send", lambda msg, buffers=None: sent.append(msg))
        other = next(r["id"] for r in w._snapshot["iterations"] if r["id"] != w.selected)
        w._follow({**w._snapshot["run"], "auto": other})
        updates = [m["state"] for m in sent if m.get("method") == "update"]
        assert updates == [{"selected": other, "_auto_selected": True}]
    finally:
        w.close()


def test_the_summary_is_refreshed_after_cells_not_after_page_messages(sweep, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    w = RunDetails(sweep.run, live=False)
    try:
        monkeypatch.setattr("IPython.display.publish_display_data", lambda *a, **k: None)
        w._ipython_display_()
        callbacks = shell.events.callbacks
        assert w._after_cell in callbacks["post_run_cell"]
        assert w._after_cell not in callbacks["post_execute"]  # fired by every comm message
    finally:
        w.close()
        InteractiveShell.clear_instance()


def test_a_new_rows_batch_goes_out_before_any_detail_is_built(sweep, monkeypatch):
    # Iteration 1 ends and 2 starts in one beat: 2's row must not wait for 1's details.
    import runwatch.widget._push as push

    events = []
    real = push.iteration_detail

    def slow_detail(iteration):
        events.append(("build", str(iteration.id)))
        return real(iteration)

    monkeypatch.setattr(push, "iteration_detail", slow_detail)
    run = sweep.run
    rec = Recorder()
    pusher = Pusher(run, lambda b: (events.append(("send", b)), rec.send(b)), rec.publish)
    pusher.prime()
    pusher.flush()  # the sweep's details: what the page has before the loop goes on
    events.clear()
    done = run.iteration("ends")
    done.start()
    done.update("validation", sweep.y_true[:50], y_proba=sweep.proba["GaussianNB"][:50])
    pusher.beat()
    done.complete()
    nxt = run.iteration("starts")
    nxt.start()
    events.clear()
    pusher.beat()  # one beat sees both: the row of "starts" and the details of "ends"
    kinds = [e[0] for e in events]
    assert "build" in kinds, events
    first_build = kinds.index("build")
    rows_sent = [
        i
        for i, (kind, b) in enumerate(events)
        if kind == "send"
        and any(d["kind"] == "iteration" and d["row"]["id"] == str(nxt.id) for d in b["deltas"])
    ]
    assert rows_sent and rows_sent[0] < first_build, kinds
    # And no batch carries rows and details together.
    for kind, b in events:
        if kind == "send":
            in_batch = {d["kind"] for d in b["deltas"]}
            assert not (in_batch & {"iteration", "run"} and "detail" in in_batch), in_batch
    nxt.complete()


def test_the_detail_lane_never_holds_up_a_row(sweep, monkeypatch):
    # The threads: while a detail is being built (held here until the row is seen),
    # the beat still sends the row of an iteration that just started.
    import threading

    import runwatch.widget._push as push

    building, release = threading.Event(), threading.Event()
    real = push.iteration_detail

    def blocked_detail(iteration, **kwargs):
        building.set()
        release.wait(20)
        return real(iteration, **kwargs)

    run = sweep.run
    rec = Recorder()
    pusher = Pusher(run, rec.send, rec.publish)
    pusher.prime()
    pusher.flush()
    monkeypatch.setattr(push, "iteration_detail", blocked_detail)
    pusher.start()
    try:
        with run.iteration("ends") as done:
            done.update("validation", sweep.y_true[:50], y_proba=sweep.proba["GaussianNB"][:50])
        assert building.wait(20), "no detail was built for the finished iteration"
        nxt = run.iteration("starts")
        nxt.start()
        seen = wait_until(
            lambda: any(
                d["kind"] == "iteration" and d["row"]["id"] == str(nxt.id)
                for b in list(rec.batches)
                for d in b["deltas"]
            ),
            20,
            pause=0.02,
        )
        assert seen, "the new row waited for the detail being built"
        assert not release.is_set()
    finally:
        release.set()
        pusher.stop()
    nxt.complete()


def test_loss_points_of_a_running_iteration_never_resend_its_row(db):
    # Its duration moves, but the page counts it from the start time: at one point
    # a second, a row each second would be most of the bytes.
    run = Run("slow", store=db)
    rec = Recorder()
    now = [0.0]
    pusher = Pusher(run, rec.send, rec.publish, clock=lambda: now[0])
    pusher.prime()
    it = run.iteration("loop")
    it.start()
    pusher.beat()
    rec.batches.clear()
    for k in range(5):
        now[0] += 5.0
        it.log_loss(1.0 / (k + 1), split="train", step=k)
        pusher.beat()
    kinds = [d["kind"] for b in rec.batches for d in b["deltas"]]
    assert kinds == ["loss"] * 5
    it.complete()
    pusher.beat()
    rows = [d["row"] for b in rec.batches for d in b["deltas"] if d["kind"] == "iteration"]
    assert rows[-1]["status"] == "completed" and rows[-1]["duration"] is not None


def test_the_snapshot_is_refreshed_on_its_own_only_while_the_widget_starts(db):
    run = Run("quiet", store=db)
    rec = Recorder()
    now = [0.0]
    pusher = Pusher(run, rec.send, rec.publish, clock=lambda: now[0])
    pusher.prime()
    it = run.iteration("loop")
    it.start()

    def point_and_beat(at):
        now[0] = at
        it.log_loss(0.5, split="train")
        pusher.beat()

    point_and_beat(0.0)  # the first beat publishes
    assert len(rec.snapshots) == 1
    point_and_beat(3.0)  # a first view may still be loading: refreshed, throttled
    assert len(rec.snapshots) == 2
    for t in range(1, 30):
        point_and_beat(60.0 + 3.0 * t)  # a minute on, views follow the batches: no refresh
    assert len(rec.snapshots) == 2
    pusher.catch_up()  # a cell ended
    assert len(rec.snapshots) == 3 and rec.snapshots[-1]["seq"] == pusher.state["seq"]
    it.complete()


def test_a_view_that_saw_a_gap_gets_a_snapshot_when_it_asks(db):
    run = Run("ask", store=db)
    w = RunDetails(run, live=False)
    try:
        w._pusher.join(30)
        w._pusher._send = lambda batch: None  # a view that missed these batches
        with run.iteration("m") as it:
            it.log_loss(0.5, split="train")
        w._pusher.poll()
        w._pusher.flush()
        assert json.loads(json.dumps(w._snapshot))["seq"] < w._pusher.state["seq"]
        w._handle_custom_msg({"kind": "snapshot"}, [])  # what the page sends (js/index.ts)
        assert w._snapshot["seq"] == w._pusher.state["seq"]
        assert [r["name"] for r in w._snapshot["iterations"]] == ["m"]
        w._handle_custom_msg({"kind": "other"}, [])  # anything else is ignored
    finally:
        w.close()


def test_an_iteration_started_in_this_process_wakes_the_beat(db):
    # Its row goes out at once, not at the next beat (a long one here).
    run = Run("wake", store=db)
    rec = Recorder()
    pusher = Pusher(run, rec.send, rec.publish, min_interval=30.0)
    pusher.prime()
    pusher.start()
    try:
        it = run.iteration("now")
        it.start()
        seen = wait_until(
            lambda: any(
                d["kind"] == "iteration" and d["row"]["status"] == "running"
                for b in list(rec.batches)
                for d in b["deltas"]
            ),
            10,
            pause=0.02,
        )
        assert seen, "the row waited for the next beat"
    finally:
        pusher.stop()
    it.complete()


@pytest.mark.parametrize("cell_ends", [False, True])
def test_the_detail_lane_waits_for_the_first_beat(sweep, cell_ends):
    # Priming leaves every detail due; building them while the widget is being
    # constructed and displayed would slow its first render. The cell that
    # shows the widget ends (post_run_cell: catch_up) while the page draws it:
    # building details then, on the kernel's main thread or by releasing the
    # detail lane, held the GIL from the messages the first view waits for.
    rec = Recorder()
    pusher = Pusher(sweep.run, rec.send, rec.publish, min_interval=30.0)
    pusher.prime()
    pusher.start()
    try:
        if cell_ends:
            pusher.catch_up()
        time.sleep(1.0)
        assert detail_ids(rec.batches) == []
        if cell_ends:
            assert len(rec.snapshots) == 1 and rec.snapshots[0]["details"] == {}
        pusher._wake.set()  # the thread's first beat (an iteration change would do this)
        wait_until(lambda: len(detail_ids(rec.batches)) >= 3, 20)
        assert len(detail_ids(rec.batches)) == 3
    finally:
        pusher.stop()


def test_the_detail_lane_pauses_while_a_new_row_is_sent(sweep, monkeypatch):
    # Both lanes share the GIL: a beat of a millisecond took 0.1-0.5 s while the
    # detail lane built. A detail is built in pieces; at each checkpoint the detail
    # lane waits while a beat is due or running, so an iteration that starts while a
    # detail is being built has its row sent before the next piece.
    import threading

    import runwatch.widget._push as push

    events = []
    started = threading.Event()
    run = sweep.run
    state = {}

    def pieces(iteration, charts=None, pause=None):
        if str(iteration.id) != state.get("building"):
            return {
                "iteration": str(iteration.id),
                "final": True,
                "params": [],
                "splits": {},
                "importance": None,
            }
        events.append("piece 1")
        state["nxt"] = run.iteration("starts")  # wakes the beat, from this thread
        state["nxt"].start()
        started.set()
        for k in (2, 3):
            if pause is not None:
                pause()
            events.append(f"piece {k}")
        return {
            "iteration": str(iteration.id),
            "final": True,
            "params": [],
            "splits": {},
            "importance": None,
        }

    def send(batch):
        nxt = state.get("nxt")
        if nxt is not None and any(
            d["kind"] == "iteration" and d["row"]["id"] == str(nxt.id) for d in batch["deltas"]
        ):
            events.append("row sent")

    pusher = Pusher(run, send, lambda s: None, min_interval=30.0)
    pusher.prime()
    pusher.flush()
    monkeypatch.setattr(push, "iteration_detail", pieces)
    pusher.start()
    try:
        done = run.iteration("ends")
        state["building"] = str(done.id)
        done.start()
        done.update("validation", sweep.y_true[:50], y_proba=sweep.proba["GaussianNB"][:50])
        done.complete()
        assert started.wait(20), "no detail was built for the finished iteration"
        assert wait_until(lambda: "piece 3" in events and "row sent" in events, 20), events
        assert events.index("row sent") < events.index("piece 2"), events
    finally:
        pusher.stop()
    state["nxt"].complete()


def test_an_iteration_that_starts_as_one_ends_is_not_held_by_the_wake_gap(db, monkeypatch):
    # The end wakes the beat, and the start a moment later wakes it again: a fixed
    # gap between woken beats held the new row back (50 ms, and the detail lane's
    # work in it). A few woken beats in a row go at once.
    import runwatch.widget._push as push

    monkeypatch.setattr(push, "WAKE_GAP", 30.0)  # a gap no test would wait out
    run = Run("back-to-back", store=db)
    rec = Recorder()
    pusher = Pusher(run, rec.send, rec.publish, min_interval=30.0)
    pusher.prime()
    pusher.start()

    def sent(it, status):
        return any(
            d["kind"] == "iteration"
            and d["row"]["id"] == str(it.id)
            and d["row"]["status"] == status
            for b in list(rec.batches)
            for d in b["deltas"]
        )

    try:
        first = run.iteration("first")
        first.start()
        assert wait_until(lambda: sent(first, "running"), 10, pause=0.02)
        first.complete()
        assert wait_until(lambda: sent(first, "completed"), 10, pause=0.02)
        second = run.iteration("second")
        second.start()
        assert wait_until(lambda: sent(second, "running"), 10, pause=0.02), (
            "the new row waited for the gap between woken beats"
        )
    finally:
        pusher.stop()
    second.complete()


def test_wake_delay_allows_a_burst_then_keeps_the_rate():
    from runwatch.widget._push import WAKE_BURST, WAKE_GAP, wake_delay

    window = WAKE_BURST * WAKE_GAP
    assert wake_delay([], 10.0) == 0.0
    assert wake_delay([10.0] * (WAKE_BURST - 1), 10.0) == 0.0
    burst = [10.0 + 0.001 * k for k in range(WAKE_BURST)]
    now = burst[-1]
    assert wake_delay(burst, now) == pytest.approx(burst[0] + window - now)
    assert wake_delay(burst, burst[0] + window) == 0.0  # the oldest left the window
