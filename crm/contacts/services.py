"""Contact and company services. They validate, flush and leave the commit to the caller."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import joinedload

from crm.auth.models import User
from crm.contacts.custom_fields import clean_custom_values, custom_filter_clause, list_custom_fields
from crm.contacts.emails import email_domain, is_freemail, normalize_email
from crm.contacts.models import LIFECYCLE_STAGES, Activity, Company, Contact
from crm.errors import Conflict, NotFound, ValidationFailed
from crm.extensions import db
from crm.policy import require_edit, require_sales
from crm.timeutil import is_valid_timezone
from crm.validation import as_id, get_by_id, has_control_chars
from crm.web.pagination import Page, clamp_page

CONTACT_TEXT_FIELDS = {
    "first_name": 100, "last_name": 100, "title": 200, "phone": 40,
    "linkedin_url": 300, "x_url": 300, "source": 100,
}
COMPANY_TEXT_FIELDS = {"name": 200, "industry": 100}
CONTACT_SORTS = {
    "name": (Contact.last_name, Contact.first_name),
    "email": (Contact.email,),
    "created": (Contact.created_at,),
    "stage": (Contact.lifecycle_stage,),
    "company": (Company.name,),
}


# --- shared field cleaning --------------------------------------------------------------

def _clean_text(data: dict, limits: dict[str, int], errors: dict, clean: dict) -> None:
    for key, limit in limits.items():
        if key not in data:
            continue
        value = data[key]
        value = "" if value is None else str(value).strip()
        if len(value) > limit:
            errors[key] = f"at most {limit} characters"
        elif has_control_chars(value):
            errors[key] = "contains control characters"
        clean[key] = value or (None if key not in ("first_name", "last_name", "name") else "")


def _clean_url(value: str | None, errors: dict, key: str) -> None:
    if value and not value.startswith(("https://", "http://")):
        errors[key] = "must be an http(s) URL"


def _clean_owner(owner_id: Any, errors: dict) -> int | None:
    if owner_id in (None, ""):
        return None
    owner = get_by_id(User, owner_id)
    if owner is None or owner.role not in ("rep", "manager", "admin"):
        errors["owner_id"] = "must be a sales user"
        return None
    return owner.id


def _clean_company_id(company_id: Any, errors: dict) -> int | None:
    if company_id in (None, ""):
        return None
    company = get_by_id(Company, company_id)
    if company is None:
        errors["company_id"] = "no such company"
        return None
    return company.id


def clean_contact_fields(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Validate contact input (from a form, the API or a CSV row) into model values.

    :param partial: True for updates: only the keys present are checked and returned
    :raises ValidationFailed: with every bad field at once
    """
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if "email" in data or not partial:
        try:
            clean["email"] = normalize_email(data.get("email"))
        except ValueError as exc:
            errors["email"] = str(exc)
    _clean_text(data, CONTACT_TEXT_FIELDS, errors, clean)
    for key in ("linkedin_url", "x_url"):
        _clean_url(clean.get(key), errors, key)
    if "time_zone" in data:
        tz = (data["time_zone"] or "").strip() or None
        if tz and not is_valid_timezone(tz):
            errors["time_zone"] = "unknown IANA time zone"
        clean["time_zone"] = tz
    if "lifecycle_stage" in data or not partial:
        stage = (data.get("lifecycle_stage") or "lead").strip().lower()
        if stage not in LIFECYCLE_STAGES:
            errors["lifecycle_stage"] = f"one of {', '.join(LIFECYCLE_STAGES)}"
        clean["lifecycle_stage"] = stage
    for flag in ("do_not_contact", "unsubscribed"):
        if flag in data:
            if not isinstance(data[flag], bool):
                errors[flag] = "must be true or false"
            clean[flag] = bool(data[flag])
    if "owner_id" in data:
        clean["owner_id"] = _clean_owner(data["owner_id"], errors)
    if "company_id" in data:
        clean["company_id"] = _clean_company_id(data["company_id"], errors)
    if "custom" in data:
        try:
            clean["custom"] = clean_custom_values("contact", data["custom"] or {})
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed("invalid contact", errors)
    return clean


# --- companies --------------------------------------------------------------------------

def normalize_domain(raw: str | None) -> str | None:
    if not raw or not str(raw).strip():
        return None
    domain = str(raw).strip().lower()
    for prefix in ("https://", "http://"):
        if domain.startswith(prefix):
            domain = domain[len(prefix):]
    domain = domain.split("/")[0].removeprefix("www.")
    if "." not in domain or " " in domain:
        raise ValueError("not a domain name")
    # Measure the ASCII (IDNA) form: that is what is stored, and it can be far longer.
    ascii_domain = domain.encode("idna").decode("ascii")
    if len(ascii_domain) > 253:
        raise ValueError("not a domain name")
    return ascii_domain


