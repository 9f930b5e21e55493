"""The public face of the targets feature: the published plan (``crm.public.plan_feedback``)
split into targets per rep and team, compared with what was won and what is in the pipeline;
the manager's allocations; and the capacity the plan leaves, as call-queue boosts.

How a plan cell (family, month: units and revenue) is split (``crm.targets.split``):

1. Each active seller (active reps, and managers or admins who carry deals) gets a share:
   ``TARGETS_PIPELINE_SHARE`` (default 0.5) of their part of the family's weighted pipeline
   closing that month (open lines' units x stage probability) plus the rest of their part of
   the family's units won in the last ``TARGETS_WIN_WINDOW_DAYS`` (default 90) days. When one
   of the two is empty company-wide the other alone decides.
2. A rep with neither pipeline nor recent wins in the family gets no target in it (the
   target follows who is selling it) unless their manager allocates one. When nobody has
   either, every active rep carries an equal part; with no active rep the cell stays
   unassigned (shown to managers as such), so the parts still add up to the plan.
3. Units are apportioned by largest remainder in whole units (thousandths for fractional
   plans), revenue to the cent following the units: the parts add up to the published
   figures exactly.
4. A team is a manager and the reps reporting to them. Where the manager allocated a cell, the
   team's total (the sum of its members' targets from step 3) is re-split: allocated reps get
   their allocation, the others share the rest by step 1; allocations that add up to more
   than the team total (the plan or the pipeline moved since) are scaled down to it.

Inactive users hold no targets and their deals count for nobody. Targets are computed when
read, from the plan in force and the pipeline as it stands: they move with the pipeline until
the manager fixes them with an allocation.

Won revenue is in the base currency (``crm.money``), each won deal converted at the rate valid on
its close date. A won deal whose currency has no rate that day is left out of the won revenue
(its units still count), never added as if it were the base currency; the rows' readers get
what was left out (``missing_rates``: currencies, deal counts, amounts) so pages and the API
say so, as the deals board and the planning pages do.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from crm.auth.models import User
from crm.deals.models import Deal, DealLine, ProductFamily, Stage
from crm.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.i18n import _, force_language
from crm.money.services import RateBook, base_currency
from crm.public import PlanCell, plan_feedback
from crm.targets.inputs import MAX_MONTHS, AllocationInput
from crm.targets.models import TargetAllocation
from crm.targets.split import CellSplit, blend, split_cell
from crm.timeutil import is_valid_timezone
from crm.web.formatting import format_day

SELLER_ROLES = ("rep", "manager", "admin")
READS_ANYONE = ("admin", "planner", "finance")  # the plan in money is finance's too
MONTHS_SHOWN = 3  # My day and the team page: this month and the next two
ZERO = Decimal(0)


# --- months -------------------------------------------------------------------------------

def month_of(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_between(start: date, end: date) -> list[date]:
    found, month = [], month_of(start)
    while month <= end:
        found.append(month)
        month = add_months(month, 1)
    return found


def local_today(user: User, now: datetime) -> date:
    zone = user.time_zone if is_valid_timezone(user.time_zone) else "UTC"
    return now.astimezone(ZoneInfo(zone)).date()


def coming_months(user: User, now: datetime, count: int = MONTHS_SHOWN) -> list[date]:
    """This month (in the user's zone) and the ``count - 1`` after it."""
    first = month_of(local_today(user, now))
    return [add_months(first, i) for i in range(count)]


def month_span(months: list[date]) -> str:
    """``Feb–Mar``, ``Feb, Apr–May`` (``feb–mar`` in Spanish): the months' short names in the
    reader's language (``crm.web.formatting.format_day``), consecutive runs joined by an en dash."""
    runs: list[list[date]] = []
    for month in sorted(months):
        if runs and add_months(runs[-1][-1], 1) == month:
            runs[-1].append(month)
        else:
            runs.append([month])
    def name(month: date) -> str:
        return format_day(month, "month_abbr")
    return ", ".join(name(r[0]) if len(r) == 1 else f"{name(r[0])}–{name(r[-1])}" for r in runs)


# --- settings -------------------------------------------------------------------------------

def pipeline_share() -> Fraction:
    share = Fraction(str(current_app.config.get("TARGETS_PIPELINE_SHARE", "0.5")))
    return min(max(share, Fraction(0)), Fraction(1))


def win_window_days() -> int:
    return int(current_app.config.get("TARGETS_WIN_WINDOW_DAYS", 90))


# --- what the split reads --------------------------------------------------------------------

@dataclass(frozen=True)
class People:
    sellers: dict[int, User]          # active users who may hold a target
    reps: list[int]                   # active reps: the equal split when nobody sells a family
    team_of: dict[int, int | None]    # seller -> their team (manager id), None for no team


def people() -> People:
    users = list(db.session.scalars(select(User).where(User.is_active.is_(True), User.role.in_(SELLER_ROLES))))
    by_id = {u.id: u for u in users}
    managers = {u.id for u in users if u.role == "manager"}
    team_of = {u.id: (u.id if u.role == "manager" else u.manager_id if u.manager_id in managers else None)
               for u in users}
    return People(by_id, sorted(u.id for u in users if u.role == "rep"), team_of)


def _pipeline(start: date, end: date) -> dict[tuple[str, date], dict[int, Fraction]]:
    """Open lines' units x stage probability per (family, month) and owner, closing in
    [start, end of end's month]."""
    rows: Sequence[Any] = db.session.execute(
        select(Deal.owner_id, ProductFamily.code, Deal.expected_close, Stage.probability,
               func.sum(DealLine.quantity))
        .join(DealLine, DealLine.deal_id == Deal.id).join(ProductFamily, ProductFamily.id == DealLine.family_id)
        .join(Stage, Stage.id == Deal.stage_id)
        .where(Deal.status == "open", Deal.owner_id.is_not(None), Deal.expected_close >= start,
               Deal.expected_close < add_months(month_of(end), 1))
        .group_by(Deal.owner_id, ProductFamily.code, Deal.expected_close, Stage.probability)
    ).all()
    found: dict[tuple[str, date], dict[int, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    for owner, family, close, probability, units in rows:
        found[(family, month_of(close))][owner] += Fraction(str(units)) * Fraction(str(probability))
    return found


def _recent_wins(today: date) -> dict[str, dict[int, Fraction]]:
    rows: Sequence[Any] = db.session.execute(
        select(Deal.owner_id, ProductFamily.code, func.sum(DealLine.quantity))
        .join(DealLine, DealLine.deal_id == Deal.id).join(ProductFamily, ProductFamily.id == DealLine.family_id)
        .where(Deal.status == "won", Deal.owner_id.is_not(None),
               Deal.closed_on > today - timedelta(days=win_window_days()), Deal.closed_on <= today)
        .group_by(Deal.owner_id, ProductFamily.code)
    ).all()
    found: dict[str, dict[int, Fraction]] = defaultdict(dict)
    for owner, family, units in rows:
        found[family][owner] = Fraction(str(units))
    return found


@dataclass(frozen=True)
class LeftOut:
    """A won deal's revenue left out of the won figures: no rate into the base currency on its
    close date."""

    deal_id: int
    currency: str
    closed_on: date
    amount: Decimal  # in ``currency``


@dataclass(frozen=True)
class MissingRate:
    """What the won revenue leaves out, per currency: ``deals`` won deals worth ``amount``
    (in that currency) closed on days without an exchange rate into the base currency."""

    currency: str
    deals: int
    amount: Decimal
    first_day: date
    last_day: date


def _won(start: date, end: date) -> tuple[dict[tuple[str, date, int], tuple[Decimal, Decimal]],
                                          dict[int, list[LeftOut]]]:
    """Won units and revenue per (family, month, owner), and per owner the won deals whose
    revenue could not be converted (see the module docstring)."""
    rows: Sequence[Any] = db.session.execute(
        select(Deal.owner_id, ProductFamily.code, Deal.closed_on, func.sum(DealLine.quantity),
               func.sum(DealLine.amount), Deal.currency, Deal.id)
        .join(DealLine, DealLine.deal_id == Deal.id).join(ProductFamily, ProductFamily.id == DealLine.family_id)
        .where(Deal.status == "won", Deal.owner_id.is_not(None), Deal.closed_on >= start,
               Deal.closed_on < add_months(month_of(end), 1))
        .group_by(Deal.owner_id, ProductFamily.code, Deal.closed_on, Deal.currency, Deal.id)
    ).all()
    book = RateBook.load()
    found: dict[tuple[str, date, int], tuple[Decimal, Decimal]] = {}
    left_out: dict[int, dict[int, LeftOut]] = defaultdict(dict)
    for owner, family, closed, units, amount, deal_currency, deal_id in rows:
        key = (family, month_of(closed), owner)
        old = found.get(key, (ZERO, ZERO))
        converted = book.try_to_base(amount, deal_currency, closed)
        if converted is None:
            code = (deal_currency or book.base).upper()
            earlier = left_out[owner].get(deal_id)
            left_out[owner][deal_id] = LeftOut(deal_id, code, closed,
                                               (earlier.amount if earlier else ZERO) + Decimal(amount or 0))
        found[key] = (old[0] + Decimal(str(units)), old[1] + (converted or ZERO))
    return found, {owner: list(deals.values()) for owner, deals in left_out.items()}


def _allocations(start: date, end: date, who: People, skip_team: int | None = None) -> dict:
    """{(family, month): {team: {rep: units}}}, only for reps still active in that team."""
    rows = db.session.execute(
        select(TargetAllocation.manager_id, TargetAllocation.user_id, ProductFamily.code,
               TargetAllocation.period, TargetAllocation.units)
        .join(ProductFamily, ProductFamily.id == TargetAllocation.family_id)
        .where(TargetAllocation.period >= start, TargetAllocation.period <= end)
    ).all()
    found: dict = defaultdict(lambda: defaultdict(dict))
    for manager_id, user_id, family, period, units in rows:
        if manager_id != skip_team and who.team_of.get(user_id, -1) == manager_id:
            found[(family, period)][manager_id][user_id] = Decimal(units)
    return found


@dataclass(frozen=True)
class SplitPlan:
    """The plan in force for some months, each cell split over reps."""

    cells: dict[tuple[str, date], PlanCell]
    splits: dict[tuple[str, date], CellSplit]
    weighted: dict[tuple[str, date], dict[int, Fraction]]
    won: dict[tuple[str, date, int], tuple[Decimal, Decimal]]
    who: People
    left_out: dict[int, list[LeftOut]]  # per owner: won deals without a rate (not in ``won``'s revenue)


def split_plan(start: date, end: date, now: datetime, *, skip_team: int | None = None) -> SplitPlan:
    """The published plan's cells from ``start``'s month to ``end``'s, split (module docstring).
    ``skip_team``: ignore that team's allocation (what the team's total is before it)."""
    start, end = month_of(start), month_of(end)
    cells = {(c.family, month_of(c.period)): c for c in plan_feedback().plan(start, end)}
    who = people()
    weighted = _pipeline(start, end)
    wins = _recent_wins(now.date())
    allocations = _allocations(start, end, who, skip_team)
    share = pipeline_share()
    splits = {}
    for key, cell in cells.items():
        family, month = key
        pipeline = {u: w for u, w in weighted.get(key, {}).items() if u in who.sellers}
        recent = {u: w for u, w in wins.get(family, {}).items() if u in who.sellers}
        splits[key] = split_cell(Decimal(cell.demand_units), _money(cell.revenue), blend(pipeline, recent, share),
                                 who.reps, who.team_of, allocations.get(key, {}))
    won, left_out = _won(start, end)
    return SplitPlan(cells, splits, weighted, won, who, left_out)


def _money(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


# --- rows -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TargetRow:
    family: str
    period: date
    target_units: Decimal
    target_revenue: Decimal | None
    won_units: Decimal
    won_revenue: Decimal
    weighted_units: Decimal
    allocated: bool  # the team's manager allocated this cell

    @property
    def gap_units(self) -> Decimal:
        """Still to win (negative: ahead of target)."""
        return self.target_units - self.won_units

    @property
    def gap_revenue(self) -> Decimal | None:
        return None if self.target_revenue is None else self.target_revenue - self.won_revenue

    @property
    def covered(self) -> bool:
        """Won plus weighted pipeline reaches the target."""
        return self.won_units + self.weighted_units >= self.target_units


def rows_for(plan: SplitPlan, members: set[int | None]) -> list[TargetRow]:
    """One row per plan cell, summed over ``members`` (one rep, or a team)."""
    rows = []
    for key in sorted(plan.cells):
        family, month = key
        split = plan.splits[key]
        revenue = [split.revenue.get(m) for m in members if m in split.revenue]
        target_revenue = None if plan.cells[key].revenue is None else sum((r or ZERO for r in revenue), ZERO)
        won = [plan.won.get((family, month, m), (ZERO, ZERO)) for m in members if m is not None]
        weighted = sum((plan.weighted.get(key, {}).get(m, Fraction(0)) for m in members if m is not None), Fraction(0))
        rows.append(TargetRow(
            family=family, period=month,
            target_units=sum((split.units.get(m, ZERO) for m in members), ZERO),
            target_revenue=target_revenue,
            won_units=sum((w[0] for w in won), ZERO), won_revenue=sum((w[1] for w in won), ZERO),
            weighted_units=_decimal(weighted),
            allocated=any(plan.who.team_of.get(m) in split.allocated_teams for m in members if m is not None),
        ))
    return rows


def missing_rates(plan: SplitPlan, members: set[int | None]) -> list[MissingRate]:
    """What the won revenue of ``members`` leaves out for want of an exchange rate, per
    currency (empty: nothing)."""
    by_currency: dict[str, list[LeftOut]] = defaultdict(list)
    for member in members:
        if member is None:
            continue
        for deal in plan.left_out.get(member, ()):
            by_currency[deal.currency].append(deal)
    return [MissingRate(currency, len(deals), sum((d.amount for d in deals), ZERO),
                        min(d.closed_on for d in deals), max(d.closed_on for d in deals))
            for currency, deals in sorted(by_currency.items())]


def _decimal(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"))


# --- who reads whose targets ---------------------------------------------------------------

def readable_user(viewer: User, user_id: int | None) -> User:
    """The user whose targets ``viewer`` asks for (``None``: their own): a rep their own, a
    manager their team's (and their own), admins, planners and finance anyone's."""
    if user_id is None or user_id == viewer.id:
        return viewer
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("no such user"), {"user_id": _("no such user")})
    if viewer.role in READS_ANYONE or (viewer.role == "manager" and user.manager_id == viewer.id):
        return user
    raise PermissionDenied(_("you may read your own targets (managers: their team's)"))


def readable_team(viewer: User, manager_id: int | None) -> User:
    """The manager whose team ``viewer`` asks for: a manager their own, admins, planners and finance any."""
    if manager_id is None or manager_id == viewer.id:
        if viewer.role != "manager" and manager_id is None:
            raise PermissionDenied(_("only managers have a team; admins and planners name one"))
        return viewer
    manager = db.session.get(User, manager_id)
    if manager is None or manager.role != "manager":
        raise NotFound(_("no such manager"), {"manager_id": _("no such manager")})
    if viewer.role not in READS_ANYONE:
        raise PermissionDenied(_("you may read your own team's targets"))
    return manager


def check_months(start: date, end: date) -> None:
    errors = {}
    if end < start:
        errors["to"] = _("must not be before 'from'")
    elif len(months_between(start, end)) > MAX_MONTHS:
        errors["to"] = _("at most %(n)s months from 'from'", n=MAX_MONTHS)
    if errors:
        raise ValidationFailed(_("invalid period"), errors)


@dataclass(frozen=True)
class UserTargets:
    user: User
    rows: list[TargetRow]
    missing_rates: list[MissingRate]  # won revenue left out: no exchange rate (see the module docstring)
    currency: str                     # the base currency revenue is in


def user_target_view(viewer: User, user_id: int | None, start: date, end: date, now: datetime) -> UserTargets:
    """``user_id``'s targets (``None``: the viewer's) per family and month, start to end, with
    the won revenue they leave out for want of an exchange rate."""
    user = readable_user(viewer, user_id)
    check_months(start, end)
    plan = split_plan(start, end, now)
    return UserTargets(user, rows_for(plan, {user.id}), missing_rates(plan, {user.id}), currency())


def user_targets(viewer: User, user_id: int | None, start: date, end: date, now: datetime) -> list[TargetRow]:
    """``user_id``'s targets (``None``: the viewer's) per family and month, start to end."""
    return user_target_view(viewer, user_id, start, end, now).rows


@dataclass(frozen=True)
class TeamTargets:
    manager: User
    months: list[date]
    team: list[TargetRow]                       # the team's total
    members: list[tuple[User, list[TargetRow]]]  # each seller of the team
    unassigned: list[TargetRow]                 # cells nobody could carry (no active rep at all)
    scaled: set[tuple[str, date]]               # allocations scaled down to a smaller team total
    missing_rates: list[MissingRate]            # the team's won revenue left out: no exchange rate
    currency: str                               # the base currency revenue is in


def team_targets(viewer: User, manager_id: int | None, months: list[date], now: datetime) -> TeamTargets:
    manager = readable_team(viewer, manager_id)
    plan = split_plan(months[0], months[-1], now)
    member_ids = sorted(u for u, team in plan.who.team_of.items() if team == manager.id)
    members = [(plan.who.sellers[u], rows_for(plan, {u})) for u in member_ids]
    members.sort(key=lambda pair: (pair[0].id != manager.id, pair[0].name))
    scaled = {key for key, s in plan.splits.items() if manager.id in s.scaled_teams}
    return TeamTargets(manager, months, rows_for(plan, set(member_ids)), members,
                       [r for r in rows_for(plan, {None}) if r.target_units or r.target_revenue], scaled,
                       missing_rates(plan, set(member_ids)), currency())


@dataclass(frozen=True)
class MyDayTargets:
    months: list[date]
    rows: list[TargetRow]             # empty: no published plan
    missing_rates: list[MissingRate]  # won revenue left out: no exchange rate
    currency: str


def my_day_targets(user: User, now: datetime) -> MyDayTargets:
    """My day's panel: the user's rows for this month and the next two (empty: no plan)."""
    months = coming_months(user, now)
    plan = split_plan(months[0], months[-1], now)
    return MyDayTargets(months, rows_for(plan, {user.id}), missing_rates(plan, {user.id}), currency())


def managers() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role == "manager", User.is_active.is_(True)).order_by(User.name)))


# --- the manager's allocation ----------------------------------------------------------------

@dataclass(frozen=True)
class AllocationSheet:
    """What the allocation form shows for one team, family and month."""

    manager: User
    family: str
    period: date
    published: bool
    team_total: Decimal           # the team's target before any allocation
    computed: dict[int, Decimal]  # each member's target by the rule
    current: dict[int, TargetAllocation]
    members: list[User]


def allocation_sheet(viewer: User, manager_id: int | None, family: str, period: date, now: datetime) -> AllocationSheet:
    manager = _allocating_manager(viewer, manager_id)
    plan = split_plan(period, period, now, skip_team=manager.id)
    key = (family, month_of(period))
    split = plan.splits.get(key)
    members = sorted((plan.who.sellers[u] for u, t in plan.who.team_of.items() if t == manager.id),
                     key=lambda u: (u.id != manager.id, u.name))
    computed = {u.id: split.units.get(u.id, ZERO) if split else ZERO for u in members}
    current = {a.user_id: a for a in db.session.scalars(
        select(TargetAllocation).join(ProductFamily, ProductFamily.id == TargetAllocation.family_id)
        .where(TargetAllocation.manager_id == manager.id, ProductFamily.code == family,
               TargetAllocation.period == month_of(period)))}
    return AllocationSheet(manager, family, month_of(period), split is not None, sum(computed.values(), ZERO),
                           computed, current, members)


def _allocating_manager(viewer: User, manager_id: int | None) -> User:
    """Managers allocate their own team's targets; an admin any team's (naming the manager)."""
    if viewer.role == "manager" and manager_id in (None, viewer.id):
        return viewer
    if viewer.role != "admin":
        raise PermissionDenied(_("only a team's manager (or an admin) allocates its targets"))
    manager = db.session.get(User, manager_id) if manager_id else None
    if manager is None or manager.role != "manager":
        raise NotFound(_("no such manager"), {"manager_id": _("no such manager")})
    return manager


def save_allocation(actor: User, manager_id: int | None, data: dict, now: datetime) -> AllocationSheet:
    """Store the manager's allocation of one cell: units per rep of the team (blank: not
    allocated). They may add up to less than the team's total (the reps left blank share the
    rest by the rule; when every rep is given a number they must add up to the total) but not
    to more. Replaces the cell's previous allocation. Flushes.
    :raises ValidationFailed: unknown family, no published plan for the month, a rep not in
        the team, or totals that do not fit (field ``units``)"""
    manager = _allocating_manager(actor, manager_id)
    # One save of a team's allocation at a time (PostgreSQL: the manager's row, locked to the
    # end of the transaction): two tabs saving different reps must not leave a mix of both.
    db.session.execute(select(User.id).where(User.id == manager.id).with_for_update())
    parsed = AllocationInput.parse(data)
    family = db.session.scalar(select(ProductFamily).where(ProductFamily.code == parsed.family))
    if family is None:
        raise ValidationFailed(AllocationInput.INVALID, {"family": _("no such product family")})
    sheet = allocation_sheet(actor, manager_id, parsed.family, parsed.period, now)
    if not sheet.published:
        raise ValidationFailed(AllocationInput.INVALID, {"period": _("no published plan for this family and month")})
    given = {u: v for u, v in parsed.units.items() if v is not None}
    strangers = sorted(set(given) - {m.id for m in sheet.members})
    if strangers:
        raise ValidationFailed(AllocationInput.INVALID, {"units": _("users %(strangers)s are not active in this team",
                                                                    strangers=strangers)})
    _check_totals(sheet, given)
    db.session.execute(delete(TargetAllocation).where(
        TargetAllocation.manager_id == sheet.manager.id, TargetAllocation.family_id == family.id,
        TargetAllocation.period == sheet.period))
    for user_id, units in given.items():
        db.session.add(TargetAllocation(manager_id=sheet.manager.id, user_id=user_id, family_id=family.id,
                                        period=sheet.period, units=units, set_by_id=actor.id, set_at=now))
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("this allocation was saved by someone else at the same moment; reload it")) from None
    return allocation_sheet(actor, manager_id, parsed.family, parsed.period, now)


