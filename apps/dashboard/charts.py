"""Server-side SVG charts: line and bar charts as self-contained <svg> markup, no JavaScript.

Drawn in Python so the dashboard needs no charting library, no build step and no CDN. Every
text that reaches the markup goes through `escape`; the result is marked safe only here.
Each data point is an element with class "pt" carrying a <title> (the browser's tooltip), and
the root <svg> carries `data-chart` and `data-points` so tests can see what was drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 34, 40
PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#64748b")


@dataclass(frozen=True, slots=True)
class Series:
    """One named series of values aligned with the chart's labels; None is a gap."""

    name: str
    values: Sequence[float | None]
    color: str | None = None


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least `top` (steps of 1, 2, 2.5 or 5 times a power of 10)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    n = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def format_number(value: float) -> str:
    """Compact axis/tooltip text: 12, 3.5, 0.25."""
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:.1f}"


def line_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "",
    y_max: float | None = None,
    fmt: Callable[[float], str] = format_number,
) -> SafeString:
    """A line chart with one point per label and series; gaps (None) break the line."""
    frame = _Frame(labels, series, y_max, fmt, unit)
    parts = [frame.open(chart_id, title, "line")]
    for index, s in enumerate(series):
        color = _color(s, index)
        runs: list[list[str]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
                continue
            runs[-1].append(f"{frame.x(i):.1f},{frame.y(value):.1f}")
        for run in runs:
            if len(run) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(run)}"/>'
                )
        for i, value in enumerate(s.values):
            if value is None:
                continue
            parts.append(
                f'<circle class="pt" cx="{frame.x(i):.1f}" cy="{frame.y(value):.1f}" r="3.5" '
                f'fill="{color}"><title>{escape(s.name)}, {escape(labels[i])}: '
                f"{escape(fmt(value))}{escape(unit)}</title></circle>"
            )
    parts.append(frame.legend())
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 every text above is escaped


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "",
    fmt: Callable[[float], str] = format_number,
) -> SafeString:
    """Stacked bars, one per label; zero or missing values draw nothing."""
    stacked_top = max(
        (sum(v or 0 for v in column) for column in zip(*(s.values for s in series), strict=True)),
        default=0,
    )
    frame = _Frame(labels, series, stacked_top, fmt, unit)
    parts = [frame.open(chart_id, title, "bar")]
    bar_width = max(2.0, frame.slot * 0.7)
    for i, label in enumerate(labels):
        base = 0.0
        for index, s in enumerate(series):
            value = s.values[i] or 0
            if value <= 0:
                continue
            y_top, y_bottom = frame.y(base + value), frame.y(base)
            parts.append(
                f'<rect class="pt" x="{frame.x(i) - bar_width / 2:.1f}" y="{y_top:.1f}" '
                f'width="{bar_width:.1f}" height="{max(y_bottom - y_top, 0.5):.1f}" '
                f'fill="{_color(s, index)}"><title>{escape(s.name)}, {escape(label)}: '
                f"{escape(fmt(value))}{escape(unit)}</title></rect>"
            )
            base += value
    if len(series) > 1:
        parts.append(frame.legend())
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 every text above is escaped


class _Frame:
    """Scales, axes, grid and legend shared by both chart kinds."""

    def __init__(
        self,
        labels: Sequence[str],
        series: Sequence[Series],
        y_max: float | None,
        fmt: Callable[[float], str],
        unit: str,
    ) -> None:
        self.labels = labels
        self.series = series
        self.fmt = fmt
        self.unit = unit
        known = [v for s in series for v in s.values if v is not None]
        top = y_max if y_max is not None else max(known, default=0)
        self.ticks = nice_ticks(top)
        self.top = self.ticks[-1] or 1.0
        self.plot_w = WIDTH - LEFT - RIGHT
        self.plot_h = HEIGHT - TOP - BOTTOM
        self.slot = self.plot_w / max(len(labels), 1)

    def x(self, i: int) -> float:
        return LEFT + self.slot * (i + 0.5)

    def y(self, value: float) -> float:
        return TOP + self.plot_h * (1 - min(max(value, 0), self.top) / self.top)

    def open(self, chart_id: str, title: str, kind: str) -> str:
        drawn = sum(1 for s in self.series for v in s.values if v is not None and v > 0)
        head = (
            f'<svg class="chart chart-{kind}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
            f'data-chart="{escape(chart_id)}" data-points="{drawn}">'
            f"<title>{escape(title)}</title>"
            f'<text class="chart-title" x="{LEFT}" y="18">{escape(title)}</text>'
        )
        grid = []
        for tick in self.ticks:
            y = self.y(tick)
            grid.append(
                f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                f"{escape(self.fmt(tick))}</text>"
            )
        # Show at most ~10 x labels so they never overlap.
        every = max(1, math.ceil(len(self.labels) / 10))
        for i, label in enumerate(self.labels):
            if i % every == 0:
                grid.append(
                    f'<text class="axis" x="{self.x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                    f'text-anchor="middle">{escape(label)}</text>'
                )
        if not drawn:
            grid.append(
                f'<text class="empty" x="{LEFT + self.plot_w / 2:.0f}" y="{TOP + self.plot_h / 2:.0f}" '
                'text-anchor="middle">no data in this range</text>'
            )
        return head + "".join(grid)

    def legend(self) -> str:
        out, x = [], float(WIDTH - RIGHT)
        items = [(s.name, _color(s, index)) for index, s in enumerate(self.series)]
        # Right-aligned, laid out from the right edge.
        for name, color in reversed(items):
            width = 18 + 7 * len(name)
            x -= width
            out.append(
                f'<rect x="{x:.0f}" y="9" width="10" height="10" fill="{color}"/>'
                f'<text class="legend" x="{x + 14:.0f}" y="18">{escape(name)}</text>'
            )
        return "".join(out)


def _color(series: Series, index: int) -> str:
    return series.color or PALETTE[index % len(PALETTE)]
