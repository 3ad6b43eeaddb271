"""The column chart's geometry and the scale helpers, as plain functions (no app)."""

from __future__ import annotations

from lti_tool.health.charts import column_chart, nice_ceiling, ticks


def test_scales_end_on_a_round_number() -> None:
    assert [nice_ceiling(v) for v in (0, 0.4, 1, 3, 7.5, 12, 260)] == [1, 0.5, 1, 5, 10, 20, 500]
    assert ticks(20) == (0, 5, 10, 15, 20)
    assert ticks(5) == (0, 1, 2, 3, 4, 5)
    assert ticks(2.5) == (0, 0.5, 1, 1.5, 2, 2.5)


def test_columns_stand_on_the_axis_and_the_tallest_fits_the_plot() -> None:
    chart = column_chart([("03 Mar", 1.0), ("10 Mar", 0.0), ("17 Mar", 4.5)], height=200)
    first, empty, tallest = chart.columns
    assert empty.height == 0
    for column in chart.columns:
        assert round(column.y + column.height, 1) == chart.plot_bottom
    # 4.5 hours on a 0-5 scale: nine tenths of the plot's height.
    assert tallest.height == round((chart.plot_bottom - 8) * 0.9, 1)
    assert first.x < empty.x < tallest.x <= chart.plot_right
    assert [m.text for m in chart.value_marks] == ["0", "1", "2", "3", "4", "5"]


def test_many_columns_label_only_every_few_so_labels_never_overlap() -> None:
    chart = column_chart([(f"w{n}", float(n)) for n in range(26)])
    assert len(chart.columns) == 26
    assert len(chart.column_marks) <= 10
    assert chart.column_marks[0].text == "w0"
