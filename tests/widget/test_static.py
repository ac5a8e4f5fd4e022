"""The static HTML: the summary in the widget's output and the page ``save_html`` writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from runwatch.widget import RunDetails
from runwatch.widget._push import Pusher
from runwatch.widget._static import build_snapshot, script_json, summary_html, summary_snapshot
from runwatch.widget._static_format import fmt_duration
from runwatch.widget._static_tables import STATIC_ROWS, fold_matrix, iterations_table

from .conftest import XSS, log_sweep

ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def test_fold_matrix_keeps_every_count_and_at_most_k_classes():
    n = 12
    counts = [[float((i * 7 + j * 3) % 5) for j in range(n)] for i in range(n)]
    labels = [f"c{i}" for i in range(n)]
    kept, folded = fold_matrix(labels, counts, k=7)
    assert len(kept) == 8 and kept[-1] == "(other)"
    assert sum(map(sum, folded)) == sum(map(sum, counts))
    small, same = fold_matrix(labels[:3], [row[:3] for row in counts[:3]], k=7)
    assert small == labels[:3] and same == [row[:3] for row in counts[:3]]


def test_a_long_static_table_keeps_the_best_the_shown_and_the_newest():
    n = STATIC_ROWS + 30
    rows = [
        {
            "id": str(i),
            "index": i,
            "name": f"m{i}",
            "status": "completed",
            "duration": 1.0,
            "metric": 0.5,
            "best": 0.5,
            "is_best": i == 3,
        }
        for i in range(1, n + 1)
    ]
    html = iterations_table(rows, "accuracy", selected="10")
    listed = [int(x) for x in re.findall(r">m(\d+)", html)]
    assert len(listed) == STATIC_ROWS
    assert listed[:2] == [3, 10]  # the best and the shown one, in run order
    assert listed[2:] == list(range(n - STATIC_ROWS + 3, n + 1))  # then the newest
    assert f"{n - STATIC_ROWS} older iterations not listed" in html


def test_script_json_cannot_close_its_script_element():
    text = script_json({"label": "</script><script>alert(1)</script>", "x": float("nan")})
    assert "<" not in text and ">" not in text
    assert json.loads(text) == {"label": "</script><script>alert(1)</script>", "x": None}


def test_summary_escapes_class_and_iteration_names(db):
    logged = log_sweep(db, relabel=True)
    with logged.run.iteration(XSS) as it:  # an iteration named like markup, too
        it.update("validation", logged.y_true, y_proba=logged.proba["GaussianNB"])
    logged.run.flush()
    snapshot = summary_snapshot(logged.run, selected=str(it.id))
    html = summary_html(snapshot, selected=str(it.id))
    assert XSS not in html
    assert html.count(ESCAPED) >= 3  # the iteration row, its title, a matrix row and column
    assert "rw-static-iterations" in html and "rw-static-confusion" in html and "<svg" in html
    assert "<script" not in html and "<style" not in html


def test_widget_output_carries_the_view_and_a_static_summary(sweep):
    w = RunDetails(sweep.run, live=False)
    try:
        data, _ = w._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in data and "text/plain" in data
        html = data["text/html"]
        assert html.count('class="rw-static-row"') == 3
        assert "LogisticRegression \u2605" in html  # the best, starred
        assert "accuracy per iteration" in html
        # Read from the store (as after the cell), it has the shown iteration's metrics.
        data, _ = w._repr_mimebundle_(fresh=True)
        assert "rw-static-metrics" in data["text/html"]
    finally:
        w.close()


def test_a_summary_shown_before_the_details_arrived_is_completed_after_the_cell(sweep, monkeypatch):
    import IPython.display

    published = []
    monkeypatch.setattr(
        IPython.display, "publish_display_data", lambda *a, **k: published.append((a, k))
    )
    # Displayed before the first beat brought any details (held there for certain).
    monkeypatch.setattr(Pusher, "start", lambda self, follow=True: None)
    w = RunDetails(sweep.run)
    try:
        w._ipython_display_()
        (data, _), _ = published[0]
        assert "rw-static-metrics" not in data["text/html"]
        w._after_cell()  # the run did not change, yet the summary was partial
        assert len(published) == 2
        (data, _), kwargs = published[1]
        assert kwargs["update"] and "rw-static-metrics" in data["text/html"]
        w._after_cell()
        assert len(published) == 2
    finally:
        w.close()


def test_after_a_cell_the_display_is_updated_with_the_finished_run(db, monkeypatch):
    import IPython.display

    from runwatch.tracking import Run

    run = Run("later", primary_metric="accuracy", labels=list(range(10)), store=db)
    w = RunDetails(run, live=False)
    published = []
    monkeypatch.setattr(
        IPython.display, "publish_display_data", lambda *a, **k: published.append((a, k))
    )
    try:
        w._ipython_display_()
        assert len(published) == 1
        (data, _), kwargs = published[0]
        assert "No iterations logged yet" in data["text/html"]
        display_id = kwargs["transient"]["display_id"]
        w._after_cell()  # nothing changed: no update
        assert len(published) == 1
        logged = log_sweep(db, name="later")
        assert logged.run.id == run.id
        w._after_cell()
        assert len(published) == 2
        (data, _), kwargs = published[1]
        assert kwargs["update"] and kwargs["transient"]["display_id"] == display_id
        assert data["text/html"].count('class="rw-static-row"') == 3
        w._after_cell()  # the same state again: no second update
        assert len(published) == 2
    finally:
        w.close()


def test_build_snapshot_is_complete_and_reuses_final_details(sweep):
    snapshot = build_snapshot(sweep.run)
    assert len(snapshot["iterations"]) == 3
    assert set(snapshot["details"]) == {row["id"] for row in snapshot["iterations"]}
    assert all(d["final"] for d in snapshot["details"].values())
    assert all(len(points) == 3 for points in snapshot["losses"].values())
    again = build_snapshot(sweep.run, reuse=snapshot)
    for key, detail in snapshot["details"].items():
        assert again["details"][key] is detail


def test_save_html_writes_one_self_contained_page(sweep, tmp_path):
    w = RunDetails(sweep.run, live=False)
    try:
        path = w.save_html(tmp_path / "sub" / "page.html")
    finally:
        w.close()
    assert path.is_file() and path.is_absolute()
    page = path.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page and "connect-src 'none'" in page
    assert re.findall(r"<script[^>]*(?<![-\w])src=", page) == []  # nothing loaded from elsewhere
    assert re.findall(r"<link\b", page) == []
    assert 'data-src="data:text/javascript;base64,' in page
    assert 'class="rw-static"' in page  # the fallback where scripts do not run


@pytest.mark.browser
def test_saved_page_renders_offline_in_chromium(db, tmp_path, browser):
    logged = log_sweep(db, relabel=True)
    w = RunDetails(logged.run, live=False)
    try:
        path: Path = w.save_html(tmp_path / "page.html")
    finally:
        w.close()
    requests: list[str] = []
    dialogs: list[str] = []
    errors: list[str] = []
    context = browser.new_context()
    try:
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-rendered]", timeout=30_000)
        assert page.get_attribute("body", "data-rendered") == "true", page.inner_text("body")
        rows = page.locator("#rw-widget .rw-iterations tr.rw-row")
        assert rows.count() == 3
        assert "LogisticRegression" in rows.nth(2).inner_text()
        # The class named like markup is text, not an element.
        assert page.get_by_text(XSS).count() >= 1
        assert page.locator('img[src="x"]').count() == 0
        # Clicking another iteration shows it, with no kernel behind the page.
        rows.nth(0).click()
        page.wait_for_function(
            "document.querySelector('.rw-detail-title')?.textContent.includes('GaussianNB')"
        )
        assert page.locator("#rw-static").is_hidden()
    finally:
        context.close()
    assert dialogs == [] and errors == []
    outside = [u for u in requests if not u.startswith(("file://", "data:", "blob:"))]
    outside = [u for u in outside if not u.startswith(("http://127.0.0.1", "http://localhost"))]
    assert outside == []


@pytest.mark.browser
def test_saved_page_without_scripts_shows_the_summary(sweep, tmp_path, browser):
    w = RunDetails(sweep.run, live=False)
    try:
        path = w.save_html(tmp_path / "page.html")
    finally:
        w.close()
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(path.as_uri())
        assert page.locator(".rw-static-iterations tr.rw-static-row").count() == 3
        assert page.locator(".rw-static svg").count() >= 1
    finally:
        context.close()


def test_durations_read_as_in_the_page():
    # The same cut-offs as js/format.ts's formatDuration, with two decimals under 10 s.
    assert fmt_duration(None) == "\u2014"
    assert fmt_duration(0.421) == "0.42 s"
    assert fmt_duration(12.34) == "12.3 s"
    assert fmt_duration(59.96) == "1 min 00 s"
    assert fmt_duration(119.6) == "2 min 00 s"
    assert fmt_duration(3599.6) == "1 h 00 min"
    assert fmt_duration(3 * 3600 + 7 * 60 + 20) == "3 h 07 min"
    assert fmt_duration(-2.0) == "0.00 s"


def test_the_summary_header_says_how_long_the_run_took(sweep):
    snapshot = build_snapshot(sweep.run)
    run = snapshot["run"]
    took = fmt_duration(run["ended"] - run["started"])
    assert f"elapsed {took}" in summary_html(snapshot)


def test_the_summary_lists_the_shown_iterations_parameters_escaped(db):
    import runwatch as rw

    run = rw.Run("params", store=db)
    with run.iteration("svc", params={"C": 0.5, XSS: "<b>x</b>"}) as it:
        it.log_metric("accuracy", 0.9)
    html = summary_html(build_snapshot(run))
    assert "C</span> = 0.5" in html
    assert "&lt;img src=x onerror=alert(1)&gt;</span> = &lt;b&gt;x&lt;/b&gt;" in html
    assert "<b>x" not in html and XSS not in html


def test_a_finished_iteration_with_losses_only_says_no_predictions_were_logged(db):
    import runwatch as rw

    run = rw.Run("losses", store=db)
    with run.iteration("net") as it:
        for step in range(5):
            it.log_loss(1.0 / (step + 1), split="train", step=step)
    with run.iteration("empty"):
        pass
    for snapshot in (build_snapshot(run), summary_snapshot(run, selected="1")):
        html = summary_html(snapshot, selected="1")
        assert "No predictions were logged for this iteration; its loss is charted below." in html
        assert "yet" not in html
        assert "<svg" in html and "<title>loss</title>" in html
        assert "per iteration" not in html  # no empty metric chart
    html = summary_html(build_snapshot(run), selected="2")
    assert "No predictions were logged for this iteration.</p>" in html


@pytest.mark.parametrize("task", ["detection", "segmentation"])
def test_the_summary_of_a_vision_run_has_its_per_class_table(task, db):
    from ..tracking.test_vision import feed, make_batches, new_run

    run = new_run(task, "vision", db)
    with run.iteration("model") as it:
        feed(it, task, make_batches(task, 8))
    html = summary_html(summary_snapshot(run), selected=str(it.id))
    table = html.split('class="rw-static-per-class"')[1].split("</table>")[0]
    heads = re.findall(r"<th [^>]*>([^<]*)</th>", table)
    if task == "segmentation":
        assert heads == ["Class", "IoU", "Precision", "Recall", "Support (pixels)"]
    else:
        assert heads == [
            "Class", "AP", "AP50", "Precision", "Recall", "F1", "Matched IoU", "Support"
        ]  # fmt: skip
    labels = [str(v) for v in it.engine("validation").per_class().index]
    assert re.findall(r'<tr><td style="[^"]*">([^<]*)</td>', table) == labels
