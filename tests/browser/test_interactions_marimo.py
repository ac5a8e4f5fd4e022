"""The widget's controls in a marimo app (``marimo run``), read back in Python (issues 13, 14, 16).

One app, four widgets: a binary classifier (the score threshold), a digits
classifier with sample ids, attributes and ``thumbnail=`` (a matrix cell's
samples, the gallery, the by-attribute chart, the top losses), a detector
(its score threshold, the matrix with the background row and column) and a
segmenter. What Python holds is read from cells marimo reruns when a
widget's value changes; buttons run cells that set a trait from Python,
which the page must follow. Each event's latency (p50, p95, max) is printed
and kept in tests/browser/artifacts/, as are the screenshots.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from . import _latency
from ._marimo import no_errors, output_text, python_says, round_trip, serve_app, wait_json
from ._page import PageLog, drag_slider, kept_on_failure, matrix_numbers, texts
from ._server import Marimo
from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

APP = '''\
import marimo

app = marimo.App()


@app.cell
def _():
    import html
    import json

    import marimo as mo
    import numpy as np
    import runwatch as rw

    def show(css, value):
        """A cell's output the test reads: `value` as JSON in an element of class `css`."""
        return mo.Html(f'<pre class="{css}">{html.escape(json.dumps(value))}</pre>')

    return mo, np, rw, show


@app.cell
def _(mo, np, rw):
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    binary = rw.Run("threshold", task="classification", labels=["no", "yes"], store="runs.db")
    if len(binary.iterations()) == 0:  # each visit runs the app anew: log the runs once
        _X, _y = make_classification(n_samples=600, n_features=8, weights=[0.7], flip_y=0.08,
                                   random_state=0)
        _yes_no = np.array(["no", "yes"])[_y]
        _model = LogisticRegression(max_iter=300).fit(_X[:300], _yes_no[:300])
        with binary.iteration("logreg") as _it:
            _it.update("validation", _yes_no[300:], y_proba=_model.predict_proba(_X[300:]))
        binary.flush()

    def binary_at(t):
        if t is None:
            return {"t": None}
        r = binary.best().engine("validation").at_threshold(t)
        return {"t": t, "matrix": r["matrix"].to_numpy().tolist(), "precision": r["precision"],
                "recall": r["recall"], "f1": r["f1"]}

    # Cells that set a trait name the widget, not the wrapper: a cell naming the
    # wrapper reruns on each change of its value (and would set it again).
    thr_widget = rw.RunDetails(binary, live=False)
    thr = mo.ui.anywidget(thr_widget)
    thr
    return binary_at, thr, thr_widget


@app.cell
def _(binary_at, show, thr):
    show("threshold-back", binary_at(thr.widget.threshold))
    return


@app.cell
def _(mo):
    set_threshold = mo.ui.button(label="threshold 0.4237 from Python", value=0,
                                 on_click=lambda n: n + 1)
    set_threshold
    return (set_threshold,)


@app.cell
def _(binary_at, set_threshold, show, thr_widget):
    if set_threshold.value:
        thr_widget.threshold = 0.4237
    show("threshold-set", {"clicks": set_threshold.value, **binary_at(thr_widget.threshold)})
    return


@app.cell
def _(mo, np, rw):
    from sklearn.datasets import load_digits
    from sklearn.naive_bayes import GaussianNB

    _digits = load_digits()
    _images = _digits.images / 16.0

    def thumbnail(sample_id):
        return np.kron(_images[int(sample_id.split("-")[1])], np.ones((8, 8)))  # 64x64

    failures = rw.Run("failures", labels=[f"digit {v}" for v in range(10)], store="runs.db")
    if len(failures.iterations()) == 0:
        _X = _digits.data
        _y = np.array([f"digit {v}" for v in _digits.target], dtype=object)
        _val = np.arange(1200, len(_y))
        _rng = np.random.default_rng(0)
        with failures.iteration("GaussianNB") as _it:
            _it.update("validation", _y[_val], y_proba=GaussianNB().fit(_X[:1200], _y[:1200])
                      .predict_proba(_X[_val]), sample_ids=[f"img-{i:04d}" for i in _val],
                      attributes={"ink": _X[_val].mean(axis=1),
                                  "scanner": _rng.choice(["flatbed", "phone", "fax"], len(_val))})
        failures.flush()
    smp = mo.ui.anywidget(rw.RunDetails(failures, thumbnail=thumbnail))
    smp
    return failures, smp


