"""The static summary's inline SVG charts."""

from __future__ import annotations

import re

from runwatch.widget._static_svg import loss_chart, svg_lines


def test_the_y_axis_labels_share_one_number_of_decimals():
    svg = svg_lines(
        [("loss", "#4c78a8", [(0.0, 0.05), (1.0, 0.95)], False)], "loss", "step", "loss"
    )
    labels = re.findall(r'text-anchor="end" fill="#555">([^<]*)</text>', svg)
    assert labels == ["0.05000", "0.50000", "0.95000"]


def test_a_split_with_one_loss_point_is_drawn_as_a_dot():
    # A polyline of one point draws nothing: the lone validation loss needs its circle,
    # also beside a train history too long for per-point circles.
    points = [{"split": "train", "step": float(s), "value": 1.0 / (s + 1)} for s in range(200)]
    points.append({"split": "validation", "step": 199.0, "value": 0.5})
    svg = loss_chart(points)
    assert len(re.findall(r'<circle [^>]*fill="#f58518"', svg)) == 1
    assert not re.findall(r'<circle [^>]*fill="#4c78a8"', svg)  # 200 points: a line only
