"""widget._samples: the failure panels' payload, and the cell's samples and thumbnails on demand."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from runwatch.tracking import Run
from runwatch.widget import RunDetails
from runwatch.widget._payload import iteration_detail
from runwatch.widget._samples import CELL_SAMPLES, TOP_LOSSES, failures_detail

LABELS = ["cat", "dog", "owl"]


def _log(db: str, name: str = "attrs", n: int = 400, seed: int = 0, finish: bool = True):
    """An iteration with string ids, a numeric and a categorical attribute; blur makes errors."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    blur = rng.gamma(2.0, 1.0, n)
    logits = rng.normal(size=(n, 3)) + (3.0 - blur)[:, None] * np.eye(3)[truth]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    run = Run(name, labels=LABELS, primary_metric="accuracy", store=db)
    it = run.iteration("model").start()
    attrs = {"blur": blur, "source": rng.choice(["web", "scan", "phone"], n)}
    ids = [f"img-{i}" for i in range(n)]
    it.update(
        "validation", np.array(LABELS)[truth], y_proba=proba, sample_ids=ids, attributes=attrs
    )
    if finish:
        it.complete()
    run.flush()
    return run, it


def _sig(x, digits=4):
    return None if x is None or np.isnan(x) else float(f"{x:.{digits}g}")


def test_the_payload_holds_the_engine_tables_rounded(db):
    run, it = _log(db)
    engine = it.engine("validation")
    f = failures_detail(engine)
    json.dumps(f, allow_nan=False)  # plain JSON: NaN already None
    assert f["labels"] == LABELS
    importance = engine.attribute_importance()
    assert [a["name"] for a in f["attributes"]] == importance["attribute"].tolist()
    for table in f["attributes"]:
        want = engine.by_attribute(table["name"])
        assert table["buckets"] == want["bucket"].tolist()
        assert table["count"] == want["count"].tolist()
        for metric, values in table["metrics"].items():
            assert values == [_sig(v) for v in want[metric]], metric
        for c, label in enumerate(LABELS):
            assert table["recall"][c] == [_sig(v) for v in want[f"recall[{label}]"]]
        if table["kind"] == "numeric":
            np.testing.assert_array_equal(table["lo"], want["lo"])
    top = engine.top_losses(TOP_LOSSES)
    assert [r["id"] for r in f["top_losses"]] == top["id"].tolist()
    assert [r["loss"] for r in f["top_losses"]] == [_sig(v) for v in top["loss"]]
    assert f["chart"]["data"] == {"name": "by_attribute", "values": []}
    assert f["importance"]["data"]["name"] == "attribute_importance"
    # Small enough to live in the page for every finished iteration.
    assert len(json.dumps(f)) < 12_000


def test_only_finished_iterations_carry_the_panels(db):
    run, it = _log(db, finish=False)
    assert iteration_detail(it)["splits"]["validation"]["failures"] is None
    it.complete()
    assert iteration_detail(it)["splits"]["validation"]["failures"] is not None


def test_nothing_to_show_gives_none(db):
    run = Run("plain", labels=[0, 1], store=db)
    with run.iteration("labels only") as it:
        it.update("validation", [0, 1, 1], y_pred=[0, 0, 1])
    assert failures_detail(it.engine("validation")) is None
    reg = Run("reg", task="regression", store=db)
    with reg.iteration("r") as it:
        it.update("validation", [1.0, 2.0], [1.5, 2.5])
    assert failures_detail(it.engine("validation")) is None


@pytest.fixture
def widget(db):
    run, it = _log(db)
    calls: list = []

    def thumbnail(sample_id):
        calls.append(sample_id)
        i = int(sample_id.split("-")[1])
        if i % 7 == 0:
            raise OSError(f"no file for {sample_id}")
        return np.full((240, 160, 3), i % 256, np.uint8)

    w = RunDetails(run, live=False, thumbnail=thumbnail)
    w.calls = calls
    yield w, it
    w.close()


def test_a_clicked_cell_gives_its_ids_in_python_and_tells_observers(widget):
    w, it = widget
    seen = []
    w.observe(lambda change: seen.append(change["new"]), names="selected_samples")
    assert w.selected_samples == [] and w._gallery["ids"] == []
    w.selected_cell = ("cat", "dog")
    want = it.engine("validation").samples("cat", "dog", k=CELL_SAMPLES)
    assert want and w.selected_samples == want and seen == [want]
    assert w._gallery["cell"] == ["cat", "dog"] and w._gallery["ids"] == want
    w.selected_cell = ("owl", "owl")  # a diagonal cell of more than 50: a sample of 50
    assert len(w.selected_samples) == CELL_SAMPLES
    w.selected_cell = ("cat", "zebra")  # not a class of the run: nothing, no error
    assert w.selected_samples == [] and w._gallery["cell"] is None
    w.selected_cell = None
    assert w.selected_samples == []


