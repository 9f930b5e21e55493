"""Scores in words ("read the pricing page 3 times this week", "VP at a 500-person company")
and the 30-day trend, computed from the stored events in a bounded number of queries."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from crm.contacts.models import Company, Contact
from crm.extensions import db
from crm.i18n import N_, _
from crm.scoring.models import ContactScore, ScoreEvent
from crm.scoring.rules import EventRule, FitResult, Ruleset, fit_of
from crm.scoring.scores import blended_score, decay, engagement_at

MAX_FACTORS = 4


@dataclass
class _Tally:
    rule: EventRule
    week: int = 0
    month: int = 0

    @property
    def weight(self) -> float:
        return self.rule.points * (self.week * 2 + self.month)


def _times(n: int) -> str:
    if n == 1:
        return _("once")
    if n == 2:
        return _("twice")
    return _("%(n)s times", n=n)


def event_phrase(rule: EventRule, count: int, period: str) -> str:
    """One engagement factor in words, in the reader's language (``period`` is the English
    "this week" or "this month", marked with ``N_``)."""
    period = _(period)
    label = _(rule.label) if rule.label else rule.kind.replace("_", " ")
    times = _times(count)
    if rule.kind == "page_viewed" and rule.url_contains:
        return _("read %(label)s %(times)s %(period)s", label=label, times=times, period=period)
    if rule.kind == "page_viewed":
        return (_("viewed 1 page on the website %(period)s", period=period) if count == 1
                else _("viewed %(num)s pages on the website %(period)s", num=count, period=period))
    if rule.kind == "email_opened":
        return (_("opened 1 email %(period)s", period=period) if count == 1
                else _("opened %(num)s emails %(period)s", num=count, period=period))
    if rule.kind == "email_clicked":
        return (_("clicked 1 link in emails %(period)s", period=period) if count == 1
                else _("clicked %(num)s links in emails %(period)s", num=count, period=period))
    if rule.kind == "form_submitted":
        if count == 1:
            return _("submitted a form %(period)s", period=period)
        return _("submitted %(num)s forms %(period)s", num=count, period=period)
    if rule.kind == "email_replied":
        return _("replied %(times)s %(period)s", times=times, period=period)
    if rule.kind == "meeting_booked":
        if count == 1:
            return _("booked a meeting %(period)s", period=period)
        return _("booked %(num)s meetings %(period)s", num=count, period=period)
    if rule.kind == "document_viewed":
        return _("read shared documents %(times)s %(period)s", times=times, period=period)
    if rule.kind == "video_watched":
        return _("watched shared videos %(times)s %(period)s", times=times, period=period)
    return _("%(label)s %(times)s %(period)s", label=label, times=times, period=period)


def fit_phrases(fit) -> list[str]:
    parts = []
    size = _("a %(size)s-person company", size=f"{fit.size:,}") if fit.size else None
    title = _(fit.title_label) if fit.title_label else None
    if title and size:
        parts.append(_("%(title)s at %(company)s", title=title, company=size))
    elif title:
        parts.append(title)
    elif size and fit.points > 0:
        parts.append(_("works at %(company)s", company=size))
    if fit.industry:
        parts.append(_("in %(industry)s", industry=fit.industry))
    return parts


def engagement_factors(contact_ids: list[int], now: datetime, ruleset: Ruleset) -> dict[int, list[str]]:
    """Counts per contact and rule over the last 7 and 30 days, from one grouped query."""
    week_start, month_start = now - timedelta(days=7), now - timedelta(days=30)
    in_week = case((ScoreEvent.occurred_at >= week_start, 1), else_=0)
    rows = db.session.execute(
        select(ScoreEvent.contact_id, ScoreEvent.kind, ScoreEvent.url, func.sum(in_week), func.count())
        .where(ScoreEvent.contact_id.in_(contact_ids), ScoreEvent.occurred_at >= month_start,
               ScoreEvent.occurred_at <= now)
        .group_by(ScoreEvent.contact_id, ScoreEvent.kind, ScoreEvent.url)
    ).all()
    tallies: dict[int, dict[EventRule, _Tally]] = defaultdict(dict)
    for contact_id, kind, url, week, month in rows:
        rule = ruleset.rule_for(kind, url)
        if rule is None or rule.points <= 0:
            continue
        tally = tallies[contact_id].setdefault(rule, _Tally(rule))
        tally.week += int(week or 0)
        tally.month += int(month or 0)
    factors: dict[int, list[str]] = {}
    for contact_id, by_rule in tallies.items():
        ordered = sorted(by_rule.values(), key=lambda t: t.weight, reverse=True)
        factors[contact_id] = [
            event_phrase(t.rule, t.week, N_("this week")) if t.week
            else event_phrase(t.rule, t.month, N_("this month"))
            for t in ordered
        ]
    return factors


def fit_by_contact(contact_ids: list[int], ruleset: Ruleset) -> dict[int, FitResult]:
    rows = db.session.execute(
        select(Contact.id, Contact.title, Company.employee_count, Company.industry)
        .outerjoin(Company, Company.id == Contact.company_id).where(Contact.id.in_(contact_ids))
    ).all()
    return {cid: fit_of(ruleset.fit_rules, title, size, industry) for cid, title, size, industry in rows}


def trend(contact_id: int, now: datetime, ruleset: Ruleset, days: int = 30) -> list[float]:
    """The score at the end of each of the last ``days`` days (oldest first), exact: the
    stored value minus the window's events gives the value at the window's start."""
    row = db.session.get(ContactScore, contact_id)
    if row is None or row.engagement_as_of is None:
        return [0.0] * days
    h = ruleset.half_life_hours
    start = now - timedelta(days=days)
    events = db.session.execute(
        select(ScoreEvent.kind, ScoreEvent.url, ScoreEvent.occurred_at)
        .where(ScoreEvent.contact_id == contact_id, ScoreEvent.occurred_at > start)
        .order_by(ScoreEvent.occurred_at)
    ).all()
    points = [(ruleset.points_for(kind, url), at) for kind, url, at in events]
    # Value at ``start``: take the window's events (up to the as-of time) out of the stored sum.
    inside = sum(decay(p, at, row.engagement_as_of, h) for p, at in points if at <= row.engagement_as_of)
    base = max(0.0, row.engagement - inside)
    base_at_start = decay(base, row.engagement_as_of, start, h)
    series, value, value_at, index = [], base_at_start, start, 0
    for day in range(1, days + 1):
        day_end = start + timedelta(days=day)
        while index < len(points) and points[index][1] <= day_end:
            p, at = points[index]
            value = decay(value, value_at, at, h) + p
            value_at = at
            index += 1
        current = engagement_at(value, value_at, day_end, h)
        series.append(blended_score(current, row.fit, row.predictive, ruleset.saturation))
    return series
