"""The overfit gap in the static summary (``widget/_static_gap.py``)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from runwatch.tracking import Run
from runwatch.widget._static import summary_html, summary_snapshot
from runwatch.widget._static_gap import bar, bar_scale, gap_html

from .conftest import XSS, log_sweep

LABELS = ["a", "b", XSS]


@pytest.fixture
def overfit(db):
    """One iteration that scores train much better than validation, with losses of both."""
    rng = np.random.default_rng(3)
    run = Run("gap", primary_metric="accuracy", labels=LABELS, store=db)
    data = {}
    with run.iteration("deep tree") as it:
        for split, n, skill in (("train", 400, 4.0), ("validation", 300, 0.8)):
            truth = rng.integers(0, 3, n)
            logits = rng.normal(size=(n, 3)) + skill * np.eye(3)[truth]
            proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
            y = np.array(LABELS, dtype=object)[truth]
            it.update(split, y, y_proba=proba)
            data[split] = (y, np.array(LABELS, dtype=object)[proba.argmax(axis=1)])
        for step in range(4):
            it.log_loss(1.0 / (step + 1), split="train", step=step)
            if step % 2:
                it.log_loss(0.9, split="validation", step=step)
    run.flush()
    return run, data


def _cell_after(html: str, name: str) -> list[str]:
    """The texts of the cells of the first row of the gap table that starts with ``name``."""
    table = html[html.index('class="rw-static-gap"') :]
    row = re.search(rf"<tr><td[^>]*>{re.escape(name)}</td>(.*?)</tr>", table).group(1)
    return re.findall(r"<td[^>]*>([^<]*)</td>", row)


def test_the_summary_shows_train_minus_validation_as_sklearn_computes_it(overfit):
    run, data = overfit
    html = summary_html(summary_snapshot(run))
    assert "Overfit gap (train \u2212 validation)" in html
    train, valid = accuracy_score(*data["train"]), accuracy_score(*data["validation"])
    cells = _cell_after(html, "accuracy")
    assert float(cells[0]) == pytest.approx(train, abs=1e-4)
    assert float(cells[1]) == pytest.approx(valid, abs=1e-4)
    assert float(cells[2].lstrip("+")) == pytest.approx(train - valid, abs=1e-4)
    # Per class: F1 gaps, the largest (of at least 0.05) flagged; the label escaped.
    f1 = f1_score(*data["train"], labels=LABELS, average=None) - f1_score(
        *data["validation"], labels=LABELS, average=None
    )
    flagged = re.findall(r"<b>([^<]*)</b> <span[^>]*>\u2691", html)
    want = [LABELS[i] for i in np.argsort(-f1) if f1[i] >= 0.05][:3]
    assert sorted(flagged) == sorted(x.replace("<", "&lt;").replace(">", "&gt;") for x in want)
    assert XSS not in html
    # The loss gap over the steps both splits logged (1 and 3).
    assert "loss gap (train \u2212 validation)" in html


def test_no_gap_without_both_splits(db):
    logged = log_sweep(db)  # validation predictions and train losses only
    html = summary_html(summary_snapshot(logged.run))
    assert "Overfit gap" not in html
    assert gap_html(None, []) == ""


def test_the_bar_grows_from_the_middle_both_ways():
    right = bar(0.5, 1.0)
    left = bar(-1.0, 1.0)
    assert "left:60.0px;width:30.0px" in right and "#4e79a7" in right
    assert "left:0.0px;width:60.0px" in left and "#f28e2b" in left
    assert "background:#4e79a7" not in bar(None, 1.0)


def test_a_loss_gap_does_not_set_the_scale_of_the_scores_bars():
    rows = [
        {"metric": "accuracy", "train": 1.0, "validation": 0.9, "gap": 0.1},
        {"metric": "AUC_macro", "train": 0.95, "validation": 0.75, "gap": 0.2},
        {"metric": "log_loss", "train": 0.5, "validation": 3.0, "gap": -2.5},
    ]
    assert bar_scale(rows) == pytest.approx(0.2)
    assert bar_scale(rows[2:]) == 2.5
