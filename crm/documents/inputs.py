"""One input model per write operation of the documents feature: pages' forms and the API
(and the public viewer's beacons and forward gate) all feed these."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar

from pydantic import Field, field_validator

from crm.i18n import _, _l
from crm.validation import InputModel, as_id, check_web_url, has_control_chars, normalize_email

MAX_BEACON_SECONDS = 30 * 60  # one beacon reports at most half an hour on one page
MAX_PAGE = 10_000
WATCH_MILESTONES = (25, 50, 75, 100)


def _name(value, limit: int) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise ValueError(_("required"))
    if len(text) > limit or has_control_chars(text):
        raise ValueError(_("at most %(max)s characters, no control characters", max=limit))
    return text


def _optional_id(value):
    if value in (None, "", 0, "0"):
        return None
    found = as_id(value)
    if found is None:
        raise ValueError(_("an id"))
    return found


class FolderCreate(InputModel):
    INVALID: ClassVar[Any] = _l("invalid folder")
    name: str = Field(validate_default=True, default="")

    @field_validator("name", mode="before")
    @classmethod
    def _check_name(cls, value):
        return _name(value, 120)


class NamedInFolder(InputModel):
    """The name and folder every library item has; a create requires the name, an update
    checks what is sent (the subclasses declare the fields, these validators check them)."""

    INVALID: ClassVar[Any] = _l("invalid content")

    @field_validator("name", mode="before", check_fields=False)
    @classmethod
    def _check_name(cls, value):
        return _name(value, 200)

    @field_validator("folder_id", mode="before", check_fields=False)
    @classmethod
    def _check_folder(cls, value):
        return _optional_id(value)


class ContentCreate(NamedInFolder):
    """A document or video's name and folder (the file is checked by the storage)."""

    name: str = Field(validate_default=True, default="")
    folder_id: int | None = None
    url: str | None = None  # videos: an external https video file instead of an upload
    use_in_emails: bool = False

    @field_validator("url", mode="before")
    @classmethod
    def _check_url(cls, value):
        if value in (None, ""):
            return None
        url = check_web_url(value, max_length=2000)
        if not url.lower().startswith("https://"):
            raise ValueError(_("an https:// address"))
        return url

    @field_validator("use_in_emails", mode="before")
    @classmethod
    def _check_flag(cls, value):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "on", "yes", "y")
        return bool(value)


class ContentUpdate(NamedInFolder):
    """Rename an item or move it to another folder (``folder_id`` null: out of any folder)."""

    name: str | None = None
    folder_id: int | None = None


class LinkCreate(InputModel):
    INVALID: ClassVar[Any] = _l("invalid share link")
    contact_id: int = Field(validate_default=True, default=0)
    expires_at: datetime | None = None
    allow_download: bool = False

    @field_validator("contact_id", mode="before")
    @classmethod
    def _check_contact(cls, value):
        found = as_id(value)
        if found is None:
            raise ValueError(_("a contact id"))
        return found

    @field_validator("expires_at", mode="before")
    @classmethod
    def _check_expiry(cls, value):
        if value in (None, ""):
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(_("a date and time, ISO 8601 (2027-01-31T18:00:00Z)")) from None
        if not isinstance(value, datetime):
            raise ValueError(_("a date and time, ISO 8601"))
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

    @field_validator("allow_download", mode="before")
    @classmethod
    def _check_flag(cls, value):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "on", "yes", "y")
        return bool(value)


class Beacon(InputModel):
    """What the viewer's script reports: seconds on a page (documents) or a watch milestone
    (videos), for the viewing session ``view``."""

    INVALID: ClassVar[Any] = _l("invalid beacon")
    view: str = Field(validate_default=True, default="")
    page: int | None = None
    seconds: float = 0.0
    percent: int | None = None

    @field_validator("view", mode="before")
    @classmethod
    def _check_view(cls, value):
        text = str(value or "")
        if not 16 <= len(text) <= 64 or not all(c.isalnum() or c in "-_" for c in text):
            raise ValueError(_("the viewing session's key"))
        return text

    @field_validator("page", mode="before")
    @classmethod
    def _check_page(cls, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit() \
                or not 1 <= int(value) <= MAX_PAGE:
            raise ValueError(_("a page number"))
        return int(value)

    @field_validator("seconds", mode="before")
    @classmethod
    def _check_seconds(cls, value):
        if value in (None, ""):
            return 0.0
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise ValueError(_("a number of seconds")) from None
        if isinstance(value, bool) or not 0 <= seconds <= MAX_BEACON_SECONDS:
            raise ValueError(_("between 0 and %(max)s seconds", max=MAX_BEACON_SECONDS))
        return seconds

    @field_validator("percent", mode="before")
    @classmethod
    def _check_percent(cls, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool) or str(value) not in {str(m) for m in (0, *WATCH_MILESTONES)}:
            raise ValueError(_("0, 25, 50, 75 or 100"))
        return int(value)


class ReaderIdentify(InputModel):
    """The forward gate: who is reading."""

    INVALID: ClassVar[Any] = _l("please check the form")
    email: str = Field(validate_default=True, default="")
    first_name: str = ""
    last_name: str = ""

    @field_validator("email", mode="before")
    @classmethod
    def _check_email(cls, value):
        return normalize_email(str(value or ""))

    @field_validator("first_name", "last_name", mode="before")
    @classmethod
    def _check_names(cls, value):
        text = " ".join(str(value or "").split())
        if len(text) > 100 or has_control_chars(text):
            raise ValueError(_("at most 100 characters"))
        return text
