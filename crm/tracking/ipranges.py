"""IP ranges to companies (as data providers sell them), and the per-request lookup.

Addresses are stored as 32 hex digits of their 128-bit value (IPv4 as ``::ffff:a.b.c.d``),
so string order is numeric order on every database and the lookup is one index probe::

    SELECT ... WHERE start_key <= :ip ORDER BY start_key DESC LIMIT 1   -- then end_key >= :ip

That is only right when ranges do not overlap, so an import with overlapping ranges is refused
(every offending line named). An import replaces the whole table: providers ship full files.
"""
from __future__ import annotations

import csv
import io
import ipaddress
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from crm.errors import ValidationFailed
from crm.extensions import db
from crm.i18n import _, ngettext
from crm.policy import require_admin
from crm.tracking.models import IpCompanyRange

MAX_RANGES = 200_000
MAX_BYTES = 20 * 1024 * 1024


def ip_key(address) -> str:
    """32 hex digits; IPv4 maps into ``::ffff:0:0/96``."""
    if isinstance(address, str):
        address = ipaddress.ip_address(address.strip())
    if address.version == 4:
        address = ipaddress.IPv6Address(f"::ffff:{address}")
    elif address.ipv4_mapped is not None:
        pass
    return f"{int(address):032x}"


def network_keys(network) -> tuple[str, str]:
    return ip_key(network.network_address), ip_key(network.broadcast_address)


def lookup(ip: str | None) -> IpCompanyRange | None:
    """The range holding ``ip``, by one index probe."""
    try:
        key = ip_key(ip or "")
    except ValueError:
        return None
    row = db.session.scalar(
        select(IpCompanyRange).where(IpCompanyRange.start_key <= key)
        .order_by(IpCompanyRange.start_key.desc()).limit(1)
    )
    return row if row is not None and row.end_key >= key else None


@dataclass(frozen=True)
class ImportResult:
    imported: int
    ipv4: int
    ipv6: int


def _header_map(header: list[str]) -> dict[str, int]:
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    wanted = {"cidr": ("cidr", "network", "range", "ip_range"),
              "company": ("company", "company_name", "name", "organization"),
              "domain": ("domain", "website")}
    found = {}
    for key, aliases in wanted.items():
        for alias in aliases:
            if alias in names:
                found[key] = names.index(alias)
                break
    if "cidr" not in found or "company" not in found:
        raise ValidationFailed(_("the CSV needs columns cidr and company (domain optional)"),
                               {"file": _("header must name cidr and company")})
    return found


def parse_ranges(text: str) -> list[tuple[int, ipaddress._BaseNetwork, str, str | None]]:
    """Rows ``(line, network, company, domain)``; every bad line is reported at once.

    :raises ValidationFailed: ``fields`` maps ``line N`` to the reason
    """
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationFailed(_("the file is empty"), {"file": _("empty")}) from None
    columns = _header_map(header)
    rows, errors = [], {}
    for line_no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cell = lambda key: row[columns[key]].strip() if key in columns and columns[key] < len(row) else ""  # noqa: E731
        try:
            network = ipaddress.ip_network(cell("cidr"), strict=False)
        except ValueError:
            errors[f"line {line_no}"] = _("not an IP range: %(cidr)s", cidr=repr(cell("cidr")[:60]))
            continue
        company = cell("company")
        if not company or len(company) > 200 or "\x00" in company:
            errors[f"line {line_no}"] = _("company name missing or too long")
            continue
        domain = cell("domain").lower() or None
        if domain and (len(domain) > 253 or "\x00" in domain):
            errors[f"line {line_no}"] = _("domain too long")
            continue
        rows.append((line_no, network, company, domain))
        if len(rows) > MAX_RANGES:
            raise ValidationFailed(_("at most %(MAX_RANGES)s ranges per file",
                                     MAX_RANGES=MAX_RANGES), {"file": _("too many rows")})
    errors.update(_overlaps(rows))
    if errors:
        raise ValidationFailed(ngettext("%(num)s bad line; nothing was imported",
                                        "%(num)s bad lines; nothing was imported", len(errors)),
                               dict(list(errors.items())[:50]))
    return rows


def _overlaps(rows) -> dict[str, str]:
    keyed = sorted((network_keys(net), line) for line, net, _c, _d in rows)
    errors = {}
    for (prev_keys, prev_line), (keys, line) in zip(keyed, keyed[1:]):
        if keys[0] <= prev_keys[1]:
            errors[f"line {line}"] = _("overlaps the range on line %(prev_line)s", prev_line=prev_line)
    return errors


def import_ranges(actor, text: str, now: datetime) -> ImportResult:
    """Replace every range with the file's. Flushes."""
    require_admin(actor)
    rows = parse_ranges(text)
    db.session.execute(delete(IpCompanyRange))
    objects = []
    for _line, network, company, domain in rows:
        start, end = network_keys(network)
        objects.append(IpCompanyRange(start_key=start, end_key=end, cidr=str(network),
                                      company_name=company, domain=domain, imported_at=now))
    db.session.add_all(objects)
    db.session.flush()
    v4 = sum(1 for _l, n, _c, _d in rows if n.version == 4)
    return ImportResult(imported=len(rows), ipv4=v4, ipv6=len(rows) - v4)


def range_count() -> int:
    return db.session.scalar(select(func.count()).select_from(IpCompanyRange)) or 0


def sample_ranges(limit: int = 50) -> list[IpCompanyRange]:
    return list(db.session.scalars(
        select(IpCompanyRange).order_by(IpCompanyRange.company_name, IpCompanyRange.start_key).limit(limit)
    ).all())
