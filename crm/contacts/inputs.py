"""Input models for the contact and company writes: the one validation every caller goes through.

A page's WTForms form (``service_data()``), the API's body (``model_dump(exclude_unset=True)``),
a CSV row and the demo seeder all hand a dict to the services, which parse it here. A create
model checks its required fields even when they are absent; an update model checks only the
fields sent. Every problem is reported at once, per field, as ``ValidationFailed(fields=...)``
with the same field names and messages the pages and the API have always shown.
"""
from __future__ import annotations

from typing import Any, Callable, ClassVar

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from crm.auth.services import sales_user_id
from crm.contacts.custom_fields import clean_custom_values
from crm.contacts.models import LIFECYCLE_STAGES, Company
from crm.errors import ValidationFailed
from crm.i18n import LANGUAGE_TAGS, _, _l, normalize_language
from crm.timeutil import is_valid_timezone
from crm.validation import InputModel, check_web_url, get_by_id, has_control_chars, normalize_email

CONTACT_TEXT_FIELDS = {
    "first_name": 100, "last_name": 100, "title": 200, "phone": 40,
    "linkedin_url": 300, "x_url": 300, "source": 100,
}
COMPANY_TEXT_FIELDS = {"name": 200, "industry": 100}
NAME_FIELDS = ("first_name", "last_name", "name")  # stored as "" rather than NULL when blank


# --- shared field rules --------------------------------------------------------------------------

def _text(value: Any, key: str, limit: int) -> tuple[str | None, str | None]:
    """The stripped text (None when blank, "" for names) and the problem with it, if any."""
    text = "" if value is None else str(value).strip()
    problem = None
    if len(text) > limit:
        problem = _("at most %(max)s characters", max=limit)
    elif has_control_chars(text):
        problem = _("contains control characters")
    return text or (None if key not in NAME_FIELDS else ""), problem


def _time_zone(value: Any) -> str | None:
    tz = (value or "").strip() or None
    if tz and not is_valid_timezone(tz):
        raise ValueError(_("unknown IANA time zone"))
    return tz


