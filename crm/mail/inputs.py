"""Input models of the mail feature's settings: a rep's IMAP connection (``ImapAccountInput``),
fed by the account page's form and the API alike, so both give the same messages by field."""
from __future__ import annotations

import ipaddress
import re
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from crm.i18n import _, _l
from crm.mail.models import IMAP_SECURITY
from crm.validation import InputModel, has_control_chars

MAX_FOLDERS = 20
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        labels = host.rstrip(".").split(".")
        return len(host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


class ImapAccountInput(InputModel):
    """A rep's IMAP connection. ``password`` may be left out (or empty) when an account is
    already stored: the stored one is kept. ``security`` ``none`` (no TLS) is accepted only for
    a server on this machine (a local bridge such as DavMail or Proton Mail Bridge): anywhere
    else the password would cross the network in clear."""

    INVALID: ClassVar[Any] = _l("check the mailbox settings")

    host: str = Field(max_length=253)
    port: int | None = Field(None, ge=1, le=65535, description="default: 993 for ssl, 143 otherwise")
    security: str = Field("ssl", description="ssl (IMAPS), starttls, or none (this machine only)")
    username: str = Field(min_length=1, max_length=254)
    password: str | None = Field(None, max_length=500, description="the password or an app password; never returned")
    folders: list[str] = Field(default_factory=lambda: ["INBOX"], description="folders to read, e.g. INBOX")

    @field_validator("host", mode="before")
    @classmethod
    def _host(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(_("required"))
        value = value.strip()
        if not _is_host(value):
            raise ValueError(_("not a host name or IP address"))
        return value

    @field_validator("security", mode="before")
    @classmethod
    def _security(cls, value: Any) -> Any:
        value = (value or "ssl").strip().lower() if isinstance(value, str) or value is None else value
        if value not in IMAP_SECURITY:
            raise ValueError(_("choose ssl, starttls or none"))
        return value

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @field_validator("username", "password", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if isinstance(value, str) and has_control_chars(value):
            raise ValueError(_("contains control characters"))
        return value.strip() if isinstance(value, str) and not value.strip() else value

    @field_validator("folders", mode="before")
    @classmethod
    def _folders(cls, value: Any) -> Any:
        if isinstance(value, str):  # the page's text box: one folder per line or comma-separated
            value = re.split(r"[\n,]", value)
        if not isinstance(value, list):
            raise ValueError(_("a list of folder names"))
        names: list[str] = []
        for name in value:
            if not isinstance(name, str):
                raise ValueError(_("folder names are text"))
            name = name.strip()
            if not name:
                continue
            if len(name) > 200 or has_control_chars(name):
                raise ValueError(_("not a folder name: %(name)s", name=repr(name[:40])))
            if name not in names:
                names.append(name)
        if not names:
            raise ValueError(_("name at least one folder (INBOX)"))
        if len(names) > MAX_FOLDERS:
            raise ValueError(_("at most %(max)s folders", max=MAX_FOLDERS))
        return names

    @model_validator(mode="after")
    def _clear_text_only_on_this_machine(self) -> ImapAccountInput:
        if self.security == "none" and not is_loopback(self.host):
            raise field_error("security", "none (no TLS) is allowed only for a server on this machine; "
                                             "use ssl or starttls")
        if self.port is None:
            self.port = DEFAULT_PORTS[self.security]
        return self


def field_error(field: str, message: str) -> PydanticCustomError:
    """A whole-model check's error filed under one field."""
    return PydanticCustomError("invalid", "{summary}", {"summary": message, "fields": {field: message}})
