"""The API blueprint of one app: every feature's routes from the manifest, the error answers,
the per-token rate limit and the OpenAPI document built from the mounted routes.

A new blueprint per app, because Flask refuses new routes on a blueprint once an app has
registered it, and each app mounts the routes its manifest names."""
from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, jsonify, request
from flask_limiter.util import get_remote_address

from crm.api.endpoint import endpoint
from crm.api.errors import register_api_error_handlers
from crm.api.openapi import build_document
from crm.api.routing import ApiRoutes
from crm.extensions import limiter
from crm.web.access import public


def _api_rate_key() -> str:
    """One bucket per token (hashed, never stored plain), or per address without one: this
    also slows anyone guessing tokens."""
    header = request.headers.get("Authorization", "")
    if header:
        return "api:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    return "api-anon:" + get_remote_address()


# One decorator object for every app's blueprint: Flask-Limiter keeps blueprint limits by
# blueprint name, and an equal limit added again is the same limit, not a second one.
API_RATE_LIMIT = limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=_api_rate_key)

core_routes = ApiRoutes()


@core_routes.get("/openapi.json")
@public
@endpoint("This OpenAPI 3.1 document")
def openapi_document():
    document = current_app.extensions.get("crm_openapi")
    if document is None:  # routes are fixed once the app is built: build once
        document = current_app.extensions["crm_openapi"] = build_document(current_app)
    return jsonify(document)


def build_api_blueprint(feature_routes: list[ApiRoutes]) -> Blueprint:
    bp = Blueprint("api", __name__, url_prefix="/api/v1")
    for routes in (*feature_routes, core_routes):
        routes.mount(bp)
    register_api_error_handlers(bp)
    API_RATE_LIMIT(bp)
    return bp
