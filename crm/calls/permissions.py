"""Whose queue and plan a viewer may read: their own; a manager their team's; an admin anyone's
(the same reach as ``crm.policy.can_edit_owned`` gives for records)."""
from __future__ import annotations

from crm.auth.models import User
from crm.errors import NotFound, PermissionDenied
from crm.extensions import db
from crm.i18n import _
from crm.policy import can_edit_owned
from crm.validation import as_id


def rep_for(viewer: User, user_id) -> User:
    """The rep whose queue ``viewer`` asks for (``None``: their own), or PermissionDenied."""
    if user_id is None or user_id == "":
        return viewer
    rep = db.session.get(User, as_id(user_id)) if as_id(user_id) else None
    if rep is None:
        raise NotFound(_("no such user"))
    if rep.id != viewer.id and (rep.id is None or not can_edit_owned(viewer, rep.id, rep.manager_id)):
        raise PermissionDenied(_("you may only read your own queue (managers: their team's)"))
    return rep
