"""Deal services. Every change of a deal's stage, expected close, amount, lines or status is
written to ``DealChange`` in the same flush. The catalogue (families, stages) lives in
``catalog.py`` and is re-exported here, so callers have one services module per feature."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
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
from crm.deals.models import DEAL_STATUSES, Deal, DealChange, DealLine, Stage
from crm.errors import Conflict, NotFound, ValidationFailed
from crm.extensions import db
from crm.policy import require_edit, require_sales
from crm.validation import MAX_MONEY, MAX_QUANTITY, as_id, get_by_id, has_control_chars
from crm.web.pagination import Page, clamp_page

CENT = Decimal("0.01")
TRACKED_FIELDS = ("stage", "expected_close", "amount", "lines", "status")


# --- deals ------------------------------------------------------------------------------

def _parse_date(value: Any, key: str, errors: dict) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        errors[key] = "a date YYYY-MM-DD"
        return None


def _clean_lines(raw_lines: Any, errors: dict) -> list[dict[str, Any]] | None:
    if not isinstance(raw_lines, list):
        errors["lines"] = "a list of lines"
        return None
    families = {f.code: f for f in list_families()}
    by_id = {f.id: f for f in families.values()}
    lines = []
    for index, raw in enumerate(raw_lines):
        prefix = f"lines.{index}"
        if not isinstance(raw, dict):
            errors[prefix] = "an object with family, quantity and unit_price"
            continue
        family = families.get(str(raw.get("family", ""))) or by_id.get(raw.get("family_id"))  # type: ignore[arg-type]
        if family is None:
            errors[f"{prefix}.family"] = "unknown product family"
        try:
            quantity = float(raw.get("quantity"))  # type: ignore[arg-type]
            if not 0 < quantity < MAX_QUANTITY:  # also refuses NaN and infinities
                raise ValueError
        except (TypeError, ValueError):
            errors[f"{prefix}.quantity"] = "a number above 0"
            quantity = None
        try:
            unit_price = Decimal(str(raw.get("unit_price")))
            if not unit_price.is_finite() or not 0 <= unit_price < MAX_MONEY:
                raise InvalidOperation
            unit_price = unit_price.quantize(CENT)
        except (InvalidOperation, TypeError, ValueError):
            errors[f"{prefix}.unit_price"] = "an amount of 0 or more"
            unit_price = None
        if family and quantity and unit_price is not None:
            amount = (Decimal(str(quantity)) * unit_price).quantize(CENT)
            lines.append({"family": family, "quantity": quantity, "unit_price": unit_price, "amount": amount})
    return lines


def clean_deal_fields(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if "name" in data or not partial:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 200:
            errors["name"] = "1 to 200 characters"
        elif has_control_chars(name):
            errors["name"] = "contains control characters"
        clean["name"] = name
    if "stage_id" in data or "stage" in data or not partial:
        stage = None
        if data.get("stage_id") not in (None, ""):
            stage = get_by_id(Stage, data["stage_id"])
        elif data.get("stage"):
            stage = db.session.scalar(select(Stage).where(Stage.name == data["stage"]))
        if stage is None:
            errors["stage_id"] = "unknown pipeline stage"
        clean["stage"] = stage
    if "expected_close" in data or not partial:
        clean["expected_close"] = _parse_date(data.get("expected_close"), "expected_close", errors)
    for key, model in (("company_id", Company), ("contact_id", Contact), ("owner_id", User)):
        if key in data:
            value = data[key]
            if value in (None, ""):
                clean[key] = None
                continue
            record = get_by_id(model, value)
            if record is None or (model is User and record.role not in ("rep", "manager", "admin")):
                errors[key] = "not found" if model is not User else "must be a sales user"
            clean[key] = record.id if record else None
    if "lines" in data or not partial:
        clean["lines"] = _clean_lines(data.get("lines", []), errors)
    if "currency" in data:
        currency = str(data["currency"] or "").upper()
        if len(currency) != 3 or not currency.isalpha():
            errors["currency"] = "an ISO 4217 code such as EUR"
        clean["currency"] = currency
    if "source" in data:
        clean["source"] = (str(data["source"] or "").strip() or None)
    if errors:
        raise ValidationFailed("invalid deal", errors)
    return clean


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
    after = _tracked_values(deal)
    for field in TRACKED_FIELDS:
        if before.get(field) != after[field]:
            db.session.add(DealChange(
                deal_id=deal.id, field=field, old_value=before.get(field),
                new_value=after[field], changed_by_id=actor.id if actor else None, changed_at=now,
            ))


def _apply_lines(deal: Deal, lines: list[dict[str, Any]]) -> None:
    deal.lines = [
        DealLine(family=l["family"], family_id=l["family"].id, quantity=l["quantity"],
                 unit_price=l["unit_price"], amount=l["amount"])
        for l in lines
    ]
    deal.amount = sum((l["amount"] for l in lines), Decimal("0.00"))


def create_deal(actor: User, data: dict[str, Any], now: datetime) -> Deal:
    """Create an open deal with its lines. The creation is the first DealChange of each
    tracked field (old value null), so the history replays from day one."""
    require_sales(actor)
    clean = clean_deal_fields(data, partial=False)
    lines = clean.pop("lines")
    stage = clean.pop("stage")
    if clean.get("owner_id") is None and actor.role == "rep":
        clean["owner_id"] = actor.id
    if clean.get("contact_id") and not clean.get("company_id"):
        contact = db.session.get(Contact, clean["contact_id"])  # checked by clean_deal_fields
        clean["company_id"] = contact.company_id if contact else None
    deal = Deal(stage=stage, status="open", created_at=now, stage_entered_at=now, **clean)
    _apply_lines(deal, lines)
    db.session.add(deal)
    db.session.flush()
    _record_changes(deal, {}, actor, now)
    record_activity(
        "deal_created", now, contact_id=deal.contact_id, company_id=deal.company_id,
        deal_id=deal.id, user_id=actor.id, details={"name": deal.name, "amount": str(deal.amount)},
    )
    db.session.flush()
    return deal


def update_deal(actor: User, deal_id: int, data: dict[str, Any], now: datetime) -> Deal:
    deal = get_deal(deal_id)
    require_edit(actor, deal)
    clean = clean_deal_fields(data, partial=True)
    before = _tracked_values(deal)
    if "lines" in clean:
        _apply_lines(deal, clean.pop("lines"))
    if "stage" in clean:
        stage = clean.pop("stage")
        if not deal.is_open:
            raise Conflict("a closed deal's stage cannot change; reopen it first", {"stage_id": "deal is closed"})
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
        raise Conflict("deal is already closed", {"status": deal.status})
    if not won and not (lost_reason or "").strip():
        raise ValidationFailed("a lost deal needs a reason", {"lost_reason": "required"})
    before = _tracked_values(deal)
    deal.status = "won" if won else "lost"
    deal.closed_on = closed_on or now.date()
    deal.lost_reason = None if won else (lost_reason or "").strip()[:200]
    db.session.flush()
    _record_changes(deal, before, actor, now)
    record_activity(
        "deal_won" if won else "deal_lost", now, contact_id=deal.contact_id,
        company_id=deal.company_id, deal_id=deal.id, user_id=actor.id,
        details={"amount": str(deal.amount), "reason": deal.lost_reason},
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
        raise NotFound("no such deal")
    deal = db.session.get(
        Deal, deal_id,
        options=[joinedload(Deal.stage), joinedload(Deal.company), joinedload(Deal.owner),
                 joinedload(Deal.contact), selectinload(Deal.lines).joinedload(DealLine.family)],
    )
    if deal is None:
        raise NotFound("no such deal")
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
        raise ValidationFailed("bad status filter", {"status": f"one of {', '.join(DEAL_STATUSES)}"})
    query = select(Deal).outerjoin(Company, Deal.company_id == Company.id)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(Deal.name).like(like), func.lower(Company.name).like(like)))
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


def deal_board(owner_id: int | None = None, per_stage: int = 50) -> list[tuple[Stage, list[Deal], int, Decimal]]:
    """Open deals grouped by stage for the board: each stage with its first deals (by expected
    close), its count and its total amount. Three queries whatever the number of deals."""
    stages = list_stages()
    open_deals = [Deal.status == "open"] + ([Deal.owner_id == owner_id] if owner_id is not None else [])
    totals = {
        stage_id: (count, amount or Decimal("0"))
        for stage_id, count, amount in db.session.execute(
            select(Deal.stage_id, func.count(), func.sum(Deal.amount)).where(*open_deals).group_by(Deal.stage_id)
        )
    }
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
    return [(s, by_stage.get(s.id, []), *totals.get(s.id, (0, Decimal("0")))) for s in stages]


def deal_history(deal_id: int) -> list[DealChange]:
    return list(db.session.scalars(
        select(DealChange).where(DealChange.deal_id == deal_id)
        .options(joinedload(DealChange.changed_by))
        .order_by(DealChange.changed_at, DealChange.id)
    ))

