"""Lead routing: the rules (admin-only to change) and ``route_lead``, which gives a contact a
website form just created an owner and a time zone, and alerts that owner at once.

Rules are tried in ``position`` order; the first that yields an active rep wins:

- ``company_owner``: the owner of the contact's company (found by the email's domain);
- ``country``: the contact's country is one of the rule's ISO codes; the country is the form's
  ``country`` field, else the email domain's country-code TLD (``.de`` → DE);
- ``time_zone``: the contact's time zone starts with one of the rule's prefixes
  (``America/``, ``Europe/Berlin``);
- ``round_robin``: always matches (a catch-all at the end).

A country or time-zone rule hands leads to its reps in turn (round robin among them); with no
rule matching, the contact stays unowned (the form still records it) and nobody is alerted."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from crm.alerts import services as alerts
from crm.auth.models import User
from crm.contacts.models import Company, Contact
from crm.errors import NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.i18n import N_, _
from crm.routing.models import RULE_KINDS, RoutingRule
from crm.signals import lead_captured
from crm.timeutil import is_valid_timezone

MAX_RULES = 100


def require_admin(actor: User) -> None:
    if getattr(actor, "role", None) != "admin":
        raise PermissionDenied(_("only administrators may change lead routing"))


def list_rules() -> list[RoutingRule]:
    return list(db.session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)))


def _active_reps(ids) -> dict[int, User]:
    ids = [i for i in ids if isinstance(i, int)]
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_(ids), User.role.in_(("rep", "manager")), User.is_active.is_(True)))}


def _codes(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").replace(";", ",").split(",") if part.strip()]


def add_rule(actor: User, data: dict[str, Any], now: datetime) -> RoutingRule:
    """``data``: kind, match (country codes or zone prefixes, comma-separated), rep_ids.

    :raises ValidationFailed: with every bad field named"""
    require_admin(actor)
    kind = data.get("kind")
    fields: dict[str, str] = {}
    if kind not in RULE_KINDS:
        fields["kind"] = _("one of %(choices)s", choices=', '.join(RULE_KINDS))
    codes = _codes(data.get("match"))
    if kind == "country":
        if not codes or any(len(c) != 2 or not c.isalpha() for c in codes):
            fields["match"] = _("two-letter country codes, comma-separated (DE, AT)")
        codes = [c.upper() for c in codes]
    elif kind == "time_zone":
        if not codes or any("/" not in c and not is_valid_timezone(c) for c in codes):
            fields["match"] = _("time zones or prefixes, comma-separated (America/, Europe/Berlin)")
    else:
        codes = []
    try:
        rep_ids = [int(i) for i in (data.get("rep_ids") or [])]
    except (TypeError, ValueError):
        rep_ids = []
        fields["rep_ids"] = _("choose reps from the list")
    reps = _active_reps(rep_ids)
    if kind != "company_owner" and not reps:
        fields.setdefault("rep_ids", _("choose at least one active rep"))
    elif set(rep_ids) - set(reps):
        fields.setdefault("rep_ids", _("only active reps and managers"))
    if (db.session.scalar(select(func.count(RoutingRule.id))) or 0) >= MAX_RULES:
        fields["kind"] = _("at most %(max_rules)s rules", max_rules=MAX_RULES)
    if fields:
        raise ValidationFailed(_("invalid routing rule"), fields)
    position = (db.session.scalar(select(func.max(RoutingRule.position))) or 0) + 1
    rule = RoutingRule(kind=kind, match=", ".join(codes)[:200] or None, position=position,
                       rep_ids=[] if kind == "company_owner" else sorted(reps), next_index=0, created_at=now)
    db.session.add(rule)
    db.session.flush()
    return rule


def delete_rule(actor: User, rule_id: int) -> None:
    require_admin(actor)
    rule = db.session.get(RoutingRule, rule_id) if rule_id else None
    if rule is None:
        raise NotFound(_("no such routing rule"))
    db.session.delete(rule)
    db.session.flush()


def move_rule(actor: User, rule_id: int, direction: int) -> None:
    """Swap a rule with its neighbour (``direction`` -1: earlier, +1: later)."""
    require_admin(actor)
    rules = list_rules()
    index = next((i for i, r in enumerate(rules) if r.id == rule_id), None)
    if index is None:
        raise NotFound(_("no such routing rule"))
    other = index + direction
    if 0 <= other < len(rules):
        rules[index], rules[other] = rules[other], rules[index]
        for position, rule in enumerate(rules, start=1):
            rule.position = position
        db.session.flush()


# --- routing a lead -------------------------------------------------------------------------

def country_of(contact: Contact, form_country: Any) -> str | None:
    if isinstance(form_country, str) and len(form_country.strip()) == 2 and form_country.strip().isalpha():
        return form_country.strip().upper()
    domain = (contact.email or "").rpartition("@")[2].lower()
    tld = domain.rpartition(".")[2]
    if len(tld) == 2 and tld.isalpha():
        return "GB" if tld == "uk" else tld.upper()
    return None


def _company_for(contact: Contact) -> Company | None:
    if contact.company_id:
        return db.session.get(Company, contact.company_id)
    domain = (contact.email or "").rpartition("@")[2].lower()
    return db.session.scalar(select(Company).where(Company.domain == domain)) if domain else None


def _next_in_turn(rule: RoutingRule) -> User | None:
    """The rule's next active rep, in turn; the turn is stored on the rule. The row is locked
    (PostgreSQL) so two forms at once do not hand both leads to the same rep."""
    locked = db.session.scalar(select(RoutingRule).where(RoutingRule.id == rule.id).with_for_update())
    if locked is None:  # deleted meanwhile
        return None
    reps = _active_reps(locked.rep_ids or [])
    order = [i for i in (locked.rep_ids or []) if i in reps]
    if not order:
        return None
    chosen = order[locked.next_index % len(order)]
    locked.next_index = (locked.next_index + 1) % len(order)
    return reps[chosen]


def _matches(rule: RoutingRule, country: str | None, zone: str | None) -> bool:
    if rule.kind == "round_robin":
        return True
    if rule.kind == "country":
        return country is not None and country in _codes(rule.match)
    if rule.kind == "time_zone":
        return zone is not None and any(zone == code or (code.endswith("/") and zone.startswith(code))
                                        or zone.startswith(code.rstrip("/") + "/") for code in _codes(rule.match))
    return False


def choose_owner(contact: Contact, company: Company | None, country: str | None, zone: str | None) -> User | None:
    for rule in list_rules():
        if rule.kind == "company_owner":
            if company is not None and company.owner_id:
                owner = _active_reps([company.owner_id]).get(company.owner_id)
                if owner is not None:
                    return owner
            continue
        if _matches(rule, country, zone):
            owner = _next_in_turn(rule)
            if owner is not None:
                return owner
    return None


def route_lead(contact: Contact, fields: dict[str, Any], now: datetime) -> User | None:
    """Give a contact a website form created its time zone and owner, and alert the owner.
    An existing owner is kept. Flushes. Returns the owner (None: no rule matched)."""
    company = _company_for(contact)
    browser_zone = fields.get("time_zone") if isinstance(fields.get("time_zone"), str) else None
    if not contact.time_zone:
        if browser_zone and is_valid_timezone(browser_zone.strip()):
            contact.time_zone = browser_zone.strip()
        elif company is not None and company.time_zone:
            contact.time_zone = company.time_zone
    if contact.owner_id is not None:
        return None
    owner = choose_owner(contact, company, country_of(contact, fields.get("country")), contact.time_zone)
    if owner is None:
        return None
    contact.owner_id = owner.id
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p) or contact.email
    alerts.notify(owner.id, "new_lead", N_("New lead from the website: %(name)s is yours"), params={"name": name},
                  now=now, contact_id=contact.id, url=f"/contacts/{contact.id}")
    db.session.flush()
    return owner


def on_lead_captured(sender: Contact, *, fields: dict[str, Any], now: datetime, **_kwargs) -> int | None:
    """Receiver of ``lead_captured`` (the tracking feature's form capture)."""
    owner = route_lead(sender, fields, now)
    return owner.id if owner else None


def connect() -> None:
    lead_captured.connect(on_lead_captured)
