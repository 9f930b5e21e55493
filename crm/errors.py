"""Domain errors raised by services. Views and the API map them to pages and status codes."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        # Messages may be lazy translations (crm.i18n._l): read them now, in the language of
        # the request that raised, as plain text every caller can join, compare and serialise.
        message = str(message)
        super().__init__(message)
        self.message = message
        self.fields = {key: value if isinstance(value, (str, dict, list)) else str(value)
                       for key, value in (fields or {}).items()}


class ValidationFailed(ServiceError):
    status = 422
    code = "validation_failed"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"
