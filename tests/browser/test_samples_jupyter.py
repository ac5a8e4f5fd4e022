"""Where the model fails, in JupyterLab and Notebook 7: by attribute, importance, samples, gallery.

One notebook: cell 0 logs a finished digits classifier with per-sample ids and
attributes and shows ``RunDetails(run, thumbnail=...)``; cell 1 runs a second,
slow iteration in the foreground (the kernel cannot answer the page then);
cell 2 prints what Python holds in ``widget.selected_samples`` and what the
engine says the clicked cell's samples are. Screenshots and the latencies
(p50, p95, max per event) go to tests/browser/artifacts/.
"""

from __future__ import annotations

import time

import pytest

from . import _latency
from ._page import (
    PageLog,
    cell_json,
    click_matrix_cell,
    detail_title_is,
    kept_on_failure,
    open_notebook,
    prompt,
    run_cell,
    texts,
    time_cell_clicks,
    wait_cell_done,
)
from ._server import write_notebook
from .conftest import artifact, viewport

pytestmark = pytest.mark.browser

SETUP = """\
import json, time
import numpy as np
import runwatch as rw
import runwatch.views
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

digits = load_digits()
X, y = digits.data, np.array([f"digit {v}" for v in digits.target], dtype=object)
images = digits.images / 16.0          # 8x8 floats in [0, 1]
ids = [f"img-{i:04d}" for i in range(len(y))]
rng = np.random.default_rng(0)
attributes = {
    "ink": X.mean(axis=1),                                    # numeric
    "scanner": rng.choice(["flatbed", "phone", "fax"], len(y)),  # categorical
}
val = np.arange(1200, len(y))

def thumbnail(sample_id):
    i = int(sample_id.split("-")[1])
    if i % 5 == 0:
        raise FileNotFoundError(f"no image file for {sample_id}")
    return np.kron(images[i], np.ones((8, 8)))  # 64x64, blocky

run = rw.Run("failures", primary_metric="accuracy", labels=sorted(set(y.tolist())),
             store="runs.db")
with run.iteration("GaussianNB") as it:
    model = GaussianNB().fit(X[:1200], y[:1200])
    it.update("validation", y[val], y_proba=model.predict_proba(X[val]),
              sample_ids=[ids[i] for i in val],
              attributes={k: v[val] for k, v in attributes.items()})
w = rw.RunDetails(run, thumbnail=thumbnail)
w
"""

# About 15 s in the foreground: the page's messages wait until it ends.
SLOW = """\
with run.iteration("LogisticRegression") as it:
    model = LogisticRegression(max_iter=200).fit(X[:1200], y[:1200])
    for step in range(60):
        it.log_loss(1.0 / (step + 1), step=step)
        time.sleep(0.25)
    it.update("validation", y[val], y_proba=model.predict_proba(X[val]),
              sample_ids=[ids[i] for i in val],
              attributes={k: v[val] for k, v in attributes.items()})
"""

READ_BACK = """\
engine = run.get(int(w.selected)).engine("validation")
print(json.dumps({"cell": list(w.selected_cell), "selected_samples": w.selected_samples,
                  "engine": engine.samples(*w.selected_cell),
                  "top": engine.top_losses(20)["id"].tolist()}))
"""

# An off-diagonal matrix cell with samples: (true, predicted) from its tooltip.
FIND_CELL = """(root) => {
  for (const td of root.querySelectorAll('.rw-matrix td.rw-clickable:not(.rw-diag)')) {
    if (td.textContent !== '0') {
      const [t, p] = td.title.split('\\n');
      return [t.replace('true: ', ''), p.replace('predicted: ', '')];
    }
  }
  return null;
}"""


