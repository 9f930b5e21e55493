"""Bar charts drawn on the server as inline SVG: no chart library, no script, and nothing the
strict Content Security Policy (``style-src 'self'``) refuses: shapes carry geometry and a
``class`` (colours come from team.css), never a ``style`` attribute.

Each chart is an image with a name (``role="img"``, ``<title>``/``<desc>``); every bar has a
``<title>`` with its value, and the page shows the same figures in a table below it, so the
chart is never the only way to read them."""
from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 48
SERIES_CLASSES = 8  # team.css defines .series-0 ... .series-7


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]


def _nice_max(value: float) -> float:
    """A round top for the axis (1, 2, 5 × 10^n) at or above ``value``."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bar_chart(chart_id: str, title: str, categories: list[str], series: list[Series], *,
              stacked: bool = False) -> Markup:
    """Grouped (or stacked) vertical bars: one group per category, one bar per series."""
    if not categories or not series:
        return Markup("")
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top = _nice_max(max(totals) if stacked else max((max(s.values) for s in series), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / len(categories)
    bar_w = group_w * 0.8 if stacked else group_w * 0.8 / len(series)
    parts = [Markup('<svg class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" '
                    'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">')
             % (chart_id, WIDTH, HEIGHT, chart_id, chart_id),
             Markup('<title id="%s-title">%s</title>') % (chart_id, title),
             Markup('<desc id="%s-desc">%s</desc>') % (chart_id, "; ".join(
                 f"{s.name}: " + ", ".join(f"{c} {_fmt(v)}" for c, v in zip(categories, s.values)) for s in series))]
    for tick in range(5):
        value = top * tick / 4
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(Markup('<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>') % (LEFT, WIDTH - RIGHT, y, y))
        parts.append(Markup('<text class="axis" x="%d" y="%.1f" text-anchor="end">%s</text>')
                     % (LEFT - 6, y + 4, _fmt(value)))
    for i, category in enumerate(categories):
        x0 = LEFT + group_w * i + group_w * 0.1
        base = TOP + plot_h
        for j, s in enumerate(series):
            value = s.values[i]
            h = plot_h * value / top if top else 0
            x = x0 if stacked else x0 + bar_w * j
            y = base - h
            parts.append(Markup('<rect class="bar series-%d" x="%.1f" y="%.1f" width="%.1f" height="%.1f">'
                                '<title>%s, %s: %s</title></rect>')
                         % (j % SERIES_CLASSES, x, y, max(bar_w - 1, 1), h, category, s.name, _fmt(value)))
            if stacked:
                base = y
        parts.append(Markup('<text class="axis" x="%.1f" y="%d" text-anchor="middle">%s</text>')
                     % (LEFT + group_w * i + group_w / 2, HEIGHT - BOTTOM + 16, _short(category)))
    parts.append(Markup("</svg>"))
    legend = Markup("").join(Markup('<li><span class="swatch series-%d" aria-hidden="true"></span>%s</li>')
                             % (j % SERIES_CLASSES, s.name) for j, s in enumerate(series))
    return Markup('<figure class="chart-figure">%s<ul class="chart-legend">%s</ul></figure>') % (
        Markup("").join(parts), legend)


def _short(label: str, limit: int = 14) -> str:
    label = str(label)
    return label if len(label) <= limit else label[: limit - 1] + "…"

