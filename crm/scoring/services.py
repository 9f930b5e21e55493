"""What the scoring pages, API and CLI do: the "in the market" list, the contact's score
detail, and the admin's rules and settings. Services flush; callers commit."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm.contacts.models import Contact
from crm.deals.models import Deal
from crm.errors import NotFound, ValidationFailed
from crm.extensions import db
from crm.scoring.engine import ZERO_KEY, recompute_all
from crm.scoring.explain import trend
from crm.scoring.models import ContactScore, FitRule, ScoringModel, ScoringRule, new_rules_revision
from crm.scoring.public import ScoreSummary, score_summaries
from crm.scoring.rules import EVENT_KINDS, get_settings, load_ruleset
from crm.validation import as_id, has_control_chars
from crm.web.pagination import Page, clamp_page

NEWLY_CONVERTED_DAYS = 30
MAX_POINTS = 1000.0


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
    return Page(_scored(ids, now), page, per_page, total)


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
    if summary is None:
        raise NotFound("no such contact")
    return ScoreDetail(cid, summary, trend(cid, now, load_ruleset()))


# --- admin: settings and rules ---------------------------------------------------------------

def _number(value, field: str, low: float, high: float, errors: dict) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        errors[field] = "a number"
        return None
    if not math.isfinite(number) or not low <= number <= high:
        errors[field] = f"between {low:g} and {high:g}"
        return None
    return number


def _text(value, field: str, limit: int, errors: dict, *, required: bool = False) -> str | None:
    text = (value or "").strip()
    if has_control_chars(text):
        errors[field] = "no control characters"
    elif len(text) > limit:
        errors[field] = f"at most {limit} characters"
    elif required and not text:
        errors[field] = "required"
    return text or None


def save_settings(data: dict, now: datetime):
    errors: dict[str, str] = {}
    half_life = _number(data.get("half_life_days"), "half_life_days", 0.5, 3650, errors)
    saturation = _number(data.get("saturation_points"), "saturation_points", 1, 10000, errors)
    if errors:
        raise ValidationFailed("check the settings", errors)
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
        errors["kind"] = f"one of {', '.join(EVENT_KINDS)}"
    url = _text(data.get("url_contains"), "url_contains", 300, errors)
    label = _text(data.get("label"), "label", 100, errors) or ""
    points = _number(data.get("points"), "points", -MAX_POINTS, MAX_POINTS, errors)
    if errors:
        raise ValidationFailed("check the rule", errors)
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
        errors["attribute"] = "title, company_size or industry"
    match = _text(data.get("match"), "match", 300, errors, required=attribute in ("title", "industry"))
    label = _text(data.get("label"), "label", 100, errors) or ""
    points = _number(data.get("points"), "points", -100, 100, errors)
    low = high = None
    if attribute == "company_size":
        low = _bound(data.get("min_value"), "min_value", errors)
        high = _bound(data.get("max_value"), "max_value", errors)
        if low is None and high is None and not errors:
            errors["min_value"] = "give a minimum, a maximum or both"
        elif low is not None and high is not None and low > high:
            errors["max_value"] = "at least the minimum"
    if errors:
        raise ValidationFailed("check the fit rule", errors)
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
        errors[field] = "a whole number of employees"
        return None
    return int(text)


def delete_fit_rule(rule_id, now: datetime) -> None:
    db.session.delete(_get(FitRule, rule_id))
    _mark_changed(now)


def _get(model, record_id):
    record = db.session.get(model, as_id(record_id)) if as_id(record_id) else None
    if record is None:
        raise NotFound("no such rule")
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
