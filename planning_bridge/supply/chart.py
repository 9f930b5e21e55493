"""The scenario chart, drawn on the server as SVG (the CSP allows no inline script or style:
the template writes the shapes computed here, and ``supply.css`` colours them by class).

Per month: production as a bar (regular, overtime and subcontracted stacked), demand as a
line, ending inventory and backlog as lines. One scale for all, so units compare."""
from __future__ import annotations

from dataclasses import dataclass

from planning_bridge.supply.model import PricedPlan

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 36
TICKS = 4


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str          # regular / overtime / subcontract
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    lines: dict[str, str]          # kind → SVG polyline points
    ticks: list[tuple[float, str]]  # (y, label)
    labels: list[tuple[float, str]]  # (x, period)
    baseline: float


def plan_chart(plan: PricedPlan) -> Chart:
    months = plan.months
    top = max([float(m.production) for m in months] + [float(m.demand) for m in months]
              + [float(m.inventory) for m in months] + [float(m.backlog) for m in months] + [1.0])
    top = _nice(top)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = inner_w / max(len(months), 1)
    y = lambda value: TOP + inner_h - float(value) / top * inner_h  # noqa: E731
    bars: list[Bar] = []
    lines: dict[str, list[str]] = {"demand": [], "inventory": [], "backlog": []}
    for i, m in enumerate(months):
        x = LEFT + i * step + step * 0.2
        base = float(0)
        for kind, value in (("regular", m.regular_units), ("overtime", m.overtime_units),
                            ("subcontract", m.subcontract_units)):
            if value > 0:
                height = float(value) / top * inner_h
                bars.append(Bar(round(x, 1), round(y(base) - height, 1), round(step * 0.6, 1), round(height, 1),
                                kind, f"{m.period} {kind}: {float(value):,.0f}"))
                base += float(value)
        centre = LEFT + i * step + step / 2
        for kind, value in (("demand", m.demand), ("inventory", m.inventory), ("backlog", m.backlog)):
            lines[kind].append(f"{centre:.1f},{y(value):.1f}")
    ticks = [(round(y(top * k / TICKS), 1), f"{top * k / TICKS:,.0f}") for k in range(TICKS + 1)]
    labels = [(round(LEFT + i * step + step / 2, 1), m.period) for i, m in enumerate(months)]
    return Chart(WIDTH, HEIGHT, bars, {k: " ".join(v) for k, v in lines.items()}, ticks, labels, round(y(0), 1))


def _nice(value: float) -> float:
    """The next round number above ``value`` (1, 2 or 5 times a power of ten) for the axis."""
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 5, 10):
        if value <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)
