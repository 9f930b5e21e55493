"""The ``@endpoint`` declaration every API route carries under its ``@roles``.

One declaration does two jobs so they cannot drift apart: it parses and validates the request
(the body and query models are the ones the view receives as ``body=`` and ``query=``), and it
is what ``crm/api/openapi.py`` reads to describe the route.

    @bp.post("/contacts")
    @roles(*SALES)
    @endpoint("Create a contact", body=ContactIn, response=ContactOut, status=201)
    def create_contact(body: ContactIn): ...

The view returns an instance of ``response`` (serialised to JSON with ``status``), ``None``
(204 No Content), or a ready ``Response``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

from flask import Response, current_app, jsonify, request
from pydantic import BaseModel, ValidationError

from crm.api.schemas import MAX_ID
from crm.errors import NotFound, ServiceError, ValidationFailed
from crm.i18n import _
from crm.validation import field_errors

SPEC_ATTR = "_crm_api_spec"
MAX_BODY_BYTES = 1024 * 1024


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServiceError):
    """Answered as 400 like malformed JSON: both mean "this is not a JSON body"."""

    status = 400
    code = "bad_request"


@dataclass(frozen=True)
class EndpointSpec:
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    description: str = ""
    # A multipart/form-data body: ``form`` models its text fields (parsed into ``form=``),
    # ``files`` names its file fields (the view reads them from ``request.files``; "name?": optional).
    form: type[BaseModel] | None = None
    files: tuple[str, ...] = ()
    form_limit: Callable[[], int] | None = None  # the largest body accepted (default: MAX_CONTENT_LENGTH)
    # A binary answer (e.g. "audio/*") instead of JSON, and the extra statuses it may carry.
    media_type: str | None = None
    extra_statuses: tuple[int, ...] = ()
    # Raw request bodies the view reads itself (e.g. "message/rfc822", "text/csv"); with
    # ``files`` and no ``form``, the multipart file fields are an alternative to them.
    raw_body: tuple[str, ...] = ()
    # Other media types the success answer may take (e.g. "text/csv" for ``format=csv``).
    alternatives: tuple[str, ...] = ()
    # A security scheme of the document's components other than the bearer token.
    security: str | None = None


def endpoint(
    summary: str, *, body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None, status: int = 200, description: str = "",
    form: type[BaseModel] | None = None, files: tuple[str, ...] = (), form_limit: Callable[[], int] | None = None,
    media_type: str | None = None, extra_statuses: tuple[int, ...] = (), raw_body: tuple[str, ...] = (),
    alternatives: tuple[str, ...] = (), security: str | None = None,
) -> Callable:
    spec = EndpointSpec(summary, body=body, query=query, response=response, status=status, description=description,
                        form=form, files=files, form_limit=form_limit, media_type=media_type,
                        extra_statuses=extra_statuses, raw_body=raw_body, alternatives=alternatives,
                        security=security)

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def handle(**path_args: Any):
            refuse_impossible_ids(path_args)
            if spec.body is not None:
                path_args["body"] = parse_body(spec.body)
            if spec.query is not None:
                path_args["query"] = parse_query(spec.query)
            if spec.form is not None:
                path_args["form"] = parse_form(spec.form, spec.form_limit)
            return render(view(**path_args), spec)

        setattr(handle, SPEC_ATTR, spec)
        return handle

    return decorate


def refuse_impossible_ids(path_args: dict[str, Any]) -> None:
    """``<int:...>`` matches any run of digits; an id no row can have is a 404 here, before
    binding it overflows SQLite's 64-bit integers."""
    if any(isinstance(value, int) and value > MAX_ID for value in path_args.values()):
        raise NotFound(_("no such record"))


def spec_of(view: Callable | None) -> EndpointSpec | None:
    while view is not None:
        spec = getattr(view, SPEC_ATTR, None)
        if spec is not None:
            return spec
        view = getattr(view, "__wrapped__", None)
    return None


def parse_body(model: type[BaseModel]) -> BaseModel:
    if not request.is_json:
        raise UnsupportedMediaType(_("send a JSON body with Content-Type: application/json"))
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise PayloadTooLarge(_("a request body may be at most %(MAX_BODY_BYTES)s bytes",
                                MAX_BODY_BYTES=MAX_BODY_BYTES))
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(_("a request body may be at most %(MAX_BODY_BYTES)s bytes",
                                MAX_BODY_BYTES=MAX_BODY_BYTES))
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        malformed = [e for e in exc.errors(include_url=False) if e["type"] == "json_invalid"]
        if malformed:
            raise ServiceError(_("malformed JSON: %(msg)s", msg=malformed[0]['msg'])) from None
        raise ValidationFailed(_("invalid request body"), field_errors(exc, root="body")[0]) from None


def parse_form(model: type[BaseModel], limit: Callable[[], int] | None = None) -> BaseModel:
    """Validate the text fields of a multipart/form-data body (reading the form reads the
    whole body, files included: ``limit`` first replaces MAX_CONTENT_LENGTH for it)."""
    if limit is not None:
        request.max_content_length = limit()
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType(_("send a multipart/form-data body"))
    try:
        return model.model_validate(request.form.to_dict())
    except ValidationError as exc:
        raise ValidationFailed(_("invalid form fields"), field_errors(exc, root="body")[0]) from None


def parse_query(model: type[BaseModel]) -> BaseModel:
    """Validate the query string; ``custom.<key>=value`` pairs are gathered into ``custom``
    for models that declare it."""
    data: dict[str, Any] = {}
    custom: dict[str, str] = {}
    for key, value in request.args.items():
        if key.startswith("custom.") and "custom" in model.model_fields:
            custom[key.removeprefix("custom.")] = value
        else:
            data[key] = value
    if custom:
        data["custom"] = custom
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(_("invalid query parameters"), field_errors(exc, root="body")[0]) from None


def render(result: Any, spec: EndpointSpec) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status=204)
    if spec.response is not None and not isinstance(result, spec.response):
        # The document promises spec.response; a view returning anything else is a bug.
        raise TypeError(f"{spec.summary!r} returned {type(result).__name__}")
    response = jsonify(result.model_dump(mode="json"))
    response.status_code = spec.status
    return response


def page_args(query: BaseModel) -> dict[str, int]:
    """``page`` and ``per_page`` from a query, capped by ``API_PAGE_SIZE_MAX``."""
    limit = current_app.config.get("API_PAGE_SIZE_MAX", 200)
    return {"page": query.page, "per_page": min(query.per_page, limit)}
