"""Error handlers: JSON ``{"error": {...}}`` under /api, friendly pages elsewhere."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from crm.extensions import db
from crm.i18n import _
from crm.web import budget
from crm.web.access import is_api_request, json_error

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


def with_exception_headers(response, exc: HTTPException):
    """Keep the headers the exception carries (a 405's ``Allow``, as RFC 9110 requires; a
    401's ``WWW-Authenticate``) on the page or JSON body that replaces its own."""
    for name, value in exc.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        if is_api_request():
            return json_error(400, "csrf", exc.description)
        return render_template("errors/error.html", code=400, message=exc.description), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if is_api_request():
            response = json_error(status, CODES.get(status, "error"), exc.description or "")
        else:
            response = app.make_response(
                (render_template("errors/error.html", code=status, message=exc.description), status))
        return with_exception_headers(response, exc)

    @app.errorhandler(OperationalError)
    def database_error(exc: OperationalError):
        """A statement PostgreSQL cancelled at the request's budget (``crm.web.budget``) is
        a 503 with Retry-After; any other operational error is unexpected (500)."""
        if not budget.is_statement_timeout(exc):
            return unexpected_error(exc)
        db.session.rollback()  # the transaction is aborted: nothing more can run in it
        app.logger.warning("request stopped at its statement timeout: %s %s", request.method, request.path)
        message = budget.timeout_message()
        if is_api_request():
            response = json_error(503, "statement_timeout", message)
        else:
            response = app.make_response((render_template("errors/timeout.html", message=message), 503))
        response.headers["Retry-After"] = str(budget.RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        app.logger.exception("unhandled error")
        if is_api_request():
            return json_error(500, "server_error", _("internal error"))
        return render_template("errors/error.html", code=500, message=_("Something went wrong.")), 500
