"""Input limits every service applies, whatever the caller (page, API, CSV, CLI): ids and
integers that fit the database's columns, text without control characters (PostgreSQL refuses
NUL outright), numbers that stay finite once stored, web addresses that are really http(s),
email addresses in one normal form (users, contacts, mail and imports all match on it).
(Time zones: ``crm.timeutil.is_valid_timezone``.)"""
from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import urlsplit

import email_validator
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, ValidationError

from crm.errors import ValidationFailed
from crm.extensions import db

MAX_ID = 2**31 - 1  # INTEGER columns; past 2**63 SQLite cannot even bind the value
MAX_INT = 2**31 - 1
MAX_QUANTITY = 1e12
MAX_MONEY = 10**12  # Numeric(14, 2)
# Control characters (C0 and DEL) but tab, line feed and carriage return.
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def as_id(value: Any) -> int | None:
    """A record id, or None for junk, zero, negatives and numbers no column can hold."""
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def get_by_id(model, value: Any):
    record_id = as_id(value)
    return db.session.get(model, record_id) if record_id is not None else None


def has_control_chars(text: str) -> bool:
    return _CONTROL_CHARS.search(text) is not None


# --- web addresses ------------------------------------------------------------------------------

MAX_URL = 2000
_HOST_RE = re.compile(r"[\w-]+(?:\.[\w-]+)*\.?")  # letters (IDN too), digits, dashes, dots


