"""Input models of the sequences feature, one per write operation of the library: an email
template created or changed (``TemplateInput``: the service parses the stored template merged
with the change, so both are one model), a sequence's settings created or changed
(``SequenceCreate``, ``SequenceInput``: only the fields sent) and a step added or changed
(``StepCreate``, ``StepInput``: only the fields sent, read over the step being changed). Pages'
forms (``service_data``) and the API's bodies both reach the services as dicts, which parse them
here (``parse``): one set of rules, the same messages, keyed by field in ``ValidationFailed.fields``.

What needs the database or rendering stays in the services: a template's tokens (checked by
``rendering.validate_email_sources``) and whether a chosen template exists (the service passes
``template_exists`` in the context). These models check the input's shape."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from crm.sequences.models import EMAIL_KINDS, MAX_DELAY_DAYS, STEP_KINDS
from crm.validation import as_id, has_control_chars, parse_input

MAX_BODY = 100_000
MAX_SUBJECT = 500
MAX_TASK_NOTE = 5000
DEFAULT_WINDOW = (8 * 60, 17 * 60)  # a new sequence sends 08:00 to 17:00 unless told otherwise

def invalid(message: str, *, field: str | None = None, summary: str | None = None) -> PydanticCustomError:
    """A field's error, carried to ``ValidationFailed.fields`` word for word; ``field`` names it
    when a check of the whole model raises it, ``summary`` replaces the error's overall message."""
    return PydanticCustomError("invalid", "{message}", {"message": message, "field": field, "summary": summary})


#: ``parse(Model, data, message, **context)``: the kernel's one mapping of pydantic's errors
#: (``crm.validation.parse_input``; a whole-model check's ``summary`` replaces ``message``).
parse = parse_input


def flag(value: Any) -> bool:
    """A yes/no field: a real boolean, not a string or number that looks like one."""
    if not isinstance(value, bool):
        raise invalid("true or false")
    return value


def text(value: Any, *, limit: int, required: bool = False, multiline: bool = False) -> str:
    """One line (trimmed) or a body (line ends made "\\n"); no control characters in a line, no
    NUL anywhere."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise invalid("must be text")
    value = value.strip() if not multiline else value.replace("\r\n", "\n")
    if "\x00" in value or (not multiline and has_control_chars(value)):
        raise invalid("must not contain control characters")
    if len(value) > limit:
        raise invalid(f"at most {limit:,} characters")
    if required and not value.strip():
        raise invalid("required")
    return value


# --- templates ------------------------------------------------------------------------------

class TemplateInput(BaseModel):
    """A template's fields, all of them (an update parses the stored template with the change
    applied). A blank HTML body is no HTML body."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(None, validate_default=True)  # None: "required"
    subject: str = Field(None, validate_default=True)
    text_body: str = Field(None, validate_default=True)
    html_body: str | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        return text(value, limit=200, required=True)

    @field_validator("subject", mode="before")
    @classmethod
    def _subject(cls, value: Any) -> str:
        return text(value, limit=MAX_SUBJECT, required=True)

    @field_validator("text_body", mode="before")
    @classmethod
    def _text_body(cls, value: Any) -> str:
        return text(value, limit=MAX_BODY, required=True, multiline=True)

    @field_validator("html_body", mode="before")
    @classmethod
    def _html_body(cls, value: Any) -> str | None:
        html = text(value, limit=MAX_BODY, multiline=True)
        return html if html.strip() else None


# --- sequences ------------------------------------------------------------------------------

def window_minutes(value: Any) -> int:
    """'HH:MM' or minutes of the day, 0 to 1440."""
    if isinstance(value, int) and not isinstance(value, bool):
        minutes = value
    elif isinstance(value, str) and ":" in value:
        hours, _, mins = value.strip().partition(":")
        minutes = int(hours) * 60 + int(mins) if hours.isdigit() and mins.isdigit() and len(mins) == 2 else -1
    else:
        minutes = -1
    if not 0 <= minutes <= 1440:
        raise invalid("a time such as 08:00")
    return minutes


