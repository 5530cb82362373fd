"""Server-side SVG charts: scales, gaps, counts of drawn points, escaping."""

from __future__ import annotations

import re

from apps.dashboard.charts import Series, bar_chart, line_chart, nice_ticks


def test_ticks_are_round_and_cover_the_top() -> None:
    assert nice_ticks(37) == [0, 10, 20, 30, 40]
    assert nice_ticks(100) == [0, 25, 50, 75, 100]
    assert nice_ticks(0.8) == [0, 0.2, 0.4, 0.6, 0.8]
    assert nice_ticks(0) == [0.0, 1.0]


def test_a_gap_breaks_the_line_and_draws_no_point() -> None:
    svg = line_chart(
        "c", "Cycle", ["a", "b", "c", "d", "e"], [Series("median", [1, 2, None, 4, 5])]
    )
    assert svg.count('<circle class="pt"') == 4
    assert svg.count("<polyline") == 2
    assert 'data-points="4"' in svg


def test_stacked_bars_draw_one_rect_per_non_zero_value() -> None:
    svg = bar_chart("s", "Sizes", ["w1", "w2"], [Series("XS", [1, 0]), Series("S", [2, 3])])
    assert len(re.findall(r'<rect class="pt"', svg)) == 3
    assert "S, w2: 3</title>" in svg


def test_an_empty_chart_says_so() -> None:
    svg = line_chart("e", "Empty", ["w1", "w2"], [Series("median", [None, None])])
    assert 'data-points="0"' in svg
    assert "no data in this range" in svg


def test_names_and_labels_are_escaped() -> None:
    svg = line_chart("x", "<b>t</b>", ['<img src=x onerror="1">'], [Series("<script>", [1])])
    assert "<script>" not in svg
    assert "<img" not in svg
    assert "&lt;script&gt;" in svg
