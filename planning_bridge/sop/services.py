"""The S&OP cycle's one face: pages, API routes, CLI commands, jobs and the demo call these.
Services take the acting user (anything with ``id`` and ``role``) and ``now``, flush and never
commit. See ``cycles.py`` (the cycle and its steps), ``review.py`` (demand, supply, finance,
pre-meeting, executive summary), ``plans.py`` (consensus and business plans) and
``feedback.py`` (what sales reads back)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _  # the bridge reaches crm only by its port

from planning_bridge import crm_port
from planning_bridge.periods import first_day, month_index
from planning_bridge.sop.cycles import (
    ACTIONS,
    MONEY_READERS,
    PLANNERS,
    STEP_PLAN,
    Actor,
    advance_step,
    check_month,
    current_step,
    get_cycle,
    horizon_periods,
    list_cycles,
    open_cycle,
    open_month_end_cycle,
    published_versions,
    require_money_reader,
    require_planner,
)
from planning_bridge.sop.feedback import BridgePlanFeedback, committed_units, earliest_month_index
from planning_bridge.sop.models import REVIEW_STATUSES, STEPS, STRATEGIES
from planning_bridge.sop.plans import (
    PLAN_COLUMNS,
    get_version,
    import_business_plan,
    import_plan,
    plan_csv,
    plan_in_force,
    publish,
    publish_cycle,
    versions,
)
from planning_bridge.sop.review import (
    add_override,
    agenda,
    business_plan,
    capacity_of,
    cycle_families,
    decisions,
    demand_plan,
    executive_summary,
    family_prices,
    finance_view,
    override_history,
    record_decision,
    review_family,
    set_capacity,
    set_family_supply,
    supply_view,
)

MAX_ATP_QUANTITY = Decimal("1e12")


def available_to_promise(family: str, quantity, start: str | None) -> date | None:
    """The earliest month the plan can ship ``quantity`` of ``family`` from ``start``
    (``YYYY-MM``, default this month); None when the horizon cannot take it."""
    errors = {}
    if family not in {f.code for f in crm_port.product_families()}:
        errors["family"] = _("unknown family '%(family)s'", family=str(family)[:40])
    try:
        amount = Decimal(str(quantity))
        if not amount.is_finite() or amount <= 0 or amount >= MAX_ATP_QUANTITY:
            errors["quantity"] = _("a number above 0")
    except ArithmeticError:
        errors["quantity"] = _("a number above 0")
    first = month_index(crm_port.utcnow().date())
    if start:
        try:
            first = check_month(start, "from")
        except crm_port.ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise crm_port.ValidationFailed(_("available-to-promise needs a family, a quantity and a month"),
                                        errors)
    return BridgePlanFeedback().earliest_month(family, amount, first_day(first))


__all__ = [
    "ACTIONS", "MONEY_READERS", "PLANNERS", "PLAN_COLUMNS", "REVIEW_STATUSES", "STEPS", "STEP_PLAN",
    "STRATEGIES", "Actor", "BridgePlanFeedback", "add_override", "advance_step", "agenda",
    "available_to_promise", "business_plan", "capacity_of", "check_month", "committed_units",
    "current_step", "cycle_families", "decisions", "demand_plan", "earliest_month_index",
    "executive_summary", "family_prices", "finance_view", "get_cycle", "get_version",
    "horizon_periods", "import_business_plan", "import_plan", "list_cycles", "open_cycle",
    "open_month_end_cycle", "override_history", "plan_csv", "plan_in_force", "publish",
    "publish_cycle", "published_versions", "record_decision", "require_money_reader",
    "require_planner", "review_family", "set_capacity", "set_family_supply", "supply_view", "versions",
]
