"""Deal rows: one row per deal line; rows sharing a deal id (else a deal name) make one deal.

Deals are written through ``crm.deals.services`` (create, update, close, reopen) so every
deal gets its ``DealChange`` history and timeline rows exactly as if typed in; each deal runs
in a savepoint, so a refused deal rejects its own rows and nothing else. A deal id is kept as
``Deal.source = "import:<id>"``: importing the file again finds the deal (update or skip).
Rows of one deal are expected to be adjacent; a deal's later rows further down the same file
are added to it as more lines.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DataError

import crm.deals.services as deal_services
from crm.auth.models import User
from crm.contacts.models import Contact
from crm.contacts.services import normalize_email
from crm.deals.models import Deal
from crm.errors import ServiceError
from crm.extensions import db
from crm.i18n import _
from crm.imports.cells import FooterDetector, parse_day
from crm.imports.companies import CompanyKey, CompanyResolver, clean_company_cells
from crm.imports.lookups import (
    BatchResult,
    OwnerLookup,
    RowRejected,
    RowSkipped,
    begin_batch_transaction,
    format_reason,
    in_values,
)
from crm.imports.mapping import Mapping, normalize_header

SOURCE_PREFIX = "import:"
NO_LOST_REASON = "not given in the imported file"  # a lost deal needs a reason; exports often have none
STATUS_WORDS = {"open": "open", "won": "won", "closedwon": "won", "win": "won",
                "lost": "lost", "closedlost": "lost", "loss": "lost", "abierto": "open",
                "ganado": "won", "perdido": "lost", "deleted": "lost"}
# Stage names that are an outcome rather than a place in the pipeline (HubSpot's "Closed won",
# Salesforce's "Closed Won", Pipedrive's status words): the deal is closed in the pipeline's
# last stage.
CLOSED_STAGE_WORDS = {"closedwon": "won", "won": "won", "ganado": "won", "cerradoganado": "won",
                      "closedlost": "lost", "lost": "lost", "perdido": "lost", "cerradoperdido": "lost"}


@dataclass(slots=True)
class DealRow:
    key: str | None
    ref: str | None
    deal: dict[str, Any] = field(default_factory=dict)
    line: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _date(value: str, label: str, errors: dict, day_first: bool = False) -> date | None:
    try:
        return parse_day(value, day_first=day_first)
    except ValueError:
        errors[label] = _("%(value)s is not a date (YYYY-MM-DD, or DD/MM/YYYY as the file writes them)",
                          value=repr(value))
        return None


def _money(value: str) -> str:
    """An amount as exports write it ("1,250.00", "1.250,00 €", "$ 980"): digits and one
    decimal separator, the last "," or "." followed by one or two digits."""
    text = "".join(c for c in value if c.isdigit() or c in ",.-")
    if not text:
        return value
    last = max(text.rfind(","), text.rfind("."))
    if last >= 0 and 0 < len(text) - last - 1 <= 2:
        whole, cents = text[:last], text[last + 1:]
        return whole.replace(",", "").replace(".", "") + "." + cents
    return text.replace(",", "").replace(".", "")


class DealRowCleaner:
    """Reads one row's cells; problems are kept on the row (its whole deal is refused later)."""

    def __init__(self, mapping: Mapping, owners: OwnerLookup, *, day_first: bool = False,
                 default_family: str | None = None):
        self.width = len(mapping.headers)
        self.columns = [(i, t) for i, t in enumerate(mapping.targets) if t]
        self.owners = owners
        self.day_first = day_first
        stages = deal_services.list_stages()
        self.stages = {normalize_header(s.name): s.id for s in stages}
        self.stage_names = [s.name for s in stages]
        self.last_stage_id = stages[-1].id if stages else None
        families = deal_services.list_families()
        self.families = {f.code.lower(): f.code for f in families}
        self.families.update({normalize_header(f.name): f.code for f in families if getattr(f, "name", None)})
        # An amount without a family column goes to the chosen family, or to the only one.
        self.default_family = default_family or (families[0].code if len(families) == 1 else None)
        self.footer = FooterDetector()

    def clean(self, values: list[str], line: int = 0) -> DealRow:
        cells = {t: (values[i].strip() if i < len(values) else "") for i, t in self.columns}
        note = self.footer.note_for(values, not (cells.get("deal_id") or cells.get("name")))
        if note:
            raise RowSkipped(note)
        ref = cells.get("deal_id") or None
        name = cells.get("name", "")
        row = DealRow(key=("id:" + ref) if ref else ("name:" + name.lower()) if name else None, ref=ref)
        errors: dict[str, str] = {}
        if len(values) > self.width and any(v.strip() for v in values[self.width:]):
            errors["row"] = _("%(count)s fields but the header has %(width)s", count=len(values), width=self.width)
        if row.key is None:
            errors["name"] = _("a deal needs a name")
        row.deal = self._deal_fields(cells, errors)
        row.line = self._line(cells, errors)
        if errors:
            row.error = format_reason("invalid deal row", errors)
        return row

    def _line(self, cells: dict[str, str], errors: dict) -> dict[str, Any] | None:
        """The row's deal line: family, quantity and unit price, or an amount (one unit);
        None when the row has neither (a deal without lines)."""
        family_cell = cells.get("family", "")
        family = self.families.get(family_cell.lower()) or self.families.get(normalize_header(family_cell)) \
            or family_cell
        if cells.get("quantity") or cells.get("unit_price") or family_cell:
            return {"family": family, "quantity": cells.get("quantity", ""),
                    "unit_price": _money(cells.get("unit_price", ""))}
        if cells.get("amount"):
            if not (family or self.default_family):
                errors["amount"] = _("an amount needs a product family: add a family column or choose a default family")
                return None
            return {"family": family or self.default_family, "quantity": "1", "unit_price": _money(cells["amount"])}
        return None

    def _deal_fields(self, cells: dict[str, str], errors: dict) -> dict[str, Any]:
        deal: dict[str, Any] = {"name": cells.get("name", "") or cells.get("deal_id", ""),
                                "expected_close": cells.get("expected_close", "")}
        if deal["expected_close"]:
            day = _date(deal["expected_close"], "expected_close", errors, self.day_first)
            deal["expected_close"] = day.isoformat() if day else deal["expected_close"]
        stage = cells.get("stage", "")
        outcome = CLOSED_STAGE_WORDS.get(normalize_header(stage))
        deal["stage_id"] = self.stages.get(normalize_header(stage)) or (self.last_stage_id if outcome else None)
        if deal["stage_id"] is None:
            errors["stage"] = _("unknown pipeline stage %(stage)s (stages: %(stages)s)", stage=repr(stage),
                                stages=', '.join(self.stage_names) or _("none yet"))
        status = normalize_header(cells.get("status", ""))
        deal["status"] = STATUS_WORDS.get(status or outcome or "open")
        if deal["status"] is None:
            errors["status"] = _("%(value)s: open, won or lost", value=repr(cells['status']))
        for key in ("closed_on", "created_on"):
            deal[key] = _date(cells[key], key, errors, self.day_first) if cells.get(key) else None
        if deal["status"] in ("won", "lost") and deal["closed_on"] is None and deal["expected_close"]:
            # Exports of closed deals write the day they closed as the close date.
            deal["closed_on"] = _date(deal["expected_close"], "expected_close", errors, self.day_first)
        deal["lost_reason"] = cells.get("lost_reason") or (
            NO_LOST_REASON if deal["status"] == "lost" else None)
        if cells.get("currency"):
            deal["currency"] = cells["currency"]
        if cells.get("owner"):
            try:
                deal["owner_id"] = self.owners.id_for(cells["owner"])
            except RowRejected as exc:
                errors["owner"] = str(exc).removeprefix("owner: ")
        if cells.get("contact_email"):
            try:
                deal["contact_email"] = normalize_email(cells["contact_email"])
            except ValueError as exc:
                errors["contact_email"] = str(exc)
        domain, name = clean_company_cells(cells.get("company"), cells.get("domain"), errors)
        deal["company"] = CompanyKey(domain, name) if (domain or name) else None
        return deal


