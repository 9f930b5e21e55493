"""Bearer-token authentication for /api/v1. Sessions never authenticate the API, so a
logged-in browser cannot be tricked into API calls (no CSRF surface)."""
from __future__ import annotations

from flask import abort, current_app, g, request
from flask_limiter.util import get_remote_address

from crm.auth.models import User
from crm.auth.services import user_for_api_token
from crm.extensions import db, limiter
from crm.timeutil import utcnow


def authenticate_api_request() -> None:
    header = request.headers.get("Authorization", "")
    if not header.strip():
        return  # no credentials: the role hook answers 401 where a route needs them
    scheme, _, secret = header.partition(" ")
    user = None
    if scheme.lower() == "bearer" and secret.strip():
        user = user_for_api_token(secret.strip(), utcnow())
    if user is None:
        _count_failed_authentication()
        return
    g.api_user = user
    if db.session.dirty:
        db.session.commit()  # last_used_at touch


def _count_failed_authentication() -> None:
    """Credentials that authenticate no one count against the client address
    (``API_AUTH_FAILURE_RATE_LIMIT``): past the limit they are answered 429 instead of 401.
    ``API_RATE_LIMIT`` alone cannot do it: it counts per token presented, so every made-up
    token got a fresh allowance.

    Only failures count, and a valid token is served even from an address over the limit:
    tokens are 256 random bits, so the limit is there to stop floods of bogus tokens, not
    guessing (which it could not make any harder), and one misconfigured client must not
    lock out the others behind the same address. Counted in the shared store, so the limit
    holds exactly across web processes."""
    limiter.hit_or_refuse(current_app.config["API_AUTH_FAILURE_RATE_LIMIT"],
                          "api-auth-failure:" + get_remote_address(), "api-auth")


def api_user() -> User:
    """The user behind the request's token: the ``actor`` every API route passes to services.
    The role hook has already refused requests without one; this guards routes that are
    reached some other way."""
    user = g.get("api_user")
    if user is None:
        abort(401)
    return user
