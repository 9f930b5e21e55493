"""User, session and API-token services. They flush; the caller commits."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from crm.auth import messages
from crm.auth.models import ApiToken, User, UserSession
from crm.auth.passwords import hash_password, needs_rehash, password_problems, verify_password
from crm.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.i18n import LANGUAGE_TAGS, _, normalize_language
from crm.policy import SALES_ROLES
from crm.timeutil import is_valid_timezone
from crm.validation import get_by_id, has_control_chars, normalize_email
from crm.web.access import ROLES

TOKEN_PREFIX = "crm_"
MIN_PASSWORD_LENGTH = 12


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def validate_new_password(password: str, email: str = "", name: str = "", *, field: str = "password",
                          min_length: int = MIN_PASSWORD_LENGTH) -> None:
    """Apply the password policy (``crm.auth.passwords.password_problems``).

    :raises ValidationFailed: with every reason, as whole sentences, on ``field``
    """
    problems = password_problems(password, min_length, email=email, name=name)
    if problems:
        raise ValidationFailed(messages.PASSWORD_REFUSED, {field: " ".join(problems)})


def create_user(
    email: str,
    role: str,
    password: str,
    *,
    name: str = "",
    manager_id: int | None = None,
    time_zone: str = "UTC",
) -> User:
    """Create a user after checking the role, the email, the time zone and the password policy.

    :raises ValidationFailed: on any bad field (all problems reported together)
    :raises Conflict: if the email is taken
    """
    fields: dict[str, str] = {}
    try:
        email = normalize_email(email)
    except ValueError as exc:
        fields["email"] = str(exc)
    if role not in ROLES:
        fields["role"] = _("must be one of %(choices)s", choices=', '.join(ROLES))
    if not is_valid_timezone(time_zone):
        fields["time_zone"] = _("unknown time zone")
    problems = password_problems(password, MIN_PASSWORD_LENGTH, email=email, name=name)
    if problems:
        fields["password"] = " ".join(problems)
    if manager_id is not None:
        manager = db.session.get(User, manager_id)
        if manager is None or manager.role != "manager":
            fields["manager_id"] = _("must be a manager")
    if fields:
        raise ValidationFailed(_("invalid user"), fields)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(_("a user with this email exists"), {"email": _("already taken")})
    user = User(
        email=email,
        name=name.strip() or email.split("@")[0],
        role=role,
        password_hash=hash_password(password),
        manager_id=manager_id,
        time_zone=time_zone,
    )
    db.session.add(user)
    db.session.flush()
    return user


# --- changing and resetting passwords ---------------------------------------------------

@dataclass(frozen=True)
class SignOutReport:
    """What a password change or a forced reset ended, for the message shown afterwards."""

    user: User
    sessions_ended: int  # live sessions revoked (a change keeps, and does not count, the current one)
    tokens_revoked: int
    # The current session's new secret after a change re-keyed it (for the browser's cookie);
    # None when no live current session was given.
    session_secret: str | None = None


def change_password(actor: User, current_password: str, new_password: str, now: datetime, *,
                    session_secret: str | None = None) -> SignOutReport:
    """The signed-in ``actor`` changes their own password (the account page).

    Someone who learnt the old password may be signed in elsewhere or hold a token, so every
    other session of the user ends and every API token is revoked. The session
    ``session_secret`` (the one making the change) stays signed in under a new secret, so a
    secret planted or copied before the change stops working (session fixation).

    :raises ValidationFailed: a wrong ``current_password`` (on ``current_password``) or a new
        password the policy refuses (on ``new_password``, every reason given)
    """
    if not verify_password(actor.password_hash, current_password or ""):
        raise ValidationFailed(messages.WRONG_CURRENT_PASSWORD,
                               {"current_password": str(messages.WRONG_CURRENT_PASSWORD)})
    return _replace_password(actor, new_password, now, session_secret)


def set_new_password(actor: User, new_password: str, now: datetime, *,
                     session_secret: str | None = None) -> SignOutReport:
    """The new password of a user an administrator flagged with ``force_password_reset``,
    chosen right after signing in with the old one (which is why it is not asked again).
    Clears the flag; sessions and tokens as ``change_password``.

    :raises Conflict: no reset is pending for ``actor``
    :raises ValidationFailed: a new password the policy refuses (on ``new_password``)
    """
    if not actor.must_change_password:
        raise Conflict(messages.NO_RESET_PENDING)
    return _replace_password(actor, new_password, now, session_secret)


def _replace_password(user: User, password: str, now: datetime, session_secret: str | None) -> SignOutReport:
    password = password or ""
    validate_new_password(password, user.email, user.name, field="new_password")
    if verify_password(user.password_hash, password):
        raise ValidationFailed(messages.PASSWORD_SAME_AS_CURRENT,
                               {"new_password": str(messages.PASSWORD_SAME_AS_CURRENT)})
    user.password_hash = hash_password(password)
    user.must_change_password = False
    current = _live_session(user, session_secret, now) if session_secret else None
    sessions_ended = _end_sessions(user, now, keep=current)
    tokens_revoked = _revoke_tokens(user, now)
    new_secret = _rekey_session(current, now) if current is not None else None
    db.session.flush()
    return SignOutReport(user, sessions_ended, tokens_revoked, new_secret)


def force_password_reset(actor: User, user_id: int, now: datetime) -> SignOutReport:
    """An administrator makes ``user_id`` choose a new password: all of their sessions end and
    all of their API tokens are revoked now, and after their next sign-in (still with the old
    password) nothing but the page to set a new one is reachable until they do.

    :raises PermissionDenied: ``actor`` is not an administrator
    :raises NotFound: no such user
    :raises Conflict: ``actor`` is the user (they change their own on the account page)
    """
    user = _reset_target(actor, user_id)
    user.must_change_password = True
    report = SignOutReport(user, _end_sessions(user, now), _revoke_tokens(user, now))
    db.session.flush()
    return report


def preview_password_reset(actor: User, user_id: int, now: datetime) -> SignOutReport:
    """What ``force_password_reset`` would end now (for the page that asks to confirm), with
    the same checks; changes nothing."""
    user = _reset_target(actor, user_id)
    return SignOutReport(user, live_session_count(user, now), active_token_count(user))


def _reset_target(actor: User, user_id: int) -> User:
    if actor.role != "admin":
        raise PermissionDenied(messages.FORCE_RESET_ADMIN_ONLY)
    user = get_by_id(User, user_id)
    if user is None:
        raise NotFound(_("no such user"))
    if user.id == actor.id:
        raise Conflict(messages.FORCE_RESET_OWN_ACCOUNT)
    return user


def live_session_count(user: User, now: datetime) -> int:
    return len(_live_sessions(user, now))


def active_token_count(user: User) -> int:
    return len(_active_tokens(user))


def _live_sessions(user: User, now: datetime) -> list[UserSession]:
    return list(db.session.scalars(select(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None), UserSession.expires_at > now,
    )))


def _active_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ))


def _live_session(user: User, secret: str, now: datetime) -> UserSession | None:
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == _sha256(secret)))
    return row if row is not None and row.user_id == user.id and row.is_live(now) else None


def _end_sessions(user: User, now: datetime, *, keep: UserSession | None = None) -> int:
    ended = 0
    for row in _live_sessions(user, now):
        if keep is None or row.id != keep.id:
            row.revoked_at = now
            ended += 1
    return ended


def _revoke_tokens(user: User, now: datetime) -> int:
    tokens = _active_tokens(user)
    for token in tokens:
        token.revoked_at = now
    return len(tokens)


def _rekey_session(current: UserSession, now: datetime) -> str:
    """Replace ``current`` with a session under a new secret that keeps its expiry (a
    remembered login stays remembered for as long as it had left)."""
    secret = secrets.token_urlsafe(32)
    db.session.add(UserSession(
        token_hash=_sha256(secret), user_id=current.user_id, created_at=now,
        expires_at=current.expires_at, user_agent=current.user_agent,
    ))
    current.revoked_at = now
    return secret


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None. Takes the same time whether or not the
    account exists; upgrades the hash when its parameters are outdated."""
    try:
        email = normalize_email(email)
    except ValueError:
        email = email.strip().lower()
    user = db.session.scalar(select(User).where(User.email == email))
    if not verify_password(user.password_hash if user else None, password) or user is None:
        return None
    if not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


