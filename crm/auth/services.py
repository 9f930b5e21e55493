"""User, session and API-token services. They flush; the caller commits."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from crm.auth.models import ApiToken, User, UserSession
from crm.auth.passwords import hash_password, needs_rehash, password_problems, verify_password
from crm.contacts.emails import normalize_email
from crm.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.timeutil import is_valid_timezone
from crm.validation import get_by_id
from crm.web.access import ROLES

TOKEN_PREFIX = "crm_"
MIN_PASSWORD_LENGTH = 12


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def validate_new_password(password: str, email: str = "", min_length: int = MIN_PASSWORD_LENGTH):
    problems = password_problems(password, min_length, email=email)
    if problems:
        raise ValidationFailed("Password " + "; ".join(problems), {"password": "; ".join(problems)})


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
        fields["role"] = f"must be one of {', '.join(ROLES)}"
    if not is_valid_timezone(time_zone):
        fields["time_zone"] = "unknown time zone"
    problems = password_problems(password, MIN_PASSWORD_LENGTH, email=email)
    if problems:
        fields["password"] = "; ".join(problems)
    if manager_id is not None:
        manager = db.session.get(User, manager_id)
        if manager is None or manager.role != "manager":
            fields["manager_id"] = "must be a manager"
    if fields:
        raise ValidationFailed("invalid user", fields)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("a user with this email exists", {"email": "already taken"})
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


def set_password(user: User, password: str) -> None:
    validate_new_password(password, user.email)
    user.password_hash = hash_password(password)


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None. Takes the same time whether or not the
    account exists; upgrades the hash when its parameters are outdated."""
    try:
        email = normalize_email(email)
    except ValueError:
        email = email.strip().lower()
    user = db.session.scalar(select(User).where(User.email == email))
    if not verify_password(user.password_hash if user else None, password):
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
        raise ValidationFailed("invalid token name", {"name": "1 to 100 characters"})
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
        raise NotFound("no such token")
    if token.user_id != actor.id and actor.role != "admin":
        raise PermissionDenied("not your token")
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
    # Touch last_used at most once a minute to keep reads cheap.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return token.user


def get_user_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFound(f"no user {email}")
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
        raise PermissionDenied("only administrators may do this")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    if user.id == actor.id and not active:
        raise Conflict("you cannot deactivate your own account", {"is_active": "your own account"})
    user.is_active = active
    if not active:
        for row in db.session.scalars(
            select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        ):
            row.revoked_at = now
    db.session.flush()
    return user


def set_manager(actor: User, user_id: int, manager_id: int | None) -> User:
    """Move a rep to another manager's team (or to none)."""
    if actor.role != "admin":
        raise PermissionDenied("only administrators may do this")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    if user.role != "rep":
        raise ValidationFailed("only reps have a manager", {"manager_id": "only reps have a manager"})
    if manager_id is not None:
        manager = db.session.get(User, manager_id)
        if manager is None or manager.role != "manager":
            raise ValidationFailed("invalid manager", {"manager_id": "must be a manager"})
    user.manager_id = manager_id
    db.session.flush()
    return user
