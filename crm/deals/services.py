"""Deal services. Every change of a deal's stage, expected close, amount, lines or status is
written to ``DealChange`` in the same flush and announced by ``crm.signals.deal_changed``.
Input is parsed by the models in ``inputs.py`` (``DealCreate``, ``DealUpdate``...). The
catalogue (families, stages) lives in ``catalog.py``; both are re-exported here, so callers
have one services module per feature."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from crm.auth.models import User
from crm.contacts.models import Activity, Company, Contact
from crm.contacts.services import add_note, record_activity
from crm.deals.catalog import (  # noqa: F401  (re-exported: the feature's one service surface)
    create_family,
    delete_family,
    family_by_code,
    family_usage,
    get_family,
    get_stage,
    list_families,
    list_stages,
    save_stage,
    set_stage_active,
    update_family,
)
from crm.deals.inputs import (  # noqa: F401  (re-exported)
    DealCreate,
    DealLineInput,
    DealUpdate,
    FamilyCreate,
    FamilyUpdate,
    StageInput,
    deal_input,
)
from crm.deals.models import DEAL_STATUSES, Deal, DealChange, DealLine, Stage
from crm.deals.promises import PlanAnswers, ShipHold, delivery_month, ship_holds  # noqa: F401  (re-exported)
from crm.errors import Conflict, NotFound, ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.money.services import RateBook, Total, conversion_day
from crm.policy import require_edit, require_sales
from crm.signals import deal_changed
from crm.textfold import folded, like_pattern
from crm.validation import as_id
from crm.web.pagination import Page, clamp_page

TRACKED_FIELDS = ("stage", "expected_close", "amount", "lines", "status")


# --- deals ------------------------------------------------------------------------------

def _lines_snapshot(lines) -> list[dict[str, Any]]:
    return [
        {"family": line.family.code, "quantity": line.quantity,
         "unit_price": str(line.unit_price), "amount": str(line.amount)}
        for line in lines
    ]


def _tracked_values(deal: Deal) -> dict[str, Any]:
    return {
        "stage": deal.stage.name if deal.stage else None,
        "expected_close": deal.expected_close.isoformat() if deal.expected_close else None,
        "amount": str(deal.amount),
        "lines": _lines_snapshot(deal.lines),
        "status": deal.status,
    }


def _record_changes(deal: Deal, before: dict[str, Any], actor: User | None, now: datetime) -> None:
    """Write a ``DealChange`` for every tracked field that differs from ``before`` ({} for a
    new deal) and tell ``crm.signals.deal_changed`` which fields changed (nothing when none did)."""
    after = _tracked_values(deal)
    changed = []
    for field in TRACKED_FIELDS:
        if before.get(field) != after[field]:
            changed.append(field)
            db.session.add(DealChange(
                deal_id=deal.id, field=field, old_value=before.get(field),
                new_value=after[field], changed_by_id=actor.id if actor else None, changed_at=now,
            ))
    if changed:
        deal_changed.send(deal.id, fields=tuple(changed), now=now)


def _apply_lines(deal: Deal, lines: list[DealLineInput]) -> None:
    deal.lines = [
        DealLine(family=line.family, family_id=line.family.id, quantity=line.quantity,
                 unit_price=line.unit_price, amount=line.amount)
        for line in lines
    ]
    deal.amount = sum((line.amount for line in lines), Decimal("0.00"))


def create_deal(actor: User, data: dict[str, Any], now: datetime) -> Deal:
    """Create an open deal with its lines, from input parsed by ``DealCreate``. The creation
    is the first DealChange of each tracked field (old value null), so the history replays
    from day one."""
    require_sales(actor)
    clean = DealCreate.parse(data).values()
    lines = clean.pop("lines")
    stage = clean.pop("stage_id")
    if clean.get("owner_id") is None and actor.role == "rep":
        clean["owner_id"] = actor.id
    if clean.get("contact_id") and not clean.get("company_id"):
        contact = db.session.get(Contact, clean["contact_id"])  # checked by DealCreate
        clean["company_id"] = contact.company_id if contact else None
    deal = Deal(stage=stage, status="open", created_at=now, stage_entered_at=now, **clean)
    _apply_lines(deal, lines)
    db.session.add(deal)
    db.session.flush()
    _record_changes(deal, {}, actor, now)
    record_activity(
        "deal_created", now, contact_id=deal.contact_id, company_id=deal.company_id,
        deal_id=deal.id, user_id=actor.id,
        details={"name": deal.name, "amount": str(deal.amount), "currency": deal.currency},
    )
    db.session.flush()
    return deal


def update_deal(actor: User, deal_id: int, data: dict[str, Any], now: datetime) -> Deal:
    """Change the fields sent (parsed by ``DealUpdate``); ``lines`` replaces all lines."""
    deal = get_deal(deal_id)
    require_edit(actor, deal)
    clean = DealUpdate.parse(data).values()
    before = _tracked_values(deal)
    if "lines" in clean:
        _apply_lines(deal, clean.pop("lines"))
    if "stage_id" in clean:
        stage = clean.pop("stage_id")
        if not deal.is_open:
            raise Conflict(_("a closed deal's stage cannot change; reopen it first"),
                           {"stage_id": _("deal is closed")})
        if stage.id != deal.stage_id:
            deal.stage, deal.stage_entered_at = stage, now
    for key, value in clean.items():
        setattr(deal, key, value)
    db.session.flush()
    _record_changes(deal, before, actor, now)
    if before["stage"] != deal.stage.name:
        record_activity(
            "deal_stage_changed", now, contact_id=deal.contact_id, company_id=deal.company_id,
            deal_id=deal.id, user_id=actor.id, details={"from": before["stage"], "to": deal.stage.name},
        )
    db.session.flush()
    return deal


def close_deal(
    actor: User, deal_id: int, *, won: bool, now: datetime, closed_on: date | None = None,
    lost_reason: str | None = None,
) -> Deal:
    deal = get_deal(deal_id)
    require_edit(actor, deal)
    if not deal.is_open:
        raise Conflict(_("deal is already closed"), {"status": deal.status})
    if not won and not (lost_reason or "").strip():
        raise ValidationFailed(_("a lost deal needs a reason"), {"lost_reason": _("required")})
    before = _tracked_values(deal)
    deal.status = "won" if won else "lost"
    deal.closed_on = closed_on or now.date()
    deal.lost_reason = None if won else (lost_reason or "").strip()[:200]
    db.session.flush()
    _record_changes(deal, before, actor, now)
    record_activity(
        "deal_won" if won else "deal_lost", now, contact_id=deal.contact_id,
        company_id=deal.company_id, deal_id=deal.id, user_id=actor.id,
        details={"amount": str(deal.amount), "currency": deal.currency, "reason": deal.lost_reason},
    )
    db.session.flush()
    return deal


def reopen_deal(actor: User, deal_id: int, now: datetime) -> Deal:
    deal = get_deal(deal_id)
    require_edit(actor, deal)
    if deal.is_open:
        return deal
    before = _tracked_values(deal)
    deal.status, deal.closed_on, deal.lost_reason = "open", None, None
    db.session.flush()
    _record_changes(deal, before, actor, now)
    return deal


def delete_deal(actor: User, deal_id: int) -> None:
    """Delete a deal with its lines and history. Activities on its contacts stay on their
    timelines (unlinked); those that belonged to the deal alone go with it."""
    deal = get_deal(deal_id)
    require_edit(actor, deal)
    db.session.execute(
        delete(Activity).where(Activity.deal_id == deal.id, Activity.contact_id.is_(None))
    )
    db.session.delete(deal)
    db.session.flush()


def get_deal(deal_id: int) -> Deal:
    if as_id(deal_id) is None:
        raise NotFound(_("no such deal"))
    deal = db.session.get(
        Deal, deal_id,
        options=[joinedload(Deal.stage), joinedload(Deal.company), joinedload(Deal.owner),
                 joinedload(Deal.contact), selectinload(Deal.lines).joinedload(DealLine.family)],
    )
    if deal is None:
        raise NotFound(_("no such deal"))
    return deal


def add_deal_note(actor: User, deal_id: int, body: str, now: datetime) -> Activity:
    """A note on a deal's timeline, filed under its contact and company too."""
    deal = get_deal(deal_id)
    return add_note(actor, body, now, deal_id=deal.id, contact_id=deal.contact_id, company_id=deal.company_id)


