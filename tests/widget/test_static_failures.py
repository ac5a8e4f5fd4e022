"""The static summary's failure panels (``_static_failures``): buckets, importance, top losses."""

from __future__ import annotations

import re

import numpy as np
import pytest

from runwatch.tracking import Run
from runwatch.widget import RunDetails
from runwatch.widget._static import summary_html, summary_snapshot

XSS = "<img src=x onerror=alert(1)>"


def _cells(html: str, cls: str) -> list[list[str]]:
    table = html.split(f'class="{cls}"')[1].split("</table>")[0]
    body = table.split("<tbody>")[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body.split("</tr>") if "<td" in row]


def test_the_summary_shows_buckets_importance_and_top_losses_escaped(db):
    rng = np.random.default_rng(2)
    n = 300
    truth = rng.integers(0, 2, n)
    noise = rng.uniform(0, 1, n)
    p1 = np.clip(np.where(truth == 1, 0.9, 0.1) + rng.normal(0, 0.4, n) * noise, 0.01, 0.99)
    run = Run("failures", labels=["no", "yes"], store=db)
    with run.iteration("m") as it:
        it.update("validation", np.array(["no", "yes"])[truth], y_proba=np.c_[1 - p1, p1],
                  sample_ids=[f"<b>{i}</b>" for i in range(n)],
                  attributes={XSS: noise, "site": rng.choice(["a", "b"], n)})  # fmt: skip
    run.flush()
    html = summary_html(summary_snapshot(run))
    engine = it.engine("validation")
    assert XSS not in html and "<b>0</b>" not in html  # names and ids are escaped
    assert "By attribute: &lt;img src=x onerror=alert(1)&gt;" in html
    table = engine.by_attribute(XSS)
    rows = _cells(html.split("By attribute: &lt;img")[1], "rw-static-buckets")
    assert [r[0] for r in rows] == table["bucket"].tolist()
    assert [int(r[1]) for r in rows] == table["count"].tolist()
    np.testing.assert_allclose([float(r[2]) for r in rows], table["accuracy"], atol=5e-5)
    importance = engine.attribute_importance()
    rows = _cells(html, "rw-static-importance")
    assert [r[0] for r in rows] == [a.replace("<", "&lt;").replace(">", "&gt;")
                                    for a in importance["attribute"]]  # fmt: skip
    np.testing.assert_allclose([float(r[2]) for r in rows], importance["with_error"], atol=5e-4)
    top = engine.top_losses(20)
    rows = _cells(html, "rw-static-top-losses")
    assert [r[0] for r in rows] == [i.replace("<", "&lt;").replace(">", "&gt;") for i in top["id"]]
    np.testing.assert_allclose([float(r[3]) for r in rows], top["loss"], rtol=5e-4)


@pytest.mark.browser
def test_the_saved_page_draws_the_panels_and_says_where_samples_come_from(db, tmp_path, browser):
    rng = np.random.default_rng(5)
    n = 200
    truth = rng.integers(0, 3, n)
    proba = rng.dirichlet(np.ones(3), n)
    run = Run("saved", labels=["a", "b", "c"], store=db)
    with run.iteration("m") as it:
        it.update("validation", np.array(["a", "b", "c"])[truth], y_proba=proba,
                  attributes={"ink": rng.normal(size=n)})  # fmt: skip
    w = RunDetails(run, live=False, thumbnail=lambda i: np.zeros((8, 8)))
    try:
        path = w.save_html(tmp_path / "page.html")
    finally:
        w.close()
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-rendered=true]", timeout=30_000)
        page.locator(".rw-chart-by_attribute svg").wait_for(timeout=15_000)
        page.locator(".rw-chart-attribute_importance svg").wait_for(timeout=15_000)
        assert page.locator(".rw-top-losses-table tbody tr").count() == 20
        assert page.locator(".rw-gallery").count() == 0  # no kernel: no thumbnails
        page.locator(".rw-matrix td.rw-clickable").first.click()
        text = page.locator(".rw-cell-samples").inner_text()
        assert "The samples of a cell come from the kernel; this page has none." in text
    finally:
        page.close()
    assert errors == []
