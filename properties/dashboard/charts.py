"""Charts drawn on the server as inline SVG, for any dashboard page.

Geometry is in percentages across and pixels down, with no viewBox: a chart fills its
column at any width while its text keeps its real size (a scaled viewBox would shrink
month names to nothing on a phone). Each chart has a title and a one-sentence
description for screen readers (`role="img"`), and the page puts the table with every
number right after it: the chart is the picture, the table is the record.
Colours come from CSS classes (`fill-*`), never from style attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

COLUMN_HEIGHT = 240
COLUMN_TOP = 24  # room for the top gridline's label
COLUMN_AXIS = 40  # month name and year under the columns
# Percent of the width left of the first column for the gridlines' labels: enough on a
# desktop; on a phone the labels overlap the first column, over a white halo.
AXIS_GUTTER = 5
BAR_ROW = 46  # a label line and its bar
BAR_THICKNESS = 14


def _pct(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Gridline:
    y: int
    label: str

    @property
    def label_y(self) -> int:
        return self.y - 4


@dataclass(frozen=True)
class Segment:
    css: str
    y: int
    height: int
    title: str


@dataclass(frozen=True)
class Column:
    label: str
    sublabel: str
    x: str  # percent
    width: str
    center: str
    segments: tuple[Segment, ...]
    value_label: str
    top: int


@dataclass(frozen=True)
class ColumnChart:
    id: str
    title: str
    description: str
    height: int
    columns: tuple[Column, ...]
    gridlines: tuple[Gridline, ...]
    legend: tuple[tuple[str, str], ...]
    label_y: int
    sublabel_y: int
    baseline: int


@dataclass(frozen=True)
class ColumnInput:
    label: str
    sublabel: str
    # (css class, value, words for the tooltip), bottom to top.
    parts: Sequence[tuple[str, Decimal, str]]
    value_label: str = ""


def _nice_ceiling(value: Decimal) -> Decimal:
    """The smallest round number at or above `value` whose quarters are round too (the
    axis has four gridlines): 1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6 or 8 x 10^n."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in map(Decimal, ("1", "1.2", "1.6", "2", "2.4", "3", "4", "5", "6", "8", "10")):
        candidate = step.scaleb(exponent)
        if candidate >= value:
            return candidate
    return Decimal(10).scaleb(exponent)


def column_chart(
    *,
    id: str,
    title: str,
    description: str,
    columns: Sequence[ColumnInput],
    axis_label: Callable[[Decimal], str],
    top: Decimal | None = None,
    legend: Sequence[tuple[str, str]] = (),
    ticks: int = 4,
) -> ColumnChart:
    """Columns (stacked when a column has several parts) over a shared y axis.
    `axis_label(value)` words a gridline's value; `top` fixes the axis (100 for
    percentages), otherwise it is the largest column rounded up."""
    largest = max(
        (sum((v for _, v, _ in c.parts), Decimal(0)) for c in columns), default=Decimal(0)
    )
    ceiling = top if top is not None else _nice_ceiling(largest)
    baseline = COLUMN_HEIGHT - COLUMN_AXIS
    plot = baseline - COLUMN_TOP

    def y_of(value: Decimal) -> int:
        return baseline - round(float(value / ceiling) * plot) if ceiling else baseline

    gridlines = tuple(
        Gridline(y=y_of(ceiling * i / ticks), label=axis_label(ceiling * i / ticks))
        for i in range(1, ticks + 1)
    )
    slot = (100 - AXIS_GUTTER) / max(len(columns), 1)
    width = slot * 0.62
    shown = []
    for index, column in enumerate(columns):
        x = AXIS_GUTTER + slot * index + (slot - width) / 2
        segments = []
        running = Decimal(0)
        for css, value, words in column.parts:
            if value <= 0:
                continue
            low, high = y_of(running), y_of(running + value)
            running += value
            segments.append(Segment(css=css, y=high, height=max(low - high, 1), title=words))
        shown.append(
            Column(
                label=column.label,
                sublabel=column.sublabel,
                x=_pct(x),
                width=_pct(width),
                center=_pct(x + width / 2),
                segments=tuple(segments),
                value_label=column.value_label,
                top=y_of(running) - 6,
            )
        )
    return ColumnChart(
        id=id,
        title=title,
        description=description,
        height=COLUMN_HEIGHT,
        columns=tuple(shown),
        gridlines=gridlines,
        legend=tuple(legend),
        label_y=baseline + 16,
        sublabel_y=baseline + 32,
        baseline=baseline,
    )


@dataclass(frozen=True)
class Bar:
    label: str
    value_label: str
    css: str
    width: str  # percent of the track
    label_y: int
    bar_y: int


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    description: str
    height: int
    bars: tuple[Bar, ...]
    thickness: int


@dataclass(frozen=True)
class BarInput:
    label: str
    value: Decimal
    value_label: str
    css: str = "fill-accent"


def bar_chart(
    *,
    id: str,
    title: str,
    description: str,
    bars: Sequence[BarInput],
    top: Decimal | None = None,
    max_label: int = 28,
) -> BarChart:
    """Horizontal bars, one per row: the label on the left and its value on the right
    above a full-width track. `top` fixes the scale (100 for percentages)."""
    largest = max((b.value for b in bars), default=Decimal(0))
    scale = top if top is not None else largest
    shown = []
    for index, bar in enumerate(bars):
        fraction = float(bar.value / scale) if scale and bar.value > 0 else 0.0
        label = bar.label if len(bar.label) <= max_label else bar.label[: max_label - 1] + "…"
        row = index * BAR_ROW
        shown.append(
            Bar(
                label=label,
                value_label=bar.value_label,
                css=bar.css,
                width=_pct(min(fraction, 1.0) * 100),
                label_y=row + 16,
                bar_y=row + 24,
            )
        )
    return BarChart(
        id=id,
        title=title,
        description=description,
        height=max(len(bars), 1) * BAR_ROW,
        bars=tuple(shown),
        thickness=BAR_THICKNESS,
    )