# --- server-side sessions ---------------------------------------------------------------

def start_session(user: User, now: datetime, lifetime: timedelta, user_agent: str = "") -> str:
    """Open a new login session and return its secret (kept only in the user's cookie)."""
    secret = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            token_hash=_sha256(secret),
            user_id=user.id,
            created_at=now,
            expires_at=now + lifetime,
            user_agent=user_agent[:300],
        )
    )
    db.session.flush()
    return secret


def user_for_session(secret: str, now: datetime) -> User | None:
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == _sha256(secret)))
    if row is None or not row.is_live(now) or not row.user.is_active:
        return None
    return row.user


def session_expires_at(secret: str) -> datetime | None:
    """When the session ``secret`` expires (None: no such session)."""
    return db.session.scalar(select(UserSession.expires_at).where(UserSession.token_hash == _sha256(secret)))


def end_session(secret: str, now: datetime) -> None:
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == _sha256(secret)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now


def purge_expired_sessions(now: datetime) -> int:
    """Scheduled job: drop sessions that expired or were revoked over a day ago."""
    rows = db.session.scalars(
        select(UserSession).where(
            (UserSession.expires_at < now) | (UserSession.revoked_at < now - timedelta(days=1))
        )
    ).all()
    for row in rows:
        db.session.delete(row)
    return len(rows)


