"""The scoring configuration: settings, engagement rules and fit rules, their defaults, and the
pure functions that turn an event or a contact into points.

Defaults (issue 3): pricing page 10, page view 1, human open 2, click 5, form 20, reply 30,
half-life 14 days. The admin edits them on /scoring/admin; a change marks every score for an
exact recomputation from the stored events (``crm.scoring.scores.recompute_all``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from crm.extensions import db
from crm.i18n import N_
from crm.scoring.models import FitRule, ScoringRule, ScoringSettings
from crm.textfold import fold
from crm.timeutil import utcnow

EVENT_KINDS = ("page_viewed", "email_opened", "email_clicked", "form_submitted", "email_replied",
               "meeting_booked", "document_viewed", "video_watched")

DEFAULT_RULES = (
    # kind, url_contains, points, label (a noun phrase used in explanations)
    ("page_viewed", "/pricing", 10.0, N_("the pricing page")),
    ("page_viewed", None, 1.0, N_("pages")),
    ("email_opened", None, 2.0, N_("emails")),
    ("email_clicked", None, 5.0, N_("links in emails")),
    ("form_submitted", None, 20.0, N_("a form")),
    ("email_replied", None, 30.0, N_("an email")),
    ("meeting_booked", None, 25.0, N_("a meeting")),
    # A person reading a shared document or watching a shared video (crm/documents): a
    # scanner's session never reaches the score.
    ("document_viewed", None, 8.0, N_("shared documents")),
    ("video_watched", None, 8.0, N_("shared videos")),
)

DEFAULT_FIT_RULES = (
    # attribute, match, min, max, points, label. Titles in English and Spanish (matched without
    # accents or case: "Dirección General" finds "direccion general").
    ("title", "ceo|cfo|coo|cto|chief|founder|owner|president|managing director|director general|"
              "directora general|gerente general|dueño|dueña|propietario|presidente|presidenta|fundador",
     None, None, 40.0, N_("C-level")),
    ("title", "vp|vice president|svp|evp|vicepresidente|vicepresidenta", None, None, 35.0, N_("VP")),
    ("title", "director|head|directora|jefe|jefa", None, None, 25.0, N_("director")),
    ("title", "manager|lead|gerente|coordinador|coordinadora|supervisor|supervisora|encargado|encargada",
     None, None, 12.0, N_("manager")),
    ("company_size", None, 1, 49, 5.0, ""),
    ("company_size", None, 50, 199, 15.0, ""),
    ("company_size", None, 200, 4999, 30.0, ""),
    ("company_size", None, 5000, None, 25.0, ""),
)


def _insert(model):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def get_settings() -> ScoringSettings:
    """The settings row, created with the default rules on first use (concurrent first uses
    insert it once: ON CONFLICT DO NOTHING)."""
    found = db.session.get(ScoringSettings, 1)
    if found is not None:
        return found
    result = db.session.execute(
        _insert(ScoringSettings).values(id=1, half_life_days=14.0, saturation_points=30.0,
                                        needs_recompute=False, updated_at=utcnow())
        .on_conflict_do_nothing()
    )
    if result.rowcount:
        install_default_rules()
    db.session.flush()
    return db.session.get(ScoringSettings, 1)


def install_default_rules() -> None:
    for position, (kind, url, points, label) in enumerate(DEFAULT_RULES):
        db.session.add(ScoringRule(kind=kind, url_contains=url, points=points, label=label,
                                   position=position))
    for attribute, match, low, high, points, label in DEFAULT_FIT_RULES:
        db.session.add(FitRule(attribute=attribute, match=match, min_value=low, max_value=high,
                               points=points, label=label))
    db.session.flush()


@dataclass(frozen=True)
class EventRule:
    kind: str
    url_contains: str | None
    points: float
    label: str


@dataclass(frozen=True)
class FitSpec:
    """A fit rule as plain data (cached across requests; title keywords precompiled)."""

    attribute: str
    match: str | None
    min_value: int | None
    max_value: int | None
    points: float
    label: str
    pattern: re.Pattern | None = None

    @classmethod
    def of(cls, rule: FitRule) -> "FitSpec":
        pattern = None
        if rule.attribute == "title":
            # Terms and titles are compared folded (crm.textfold): "gerente" finds "Gerente de
            # Mantenimiento", "direccion de compras" finds "Dirección de Compras", and a rule can
            # hold Spanish and English terms side by side ("gerente|plant manager").
            words = [fold(w) for w in (rule.match or "").split("|") if fold(w)]
            if words:
                pattern = re.compile(r"(?<![^\W_])(?:" + "|".join(re.escape(w) for w in words) + r")(?![^\W_])")
        return cls(rule.attribute, rule.match, rule.min_value, rule.max_value, rule.points, rule.label, pattern)


@dataclass(frozen=True)
class Ruleset:
    half_life_hours: float
    saturation: float
    rules: tuple[EventRule, ...]
    fit_rules: tuple[FitSpec, ...]

    def rule_for(self, kind: str, url: str | None) -> EventRule | None:
        """URL-specific rules first (in position order), then the kind's plain rule."""
        lowered = (url or "").lower()
        plain = None
        for rule in self.rules:
            if rule.kind != kind:
                continue
            if rule.url_contains:
                if rule.url_contains.lower() in lowered:
                    return rule
            elif plain is None:
                plain = rule
        return plain

    def points_for(self, kind: str, url: str | None) -> float:
        rule = self.rule_for(kind, url)
        return rule.points if rule else 0.0


