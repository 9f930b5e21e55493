"""The OpenAPI 3.1 document, generated from the routes themselves: the URL map gives each
path and method, ``@roles`` the roles, ``@endpoint`` the summary and the pydantic models,
whose ``model_json_schema`` become the components. A route without ``@endpoint`` is left out
(and logged), which the test walking the URL map turns into a failure.

The error statuses are derived in one place (``error_statuses``) from what a route declares,
so a new route documents them without listing any: 401/403/404 unless public (404 also for a
public route with a path id or a query/body field naming a record), 422 for a text path value
the route parses, 204 for a view that may return nothing, 400/422 when it reads a query or
a body, 413/415 for bodies, 409/422 for changes, and 429 (per-token rate limit, with
``Retry-After``) and 503 (the database's time budget, with ``Retry-After``) everywhere.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

from crm.api.endpoint import EndpointSpec, spec_of
from crm.api.schemas import MAX_ID, ErrorOut
from crm.web.access import PUBLIC, declared_access

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
REF_TEMPLATE = "#/components/schemas/{model}"
PATH_ARG = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
CONVERTER_SCHEMAS = {"int": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
ERRORS = {
    400: ("BadRequest", "Malformed JSON, or not a JSON body"),
    401: ("Unauthorized", "No valid API token (send 'Authorization: Bearer <token>')"),
    403: ("Forbidden", "The token's user may not do this (role, or not the record's owner)"),
    404: ("NotFound", "No such record"),
    409: ("Conflict", "The change conflicts with existing data (duplicate, record in use, state)"),
    413: ("PayloadTooLarge", "The request body is too large"),
    415: ("UnsupportedMediaType", "The body's Content-Type is not one this operation reads"),
    416: ("RangeNotSatisfiable", "The requested byte range lies outside the file"),
    422: ("ValidationFailed", "Invalid input, or a change the record's state refuses (e.g. in use); "
                              "`fields` names each bad field"),
    429: ("TooManyRequests", "Rate limit reached; retry after `Retry-After` seconds"),
    503: ("ServiceUnavailable", "The request ran out of its database time budget; retry after `Retry-After` seconds"),
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", "required": True,
                               "schema": {"type": "integer", "minimum": 1}}}
ALWAYS = {429, 503}
SECURITY_SCHEMES = {
    "bearerToken": {"type": "http", "scheme": "bearer"},
    "inboundSecret": {"type": "apiKey", "in": "header", "name": "X-Inbound-Secret",
                      "description": "The shared secret of the inbound-mail webhook (INBOUND_MAIL_SECRET)"},
}
BINARY = {"type": "string", "format": "binary"}
# Our times are local wall-clock times ("09:30", "09:30:00"): JSON Schema's ``format: time``
# demands an offset, which neither what we accept nor what we return carries.
LOCAL_TIME = {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$",
              "description": "A local time, HH:MM or HH:MM:SS"}
DESCRIPTION = """Token-authenticated JSON API of the prospecting CRM.

Create a token on your account page (or `flask --app wsgi crm create-token EMAIL`) and send
it as `Authorization: Bearer <token>`. Money is a string with two decimals, dates are
`YYYY-MM-DD`, times are UTC with an offset. Errors are
`{"error": {"code", "message", "fields"}}`. Lists are paginated with `page` and `per_page`
(at most 200) and answer `{"items", "page", "per_page", "total", "pages"}`."""


def api_routes(app: Flask) -> list[tuple[Rule, str, EndpointSpec | None]]:
    """Every (rule, method) under /api/v1 with its declaration (None when undeclared)."""
    routes = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX + "/"):
            continue
        spec = spec_of(app.view_functions.get(rule.endpoint))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule, method, spec))
    return routes


def build_document(app: Flask) -> dict[str, Any]:
    routes = []
    for rule, method, spec in api_routes(app):
        if spec is None:
            log.error("API route %s %s has no @endpoint declaration; left out", method, rule.rule)
            continue
        routes.append((rule, method, spec))
    refs, schemas = _component_schemas([spec for _rule, _method, spec in routes])
    paths: dict[str, dict[str, Any]] = {}
    for rule, method, spec in routes:
        access = declared_access(app, rule.endpoint)
        operation = _operation(rule, method, spec, access, refs)
        paths.setdefault(openapi_path(rule.rule), {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Prospect CRM API", "version": "1.0.0", "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                name: {"description": text,
                       "content": {"application/json": {"schema": refs[(ErrorOut, "serialization")]}},
                       **({"headers": RETRY_AFTER} if code in (429, 503) else {})}
                for code, (name, text) in ERRORS.items()
            },
            "securitySchemes": SECURITY_SCHEMES,
        },
        "security": [{"bearerToken": []}],
    }


def openapi_path(rule: str) -> str:
    return PATH_ARG.sub(lambda m: "{" + m.group("name") + "}", rule)


def _component_schemas(specs: list[EndpointSpec]):
    """Schemas of every body (as validated) and response (as serialised) model, plus the
    error body; returns the ``$ref`` for each (model, mode) and the components."""
    wanted: dict[tuple[type[BaseModel], str], None] = {(ErrorOut, "serialization"): None}
    for spec in specs:
        if spec.body is not None:
            wanted[(spec.body, "validation")] = None
        if spec.response is not None:
            wanted[(spec.response, "serialization")] = None
    refs, top = models_json_schema(list(wanted), ref_template=REF_TEMPLATE)
    return refs, _local_times(top.get("$defs", {}))


def _local_times(schema: Any) -> Any:
    if isinstance(schema, dict):
        if schema.get("format") == "time":
            return {**{k: v for k, v in schema.items() if k != "format"}, **LOCAL_TIME}
        return {key: _local_times(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_local_times(item) for item in schema]
    return schema


def _operation(rule: Rule, method: str, spec: EndpointSpec, access, refs) -> dict[str, Any]:
    tag = rule.rule.removeprefix(API_PREFIX + "/").split("/")[0]
    is_public = access == PUBLIC
    roles = "anyone, no token needed" if is_public else ", ".join(sorted(access or ()))
    description = "\n\n".join(part for part in (spec.description, f"Roles: {roles}.") if part)
    operation: dict[str, Any] = {
        "operationId": rule.endpoint.removeprefix("api."),
        "summary": spec.summary,
        "description": description,
        "tags": [tag],
        "x-roles": ["public"] if is_public else sorted(access or ()),
    }
    parameters = _path_parameters(rule.rule) + _query_parameters(spec.query)
    if parameters:
        operation["parameters"] = parameters
    content: dict[str, Any] = {}
    if spec.body is not None:
        content["application/json"] = {"schema": refs[(spec.body, "validation")]}
    if spec.form is not None or spec.files:
        content["multipart/form-data"] = {"schema": _form_schema(spec)}
    for media_type in spec.raw_body:
        content[media_type] = {"schema": BINARY}
    if content:
        operation["requestBody"] = {"required": True, "content": content}
    operation["responses"] = _responses(rule, method, spec, is_public, refs)
    if spec.security is not None:
        operation["security"] = [{spec.security: []}]
    elif is_public:
        operation["security"] = []
    return operation


def _form_schema(spec: EndpointSpec) -> dict[str, Any]:
    """The multipart body: the form model's fields plus each file field as binary."""
    schema = spec.form.model_json_schema(ref_template=REF_TEMPLATE) if spec.form is not None else {}
    properties = {name: {k: v for k, v in prop.items() if k != "title"}
                  for name, prop in schema.get("properties", {}).items()}
    # A file field named "name?" is optional (e.g. a video's thumbnail).
    properties.update({name.rstrip("?"): BINARY for name in spec.files})
    required_files = {name for name in spec.files if not name.endswith("?")}
    return {"type": "object", "properties": properties,
            "required": sorted(set(schema.get("required", [])) | required_files)}