def _language(value: Any) -> str | None:
    """A contact's language tag (issue #17), or None: mail then follows the owner's."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    tag = normalize_language(value) if isinstance(value, str) else None
    if tag not in LANGUAGE_TAGS:
        raise ValueError(_("one of %(value)s, or empty for the owner's", value=", ".join(LANGUAGE_TAGS)))
    return tag


def _custom(entity: str, value: Any) -> dict[str, Any]:
    try:
        return clean_custom_values(entity, value or {})
    except ValidationFailed as exc:  # one error per custom key, expanded by ``parse``
        raise PydanticCustomError("custom_values", "invalid custom values", {"fields": exc.fields}) from None


def normalize_domain(raw: str | None) -> str | None:
    """A company's web domain as stored: lower-case, no scheme, path or ``www.``, in ASCII
    (IDNA) form, which is what is measured against the 253-character limit.

    :raises ValueError: not a domain name
    """
    if not raw or not str(raw).strip():
        return None
    domain = str(raw).strip().lower()
    for prefix in ("https://", "http://"):
        if domain.startswith(prefix):
            domain = domain[len(prefix):]
    domain = domain.split("/")[0].removeprefix("www.")
    if "." not in domain or " " in domain:
        raise ValueError(_("not a domain name"))
    ascii_domain = domain.encode("idna").decode("ascii")
    if len(ascii_domain) > 253:
        raise ValueError(_("not a domain name"))
    return ascii_domain


# --- contacts ------------------------------------------------------------------------------------

def _contact_text(field: str) -> Callable[[Any], str | None]:
    limit = CONTACT_TEXT_FIELDS[field]

    def check(value: Any) -> str | None:
        text, problem = _text(value, field, limit)
        if field in ("linkedin_url", "x_url") and text:
            try:
                check_web_url(text)
            except ValueError as url_problem:
                problem = _("must be an http(s) URL: %(reason)s", reason=str(url_problem))
        if problem:
            raise ValueError(problem)
        return text

    return check


def _stage(value: Any) -> str:
    stage = (value or "lead").strip().lower()
    if stage not in LIFECYCLE_STAGES:
        raise ValueError(_("one of %(value)s", value=", ".join(LIFECYCLE_STAGES)))
    return stage


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(_("must be true or false"))
    return value


#: The contact fields whose rule is a function of the value alone (no database, no other
#: field), in the model's field order: the contact input models apply these very functions, and
#: the CSV import checks a row's cells with them directly (building a model per row cost more
#: than its checks). A ``ValueError``'s message is the field's reason either way.
CONTACT_FIELD_CHECKS: dict[str, Callable[[Any], Any]] = {
    "email": normalize_email,
    **{field: _contact_text(field) for field in ("first_name", "last_name", "title", "phone",
                                                 "linkedin_url", "x_url", "source")},
    "time_zone": _time_zone,
    "language": _language,
    "lifecycle_stage": _stage,
    "do_not_contact": _flag,
    "unsubscribed": _flag,
}


class ContactUpdate(InputModel):
    """A change to a contact: only the fields sent are checked and changed."""

    INVALID: ClassVar[Any] = _l("invalid contact")

    email: Any = None
    first_name: Any = None
    last_name: Any = None
    title: Any = None
    phone: Any = None
    linkedin_url: Any = None
    x_url: Any = None
    source: Any = None
    time_zone: Any = None
    language: Any = None
    lifecycle_stage: Any = None
    do_not_contact: Any = None
    unsubscribed: Any = None
    owner_id: Any = None
    company_id: Any = None
    custom: Any = None

    @field_validator(*CONTACT_FIELD_CHECKS)
    @classmethod
    def _field(cls, value: Any, info) -> Any:
        return CONTACT_FIELD_CHECKS[info.field_name](value)

    @field_validator("owner_id")
    @classmethod
    def _owner(cls, value: Any) -> int | None:
        return sales_user_id(value)

    @field_validator("company_id")
    @classmethod
    def _company(cls, value: Any) -> int | None:
        if value in (None, ""):
            return None
        company = get_by_id(Company, value)
        if company is None:
            raise ValueError(_("no such company"))
        return company.id

    @field_validator("custom")
    @classmethod
    def _custom(cls, value: Any) -> dict[str, Any]:
        return _custom("contact", value)


class ContactCreate(ContactUpdate):
    """A new contact: the email is required and the lifecycle stage defaults to lead."""

    email: Any = Field(None, validate_default=True)
    lifecycle_stage: Any = Field(None, validate_default=True)


# --- companies -----------------------------------------------------------------------------------

class CompanyUpdate(InputModel):
    """A change to a company: only the fields sent are checked and changed."""

    INVALID: ClassVar[Any] = _l("invalid company")

    name: Any = None
    industry: Any = None
    domain: Any = None
    employee_count: Any = None
    time_zone: Any = None
    owner_id: Any = None
    custom: Any = None

    @field_validator(*COMPANY_TEXT_FIELDS)
    @classmethod
    def _text(cls, value: Any, info) -> str | None:
        text, problem = _text(value, info.field_name, COMPANY_TEXT_FIELDS[info.field_name])
        if problem:
            raise ValueError(problem)
        if info.field_name == "name" and not text:
            raise ValueError(_("required"))
        return text

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: Any) -> str | None:
        try:
            return normalize_domain(value)
        except (ValueError, UnicodeError):
            raise ValueError(_("not a domain name")) from None

    @field_validator("employee_count")
    @classmethod
    def _employees(cls, value: Any) -> int | None:
        if value in (None, ""):
            return None
        try:
            count = int(value)
        except (TypeError, ValueError):
            count = -1
        if not 0 <= count <= 10_000_000:
            raise ValueError(_("a whole number from 0 to 10,000,000"))
        return count

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: Any) -> str | None:
        return _time_zone(value)

    @field_validator("owner_id")
    @classmethod
    def _owner(cls, value: Any) -> int | None:
        return sales_user_id(value)

    @field_validator("custom")
    @classmethod
    def _custom(cls, value: Any) -> dict[str, Any]:
        return _custom("company", value)


class CompanyCreate(CompanyUpdate):
    """A new company: the name is required."""

    name: Any = Field(None, validate_default=True)


def contact_values(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Contact input (a form, the API, a CSV row) as model values (``partial``: an update)."""
    return (ContactUpdate if partial else ContactCreate).parse(data).values()


def company_values(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Company input as model values (``partial``: an update)."""
    return (CompanyUpdate if partial else CompanyCreate).parse(data).values()