_CACHE: dict[tuple, Ruleset] = {}


def load_ruleset() -> Ruleset:
    """The rules as plain data. Every change through the services renews the settings'
    ``rules_revision``, so (rules_revision, half-life, saturation) keys a per-process cache that
    another process's change invalidates too: one primary-key read per event instead of
    reloading every rule."""
    settings = get_settings()
    key = (settings.rules_revision, settings.half_life_days, settings.saturation_points)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    rules = db.session.scalars(select(ScoringRule).order_by(ScoringRule.position, ScoringRule.id)).all()
    fit_rules = db.session.scalars(select(FitRule).order_by(FitRule.id)).all()
    ruleset = Ruleset(
        half_life_hours=settings.half_life_days * 24.0,
        saturation=settings.saturation_points,
        rules=tuple(EventRule(r.kind, r.url_contains, r.points, r.label) for r in rules),
        fit_rules=tuple(FitSpec.of(r) for r in fit_rules),
    )
    _CACHE.clear()
    _CACHE[key] = ruleset
    return ruleset


# --- fit ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FitResult:
    points: float  # 0..100
    title_label: str | None
    size: int | None
    industry: str | None  # set when an industry rule matched


def _title_matches(rule: FitSpec, title: str) -> bool:
    return rule.pattern is not None and rule.pattern.search(title) is not None


def fit_of(fit_rules, title: str | None, employees: int | None, industry: str | None) -> FitResult:
    """Per attribute the best matching rule counts; the sum is clipped to 0..100."""
    best: dict[str, FitSpec] = {}
    lowered = fold(title)
    for rule in fit_rules:
        if rule.attribute == "title":
            hit = bool(lowered) and _title_matches(rule, lowered)
        elif rule.attribute == "company_size":
            hit = employees is not None and (rule.min_value is None or employees >= rule.min_value) and (
                rule.max_value is None or employees <= rule.max_value)
        else:
            hit = bool(industry) and fold(rule.match) == fold(industry)
        if hit and (rule.attribute not in best or rule.points > best[rule.attribute].points):
            best[rule.attribute] = rule
    total = max(0.0, min(100.0, sum(r.points for r in best.values())))
    title_rule = best.get("title")
    industry_rule = best.get("industry")
    return FitResult(total, (title_rule.label or title) if title_rule else None, employees,
                     industry if industry_rule else None)