def _check_totals(sheet: AllocationSheet, given: dict[int, Decimal]) -> None:
    total = sum(given.values(), ZERO)
    if total > sheet.team_total:
        raise ValidationFailed(AllocationInput.INVALID, {
            "units": _("the allocations add up to %(total)s, more than the team's target of %(team_total)s",
                       total=f'{total:f}', team_total=f'{sheet.team_total:f}')})
    if given and len(given) == len(sheet.members) and total != sheet.team_total:
        raise ValidationFailed(AllocationInput.INVALID, {
            "units":
                _("every rep is allocated, so the allocations must add up to the team's target of "
                  "%(team_total)s (they add up to %(total)s); or leave a rep blank to take the rest",
                       team_total=f'{sheet.team_total:f}', total=f'{total:f}')})


# --- capacity in the rep's day --------------------------------------------------------------

def spare_share() -> Decimal:
    return Decimal(str(current_app.config.get("TARGETS_SPARE_CAPACITY_SHARE", "0.10")))


def spare_months(months: list[date]) -> dict[str, list[date]]:
    """Families with spare capacity: months whose slack (capacity − plan − committed, from the
    provider) is above ``TARGETS_SPARE_CAPACITY_SHARE`` (default 10%) of that month's capacity."""
    feedback = plan_feedback()
    found: dict[str, list[date]] = defaultdict(list)
    for cell in sorted(feedback.plan(months[0], months[-1]), key=lambda c: (c.family, c.period)):
        if cell.capacity_units is None or cell.capacity_units <= 0 or month_of(cell.period) not in months:
            continue
        slack = feedback.capacity_slack(cell.family, month_of(cell.period))
        if slack is not None and slack > spare_share() * Decimal(cell.capacity_units):
            found[cell.family].append(month_of(cell.period))
    return dict(found)


