"""Who may read and write what. One place, used by every service, page, API route and import.

Reading (roles by data, not by page)
------------------------------------
Everyone in sales (reps, managers, admins) reads every contact, company and deal, all fields and
the whole timeline: reps must see a colleague's account to avoid prospecting it twice.

Planners read what planning needs and no personal data: of a deal its business data (name,
status, stage, amount, currency, lines, dates, lost reason, source, change history), the name
of its owner (which rep carries the pipeline is business data, and the demand drill-down names
it) and the name of its company (an account is a business; the planner needs to recognise a
large customer). They do not read the deal's contact (name, email, phone, even its id) nor any
timeline (notes such as "Prefers email over phone", call outcomes, email subjects, meetings,
tracking: they are about people), nor anything else of a contact or a company (the contact
and company pages and APIs already answer them 403). ``READABLE`` below is the table; the deal
view model (``crm.deals.visible``) builds every page and API answer about a deal from it, so
a deal shown anywhere carries only the fields its viewer may read. Free text typed into
business fields (a deal's name, a lost reason) is shown as typed: reps must not put people's
details there.

Writing on records
------------------
Two kinds of writes, two rules:

* **Adding to a record's timeline** (a note, a logged call and its outcome, a callback or
  follow-up task for oneself) is open to everyone in sales on every record they can read,
  whoever owns it. Selling is a team sport: the colleague who took a contact's call while the
  owner was away, or who met the buyer at a trade show, must be able to write it down where the
  owner will see it. Such an entry is appended, signed with its author, never changes what is
  already there, and the owner sees it on the timeline. (A call logged as a wrong number marks
  the number as failed: a fact learnt by dialling it, part of logging the call.)
* **Changing a record** (its fields, its owner, deleting it, importing over it, enrolling the
  contact in a sequence or emailing it from the CRM, moving or closing a deal) is for its owner,
  the owner's manager, or an admin. These act on the owner's relationship with the customer,
  so they stay with the people accountable for it. Unowned records are open to all of sales.

Planners and finance write nothing here (finance reads the S&OP plan in money: ``planning_bridge.sop``).
"""
from __future__ import annotations

from crm.auth.models import User
from crm.errors import PermissionDenied
from crm.i18n import _

SALES_ROLES = ("rep", "manager", "admin")

# --- reading ---------------------------------------------------------------------------------

DEAL_BUSINESS_FIELDS = frozenset({
    "id", "name", "status", "stage", "amount", "currency", "expected_close", "closed_on",
    "lost_reason", "source", "created_at", "stage_entered_at", "lines", "history", "owner",
    "company",
})
DEAL_FIELDS = DEAL_BUSINESS_FIELDS | {"contact", "timeline"}
CONTACT_FIELDS = frozenset({
    "id", "name", "email", "phone", "title", "owner", "company", "lifecycle_stage", "custom",
    "social", "timeline",
})
COMPANY_FIELDS = frozenset({
    "id", "name", "domain", "industry", "employee_count", "time_zone", "owner", "custom",
    "contacts", "deals", "timeline",
})

READABLE: dict[str, dict[str, frozenset[str]]] = {
    "rep": {"deal": DEAL_FIELDS, "contact": CONTACT_FIELDS, "company": COMPANY_FIELDS},
    "manager": {"deal": DEAL_FIELDS, "contact": CONTACT_FIELDS, "company": COMPANY_FIELDS},
    "admin": {"deal": DEAL_FIELDS, "contact": CONTACT_FIELDS, "company": COMPANY_FIELDS},
    "planner": {"deal": DEAL_BUSINESS_FIELDS, "contact": frozenset(), "company": frozenset({"id", "name"})},
    # Finance reads the plan in money (the S&OP cycle's finance view and executive summary)
    # and, like planners, deals' business data only.
    "finance": {"deal": DEAL_BUSINESS_FIELDS, "contact": frozenset(), "company": frozenset({"id", "name"})},
}


def readable_fields(actor: User, kind: str) -> frozenset[str]:
    """The fields of a ``kind`` ("deal", "contact", "company") ``actor`` may read."""
    return READABLE.get(actor.role, {}).get(kind, frozenset())


def may_read(actor: User, kind: str, field: str) -> bool:
    return field in readable_fields(actor, kind)


def reads_personal_data(actor: User) -> bool:
    """Whether ``actor`` reads contacts (and so the contact and company pages and timelines)."""
    return bool(readable_fields(actor, "contact"))


def require_personal_data(actor: User) -> None:
    if not reads_personal_data(actor):
        raise PermissionDenied(_("contact data is for sales users"))


# --- writing ---------------------------------------------------------------------------------

def can_edit_owned(actor: User, owner_id: int | None, owner_manager_id: int | None) -> bool:
    """Whether ``actor`` may change a record owned by ``owner_id`` (see the module docstring)."""
    if actor.role == "admin":
        return True
    if actor.role not in ("rep", "manager"):
        return False
    if owner_id is None or owner_id == actor.id:
        return True
    return actor.role == "manager" and owner_manager_id == actor.id


def require_edit(actor: User, record) -> None:
    """Changing ``record``: its owner, the owner's manager or an admin (unowned: all of sales)."""
    owner = getattr(record, "owner", None)
    if not can_edit_owned(actor, getattr(record, "owner_id", None), owner.manager_id if owner else None):
        raise PermissionDenied(_("only the owner, their manager or an admin may change this record"))


def can_add_to_timeline(actor: User, kind: str) -> bool:
    """Adding a note, a call or one's own follow-up to the timeline of a record of ``kind``
    ("contact", "company", "deal"): everyone in sales who reads that timeline. The record's
    owner is deliberately not asked (see the module docstring)."""
    return actor.role in SALES_ROLES and may_read(actor, kind, "timeline")


def require_add_to_timeline(actor: User, kind: str) -> None:
    if not can_add_to_timeline(actor, kind):
        raise PermissionDenied(_("only sales users may add to a timeline"))


def require_sales(actor: User) -> None:
    if actor.role not in SALES_ROLES:
        raise PermissionDenied(_("only sales users may do this"))


def require_admin(actor: User) -> None:
    if actor.role != "admin":
        raise PermissionDenied(_("only administrators may do this"))
