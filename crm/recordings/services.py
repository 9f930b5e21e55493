"""The public face of the recordings feature: who may listen to which recording, and the
recordings a user may see. Services flush, never commit."""
from __future__ import annotations

from sqlalchemy import Select, false, or_, select

from crm.auth.models import User
from crm.errors import NotFound, PermissionDenied
from crm.extensions import db
from crm.policy import SALES_ROLES
from crm.recordings.models import Recording
from crm.validation import as_id


def can_listen(actor: User, recording: Recording) -> bool:
    """The rep who made the call, their manager (``users.manager_id``) and admins. Planners
    never: a call is personal data."""
    if actor.role == "admin":
        return True
    if actor.role not in SALES_ROLES or recording.user_id is None:
        return False
    if recording.user_id == actor.id:
        return True
    return actor.role == "manager" and recording.user is not None and recording.user.manager_id == actor.id


def visible_recordings(actor: User) -> Select:
    """``select(Recording)`` limited to the recordings ``actor`` may listen to (same rule as
    ``can_listen``); callers add their own filters, order and pagination."""
    query = select(Recording)
    if actor.role == "admin":
        return query
    if actor.role not in SALES_ROLES:
        return query.where(false())
    mine = Recording.user_id == actor.id
    if actor.role == "manager":
        team = select(User.id).where(User.manager_id == actor.id)
        return query.where(or_(mine, Recording.user_id.in_(team)))
    return query.where(mine)


def require_listener_role(actor: User) -> None:
    if actor.role not in SALES_ROLES:
        raise PermissionDenied("recordings are for sales users")


def recording_for(actor: User, recording_id) -> Recording:
    """The recording ``actor`` may listen to. Planners: PermissionDenied; a recording that does
    not exist or is not theirs to hear: NotFound (whether it exists is not theirs to know)."""
    require_listener_role(actor)
    recording_id = as_id(recording_id)
    recording = db.session.get(Recording, recording_id) if recording_id else None
    if recording is None or not can_listen(actor, recording):
        raise NotFound("no such recording")
    return recording


def recording_for_call(actor: User, activity_id) -> Recording | None:
    """The recording of call activity ``activity_id`` if there is one ``actor`` may hear."""
    activity_id = as_id(activity_id)
    if not activity_id or actor.role not in SALES_ROLES:
        return None
    recording = db.session.scalar(select(Recording).where(Recording.activity_id == activity_id))
    return recording if recording is not None and can_listen(actor, recording) else None