def test_thumbnails_are_made_on_demand_for_the_cell_and_the_top_losses_only(widget):
    w, it = widget
    assert w.calls == []  # nothing before the page shows the panels
    w.selected_cell = ("cat", "dog")
    cell = list(w.selected_samples)
    assert w.calls == [] and w._gallery["images"] == {}  # ids only: the page asks for images
    w._gallery_request = {"iteration": w.selected, "split": "validation", "cell": ["cat", "dog"]}
    top = it.engine("validation").top_losses(TOP_LOSSES)["id"].tolist()
    asked = set(cell) | set(top)
    assert set(w.calls) == asked and len(w.calls) == len(asked)  # each once, and only these
    g = w._gallery
    assert set(g["images"]) | set(g["errors"]) == asked
    for key, png in g["images"].items():
        img = Image.open(io.BytesIO(png))
        assert img.size == (54, 80)  # 160x240 in blocks of 3 (of 2: 120 > 96), the last cut
        assert np.asarray(img)[0, 0, 0] == int(key.split("-")[1]) % 256
        assert len(png) < 4_000
    bad = [k for k in asked if int(k.split("-")[1]) % 7 == 0]
    for key in bad:
        assert g["errors"][key] == f"thumbnail({key!r}) raised OSError: no file for {key}"
    # Back to a cell seen before: its thumbnails come with its ids, nothing is made again.
    w.selected_cell = ("owl", "cat")
    w.selected_cell = ("cat", "dog")
    assert len(w.calls) == len(asked)
    assert set(w._gallery["images"]) | set(w._gallery["errors"]) == asked


def test_a_widget_without_thumbnails_lists_ids_and_calls_nothing(db):
    run, it = _log(db)
    w = RunDetails(run, live=False)
    try:
        w.selected_cell = ("dog", "cat")
        w._gallery_request = {"iteration": w.selected, "split": "validation"}
        assert w._gallery["enabled"] is False and w._gallery["images"] == {}
        assert w._gallery["ids"] == it.engine("validation").samples("dog", "cat")
    finally:
        w.close()


def test_a_thumbnail_that_is_not_a_function_is_refused(db):
    run, _ = _log(db)
    with pytest.raises(TypeError, match=r"^thumbnail must be a function from a sample id"):
        RunDetails(run, thumbnail="images/")


def test_the_split_and_labels_the_page_shows(db):
    run = Run("ints", labels=[0, 1], store=db)
    with run.iteration("m") as it:
        it.update("test", [0, 1, 1, 0], y_proba=[[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.3, 0.7]])
    w = RunDetails(run, live=False)
    try:
        w.selected_cell = ("1", "0")  # the page's text of an int label; only a test split
        assert w.selected_samples == [1] and w._gallery["split"] == "test"
    finally:
        w.close()


ROWS_FIXTURE = Path(__file__).resolve().parents[2] / "js" / "attribute_rows.json"


def _fixture_cases(db: str) -> list[dict]:
    """Payload tables and the rows views.attributes makes of them, for js/attributes.test.ts."""
    import pandas as pd

    from runwatch.views.attributes import by_attribute_rows

    _, it = _log(db, n=120, seed=4)
    f = failures_detail(it.engine("validation"))
    cases = []
    for table, metric, classes in ((0, "recall_macro", ["owl", "cat"]), (1, "log_loss", [])):
        t = f["attributes"][table]
        frame = pd.DataFrame({"bucket": t["buckets"], "lo": t["lo"], "hi": t["hi"],
                              "count": t["count"], **t["metrics"]})  # fmt: skip
        for c, label in enumerate(f["labels"]):
            frame[f"recall[{label}]"] = t["recall"][c]
        rows = by_attribute_rows(frame, metric, classes, numeric=t["kind"] == "numeric")
        cases.append({"labels": f["labels"], "table": t, "metric": metric, "classes": classes,
                      "rows": rows})  # fmt: skip
    return cases


def test_the_page_builds_the_same_rows_as_the_views(db):
    # js/attributes.test.ts checks attributeRows against these rows; here, that they are
    # still what views.attributes gives (rewrite the file with RUNWATCH_WRITE_FIXTURES=1).
    cases = json.loads(json.dumps(_fixture_cases(db), allow_nan=False))
    if os.environ.get("RUNWATCH_WRITE_FIXTURES"):
        ROWS_FIXTURE.write_text(json.dumps(cases, indent=1) + "\n")
    assert json.loads(ROWS_FIXTURE.read_text()) == cases