@app.cell
def _(failures, show, smp):
    _w = smp.widget
    _cell = _w.selected_cell
    _engine = failures.best().engine("validation")
    show("samples-back", {
        "cell": None if _cell is None else list(_cell),
        "selected_samples": _w.selected_samples,
        "engine": None if _cell is None else _engine.samples(*_cell),
        "top": _engine.top_losses(20)["id"].tolist(),
    })
    return


@app.cell
def _(mo, np, rw):
    rng = np.random.default_rng(1)
    _CLASSES = ["circle", "square"]

    def scene():
        n = int(rng.integers(1, 4))
        xy = rng.uniform(0, 200, (n, 2))
        wh = rng.uniform(10, 120, (n, 2))
        boxes = np.hstack([xy, xy + wh])
        _truth = rng.choice(_CLASSES, n)
        at = xy + rng.normal(0, 6, xy.shape)
        pred = np.hstack([at, at + np.maximum(wh + rng.normal(0, 6, wh.shape), 2)])
        plabels = np.where(rng.random(n) < 0.2, rng.choice(_CLASSES, n), _truth)
        spurious = rng.uniform(0, 200, (2, 2))
        pred = np.vstack([pred, np.hstack([spurious, spurious + 30])])
        plabels = np.append(plabels, rng.choice(_CLASSES, 2))
        scores = np.append(rng.uniform(0.3, 1, n), rng.uniform(0, 0.7, 2))
        return {"boxes": pred, "scores": scores, "labels": plabels}, {"boxes": boxes,
                                                                      "labels": _truth}

    det = rw.Run("boxes", task="detection", labels=_CLASSES, store="runs.db")
    if len(det.iterations()) == 0:
        with det.iteration("detector") as _it:
            _preds, _targets = zip(*(scene() for _ in range(40)))
            _it.update("validation", list(_preds), list(_targets))
        det.flush()

    def det_at(t):
        if t is None:
            return {"t": None}
        r = det.best().engine("validation").at_threshold(t)
        return {"t": t, "matrix": r["confusion_matrix"].to_numpy().tolist(),
                "precision": r["per_class"]["precision"].tolist()}

    dview = mo.ui.anywidget(rw.RunDetails(det, live=False))
    dview
    return det_at, dview, rng


@app.cell
def _(det_at, dview, show):
    show("detection-back", det_at(dview.widget.threshold))
    return


@app.cell
def _(mo, np, rng, rw):
    seg = rw.Run("pixels", task="segmentation", labels=["sky", "road", "car", "person"],
                 store="runs.db")
    if len(seg.iterations()) == 0:
        with seg.iteration("segmenter") as _it:
            _truth = rng.choice(4, (6, 48, 48), p=[0.5, 0.3, 0.15, 0.05])
            _flip = rng.random(_truth.shape) < np.array([0.05, 0.2, 0.4, 0.7])[_truth]
            _pred = np.where(_flip, rng.integers(0, 4, _truth.shape), _truth)
            _it.update("validation", _truth, _pred)
        seg.flush()
    sview = mo.ui.anywidget(rw.RunDetails(seg, live=False))
    sview
    return


if __name__ == "__main__":
    app.run()
