"""Input models of the meetings feature, one per write operation: a meeting type created
(``MeetingTypeCreate``) or changed (``MeetingTypeUpdate``, only the fields sent), and a guest's
booking (``GuestBooking``). The services parse what pages' forms, the public booking page and
the API hand them through these (``parse``), so every caller gets the same rules and the same
messages, keyed by field (``weekly_hours.2``, ``answers.q1``) as ``ValidationFailed.fields``.

Rules that need the database (a slug taken, members who are active sales users) stay in the
services: these models check the shape of the input only."""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from crm.contacts.services import normalize_email
from crm.i18n import _
from crm.meetings import availability as av
from crm.timeutil import is_valid_timezone
from crm.validation import has_control_chars, parse_input

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,78}[a-z0-9])$")
MAX_QUESTIONS = 10
MAX_ANSWER = 2000
MAX_MEMBERS = 50
MAX_WEEKLY_RANGES = 70
LOCATION_KINDS = ("video", "phone", "address", "none")

#: What a new meeting type has for the fields not given.
TYPE_DEFAULTS: dict[str, Any] = {
    "description": "", "buffer_before_minutes": 0, "buffer_after_minutes": 0, "min_notice_hours": 4,
    "not_today": False, "horizon_days": 30, "increment_minutes": 30, "daily_max": None,
    "location_kind": "video", "location_value": "", "questions": [], "is_active": True,
}
INT_LIMITS = {
    "duration_minutes": (5, 720), "buffer_before_minutes": (0, 240), "buffer_after_minutes": (0, 240),
    "min_notice_hours": (0, 24 * 60), "horizon_days": (1, 365), "increment_minutes": (5, 720),
    "daily_max": (1, 100),
}


# --- errors ---------------------------------------------------------------------------------

def invalid(fields: dict[str, str]) -> PydanticCustomError:
    """A validation error carrying its messages by field (a list's rows get their own keys)."""
    return PydanticCustomError("invalid", "{summary}", {"summary": "; ".join(fields.values()), "fields": fields})


#: ``parse(Model, data, message, **context)``: the kernel's one mapping of pydantic's errors.
parse = parse_input


# --- shared checks ----------------------------------------------------------------------------

