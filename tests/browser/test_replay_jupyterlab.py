"""The replay slider in a real JupyterLab, read back in Python both ways, and live.

One notebook: cell 0 logs a finished run (an iteration over six epochs with
``step=``, and a stronger one, the best) and shows the epochs' iteration;
after the test drags the slider, cell 1 prints ``widget.replay_step`` and the
matrix and accuracy of that step (``views.replay``); cell 2 sets a step from
Python, which the page must show; cell 3 prints "Δ vs best" at that step,
which the page's toggle must colour. Cells 4-5 follow a loop as it logs new
steps: the slider grows and, at the last step, follows. Screenshots and the
per-move latency (input to the matrix repainted) go to tests/browser/artifacts/.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ._latency import summary
from ._page import (
    PageLog,
    cell_json,
    drag_slider,
    kept_on_failure,
    matrix_numbers,
    open_notebook,
    prompt,
    run_cell,
    wait_cell_done,
)
from ._server import write_notebook
from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

SETUP = """\
import json, time
import numpy as np
import runwatch as rw
from runwatch.views.replay import delta_vs_best, matrix_at, metrics_at

rng = np.random.default_rng(0)
CLASSES = np.array(["cat", "dog", "eel"])

def epoch(skill, n=120):
    y = rng.choice(CLASSES, n, p=[0.5, 0.3, 0.2])
    return y, np.where(rng.random(n) < skill, y, rng.choice(CLASSES, n))

run = rw.Run("replay", store="replay.db")
with run.iteration("epochs") as it:
    for e in range(6):
        y, pred = epoch(0.3 + 0.1 * e)
        it.update("validation", y, y_pred=pred, step=e)
with run.iteration("strong") as strong:
    y, pred = epoch(0.95)
    strong.update("validation", y, y_pred=pred)
run.flush()

def at(step):
    steps = it.steps("validation")
    return {"step": step, "matrix": matrix_at(steps, step).to_numpy().tolist(),
            "accuracy": metrics_at(steps, step)["accuracy"]}

w = rw.RunDetails(run, live=False)
w.selected = str(it.id)
w
"""

READ_BACK = """\
print(json.dumps(at(w.replay_step)))
"""

SET_FROM_PYTHON = """\
w.replay_step = 2
print(json.dumps(at(2)))
"""

DELTA = """\
d = delta_vs_best(it.steps("validation"), run.best().confusion_matrix("validation"), step=2)
print(json.dumps({"best": run.best().name, "labels": list(d.index), "diff": d.to_numpy().tolist()}))
"""

LIVE_WIDGET = """\
live = rw.Run("replay-live", store="replay.db")
wl = rw.RunDetails(live)
wl
"""

LIVE_LOOP = """\
with live.iteration("training") as lit:
    for e in range(6):
        y, pred = epoch(0.4 + 0.1 * e)
        lit.update("validation", y, y_pred=pred, step=e)
        time.sleep(1.5)
