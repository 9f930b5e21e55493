"""Plan versus actual: per rep and day (or week), the minutes blocked for prospecting against
the calls made inside and outside those blocks, the connects and the meetings booked."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm.auth.models import User
from crm.calls.blocks import blocks_of, day_bounds, occurrences
from crm.calls.models import CONNECTED_OUTCOMES
from crm.contacts.models import Activity
from crm.extensions import db


@dataclass
class PlanActual:
    user_id: int
    name: str
    start: date
    days: int
    blocked_minutes: int = 0
    calls_in_blocks: int = 0
    calls_outside_blocks: int = 0
    connects: int = 0
    meetings_booked: int = 0
    per_day: dict = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return self.calls_in_blocks + self.calls_outside_blocks


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def plan_vs_actual(user: User, start: date, days: int = 1) -> PlanActual:
    """Everything in the rep's own zone: ``start`` and the ``days`` after it."""
    zone = user.time_zone or "UTC"
    range_start, _ = day_bounds(start, zone)
    _, range_end = day_bounds(start + timedelta(days=days - 1), zone)
    blocks = occurrences(blocks_of(user.id), range_start, range_end)
    result = PlanActual(user.id, user.name, start, days)
    for occ in blocks:
        result.blocked_minutes += occ.minutes
    rows = db.session.execute(
        select(Activity.kind, Activity.occurred_at, Activity.details)
        .where(Activity.kind.in_(("call", "meeting_booked")), Activity.occurred_at >= range_start,
               Activity.occurred_at < range_end, Activity.user_id == user.id)
    ).all()
    for kind, occurred_at, details in rows:
        details = details or {}
        if kind == "meeting_booked":
            result.meetings_booked += 1
            continue
        if any(o.start <= occurred_at < o.end for o in blocks):
            result.calls_in_blocks += 1
        else:
            result.calls_outside_blocks += 1
        if details.get("outcome") in CONNECTED_OUTCOMES:
            result.connects += 1
        if details.get("outcome") == "meeting_booked":
            result.meetings_booked += 1
    return result


def team_of(viewer: User) -> list[User]:
    """Whose plan the viewer may see: a rep themself, a manager their reps (and themself),
    an admin every active rep and manager."""
    if viewer.role == "admin":
        query = select(User).where(User.role.in_(("rep", "manager")), User.is_active.is_(True))
    elif viewer.role == "manager":
        query = select(User).where((User.manager_id == viewer.id) | (User.id == viewer.id), User.is_active.is_(True))
    else:
        return [viewer]
    return list(db.session.scalars(query.order_by(User.name)))


def team_plan(viewer: User, start: date, days: int) -> list[PlanActual]:
    """The plan of each team member; a manager shows only when they blocked time or called
    (a row of zeros for the manager looking at their own team says nothing)."""
    rows = []
    for user in team_of(viewer):
        row = plan_vs_actual(user, start, days)
        if user.role == "rep" or row.blocked_minutes or row.calls or row.meetings_booked:
            rows.append(row)
    return rows


def now_local_day(user: User, now: datetime) -> date:
    return now.astimezone(ZoneInfo(user.time_zone or "UTC")).date()