@dataclass(frozen=True)
class CapacityBoost:
    contact_id: int
    families: tuple[str, ...]
    reason: str  # "spare capacity in PUMP for Feb–Mar", in the rep's language


def capacity_boosts(user: User, now: datetime, limit: int = 200) -> dict[int, CapacityBoost]:
    """Contacts of ``user``'s open deals, or of deals they won in the last year, in a family with
    spare capacity in the coming months (this month and the next two): selling them more fills
    the plant. The CRM records no interest per family elsewhere (page views are not tagged
    with one), so deals are the evidence of interest."""
    spare = spare_months(coming_months(user, now))
    if not spare:
        return {}
    since = local_today(user, now) - timedelta(days=365)
    rows: Sequence[Any] = db.session.execute(
        select(Deal.contact_id, ProductFamily.code)
        .join(DealLine, DealLine.deal_id == Deal.id).join(ProductFamily, ProductFamily.id == DealLine.family_id)
        .where(Deal.owner_id == user.id, Deal.contact_id.is_not(None), ProductFamily.code.in_(list(spare)),
               (Deal.status == "open") | ((Deal.status == "won") & (Deal.closed_on >= since)))
        .distinct().order_by(Deal.contact_id, ProductFamily.code).limit(limit * 4)
    ).all()
    families: dict[int, list[str]] = defaultdict(list)
    for contact_id, code in rows:
        if code not in families[contact_id]:
            families[contact_id].append(code)
    with force_language(user.language):  # the reason is read by the rep, in their language
        spans = {code: _("%(family)s for %(months)s", family=code, months=month_span(months))
                 for code, months in spare.items()}
        return {
            contact_id: CapacityBoost(contact_id, tuple(codes), _("spare capacity in %(families)s",
                                                                  families=", ".join(spans[c] for c in codes)))
            for contact_id, codes in list(families.items())[:limit]
        }


def currency() -> str:
    """The currency the plan's revenue is in: the company's base currency (``crm.money``), in
    which the planning bridge computes every revenue."""
    return base_currency()
