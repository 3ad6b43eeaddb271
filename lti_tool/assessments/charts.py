"""Chart geometry for the growth page: plain numbers in, SVG coordinates out (no Flask, no database).

Grouped horizontal bars: one row per skill, one bar per series (e.g. the first and the latest round). Horizontal
bars keep long skill names readable in an 800-pixel iframe, where a radar chart's labels would collide, and still
read well with one or two skills, where a radar has no area to show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LEGEND_HEIGHT = 28
TICK_LABEL_HEIGHT = 20
LABEL_HEIGHT = 20
BAR_GAP = 4
ROW_GAP = 12
VALUE_WIDTH = 72  # room right of the plot for a bar's value ("not rated" is the longest)
SWATCH = 12
LEGEND_SPACING = 16
CHAR_WIDTH = 7.5  # average width of a 13-px sans-serif character, to lay out the legend


@dataclass(frozen=True)
class Series:
    """A named set of values, one per category (None: no value for that category)."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class ChartBar:
    series: int  # index of its series: the colour class
    x: float
    y: float
    width: float
    height: float
    text: str  # the value as shown beside the bar
    text_x: float
    text_y: float


@dataclass(frozen=True)
class ChartRow:
    label: str
    label_y: float
    bars: tuple[ChartBar, ...]


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class LegendKey:
    series: int
    name: str
    x: float
    y: float
    size: float  # of its square swatch
    text_x: float
    text_y: float


@dataclass(frozen=True)
class BarChart:
    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    ticks: tuple[Tick, ...]
    rows: tuple[ChartRow, ...]
    legend: tuple[LegendKey, ...]


def level_text(value: float | None) -> str:
    """A level as people read it: "3", "3.5"; one decimal at most; "not rated" when missing."""
    if value is None:
        return "not rated"
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"


def change_text(change: float | None) -> str:
    """A change of level with its sign ("+1.5", "\u22121"), "no change", or nothing when there is none to show."""
    if change is None:
        return ""
    if change == 0:
        return "no change"
    return ("+" if change > 0 else "\u2212") + level_text(abs(change))


def shorten(label: str, limit: int) -> str:
    """The label cut to `limit` characters with an ellipsis (the table beside the chart has it in full)."""
    return label if len(label) <= limit else label[: max(1, limit - 1)].rstrip() + "…"


def grouped_bars(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    maximum: float,
    ticks: Sequence[float],
    width: float = 640,
    bar_height: float = 14,
    label_chars: int = 70,
) -> BarChart:
    """Lay out one row per category with a bar per series, scaled so that `maximum` fills the plot's width."""
    if maximum <= 0:
        raise ValueError("maximum must be positive")
    if any(len(s.values) != len(categories) for s in series):
        raise ValueError("every series needs one value per category")
    plot_left, plot_right = 0.0, width - VALUE_WIDTH
    plot_top = float(LEGEND_HEIGHT + TICK_LABEL_HEIGHT)
    span = plot_right - plot_left

    def x_of(value: float) -> float:
        return plot_left + span * min(max(value, 0.0), maximum) / maximum

    legend: list[LegendKey] = []
    legend_x = 0.0
    for index, item in enumerate(series):
        legend.append(
            LegendKey(index, item.name, _r(legend_x), 4.0, SWATCH, _r(legend_x + SWATCH + 6), 4.0 + SWATCH - 1)
        )
        legend_x += SWATCH + 6 + len(item.name) * CHAR_WIDTH + LEGEND_SPACING

    rows: list[ChartRow] = []
    y = plot_top
    for row_index, category in enumerate(categories):
        label_y = y + LABEL_HEIGHT - 6
        y += LABEL_HEIGHT
        bars: list[ChartBar] = []
        for index, item in enumerate(series):
            value = item.values[row_index]
            bar_width = 0.0 if value is None else x_of(value) - plot_left
            bars.append(
                ChartBar(
                    series=index,
                    x=_r(plot_left),
                    y=_r(y),
                    width=_r(bar_width),
                    height=bar_height,
                    text=level_text(value),
                    text_x=_r(plot_left + bar_width + 6),
                    text_y=_r(y + bar_height - 2),
                )
            )
            y += bar_height + BAR_GAP
        rows.append(ChartRow(shorten(category, label_chars), _r(label_y), tuple(bars)))
        y += ROW_GAP - BAR_GAP
    plot_bottom = y
    tick_marks = tuple(Tick(_r(x_of(t)), level_text(t)) for t in ticks)
    return BarChart(
        width=width,
        height=_r(plot_bottom + 4),
        plot_left=plot_left,
        plot_right=plot_right,
        plot_top=plot_top,
        plot_bottom=_r(plot_bottom),
        ticks=tick_marks,
        rows=tuple(rows),
        legend=tuple(legend),
    )


def _r(value: float) -> float:
    # Tidy coordinates: a tenth of a pixel is finer than any screen shows.
    return round(value, 1)