def list_deals(
    q: str = "", *, status: str | None = "open", owner_id: int | None = None,
    stage_id: int | None = None, company_id: int | None = None, contact_id: int | None = None,
    sort: str = "expected_close", page: int = 1, per_page: int = 50,
) -> Page:
    page, per_page = clamp_page(page, per_page)
    if status and status not in DEAL_STATUSES:
        raise ValidationFailed(
            _("bad status filter"), {"status": _("one of %(choices)s", choices=', '.join(DEAL_STATUSES))})
    query = select(Deal).outerjoin(Company, Deal.company_id == Company.id)
    if q.strip():
        like = like_pattern(q)
        query = query.where(or_(folded(Deal.name).like(like, escape="\\"),
                                folded(Company.name).like(like, escape="\\")))
    for column, value in ((Deal.status, status), (Deal.owner_id, owner_id), (Deal.stage_id, stage_id),
                          (Deal.company_id, company_id), (Deal.contact_id, contact_id)):
        if value not in (None, ""):
            query = query.where(column == value)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = {"expected_close": Deal.expected_close, "amount": Deal.amount.desc(),
             "created": Deal.created_at.desc(), "name": Deal.name}
    items = db.session.scalars(
        query.options(joinedload(Deal.stage), joinedload(Deal.company), joinedload(Deal.owner),
                      selectinload(Deal.lines).joinedload(DealLine.family))
        .order_by(order.get(sort, Deal.expected_close), Deal.id)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items, page, per_page, total)