def test_failure_panels_samples_and_gallery(jupyter, browser):
    write_notebook(jupyter.root / "failures.ipynb", [SETUP, SLOW, READ_BACK])
    page = browser.new_page(viewport=viewport(jupyter, 2600))
    log = PageLog(page)
    with kept_on_failure(page, log, artifact(jupyter, "failure-samples")):
        open_notebook(page, jupyter.notebook_url("failures.ipynb"))
        run_cell(page, 0)
        root = page.locator(".rw-root").first
        root.locator(".rw-chart-by_attribute svg").wait_for(timeout=90_000)
        wait_cell_done(page, 0)
        detail_title_is(page, "Iteration #1: GaussianNB")
        # By attribute: the first attribute is the strongest; both are offered.
        options = texts(root.locator(".rw-attribute-pick option"))
        assert sorted(options) == ["ink", "scanner"]
        root.locator(".rw-attribute-importance svg").wait_for(timeout=10_000)
        assert root.locator(".rw-top-losses-table tbody tr").count() == 20
        # The top losses' thumbnails come from the kernel (idle now).
        page.wait_for_function(
            "() => [...document.querySelectorAll('.rw-top-losses img.rw-thumb')]"
            ".some((i) => i.complete && i.naturalWidth === 64)",
            timeout=15_000,
        )

        # A foreground loop: the finished iteration's panels are in the page already.
        run_cell(page, 1)
        page.wait_for_function(
            "() => document.querySelectorAll('.rw-iterations tr.rw-row').length === 2",
            timeout=30_000,
        )
        root.locator(".rw-iterations tr.rw-row").filter(has_text="GaussianNB").click()
        detail_title_is(page, "Iteration #1: GaussianNB")
        assert "*" in prompt(page, 1)
        root.locator(".rw-chart-by_attribute svg").wait_for(timeout=10_000)
        assert root.locator(".rw-top-losses-table tbody tr").count() == 20
        cell = root.evaluate(FIND_CELL)
        assert cell is not None
        click_matrix_cell(root, cell)
        waiting = root.locator(".rw-cell-samples .rw-waiting")
        waiting.wait_for(timeout=5_000)
        assert "Asking the kernel" in waiting.inner_text()
        assert "*" in prompt(page, 1), "the cell must still run while the page waits"
        root.screenshot(path=str(artifact(jupyter, "samples-while-busy.png")))

        # The loop ends: the kernel reads the click and answers with the ids and images.
        wait_cell_done(page, 1, timeout=90_000)
        tiles = root.locator(".rw-cell-samples .rw-sample")
        tiles.first.wait_for(timeout=20_000)
        page.wait_for_function(
            "() => document.querySelectorAll('.rw-cell-samples .rw-thumb-waiting').length === 0"
            " && [...document.querySelectorAll('.rw-cell-samples img.rw-thumb')]"
            ".every((i) => i.complete && i.naturalWidth === 64)",
            timeout=15_000,
        )
        shown = tiles.evaluate_all("(els) => els.map((e) => e.dataset.id)")
        back = cell_json(page, 2)
        assert back["cell"] == cell
        assert back["selected_samples"] == back["engine"] == shown  # ids reached Python
        # A thumbnail the function failed on says why, in one sentence.
        bad = [i for i in back["top"] if int(i.split("-")[1]) % 5 == 0]
        assert bad  # the data are fixed: some top losses have no image
        msg = root.locator(".rw-top-losses .rw-thumb-message").inner_text()
        assert msg == f"thumbnail('{bad[0]}') raised FileNotFoundError: no image file for {bad[0]}"
        assert root.locator(".rw-top-losses .rw-thumb-error").count() == len(bad)
        root.screenshot(path=str(artifact(jupyter, "samples-gallery.png")))
        root.locator(".rw-failures").screenshot(path=str(artifact(jupyter, "samples-panels.png")))
        assert root.locator(".rw-failures .rw-thumb-waiting").count() == 0

        # Latency, kernel idle: click a cell -> its ids and thumbnails in the page.
        cells = [cell, [cell[0], cell[0]]]
        took = time_cell_clicks(page, root, cells)
        # Picking another attribute redraws the chart from the payload (no kernel).
        switch = []
        for k in range(10):
            name = ["scanner", "ink"][k % 2]
            start = time.perf_counter()
            root.locator(".rw-attribute-pick select").select_option(name)
            root.locator(".rw-chart-by_attribute svg").wait_for(timeout=5_000)
            page.wait_for_function(
                "(n) => document.querySelector('.rw-attribute-pick select').value === n"
                " && document.querySelector('.rw-chart-by_attribute svg')",
                arg=name,
            )
            switch.append(1000 * (time.perf_counter() - start))
        _latency.report(
            artifact(jupyter, "samples-latency.json"),
            {"cell click -> ids and thumbnails": took, "attribute pick -> chart": switch},
        )
        root.locator(".rw-attribute-pick select").select_option("scanner")
        labels = texts(root.locator(".rw-chart-by_attribute g.role-axis-label text"))
        assert {"flatbed", "phone", "fax"} <= set(labels)
        root.locator(".rw-by-attribute").screenshot(
            path=str(artifact(jupyter, "samples-by-scanner.png"))
        )
        log.assert_offline()
        assert log.widget_errors() == [], log.console
