"""Companies found or created for imported rows, resolved a batch at a time.

Rows name a company by domain (a domain/website column, else the email's domain unless it is
free-mail, the same rule as ``find_or_create_company_for_email``) or, lacking one, by name.
Per batch: one query for the domains not yet cached, one for the names, and one bulk INSERT
(with RETURNING) for the new ones. The cache survives batches; entries added by a batch that
is rolled back are forgotten with it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, NamedTuple

from sqlalchemy import func, insert, select

from crm.contacts.models import Company
from crm.contacts.services import company_name_from_domain, company_values, email_domain, is_freemail
from crm.errors import ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.imports.lookups import in_values

MAX_CACHED = 50_000  # bounded memory on files with very many distinct companies


def clean_company_cells(name: str | None, domain: str | None, errors: dict) -> tuple[str | None, str | None]:
    """A row's company cells checked by the company services' own rules: ``(domain, name)``,
    or problems added to ``errors`` (as ``company`` / ``domain``)."""
    data = {key: value for key, value in (("name", name), ("domain", domain)) if value}
    if not data:
        return None, None
    try:
        clean = company_values(data, partial=True)
    except ValidationFailed as exc:
        for key, message in exc.fields.items():
            errors["company" if key == "name" else key] = (
                _("%(value)s is not a domain name", value=repr(domain)) if key == "domain" else message)
        return None, None
    return clean.get("domain"), clean.get("name") or None


class CompanyKey(NamedTuple):
    domain: str | None
    name: str | None

    @classmethod
    def for_row(cls, domain: str | None, name: str | None, email: str | None) -> CompanyKey | None:
        """Domain column first, then the email's work domain; a bare name otherwise."""
        if not domain and email:
            candidate = email_domain(email)
            if not is_freemail(candidate):
                domain = candidate
        if domain:
            return cls(domain, name or None)
        if name:
            return cls(None, name)
        return None


class CompanyResolver:
    def __init__(self, now: datetime):
        self.now = now
        self._by_domain: dict[str, int] = {}
        self._by_name: dict[str, int] = {}
        self._added: list[tuple[dict, str]] = []
        self._clears = 0

    def id_for(self, key: CompanyKey | None) -> int | None:
        if key is None:
            return None
        if key.domain:
            return self._by_domain.get(key.domain)
        return self._by_name.get(key.name.lower())

    def resolve(self, keys: Iterable[CompanyKey | None]) -> None:
        """Make ``id_for`` answer for every key: look up the unknown ones, create the rest."""
        domains: dict[str, str | None] = {}
        names: dict[str, str] = {}
        for key in keys:
            if key is None:
                continue
            if key.domain and key.domain not in self._by_domain:
                domains.setdefault(key.domain, key.name)
            elif not key.domain and key.name.lower() not in self._by_name:
                names.setdefault(key.name.lower(), key.name)
        if domains:
            self._resolve_domains(domains)
        if names:
            self._resolve_names(names)

    def _resolve_domains(self, wanted: dict[str, str | None]) -> None:
        found = db.session.execute(
            select(Company.domain, Company.id).where(in_values(Company.domain, wanted))
        ).all()
        for domain, company_id in found:
            self._remember(self._by_domain, domain, company_id)
        missing = [d for d in wanted if d not in self._by_domain]
        if missing:
            rows = [self._new_row(wanted[d] or company_name_from_domain(d), d) for d in missing]
            created = db.session.execute(
                insert(Company).returning(Company.domain, Company.id), rows
            ).all()
            for domain, company_id in created:
                self._remember(self._by_domain, domain, company_id)

    def _resolve_names(self, wanted: dict[str, str]) -> None:
        found = db.session.execute(
            select(func.lower(Company.name), func.min(Company.id))
            .where(func.lower(Company.name).in_(list(wanted)))
            .group_by(func.lower(Company.name))
        ).all()
        for lowered, company_id in found:
            self._remember(self._by_name, lowered, company_id)
        missing = [n for n in wanted if n not in self._by_name]
        if missing:
            rows = [self._new_row(wanted[n], None) for n in missing]
            created = db.session.execute(insert(Company).returning(Company.name, Company.id), rows).all()
            for name, company_id in created:
                self._remember(self._by_name, name.lower(), company_id)

    def _new_row(self, name: str, domain: str | None) -> dict:
        return {"name": name[:200], "domain": domain, "industry": None, "employee_count": None,
                "time_zone": None, "owner_id": None, "custom": {}, "created_at": self.now,
                "updated_at": self.now}

    def _remember(self, cache: dict, key: str, company_id: int) -> None:
        if len(self._by_domain) + len(self._by_name) >= MAX_CACHED:
            self._by_domain.clear()
            self._by_name.clear()
            self._added.clear()
            self._clears += 1
        cache[key] = company_id
        self._added.append((cache, key))

    def mark(self) -> tuple[int, int]:
        """Where this batch's additions stand now, for ``forget_since``."""
        return self._clears, len(self._added)

    def forget_since(self, mark: tuple[int, int]) -> None:
        """Forget what was looked up or created after ``mark`` (a savepoint rolled back)."""
        clears, count = mark
        start = count if clears == self._clears else 0  # emptied since: all that is left is newer
        for cache, key in self._added[start:]:
            cache.pop(key, None)
        del self._added[start:]

    def batch_committed(self) -> None:
        self._added.clear()

    def batch_rolled_back(self) -> None:
        """Forget what this batch looked up or created: created rows no longer exist."""
        for cache, key in self._added:
            cache.pop(key, None)
        self._added.clear()
