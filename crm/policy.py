"""Who may change what. One place, used by every service that writes owned records.

Everyone in sales sees every contact, company and deal (reps must see a colleague's account
to avoid double prospecting); changing one is for its owner, the owner's manager, or an admin.
Unowned records are open to all of sales. Planners read pipeline data and write nothing here.
"""
from __future__ import annotations

from crm.auth.models import User
from crm.errors import PermissionDenied


def can_edit_owned(actor: User, owner_id: int | None, owner_manager_id: int | None) -> bool:
    if actor.role == "admin":
        return True
    if actor.role not in ("rep", "manager"):
        return False
    if owner_id is None or owner_id == actor.id:
        return True
    return actor.role == "manager" and owner_manager_id == actor.id


def require_edit(actor: User, record) -> None:
    owner = getattr(record, "owner", None)
    if not can_edit_owned(actor, getattr(record, "owner_id", None), owner.manager_id if owner else None):
        raise PermissionDenied("you may not change this record")


def require_sales(actor: User) -> None:
    if actor.role not in ("rep", "manager", "admin"):
        raise PermissionDenied("only sales users may do this")


def require_admin(actor: User) -> None:
    if actor.role != "admin":
        raise PermissionDenied("only administrators may do this")
