"""The API's error answers: every failure is ``{"error": {"code", "message", "fields"}}``
with its status. Registered on the api blueprint, so they win over the app-wide handlers
for every request routed to /api/v1."""
from __future__ import annotations

import logging

from flask import Blueprint
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException

from crm.errors import ServiceError
from crm.extensions import db, limiter
from crm.i18n import _
from crm.web.access import json_error
from crm.web.errors import CODES, with_exception_headers

log = logging.getLogger(__name__)


def register_api_error_handlers(bp: Blueprint) -> None:
    @bp.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        db.session.rollback()  # a service may have flushed part of the change
        return json_error(exc.status, exc.code, exc.message, exc.fields)

    @bp.errorhandler(IntegrityError)
    def integrity_error(exc: IntegrityError):
        # Two requests raced past a service's uniqueness check; the database kept one.
        db.session.rollback()
        log.info("integrity error answered as 409: %s", exc.orig)
        return json_error(409, "conflict", _("the record conflicts with an existing one"))

    @bp.errorhandler(DataError)
    def data_error(exc: DataError):
        # The input models should stop every value the database refuses; say which gap let
        # one through rather than answering 500.
        db.session.rollback()
        log.warning("database refused a value that passed validation: %s", exc.orig)
        return json_error(422, "validation_failed", _("a value is out of range for the database"))

    @bp.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        response = json_error(status, CODES.get(status, "error"), _message(status, exc))
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return with_exception_headers(response, exc)


def _message(status: int, exc: HTTPException) -> str:
    if status == 401:
        return "send a valid API token as 'Authorization: Bearer <token>'"
    if status == 403:
        return "your role may not use this route"
    if status == 429:  # Retry-After carries the same number (crm.extensions.CrmLimiter)
        return f"too many requests ({exc.description}): retry in {limiter.retry_after()} s"
    return exc.description or ""
