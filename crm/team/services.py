"""The manager's team views (issue 20): what each rep did per week, the open pipeline by rep
and stage, and how sequences and templates perform across the team. Reads only.

Whose team: a manager sees the reps whose ``manager_id`` is theirs (never themselves); an
admin sees every rep. Weeks are Monday-to-Sunday in the viewer's time zone, newest last."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select

from crm.auth.models import User
from crm.contacts.models import Activity, Contact
from crm.deals.models import Deal, Stage
from crm.errors import PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.mail.models import OutboundEmail
from crm.meetings.models import Meeting
from crm.sequences.models import EmailTemplate, Enrollment, Sequence, SequenceStep
from crm.timeutil import is_valid_timezone

MAX_WEEKS = 26
DEFAULT_WEEKS = 8
# The outcomes of a call where someone picked up (crm.calls.models.CONNECTED_OUTCOMES).
CONNECTED = ("connected", "not_interested", "meeting_booked", "callback")
# Activity kinds the weekly report counts, and the column each one feeds.
ACTIVITY_COLUMNS = ("emails_sent", "replies", "calls", "connects", "meetings", "deals_moved", "won")
KIND_COLUMN = {"email_sent": "emails_sent", "email_replied": "replies", "call": "calls",
               "meeting_booked": "meetings", "deal_stage_changed": "deals_moved", "deal_won": "won"}


def require_team_viewer(viewer: User) -> None:
    if viewer.role not in ("manager", "admin"):
        raise PermissionDenied(_("team views are for managers and admins"))


def team_members(viewer: User) -> list[User]:
    """The reps the viewer manages (admins: every rep), active first, by name."""
    require_team_viewer(viewer)
    query = select(User).where(User.role == "rep")
    if viewer.role == "manager":
        query = query.where(User.manager_id == viewer.id)
    return list(db.session.scalars(query.order_by(User.is_active.desc(), User.name, User.id)))


def parse_weeks(raw) -> int:
    """``?weeks=``: 1 to 26 (default 8); anything else is refused with the field named."""
    if raw in (None, ""):
        return DEFAULT_WEEKS
    try:
        weeks = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed(_("invalid period"),
                               {"weeks": _("a whole number from 1 to %(max)s", max=MAX_WEEKS)}) from None
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValidationFailed(_("invalid period"), {"weeks": _("a whole number from 1 to %(max)s", max=MAX_WEEKS)})
    return weeks


def _zone(viewer: User) -> ZoneInfo:
    return ZoneInfo(viewer.time_zone if is_valid_timezone(viewer.time_zone or "") else "UTC")


def week_starts(viewer: User, now: datetime, weeks: int) -> list[date]:
    """The Mondays of the last ``weeks`` weeks in the viewer's zone, oldest first (this week last)."""
    today = now.astimezone(_zone(viewer)).date()
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def _utc(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(ZoneInfo("UTC"))


@dataclass
class ActivityReport:
    weeks: list[date]
    reps: list[User]
    counts: dict[tuple[int, date], Counter] = field(default_factory=dict)

    def cell(self, rep_id: int, week: date, column: str) -> int:
        return self.counts.get((rep_id, week), Counter())[column]

    def rep_total(self, rep_id: int, column: str) -> int:
        return sum(self.cell(rep_id, week, column) for week in self.weeks)

    def week_total(self, week: date, column: str) -> int:
        return sum(self.cell(rep.id, week, column) for rep in self.reps)


def activity_report(viewer: User, now: datetime, weeks: int = DEFAULT_WEEKS) -> ActivityReport:
    """Emails sent, replies, calls, connects, meetings booked, deals moved and won, per rep and
    week. An event counts for the rep who did it, or (a reply, a booking by the prospect) for
    the contact's owner."""
    reps = team_members(viewer)
    starts = week_starts(viewer, now, weeks)
    report = ActivityReport(starts, reps)
    if not reps:
        return report
    zone = _zone(viewer)
    start, end = _utc(starts[0], zone), _utc(starts[-1] + timedelta(days=7), zone)
    rep_ids = {rep.id for rep in reps}
    who = func.coalesce(Activity.user_id, Contact.owner_id)
    rows = db.session.execute(
        select(Activity.kind, Activity.occurred_at, who, Activity.details)
        .outerjoin(Contact, Contact.id == Activity.contact_id)
        .where(Activity.kind.in_(KIND_COLUMN), Activity.occurred_at >= start, Activity.occurred_at < end,
               who.in_(rep_ids)))
    for kind, occurred_at, rep_id, details in rows:
        local = occurred_at.astimezone(zone).date()
        week = local - timedelta(days=local.weekday())
        counter = report.counts.setdefault((rep_id, week), Counter())
        counter[KIND_COLUMN[kind]] += 1
        if kind == "call" and (details or {}).get("outcome") in CONNECTED:
            counter["connects"] += 1
    return report


@dataclass
class PipelineReport:
    stages: list[Stage]
    reps: list[User]
    counts: dict[tuple[int, int], int] = field(default_factory=dict)
    # (rep id, stage id) -> {currency: amount}: amounts of different currencies are never added
    amounts: dict[tuple[int, int], dict[str, Decimal]] = field(default_factory=lambda: defaultdict(dict))

    def rep_count(self, rep_id: int) -> int:
        return sum(self.counts.get((rep_id, s.id), 0) for s in self.stages)

    def rep_amounts(self, rep_id: int) -> dict[str, Decimal]:
        total: dict[str, Decimal] = defaultdict(Decimal)
        for stage in self.stages:
            for currency, amount in self.amounts.get((rep_id, stage.id), {}).items():
                total[currency] += amount
        return dict(sorted(total.items()))


def pipeline_report(viewer: User) -> PipelineReport:
    """Open deals per rep and stage: how many, and their amount per currency."""
    reps = team_members(viewer)
    stages = list(db.session.scalars(select(Stage).order_by(Stage.position, Stage.id)))
    report = PipelineReport(stages, reps)
    if not reps:
        return report
    rows = db.session.execute(
        select(Deal.owner_id, Deal.stage_id, Deal.currency, func.count(), func.sum(Deal.amount))
        .where(Deal.status == "open", Deal.owner_id.in_([r.id for r in reps]))
        .group_by(Deal.owner_id, Deal.stage_id, Deal.currency))
    for owner_id, stage_id, currency, count, amount in rows:
        if owner_id is None:  # filtered out above; says so to the type checker
            continue
        key = (owner_id, stage_id)
        report.counts[key] = report.counts.get(key, 0) + count
        report.amounts[key][currency] = Decimal(amount or 0)
    return report


@dataclass
class Performance:
    """One sequence's or template's results over the period, across the team."""
    id: int
    name: str
    owner: str
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    replied: int = 0
    meetings: int = 0

    def rate(self, part: int) -> float | None:
        return part / self.sent if self.sent else None


PERFORMANCE_COLUMNS = ("sent", "opened", "clicked", "replied", "meetings")


def _email_stats(group_key, join_target, reps: list[User], start: datetime, end: datetime):
    email = OutboundEmail
    return db.session.execute(
        select(group_key, func.count(), func.count(email.first_human_open_at), func.count(email.first_human_click_at),
               func.count(email.replied_at))
        .select_from(email).join(*join_target)
        .where(email.status == "sent", email.sent_at >= start, email.sent_at < end,
               email.user_id.in_([r.id for r in reps]))
        .group_by(group_key))


def _meetings(group_key, join_target, reps: list[User], start: datetime, end: datetime):
    return dict(db.session.execute(
        select(group_key, func.count(Meeting.id)).select_from(Meeting).join(*join_target)
        .where(Meeting.created_at >= start, Meeting.created_at < end, Meeting.status == "confirmed",
               Meeting.host_id.in_([r.id for r in reps]))
        .group_by(group_key)).all())


def sequence_performance(viewer: User, now: datetime, weeks: int = DEFAULT_WEEKS) -> list[Performance]:
    """Per sequence: emails sent by the team in the period, opened by people (not scanners or
    proxies), clicked by people, replied, and meetings booked from the sequence's link."""
    reps = team_members(viewer)
    if not reps:
        return []
    zone = _zone(viewer)
    starts = week_starts(viewer, now, weeks)
    start, end = _utc(starts[0], zone), _utc(starts[-1] + timedelta(days=7), zone)
    by_id: dict[int, Performance] = {}
    names = {s.id: s for s in db.session.scalars(select(Sequence))}
    for sequence_id, sent, opened, clicked, replied in _email_stats(
            Enrollment.sequence_id, (Enrollment, Enrollment.id == OutboundEmail.enrollment_id), reps, start, end):
        sequence = names.get(sequence_id)
        by_id[sequence_id] = Performance(sequence_id, sequence.name if sequence else "?",
                                         sequence.owner.name if sequence and sequence.owner else "",
                                         sent, opened, clicked, replied)
    meetings = _meetings(Enrollment.sequence_id, (Enrollment, Enrollment.id == Meeting.source_enrollment_id),
                         reps, start, end)
    for sequence_id, count in meetings.items():
        if sequence_id not in by_id and sequence_id in names:
            s = names[sequence_id]
            by_id[sequence_id] = Performance(sequence_id, s.name, s.owner.name if s.owner else "")
        if sequence_id in by_id:
            by_id[sequence_id].meetings = count
    return sorted(by_id.values(), key=lambda p: (-p.sent, p.name))


def template_performance(viewer: User, now: datetime, weeks: int = DEFAULT_WEEKS) -> list[Performance]:
    """The same figures per email template (one-off and sequence emails alike)."""
    reps = team_members(viewer)
    if not reps:
        return []
    zone = _zone(viewer)
    starts = week_starts(viewer, now, weeks)
    start, end = _utc(starts[0], zone), _utc(starts[-1] + timedelta(days=7), zone)
    templates = {t.id: t for t in db.session.scalars(select(EmailTemplate))}
    by_id: dict[int, Performance] = {}
    for template_id, sent, opened, clicked, replied in _email_stats(
            OutboundEmail.template_id, (EmailTemplate, EmailTemplate.id == OutboundEmail.template_id),
            reps, start, end):
        template = templates[template_id]
        by_id[template_id] = Performance(template_id, template.name, template.owner.name if template.owner else "",
                                         sent, opened, clicked, replied)
    meetings = _meetings(SequenceStep.template_id,
                         (SequenceStep, and_(SequenceStep.id == Meeting.source_step_id,
                                             SequenceStep.template_id.is_not(None))), reps, start, end)
    for template_id, count in meetings.items():
        if template_id in by_id:
            by_id[template_id].meetings = count
    return sorted(by_id.values(), key=lambda p: (-p.sent, p.name))