def _at_midnight(day: date | None, default: datetime) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc) if day else default


class DealImporter:
    """The deal import as the runner sees it."""

    def __init__(self, mapping: Mapping, actor: User, now: datetime, *, on_duplicate: str,
                 default_owner_id: int | None, day_first: bool = False, default_family: str | None = None):
        self.actor, self.now, self.on_duplicate = actor, now, on_duplicate
        self.default_owner_id = default_owner_id
        self.cleaner = DealRowCleaner(mapping, OwnerLookup(), day_first=day_first, default_family=default_family)
        self.companies = CompanyResolver(now)
        self.created_here: dict[str, int] = {}  # group key -> deal id, for rows further down
        self._batch_created: dict[str, int] = {}

    def clean(self, values: list[str], line: int = 0) -> DealRow:
        return self.cleaner.clean(values, line)

    def can_cut(self, previous: DealRow, following: DealRow) -> bool:
        return previous.key != following.key

    def batch_committed(self) -> None:
        self.created_here.update(self._batch_created)
        self._batch_created.clear()
        self.companies.batch_committed()

    def batch_rolled_back(self) -> None:
        self._batch_created.clear()
        self.companies.batch_rolled_back()

    # --- writing ------------------------------------------------------------------------

    def write(self, batch: list[tuple[int, DealRow]]) -> BatchResult:
        result = BatchResult()
        begin_batch_transaction()
        groups: dict[str | None, list[tuple[int, DealRow]]] = {}
        for line, row in batch:
            groups.setdefault(row.key if row.key else f"line:{line}", []).append((line, row))
        contacts = self._contacts({r.deal.get("contact_email") for _l, r in batch} - {None})
        existing = self._existing_refs({r.ref for _l, r in batch if r.ref})
        self.companies.resolve(rows[0][1].deal.get("company") for rows in groups.values())
        for key, rows in groups.items():
            self._write_group(key, rows, contacts, existing, result)
        return result

    def _contacts(self, emails: set[str]) -> dict[str, int]:
        if not emails:
            return {}
        query = select(Contact.email, Contact.id).where(in_values(Contact.email, emails))
        return dict(db.session.execute(query).all())

    def _existing_refs(self, refs: set[str]) -> dict[str, int]:
        if not refs:
            return {}
        sources = {SOURCE_PREFIX + ref: ref for ref in refs}
        found = db.session.execute(select(Deal.source, Deal.id).where(in_values(Deal.source, sources)))
        return {sources[source]: deal_id for source, deal_id in found}

    def _write_group(self, key, rows, contacts, existing, result: BatchResult) -> None:
        first_line, first = rows[0]
        bad = [(line, row.error) for line, row in rows if row.error]
        if bad:
            return self._refuse(rows, dict(bad), result)
        data = self._deal_data(first, contacts)
        if isinstance(data, str):
            return self._refuse(rows, {first_line: data}, result)
        lines = [row.line for _line, row in rows if row.line is not None]
        savepoint = db.session.begin_nested()
        try:
            deal_id = self.created_here.get(key) or self._batch_created.get(key)
            if deal_id is not None:
                self._add_lines(deal_id, lines)
            elif first.ref in existing:
                if self.on_duplicate == "skip":
                    savepoint.commit()
                    result.skipped += 1
                    return
                self._update(existing[first.ref], first, data, lines)
                result.updated += 1
            else:
                self._batch_created[key] = self._create(first, data, lines)
                result.created += 1
            savepoint.commit()
        except ServiceError as exc:
            savepoint.rollback()
            self._refuse(rows, self._reasons_by_line(rows, exc), result)
        except DataError as exc:  # a value the database refuses: this deal only, not the batch
            savepoint.rollback()
            message = str(exc.orig).strip().splitlines()[0][:200] if exc.orig else "refused"
            self._refuse(rows, {first_line: _("the database refused this deal: %(message)s", message=message)}, result)

    def _deal_data(self, row: DealRow, contacts: dict[str, int]) -> dict[str, Any] | str:
        deal = row.deal
        data = {"name": deal["name"], "stage_id": deal["stage_id"], "expected_close": deal["expected_close"],
                "source": (SOURCE_PREFIX + row.ref)[:100] if row.ref else "import"}
        if deal.get("currency"):
            data["currency"] = deal["currency"]
        owner_id = deal.get("owner_id") or self.default_owner_id
        if owner_id:
            data["owner_id"] = owner_id
        if deal.get("contact_email"):
            if deal["contact_email"] not in contacts:
                return _("contact_email: no contact %(email)s (import the contacts first)", email=deal['contact_email'])
            data["contact_id"] = contacts[deal["contact_email"]]
        company_id = self.companies.id_for(deal.get("company"))
        if company_id:
            data["company_id"] = company_id
        return data

    def _create(self, row: DealRow, data: dict, lines: list[dict]) -> int:
        created_at = _at_midnight(row.deal["created_on"], self.now)
        deal = deal_services.create_deal(self.actor, {**data, "lines": lines}, created_at)
        self._close_as_in_file(deal, row)
        return deal.id

    def _update(self, deal_id: int, row: DealRow, data: dict, lines: list[dict]) -> None:
        deal = deal_services.get_deal(deal_id)
        status = row.deal["status"]
        if not deal.is_open and status != deal.status:
            deal = deal_services.reopen_deal(self.actor, deal_id, self.now)
        if not deal.is_open:
            data = {k: v for k, v in data.items() if k != "stage_id"}
        # A file without line columns leaves the deal's lines as they are.
        deal = deal_services.update_deal(self.actor, deal_id, {**data, **({"lines": lines} if lines else {})},
                                         self.now)
        self._close_as_in_file(deal, row)

    def _add_lines(self, deal_id: int, lines: list[dict]) -> None:
        if not lines:
            return
        deal = deal_services.get_deal(deal_id)
        current = [{"family": line.family.code, "quantity": line.quantity, "unit_price": str(line.unit_price)}
                   for line in deal.lines]
        deal_services.update_deal(self.actor, deal_id, {"lines": current + lines}, self.now)

    def _close_as_in_file(self, deal: Deal, row: DealRow) -> None:
        status = row.deal["status"]
        if status == "open" or not deal.is_open:
            return
        closed_on = row.deal["closed_on"]
        deal_services.close_deal(
            self.actor, deal.id, won=status == "won", now=_at_midnight(closed_on, self.now),
            closed_on=closed_on, lost_reason=row.deal["lost_reason"],
        )

    @staticmethod
    def _reasons_by_line(rows, exc: ServiceError) -> dict[int, str]:
        """Attribute ``lines.<i>.<field>`` errors to the i-th row; the rest to the first row."""
        reasons: dict[int, dict[str, str]] = {}
        for key, message in (exc.fields or {"deal": exc.message}).items():
            index = 0
            if key.startswith("lines."):
                part = key.split(".")[1]
                index = int(part) if part.isdigit() and int(part) < len(rows) else 0
                key = key.split(".", 2)[-1] if key.count(".") >= 2 else "line"
            reasons.setdefault(rows[index][0], {})[key] = message
        return {line: format_reason(exc.message, fields) for line, fields in reasons.items()}

    @staticmethod
    def _refuse(rows, reasons: dict[int, str], result: BatchResult) -> None:
        first_bad = min(reasons)
        name = rows[0][1].deal.get("name") or rows[0][1].ref or "?"
        for line, _row in rows:
            result.rejections.append(
                (line, reasons.get(line) or _("deal %(name)s not imported: see line %(line)s",
                                              name=repr(name), line=first_bad))
            )
