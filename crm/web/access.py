"""Role declarations on views and the one hook that enforces them."""
from __future__ import annotations

from typing import Callable

from flask import Flask, abort, current_app, g, jsonify, redirect, request, url_for
from flask_login import current_user

ROLES = ("rep", "manager", "planner", "finance", "admin")
EVERYONE = ROLES
SALES = ("rep", "manager", "admin")

ACCESS_ATTR = "_crm_allowed_roles"
PUBLIC = "public"


def roles(*allowed: str) -> Callable:
    """Declare the roles allowed to call a view. Unknown role names fail at import time."""
    unknown = set(allowed) - set(ROLES)
    if unknown or not allowed:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(view):
        setattr(view, ACCESS_ATTR, frozenset(allowed))
        return view

    return decorate


def public(view):
    """Declare a view open to anonymous visitors (login page, tracking, booking...)."""
    setattr(view, ACCESS_ATTR, PUBLIC)
    return view


# Path prefixes of public endpoints that never use the login session (the tracking pixel,
# redirect and beacons, see ``crm.tracking.public_views``): there the session cookie is
# neither read nor written (``crm.app.SessionInterface``).
COOKIELESS_PATH_PREFIXES: tuple[str, ...] = ()


def cookieless_paths(prefix: str) -> None:
    """Declare that every view under ``prefix`` is public and never touches ``session``."""
    global COOKIELESS_PATH_PREFIXES
    if not prefix.startswith("/") or not prefix.endswith("/"):
        raise ValueError("a path prefix: starts and ends with /")
    if prefix not in COOKIELESS_PATH_PREFIXES:
        COOKIELESS_PATH_PREFIXES = (*COOKIELESS_PATH_PREFIXES, prefix)


def declared_access(app: Flask, endpoint: str):
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    # Follow functools.wraps chains: decorators applied after ours keep the attribute reachable.
    while view is not None:
        value = getattr(view, ACCESS_ATTR, None)
        if value is not None:
            return value
        view = getattr(view, "__wrapped__", None)
    return None


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def enforce_declared_roles() -> None:
    """before_request: apply the view's declaration. API requests authenticate by token
    (``crm.auth.tokens``) before this runs and set ``g.api_user``."""
    endpoint = request.endpoint
    if endpoint is None:  # 404 / 405: let Flask answer
        return None
    if endpoint == "static":
        return None
    access = declared_access(current_app, endpoint)
    if access == PUBLIC:
        return None
    if access is None:
        current_app.logger.error("view %s declares no roles; refusing", endpoint)
        abort(403)
    user = g.get("api_user") if is_api_request() else (
        current_user if current_user.is_authenticated else None
    )
    if user is None:
        if is_api_request():
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if user.role not in access:
        abort(403)
    return None


def json_error(status: int, code: str, message: str, fields: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    response.status_code = status
    return response