"""

# Per move: the input event to the matrix redrawn and painted (the next frame).
LATENCY = """async (root) => {
  const slider = root.querySelector('.rw-replay input[type=range]');
  const first = () => root.querySelector('.rw-replay-matrix .rw-matrix tbody td')?.textContent;
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const took = [];
  let changed = 0;
  for (let i = 0; i < 40; i++) {
    slider.value = String((Number(slider.value) + 2) % (Number(slider.max) + 1));
    const before = first();
    const start = performance.now();
    slider.dispatchEvent(new Event('input'));
    await frame();
    took.push(performance.now() - start);
    if (first() !== before) changed += 1;
  }
  return { took, changed };
}"""


def _accuracy(root) -> float:
    row = root.locator("table.rw-metrics tr", has=root.page.locator("td:text-is('accuracy')"))
    return float(row.first.locator("td").nth(1).inner_text())


def _diff(root) -> list[list[float]]:
    cells = root.locator(".rw-diff-matrix tbody tr").evaluate_all(
        "(trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.dataset.value))"
    )
    return [[float(v) for v in row] for row in cells]


def test_replay_slider_and_python_agree_in_jupyterlab(lab, browser):
    check_replay(lab, browser, "replay")


def check_replay(server, browser, tag: str) -> None:
    """The whole check in one front end (JupyterLab, Notebook 7); artifacts named by `tag`."""
    ARTIFACTS.mkdir(exist_ok=True)
    cells = [SETUP, READ_BACK, SET_FROM_PYTHON, DELTA, LIVE_WIDGET, LIVE_LOOP]
    write_notebook(server.root / "replay.ipynb", cells)
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / f"failure-{tag}"):
        open_notebook(page, server.notebook_url("replay.ipynb"))
        run_cell(page, 0)
        wait_cell_done(page, 0)
        root = page.locator(".rw-root").first
        control = root.locator(".rw-replay")
        control.wait_for(timeout=60_000)
        slider = control.locator("input[type=range]")
        assert slider.get_attribute("max") == "5" and slider.input_value() == "5"
        assert "(latest)" in control.locator(".rw-replay-value").inner_text()
        latest = matrix_numbers(root)

        # Drag the thumb with the mouse to a fifth of the track: step 1.
        slider.scroll_into_view_if_needed()
        drag_slider(page, slider, 0.2)
        page.wait_for_function(
            "(r) => r.querySelector('.rw-replay input[type=range]').value === '1'",
            arg=root.element_handle(),
        )
        back = cell_json(page, 1)
        assert back["step"] == 1, back
        assert matrix_numbers(root) == back["matrix"] != latest
        assert _accuracy(root) == pytest.approx(back["accuracy"], abs=5e-5)
        assert control.locator(".rw-replay-value").inner_text() == "1 \u00b7 2 of 6"

        # Set from Python: the page follows.
        there = cell_json(page, 2)
        page.wait_for_function(
            "(r) => r.querySelector('.rw-replay input[type=range]').value === '2'",
            arg=root.element_handle(),
            timeout=10_000,
        )
        assert matrix_numbers(root) == there["matrix"]
        assert _accuracy(root) == pytest.approx(there["accuracy"], abs=5e-5)
        root.screenshot(path=str(ARTIFACTS / f"{tag}-step.png"))

        # Δ vs best at step 2: compare's diverging cells, equal to views.replay's.
        oracle = cell_json(page, 3)
        assert oracle["best"] == "strong"
        control.locator("input[type=checkbox]").check()
        root.locator(".rw-replay-matrix .rw-diff-matrix").wait_for(timeout=10_000)
        labels = root.locator(".rw-diff-matrix thead th.rw-col-label").all_inner_texts()
        assert labels == oracle["labels"]
        np.testing.assert_allclose(_diff(root), oracle["diff"], atol=1e-12)
        assert "best #2" in root.locator(".rw-diff-note").first.inner_text()
        root.screenshot(path=str(ARTIFACTS / f"{tag}-delta.png"))
        control.locator("input[type=checkbox]").uncheck()
        root.locator(".rw-replay-matrix .rw-matrix").wait_for(timeout=10_000)

        took = root.evaluate(LATENCY)
        assert took["changed"] >= 30, took  # the moves repainted a different matrix
        latency = {"slider_to_matrix_painted": summary(took["took"])}

        # Live: the slider appears at the second step, grows, and follows at the last.
        run_cell(page, 4)
        wait_cell_done(page, 4)
        lroot = page.locator(".rw-root").nth(1)
        run_cell(page, 5)
        lslider = lroot.locator(".rw-replay input[type=range]")
        lslider.wait_for(timeout=60_000)
        seen = set()
        while "*" in prompt(page, 5):
            value = lslider.evaluate("(s) => [s.max, s.value]")
            seen.add(tuple(value))
            page.wait_for_timeout(200)  # not for correctness: samples the slider as it grows
        wait_cell_done(page, 5)
        page.wait_for_function(
            "(s) => s.max === '5' && s.value === '5'", arg=lslider.element_handle(), timeout=10_000
        )
        grown = sorted({int(m) for m, _ in seen})
        assert len(grown) >= 3, seen  # seen growing while the cell ran
        assert all(m == v for m, v in seen), seen  # at the latest it followed each new step
        lroot.screenshot(path=str(ARTIFACTS / f"{tag}-live.png"))
        (ARTIFACTS / f"{tag}-latency.json").write_text(json.dumps(latency, indent=1))
        print(tag, json.dumps(latency))
        log.assert_offline()