# --- API tokens -------------------------------------------------------------------------

def create_api_token(user: User, name: str, now: datetime) -> tuple[ApiToken, str]:
    """Create a token; the plain secret is returned once and never stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed(_("invalid token name"), {"name": _("1 to 100 characters")})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, prefix=secret[:10], token_hash=_sha256(secret), created_at=now
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def revoke_api_token(actor: User, token_id: int, now: datetime) -> ApiToken:
    token = get_by_id(ApiToken, token_id)
    if token is None:
        raise NotFound(_("no such token"))
    if token.user_id != actor.id and actor.role != "admin":
        raise PermissionDenied(_("not your token"))
    token.revoked_at = token.revoked_at or now
    return token


def list_api_tokens(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
        )
    )


def user_for_api_token(secret: str, now: datetime) -> User | None:
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(secret)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    # A forced reset revoked every token; one minted meanwhile (crm create-token) waits too.
    if token.user.must_change_password:
        return None
    # Touch last_used at most once a minute to keep reads cheap.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return token.user


def sales_user_id(value: Any) -> int | None:
    """The id of the sales user (rep, manager, admin) ``value`` names, or None for a blank; a
    record's owner must be one. :raises ValueError: for anyone else (in an input model's
    validator, it becomes that field's error)."""
    if value in (None, ""):
        return None
    owner = get_by_id(User, value)
    if owner is None or owner.role not in SALES_ROLES:
        raise ValueError(_("must be a sales user"))
    return owner.id


def get_user_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFound(_("no user %(email)s", email=email))
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.name)))


def team_of(manager: User) -> list[User]:
    return list(db.session.scalars(select(User).where(User.manager_id == manager.id)))


# --- administration ---------------------------------------------------------------------

def set_user_active(actor: User, user_id: int, active: bool, now: datetime) -> User:
    """Deactivate (or reactivate) an account. A deactivated user's sessions and tokens stop
    working at once (both check ``is_active``); admins cannot lock themselves out."""
    if actor.role != "admin":
        raise PermissionDenied(_("only administrators may do this"))
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("no such user"))
    if user.id == actor.id and not active:
        raise Conflict(_("you cannot deactivate your own account"), {"is_active": _("your own account")})
    user.is_active = active
    if not active:
        for row in db.session.scalars(
            select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        ):
            row.revoked_at = now
    db.session.flush()
    return user


