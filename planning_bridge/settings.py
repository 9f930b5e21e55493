"""Per-family settings (how baseline and pipeline combine, the commit stage) and the planner's
decisions on outlier flags. Services: plain arguments, the acting user, ``now``; they flush,
the caller commits.

Defaults for a family nobody configured: ``baseline_plus_pipeline`` (which is the weighted
pipeline alone until actuals are imported, since the baseline then only sees won deals), and
as commit stage the first stage, in pipeline order, whose default probability is at least
``COMMIT_PROBABILITY`` (the last stage when none is).
"""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _  # the bridge reaches crm only by its port
from sqlalchemy import select

from planning_bridge import crm_port
from planning_bridge.contracts import COMBINE_RULES, FamilySettings, OutlierFlag
from planning_bridge.history import baseline_values, family_histories, flag_outliers
from planning_bridge.models import FamilySetting, OutlierOverride
from planning_bridge.periods import parse_period, period_index, period_text

DEFAULT_RULE = "baseline_plus_pipeline"
COMMIT_PROBABILITY = 0.75
PLANNING_ROLES = ("planner", "admin")
MAX_UNITS = 1e12


def require_planner(actor) -> None:
    if actor is None or getattr(actor, "role", None) not in PLANNING_ROLES:
        raise crm_port.PermissionDenied(_("only planners and admins may change planning settings"))


def default_commit_stage(stages=None) -> str | None:
    stages = [s for s in (stages or crm_port.pipeline_stages()) if s.is_active]
    for stage in stages:
        if float(stage.probability) >= COMMIT_PROBABILITY:
            return stage.name
    return stages[-1].name if stages else None


def family_settings() -> list[FamilySettings]:
    saved = {s.family: s for s in crm_port.db.session.scalars(select(FamilySetting))}
    commit_default = default_commit_stage()
    result = []
    for family in crm_port.product_families():
        setting = saved.get(family.code)
        result.append(FamilySettings(
            family=family.code, name=family.name, unit=family.unit,
            lead_time_days=family.lead_time_days,
            combine_rule=setting.combine_rule if setting else DEFAULT_RULE,
            commit_stage=(setting.commit_stage if setting and setting.commit_stage else commit_default),
            is_default=setting is None,
        ))
    return result


def settings_by_family() -> dict[str, FamilySettings]:
    return {s.family: s for s in family_settings()}


def save_family_setting(
    actor, family: str, combine_rule: str, commit_stage: str | None = None, *, now: datetime | None = None,
) -> FamilySettings:
    """Set how ``family``'s demand input combines baseline and pipeline, and its commit stage
    (None: the default)."""
    require_planner(actor)
    errors = {}
    known = {f.code for f in crm_port.product_families()}
    if family not in known:
        raise crm_port.NotFound(_("no such product family"))
    if combine_rule not in COMBINE_RULES:
        errors["combine_rule"] = _("one of %(choices)s", choices=', '.join(COMBINE_RULES))
    commit_stage = (commit_stage or "").strip() or None
    if commit_stage is not None and commit_stage not in {s.name for s in crm_port.pipeline_stages()}:
        errors["commit_stage"] = _("unknown pipeline stage")
    if errors:
        raise crm_port.ValidationFailed(_("invalid family setting"), errors)
    setting = crm_port.db.session.scalar(select(FamilySetting).where(FamilySetting.family == family))
    if setting is None:
        setting = FamilySetting(family=family)
        crm_port.db.session.add(setting)
    setting.combine_rule, setting.commit_stage = combine_rule, commit_stage
    setting.updated_by_id = getattr(actor, "id", None)
    setting.updated_at = now or crm_port.utcnow()
    crm_port.db.session.flush()
    return settings_by_family()[family]


# --- outliers ---------------------------------------------------------------------------

def list_outliers(family: str, *, as_of: date | None = None) -> list[OutlierFlag]:
    """The months of ``family``'s actuals that are flagged as outliers or that a planner
    decided on, oldest first."""
    lead_times = {f.code: f.lead_time_days for f in crm_port.product_families()}
    if family not in lead_times:
        raise crm_port.NotFound(_("no such product family"))
    history = family_histories({family: lead_times[family]}, as_of or _today())[family]
    if history.raw.size == 0:
        return []
    flagged = {history.first + i for i in flag_outliers(history.raw)}
    fitted, _method = baseline_values(history.raw, history.first, history.first, history.last)
    decisions = {
        period_index(d.period): d for d in crm_port.db.session.scalars(
            select(OutlierOverride).where(OutlierOverride.family == family))
    }
    names = crm_port.user_names(d.decided_by_id for d in decisions.values())
    flags = []
    for month in sorted(flagged | {m for m in decisions if history.first <= m <= history.last}):
        index = month - history.first
        decision = decisions.get(month)
        flags.append(OutlierFlag(
            family=family, period=period_text(month), original_units=float(history.raw[index]),
            flagged=month in flagged, suggested_units=round(float(fitted[index]), 6),
            accepted=decision.accepted if decision else None,
            override_units=decision.value if decision else None,
            effective_units=float(history.total[index]),
            decided_by=names.get(decision.decided_by_id) if decision and decision.decided_by_id is not None else None,
            decided_at=decision.decided_at if decision else None,
            decided_on_units=decision.original_units if decision else None,
            needs_review=month in history.stale,
        ))
    return flags


def set_outlier_override(
    actor, family: str, period: str, accepted: bool, value: float | None, now: datetime,
) -> OutlierFlag | None:
    """Record a planner's decision on one month of ``family``'s actuals: ``accepted`` agrees it
    is an outlier (the baseline then reads ``value``, or its own fitted value when ``value`` is
    None); not accepted keeps the original (or reads ``value`` when given, a correction). The
    original actual is never changed. Deciding again replaces the decision."""
    require_planner(actor)
    month = parse_period(period)
    errors = {}
    if month is None:
        errors["period"] = _("a month written YYYY-MM")
    if value is not None:
        try:
            value = float(value)
            if not 0 <= value < MAX_UNITS:
                raise ValueError
        except (TypeError, ValueError):
            errors["value"] = _("a number of units, 0 or more")
    if errors or month is None:
        raise crm_port.ValidationFailed(_("invalid outlier decision"), errors)
    lead_times = {f.code: f.lead_time_days for f in crm_port.product_families()}
    if family not in lead_times:
        raise crm_port.NotFound(_("no such product family"))
    history = family_histories({family: lead_times[family]}, now.date())[family]
    if history.raw.size == 0 or not history.first <= month <= history.last:
        raise crm_port.ValidationFailed(_("no actuals for that month"), {"period": _("not in the family's history")})
    decision = crm_port.db.session.scalar(
        select(OutlierOverride).where(OutlierOverride.family == family, OutlierOverride.period == period_text(month))
    )
    if decision is None:
        decision = OutlierOverride(family=family, period=period_text(month))
        crm_port.db.session.add(decision)
    decision.accepted, decision.value = bool(accepted), value
    decision.original_units = float(history.raw[month - history.first])
    decision.decided_by_id, decision.decided_at = getattr(actor, "id", None), now
    crm_port.db.session.flush()
    return next((f for f in list_outliers(family, as_of=now.date()) if f.period == period_text(month)), None)


def clear_outlier_override(actor, family: str, period: str) -> None:
    require_planner(actor)
    decision = crm_port.db.session.scalar(
        select(OutlierOverride).where(OutlierOverride.family == family, OutlierOverride.period == period)
    )
    if decision is not None:
        crm_port.db.session.delete(decision)
        crm_port.db.session.flush()


def _today() -> date:
    return crm_port.utcnow().date()
