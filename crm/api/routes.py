"""Imports each feature's API module so their routes attach to the blueprint, and serves the
OpenAPI document built from them."""
import hashlib

from flask import current_app, jsonify, request
from flask_limiter.util import get_remote_address

from crm.api import bp
from crm.api.endpoint import endpoint
from crm.api.errors import register_api_error_handlers
from crm.api.openapi import build_document
from crm.contacts import api as contacts_api  # noqa: F401
from crm.deals import api as deals_api  # noqa: F401
from crm.extensions import limiter
from crm.features import feature_modules
from crm.web.access import public

feature_modules("api")  # each feature's routes attach to bp
register_api_error_handlers(bp)


def _api_rate_key() -> str:
    """One bucket per token (hashed, never stored plain), or per address without one: this
    also slows anyone guessing tokens."""
    header = request.headers.get("Authorization", "")
    if header:
        return "api:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    return "api-anon:" + get_remote_address()


limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=_api_rate_key)(bp)


@bp.get("/openapi.json")
@public
@endpoint("This OpenAPI 3.1 document")
def openapi_document():
    document = current_app.extensions.get("crm_openapi")
    if document is None:  # routes are fixed once the app is built: build once
        document = current_app.extensions["crm_openapi"] = build_document(current_app)
    return jsonify(document)
