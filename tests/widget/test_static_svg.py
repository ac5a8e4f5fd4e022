"""The static summary's inline SVG charts."""

from __future__ import annotations

import re

from runwatch.widget._static_svg import svg_lines


def test_the_y_axis_labels_share_one_number_of_decimals():
    svg = svg_lines(
        [("loss", "#4c78a8", [(0.0, 0.05), (1.0, 0.95)], False)], "loss", "step", "loss"
    )
    labels = re.findall(r'text-anchor="end" fill="#555">([^<]*)</text>', svg)
    assert labels == ["0.05000", "0.50000", "0.95000"]
