"""Plan two years of deals: each one's stage moves, close-date slips, quote revisions and
outcome, plus the calls, emails and meetings that happened while it was open.

How outcomes arise (so a model has something real to learn):
1. Each deal gets a hidden strength: engagement propensity (observable through the number of
   touches) and company size (observable as headcount; big accounts are harder to win) plus an
   unobservable part (fit, competition).
2. At the end of each stage the deal is dropped with a probability falling with its strength,
   so strong deals reach later stages; a deal surviving Negotiation is won with a probability
   rising with its strength; small accounts sometimes sign straight from Proposal.
3. Touches per week rise with engagement propensity, so won deals carry more activities.
Pure planning: nothing here touches the database.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from crm.demo import catalog
from crm.demo.people import (
    ActivityPlan,
    CompanyPlan,
    ContactPlan,
    contact_activity,
    rep_time_zone,
    weighted,
)
from crm.demo.timing import (
    HISTORY_WEEKS,
    Clock,
    business_moment,
    end_of_history,
    history_start,
    logistic,
    next_workday,
    poisson,
)

STAGE_NAMES = tuple(name for name, _p in catalog.STAGES)
PROPOSAL, NEGOTIATION = STAGE_NAMES.index("Propuesta"), STAGE_NAMES.index("Negociación")
BASE_DWELL_DAYS = (20, 24, 28, 26, 20)  # typical days in each stage for a small account
DROP_BASE = (-0.3, -0.8, -1.0, -1.1)  # log-odds of dropping out after each non-final stage
FAMILIES = {f.code: f for f in catalog.FAMILIES}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    family: str
    quantity: float
    unit_price: Decimal

    def as_input(self) -> dict:
        return {"family": self.family, "quantity": self.quantity, "unit_price": str(self.unit_price)}


@dataclass(frozen=True)
class Step:
    """One later change of a deal, written through the deal services at ``at``."""

    at: datetime
    kind: str  # "update" (stage/lines/expected_close), "won" or "lost"
    by: str  # the user key acting
    stage: int | None = None
    lines: tuple[Line, ...] | None = None
    expected_close: date | None = None
    lost_reason: str | None = None


@dataclass(eq=False)
class DealPlan:
    name: str
    company: CompanyPlan
    contact: ContactPlan
    others: list[ContactPlan]
    source: str
    created_at: datetime
    stage: int
    expected_close: date
    lines: tuple[Line, ...]
    steps: list[Step] = field(default_factory=list)
    activities: list[ActivityPlan] = field(default_factory=list)
    outcome: str = "open"

    @property
    def owner_key(self) -> str:
        return self.company.owner_key


# --- lines ------------------------------------------------------------------------------

def _line(rng: random.Random, family: catalog.Family, company: CompanyPlan) -> Line:
    # Order size grows with the plant, less than proportionally; bigger accounts get a discount.
    scale = (company.employee_count / 100) ** 0.35
    quantity = max(1, round(family.base_quantity * scale * rng.lognormvariate(0, 0.5)))
    price = Decimal(rng.choice(family.list_prices)) * Decimal(str(1 - 0.12 * company.size))
    price /= Decimal(str(catalog.PRICING_RATES[company.country.currency]))  # list prices are in pesos
    return Line(family.code, float(quantity), price.quantize(CENT, ROUND_HALF_UP))


def _initial_lines(rng: random.Random, company: CompanyPlan) -> tuple[Line, ...]:
    codes = [weighted(rng, zip(company.buys, (60, 25, 15)))]
    for extra in (0.4, 0.1):
        if rng.random() < extra:
            codes.append(rng.choice([c for c in FAMILIES if c not in codes]))
    return tuple(_line(rng, FAMILIES[code], company) for code in codes)


def _revised_quantities(rng: random.Random, lines, company: CompanyPlan) -> tuple[Line, ...]:
    revised = [Line(line.family, float(max(1, round(line.quantity * rng.uniform(0.6, 1.5)))), line.unit_price)
               for line in lines]
    if rng.random() < 0.2 and len(revised) < len(FAMILIES):
        code = rng.choice([c for c in FAMILIES if c not in {line.family for line in revised}])
        revised.append(_line(rng, FAMILIES[code], company))
    return tuple(revised)


def _discounted(rng: random.Random, lines) -> tuple[Line, ...]:
    factor = Decimal(str(round(1 - rng.uniform(0.03, 0.12), 3)))
    return tuple(Line(line.family, line.quantity, (line.unit_price * factor).quantize(CENT, ROUND_HALF_UP))
                 for line in lines)


# --- one deal ---------------------------------------------------------------------------

class DealSimulation:
    """Walks one deal from creation until it closes or the history ends."""

    def __init__(self, rng: random.Random, plan: DealPlan, today: date, engagement: float, strength: float):
        self.rng, self.plan, self.today = rng, plan, today
        self.engagement, self.strength = engagement, strength
        self.clock = Clock(rng, rep_time_zone(plan.owner_key), plan.created_at)
        self.expected = plan.expected_close
        self.lines = plan.lines
        self.stage = plan.stage
        self.milestones = [(plan.created_at, plan.stage)]

    def run(self) -> None:
        slow = 1 + 0.8 * self.plan.company.size  # big accounts move slowly
        while True:
            dwell = BASE_DWELL_DAYS[self.stage] * slow * self.rng.lognormvariate(0, 0.45)
            day = next_workday(self.clock.last_day + timedelta(days=max(1, round(dwell))))
            if day >= self.today - timedelta(days=1):
                self._stay_open()
                return
            if self._decide(day):
                return

    def _decide(self, day: date) -> bool:
        """The end of the current stage: drop, win, or move on. True when the deal closed."""
        rng, s = self.rng, self.strength
        if self.stage == NEGOTIATION:
            self._close(day, won=rng.random() < logistic(0.9 + 1.2 * s))
        elif rng.random() < logistic(DROP_BASE[self.stage] - 1.2 * s):
            self._close(day, won=False)
        elif self.stage == PROPOSAL and self.plan.company.size < 0.35 and rng.random() < 0.3 * logistic(s):
            self._close(day, won=True)  # small accounts sign the proposal as it is
        else:
            self._advance(day)
            return False
        return True

    def _advance(self, day: date) -> None:
        rng = self.rng
        skip = 2 if self.stage + 2 < NEGOTIATION and rng.random() < 0.06 else 1
        self.stage += skip
        lines = None
        if self.stage == PROPOSAL and rng.random() < 0.55:
            lines = _revised_quantities(rng, self.lines, self.plan.company)
        elif self.stage == NEGOTIATION and rng.random() < 0.65:
            lines = _discounted(rng, self.lines)
        self._slip_until(day)
        at = self.clock.on(day)
        self.plan.steps.append(Step(at, "update", self.plan.owner_key, stage=self.stage, lines=lines))
        self.lines = lines or self.lines
        self.milestones.append((at, self.stage))

    def _close(self, day: date, won: bool) -> None:
        if won or self.rng.random() < 0.5:  # a dying deal's close date often goes stale
            self._slip_until(day)
        at = self.clock.on(day)
        phase = "early" if self.stage <= 1 else "middle" if self.stage < NEGOTIATION else "late"
        reason = None if won else self.rng.choice(catalog.LOST_REASONS[phase])
        self.plan.steps.append(Step(at, "won" if won else "lost", self.plan.owner_key, lost_reason=reason))
        self.plan.outcome = "won" if won else "lost"
        self.milestones.append((at, None))

    def _stay_open(self) -> None:
        if self.rng.random() < 0.85:  # most reps keep open deals' dates current; some go stale
            self._slip_until(self.today - timedelta(days=3))
        self.milestones.append((end_of_history(self.today), None))

    def _slip_until(self, day: date) -> None:
        """Push the expected close later, one realistic slip at a time, until it is not before
        ``day``: the rep notices around the old date, sometimes the manager in a pipeline review."""
        rng = self.rng
        while self.expected < day:
            noticed = min(max(self.expected - timedelta(days=rng.randint(0, 6)), self.clock.last_day), day)
            at = self.clock.on(noticed)
            pushed = self.expected + timedelta(days=rng.randint(14, 45))
            self.expected = max(pushed, at.date() + timedelta(days=7))
            by = "manager" if rng.random() < 0.15 else self.plan.owner_key
            self.plan.steps.append(Step(at, "update", by, expected_close=self.expected))

    def plan_activities(self) -> None:
        """Touches on the deal's people while it was open: a Poisson number per stage, more for
        engaged deals, meetings mostly in discovery and negotiation."""
        rng, plan = self.rng, self.plan
        rate = 0.6 * math.exp(0.6 * self.engagement)
        people = [plan.contact] * 3 + plan.others
        for (start, stage), (stop, _next) in zip(self.milestones, self.milestones[1:]):
            days = (stop - start).days
            if days < 1:
                continue
            kinds = _stage_activity_mix(stage)
            for _ in range(poisson(rng, rate * days / 7)):
                day = start.date() + timedelta(days=rng.randint(1, days))
                at = business_moment(rng, day, rep_time_zone(plan.owner_key))
                if start < at < stop:
                    kind, person = weighted(rng, kinds), rng.choice(people)
                    plan.activities.append(_deal_activity(rng, kind, person, at, plan))


def _stage_activity_mix(stage: int) -> tuple[tuple[str, int], ...]:
    if stage <= 1:
        return (("email_sent", 50), ("call", 35), ("meeting_held", 10), ("note", 5))
    if stage == 2:
        return (("email_sent", 30), ("call", 25), ("meeting_held", 35), ("note", 10))
    return (("email_sent", 40), ("call", 30), ("meeting_held", 20), ("note", 10))


def _deal_activity(
    rng: random.Random, kind: str, contact: ContactPlan, at: datetime, plan: DealPlan,
) -> ActivityPlan:
    if kind == "email_sent":
        details = {"subject": rng.choice(catalog.DEAL_EMAIL_SUBJECTS).format(deal=plan.name)}
        return ActivityPlan(kind, at, contact, details, plan.owner_key)
    return contact_activity(rng, kind, contact, at)


# --- all deals --------------------------------------------------------------------------

def _pick_company(rng: random.Random, companies: list[CompanyPlan], day: date) -> CompanyPlan:
    ready = [c for c in companies if c.created_at.date() < day - timedelta(days=7)]
    return rng.choices(ready, weights=[c.employee_count ** 0.25 for c in ready])[0]


def _pick_people(rng: random.Random, company: CompanyPlan, created_at: datetime):
    """The deal's main contact (a senior one when known) and up to two colleagues; anyone
    not yet in the CRM is backdated to just before the deal, as reps add them when they open it."""
    people = sorted(company.contacts, key=lambda c: not c.senior)
    contact = people[0] if rng.random() < 0.6 else rng.choice(people)
    others = rng.sample([p for p in people if p is not contact], k=min(len(people) - 1, rng.randint(0, 2)))
    for person in (contact, *others):
        if person.created_at >= created_at:
            added = created_at - timedelta(days=rng.randint(1, 20), hours=1)
            person.created_at = max(company.created_at, added)
    return contact, others


def _deal_name(rng: random.Random, company: CompanyPlan, lines, created_at: datetime, names: set[str]) -> str:
    project = rng.choice(FAMILIES[lines[0].family].projects)
    name = f"{company.short} – {project} {created_at.year}"
    n = 2
    while name in names:
        name, n = f"{company.short} – {project} {created_at.year} (fase {n})", n + 1
    names.add(name)
    return name


def plan_deals(rng: random.Random, companies: list[CompanyPlan], today: date) -> list[DealPlan]:
    """About a thousand deals created over 104 weeks, the rate growing as the team ramps up."""
    start = history_start(today)
    names: set[str] = set()
    plans = []
    for week in range(HISTORY_WEEKS):
        for _ in range(poisson(rng, 8.0 + 4.0 * week / HISTORY_WEEKS)):
            day = start + timedelta(weeks=week, days=rng.randrange(5))
            company = _pick_company(rng, companies, day)
            created_at = business_moment(rng, day, rep_time_zone(company.owner_key))
            contact, others = _pick_people(rng, company, created_at)
            inbound = rng.random() < 0.25
            lines = _initial_lines(rng, company)
            stage = 1 if inbound else 0
            estimate = sum(BASE_DWELL_DAYS[stage:]) * (1 + 0.8 * company.size) * rng.uniform(0.5, 0.9)
            plan = DealPlan(
                name=_deal_name(rng, company, lines, created_at, names), company=company,
                contact=contact, others=others, source="inbound" if inbound else contact.source,
                created_at=created_at, stage=stage,
                expected_close=created_at.date() + timedelta(days=round(estimate)), lines=lines,
            )
            engagement, hidden = rng.gauss(0, 1), rng.gauss(0, 1)
            strength = 0.9 * engagement - 1.4 * (company.size - 0.5) + 0.6 * hidden
            simulation = DealSimulation(rng, plan, today, engagement, strength)
            simulation.run()
            simulation.plan_activities()
            plans.append(plan)
    plans.sort(key=lambda p: p.created_at)
    return plans


def promote_deal_people(rng: random.Random, plans: list[DealPlan]) -> None:
    """Lifecycle follows the deals: people on a deal are at least SQL, on an open one an
    opportunity, on a won one customers (and a few of their colleagues too)."""
    for plan in plans:
        for person in (plan.contact, *plan.others):
            person.promote({"open": "opportunity", "won": "customer", "lost": "sql"}[plan.outcome])
        if plan.outcome == "won":
            for colleague in plan.company.contacts:
                if rng.random() < 0.2:
                    colleague.promote("customer")
