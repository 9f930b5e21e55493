"""Bearer-token authentication for /api/v1. Sessions never authenticate the API, so a
logged-in browser cannot be tricked into API calls (no CSRF surface)."""
from __future__ import annotations

from flask import abort, g, request

from crm.auth.models import User
from crm.auth.services import user_for_api_token
from crm.extensions import db
from crm.timeutil import utcnow


def authenticate_api_request() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return
    user = user_for_api_token(secret.strip(), utcnow())
    if user is not None:
        g.api_user = user
        if db.session.dirty:
            db.session.commit()  # last_used_at touch


def api_user() -> User:
    """The user behind the request's token: the ``actor`` every API route passes to services.
    The role hook has already refused requests without one; this guards routes that are
    reached some other way."""
    user = g.get("api_user")
    if user is None:
        abort(401)
    return user