def clean_text(value: Any, limit: int, field: str, *, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise invalid({field: "required"})
    if len(text) > limit:
        raise invalid({field: f"at most {limit} characters"})
    if has_control_chars(text):
        raise invalid({field: "must not contain control characters"})
    return text


def whole_number(value: Any, field: str) -> int:
    low, high = INT_LIMITS[field]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid({field: f"a whole number from {low} to {high}"})
    return value


def weekly_rows(rows: Any) -> list[dict[str, Any]]:
    """``[{"weekday", "start", "end"}]`` checked: known weekday, HH:MM, start before end, and
    no two ranges of a day overlapping (they would offer the same slot twice)."""
    if not isinstance(rows, list) or not rows:
        raise invalid({"weekly_hours": "give at least one range of hours"})
    if len(rows) > MAX_WEEKLY_RANGES:
        raise invalid({"weekly_hours": f"at most {MAX_WEEKLY_RANGES} ranges"})
    errors: dict[str, str] = {}
    clean, spans = [], []
    for i, row in enumerate(rows):
        try:
            weekday = row["weekday"]
            if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
                raise ValueError(_("weekday is 0 (Monday) to 6 (Sunday)"))
            start, end = av.parse_hhmm(row["start"]), av.parse_hhmm(row["end"])
            if start >= end:
                raise ValueError(_("start must be before end"))
        except (KeyError, TypeError) as exc:
            errors[f"weekly_hours.{i}"] = _("needs weekday, start and end (%(name)s)", name=exc.__class__.__name__)
            continue
        except ValueError as exc:
            errors[f"weekly_hours.{i}"] = str(exc)
            continue
        spans.append((weekday, start, end, i))
        clean.append({"weekday": weekday, "start": av.format_hhmm(start), "end": av.format_hhmm(end)})
    spans.sort()
    for (d1, _s1, e1, _i1), (d2, s2, _e2, i2) in zip(spans, spans[1:]):
        if d1 == d2 and s2 < e1:
            errors[f"weekly_hours.{i2}"] = _("overlaps another range of the same day")
    if errors:
        raise invalid(errors)
    return sorted(clean, key=lambda r: (r["weekday"], r["start"]))


def question_rows(rows: Any) -> list[dict[str, Any]]:
    if rows in (None, ""):
        return []
    if not isinstance(rows, list) or len(rows) > MAX_QUESTIONS:
        raise invalid({"questions": f"a list of at most {MAX_QUESTIONS} questions"})
    errors: dict[str, str] = {}
    clean = []
    for i, row in enumerate(rows):
        label = row.get("label") if isinstance(row, dict) else row
        try:
            label = clean_text(label, 200, f"questions.{i}", required=True)
        except PydanticCustomError as exc:
            errors.update((exc.context or {})["fields"])
        required = bool(row.get("required")) if isinstance(row, dict) else False
        clean.append({"key": f"q{i + 1}", "label": label, "required": required})
    if errors:
        raise invalid(errors)
    return clean


# --- meeting types ----------------------------------------------------------------------------

class MeetingTypeUpdate(BaseModel):
    """A change to a meeting type: only the fields sent (``model_fields_set``) change. Values
    arrive as the page's form or the API's body gives them; each is checked and cleaned here."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    slug: str | None = None
    description: str | None = None
    duration_minutes: int | None = None
    time_zone: str | None = None
    weekly_hours: list[dict[str, Any]] | None = None
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    min_notice_hours: int | None = None
    not_today: bool | None = None
    horizon_days: int | None = None
    increment_minutes: int | None = None
    daily_max: int | None = None
    location_kind: str | None = None
    location_value: str | None = None
    questions: list[dict[str, Any]] | None = None
    member_ids: list[int] | None = None
    is_active: bool | None = None

    @field_validator("name", mode="plain")
    @classmethod
    def _name(cls, value: Any) -> str:
        return clean_text(value, 120, "name", required=True)

    @field_validator("slug", mode="plain")
    @classmethod
    def _slug(cls, value: Any) -> str:
        slug = str(value or "").strip().lower()
        if not SLUG_RE.match(slug):
            raise invalid({"slug": "3-80 lower-case letters, digits and dashes"})
        return slug

    @field_validator("description", mode="plain")
    @classmethod
    def _description(cls, value: Any) -> str:
        return clean_text(value, 2000, "description")

    @field_validator("location_value", mode="plain")
    @classmethod
    def _location_value(cls, value: Any) -> str:
        return clean_text(value, 500, "location_value")

    @field_validator("time_zone", mode="plain")
    @classmethod
    def _time_zone(cls, value: Any) -> str:
        if not is_valid_timezone(value):
            raise invalid({"time_zone": "not a known time zone (IANA name such as Europe/Berlin)"})
        return str(value)

    @field_validator(*INT_LIMITS, mode="plain")
    @classmethod
    def _whole_number(cls, value: Any, info: ValidationInfo) -> int | None:
        if value is None and info.field_name == "daily_max":
            return None
        return whole_number(value, str(info.field_name))

    @field_validator("weekly_hours", mode="plain")
    @classmethod
    def _weekly_hours(cls, value: Any) -> list[dict[str, Any]]:
        return weekly_rows(value)

    @field_validator("questions", mode="plain")
    @classmethod
    def _questions(cls, value: Any) -> list[dict[str, Any]]:
        return question_rows(value)

    @field_validator("location_kind", mode="plain")
    @classmethod
    def _location_kind(cls, value: Any) -> str:
        if value not in LOCATION_KINDS:
            raise invalid({"location_kind": "one of " + ", ".join(LOCATION_KINDS)})
        return str(value)

    @field_validator("not_today", "is_active", mode="plain")
    @classmethod
    def _flag(cls, value: Any) -> bool:
        return bool(value)

    @field_validator("member_ids", mode="plain")
    @classmethod
    def _member_ids(cls, value: Any) -> list[int]:
        """Shape only: whether they are active sales users is the service's check."""
        if value in (None, ""):
            return []
        ids = sorted({int(v) for v in value if str(v).isdigit()}) if isinstance(value, list) else None
        if ids is None or len(ids) > MAX_MEMBERS:
            raise invalid({"member_ids": f"a list of at most {MAX_MEMBERS} user ids"})
        return ids

    def changes(self) -> dict[str, Any]:
        """The fields sent, cleaned."""
        return {key: getattr(self, key) for key in self.model_fields_set}


class MeetingTypeCreate(MeetingTypeUpdate):
    """A new meeting type: name, link, duration, zone and weekly hours are required; the rest
    default to ``TYPE_DEFAULTS`` (and no team members)."""

    name: str
    slug: str
    duration_minutes: int
    time_zone: str
    weekly_hours: list[dict[str, Any]]


# --- booking ----------------------------------------------------------------------------------

class GuestBooking(BaseModel):
    """The guest's details on the public booking page or the API. The answers are checked
    against the meeting type's questions, given as validation context ``questions``."""

    model_config = ConfigDict(extra="ignore", validate_default=True)

    name: str = ""
    email: str = ""
    tz: str = "UTC"
    answers: dict[str, str] = Field(default_factory=dict)

    @field_validator("name", mode="plain")
    @classmethod
    def _name(cls, value: Any) -> str:
        return clean_text(value, 200, "name", required=True)

    @field_validator("email", mode="plain")
    @classmethod
    def _email(cls, value: Any) -> str:
        try:
            email = normalize_email(str(value or "")[:254])
            if len(email) > 254:
                raise ValueError(_("too long"))
        except ValueError as exc:
            raise invalid({"email": str(exc)}) from None
        return email

    @field_validator("tz", mode="plain")
    @classmethod
    def _tz(cls, value: Any) -> str:
        zone = str(value or "UTC")
        if not is_valid_timezone(zone):
            raise invalid({"tz": "not a known time zone"})
        return zone

    @field_validator("answers", mode="plain")
    @classmethod
    def _answers(cls, value: Any, info: ValidationInfo) -> dict[str, str]:
        given = value if isinstance(value, dict) else {}
        errors: dict[str, str] = {}
        clean: dict[str, str] = {}
        for question in (info.context or {}).get("questions") or []:
            key = question["key"]
            try:
                answer = clean_text(given.get(key, ""), MAX_ANSWER, f"answers.{key}",
                                    required=bool(question.get("required")))
            except PydanticCustomError as exc:
                errors.update((exc.context or {})["fields"])
                continue
            if answer:
                clean[key] = answer
        if errors:
            raise invalid(errors)
        return clean