'''


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marimo]:
    """The app above, served by ``marimo run``."""
    with serve_app(tmp_path_factory.mktemp("marimo-interactions"), APP) as server:
        yield server


def _open(browser, marimo_app: Marimo):
    # Tall: marimo scrolls the app inside a box of the window's height, and element
    # screenshots come out blank below the fold.
    page = browser.new_page(viewport={"width": 1400, "height": 6000})
    page.goto(marimo_app.page_url())
    return page


def _widget(page, run_name: str):
    """The widget of the run `run_name` (its root), once its table is drawn."""
    root = page.locator(".rw-root").filter(has=page.locator(".rw-title", has_text=run_name))
    root.locator(".rw-iterations tr.rw-row").first.wait_for(timeout=90_000)
    return root


def _back(page, css: str) -> dict:
    return json.loads(output_text(page, css))


def _shown(control) -> str:
    return control.locator(".rw-threshold-value").inner_text()


def _same(shown: str, t: float) -> bool:
    """Whether the control's text (the threshold to 4 digits) shows `t`."""
    return shown.startswith("\u2265 ") and float(shown[2:]) == float(format(t, ".4g"))


def _python_holds(shown: str) -> str:
    """A test for wait_json: Python's threshold ``v.t`` is the one the page shows, `shown`."""
    return f"v.t !== null && Number(v.t.toPrecision(4)) === Number({json.dumps(shown[2:])})"


#: JS run with the widget's root: one arrow-key step of the threshold slider, as the
#: browser moves a focused range input (value, then an input event).
STEP = (
    "const s = root.querySelector('.rw-threshold input[type=range]');"
    "s.value = String((Number(s.value) + 5) % (Number(s.max) + 1));"
    "s.dispatchEvent(new Event('input', {bubbles: true}));"
)


def test_threshold_reaches_python_and_back_in_marimo(marimo_app, browser):
    page = _open(browser, marimo_app)
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "failure-threshold-marimo"):
        root = _widget(page, "threshold")
        control = root.locator(".rw-threshold")
        root.locator(".rw-chart-roc svg").wait_for(timeout=30_000)
        assert _back(page, ".threshold-back") == {"t": None}
        off = matrix_numbers(root)

        # On (0.5), then the arrow keys: the slider has the focus and takes them.
        control.locator("input[type=checkbox]").check()
        wait_json(page, ".threshold-back", "v.t === 0.5")
        slider = control.locator("input[type=range]")
        slider.focus()
        at = int(slider.input_value())
        for key in ["ArrowLeft"] * 12 + ["ArrowRight"] * 2:
            page.keyboard.press(key)
        assert int(slider.input_value()) == at - 10
        shown = _shown(control)
        back = wait_json(page, ".threshold-back", _python_holds(shown))
        assert back["t"] < 0.5
        assert _same(shown, back["t"]), (shown, back)
        assert matrix_numbers(root) == back["matrix"] != off
        scores = control.locator(".rw-threshold-scores").inner_text()
        assert f"precision {back['precision']:.3f}" in scores and f"F1 {back['f1']:.3f}" in scores
        for chart in ("roc", "pr"):
            root.locator(f".rw-chart-{chart} g.rw_threshold_point_marks path").wait_for()
        root.screenshot(path=str(ARTIFACTS / "threshold-marimo.png"))

        # The mouse: a drag to four fifths of the track; Python ends on where it stopped.
        drag_slider(page, slider, 0.8)
        shown = _shown(control)
        dragged = wait_json(page, ".threshold-back", _python_holds(shown))
        assert dragged["t"] > back["t"]
        assert matrix_numbers(root) == dragged["matrix"]

        # Per event: slider input -> Python's cell rerun with the value, shown in the page.
        took = []
        for _ in range(15):
            ms, text = round_trip(root, STEP, ".threshold-back")
            took.append(ms)
            t = json.loads(text)["t"]
            assert _same(_shown(control), t), (_shown(control), t)

        # From Python: a button runs a cell that sets 0.4237 (between the slider's stops);
        # the page shows the engine's matrix at it.
        page.get_by_role("button", name="threshold 0.4237 from Python").click()
        exact = wait_json(page, ".threshold-set", "v.clicks === 1")
        assert exact["t"] == 0.4237
        control.locator(".rw-threshold-value", has_text="\u2265 0.4237").wait_for(timeout=10_000)
        assert matrix_numbers(root) == exact["matrix"]
        assert f"F1 {exact['f1']:.3f}" in control.locator(".rw-threshold-scores").inner_text()

        # Off again: the arg-max matrix, and Python hears it.
        control.locator("input[type=checkbox]").uncheck()
        python_says(page, ".threshold-back", json.dumps({"t": None}))
        assert matrix_numbers(root) == off
        _latency.report(
            ARTIFACTS / "threshold-marimo-latency.json",
            {"slider input -> Python's cell rerun, in the page": took},
        )
        no_errors(page, log)
        log.assert_offline()


#: JS run with the widget's root: click the matrix cell (true, predicted) of the JSON args.
def _click_js(cell: list[str]) -> str:
    t, p = (json.dumps(x) for x in cell)
    return (
        "for (const td of root.querySelectorAll('.rw-matrix td.rw-clickable')) {"
        "  const [a, b] = td.title.split('\\n');"
        f"  if (a === 'true: ' + {t} && b === 'predicted: ' + {p}) {{ td.click(); return; }}"
        "}"
        "throw new Error('no such cell');"
    )


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

#: The gallery of the clicked cell is drawn and each of its thumbnails loaded.
GALLERY_DONE = """(root) => {
  const box = root.querySelector('.rw-cell-samples');
  return box !== null && box.querySelectorAll('.rw-sample').length > 0
    && box.querySelectorAll('.rw-thumb-waiting').length === 0
    && [...box.querySelectorAll('img.rw-thumb')].every((i) => i.complete && i.naturalWidth === 64);
}"""


def test_cell_samples_gallery_and_attributes_in_marimo(marimo_app, browser):
    page = _open(browser, marimo_app)
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "failure-samples-marimo"):
        root = _widget(page, "failures")
        root.locator(".rw-chart-by_attribute svg").wait_for(timeout=60_000)
        start = _back(page, ".samples-back")
        assert start["cell"] is None and start["selected_samples"] == []

        # The top losses, with the kernel's thumbnails.
        assert root.locator(".rw-top-losses-table tbody tr").count() == 20
        root.locator(".rw-top-losses img.rw-thumb").first.wait_for(timeout=15_000)
        page.wait_for_function(
            "(r) => [...r.querySelectorAll('.rw-top-losses img.rw-thumb')]"
            ".some((i) => i.complete && i.naturalWidth === 64)",
            arg=root.element_handle(),
            timeout=15_000,
        )

        # Click an off-diagonal cell: its ids reach Python, and the gallery shows them.
        cell = root.evaluate(FIND_CELL)
        assert cell is not None
        root.evaluate(f"(root) => {{ {_click_js(cell)} }}")
        want = json.dumps(json.dumps(cell, separators=(",", ":")))
        back = wait_json(page, ".samples-back", f"JSON.stringify(v.cell) === {want}")
        page.wait_for_function(GALLERY_DONE, arg=root.element_handle(), timeout=20_000)
        tiles = root.locator(".rw-cell-samples .rw-sample").evaluate_all(
            "(els) => els.map((e) => e.dataset.id)"
        )
        assert back["selected_samples"] == back["engine"] == tiles
        assert len(tiles) > 0
        root.screenshot(path=str(ARTIFACTS / "samples-marimo.png"))

        # The attribute picker redraws the by-attribute chart (no kernel needed).
        pick = root.locator(".rw-attribute-pick select")
        assert sorted(texts(pick.locator("option"))) == ["ink", "scanner"]
        pick.select_option("scanner")
        page.wait_for_function(
            "(r) => [...r.querySelectorAll('.rw-chart-by_attribute g.role-axis-label text')]"
            ".some((t) => t.textContent === 'flatbed')",
            arg=root.element_handle(),
            timeout=10_000,
        )
        labels = texts(root.locator(".rw-chart-by_attribute g.role-axis-label text"))
        assert {"flatbed", "phone", "fax"} <= set(labels)
        root.locator(".rw-by-attribute").screenshot(
            path=str(ARTIFACTS / "samples-by-scanner-marimo.png")
        )

        # Per event: a cell click -> the ids in Python's cell; and -> the gallery drawn.
        cells = [[cell[0], cell[0]], cell]
        to_python, to_gallery = [], []
        for k in range(10):
            c = cells[k % 2]
            ms, text = round_trip(root, _click_js(c), ".samples-back")
            got = json.loads(text)
            assert got["cell"] == c and got["selected_samples"] == got["engine"], got
            to_python.append(ms)
        for k in range(10):
            c = cells[k % 2]
            t0 = page.evaluate("() => performance.now()")
            root.evaluate(f"(root) => {{ {_click_js(c)} }}")
            page.wait_for_function(
                """([r, t, p]) => {
                  const head = r.querySelector('.rw-cell-samples .rw-muted');
                  return head?.textContent.startsWith(`true ${t}, predicted ${p}:`);
                }""",
                arg=[root.element_handle(), *c],
                timeout=15_000,
            )
            page.wait_for_function(GALLERY_DONE, arg=root.element_handle(), timeout=15_000)
            to_gallery.append(page.evaluate("() => performance.now()") - t0)
        _latency.report(
            ARTIFACTS / "samples-marimo-latency.json",
            {"cell click -> ids in Python's cell": to_python,
             "cell click -> gallery with thumbnails": to_gallery},
        )  # fmt: skip
        no_errors(page, log)
        log.assert_offline()


def test_detection_threshold_and_segmentation_in_marimo(marimo_app, browser):
    page = _open(browser, marimo_app)
    log = PageLog(page)
    with kept_on_failure(page, log, ARTIFACTS / "failure-vision-marimo"):
        det = _widget(page, "boxes")
        control = det.locator(".rw-threshold")
        control.wait_for(timeout=60_000)
        det.locator(".rw-matrix").wait_for(timeout=30_000)
        # The matrix: both classes and the background, as rows and as columns.
        assert texts(det.locator("table.rw-matrix thead th"))[-1] == "background"
        assert texts(det.locator("table.rw-matrix tbody th"))[-1] == "background"
        assert _back(page, ".detection-back") == {"t": None}

        # The score threshold: on, then up by the keyboard; Python reads the value.
        control.locator("input[type=checkbox]").check()
        wait_json(page, ".detection-back", "v.t !== null")
        slider = control.locator("input[type=range]")
        slider.focus()
        for _ in range(4):
            page.keyboard.press("ArrowRight")
        shown = _shown(control)
        back = wait_json(page, ".detection-back", _python_holds(shown))
        assert _same(shown, back["t"]), (shown, back)
        assert matrix_numbers(det) == back["matrix"]
        precision = det.locator("table.rw-per-class tbody tr td:nth-child(4)")
        np.testing.assert_allclose(
            [float(x) for x in precision.all_inner_texts()], back["precision"], atol=5e-5
        )
        det.screenshot(path=str(ARTIFACTS / "detection-marimo.png"))

        # Segmentation renders: its metrics, the IoU bars, the matrix.
        seg = _widget(page, "pixels")
        seg.locator(".rw-chart-per_class g.mark-rect path").nth(3).wait_for(timeout=30_000)
        assert texts(seg.locator(".rw-metrics tr.rw-group")) == ["segmentation"]
        assert seg.locator("table.rw-per-class tbody tr").count() == 4
        assert len(texts(seg.locator("table.rw-matrix tbody tr"))) == 4
        seg.screenshot(path=str(ARTIFACTS / "segmentation-marimo.png"))
        no_errors(page, log)
        log.assert_offline()
