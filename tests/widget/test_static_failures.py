"""The static summary's failure panels (``_static_failures``): buckets, importance, top losses."""

from __future__ import annotations

import re

import numpy as np

from runwatch.tracking import Run
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
