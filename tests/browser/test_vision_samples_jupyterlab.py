"""Where a detector fails, in a real JupyterLab: by attribute, importance, a cell's images, gallery.

One notebook: cell 0 logs a finished detection run whose images carry ids and
attributes (brightness, source; dark images get badly placed boxes) and shows
``RunDetails(run, thumbnail=...)`` (the thumbnail draws the true boxes); cell 1
prints what Python holds in ``widget.selected_samples`` and what the engine
says the clicked cell's images are. Screenshots and latencies go to
tests/browser/artifacts/.
"""

from __future__ import annotations

import json

import pytest

from ._latency import summary
from ._page import (
    PageLog,
    cell_json,
    click_matrix_cell,
    detail_title_is,
    kept_on_failure,
    open_notebook,
    run_cell,
    texts,
    time_cell_clicks,
    wait_cell_done,
)
from ._server import write_notebook
from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

SETUP = """\
import json
import numpy as np
import runwatch as rw
import runwatch.views

rng = np.random.default_rng(0)
CLASSES = ["circle", "square"]
N = 120
dark = rng.random(N) < 0.4
scenes = []
for i in range(N):
    n = int(rng.integers(1, 4))
    xy = rng.uniform(0, 60, (n, 2))
    boxes = np.hstack([xy, xy + rng.uniform(12, 30, (n, 2))])
    labels = rng.choice(CLASSES, n)
    jitter = rng.normal(0, 7 if dark[i] else 1, boxes.shape)  # dark: badly placed boxes
    pred = boxes + jitter
    pred[:, 2:] = np.maximum(pred[:, 2:], pred[:, :2] + 1)
    plabels = np.where(rng.random(n) < 0.1, rng.choice(CLASSES, n), labels)
    scenes.append(({"boxes": pred, "scores": rng.uniform(0.55, 1, n), "labels": plabels},
                   {"boxes": boxes, "labels": labels, "image_id": i}))
ids = [f"scene-{i:03d}" for i in range(N)]
attributes = {"brightness": np.where(dark, 0.25, 0.75) + rng.normal(0, 0.05, N),
              "source": np.where(rng.random(N) < 0.5, "drone", "phone")}

def thumbnail(image_id):
    preds, target = scenes[ids.index(image_id)]
    img = np.full((96, 96, 3), 40 if dark[ids.index(image_id)] else 200, np.uint8)
    for x1, y1, x2, y2 in np.clip(target["boxes"], 0, 95).astype(int):
        img[[y1, y2], x1:x2 + 1] = img[y1:y2 + 1, [x1, x2]] = (255, 140, 0)
    return img

run = rw.Run("where-boxes-fail", task="detection", labels=CLASSES, store="runs.db")
with run.iteration("detector") as it:
    preds, targets = zip(*scenes)
    it.update("validation", list(preds), list(targets), sample_ids=ids, attributes=attributes)
w = rw.RunDetails(run, thumbnail=thumbnail)
w
"""

READ_BACK = """\
engine = run.get(int(w.selected)).engine("validation")
print(json.dumps({"cell": list(w.selected_cell), "selected_samples": w.selected_samples,
                  "engine": engine.samples(*w.selected_cell),
                  "top": engine.top_losses(20)["id"].tolist()}))
"""

# A cell of the background row with images: (true, predicted) from its tooltip.
FIND_BACKGROUND = """(root) => {
  for (const td of root.querySelectorAll('.rw-matrix td.rw-clickable')) {
    const [t, p] = td.title.split('\\n');
    if (t === 'true: background' && td.textContent !== '0') {
      return ['background', p.replace('predicted: ', '')];
    }
  }
  return null;
}"""


def test_detection_failure_panels_cell_images_and_gallery_in_jupyterlab(lab, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(lab.root / "vision_failures.ipynb", [SETUP, READ_BACK])
    page = browser.new_page(viewport={"width": 1400, "height": 2800})
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "vision-failure-samples"):
        open_notebook(page, lab.notebook_url("vision_failures.ipynb"))
        run_cell(page, 0)
        root = page.locator(".rw-root").first
        root.locator(".rw-chart-by_attribute svg").wait_for(timeout=90_000)
        wait_cell_done(page, 0)
        detail_title_is(page, "Iteration #1: detector")
        # By attribute: brightness first (dark images fail), both offered; vision metrics.
        assert texts(root.locator(".rw-attribute-pick option")) == ["brightness", "source"]
        metrics = texts(root.locator(".rw-bucket-metric option"))
        assert metrics == ["mAP", "mAP@0.5", "F1 at the threshold", "precision at the threshold",
                           "recall at the threshold"]  # fmt: skip
        root.locator(".rw-attribute-importance svg").wait_for(timeout=10_000)
        heads = texts(root.locator(".rw-top-losses-table th"))
        assert heads == ["Id", "Objects", "Found, false, missed", "1 \u2212 F1"]
        assert root.locator(".rw-top-losses-table tbody tr").count() == 20
        # The gallery of the top losses: thumbnails from the kernel (idle).
        page.wait_for_function(
            "() => [...document.querySelectorAll('.rw-top-losses img.rw-thumb')]"
            ".some((i) => i.complete && i.naturalWidth > 0)",
            timeout=20_000,
        )
        # Click a cell of the background row (a false detection): its images, in Python.
        cell = root.evaluate(FIND_BACKGROUND)
        assert cell is not None
        click_matrix_cell(root, cell)
        tiles = root.locator(".rw-cell-samples .rw-sample")
        tiles.first.wait_for(timeout=20_000)
        page.wait_for_function(
            "() => document.querySelectorAll('.rw-cell-samples .rw-thumb-waiting').length === 0"
            " && [...document.querySelectorAll('.rw-cell-samples img.rw-thumb')]"
            ".every((i) => i.complete && i.naturalWidth > 0)",
            timeout=20_000,
        )
        shown = tiles.evaluate_all("(els) => els.map((e) => e.dataset.id)")
        back = cell_json(page, 1)
        assert back["cell"] == cell
        assert back["selected_samples"] == back["engine"] == shown and shown
        root.screenshot(path=str(ARTIFACTS / "vision-samples-gallery.png"))

        # Latency, kernel idle: click a cell -> its image ids and thumbnails in the page.
        cells = [cell, ["circle", "background"]]
        took = time_cell_clicks(page, root, cells)
        # Pick the other attribute and another metric: redrawn from the payload.
        root.locator(".rw-attribute-pick select").select_option("source")
        root.locator(".rw-bucket-metric select").select_option("f1")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.rw-chart-by_attribute g.role-axis-label text')]"
            ".some((t) => t.textContent === 'drone')",
            timeout=10_000,
        )
        (ARTIFACTS / "vision-samples-latency.json").write_text(
            json.dumps({"cell_click_to_gallery": summary(took)})
        )
        root.locator(".rw-failures").screenshot(path=str(ARTIFACTS / "vision-samples-panels.png"))
        log.assert_offline()
        assert not [c for c in log.console if c.startswith("pageerror")], log.console
