"""The scoring feature's public face (the only module other features import, with ``models``):
scores as other features see them (``score_summaries``, ``top_scored_contacts``), recording a
human event (``record_event``, from tracking, mail and meetings), and what the scoring pages, API
and CLI do: the "in the market" list, the contact's score detail, and the admin's rules and
settings. Services flush; callers commit."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm.contacts.models import Contact
from crm.deals.models import Deal
from crm.errors import NotFound, ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.scoring.explain import MAX_FACTORS, engagement_factors, fit_by_contact, fit_phrases, trend
from crm.scoring.models import ContactScore, FitRule, ScoringModel, ScoringRule, new_rules_revision
from crm.scoring.rules import EVENT_KINDS, get_settings, load_ruleset
from crm.scoring.scores import ZERO_KEY, engagement_at, recompute_all, record_event, score_now
from crm.validation import as_id, has_control_chars
from crm.web.pagination import Page, clamp_page

__all__ = [
    "ScoreSummary", "score_summaries", "top_scored_contacts", "record_event",
    "ScoredContact", "in_market", "newly_converted", "ScoreDetail", "score_detail",
    "save_settings", "list_rules", "list_fit_rules", "save_rule", "delete_rule", "save_fit_rule",
    "delete_fit_rule", "recompute_if_needed", "list_models",
]

NEWLY_CONVERTED_DAYS = 30
MAX_POINTS = 1000.0


# --- scores as other features see them (calls, alerts' demo) ---------------------------------

@dataclass(frozen=True)
class ScoreSummary:
    score: float  # 0-100, what reps rank by
    engagement: float  # decayed to ``now``
    fit: float
    predictive: float | None
    factors: list[str] = field(default_factory=list)  # "read the pricing page 3 times this week"


def top_scored_contacts(owner_id: int, now: datetime, limit: int,
                        exclude_ids: set[int] | frozenset = frozenset()) -> list[tuple[int, float]]:
    """(contact_id, score) of the owner's best-scored contacts, best first, using an index
    (no scan of every contact). Contacts with no engagement at all are not listed."""
    ruleset = load_ruleset()
    # The (owner_id, rank_key, contact_id) index gives the order; the join drops contacts
    # whose owner changed since the copy was refreshed (at most a minute ago).
    query = (
        select(ContactScore).join(Contact, Contact.id == ContactScore.contact_id)
        .where(ContactScore.owner_id == owner_id, Contact.owner_id == owner_id, ContactScore.rank_key > ZERO_KEY)
        .order_by(ContactScore.rank_key.desc(), ContactScore.contact_id.desc()).limit(max(0, limit))
    )
    if exclude_ids:
        query = query.where(ContactScore.contact_id.not_in(list(exclude_ids)))
    return [(row.contact_id, score_now(row, now, ruleset)) for row in db.session.scalars(query)]


def score_summaries(contact_ids: list[int], now: datetime) -> dict[int, ScoreSummary]:
    """Scores with their top factors for several contacts, in a bounded number of queries."""
    ids = sorted({int(c) for c in contact_ids})
    if not ids:
        return {}
    ruleset = load_ruleset()
    rows = {r.contact_id: r for r in db.session.scalars(
        select(ContactScore).where(ContactScore.contact_id.in_(ids)))}
    fits = fit_by_contact(ids, ruleset)
    events = engagement_factors(ids, now, ruleset)
    summaries = {}
    for contact_id in ids:
        if contact_id not in fits:
            continue  # no such contact
        row = rows.get(contact_id)
        fit = fits[contact_id]
        predictive = row.predictive if row else None
        factors = events.get(contact_id, [])[:MAX_FACTORS - 1] + fit_phrases(fit)
        if predictive is not None:
            factors.append(_("%(percent)s%% likely to become an opportunity (model)", percent=round(predictive * 100)))
        engagement = engagement_at(row.engagement, row.engagement_as_of, now, ruleset.half_life_hours) if row else 0.0
        summaries[contact_id] = ScoreSummary(
            score=score_now(row, now, ruleset) if row else 0.0, engagement=round(engagement, 4) if row else 0.0,
            fit=fit.points, predictive=predictive, factors=factors[:MAX_FACTORS + 1],
        )
    return summaries


# --- the scoring pages ----------------------------------------------------------------------

@dataclass(frozen=True)
class ScoredContact:
    contact: Contact
    summary: ScoreSummary


def in_market(*, owner_id: int | None, now: datetime, page: int = 1, per_page: int = 50) -> Page:
    """Contacts by their score now, best first (the rank-key index), with their factors."""
    page, per_page = clamp_page(page, per_page, default=50)
    query = select(ContactScore.contact_id).where(ContactScore.rank_key > ZERO_KEY)
    if owner_id is not None:
        query = query.join(Contact, Contact.id == ContactScore.contact_id).where(
            ContactScore.owner_id == owner_id, Contact.owner_id == owner_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    ids = list(db.session.scalars(
        query.order_by(ContactScore.rank_key.desc(), ContactScore.contact_id.desc())
        .limit(per_page).offset((page - 1) * per_page)))
    return Page(_scored(ids, now), page, per_page, total or 0)


def newly_converted(*, owner_id: int | None, now: datetime, limit: int = 20) -> list[ScoredContact]:
    """Contacts whose first deal was opened in the last 30 days, newest first."""
    first_deal = (select(Deal.contact_id, func.min(Deal.created_at).label("first_at"))
                  .where(Deal.contact_id.is_not(None)).group_by(Deal.contact_id).subquery())
    query = (select(first_deal.c.contact_id).join(Contact, Contact.id == first_deal.c.contact_id)
             .where(first_deal.c.first_at >= now - timedelta(days=NEWLY_CONVERTED_DAYS),
                    first_deal.c.first_at <= now)
             .order_by(first_deal.c.first_at.desc()).limit(limit))
    if owner_id is not None:
        query = query.where(Contact.owner_id == owner_id)
    return _scored(list(db.session.scalars(query)), now)


def _scored(ids: list[int], now: datetime) -> list[ScoredContact]:
    if not ids:
        return []
    contacts = {c.id: c for c in db.session.scalars(
        select(Contact).options(joinedload(Contact.company), joinedload(Contact.owner)).where(Contact.id.in_(ids)))}
    summaries = score_summaries(ids, now)
    return [ScoredContact(contacts[i], summaries[i]) for i in ids if i in contacts and i in summaries]


@dataclass(frozen=True)
class ScoreDetail:
    contact_id: int
    summary: ScoreSummary
    trend: list[float]


def score_detail(contact_id, now: datetime) -> ScoreDetail:
    cid = as_id(contact_id)
    summary = score_summaries([cid], now).get(cid) if cid else None
    if cid is None or summary is None:
        raise NotFound(_("no such contact"))
    return ScoreDetail(cid, summary, trend(cid, now, load_ruleset()))


# --- admin: settings and rules ---------------------------------------------------------------

def _number(value, field: str, low: float, high: float, errors: dict) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        errors[field] = _("a number")
        return None
    if not math.isfinite(number) or not low <= number <= high:
        errors[field] = _("between %(low)s and %(high)s", low=f"{low:g}", high=f"{high:g}")
        return None
    return number


def _text(value, field: str, limit: int, errors: dict, *, required: bool = False) -> str | None:
    text = (value or "").strip()
    if has_control_chars(text):
        errors[field] = _("no control characters")
    elif len(text) > limit:
        errors[field] = _("at most %(limit)s characters", limit=limit)
    elif required and not text:
        errors[field] = _("required")
    return text or None


def save_settings(data: dict, now: datetime):
    errors: dict[str, str] = {}
    half_life = _number(data.get("half_life_days"), "half_life_days", 0.5, 3650, errors)
    saturation = _number(data.get("saturation_points"), "saturation_points", 1, 10000, errors)
    if errors or half_life is None or saturation is None:  # None only with an error
        raise ValidationFailed(_("check the settings"), errors)
    settings = get_settings()
    changed = (settings.half_life_days, settings.saturation_points) != (half_life, saturation)
    settings.half_life_days, settings.saturation_points = half_life, saturation
    settings.updated_at = now
    settings.rules_revision = new_rules_revision()  # the rules cache key
    if changed:
        settings.needs_recompute = True
    db.session.flush()
    return settings


def list_rules() -> list[ScoringRule]:
    get_settings()
    return list(db.session.scalars(select(ScoringRule).order_by(ScoringRule.position, ScoringRule.id)))


def list_fit_rules() -> list[FitRule]:
    get_settings()
    return list(db.session.scalars(select(FitRule).order_by(FitRule.attribute, FitRule.points.desc())))


def save_rule(data: dict, now: datetime, rule_id=None) -> ScoringRule:
    errors: dict[str, str] = {}
    kind = (data.get("kind") or "").strip()
    if kind not in EVENT_KINDS:
        errors["kind"] = _("one of %(choices)s", choices=', '.join(EVENT_KINDS))
    url = _text(data.get("url_contains"), "url_contains", 300, errors)
    label = _text(data.get("label"), "label", 100, errors) or ""
    points = _number(data.get("points"), "points", -MAX_POINTS, MAX_POINTS, errors)
    if errors:
        raise ValidationFailed(_("check the rule"), errors)
    rule = _get(ScoringRule, rule_id) if rule_id is not None else ScoringRule(
        position=(db.session.scalar(select(func.max(ScoringRule.position))) or 0) + 1)
    rule.kind, rule.url_contains, rule.label, rule.points = kind, url, label, points
    db.session.add(rule)
    _mark_changed(now)
    return rule


def delete_rule(rule_id, now: datetime) -> None:
    db.session.delete(_get(ScoringRule, rule_id))
    _mark_changed(now)


def save_fit_rule(data: dict, now: datetime, rule_id=None) -> FitRule:
    errors: dict[str, str] = {}
    attribute = (data.get("attribute") or "").strip()
    if attribute not in ("title", "company_size", "industry"):
        errors["attribute"] = _("title, company_size or industry")
    match = _text(data.get("match"), "match", 300, errors, required=attribute in ("title", "industry"))
    label = _text(data.get("label"), "label", 100, errors) or ""
    points = _number(data.get("points"), "points", -100, 100, errors)
    low = high = None
    if attribute == "company_size":
        low = _bound(data.get("min_value"), "min_value", errors)
        high = _bound(data.get("max_value"), "max_value", errors)
        if low is None and high is None and not errors:
            errors["min_value"] = _("give a minimum, a maximum or both")
        elif low is not None and high is not None and low > high:
            errors["max_value"] = _("at least the minimum")
    if errors:
        raise ValidationFailed(_("check the fit rule"), errors)
    rule = _get(FitRule, rule_id) if rule_id is not None else FitRule()
    rule.attribute, rule.match, rule.label, rule.points = attribute, match, label, points
    rule.min_value, rule.max_value = low, high
    db.session.add(rule)
    _mark_changed(now)
    return rule


def _bound(value, field: str, errors: dict) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > 10**9:
        errors[field] = _("a whole number of employees")
        return None
    return int(text)


def delete_fit_rule(rule_id, now: datetime) -> None:
    db.session.delete(_get(FitRule, rule_id))
    _mark_changed(now)


def _get(model, record_id):
    record = db.session.get(model, as_id(record_id)) if as_id(record_id) else None
    if record is None:
        raise NotFound(_("no such rule"))
    return record


def _mark_changed(now: datetime) -> None:
    settings = get_settings()
    settings.needs_recompute = True
    settings.updated_at = now
    settings.rules_revision = new_rules_revision()  # the rules cache key
    db.session.flush()


def recompute_if_needed(now: datetime) -> dict | None:
    """The worker's job: rebuild scores after the admin changed rules (idempotent)."""
    if not get_settings().needs_recompute:
        return None
    return recompute_all(now)


def list_models(limit: int = 10) -> list[ScoringModel]:
    return list(db.session.scalars(select(ScoringModel).order_by(ScoringModel.id.desc()).limit(limit)))
