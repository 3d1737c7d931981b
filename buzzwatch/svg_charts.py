"""Small charts as inline SVG (no script, no network), the one chart stack of buzzwatch (the
post-crisis report's and the replay's): bars and lines over time, a histogram.

Every chart is an `<svg class="chart …">` whose drawn marks are in `<g class="marks">`: one
`rect.bar` per bucket or bin, one `polyline.series` per line with a point per value, one
`rect.span` per shaded time span and one `.marker` per time marker. Styles come from the page
(`CHART_STYLE`, which a stand-alone SVG file embeds). Text is escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape as _e

WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 34, 34
TIME_STEPS_MINUTES = (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
MAX_TICKS = 8
REPLY_TICK = 9  # height of a reply's marker, px

CHART_STYLE = """
svg.chart { width: 100%; height: auto; display: block; }
svg.chart text { font: 11px system-ui, sans-serif; fill: #444; }
svg.chart .grid { stroke: #e3e3e3; } svg.chart .axis { stroke: #999; }
svg.chart .zero { stroke: #888; }
svg.chart .bar.volume { fill: #9db7d5; } svg.chart .bar.negatives { fill: #c62828; }
svg.chart .bar.bin { fill: #1f4e79; }
svg.chart .series { fill: none; stroke: #1f4e79; stroke-width: 1.6; }
svg.chart .series.share { stroke: #c62828; }
svg.chart .marker.statement { stroke: #2e7d32; stroke-width: 1.5; stroke-dasharray: 5 3; }
svg.chart .marker.reply { stroke: #2e7d32; stroke-width: 1.2; }
svg.chart .marker.onset { stroke: #e07b00; stroke-width: 1.5; stroke-dasharray: 2 2; }
svg.chart .series.expected { stroke: #7f7f7f; stroke-dasharray: 5 3; }
svg.chart .marker.volume { stroke: #e07b00; stroke-width: 2; }
svg.chart .marker.negative { stroke: #c62828; stroke-width: 2; }
svg.chart .span.volume { fill: #e07b00; opacity: 0.15; }
svg.chart .span.negative { fill: #c62828; opacity: 0.15; }
svg.chart text.tag { fill: #2e7d32; font-weight: 600; } svg.chart text.empty { font-size: 14px; }
"""


@dataclass(frozen=True, slots=True)
class Marker:
    """A moment to mark on time charts: `kind` is statement, reply or onset."""

    at: datetime
    kind: str
    note: str  # the tooltip
    tag: str = ""  # a short label drawn above it


@dataclass(frozen=True, slots=True)
class Line:
    """A line through (time, value) points, drawn as class `kind`."""

    kind: str
    points: Sequence[tuple[datetime, float]]


@dataclass(frozen=True, slots=True)
class Span:
    """A shaded stretch of time (an alert while it is active), drawn as class `kind`."""

    start: datetime
    end: datetime
    kind: str
    note: str


@dataclass(frozen=True, slots=True)
class Bar:
    """A bar from `start` to `end` of height `value`, drawn as class `kind`."""

    start: datetime
    end: datetime
    value: float
    kind: str
    note: str


@dataclass(frozen=True, slots=True)
class Axis:
    """The value axis of a line chart: its bounds, how a tick reads, its label."""

    lo: float
    hi: float
    fmt: Callable[[float], str]
    label: str


@dataclass(frozen=True, slots=True)
class Scale:
    """A linear map of [lo, hi] onto [a, b]."""

    lo: float
    hi: float
    a: float
    b: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo or 1.0
        return round(self.a + (value - self.lo) / span * (self.b - self.a), 1)


def bar_chart(
    css: str, title: str, bars: Sequence[Bar], markers: Sequence[Marker], y_label: str
) -> str:
    """Bars over time (later bars drawn over earlier ones), with time markers."""
    if not bars:
        return _empty(css, title)
    x = _time_scale(min(b.start for b in bars), max(b.end for b in bars))
    top = nice_top(max(b.value for b in bars))
    y = Scale(0.0, top, HEIGHT - BOTTOM, TOP)
    marks = [_bar(bar, x, y) for bar in bars]
    return _chart(css, title, x, y, _value_ticks(top), count_text, y_label, marks, markers)


def line_chart(
    css: str,
    title: str,
    lines: Sequence[Line],
    span: tuple[datetime, datetime] | None,
    axis: Axis,
    markers: Sequence[Marker],
    spans: Sequence[Span] = (),
) -> str:
    """Lines over the time `span`, with shaded spans under them and time markers."""
    if not any(line.points for line in lines) or span is None:
        return _empty(css, title)
    x = _time_scale(*span)
    y = Scale(axis.lo, axis.hi, HEIGHT - BOTTOM, TOP)
    marks = [_span(shaded, x, y) for shaded in spans]
    for line in lines:
        points = " ".join(f"{x(at.timestamp())},{y(value)}" for at, value in line.points)
        marks.append(f'<polyline class="series {line.kind}" points="{points}" />')
    ticks = [axis.lo + (axis.hi - axis.lo) * i / 4 for i in range(5)]
    return _chart(css, title, x, y, ticks, axis.fmt, axis.label, marks, markers)


def stacked(charts: Sequence[str]) -> str:
    """Charts one above the other as one stand-alone SVG document, with its style."""
    parts = [
        chart.replace(
            "<svg ", f'<svg x="0" y="{index * HEIGHT}" width="{WIDTH}" height="{HEIGHT}" ', 1
        )
        for index, chart in enumerate(charts)
    ]
    height = HEIGHT * max(1, len(charts))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}"><style>{CHART_STYLE}</style>' + "".join(parts) + "</svg>\n"
    )


def histogram(css: str, title: str, bins: Sequence[tuple[str, int]], y_label: str) -> str:
    """Counts per labelled bin."""
    if not any(count for _, count in bins):
        return _empty(css, title)
    top = nice_top(max(count for _, count in bins))
    y = Scale(0.0, top, HEIGHT - BOTTOM, TOP)
    slot = (WIDTH - LEFT - RIGHT) / len(bins)
    parts = _value_axis(y, _value_ticks(top), count_text, y_label)
    marks = []
    for index, (label, count) in enumerate(bins):
        left = LEFT + index * slot
        middle = round(left + slot / 2, 1)
        height = round(y(0) - y(count), 1)
        marks.append(
            f'<rect class="bar bin" x="{round(left + slot * 0.15, 1)}" y="{y(count)}" '
            f'width="{round(slot * 0.7, 1)}" height="{height}"><title>{_e(label)}: {count}'
            "</title></rect>"
        )
        parts.append(f'<text x="{middle}" y="{y(count) - 4}" text-anchor="middle">{count}</text>')
        parts.append(
            f'<text x="{middle}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{_e(label)}</text>'
        )
    return _svg(css, title, [*parts, _group(marks)])


def _chart(
    css: str,
    title: str,
    x: Scale,
    y: Scale,
    ticks: Sequence[float],
    fmt: Callable[[float], str],
    y_label: str,
    marks: Sequence[str],
    markers: Sequence[Marker],
) -> str:
    parts = _value_axis(y, ticks, fmt, y_label) + _time_axis(x)
    shown = [_marker(marker, x) for marker in markers if x.lo <= marker.at.timestamp() <= x.hi]
    return _svg(css, title, [*parts, _group([*marks, *shown])])


def _svg(css: str, title: str, parts: Sequence[str]) -> str:
    return (
        f'<svg class="chart {css}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img"><title>{_e(title)}</title>'
        + "".join(parts)
        + "</svg>"
    )


def _empty(css: str, title: str) -> str:
    text = (
        f'<text class="empty" x="{WIDTH // 2}" y="{HEIGHT // 2}" text-anchor="middle">'
        "no data</text>"
    )
    return _svg(f"{css} empty", title, [text])


def _group(marks: Sequence[str]) -> str:
    return '<g class="marks">' + "".join(marks) + "</g>"


def _bar(bar: Bar, x: Scale, y: Scale) -> str:
    left, right = x(bar.start.timestamp()), x(bar.end.timestamp())
    width = max(round(right - left - 1, 1), 1.0)
    height = round(y(0) - y(bar.value), 1)
    return (
        f'<rect class="bar {bar.kind}" x="{left}" y="{y(bar.value)}" width="{width}" '
        f'height="{height}"><title>{_e(bar.note)}</title></rect>'
    )


def _span(span: Span, x: Scale, y: Scale) -> str:
    left = max(x(span.start.timestamp()), x.a)
    right = min(x(span.end.timestamp()), x.b)
    return (
        f'<rect class="span {span.kind}" x="{left}" y="{TOP}" width="{max(right - left, 1.0)}" '
        f'height="{HEIGHT - BOTTOM - TOP}"><title>{_e(span.note)}</title></rect>'
    )


def _marker(marker: Marker, x: Scale) -> str:
    at = x(marker.at.timestamp())
    top = HEIGHT - BOTTOM - REPLY_TICK if marker.kind == "reply" else TOP
    line = (
        f'<line class="marker {marker.kind}" x1="{at}" x2="{at}" y1="{top}" '
        f'y2="{HEIGHT - BOTTOM}"><title>{_e(marker.note)}</title></line>'
    )
    if not marker.tag:
        return line
    tag = f'<text class="tag" x="{at}" y="{TOP - 5}" text-anchor="middle">{_e(marker.tag)}</text>'
    return line + tag


def _value_axis(
    y: Scale, ticks: Sequence[float], fmt: Callable[[float], str], label: str
) -> list[str]:
    parts = []
    for tick in ticks:
        css = "zero" if tick == 0 and y.lo < 0 else "grid"
        parts.append(
            f'<line class="{css}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick)}" y2="{y(tick)}" />'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(tick) + 4}" text-anchor="end">{_e(fmt(tick))}</text>'
        )
    parts.append(f'<text x="4" y="12">{_e(label)}</text>')
    return parts


def _time_axis(x: Scale) -> list[str]:
    base = HEIGHT - BOTTOM
    parts = [f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" />']
    for index, tick in enumerate(_time_ticks(x.lo, x.hi)):
        at = x(tick.timestamp())
        label = tick.strftime("%H:%M")
        if index == 0 or (tick.hour, tick.minute) == (0, 0):
            label = tick.strftime("%d %b %H:%M")
        parts.append(f'<line class="axis" x1="{at}" x2="{at}" y1="{base}" y2="{base + 4}" />')
        parts.append(f'<text x="{at}" y="{base + 16}" text-anchor="middle">{label}</text>')
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 2}" text-anchor="end">UTC</text>')
    return parts


def _time_scale(start: datetime, end: datetime) -> Scale:
    return Scale(
        start.timestamp(), max(end.timestamp(), start.timestamp() + 60), LEFT, WIDTH - RIGHT
    )


def _time_ticks(lo: float, hi: float) -> list[datetime]:
    """Round times between lo and hi (epoch seconds), at most `MAX_TICKS`."""
    minutes = next(
        (m for m in TIME_STEPS_MINUTES if (hi - lo) / (m * 60) <= MAX_TICKS), TIME_STEPS_MINUTES[-1]
    )
    step = minutes * 60
    first = math.ceil(lo / step) * step
    return [datetime.fromtimestamp(t, UTC) for t in range(int(first), int(hi) + 1, step)]


def nice_top(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above `value` (at least 1)."""
    value = max(value, 1.0)
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def _value_ticks(top: float) -> list[float]:
    """0 to `top` in at most 5 whole steps."""
    step = next(s for s in (top / 5, top / 4, top / 2, top) if s >= 1 and s == int(s))
    return [i * step for i in range(round(top / step) + 1)]


def count_text(value: float) -> str:
    """A count as an axis tick reads it."""
    return f"{value:g}"
