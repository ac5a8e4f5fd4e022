"""The replay in the static summary and in save_html's snapshot (``widget/_static_replay.py``)."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix

from runwatch.tracking import Run
from runwatch.widget._static import build_snapshot, summary_html, summary_snapshot
from runwatch.widget._static_replay import strip_positions

from .conftest import XSS


@pytest.fixture
def stepped(db):
    rng = np.random.default_rng(5)
    labels = np.array(["cat", XSS, "eel"], dtype=object)
    run = Run("replay", primary_metric="accuracy", store=db)
    fed = []
    with run.iteration("net") as it:
        for e in range(25):
            y = rng.choice(labels, 30)
            pred = np.where(rng.random(30) < 0.3 + e / 40, y, rng.choice(labels, 30))
            it.update("validation", y, y_pred=pred, step=e)
            fed.append((y, pred))
    run.flush()
    return run, it, fed


def test_the_summary_has_the_primary_metric_per_step_and_the_first_and_last_matrices(stepped):
    run, it, fed = stepped
    page = summary_html(summary_snapshot(run), None, "validation")
    assert "Replay: 25 steps" in page
    strip = re.search(r"<tr><th[^>]*>step</th>(.*?)</tr><tr><th[^>]*>accuracy</th>(.*?)</tr>", page)
    steps = [int(s) for s in re.findall(r">(\d+)</th>", strip.group(1))]
    assert steps == strip_positions(25) and steps[0] == 0 and steps[-1] == 24 and len(steps) == 20
    values = [float(v) for v in re.findall(r">([0-9.]+)</td>", strip.group(2))]
    for step, value in zip(steps, values):
        y = np.concatenate([f[0] for f in fed[: step + 1]])
        pred = np.concatenate([f[1] for f in fed[: step + 1]])
        assert value == pytest.approx(accuracy_score(y, pred), abs=5e-5)
    assert "first step (0)" in page and "last step (24)" in page
    first = page.split("first step (0)")[1].split("</table>")[0]
    cells = [int(v) for v in re.findall(r"<td[^>]*>(\d+)</td>", first)]
    labels = re.findall(r"<th[^>]*font-weight:normal;color:#555\">(.*?)</th>", first)
    y, pred = fed[0]
    order = [html.unescape(t) for t in labels[: len(labels) // 2]]
    assert cells == confusion_matrix(y, pred, labels=order).ravel().tolist()
    assert XSS not in page  # the label is escaped


def test_fewer_than_two_steps_add_nothing(db):
    run = Run("r", store=db)
    with run.iteration("net") as it:
        it.update("validation", ["a", "b"], y_pred=["a", "a"], step=0)
    run.flush()
    assert "Replay" not in summary_html(summary_snapshot(run), None, "validation")


def test_save_htmls_snapshot_carries_every_step(stepped):
    run, it, _ = stepped
    snapshot = build_snapshot(run)
    snaps = snapshot["steps"][str(it.id)]["validation"]
    assert [s["step"] for s in snaps] == list(range(25))
    assert snaps[-1]["confusion"] is not None


def test_strip_positions_keep_the_ends_and_spread_evenly():
    assert strip_positions(3) == [0, 1, 2]
    assert strip_positions(100, 5) == [0, 25, 50, 74, 99]