def clean_company_fields(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    _clean_text(data, COMPANY_TEXT_FIELDS, errors, clean)
    if not partial and not clean.get("name"):
        errors["name"] = "required"
    if "name" in clean and partial and not clean["name"]:
        errors["name"] = "required"
    if "domain" in data:
        try:
            clean["domain"] = normalize_domain(data["domain"])
        except (ValueError, UnicodeError):
            errors["domain"] = "not a domain name"
    if "employee_count" in data:
        value = data["employee_count"]
        if value in (None, ""):
            clean["employee_count"] = None
        else:
            try:
                clean["employee_count"] = int(value)
                if not 0 <= clean["employee_count"] <= 10_000_000:
                    raise ValueError
            except (TypeError, ValueError):
                errors["employee_count"] = "a whole number from 0 to 10,000,000"
    if "time_zone" in data:
        tz = (data["time_zone"] or "").strip() or None
        if tz and not is_valid_timezone(tz):
            errors["time_zone"] = "unknown IANA time zone"
        clean["time_zone"] = tz
    if "owner_id" in data:
        clean["owner_id"] = _clean_owner(data["owner_id"], errors)
    if "custom" in data:
        try:
            clean["custom"] = clean_custom_values("company", data["custom"] or {})
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed("invalid company", errors)
    return clean


def _domain_taken(domain: str | None, except_id: int | None = None) -> bool:
    if not domain:
        return False
    query = select(Company.id).where(Company.domain == domain)
    if except_id is not None:
        query = query.where(Company.id != except_id)
    return db.session.scalar(query) is not None


def create_company(actor: User, data: dict[str, Any], now: datetime) -> Company:
    require_sales(actor)
    clean = clean_company_fields(data, partial=False)
    if _domain_taken(clean.get("domain")):
        raise Conflict("a company with this domain exists", {"domain": "already taken"})
    company = Company(created_at=now, updated_at=now, **{"custom": {}, **clean})
    db.session.add(company)
    db.session.flush()
    return company


def update_company(actor: User, company_id: int, data: dict[str, Any], now: datetime) -> Company:
    company = get_company(company_id)
    require_edit(actor, company)
    clean = clean_company_fields(data, partial=True)
    if _domain_taken(clean.get("domain"), except_id=company.id):
        raise Conflict("a company with this domain exists", {"domain": "already taken"})
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
        raise NotFound("no such company")
    company = db.session.get(Company, company_id)
    if company is None:
        raise NotFound("no such company")
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
        like = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(Company.name).like(like), Company.domain.like(like)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
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
    clean = clean_contact_fields(data, partial=False)
    if db.session.scalar(select(Contact.id).where(Contact.email == clean["email"])):
        raise Conflict("a contact with this email exists", {"email": "already exists"})
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
    clean = clean_contact_fields(data, partial=True)
    if "email" in clean and clean["email"] != contact.email:
        if db.session.scalar(select(Contact.id).where(Contact.email == clean["email"])):
            raise Conflict("a contact with this email exists", {"email": "already exists"})
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
        raise NotFound("no such contact")
    contact = db.session.get(
        Contact, contact_id, options=[joinedload(Contact.company), joinedload(Contact.owner)]
    )
    if contact is None:
        raise NotFound("no such contact")
    return contact


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
    """Contacts matching a search over name, email and company name, with filters; two queries
    whatever the page size (a count and the page, company and owner joined in)."""
    page, per_page = clamp_page(page, per_page)
    query = select(Contact).outerjoin(Company, Contact.company_id == Company.id)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        full_name = func.lower(Contact.first_name + " " + Contact.last_name)
        query = query.where(
            or_(full_name.like(like), Contact.email.like(like), func.lower(Company.name).like(like))
        )
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
                raise ValidationFailed("unknown custom field", {f"custom.{key}": "unknown"})
            try:
                query = query.where(custom_filter_clause(Contact, fields[key], value))
            except ValueError as exc:
                raise ValidationFailed("bad filter", {f"custom.{key}": str(exc)}) from None
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
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

def record_activity(
    kind: str,
    occurred_at: datetime,
    *,
    contact_id: int | None = None,
    company_id: int | None = None,
    deal_id: int | None = None,
    user_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> Activity:
    """Append one timeline row. Every feature that touches a contact calls this."""
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    activity = Activity(
        kind=kind, occurred_at=occurred_at, contact_id=contact_id, company_id=company_id,
        deal_id=deal_id, user_id=user_id, details=details or {},
    )
    db.session.add(activity)
    db.session.flush()
    return activity


def add_note(
    actor: User, body: str, now: datetime, *, contact_id: int | None = None,
    company_id: int | None = None, deal_id: int | None = None,
) -> Activity:
    require_sales(actor)
    body = (body or "").strip()
    errors = {}
    if not body:
        errors["body"] = "required"
    elif len(body) > 10_000:
        errors["body"] = "at most 10,000 characters"
    if contact_id is None and company_id is None and deal_id is None:
        errors["contact_id"] = "a note belongs to a contact, company or deal"
    if errors:
        raise ValidationFailed("invalid note", errors)
    if contact_id is not None:
        contact = get_contact(contact_id)
        company_id = company_id or contact.company_id
    if company_id is not None:
        get_company(company_id)
    if deal_id is not None:
        from crm.deals.services import get_deal  # deals depend on contacts, not the reverse

        get_deal(deal_id)
    return record_activity(
        "note", now, contact_id=contact_id, company_id=company_id, deal_id=deal_id,
        user_id=actor.id, details={"body": body},
    )


def timeline(
    *, contact_id: int | None = None, company_id: int | None = None, deal_id: int | None = None,
    kind: str | None = None, page: int = 1, per_page: int = 25,
) -> Page:
    """A contact's, company's or deal's activities, newest first."""
    page, per_page = clamp_page(page, per_page, default=25)
    query = select(Activity)
    if contact_id is not None:
        query = query.where(Activity.contact_id == contact_id)
    if company_id is not None:
        query = query.where(Activity.company_id == company_id)
    if deal_id is not None:
        query = query.where(Activity.deal_id == deal_id)
    if kind:
        query = query.where(Activity.kind == kind)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(
        query.options(joinedload(Activity.user))
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items, page, per_page, total)


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
