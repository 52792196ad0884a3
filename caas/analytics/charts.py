"""Charts laid out on the server: integer SVG geometry for bar and line charts, no script and no
style attributes (colours come from the ``chart-series-N`` classes). Pure: labels and numbers in,
coordinates out. The template draws them with role="img" and a title, and the same figures
appear in a table beside each chart."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Callable, Sequence

Number = int | Decimal
SERIES_COLOURS = 5  # .chart-series-0 … -4 in app.css
MAX_X_LABELS = 10  # at 11px a label of 10 characters is about 60 units: 10 fit under 640


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[Number | None, ...]  # one per category; None is "no value" (a gap in a line)


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    series: int  # the colour class
    title: str  # "2026-W47 · Principal: 1,250.00" (a tooltip and the text of the bar)


@dataclass(frozen=True)
class Line:
    series: int
    points: str  # "x,y x,y …" for <polyline>: one Line per run of known values


@dataclass(frozen=True)
class Dot:
    x: int
    y: int
    series: int
    title: str


@dataclass(frozen=True)
class Chart:
    kind: str  # bar | line
    title: str  # what the chart shows, for <title> and aria
    width: int
    height: int
    left: int
    baseline: int
    right: int
    legend: tuple[tuple[int, str], ...]
    x_labels: tuple[tuple[int, str], ...]
    y_ticks: tuple[tuple[int, str], ...]
    bars: tuple[Bar, ...] = ()
    lines: tuple[Line, ...] = ()
    dots: tuple[Dot, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.bars and not self.dots


def _scale(value: Number, peak: Number, span: int) -> int:
    return int((Decimal(value) * span / Decimal(peak)).to_integral_value(ROUND_HALF_EVEN))


def _frame(categories: Sequence[str], series: Sequence[Series], fmt: Callable[[Number], str], width: int,
           height: int, left: int):
    top, bottom, right = 16, height - 28, width - 8
    peak = max([v for s in series for v in s.values if v is not None and v > 0] + [0]) or 1
    slot = Decimal(right - left) / max(len(categories), 1)
    every = -(-len(categories) // MAX_X_LABELS)  # ceiling: label every n-th category
    centres = [int(Decimal(left) + slot * i + slot / 2) for i in range(len(categories))]
    x_labels = tuple((centres[i], label) for i, label in enumerate(categories) if i % every == 0)
    y_ticks = tuple((bottom - _scale(v, peak, bottom - top), fmt(v)) for v in (0, _half(peak), peak))
    legend = tuple((i % SERIES_COLOURS, s.name) for i, s in enumerate(series))
    return top, bottom, right, peak, slot, centres, x_labels, y_ticks, legend


def _half(peak: Number) -> Number:
    return peak // 2 if isinstance(peak, int) else (peak / 2).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


def bar_chart(title: str, categories: Sequence[str], series: Sequence[Series], *, fmt: Callable[[Number], str] = str,
              width: int = 640, height: int = 240, left: int = 80) -> Chart:
    """Grouped bars: each category's slot is shared by the series side by side; the tallest value
    fills the plot. Zero and missing values draw no bar."""
    top, bottom, right, peak, slot, _, x_labels, y_ticks, legend = _frame(categories, series, fmt, width, height,
                                                                          left)
    group = slot * 8 / 10
    bar_width = group / max(len(series), 1)
    bars = []
    for i, category in enumerate(categories):
        x0 = Decimal(left) + slot * i + slot / 10
        for j, s in enumerate(series):
            value = s.values[i]
            if value is None or value <= 0:
                continue
            h = max(_scale(value, peak, bottom - top), 1)
            bars.append(Bar(x=int(x0 + bar_width * j), y=bottom - h, width=max(int(bar_width) - 1, 1), height=h,
                            series=j % SERIES_COLOURS, title=f"{category} · {s.name}: {fmt(value)}"))
    return Chart("bar", title, width, height, left, bottom, right, legend, x_labels, y_ticks, bars=tuple(bars))


def line_chart(title: str, categories: Sequence[str], series: Sequence[Series], *,
               fmt: Callable[[Number], str] = str, width: int = 640, height: int = 240, left: int = 80) -> Chart:
    """A line per series over evenly spaced categories; a missing value breaks the line."""
    top, bottom, right, peak, _, centres, x_labels, y_ticks, legend = _frame(categories, series, fmt, width, height,
                                                                             left)
    lines, dots = [], []
    for j, s in enumerate(series):
        run: list[str] = []
        for i, value in enumerate(s.values + (None,)):
            if value is None:
                if run:
                    lines.append(Line(j % SERIES_COLOURS, " ".join(run)))
                run = []
                continue
            y = bottom - _scale(max(value, 0), peak, bottom - top)
            run.append(f"{centres[i]},{y}")
            dots.append(Dot(centres[i], y, j % SERIES_COLOURS, f"{categories[i]} · {s.name}: {fmt(value)}"))
    return Chart("line", title, width, height, left, bottom, right, legend, x_labels, y_ticks, lines=tuple(lines),
                 dots=tuple(dots))


def placeholder(title: str) -> Chart:
    """An empty chart that says there is nothing to draw (a page keeps its shape in an empty period)."""
    return bar_chart(title, [], [])


def percent(fraction: Decimal | None) -> Decimal | None:
    """A fraction (0.6667) as the percentage a chart plots (66.67); None stays a gap."""
    return None if fraction is None else fraction * 100
