"""Contact and company services: the contacts feature's public face. They validate, flush and
leave the commit to the caller.

Other features import only this module (and ``crm.contacts.models``): the timeline
(``record_activity``, from ``timeline.py``), email domains and free-mail (``emails.py``), custom
fields (``custom_fields.py``), contact-page panels (``panels.py``) and the lifecycle stages are
re-exported here."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import joinedload

from crm.auth.models import User
from crm.contacts.custom_fields import (  # noqa: F401  (re-exported)
    FALSE_WORDS,
    TRUE_WORDS,
    clean_custom_values,
    custom_filter_clause,
    define_custom_field,
    delete_custom_field,
    list_custom_fields,
)
from crm.contacts.emails import email_domain, is_freemail, normalize_email
from crm.contacts.inputs import (  # noqa: F401  (re-exported)
    CONTACT_FIELD_CHECKS,
    CompanyCreate,
    CompanyUpdate,
    ContactCreate,
    ContactUpdate,
    company_values,
    contact_values,
    normalize_domain,
)
from crm.contacts.models import (  # noqa: F401  (re-exported)
    LIFECYCLE_CHOICES,
    LIFECYCLE_LABELS,
    LIFECYCLE_STAGES,
    Activity,
    Company,
    Contact,
)
from crm.contacts.panels import ContactPanel  # noqa: F401  (re-exported)
from crm.contacts.timeline import record_activity, timeline  # noqa: F401  (timeline re-exported)
from crm.errors import Conflict, NotFound, ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.policy import require_add_to_timeline, require_edit, require_sales
from crm.textfold import folded, like_pattern
from crm.validation import as_id
from crm.web.pagination import Page, clamp_page

CONTACT_SORTS = {
    "name": (Contact.last_name, Contact.first_name),
    "email": (Contact.email,),
    "created": (Contact.created_at,),
    "stage": (Contact.lifecycle_stage,),
    "company": (Company.name,),
}


# --- companies --------------------------------------------------------------------------

def _domain_taken(domain: str | None, except_id: int | None = None) -> bool:
    if not domain:
        return False
    query = select(Company.id).where(Company.domain == domain)
    if except_id is not None:
        query = query.where(Company.id != except_id)
    return db.session.scalar(query) is not None


def create_company(actor: User, data: dict[str, Any], now: datetime) -> Company:
    require_sales(actor)
    clean = company_values(data, partial=False)
    if _domain_taken(clean.get("domain")):
        raise Conflict(_("a company with this domain exists"), {"domain": _("already taken")})
    company = Company(created_at=now, updated_at=now, **{"custom": {}, **clean})
    db.session.add(company)
    db.session.flush()
    return company


def update_company(actor: User, company_id: int, data: dict[str, Any], now: datetime) -> Company:
    company = get_company(company_id)
    require_edit(actor, company)
    clean = company_values(data, partial=True)
    if _domain_taken(clean.get("domain"), except_id=company.id):
        raise Conflict(_("a company with this domain exists"), {"domain": _("already taken")})
    if "custom" in clean:
        clean["custom"] = {**(company.custom or {}), **clean["custom"]}
    for key, value in clean.items():
        setattr(company, key, value)
    company.updated_at = now
    db.session.flush()
    return company


def delete_company(actor: User, company_id: int) -> None:
    """Delete a company. Its contacts stay (unlinked) with their timelines; activities that
    belonged to the company alone go with it."""
    company = get_company(company_id)
    require_edit(actor, company)
    db.session.execute(
        delete(Activity).where(Activity.company_id == company.id, Activity.contact_id.is_(None))
    )
    db.session.delete(company)
    db.session.flush()


def get_company(company_id: int) -> Company:
    if as_id(company_id) is None:
        raise NotFound(_("no such company"))
    company = db.session.get(Company, company_id)
    if company is None:
        raise NotFound(_("no such company"))
    return company


def company_name_from_domain(domain: str) -> str:
    return domain.split(".")[0].replace("-", " ").title()


def find_or_create_company_for_email(email: str, now: datetime) -> Company | None:
    """The company behind a work address, created if new; None for free-mail addresses."""
    domain = email_domain(email)
    if is_freemail(domain):
        return None
    company = db.session.scalar(select(Company).where(Company.domain == domain))
    if company is None:
        company = Company(
            name=company_name_from_domain(domain), domain=domain, created_at=now,
            updated_at=now, custom={},
        )
        db.session.add(company)
        db.session.flush()
    return company


def list_companies(q: str = "", *, sort: str = "name", page: int = 1, per_page: int = 50) -> Page:
    page, per_page = clamp_page(page, per_page)
    query = select(Company)
    if q.strip():
        like = like_pattern(q)
        query = query.where(or_(folded(Company.name).like(like, escape="\\"),
                                folded(Company.domain).like(like, escape="\\")))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = {"name": Company.name, "created": Company.created_at.desc(), "size": Company.employee_count.desc()}
    items = db.session.scalars(
        query.options(joinedload(Company.owner))
        .order_by(order.get(sort, Company.name), Company.id)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items, page, per_page, total)


# --- contacts ---------------------------------------------------------------------------

def create_contact(actor: User, data: dict[str, Any], now: datetime) -> Contact:
    """Create a contact. Without a company, the company is found or created from the email's
    domain (not for free-mail). A rep creating an unowned contact becomes its owner.

    :raises ValidationFailed: bad fields; :raises Conflict: the email exists
    """
    require_sales(actor)
    clean = contact_values(data, partial=False)
    if db.session.scalar(select(Contact.id).where(Contact.email == clean["email"])):
        raise Conflict(_("a contact with this email exists"), {"email": _("already exists")})
    if clean.get("company_id") is None:
        company = find_or_create_company_for_email(clean["email"], now)
        clean["company_id"] = company.id if company else None
    if clean.get("owner_id") is None and actor.role == "rep":
        clean["owner_id"] = actor.id
    clean.setdefault("custom", {})
    contact = Contact(created_at=now, updated_at=now, **clean)
    db.session.add(contact)
    db.session.flush()
    record_activity(
        "contact_created", now, contact_id=contact.id, company_id=contact.company_id,
        user_id=actor.id, details={"source": contact.source or "manual"},
    )
    return contact


def update_contact(actor: User, contact_id: int, data: dict[str, Any], now: datetime) -> Contact:
    contact = get_contact(contact_id)
    require_edit(actor, contact)
    clean = contact_values(data, partial=True)
    if "email" in clean and clean["email"] != contact.email:
        if db.session.scalar(select(Contact.id).where(Contact.email == clean["email"])):
            raise Conflict(_("a contact with this email exists"), {"email": _("already exists")})
    if "custom" in clean:
        clean["custom"] = {**(contact.custom or {}), **clean["custom"]}
    for key, value in clean.items():
        setattr(contact, key, value)
    contact.updated_at = now
    db.session.flush()
    return contact


def delete_contact(actor: User, contact_id: int) -> None:
    contact = get_contact(contact_id)
    require_edit(actor, contact)
    db.session.delete(contact)
    db.session.flush()


def get_contact(contact_id: int) -> Contact:
    if as_id(contact_id) is None:
        raise NotFound(_("no such contact"))
    contact = db.session.get(
        Contact, contact_id, options=[joinedload(Contact.company), joinedload(Contact.owner)]
    )
    if contact is None:
        raise NotFound(_("no such contact"))
    return contact


def _phone_digits(column):
    """The column with the usual phone punctuation removed (portable: nested REPLACE)."""
    for ch in (" ", "-", "(", ")", "+", ".", "/"):
        column = func.replace(column, ch, "")
    return column


def search_contacts(
    q: str = "",
    *,
    owner_id: int | None = None,
    stage: str | None = None,
    company_id: int | None = None,
    custom: dict[str, str] | None = None,
    sort: str = "name",
    descending: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Contacts matching a search over name, email, company name and phone digits, with filters; two queries
    whatever the page size (a count and the page, company and owner joined in)."""
    page, per_page = clamp_page(page, per_page)
    query = select(Contact).outerjoin(Company, Contact.company_id == Company.id)
    if q.strip():
        # Accent- and case-insensitive ("jose" finds "José"), on SQLite and PostgreSQL alike.
        like = like_pattern(q)
        full_name = folded(Contact.first_name + " " + Contact.last_name)
        matches = [
            full_name.like(like, escape="\\"), folded(Contact.email).like(like, escape="\\"),
            folded(Contact.title).like(like, escape="\\"), folded(Company.name).like(like, escape="\\"),
        ]
        digits = "".join(ch for ch in q if ch.isdigit())
        if len(digits) >= 4:  # a phone number, however it is spaced or punctuated on either side
            matches.append(_phone_digits(Contact.phone).like(f"%{digits}%"))
        query = query.where(or_(*matches))
    if owner_id is not None:
        query = query.where(Contact.owner_id == owner_id)
    if stage:
        query = query.where(Contact.lifecycle_stage == stage)
    if company_id is not None:
        query = query.where(Contact.company_id == company_id)
    if custom:
        fields = {f.key: f for f in list_custom_fields("contact")}
        for key, value in custom.items():
            if key not in fields:
                raise ValidationFailed(_("unknown custom field"), {f"custom.{key}": _("unknown")})
            try:
                query = query.where(custom_filter_clause(Contact, fields[key], value))
            except ValueError as exc:
                raise ValidationFailed(_("bad filter"), {f"custom.{key}": str(exc)}) from None
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    columns = CONTACT_SORTS.get(sort, CONTACT_SORTS["name"])
    order = [c.desc() if descending else c.asc() for c in columns]
    items = db.session.scalars(
        query.options(joinedload(Contact.company), joinedload(Contact.owner))
        .order_by(*order, Contact.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(items, page, per_page, total)


# --- timeline ---------------------------------------------------------------------------

def add_note(
    actor: User, body: str, now: datetime, *, contact_id: int | None = None,
    company_id: int | None = None, deal_id: int | None = None,
) -> Activity:
    """A note on a contact's, company's or deal's timeline. Anyone in sales may add one to any
    record, whoever owns it; changing the record itself is the owner's (``crm.policy``)."""
    require_sales(actor)
    for kind, record_id in (("contact", contact_id), ("company", company_id), ("deal", deal_id)):
        if record_id is not None:
            require_add_to_timeline(actor, kind)
    body = (body or "").strip()
    errors = {}
    if not body:
        errors["body"] = _("required")
    elif len(body) > 10_000:
        errors["body"] = _("at most 10,000 characters")
    if contact_id is None and company_id is None and deal_id is None:
        errors["contact_id"] = _("a note belongs to a contact, company or deal")
    if errors:
        raise ValidationFailed(_("invalid note"), errors)
    if contact_id is not None:
        contact = get_contact(contact_id)
        company_id = company_id or contact.company_id
    if company_id is not None:
        get_company(company_id)
    if deal_id is not None and not _deal_exists(deal_id):
        raise NotFound(_("no such deal"))
    return record_activity(
        "note", now, contact_id=contact_id, company_id=company_id, deal_id=deal_id,
        user_id=actor.id, details={"body": body},
    )


def _deals_table():
    """The deals table as the timeline's foreign key (``Activity.deal_id`` -> ``deals.id``)
    points at it. The timeline reads a deal's existence and name through it because deals
    depend on contacts, not the reverse (no import of the deals feature here)."""
    return next(iter(Activity.__table__.c.deal_id.foreign_keys)).column.table


def _deal_exists(deal_id: int) -> bool:
    """Whether the deal a note is for exists."""
    if as_id(deal_id) is None:
        return False
    deals = _deals_table()
    return db.session.scalar(select(deals.c.id).where(deals.c.id == deal_id)) is not None


# --- lookups for pages ------------------------------------------------------------------

def company_choices() -> list[tuple[int, str]]:
    """Every company as (id, name), by name: one narrow query for select boxes."""
    return list(db.session.execute(select(Company.id, Company.name).order_by(Company.name, Company.id)))


def find_contact_by_email(email: str) -> Contact | None:
    """The contact with this address (normalised first), or None; bad syntax reads as None."""
    try:
        email = normalize_email(email)
    except ValueError:
        return None
    return db.session.scalar(select(Contact).where(Contact.email == email))


def contact_names(contact_ids) -> dict[int, str]:
    """Display names for a handful of contacts (a company timeline names who each row is about)."""
    ids = {i for i in contact_ids if i is not None}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Contact.id, Contact.first_name, Contact.last_name, Contact.email).where(Contact.id.in_(ids))
    )
    return {cid: f"{first} {last}".strip() or email for cid, first, last, email in rows}


def timeline_names(activities: Page) -> dict[str, dict[int, str]]:
    """Names of the contacts and deals a page of activities points at: two small queries
    per page instead of one per row."""
    items = list(activities.items)
    deal_ids = {a.deal_id for a in items if a.deal_id is not None}
    deals = _deals_table()
    rows = db.session.execute(
        select(deals.c.id, deals.c.name, deals.c.currency).where(deals.c.id.in_(deal_ids))).all() if deal_ids else []
    # Currencies too: an amount on the timeline is shown in its deal's own currency (activities
    # written before they recorded it name none), never in a default one.
    return {"contacts": contact_names(a.contact_id for a in items), "deals": {i: name for i, name, _c in rows},
            "deal_currencies": {i: currency for i, _n, currency in rows}}
