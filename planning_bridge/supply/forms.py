"""The scenario builder's form, both ways: a scenario (the API's shape) as the form's values
for prefilling, and the submitted form back as a scenario for ``ScenarioIn`` to validate
(so the page's errors name the same fields as the API's). Plain functions of dicts."""
from __future__ import annotations

from typing import Any

from planning_bridge.supply.models import COST_FIELDS, LIMIT_FIELDS

PROMOTION_ROWS = 3
SCALARS = ("price", "labour_hours_per_unit", "hours_per_worker_month", "max_overtime_hours_per_worker")
NESTED = {"start": ("workers", "inventory", "backlog"), "end": ("min_inventory", "max_backlog")}


def _text(value) -> str:
    if value is None:
        return ""
    number = float(value)
    return f"{number:.0f}" if number.is_integer() else f"{number:.3f}".rstrip("0").rstrip(".")


def form_values(scenario: dict[str, Any]) -> dict[str, Any]:
    """Form field name → its text, from a scenario."""
    values: dict[str, Any] = {name: _text(scenario[name]) for name in SCALARS}
    values.update({name: _text(scenario["costs"][name]) for name in COST_FIELDS})
    for group, names in NESTED.items():
        values.update({f"{group}_{name}": _text(scenario[group].get(name)) for name in names})
    limits = scenario.get("limits") or {}
    values.update({name: _text(limits.get(name)) for name in LIMIT_FIELDS})
    values["integer_workers"] = bool(scenario.get("integer_workers"))
    values["periods"] = list(scenario["periods"])
    values["demand"] = [_text(d) for d in scenario["demand"]]
    caps = limits.get("max_production") or [None] * len(scenario["periods"])
    values["capacity"] = [_text(c) for c in caps]
    workforce = scenario.get("planner_workforce") or [None] * len(scenario["periods"])
    values["planner"] = [_text(w) for w in workforce]
    promotions = list(scenario.get("promotions") or [])
    values["promotions"] = [
        {key: _text(p.get(key)) if key != "period" else p.get("period", "") for key in
         ("period", "price_discount", "lift", "forward_buy_share", "forward_buy_months")}
        for p in promotions
    ] + [dict.fromkeys(("period", "price_discount", "lift", "forward_buy_share", "forward_buy_months"), "")
         for _ in range(max(0, PROMOTION_ROWS - len(promotions)))]
    return values


def _blank_to_none(text: str | None):
    text = (text or "").strip()
    return text or None


def scenario_from_form(form) -> dict[str, Any]:
    """A scenario from a submitted form (a ``MultiDict``: ``get`` and ``getlist``). Empty
    optional fields become nulls; empty required ones stay empty, so validation names them."""
    periods = form.getlist("periods")
    months = len(periods)
    scenario: dict[str, Any] = {name: (form.get(name) or "").strip() for name in SCALARS}
    scenario["periods"] = periods
    scenario["demand"] = [(form.get(f"demand-{i}") or "").strip() for i in range(months)]
    scenario["costs"] = {name: (form.get(name) or "").strip() for name in COST_FIELDS}
    for group, names in NESTED.items():
        scenario[group] = {name: _blank_to_none(form.get(f"{group}_{name}")) or 0 for name in names}
    limits: dict[str, Any] = {name: _blank_to_none(form.get(name)) for name in LIMIT_FIELDS}
    caps = [_blank_to_none(form.get(f"capacity-{i}")) for i in range(months)]
    limits["max_production"] = caps if any(c is not None for c in caps) else None
    scenario["limits"] = limits
    scenario["integer_workers"] = form.get("integer_workers") in ("1", "on", "true")
    strategies = ["optimal", "chase", "level"]
    workforce = [_blank_to_none(form.get(f"planner-{i}")) for i in range(months)]
    if any(w is not None for w in workforce):
        strategies.append("planner")
        scenario["planner_workforce"] = [w if w is not None else "" for w in workforce]
    scenario["strategies"] = strategies
    promotions = []
    for row in range(PROMOTION_ROWS):
        period = _blank_to_none(form.get(f"promo-{row}-period"))
        if period is None:
            continue
        promotions.append({
            "period": period,
            "price_discount": (form.get(f"promo-{row}-price_discount") or "0").strip(),
            "lift": (form.get(f"promo-{row}-lift") or "0").strip(),
            "forward_buy_share": (form.get(f"promo-{row}-forward_buy_share") or "0").strip(),
            "forward_buy_months": (form.get(f"promo-{row}-forward_buy_months") or "0").strip(),
        })
    scenario["promotions"] = promotions
    return scenario
