"""Input limits every service applies, whatever the caller (page, API, CSV, CLI): ids and
integers that fit the database's columns, text without control characters (PostgreSQL refuses
NUL outright), numbers that stay finite once stored, web addresses that are really http(s),
email addresses in one normal form (users, contacts, mail and imports all match on it).
(Time zones: ``crm.timeutil.is_valid_timezone``.)"""
from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar, Self, TypeVar, get_args
from urllib.parse import urlsplit

import email_validator
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core.core_schema import ErrorType

from crm.errors import ValidationFailed
from crm.extensions import db
from crm.i18n import _, _l, ngettext

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
    the address, spaces or control characters -- raises ``ValueError`` with the reason (in the
    reader's language), which forms, API schemas and services turn into their own 4xx."""
    if not isinstance(value, str):
        raise ValueError(_("must be text"))
    url = value.strip()
    if not url:
        raise ValueError(_("an http(s) address such as https://example.com/..."))
    if len(url) > max_length:
        raise ValueError(_("at most %(max)s characters", max=max_length))
    if any(ch.isspace() for ch in url) or "\\" in url or has_control_chars(url):
        raise ValueError(_("must not contain spaces, backslashes or control characters"))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number or out of range)
    except ValueError:
        raise ValueError(_("not a valid web address")) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(_("only http:// and https:// addresses"))
    host = parts.hostname or ""
    if not host or not (_is_host_name(host) or _is_ip_literal(host)):
        raise ValueError(_("needs a host name, as in https://example.com/..."))
    if parts.username is not None or parts.password is not None:
        raise ValueError(_("must not contain a user name or password"))
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

class InvalidEmail(ValueError):
    """An address email-validator refuses: ``str()`` is the reason in the reader's language
    (``email_reason``), ``detail`` email-validator's own English sentence (for logs)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.detail = detail or reason


# email-validator's sentences (English only) mapped to our reasons, first match wins.
_EMAIL_REASONS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"must have an @-sign"), lambda m: _("an email address needs an @ (name@example.com)")),
    (re.compile(r"something before the @-sign"), lambda m: _("nothing before the @")),
    (re.compile(r"something after the @-sign"), lambda m: _("nothing after the @")),
    (re.compile(r"too long|so many characters"), lambda m: _("too long for an email address")),
    (re.compile(r"(?:invalid|unsafe) characters[^:]*: (.+?)\.?$"),
     lambda m: _("contains characters an email address cannot have: %(chars)s", chars=m.group(1))),
    (re.compile(r"special-use or reserved"), lambda m: _("a reserved domain that cannot receive email")),
    (re.compile(r"after the @-sign is not valid|bracketed IP"),
     lambda m: _("the part after the @ is not a domain such as example.com")),
    (re.compile(r"period"), lambda m: _("a dot in the wrong place (at the start or the end, next to the @, "
                                        "or two in a row)")),
    (re.compile(r"hyphen"), lambda m: _("a hyphen in the wrong place after the @")),
)


def email_reason(detail: str) -> str:
    """One of email-validator's English sentences as our reason, in the reader's language."""
    for pattern, reason in _EMAIL_REASONS:
        match = pattern.search(detail)
        if match:
            return reason(match)
    return _("not a valid email address")


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

    :raises InvalidEmail: a ``ValueError`` with the reason in the reader's language
    """
    if raw is None or not str(raw).strip():
        raise InvalidEmail(_("email is required"))
    text = str(raw).strip()
    plain = _plain_email(text)
    if plain is not None:
        return plain
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(email_reason(str(exc)), str(exc)) from None
    return info.normalized.lower()


# --- input models -----------------------------------------------------------------------------

Validated = TypeVar("Validated", bound=BaseModel)


#: Pydantic's own error types (``pydantic_core.core_schema.ErrorType``): anything else is a
#: feature's ``PydanticCustomError``, whose message is the feature's own.
PYDANTIC_ERRORS = frozenset(get_args(ErrorType))


def _limit(value: Any) -> str:
    """A bound as people write it: 10, 0.5, 1000000000000 (not 1e12 or 10.0)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _choices(expected: Any) -> str:
    """Pydantic's "'a', 'b' or 'c'" as "a, b, c" (no English "or")."""
    return ", ".join(re.findall(r"'([^']*)'", str(expected))) or str(expected)


def _characters(n: Any, at_least: bool) -> str:
    n = int(n)
    if at_least:
        return ngettext("at least %(num)s character", "at least %(num)s characters", n)
    return ngettext("at most %(num)s character", "at most %(num)s characters", n)


def _items(n: Any, at_least: bool) -> str:
    n = int(n)
    if at_least:
        return ngettext("at least %(num)s item", "at least %(num)s items", n)
    return ngettext("at most %(num)s item", "at most %(num)s items", n)


_WHOLE = ("int_parsing", "int_type", "int_from_float", "int_parsing_size")
_NUMBER = ("float_parsing", "float_type", "decimal_parsing", "decimal_type", "fraction_parsing", "fraction_type",
           "complex_type", "complex_str_parsing")
_DAY = ("date_parsing", "date_type", "date_from_datetime_parsing", "date_from_datetime_inexact")
_MOMENT = ("datetime_parsing", "datetime_type", "datetime_from_date_parsing", "datetime_object_invalid")
_LIST = ("list_type", "tuple_type", "set_type", "frozen_set_type", "iterable_type", "iteration_error")
_OBJECT = ("dict_type", "model_type", "model_attributes_type", "dataclass_type", "mapping_type")
_URL = ("url_parsing", "url_syntax_violation", "url_type")
_CHOICE = ("enum", "literal_error")