def check_web_url(value: Any, *, max_length: int = MAX_URL) -> str:
    """``value`` as an absolute http(s) address a browser can open, stripped; the one check for
    every web address the app accepts and later puts in front of someone (a meeting's video
    link goes into invites, the ICS LOCATION and pages). Anything else -- ``javascript:``,
    ``data:``, ``file:``, ``mailto:``, a missing host ("http//x", "https://"), credentials in
    the address, spaces or control characters -- raises ``ValueError`` with the reason, which
    forms, API schemas and services turn into their own 4xx."""
    if not isinstance(value, str):
        raise ValueError("must be text")
    url = value.strip()
    if not url:
        raise ValueError("an http(s) address such as https://example.com/...")
    if len(url) > max_length:
        raise ValueError(f"at most {max_length} characters")
    if any(ch.isspace() for ch in url) or "\\" in url or has_control_chars(url):
        raise ValueError("must not contain spaces, backslashes or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number or out of range)
    except ValueError:
        raise ValueError("not a valid web address") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("only http:// and https:// addresses")
    host = parts.hostname or ""
    if not host or not (_is_host_name(host) or _is_ip_literal(host)):
        raise ValueError("needs a host name, as in https://example.com/...")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain a user name or password")
    return url


def is_web_url(value: Any, *, max_length: int = MAX_URL) -> bool:
    try:
        check_web_url(value, max_length=max_length)
    except ValueError:
        return False
    return True


def _is_host_name(host: str) -> bool:
    """DNS shape: at most 253 characters in labels of 1-63 (no name resolves otherwise)."""
    return (len(host) <= 253 and bool(_HOST_RE.fullmatch(host))
            and all(len(label) <= 63 for label in host.rstrip(".").split(".")))


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- email addresses ----------------------------------------------------------------------------

# The plain ASCII address almost every one is: a dot-atom local part (RFC 5322 atext, dots
# neither leading, trailing nor doubled) of at most 64 characters, and a host name of
# letter-digit-hyphen labels of 1-63 characters, at least two, ending in an alphabetic top-level
# label. email-validator accepts every such address (when it is at most 254 characters, which
# keeps the domain under its 253, no label has a hyphen pair, which rules out the R-LDH and Punycode
# "xn--" labels it looks into further, and the domain is not special-use) and normalises it to
# itself with the domain lower-cased; ``_plain_email`` answers those without it. Anything else,
# accepted or not, goes to email-validator. Checked against email-validator itself by
# tests/crm/test_email_fast_path.py (differential, with generated addresses).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
PLAIN_EMAIL = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+[A-Za-z]{{1,63}}")
EMAIL_MAX_LENGTH, LOCAL_MAX_LENGTH = 254, 64


def _plain_email(text: str) -> str | None:
    """``text`` lower-cased when it is a plain ASCII address email-validator accepts as it
    stands (see ``PLAIN_EMAIL``); None when email-validator has to decide."""
    if len(text) > EMAIL_MAX_LENGTH or not PLAIN_EMAIL.fullmatch(text):
        return None
    address = text.lower()
    local, _at, domain = address.partition("@")
    if len(local) > LOCAL_MAX_LENGTH or "--" in domain:
        return None
    names, suffixes = _special_use_domains()
    if domain in names or domain.endswith(suffixes):
        return None
    return address


_special_use: tuple[list[str], frozenset[str], tuple[str, ...]] = ([], frozenset(), ())


def _special_use_domains() -> tuple[frozenset[str], tuple[str, ...]]:
    """email-validator's special-use domains, and their subdomain suffixes (".local"), as it
    reads them now: an application may change the list, so it is compared at each call."""
    global _special_use
    current = email_validator.SPECIAL_USE_DOMAIN_NAMES
    if current != _special_use[0]:
        _special_use = (list(current), frozenset(current), tuple("." + name for name in current))
    return _special_use[1], _special_use[2]


def normalize_email(raw: str) -> str:
    """Validate (syntax only, no DNS) and normalise an address: trimmed, domain in IDNA-normal
    form, and the whole address lower-cased, because reps and imports type it every which way
    and duplicates by case are the most common CRM data bug. A kernel rule: sign-in (auth),
    contacts, mail and imports all match addresses in this form.

    :raises ValueError: with a human-readable reason
    """
    if raw is None or not str(raw).strip():
        raise ValueError("email is required")
    text = str(raw).strip()
    plain = _plain_email(text)
    if plain is not None:
        return plain
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return info.normalized.lower()


# --- input models -----------------------------------------------------------------------------

Validated = TypeVar("Validated", bound=BaseModel)


def field_errors(exc: ValidationError, root: str = "input") -> tuple[dict[str, str], str | None]:
    """Pydantic's errors as ``{"dotted.field": "reason"}`` (the first reason per field), and the
    summary a check of the whole model asked for, if any. The one mapping every input model, page
    and API route uses, so an error reads the same wherever the input came from:

    - a missing field reads ``required``; a validator's ``ValueError`` reads as written (without
      pydantic's "Value error, " prefix);
    - a ``PydanticCustomError`` may carry ``fields`` (several fields at once, e.g. a list's rows
      or custom fields), ``field`` (the field a whole-model check blames) and ``summary``;
    - an error about the input as a whole is filed under ``root``.
    """
    fields: dict[str, str] = {}
    summary: str | None = None
    for error in exc.errors(include_url=False):
        ctx = error.get("ctx") or {}
        summary = ctx.get("summary") or summary
        if ctx.get("fields"):
            for key, reason in ctx["fields"].items():
                fields.setdefault(key, reason)
            continue
        key = ctx.get("field") or ".".join(str(part) for part in error["loc"]) or root
        if error["type"] == "missing":
            reason = "required"
        elif error["type"] == "value_error":
            reason = str(ctx.get("error", error["msg"].removeprefix("Value error, ")))
        else:
            reason = error["msg"]
        fields.setdefault(key, reason)
    return fields, summary


def parse_input(model: type[Validated], data: Any, message: str, **context: Any) -> Validated:
    """``data`` (a dict; anything else reads as empty) validated by ``model``.

    :raises ValidationFailed: ``message`` (or a whole-model check's summary) with every bad field
    """
    try:
        return model.model_validate(data if isinstance(data, dict) else {}, context=context)
    except ValidationError as exc:
        fields, summary = field_errors(exc)
        raise ValidationFailed(summary or message, fields) from None


class InputModel(BaseModel):
    """The base of a write operation's input model. Fields arrive as typed by a person or a file
    (forms, the API, a CSV row); each field's validator shapes its own, and keys the model does
    not know are ignored, as the services always did. A create declares its required fields with
    ``validate_default=True``; an update checks only what is sent."""

    model_config = ConfigDict(extra="ignore", arbitrary_types_allowed=True)
    #: What ``ValidationFailed`` says above the per-field messages.
    INVALID: ClassVar[str] = "invalid input"

    @classmethod
    def parse(cls, data: dict[str, Any], **context: Any) -> Self:
        """The validated input; ``context`` reaches the validators (``info.context``).

        :raises ValidationFailed: with every bad field at once
        """
        try:
            return cls.model_validate(data, context=context or None)
        except ValidationError as exc:
            raise ValidationFailed(cls.INVALID, field_errors(exc)[0]) from None

    def values(self) -> dict[str, Any]:
        """The fields sent, plus those a create always sets, by field name, as validated."""
        return {name: getattr(self, name) for name in self.model_fields_set | _always_set(type(self))}


@functools.cache
def _always_set(model: type[InputModel]) -> frozenset[str]:
    """The fields a create always sets (``validate_default``), per model class."""
    return frozenset(name for name, info in model.model_fields.items() if info.validate_default)