def _path_parameters(rule: str) -> list[dict[str, Any]]:
    return [
        {"name": m.group("name"), "in": "path", "required": True,
         "schema": CONVERTER_SCHEMAS.get(m.group("converter") or "", {"type": "string"})}
        for m in PATH_ARG.finditer(rule)
    ]


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = _without_null({key: value for key, value in prop.items() if key != "title"})
        description = prop.pop("description", None)
        if prop.get("type") == "object":  # custom.<key>=value pairs: not one named parameter
            continue
        parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query string cannot carry null: an optional parameter is simply left out, so
    ``anyOf: [X, null]`` with ``default: null`` reads as plain X."""
    options = schema.get("anyOf")
    if not options:
        return schema
    kept = [option for option in options if option != {"type": "null"}]
    if len(kept) != 1:
        return schema
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    if rest.get("default", 0) is None:
        rest.pop("default")
    return {**kept[0], **rest}


def _responses(rule: Rule, method: str, spec: EndpointSpec, is_public: bool, refs):
    success: dict[str, Any] = {"description": spec.summary}
    if spec.media_type is not None:
        success["content"] = {spec.media_type: {"schema": BINARY}}
    elif spec.response is not None:
        success["content"] = {"application/json": {"schema": refs[(spec.response, "serialization")]}}
    elif spec.status == 200:
        success["content"] = {"application/json": {"schema": {"type": "object"}}}
    for media_type in spec.alternatives:  # text as a string, anything else (xlsx) as bytes
        schema = {"type": "string"} if media_type.startswith("text/") else BINARY
        success.setdefault("content", {})[media_type] = {"schema": schema}
    responses = {str(spec.status): success}
    if spec.response is None and spec.media_type is None and spec.status != 204:
        responses["204"] = {"description": f"{spec.summary} (nothing to return)"}  # a view returning None
    for code in spec.extra_statuses:
        if code not in ERRORS:  # a success such as 206 Partial Content
            responses[str(code)] = dict(success, description=f"{spec.summary} ({code})")
    for code in sorted(error_statuses(rule, method, spec, is_public)):
        responses[str(code)] = {"$ref": f"#/components/responses/{ERRORS[code][0]}"}
    return responses


def error_statuses(rule: Rule, method: str, spec: EndpointSpec, is_public: bool) -> set[int]:
    """Every error status the route can answer, from what it declares (see the module doc)."""
    codes = set(ALWAYS) | {code for code in spec.extra_statuses if code in ERRORS}
    has_body = spec.body is not None or spec.form is not None or bool(spec.files) or bool(spec.raw_body)
    if not is_public or spec.security is not None:
        codes.add(401)
    if not is_public:
        codes.add(403)
    path_parameters = _path_parameters(rule.rule)
    if not is_public or path_parameters or _names_records(spec):
        codes.add(404)  # an unknown id, or a record the route looks up (my mailbox, the current plan)
    if any(p["schema"].get("type") == "string" for p in path_parameters):
        codes.add(422)  # a path value the route parses (a month)
    if has_body:
        codes |= {400, 413, 415, 422}
    if spec.query is not None:
        codes |= {400, 422}
    if method in ("POST", "PATCH", "PUT", "DELETE") and not is_public:
        codes |= {409, 422}
    return codes


def _names_records(spec: EndpointSpec) -> bool:
    """A query or body field holding a record's id: an unknown one is a 404."""
    for model in (spec.query, spec.body, spec.form):
        if model is None:
            continue
        if any(name == "id" or name.endswith(("_id", "_ids")) for name in model.model_fields):
            return True
    return False