_REASONS: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda ctx: _("required"),
    "string_too_short": lambda ctx: _characters(ctx.get("min_length", 1), True),
    "string_too_long": lambda ctx: _characters(ctx.get("max_length", 0), False),
    "url_too_long": lambda ctx: _characters(ctx.get("max_length", 0), False),
    "bytes_too_short": lambda ctx: _characters(ctx.get("min_length", 1), True),
    "bytes_too_long": lambda ctx: _characters(ctx.get("max_length", 0), False),
    "too_short": lambda ctx: _items(ctx.get("min_length", 1), True),
    "too_long": lambda ctx: _items(ctx.get("max_length", 0), False),
    "greater_than": lambda ctx: _("a number above %(limit)s", limit=_limit(ctx.get("gt"))),
    "greater_than_equal": lambda ctx: _("a number of %(limit)s or more", limit=_limit(ctx.get("ge"))),
    "less_than": lambda ctx: _("a number below %(limit)s", limit=_limit(ctx.get("lt"))),
    "less_than_equal": lambda ctx: _("a number of %(limit)s or less", limit=_limit(ctx.get("le"))),
    "multiple_of": lambda ctx: _("a multiple of %(limit)s", limit=_limit(ctx.get("multiple_of"))),
    "finite_number": lambda ctx: _("a finite number"),
    "decimal_max_digits": lambda ctx: ngettext("at most %(num)s digit", "at most %(num)s digits",
                                               int(ctx.get("max_digits", 0))),
    "decimal_max_places": lambda ctx: ngettext("at most %(num)s decimal", "at most %(num)s decimals",
                                               int(ctx.get("decimal_places", 0))),
    "decimal_whole_digits": lambda ctx: ngettext("at most %(num)s digit before the decimal point",
                                                 "at most %(num)s digits before the decimal point",
                                                 int(ctx.get("whole_digits", 0))),
    "bool_parsing": lambda ctx: _("true or false"),
    "bool_type": lambda ctx: _("true or false"),
    "date_past": lambda ctx: _("a date in the past"),
    "date_future": lambda ctx: _("a date in the future"),
    "datetime_past": lambda ctx: _("a moment in the past"),
    "datetime_future": lambda ctx: _("a moment in the future"),
    "time_parsing": lambda ctx: _("a time HH:MM"),
    "time_type": lambda ctx: _("a time HH:MM"),
    "timezone_aware": lambda ctx: _("a date and time with its UTC offset, such as 2026-03-10T14:30:00Z"),
    "timezone_naive": lambda ctx: _("a date and time without a UTC offset"),
    "string_type": lambda ctx: _("text"),
    "string_unicode": lambda ctx: _("text (valid Unicode)"),
    "string_pattern_mismatch": lambda ctx: _("not in the expected format"),
    "bytes_type": lambda ctx: _("text"),
    "url_scheme": lambda ctx: _("an address starting with %(schemes)s",
                                schemes=", ".join(f"{s}://" for s in _choices(ctx.get("expected_schemes", ""))
                                                  .split(", "))),
    "json_invalid": lambda ctx: _("malformed JSON"),
    "json_type": lambda ctx: _("JSON text"),
    "extra_forbidden": lambda ctx: _("not a known field"),
    "unexpected_keyword_argument": lambda ctx: _("not a known field"),
    "string_not_ascii": lambda ctx: _("plain ASCII text"),
    "uuid_parsing": lambda ctx: _("a UUID"),
    "uuid_type": lambda ctx: _("a UUID"),
    "none_required": lambda ctx: _("must be empty (null)"),
    "union_tag_invalid": lambda ctx: _("one of %(value)s", value=_choices(ctx.get("expected_tags", ""))),
    "union_tag_not_found": lambda ctx: _("needs its %(tag)s", tag=ctx.get("discriminator", "")),
    **{kind: (lambda ctx: _("a whole number")) for kind in _WHOLE},
    **{kind: (lambda ctx: _("a number")) for kind in _NUMBER},
    **{kind: (lambda ctx: _("a date YYYY-MM-DD")) for kind in _DAY},
    **{kind: (lambda ctx: _("a date and time such as 2026-03-10T14:30:00Z")) for kind in _MOMENT},
    **{kind: (lambda ctx: _("a list")) for kind in _LIST},
    **{kind: (lambda ctx: _("an object")) for kind in _OBJECT},
    **{kind: (lambda ctx: _("a valid web address")) for kind in _URL},
    **{kind: (lambda ctx: _("one of %(value)s", value=_choices(ctx.get("expected", "")))) for kind in _CHOICE},
}


def error_reason(error: Any) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) as the reason people read,
    in their language: pydantic's own messages are English only, so each of its error types
    reads from the catalogue with its figures (``ctx``); a validator's ``ValueError`` reads as
    written (it is translated where raised), without pydantic's "Value error, " prefix; a
    feature's ``PydanticCustomError`` as its message; any other pydantic error as "invalid value"."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")))
    reason = _REASONS.get(kind)
    if reason is not None:
        try:
            return str(reason(ctx))
        except (TypeError, ValueError):  # a ctx without the figure we expect
            pass
    elif kind not in PYDANTIC_ERRORS:
        return str(error["msg"])
    return _("invalid value")


def field_errors(exc: ValidationError, root: str = "input") -> tuple[dict[str, str], str | None]:
    """Pydantic's errors as ``{"dotted.field": "reason"}`` (the first reason per field), and the
    summary a check of the whole model asked for, if any. The one mapping every input model, page
    and API route uses, so an error reads the same wherever the input came from:

    - each reason reads in the reader's language (``error_reason``): a missing field reads
      ``required``, a too long text ``at most 200 characters``, a validator's ``ValueError`` as
      written (without pydantic's "Value error, " prefix);
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
        fields.setdefault(key, error_reason(error))
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
    INVALID: ClassVar[Any] = _l("invalid input")

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