def update_user(actor: User, user_id: int, *, name: str, role: str, manager_id: int | None, time_zone: str) -> User:
    """An admin edits an existing user's name, role, manager and time zone (email and password
    have their own paths). A rep moved to another role leaves their manager's team; a manager
    with reps keeps the role until the team is moved; admins cannot demote themselves.

    :raises ValidationFailed: on any bad field (all reported together)
    :raises Conflict: the change would strand a team or lock the admin out"""
    if actor.role != "admin":
        raise PermissionDenied(_("only administrators may do this"))
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("no such user"))
    fields: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        fields["name"] = _("required")
    elif len(name) > 200:
        fields["name"] = _("at most 200 characters")
    if role not in ROLES:
        fields["role"] = _("must be one of %(choices)s", choices=', '.join(ROLES))
    if not is_valid_timezone(time_zone or ""):
        fields["time_zone"] = _("unknown time zone")
    if manager_id is not None:
        manager = db.session.get(User, manager_id)
        if role != "rep":
            fields["manager_id"] = _("only reps have a manager")
        elif manager is None or manager.role != "manager" or manager.id == user.id:
            fields["manager_id"] = _("must be a manager")
    if fields:
        raise ValidationFailed(_("invalid user"), fields)
    if user.id == actor.id and role != "admin":
        raise Conflict(_("you cannot take away your own admin role"), {"role": _("your own account")})
    if user.role == "manager" and role != "manager" and db.session.scalar(
            select(func.count(User.id)).where(User.manager_id == user.id)):
        raise Conflict(_("this manager still has a team: move their reps first"),
                       {"role": _("move this manager's reps to another manager first")})
    user.name, user.role, user.time_zone = name, role, time_zone
    user.manager_id = manager_id if role == "rep" else None
    db.session.flush()
    return user


def set_manager(actor: User, user_id: int, manager_id: int | None) -> User:
    """Move a rep to another manager's team (or to none)."""
    if actor.role != "admin":
        raise PermissionDenied(_("only administrators may do this"))
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("no such user"))
    if user.role != "rep":
        raise ValidationFailed(_("only reps have a manager"), {"manager_id": _("only reps have a manager")})
    if manager_id is not None:
        manager = db.session.get(User, manager_id)
        if manager is None or manager.role != "manager":
            raise ValidationFailed(_("invalid manager"), {"manager_id": _("must be a manager")})
    user.manager_id = manager_id
    db.session.flush()
    return user


# --- the user's own settings: language, time zone, signature (issue #17) -------------------

MAX_SIGNATURE = 2000
PROFILE_FIELDS = ("language", "time_zone", "signature")


def update_profile(user: User, changes: dict[str, Any]) -> User:
    """Set any of the user's own language (a tag of ``crm.i18n.LANGUAGE_TAGS``), time zone
    (an IANA name) and mail signature (plain text; empty removes it). Every bad field is
    reported at once, nothing is changed then."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    if "language" in changes:
        tag = normalize_language(changes["language"]) if isinstance(changes["language"], str) else None
        if tag not in LANGUAGE_TAGS:
            problems["language"] = _("one of %(tags)s", tags=", ".join(LANGUAGE_TAGS))
        values["language"] = tag
    if "time_zone" in changes:
        zone = changes["time_zone"]
        if not isinstance(zone, str) or not is_valid_timezone(zone.strip()):
            problems["time_zone"] = _("not a known time zone: an IANA name such as America/Monterrey")
        else:
            values["time_zone"] = zone.strip()
    if "signature" in changes:
        text = changes["signature"] if changes["signature"] is not None else ""
        if not isinstance(text, str) or len(text) > MAX_SIGNATURE or has_control_chars(text.replace("\x0c", "")):
            problems["signature"] = _("plain text of at most %(n)s characters", n=MAX_SIGNATURE)
        else:
            values["signature"] = text.strip("\n\r ") or None
    if problems:
        raise ValidationFailed(_("invalid settings"), problems)
    for name, value in values.items():
        setattr(user, name, value)
    db.session.flush()
    return user
