"""The static summary's tables: numbers printed and the matrix coloured as in the page."""

from __future__ import annotations

import re

from runwatch.widget._static_tables import (
    OTHER_FILL,
    STATIC_ROWS,
    iterations_table,
    matrix_table,
    metrics_table,
    per_class_table,
)


def _cells(html: str) -> list[list[tuple[str, str]]]:
    """(style, text) of every td, row by row."""
    rows = re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>")[1])
    return [re.findall(r'<td style="([^"]*)">([^<]*)</td>', row) for row in rows]


def _row(index: int, metric: float | None, best: float | None) -> dict:
    return {
        "id": str(index),
        "index": index,
        "name": f"m{index}",
        "status": "completed",
        "duration": 1.0,
        "metric": metric,
        "best": best,
        "is_best": False,
    }


def test_the_matrix_greys_the_other_row_and_column_as_the_page_does():
    # Nine classes, each predicted right 100 times: seven are shown, two fold into
    # (other), whose (other)/(other) cell holds 200, more than any shown cell.
    n = 9
    labels = [f"c{i}" for i in range(n)]
    counts = [[100.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    cells = _cells(matrix_table(labels, counts))
    assert len(cells) == 8 and all(len(row) == 8 for row in cells)
    corner_style, corner_text = cells[-1][-1]
    assert corner_text == "200"
    assert f"background:{OTHER_FILL}" in corner_style and "bold" not in corner_style
    for i in range(7):
        assert f"background:{OTHER_FILL}" in cells[i][-1][0]  # the (other) column
        assert f"background:{OTHER_FILL}" in cells[-1][i][0]  # the (other) row
        # The shown classes' diagonal tops the scale (the 200 does not count): the
        # page's darkest blue, white bold text.
        style, text = cells[i][i]
        assert text == "100"
        assert "background:rgba(31,119,180,0.900)" in style
        assert "color:#fff" in style and "font-weight:bold" in style
    assert "background:rgba(31,119,180,0.080)" in cells[0][1][0]  # a zero: the palest blue
    assert cells[0][1][1] == "0"


def test_weighted_counts_share_one_number_of_decimals():
    cells = _cells(matrix_table(["a", "b"], [[12.5, 0.0], [3.25, 140.0]]))
    assert [[text for _, text in row] for row in cells] == [
        ["12.500", "0.000"],
        ["3.250", "140.000"],
    ]


def test_the_metrics_column_has_one_number_of_decimals_and_says_why_a_value_is_missing():
    html = metrics_table(
        {
            "metrics": {
                "accuracy": 0.9143,
                "AUC_weighted": 1.0,
                "matthews_correlation": 0.0,
                "AUC_binary": None,
            },
            "groups": [],
            "reasons": {"AUC_binary": "binary only; there are 10 classes"},
            "per_class": [],
            "confusion": None,
            "charts": {},
        },
        "accuracy",
    )
    values = re.findall(r"text-align:right\"( title=\"[^\"]*\")?>([^<]*)</td>", html)
    assert [v for _, v in values] == ["0.9143", "1.0000", "\u2014", "0.0000"]
    assert values[2][0] == ' title="binary only; there are 10 classes"'
    assert "font-variant-numeric:tabular-nums" in html


def test_the_iterations_metric_columns_have_one_number_of_decimals():
    rows = [_row(1, 1.0, 1.0), _row(2, 0.0, 1.0), _row(3, 0.9143, 1.0), _row(4, None, 1.0)]
    rows[0]["is_best"] = True
    html = iterations_table(rows, "accuracy", selected=None)
    texts = [
        re.findall(r">([^<]*)</td>", row)[4:] for row in re.findall(r"<tr [^>]*>(.*?)</tr>", html)
    ]
    assert texts == [
        ["1.0000", "1.0000"],
        ["0.0000", "1.0000"],
        ["0.9143", "1.0000"],
        ["\u2014", "1.0000"],
    ]
    assert "font-variant-numeric:tabular-nums" in html
    # The best row's name is bold, its numbers are not: bold figures are wider.
    assert '<tr class="rw-static-row" style="background:#eef6ee">' in html
    assert "<b>m1 \u2605</b>" in html and "font-weight" not in html


def _headings(html: str) -> list[str]:
    return re.findall(r"<th [^>]*>([^<]*)</th>", html.split("<tbody>")[0])


def test_the_per_class_table_shows_the_columns_the_payload_lists():
    detail = {
        "per_class": [
            {"label": "car", "ap": 0.5, "ap_50": 0.75, "f1": 0.8, "support": 12},
            {"label": "<b>", "ap": None, "ap_50": 0.125, "f1": 0.0, "support": 0},
        ],
        "per_class_columns": [
            ["ap", "AP"], ["ap_50", "AP50"], ["f1", "F1"], ["support", "Support"]
        ],  # fmt: skip
    }
    html = per_class_table(detail)
    assert _headings(html) == ["Class", "AP", "AP50", "F1", "Support"]
    assert [[t for _, t in row] for row in _cells(html)] == [
        ["car", "0.5000", "0.7500", "0.8000", "12"],
        ["&lt;b&gt;", "\u2014", "0.1250", "0.0000", "0"],
    ]


def test_a_per_class_table_without_columns_is_classifications():
    rows = [{"label": "cat", "precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2.5}]
    html = per_class_table({"per_class": rows})
    assert _headings(html) == ["Class", "Precision", "Recall", "F1", "Support"]
    assert [t for _, t in _cells(html)[0]] == ["cat", "1.000", "0.5000", "0.6667", "2.500"]


def test_a_long_per_class_table_says_how_many_classes_it_leaves_out():
    rows = [{"label": f"c{i}", "iou": i / 100, "support": i} for i in range(STATIC_ROWS + 7)]
    html = per_class_table({"per_class": rows, "per_class_columns": [["iou", "IoU"]]})
    assert html.count("<tr><td style") == STATIC_ROWS
    assert "7 more classes not listed" in html


def test_a_detectors_background_stays_beside_the_top_seven():
    # As js/confusion.test.ts: nine classes, class i missed i times, no spurious box.
    from runwatch.widget._static_tables import fold_matrix, pinned_rows

    n = 10
    counts = [[40 if i == j else (i if j == n - 1 and i < n - 1 else 0) for j in range(n)]
              for i in range(n)]  # fmt: skip
    labels = [f"c{i}" for i in range(n - 1)] + ["background"]
    pinned = pinned_rows("detection", labels)
    assert pinned == [n - 1] and pinned_rows("classification", labels) == []
    shown, folded = fold_matrix(labels, counts, pinned=pinned)
    assert shown == ["c2", "c3", "c4", "c5", "c6", "c7", "c8", "background", "(other)"]
    assert sum(map(sum, folded)) == sum(map(sum, counts))
    html = matrix_table(labels, counts, pinned)
    assert html.count(">background</th>") == 2 and html.count(">(other)</th>") == 2
    # Seven classes and the background: nothing to fold.
    assert fold_matrix(labels[2:], [r[2:] for r in counts[2:]], pinned=[7])[0] == labels[2:]
