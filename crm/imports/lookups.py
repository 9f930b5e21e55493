"""Pieces shared by the contact and deal importers: the owner lookup, batch results, the
batch transaction and set-membership queries that stay fast on both databases."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from crm.auth.models import User
from crm.contacts.services import normalize_email
from crm.extensions import db
from crm.policy import SALES_ROLES


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


def begin_batch_transaction() -> bool:
    """Open the batch's transaction explicitly on SQLite; True when this batch then holds the
    database's only write lock from its first statement.

    pysqlite opens its transaction lazily, at the first write, and a SAVEPOINT issued before
    that would open one of its own whose release commits: the batch would no longer be one
    transaction. ``BEGIN IMMEDIATE`` also takes the write lock at once, so nobody else can
    insert rows while the batch runs (the contact writer relies on it to find its new ids).
    """
    connection = db.session.connection()
    if connection.dialect.name != "sqlite" or connection.connection.dbapi_connection.in_transaction:
        return False
    connection.exec_driver_sql("BEGIN IMMEDIATE")
    return True


def in_values(column, values):
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)`` instead.

    A thousand-item IN list is a different statement for each list length, slow to plan, and
    once psycopg prepares it the server may keep a generic plan made while the table was still
    small (a sequential scan): looking up a batch's emails against 100,000 contacts then took a
    minute instead of half a second. One array parameter plans once, with an index scan.
    """
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)
