"""Chart geometry for the program health page: plain numbers in, SVG coordinates out (no Flask, no database).

Horizontal bar charts come from `lti_tool.assessments.charts.grouped_bars`; this module adds what the health page
needs beside them: a round scale for any count, and columns over time (one per week). A template draws the shapes
as inline SVG (role="img" with a title and a description) next to a table of the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lti_tool.assessments.charts import level_text  # a number with one decimal at most: counts and hours too

WIDTH = 640.0  # the SVG's own units, as the bar charts: it scales down to its container
AXIS_LEFT = 44.0  # room for the value axis's labels
AXIS_BOTTOM = 24.0  # room for the column labels
TOP = 8.0
MAX_WRITTEN_LABELS = 10  # with more columns, only every few are labelled, so that labels never overlap


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 and 10 times a power of ten that is at least `value` (1 for 0 or less)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1.0, 2.0, 2.5, 5.0, 10.0) if step * power >= value)


def ticks(maximum: float) -> tuple[float, ...]:
    """Evenly spaced round values from 0 to `maximum` (a `nice_ceiling`), for the grid lines of a scale: steps of
    0.5 up to 2 or 2.5, of 1 up to 5, of 2 up to 10..."""
    mantissa = maximum / 10.0 ** math.floor(math.log10(maximum)) if maximum > 0 else 1.0
    count = 4 if math.isclose(mantissa, 2.0) else 5
    return tuple(maximum * i / count for i in range(count + 1))


@dataclass(frozen=True)
class Column:
    x: float
    y: float
    width: float
    height: float
    label: str  # e.g. the week, and the value: the column's tooltip
    value: float


@dataclass(frozen=True)
class AxisMark:
    """A grid line of the value axis (at `y`) or a column's label under the axis (at `x`)."""

    x: float
    y: float
    text: str


@dataclass(frozen=True)
class ColumnChart:
    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_bottom: float
    columns: tuple[Column, ...]
    value_marks: tuple[AxisMark, ...]
    column_marks: tuple[AxisMark, ...]


def column_chart(points: Sequence[tuple[str, float]], *, height: float = 200.0) -> ColumnChart:
    """One column per point, in order, on a round scale from 0 (see `nice_ceiling`)."""
    maximum = nice_ceiling(max((value for _, value in points), default=0.0))
    plot_right, plot_bottom = WIDTH - 4.0, height - AXIS_BOTTOM
    slot = (plot_right - AXIS_LEFT) / max(1, len(points))
    every = max(1, math.ceil(len(points) / MAX_WRITTEN_LABELS))
    columns: list[Column] = []
    column_marks: list[AxisMark] = []
    for index, (label, value) in enumerate(points):
        tall = (plot_bottom - TOP) * min(max(value, 0.0), maximum) / maximum
        x = AXIS_LEFT + index * slot
        columns.append(Column(_r(x + slot * 0.15), _r(plot_bottom - tall), _r(slot * 0.7), _r(tall), label, value))
        if index % every == 0:
            column_marks.append(AxisMark(_r(x + slot / 2), _r(plot_bottom + 16), label))
    value_marks = tuple(
        AxisMark(AXIS_LEFT - 6, _r(plot_bottom - (plot_bottom - TOP) * tick / maximum), level_text(tick))
        for tick in ticks(maximum)
    )
    return ColumnChart(
        width=WIDTH,
        height=height,
        plot_left=AXIS_LEFT,
        plot_right=plot_right,
        plot_bottom=plot_bottom,
        columns=tuple(columns),
        value_marks=value_marks,
        column_marks=tuple(column_marks),
    )


def _r(value: float) -> float:
    # Tidy coordinates: a tenth of a pixel is finer than any screen shows.
    return round(value, 1)
