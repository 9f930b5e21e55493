"""Pieces shared by the contact and deal importers: the owner lookup, batch results, the
batch transaction and set-membership queries that stay fast on both databases."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from itertools import repeat
from operator import add, itemgetter
from typing import Any

import psycopg
from psycopg.adapt import PyFormat
from psycopg.types.json import Json, Jsonb
from sqlalchemy import String, any_, bindparam, insert, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from crm.auth.models import User
from crm.contacts.services import normalize_email
from crm.extensions import db
from crm.i18n import _
from crm.policy import SALES_ROLES


@dataclass
class BatchResult:
    """What writing one batch did; ``rejections`` are (line number, reason) pairs."""

    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)
    # Lines skipped on purpose (a report's footer), with why: counted as skipped, shown apart.
    notes: list[tuple[int, str]] = field(default_factory=list)


class RowRejected(Exception):
    """One row cannot be imported; the message is the reason shown to the user."""


class RowSkipped(Exception):
    """One line is not a row at all (a report's footer): skipped, the message kept as a note."""


class OwnerLookup:
    """Owner cell -> user id, cached for the whole import. The cell is a user's email or, as
    Salesforce and Pipedrive export owners, their exact full name (case and accents folded:
    "rita berger" and "Rita Bérger" find "Rita Berger"). One query per distinct email; the
    users' names are read once, on the first name."""

    def __init__(self, *, preload: bool = False) -> None:
        self._cache: dict[str, int | str] = {}
        self._by_name: dict[str, list[tuple[int, str, bool, str]]] | None = None
        self._by_email: dict[str, tuple[int, str, bool]] | None = None
        if preload:  # every user now (a staff-sized table): answers need no database afterwards
            self._by_email = {}
            self._load_names()

    def id_for(self, raw: str) -> int:
        """:raises RowRejected: no active sales user with that email or name"""
        key = raw.strip().lower()
        if key not in self._cache:
            self._cache[key] = self._look_up_email(raw) if "@" in raw else self._look_up_name(raw)
        found = self._cache[key]
        if isinstance(found, str):
            raise RowRejected(found)
        return found

    def _look_up_email(self, raw_email: str) -> int | str:
        try:
            email = normalize_email(raw_email)
        except ValueError:
            return _("owner: %(value)s is not an email address", value=repr(raw_email))
        if self._by_email is not None:
            row = self._by_email.get(email)
        else:
            row = db.session.execute(
                select(User.id, User.role, User.is_active).where(User.email == email)
            ).first()
        if row is None or not row[2]:
            return _("owner: no active user %(email)s", email=email)
        if row[1] not in SALES_ROLES:
            return _("owner: %(email)s is a %(role)s, not a sales user", email=email, role=row[1])
        return row[0]

    def _load_names(self) -> None:
        self._by_name = {}
        for user_id, name, role, active, email in db.session.execute(
            select(User.id, User.name, User.role, User.is_active, User.email)
        ):
            self._by_name.setdefault(_name_key(name), []).append((user_id, role, active, email))
            if self._by_email is not None:
                self._by_email[email] = (user_id, role, active)

    def _look_up_name(self, raw_name: str) -> int | str:
        if self._by_name is None:
            self._load_names()
        candidates = [c for c in self._by_name.get(_name_key(raw_name), []) if c[2]]
        if not candidates:
            return _("owner: no active user named %(name)s (give the user's email or exact full name)",
                     name=repr(raw_name.strip()))
        if len(candidates) > 1:
            emails = ", ".join(sorted(c[3] for c in candidates))
            return _("owner: %(count)s users are named %(name)s (%(emails)s): give the email", count=len(candidates),
                     name=repr(raw_name.strip()), emails=emails)
        user_id, role, _active, email = candidates[0]
        if role not in SALES_ROLES:
            return _("owner: %(email)s is a %(role)s, not a sales user", email=email, role=role)
        return user_id


def _name_key(name: str | None) -> str:
    """A full name compared without case, accents or repeated spaces."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(plain.split())


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


def in_parameter(column, name: str):
    """``in_values`` with the values bound at execution, as the list parameter ``name``: the
    statement can be built once and reused (nothing per value happens in Python when it is
    executed, where ``in_values`` coerces each value into the statement)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


class BulkInsert:
    """``INSERT`` of many rows of one table, the statement compiled once and each column's bind
    processing (time stamps, JSON) done by SQLAlchemy's own processors, but once per distinct
    value: an import's rows share their time stamps, empty custom values and flags, and Core
    would process every one of them on every row.

    The rows go to the driver as tuples in the statement's parameter order, built a column at a
    time by C-level loops (``itemgetter``, ``zip``, ``map``) rather than per row in Python.
    ``constants`` are columns with the same value in every row: given once, not per row (on
    SQLite they are written into the statement as SQL literals, so the driver binds only what
    varies).

    SQLite: the driver's executemany. PostgreSQL (psycopg): ``COPY ... FROM STDIN``, the bulk
    load PostgreSQL recommends, measured at less than half the time of psycopg's pipelined
    executemany (which in turn beat Core's and one multi-row VALUES statement); constraints,
    defaults and triggers apply to copied rows as to inserted ones, and a failure raises the
    same SQLAlchemy errors (an ``IntegrityError`` for a duplicate, ...)."""

    def __init__(self, table, columns: list[str], *, skip_conflicts_on: list[str] | None = None,
                 constants: dict[str, Any] | None = None):
        """``columns``: the keys of every row given to ``execute``; ``constants``: the values of
        other columns, the same for every row; ``skip_conflicts_on`` (SQLite only): the columns
        of a unique constraint, a row that would break it is left out (``ON CONFLICT ... DO
        NOTHING``) instead of failing."""
        self.table, self.columns = table, columns
        self.skip_conflicts_on = skip_conflicts_on
        self.constants = dict(constants or {})
        self._compiled = None

    def execute(self, rows: list[dict]) -> int:
        """Insert ``rows``; the number inserted (fewer only when conflicts are skipped)."""
        if not rows:
            return 0
        connection = db.session.connection()
        if self._compiled is None:
            self._compiled = self._compile(connection)
        if self._compiled is False:
            if self.constants:
                rows = [{**self.constants, **row} for row in rows]
            result = db.session.execute(self._statement(connection.dialect), rows)
            return len(rows) if self.skip_conflicts_on is None else result.rowcount
        sql, positions, processed, copy, tail = self._compiled
        parameters = self._parameters(rows, positions, processed)
        if copy:
            if tail:
                parameters = list(map(add, parameters, repeat(tail)))
            self._copy(connection, sql, parameters)
            return len(rows)
        # sqlite3 sums an executemany's changes into rowcount.
        return connection.exec_driver_sql(sql, parameters).rowcount

    def _statement(self, dialect):
        if self.skip_conflicts_on is None:
            return insert(self.table)
        if dialect.name != "sqlite":
            raise NotImplementedError("skip_conflicts_on is for SQLite")
        return sqlite_insert(self.table).on_conflict_do_nothing(index_elements=self.skip_conflicts_on)

    def _compile(self, connection):
        dialect = connection.dialect
        copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
        statement = self._statement(dialect)
        keys = self.columns + list(self.constants)
        if self.constants and not copy:
            literals = self._literals(dialect)
            if literals is None:
                return False
            statement = statement.values({column: literal_column(sql) for column, sql in literals.items()})
            keys = self.columns
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        # PostgreSQL compiles a RETURNING of the new ids the import does not read.
        sql = compiled.string.partition(" RETURNING ")[0]
        positions = compiled.positiontup
        if positions is None and dialect.paramstyle == "pyformat" and not compiled.escaped_bind_names:
            positions = _NAMED_PARAMETER.findall(sql)
            sql = _NAMED_PARAMETER.sub("%s", sql)
        if not positions or len(set(positions)) != len(positions) or not set(positions) <= set(keys):
            # A column with a default computed in Python that the rows lack, or a statement this
            # class does not know how to take apart: let Core do it.
            return False
        processors = {column: self.table.c[column].type._cached_bind_processor(dialect) for column in positions}
        tail: tuple = ()
        if copy:
            # psycopg would serialise a JSON value again on every row it appears in: once per value.
            json_text = _JsonText(connection.connection.dbapi_connection)
            processors = {column: json_text.after(p) if p else None for column, p in processors.items()}
            constant_columns = [column for column in positions if column in self.constants]
            positions = [column for column in positions if column not in self.constants]
            tail = tuple(processors[c](self.constants[c]) if processors[c] else self.constants[c]
                         for c in constant_columns)
            quote = dialect.identifier_preparer.quote
            sql = (f"COPY {dialect.identifier_preparer.format_table(self.table)} "
                   f"({', '.join(quote(column) for column in positions + constant_columns)}) FROM STDIN")
        processed = [(index, processors[column]) for index, column in enumerate(positions)
                     if processors[column] is not None]
        return sql, tuple(positions), processed, copy, tail

    def _literals(self, dialect) -> dict[str, str] | None:
        """The constants as SQL literals once processed (text, whole numbers, NULL), or None
        when one is something else."""
        literals = {}
        for column, value in self.constants.items():
            process = self.table.c[column].type._cached_bind_processor(dialect)
            value = process(value) if process is not None else value
            if value is None:
                literals[column] = "NULL"
            elif isinstance(value, int) and not isinstance(value, bool):
                literals[column] = str(value)
            elif isinstance(value, str) and "\x00" not in value:
                literals[column] = "'" + value.replace("'", "''") + "'"
            else:
                return None
        return literals

    @staticmethod
    def _copy(connection, sql: str, parameters: list[tuple]) -> None:
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            with cursor.copy(sql) as copy:
                write_row = copy.write_row
                for row in parameters:
                    write_row(row)
        except psycopg.Error as exc:
            raise DBAPIError.instance(sql, None, exc, psycopg.Error, dialect=connection.dialect) from exc
        finally:
            cursor.close()

    @staticmethod
    def _parameters(rows: list[dict], positions: tuple[str, ...], processed) -> list[tuple]:
        if len(positions) == 1:
            tuples = [(row[positions[0]],) for row in rows]
        else:
            tuples = list(map(itemgetter(*positions), rows))
        if not processed:
            return tuples
        columns: list[Any] = list(zip(*tuples))
        for index, process in processed:
            values = columns[index]  # keeps every value alive: no id() below is reused
            distinct = dict(zip(map(id, values), values))
            done = {key: process(value) for key, value in distinct.items()}
            columns[index] = map(done.__getitem__, map(id, values))
        return list(zip(*columns))


class _JsonText:
    """psycopg's JSON wrappers (what SQLAlchemy's JSON bind processors give on PostgreSQL) as
    their JSON text, serialised by the connection's own dumpers, as psycopg would send them: in
    COPY's text format the column parses it."""

    def __init__(self, dbapi_connection):
        self.dumpers = {kind: dbapi_connection.adapters.get_dumper(kind, PyFormat.TEXT)(kind, dbapi_connection)
                        for kind in (Json, Jsonb)}

    def after(self, process):
        dumpers = self.dumpers

        def as_text(value):
            value = process(value)
            dumper = dumpers.get(type(value))
            return value if dumper is None else bytes(dumper.dump(value)).decode("utf-8")

        return as_text


_NAMED_PARAMETER = re.compile(r"%\((\w+)\)s")