def deal_board(owner_id: int | None = None, per_stage: int = 50) -> list[tuple[Stage, list[Deal], int, Total]]:
    """Open deals grouped by stage for the board: each stage with its first deals (by expected
    close), its count and its total in the base currency (``crm.money.services.Total``: each
    currency converted at the rate of the deal's expected close month; an amount without a
    rate is left out and named, never added as it is). Three queries whatever the number of
    deals (the totals come grouped by stage, currency and expected close day)."""
    stages = list_stages()
    open_deals = [Deal.status == "open"] + ([Deal.owner_id == owner_id] if owner_id is not None else [])
    book = RateBook.load()
    counts: dict[int, int] = {}
    totals: dict[int, Total] = {}
    for stage_id, currency, expected_close, count, amount in db.session.execute(
        select(Deal.stage_id, Deal.currency, Deal.expected_close, func.count(), func.sum(Deal.amount))
        .where(*open_deals).group_by(Deal.stage_id, Deal.currency, Deal.expected_close)
    ):
        counts[stage_id] = counts.get(stage_id, 0) + count
        totals.setdefault(stage_id, Total(book.base)).add(
            book, amount, currency, conversion_day("open", expected_close, None))
    # The first `per_stage` deals of each stage in one query, ranked inside the database.
    ranked = (
        select(Deal.id, func.row_number().over(
            partition_by=Deal.stage_id, order_by=(Deal.expected_close, Deal.id)).label("rn"))
        .where(*open_deals)
        .subquery()
    )
    deals = db.session.scalars(
        select(Deal).join(ranked, ranked.c.id == Deal.id).where(ranked.c.rn <= per_stage)
        .options(joinedload(Deal.company), joinedload(Deal.owner))
        .order_by(Deal.expected_close, Deal.id)
    ).all()
    by_stage: dict[int, list[Deal]] = {}
    for deal in deals:
        by_stage.setdefault(deal.stage_id, []).append(deal)
    return [(s, by_stage.get(s.id, []), counts.get(s.id, 0), totals.get(s.id) or Total(book.base)) for s in stages]


def deal_history(deal_id: int) -> list[DealChange]:
    return list(db.session.scalars(
        select(DealChange).where(DealChange.deal_id == deal_id)
        .options(joinedload(DealChange.changed_by))
        .order_by(DealChange.changed_at, DealChange.id)
    ))

