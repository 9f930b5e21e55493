"""Input models of conversation review, one per write operation (and the queue's filters). Pages'
forms and the API feed the same models through the services, so both get the same rules and the
same messages keyed by field. Rules needing the database (a time beyond the recording's end, a
criterion of another rubric) stay in the services."""
from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from crm.i18n import _, _l
from crm.reviews.models import SAID_BY, SCORING
from crm.validation import MAX_ID, InputModel, has_control_chars

MAX_BODY = 5000
MAX_NAME = 120
MAX_PHRASES = 50
MAX_PHRASE = 120
MAX_CRITERIA = 20
MAX_SECONDS = 24 * 3600.0


def _text(value: Any, limit: int, *, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValueError(_("required"))
    if len(text) > limit:
        raise ValueError(_("at most %(max)s characters", max=limit))
    if has_control_chars(text.replace("\n", "").replace("\r", "").replace("\t", "")) or "\x00" in text:
        raise ValueError(_("must not contain control characters"))
    return text


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or value is None or value == "":
        raise ValueError(_("required: seconds from the start of the call"))
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(_("a number of seconds, such as 75 or 75.5")) from None
    if seconds != seconds or not 0 <= seconds <= MAX_SECONDS:
        raise ValueError(_("seconds from the start of the call, 0 or more"))
    return round(seconds, 3)


class CommentCreate(InputModel):
    INVALID: ClassVar[Any] = _l("invalid comment")

    parent_id: int | None = None  # first: the time's check reads it
    at_seconds: float | None = Field(None, validate_default=True)
    body: str = Field("", validate_default=True)

    @field_validator("at_seconds", mode="before")
    @classmethod
    def _at(cls, value: Any, info) -> float | None:
        if (info.data or {}).get("parent_id") is not None and value in (None, ""):
            return None
        return _seconds(value)

    @field_validator("body", mode="before")
    @classmethod
    def _body(cls, value: Any) -> str:
        return _text(value, MAX_BODY, required=True)

    @field_validator("parent_id", mode="before")
    @classmethod
    def _parent(cls, value: Any) -> int | None:
        if value in (None, ""):
            return None
        return _id(value)


def _id(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(_("an id"))
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(_("an id")) from None
    if not 0 < number <= MAX_ID:
        raise ValueError(_("an id"))
    return number


class TrackerInput(InputModel):
    INVALID: ClassVar[Any] = _l("invalid tracker")

    name: str = Field("", validate_default=True)
    phrases: list[str] = Field(default_factory=list, validate_default=True)
    said_by: str = Field("either", validate_default=True)

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        return _text(value, 80, required=True)

    @field_validator("phrases", mode="before")
    @classmethod
    def _phrases(cls, value: Any) -> list[str]:
        """A list, or text with one phrase per line or comma (as the page's textarea sends)."""
        if isinstance(value, str):
            value = [part for line in value.splitlines() for part in line.split(",")]
        if not isinstance(value, list):
            raise ValueError(_("a list of words or phrases"))
        phrases: list[str] = []
        for item in value:
            phrase = " ".join(_text(item, MAX_PHRASE).split())
            if phrase and phrase.casefold() not in {p.casefold() for p in phrases}:
                phrases.append(phrase)
        if not phrases:
            raise ValueError(_("at least one word or phrase"))
        if len(phrases) > MAX_PHRASES:
            raise ValueError(_("at most %(max)s phrases", max=MAX_PHRASES))
        if not all(any(ch.isalnum() for ch in phrase) for phrase in phrases):
            raise ValueError(_("each phrase needs a letter or digit"))
        return phrases

    @field_validator("said_by", mode="before")
    @classmethod
    def _said_by(cls, value: Any) -> str:
        value = (value or "either").strip() if isinstance(value, str) else value
        if value not in SAID_BY:
            raise ValueError(_("one of %(value)s", value=", ".join(SAID_BY)))
        return value


class CriterionInput(InputModel):
    name: str = Field("", validate_default=True)
    description: str = ""
    weight: float = 1.0

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        return _text(value, MAX_NAME, required=True)

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> str:
        return _text(value, 1000)

    @field_validator("weight", mode="before")
    @classmethod
    def _weight(cls, value: Any) -> float:
        if value in (None, ""):
            return 1.0
        try:
            weight = float(value)
        except (TypeError, ValueError):
            raise ValueError(_("a number from 0.1 to 100")) from None
        if not 0.1 <= weight <= 100:
            raise ValueError(_("a number from 0.1 to 100"))
        return weight


class RubricInput(InputModel):
    INVALID: ClassVar[Any] = _l("invalid rubric")

    name: str = Field("", validate_default=True)
    description: str = ""
    scoring: str = Field("mean", validate_default=True)
    criteria: list[CriterionInput] = Field(default_factory=list, validate_default=True)

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        return _text(value, MAX_NAME, required=True)

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> str:
        return _text(value, 2000)

    @field_validator("scoring", mode="before")
    @classmethod
    def _scoring(cls, value: Any) -> str:
        value = value or "mean"
        if value not in SCORING:
            raise ValueError(_("one of %(value)s", value=", ".join(SCORING)))
        return value

    @field_validator("criteria", mode="before")
    @classmethod
    def _criteria(cls, value: Any) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise ValueError(_("at least one criterion"))
        if len(value) > MAX_CRITERIA:
            raise ValueError(_("at most %(max)s criteria", max=MAX_CRITERIA))
        return value

    @model_validator(mode="after")
    def _distinct(self) -> RubricInput:
        names = [c.name.casefold() for c in self.criteria]
        if len(set(names)) != len(names):
            raise ValueError(_("two criteria have the same name"))
        return self


class RatingInput(InputModel):
    criterion_id: int = Field(0, validate_default=True)
    rating: int = Field(0, validate_default=True)
    note: str = ""

    @field_validator("criterion_id", mode="before")
    @classmethod
    def _criterion(cls, value: Any) -> int:
        return _id(value)

    @field_validator("rating", mode="before")
    @classmethod
    def _rating(cls, value: Any) -> int:
        if isinstance(value, bool) or value in (None, ""):
            raise ValueError(_("required: 1 to 5"))
        try:
            rating = int(str(value).strip())
        except (TypeError, ValueError):
            raise ValueError(_("a whole number from 1 to 5")) from None
        if not 1 <= rating <= 5:
            raise ValueError(_("a whole number from 1 to 5"))
        return rating

    @field_validator("note", mode="before")
    @classmethod
    def _note(cls, value: Any) -> str:
        return _text(value, 2000)


class ScorecardInput(InputModel):
    INVALID: ClassVar[Any] = _l("invalid scorecard")

    rubric_id: int = Field(0, validate_default=True)
    ratings: list[RatingInput] = Field(default_factory=list, validate_default=True)

    @field_validator("rubric_id", mode="before")
    @classmethod
    def _rubric(cls, value: Any) -> int:
        return _id(value)

    @field_validator("ratings", mode="before")
    @classmethod
    def _ratings(cls, value: Any) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise ValueError(_("rate every criterion from 1 to 5"))
        if len(value) > MAX_CRITERIA:
            raise ValueError(_("at most %(max)s ratings", max=MAX_CRITERIA))
        return value


class FolderInput(InputModel):
    INVALID: ClassVar[Any] = _l("invalid folder")

    name: str = Field("", validate_default=True)
    description: str = ""

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        return _text(value, MAX_NAME, required=True)

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> str:
        return _text(value, 2000)


class ClipInput(InputModel):
    INVALID: ClassVar[Any] = _l("invalid clip")

    folder_id: int = Field(0, validate_default=True)
    start_seconds: float = Field(0, validate_default=True)
    end_seconds: float = Field(0, validate_default=True)
    note: str = ""

    @field_validator("folder_id", mode="before")
    @classmethod
    def _folder(cls, value: Any) -> int:
        return _id(value)

    @field_validator("start_seconds", "end_seconds", mode="before")
    @classmethod
    def _times(cls, value: Any) -> float:
        return _seconds(value)

    @field_validator("note", mode="before")
    @classmethod
    def _note(cls, value: Any) -> str:
        return _text(value, 2000)

    @model_validator(mode="after")
    def _span(self) -> ClipInput:
        if self.end_seconds <= self.start_seconds:
            raise PydanticCustomError("invalid", "{summary}", {
                "summary": "the clip must end after it starts",
                "fields": {"end_seconds": "must be after the start"}})
        return self


class ShareInput(InputModel):
    INVALID: ClassVar[Any] = _l("invalid feedback")

    feedback: str = ""

    @field_validator("feedback", mode="before")
    @classmethod
    def _feedback(cls, value: Any) -> str:
        return _text(value, MAX_BODY)


class QueueFilters(InputModel):
    """The review queue's filters; every one optional. ``talk_min``/``talk_max``: the rep's share
    of the talking in percent (0-100); lengths in minutes; dates in the viewer's time zone."""

    INVALID: ClassVar[Any] = _l("invalid filters")

    rep_id: int | None = None
    outcome: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    min_minutes: float | None = Field(None, ge=0, le=24 * 60)
    max_minutes: float | None = Field(None, ge=0, le=24 * 60)
    tracker_id: int | None = None
    talk_min: float | None = Field(None, ge=0, le=100)
    talk_max: float | None = Field(None, ge=0, le=100)
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(25, ge=1, le=200)

    @field_validator("rep_id", "tracker_id", "outcome", "date_from", "date_to", "min_minutes", "max_minutes",
                     "talk_min", "talk_max", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("rep_id", "tracker_id", mode="after")
    @classmethod
    def _ids(cls, value: int | None) -> int | None:
        return None if value is None else _id(value)

    @field_validator("outcome", mode="after")
    @classmethod
    def _outcome(cls, value: str | None) -> str | None:
        return None if value is None else _text(value, 40)

    @model_validator(mode="after")
    def _ranges(self) -> QueueFilters:
        pairs = (("date_from", "date_to"), ("min_minutes", "max_minutes"), ("talk_min", "talk_max"))
        for low, high in pairs:
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and b < a:
                    raise PydanticCustomError("invalid", "{summary}", {
                    "summary": f"{high} is before {low}", "fields": {high: f"must not be less than {low}"}})
        return self
