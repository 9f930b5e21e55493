"""Contact rows: cleaning each row (through the contact services' own validation) and writing
a batch with a handful of statements whatever its size.

Per batch: one SELECT for the batch's emails already in the database, the company lookups
(``CompanyResolver``), one bulk INSERT of the new contacts, one INSERT ... SELECT of their
``contact_created`` activities, and a bulk UPDATE by primary key for duplicates.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, any_, bindparam, func, insert, literal, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY

from crm.auth.models import User
from crm.contacts.models import Activity, Contact
from crm.contacts.services import (
    CONTACT_FIELD_CHECKS,
    FALSE_WORDS,
    TRUE_WORDS,
    clean_custom_values,
    list_custom_fields,
)
from crm.errors import ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.imports.cells import FooterDetector, language, lifecycle_stage, parse_when
from crm.imports.companies import CompanyKey, CompanyResolver, clean_company_cells
from crm.imports.lookups import (
    BatchResult,
    BulkInsert,
    OwnerLookup,
    RowRejected,
    RowSkipped,
    begin_batch_transaction,
    format_reason,
    in_parameter,
)
from crm.imports.mapping import CUSTOM_PREFIX, Mapping
from crm.imports.seen import SeenEmails
from crm.jsontype import JSONType
from crm.policy import can_edit_owned
from crm.timeutil import UTCDateTime

DIRECT_FIELDS = {"email", "first_name", "last_name", "title", "phone", "time_zone",
                 "lifecycle_stage", "linkedin_url", "x_url", "source"}
FLAG_FIELDS = {"do_not_contact", "unsubscribed"}
NEW_CONTACT_DEFAULTS: dict[str, Any] = {
    "first_name": "", "last_name": "", "title": None, "phone": None, "company_id": None,
    "owner_id": None, "time_zone": None, "lifecycle_stage": "lead", "do_not_contact": False,
    "unsubscribed": False, "linkedin_url": None, "x_url": None, "source": "import", "custom": {},
    "language": None,
}

CREATED_DETAILS = {"source": "import"}
NO_CUSTOM: dict[str, Any] = {}  # shared by rows without custom values: serialised once per batch
# Cells checked on every row: nearly every value differs, so remembering verdicts would only cost.
UNIQUE_FIELDS = {"email", "phone"}
# PostgreSQL: the sequence behind a table's id column, and ``count`` new ids from it.
ID_SEQUENCE = text("SELECT pg_get_serial_sequence(:table, 'id')")
NEXT_IDS = text("SELECT nextval(CAST(:sequence AS regclass)) FROM generate_series(1, :count)")
MEMO_SIZE = 5_000  # verdicts remembered (~1 MB); a file of unique values just refills it


@dataclass(slots=True)
class ContactRow:
    """A row that passed validation: only the non-empty mapped fields are in ``fields``."""

    email: str
    fields: dict[str, Any]
    custom: dict[str, Any]
    company: CompanyKey | None
    explicit_company: bool  # named by a company/domain column, not guessed from the email
    raw_email: str = ""  # as written in the file, to tell a repeat that differs only in case


def _parse_flag(value: str) -> bool | str:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return value  # left as text: the contact rules report "must be true or false"


_DIRECT, _FLAG, _CUSTOM, _EXTRA = range(4)  # what a mapped column feeds


def _column_kind(target: str) -> int:
    if target in DIRECT_FIELDS:
        return _DIRECT
    if target in FLAG_FIELDS:
        return _FLAG
    if target.startswith(CUSTOM_PREFIX):
        return _CUSTOM
    return _EXTRA


class ContactRowCleaner:
    """Turns the cells of one record into a ``ContactRow`` or raises ``RowRejected``."""

    def __init__(self, mapping: Mapping, owners: OwnerLookup, *, day_first: bool = False,
                 now: datetime | None = None):
        self.width = len(mapping.headers)
        self.columns = [(i, t) for i, t in enumerate(mapping.targets) if t]
        # Worked out once, not per row: what each mapped column feeds, and the shortest row
        # that has every mapped column.
        self._plan = [(i, t[len(CUSTOM_PREFIX):] if _column_kind(t) == _CUSTOM else t, _column_kind(t))
                      for i, t in self.columns]
        self._needed = max((i + 1 for i, _t in self.columns), default=0)
        self.owners = owners
        self.day_first, self.now = day_first, now
        self.footer = FooterDetector()
        self._memo: dict[tuple, tuple] = {}
        # Loaded once: clean_custom_values would otherwise query the definitions per row.
        self.custom_definitions = list_custom_fields("contact")

    def clean(self, values: list[str], line: int = 0) -> ContactRow:
        data, custom, extra = self._split(values)
        # A row with an email and another filled cell is never a report's footer (the
        # detector's own first test, done here without the call: this runs on every row).
        if "email" not in data or len(values) - values.count("") <= 1:
            note = self.footer.note_for(values, "email" not in data)
            if note:
                raise RowSkipped(note)
        if len(values) > self.width and any(v.strip() for v in values[self.width:]):
            raise RowRejected(
                _("%(count)s fields but the header has %(width)s (a stray comma or quote?)",
                  count=len(values), width=self.width)
            )
        if "email" not in data:
            raise RowRejected(_("email: empty"))
        errors: dict[str, str] = {}
        owner_id = None
        kept = None
        if extra:
            if "owner" in extra:
                # The owner lookup applies the contact input's owner rule (an active sales user)
                # from users it read once, so the database is not asked again per row.
                try:
                    owner_id = self.owners.id_for(extra["owner"])
                except RowRejected as exc:
                    errors["owner"] = str(exc).removeprefix("owner: ")
            if "language" in extra or "created_at" in extra:
                kept = self._kept_fields(extra, errors)
        if "lifecycle_stage" in data:
            data["lifecycle_stage"] = lifecycle_stage(data["lifecycle_stage"])
        clean = self._validated(data, errors)
        if custom:
            try:
                custom = clean_custom_values("contact", custom, definitions=self.custom_definitions)
            except ValidationFailed as exc:
                errors.update(exc.fields)
        domain, name = self._company_cells(extra.get("company"), extra.get("domain"), errors)
        if errors:
            raise RowRejected(format_reason("invalid contact", errors))
        email = clean.pop("email")
        if kept:
            clean.update(kept)
        if owner_id is not None:
            clean["owner_id"] = owner_id
        return ContactRow(email, clean, custom, self._company_key(domain, name, email), bool(domain or name),
                          data["email"])

    def _validated(self, data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
        """``contact_values(data, partial=True)``, by the contact input's own field rules
        (``CONTACT_FIELD_CHECKS``, the functions the input model applies) without building a
        model per row, with the verdicts on repeated cells reused. Problems are added to
        ``errors``; the row's values come back.

        Every rule there is a function of one field's value (no rule looks at two fields), so
        a title, first name or stage seen before gets the same answer as last time; only the
        cells that differ row to row (email, phone, new values) are checked each time. Same
        rules, same messages, a fraction of the work on a file where thousands of rows share a
        handful of titles."""
        clean: dict[str, Any] = {}
        problems: dict[str, str] = {}
        memo = self._memo
        for key, value in data.items():
            repeated = key not in UNIQUE_FIELDS
            if repeated:
                verdict = memo.get((key, value))
                if verdict is not None:
                    if verdict[0]:
                        clean[key] = verdict[1]
                    else:
                        errors[key] = verdict[1]
                    continue
            check = CONTACT_FIELD_CHECKS.get(key)
            if check is None:
                continue  # not a contact input field: ignored, as the model ignores it
            try:
                clean[key] = result = check(value)
            except ValueError as exc:
                problems[key] = str(exc)
                if repeated:
                    self._remember((key, value), (False, problems[key]))
            else:
                if repeated:
                    self._remember((key, value), (True, result))
        if problems:
            if len(problems) > 1:  # in field order, as the model reports them
                problems = {key: problems[key] for key in CONTACT_FIELD_CHECKS if key in problems}
            errors.update(problems)
        return clean

    def _company_cells(self, name: str | None, domain: str | None, errors: dict[str, str]):
        """``clean_company_cells``, its verdict on a (name, domain) pair reused like ``_validated``."""
        if name is None and domain is None:
            return None, None  # no company cells: nothing to check
        key = ("company_cells", name, domain)
        verdict = self._memo.get(key)
        if verdict is None:
            problems: dict[str, str] = {}
            verdict = (clean_company_cells(name, domain, problems), problems)
            self._remember(key, verdict)
        if verdict[1]:
            errors.update(verdict[1])
        return verdict[0]

    def _company_key(self, domain: str | None, name: str | None, email: str) -> CompanyKey | None:
        """``CompanyKey.for_row``, one key object per (cells, email domain): the same few
        thousand companies recur on every row, and the batch writer groups rows by key."""
        memo_key = ("company_key", domain, name, email.rpartition("@")[2])
        key = self._memo.get(memo_key)
        if key is None:
            key = (CompanyKey.for_row(domain, name, email),)
            self._remember(memo_key, key)
        return key[0]

    def _remember(self, key: tuple, verdict: tuple) -> None:
        if len(self._memo) >= MEMO_SIZE:
            self._memo.clear()  # bounded memory; the next rows refill it
        self._memo[key] = verdict

    def _kept_fields(self, extra: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
        """The language and the creation date, which the contact input rules do not take."""
        kept: dict[str, Any] = {}
        if "language" in extra:
            code = language(extra["language"])
            if code is None:
                errors["language"] = _("%(value)s: en (English) or es (Spanish)", value=repr(extra['language']))
            kept["language"] = code
        if "created_at" in extra:
            try:
                created = parse_when(extra["created_at"], day_first=self.day_first)
            except ValueError as exc:
                errors["created_at"] = str(exc)
            else:
                if self.now is not None and created > self.now:
                    errors["created_at"] = _("%(value)s is in the future", value=repr(extra['created_at']))
                kept["created_at"] = created
        return kept

    def _split(self, values: list[str]) -> tuple[dict, dict, dict]:
        data: dict[str, Any] = {}
        custom: dict[str, str] = {}
        extra: dict[str, str] = {}
        short = len(values) < self._needed
        for index, target, kind in self._plan:
            if short and index >= len(values):
                continue
            value = values[index].strip()
            if not value:
                continue
            if kind == _DIRECT:
                data[target] = value
            elif kind == _EXTRA:
                extra[target] = value
            elif kind == _FLAG:
                data[target] = _parse_flag(value)
            else:
                custom[target] = value
        if "full_name" in extra and "first_name" not in data and "last_name" not in data:
            first, _space, last = extra["full_name"].rpartition(" ")
            data["first_name"], data["last_name"] = (first, last) if first else (last, "")
        return data, custom, extra


class ContactBatchWriter:
    """Writes one batch of clean rows. Flushes, never commits: the runner owns the transaction."""

    def __init__(self, actor: User, now: datetime, on_duplicate: str, companies: CompanyResolver,
                 default_owner_id: int | None):
        self.actor, self.now, self.on_duplicate = actor, now, on_duplicate
        self.actor_id = actor.id  # read once: the actor object is expired by every batch's commit
        self.companies = companies
        self.default_owner_id = default_owner_id
        # A new contact's values before its row's own: unowned ones go to the default owner.
        self._defaults = {**NEW_CONTACT_DEFAULTS, "created_at": now, "email": None, "custom": NO_CUSTOM,
                          "updated_at": now, "owner_id": default_owner_id}
        self._sole_writer = False
        self._bulks: dict[tuple, BulkInsert] = {}
        self._activities: dict[str, Any] = {}
        self._id_sequence: str | None = None
        self._existing_query = None

    def write(self, batch: list[tuple[int, ContactRow]]) -> BatchResult:
        result = BatchResult()
        self._sole_writer = begin_batch_transaction()
        emails = [row.email for _line, row in batch]
        unique = len(set(emails)) == len(emails)
        if self._sole_writer and unique:
            # SQLite, the batch alone writing: insert it as all new, and only if some email
            # turns out to exist, undo that and go the long way below.
            created = self._insert_if_all_new(batch)
            if created is not None:
                result.created = created
                return result
        # 1. Which emails already exist (one query), with what the permission check needs.
        existing = self._existing(emails)
        if not existing and unique:
            # The usual batch: every row is a new contact.
            result.created = self._insert(*self._all_new_rows(batch))
            return result
        # 2. Sort rows into inserts, updates, skips and refusals, in file order.
        inserts: dict[str, dict[str, Any]] = {}
        updates: dict[int, dict[str, Any]] = {}
        keys: dict[str, CompanyKey | None] = {}
        for line, row in batch:
            if row.email in inserts or row.email in existing:
                self._duplicate(line, row, inserts, updates, existing, keys, result)
            else:
                inserts[row.email] = self._new_values(row, None)
                keys[row.email] = row.company
        # 3. Companies for every row that names or implies one.
        self.companies.resolve(keys.values())
        for email, key in keys.items():
            company_id = self.companies.id_for(key)
            if email in inserts:
                inserts[email]["company_id"] = company_id
            elif company_id is not None:
                updates[existing[email][0]]["company_id"] = company_id
        # 4. Bulk statements.
        result.created = self._insert(list(inserts.values()))
        if updates:
            db.session.execute(update(Contact), list(updates.values()))
        return result

    def _all_new_rows(self, batch: list[tuple[int, ContactRow]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The batch's rows as new contacts: the values that vary from row to row, and the
        ones every row has (its defaults that no row of the batch sets)."""
        keys = dict.fromkeys(row.company for _line, row in batch)  # in file order
        self.companies.resolve(keys)
        company_ids = {key: self.companies.id_for(key) for key in keys}
        varying = set().union(*(row.fields for _line, row in batch))
        varying.update(("email", "company_id"))
        if any(row.custom for _line, row in batch):
            varying.add("custom")
        base = {key: value for key, value in self._defaults.items() if key in varying}
        constants = {key: value for key, value in self._defaults.items() if key not in varying}
        rows = []
        for _line, row in batch:
            values = {**base, **row.fields, "email": row.email, "company_id": company_ids[row.company]}
            if row.custom:
                values["custom"] = dict(row.custom)
            rows.append(values)
        return rows, constants

    def _insert_if_all_new(self, batch: list[tuple[int, ContactRow]]) -> int | None:
        """The batch written as new contacts when none of its emails exists, else nothing
        (None). The database's unique email answers the question while inserting, instead of a
        query looking up every email first: the rows go in with ``ON CONFLICT (email) DO
        NOTHING`` inside a savepoint, and if fewer went in than were sent, the savepoint (with
        any company it created) is rolled back. Exact while the batch alone may write."""
        connection = db.session.connection()
        connection.exec_driver_sql("SAVEPOINT contact_import_batch")
        mark = self.companies.mark()
        rows, constants = self._all_new_rows(batch)
        created = self._insert(rows, constants, only_new=True)
        if created is None:
            connection.exec_driver_sql("ROLLBACK TO SAVEPOINT contact_import_batch")
            self.companies.forget_since(mark)
        connection.exec_driver_sql("RELEASE SAVEPOINT contact_import_batch")
        return created

    def _existing(self, emails: list[str]) -> dict[str, tuple]:
        if self._existing_query is None:  # built once: only the list of emails changes
            contacts, users = Contact.__table__.c, User.__table__.c
            self._existing_query = (
                select(contacts.email, contacts.id, contacts.owner_id, users.manager_id, contacts.custom)
                .select_from(Contact.__table__.outerjoin(User.__table__, users.id == contacts.owner_id))
                .where(in_parameter(contacts.email, "emails"))
            )
        # Core tables on the session's connection (its transaction): no ORM step per batch.
        rows = db.session.connection().execute(self._existing_query, {"emails": emails}).all()
        return {email: (cid, owner_id, manager_id, custom) for email, cid, owner_id, manager_id, custom in rows}

    def _duplicate(self, line, row, inserts, updates, existing, keys, result) -> None:
        if self.on_duplicate == "skip":
            result.skipped += 1
            return
        if row.email in inserts:  # twice in this batch: fold into the pending insert
            pending = inserts[row.email]
            pending.update(row.fields)
            pending["custom"] = {**pending["custom"], **row.custom}
            if row.explicit_company:
                keys[row.email] = row.company
            result.updated += 1
            return
        contact_id, owner_id, manager_id, custom = existing[row.email]
        if not can_edit_owned(self.actor, owner_id, manager_id):  # importing over a record changes it
            result.rejections.append(
                (line, "a contact with this email exists and belongs to someone whose contacts you may not change "
                       "(its owner, their manager or an admin may; anyone may add a note)"))
            return
        values = updates.setdefault(contact_id, {"id": contact_id, "custom": dict(custom or {})})
        values.update({k: v for k, v in row.fields.items() if k != "created_at"})  # the record's own stays
        values["custom"].update(row.custom)
        values["updated_at"] = self.now
        if row.explicit_company:
            keys[row.email] = row.company
        result.updated += 1

    def _new_values(self, row: ContactRow, company_id: int | None) -> dict[str, Any]:
        values = {**self._defaults, **row.fields, "email": row.email, "company_id": company_id}
        if row.custom:
            values["custom"] = dict(row.custom)
        return values

    def _insert(self, rows: list[dict[str, Any]], constants: dict[str, Any] | None = None, *,
                only_new: bool = False) -> int | None:
        """Insert new contacts and their ``contact_created`` timeline rows (what the manual
        path, ``create_contact``, writes) in two statements. The activities come from an
        INSERT ... SELECT over the contacts just inserted rather than from RETURNING ids:
        executemany with RETURNING cost more than the whole rest of the batch on both
        databases. While the batch alone may write (SQLite), "just inserted" is simply every
        id above the highest before. On PostgreSQL the batch takes its ids from the table's
        sequence first (one query) and names them: looking 1,000 ids up by primary key costs a
        tenth of looking up 1,000 emails. Otherwise it is the batch's emails.

        ``constants``: columns with the same value in every row, not repeated in ``rows``.
        ``only_new`` (SQLite): rows whose email exists are not inserted, and then None comes
        back, with no timeline rows written (the caller undoes the rest)."""
        if not rows:
            return 0
        contacts = Contact.__table__
        connection = db.session.connection()
        if self._sole_writer:
            kind = "above"
            parameters: dict[str, Any] = {"highest": connection.scalar(select(func.max(contacts.c.id))) or 0}
        elif connection.dialect.name == "postgresql":
            if self._id_sequence is None:
                self._id_sequence = connection.scalar(ID_SEQUENCE, {"table": contacts.name})
            ids = connection.scalars(NEXT_IDS, {"sequence": self._id_sequence, "count": len(rows)}).all()
            for row, new_id in zip(rows, ids):
                row["id"] = new_id
            kind, parameters = "ids", {"ids": ids}
        else:
            kind, parameters = "emails", {"emails": [row["email"] for row in rows]}
        constants = constants or {}
        shape = (tuple(rows[0]), tuple(constants), only_new)  # the constants' values are the writer's
        bulk = self._bulks.get(shape)
        if bulk is None:
            bulk = self._bulks[shape] = BulkInsert(
                contacts, list(rows[0]), constants=constants, skip_conflicts_on=["email"] if only_new else None)
        if bulk.execute(rows) != len(rows):
            return None
        connection.execute(self._activities_statement(kind), parameters)
        return len(rows)

    def _activities_statement(self, kind: str):
        """INSERT ... SELECT of the ``contact_created`` rows of the contacts just inserted:
        those above the highest id before (``highest``), with the given ``ids``, or with the
        given ``emails``. Built once per writer: only those parameters change per batch."""
        statement = self._activities.get(kind)
        if statement is None:
            contacts = Contact.__table__.c
            inserted = {"above": lambda: contacts.id > bindparam("highest"),
                        "ids": lambda: contacts.id == any_(bindparam("ids", type_=ARRAY(Integer))),
                        "emails": lambda: in_parameter(contacts.email, "emails")}[kind]()
            # The timeline's "created" entry is dated like the contact: a kept creation date
            # ("Create Date" of a HubSpot export) puts it where it happened.
            activity = select(
                contacts.id, contacts.company_id, literal(self.actor_id), literal("contact_created"),
                contacts.created_at, literal(CREATED_DETAILS, JSONType),
                literal(self.now, UTCDateTime()),
            ).where(inserted)
            statement = self._activities[kind] = insert(Activity.__table__).from_select(
                ["contact_id", "company_id", "user_id", "kind", "occurred_at", "details", "created_at"],
                activity,
            )
        return statement


