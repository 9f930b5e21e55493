"""Field cleaning for contacts and companies: the one place input from a page, the API, a CSV
row or the demo seeder becomes model values, with every problem reported per field."""
from __future__ import annotations

from typing import Any

from crm.auth.models import User
from crm.contacts.custom_fields import clean_custom_values
from crm.contacts.emails import normalize_email
from crm.contacts.models import LIFECYCLE_STAGES, Company
from crm.errors import ValidationFailed
from crm.timeutil import is_valid_timezone
from crm.validation import check_web_url, get_by_id, has_control_chars

CONTACT_TEXT_FIELDS = {
    "first_name": 100, "last_name": 100, "title": 200, "phone": 40,
    "linkedin_url": 300, "x_url": 300, "source": 100,
}
COMPANY_TEXT_FIELDS = {"name": 200, "industry": 100}

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
    if not value:
        return
    try:
        check_web_url(value)
    except ValueError as problem:
        errors[key] = f"must be an http(s) URL: {problem}"


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