class SequenceInput(BaseModel):
    """A sequence's settings; on an update only the fields sent (``changes``). The send window
    must open before it closes, the fields not sent read from ``context["current"]`` (the
    sequence being changed; a new one has the default window)."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    send_days: list[int] | None = None
    window_start: int | None = None  # minutes of the day
    window_end: int | None = None
    colleague_reply_stops: bool | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        return text(value, limit=200, required=True)

    @field_validator("send_days", mode="before")
    @classmethod
    def _send_days(cls, value: Any) -> list[int]:
        if not isinstance(value, (list, tuple)) or not value or \
                not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in value):
            raise invalid("at least one weekday number, 0 (Monday) to 6 (Sunday)")
        return sorted(set(value))

    @field_validator("window_start", "window_end", mode="before")
    @classmethod
    def _window(cls, value: Any) -> int:
        return window_minutes(value)

    @field_validator("colleague_reply_stops", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> bool:
        return flag(value)

    @model_validator(mode="after")
    def _window_order(self, info: ValidationInfo) -> SequenceInput:
        current = (info.context or {}).get("current")
        start = self.window_start if self.window_start is not None else \
            (current.window_start_minute if current is not None else DEFAULT_WINDOW[0])
        end = self.window_end if self.window_end is not None else \
            (current.window_end_minute if current is not None else DEFAULT_WINDOW[1])
        if start >= end:
            raise invalid("must be after the window start", field="window_end")
        return self

    def changes(self) -> dict[str, Any]:
        """The sent fields as the sequence's columns."""
        columns = {"window_start": "window_start_minute", "window_end": "window_end_minute"}
        return {columns.get(key, key): getattr(self, key) for key in self.model_fields_set}


class SequenceCreate(SequenceInput):
    """A new sequence: the name is required; the other settings default to the table's."""

    name: str = Field(None, validate_default=True)  # None: "required"


# --- steps ----------------------------------------------------------------------------------

TemplateExists = Callable[[int], bool]


class StepInput(BaseModel):
    """A step's fields; on an update only the fields sent (``changes``), read over the step being
    changed (``context["current"]``). A blank text is no text; an empty template choice is none.
    An email step without a template needs its own subject and text. The chosen template must
    exist (``context["template_exists"]``, a check the service supplies)."""

    model_config = ConfigDict(extra="ignore")

    kind: str | None = None
    delay_days: int = 0
    template_id: int | None = None
    subject: str | None = None
    text_body: str | None = None
    html_body: str | None = None
    new_thread: bool = False
    task_note: str | None = None

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> str:
        if value not in STEP_KINDS:
            raise invalid(f"one of {', '.join(STEP_KINDS)}")
        return str(value)

    @field_validator("delay_days", mode="before")
    @classmethod
    def _delay_days(cls, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DELAY_DAYS:
            raise invalid(f"whole business days, 0 to {MAX_DELAY_DAYS}")
        return value

    @field_validator("template_id", mode="before")
    @classmethod
    def _template_id(cls, value: Any, info: ValidationInfo) -> int | None:
        if value in (None, "", 0):
            return None
        template_id = as_id(value)
        exists: TemplateExists | None = (info.context or {}).get("template_exists")
        if template_id is None or (exists is not None and not exists(template_id)):
            raise invalid("no such template")
        return template_id

    @field_validator("subject", mode="before")
    @classmethod
    def _subject(cls, value: Any) -> str | None:
        return text(value, limit=MAX_SUBJECT) or None

    @field_validator("text_body", "html_body", mode="before")
    @classmethod
    def _body(cls, value: Any) -> str | None:
        body = text(value, limit=MAX_BODY, multiline=True)
        return body if body.strip() else None

    @field_validator("task_note", mode="before")
    @classmethod
    def _task_note(cls, value: Any) -> str | None:
        note = text(value, limit=MAX_TASK_NOTE, multiline=True)
        return note if note.strip() else None

    @field_validator("new_thread", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> bool:
        return flag(value)

    @model_validator(mode="after")
    def _email_content(self, info: ValidationInfo) -> StepInput:
        current = (info.context or {}).get("current")
        if self.final("kind", current) in EMAIL_KINDS and self.final("template_id", current) is None and \
                not (self.final("subject", current) and self.final("text_body", current)):
            raise invalid("choose a template, or write a subject and text below", field="template_id",
                          summary="an email step needs a template or its own subject and text")
        return self

    def final(self, key: str, current: Any) -> Any:
        """The field as the step will have it: sent, else the current step's, else none."""
        return getattr(self, key) if key in self.model_fields_set else getattr(current, key, None)

    def own_email(self, current: Any) -> tuple[str, str, str | None] | None:
        """The step's own subject, text and HTML when it is an email step without a template
        (for the service's token check), else None."""
        if self.final("kind", current) not in EMAIL_KINDS or self.final("template_id", current) is not None:
            return None
        return self.final("subject", current), self.final("text_body", current), self.final("html_body", current)

    def changes(self) -> dict[str, Any]:
        """The sent fields as the step's columns."""
        return {key: getattr(self, key) for key in self.model_fields_set}


class StepCreate(StepInput):
    """A new step: the kind is required; the other fields default to the table's."""

    kind: str = Field(None, validate_default=True)  # None: "one of ..."
