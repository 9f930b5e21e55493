"""A deal as one viewer may see it: the view model every deal page (board, list, deal page)
and every deal answer of the API is built from.

What a role reads is decided in ``crm.policy.READABLE``; this module only applies it. A field
the viewer may not read is ``None`` here (and the ``visible`` set says which were kept), so a
template or serializer cannot show it by mistake: no ORM object with a path to the contact is
handed out, lines and company come as plain records.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crm.auth.models import User
from crm.policy import can_edit_owned, readable_fields, reads_personal_data
from crm.web.pagination import Page


@dataclass(frozen=True)
class Ref:
    id: int
    name: str


@dataclass(frozen=True)
class OwnerRef:
    id: int
    name: str
    manager_id: int | None  # for the write check only; never shown


@dataclass(frozen=True)
class ContactRef:
    id: int
    full_name: str
    email: str


@dataclass(frozen=True)
class LineView:
    family: Any  # ProductFamily: code, name, unit (catalogue data)
    quantity: float
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class DealView:
    visible: frozenset[str]
    writable: bool  # the viewer may change the deal (owner, their manager, admin)
    opens_records: bool  # the viewer may open contact and company pages (links to them)
    id: int
    name: str | None
    status: str | None
    stage_id: int | None
    stage: Any  # Stage: name, probability (catalogue data)
    amount: Decimal | None
    currency: str | None
    expected_close: date | None
    closed_on: date | None
    lost_reason: str | None
    source: str | None
    created_at: datetime | None
    stage_entered_at: datetime | None
    lines: list[LineView]
    company_id: int | None
    company: Ref | None
    owner_id: int | None
    owner: OwnerRef | None
    contact_id: int | None
    contact: ContactRef | None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def shows(self, field: str) -> bool:
        return field in self.visible


def deal_view(actor: User, deal, *, with_lines: bool = True, with_contact: bool = False) -> DealView:
    """``deal`` reduced to what ``actor`` may read. Stage, company and owner should be loaded
    (``get_deal``, ``list_deals`` and ``deal_board`` do); the lines are read unless
    ``with_lines`` is false (the board shows none), the contact only when ``with_contact``
    (the deal page; lists show no contact, so they need not load it)."""
    visible = readable_fields(actor, "deal")

    def pick(field: str, value):
        return value if field in visible else None

    owner, company = deal.owner, deal.company
    contact = deal.contact if with_contact and "contact" in visible else None
    lines = ([LineView(line.family, line.quantity, line.unit_price, line.amount) for line in deal.lines]
             if with_lines and "lines" in visible else [])
    return DealView(
        visible=visible,
        writable=can_edit_owned(actor, deal.owner_id, owner.manager_id if owner else None),
        opens_records=reads_personal_data(actor),
        id=deal.id,
        name=pick("name", deal.name),
        status=pick("status", deal.status),
        stage_id=pick("stage", deal.stage_id),
        stage=pick("stage", deal.stage),
        amount=pick("amount", deal.amount),
        currency=pick("currency", deal.currency),
        expected_close=pick("expected_close", deal.expected_close),
        closed_on=pick("closed_on", deal.closed_on),
        lost_reason=pick("lost_reason", deal.lost_reason),
        source=pick("source", deal.source),
        created_at=pick("created_at", deal.created_at),
        stage_entered_at=pick("stage_entered_at", deal.stage_entered_at),
        lines=lines,
        company_id=pick("company", deal.company_id),
        company=pick("company", Ref(company.id, company.name) if company else None),
        owner_id=pick("owner", deal.owner_id),
        owner=pick("owner", OwnerRef(owner.id, owner.name, owner.manager_id) if owner else None),
        contact_id=pick("contact", deal.contact_id),
        contact=ContactRef(contact.id, contact.full_name, contact.email) if contact else None,
    )


def deal_page_view(actor: User, page: Page) -> Page:
    """A page of deals (``list_deals``), each as ``actor`` may see it."""
    return Page([deal_view(actor, deal) for deal in page.items], page.page, page.per_page, page.total)


def board_view(actor: User, columns) -> list:
    """``deal_board``'s columns with each deal as ``actor`` may see it."""
    return [(stage, [deal_view(actor, d, with_lines=False) for d in deals], count, total)
            for stage, deals, count, total in columns]