class ContactImporter:
    """The contact import as the runner sees it: clean a row, write a batch."""

    def __init__(self, mapping: Mapping, actor: User, now: datetime, *, on_duplicate: str,
                 default_owner_id: int | None, day_first: bool = False, **_ignored: Any):
        owners = OwnerLookup(preload=True)
        self.companies = CompanyResolver(now)
        self.cleaner = ContactRowCleaner(mapping, owners, day_first=day_first, now=now)
        if default_owner_id is None and actor.role == "rep":
            default_owner_id = actor.id  # as when a rep creates a contact by hand
        self.writer = ContactBatchWriter(actor, now, on_duplicate, self.companies, default_owner_id)
        self.seen = SeenEmails()
        self.clean = self.cleaner.clean  # one call less per row

    def clean(self, values: list[str], line: int = 0) -> ContactRow:
        return self.cleaner.clean(values, line)

    def can_cut(self, previous: ContactRow, following: ContactRow) -> bool:
        return True

    def write(self, batch: list[tuple[int, ContactRow]]) -> BatchResult:
        """Rows repeating an earlier row of the file are rejected naming both lines (whether
        or not the contact already existed: the file contradicts itself); the rest is written."""
        repeats = self.seen.repeats([line for line, _row in batch], [row.email for _line, row in batch],
                                    [row.raw_email.strip() for _line, row in batch])
        if not repeats:
            return self.writer.write(batch)
        result = self.writer.write([(line, row) for line, row in batch if line not in repeats])
        for line, row in batch:
            if line in repeats:
                first, case_only = repeats[line]
                if case_only:
                    reason = _("email: %(email)s is already on line %(first)s of this file (the two differ only in "
                               "case); lines %(first)s and %(line)s name the same contact",
                               email=row.email, first=first, line=line)
                else:
                    reason = _("email: %(email)s is already on line %(first)s of this file; "
                               "lines %(first)s and %(line)s name the same contact",
                               email=row.email, first=first, line=line)
                result.rejections.append((line, reason))
        return result

    def batch_committed(self) -> None:
        self.companies.batch_committed()
        self.seen.committed()

    def batch_rolled_back(self) -> None:
        self.companies.batch_rolled_back()
        self.seen.rolled_back()
