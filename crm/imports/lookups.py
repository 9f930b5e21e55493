"""Small per-import caches shared by the contact and deal importers."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from crm.auth.models import User
from crm.contacts.emails import normalize_email
from crm.extensions import db

SALES_ROLES = ("rep", "manager", "admin")


@dataclass
class BatchResult:
    """What writing one batch did; ``rejections`` are (line number, reason) pairs."""

    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)


class RowRejected(Exception):
    """One row cannot be imported; the message is the reason shown to the user."""


class OwnerLookup:
    """Owner email -> user id, one query per distinct email for the whole import."""

    def __init__(self) -> None:
        self._cache: dict[str, int | str] = {}

    def id_for(self, raw_email: str) -> int:
        """:raises RowRejected: not an address, or no active sales user with it"""
        key = raw_email.strip().lower()
        if key not in self._cache:
            self._cache[key] = self._look_up(raw_email)
        found = self._cache[key]
        if isinstance(found, str):
            raise RowRejected(found)
        return found

    @staticmethod
    def _look_up(raw_email: str) -> int | str:
        try:
            email = normalize_email(raw_email)
        except ValueError:
            return f"owner: {raw_email!r} is not an email address"
        row = db.session.execute(
            select(User.id, User.role, User.is_active).where(User.email == email)
        ).first()
        if row is None or not row.is_active:
            return f"owner: no active user {email}"
        if row.role not in SALES_ROLES:
            return f"owner: {email} is a {row.role}, not a sales user"
        return row.id


def format_reason(message: str, fields: dict[str, str]) -> str:
    """A ValidationFailed as one line: ``email: not valid; phone: at most 40 characters``."""
    if not fields:
        return message
    return "; ".join(f"{key}: {value}" for key, value in fields.items())
