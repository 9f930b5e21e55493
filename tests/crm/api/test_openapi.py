from __future__ import annotations

from openapi_spec_validator import validate

from crm.api.openapi import api_routes, openapi_path
from crm.web.access import PUBLIC, declared_access


def test_document_is_public_and_a_valid_openapi_3_1_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on any structural error, unresolvable $ref included
    assert document["components"]["securitySchemes"]["bearerToken"] == {"type": "http", "scheme": "bearer"}
    assert document["security"] == [{"bearerToken": []}]
    assert document["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


def test_every_api_route_and_method_is_in_the_document(app, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    routes = api_routes(app)
    assert len(routes) > 20
    missing = [
        f"{method} {rule.rule}" for rule, method, _spec in routes
        if method.lower() not in paths.get(openapi_path(rule.rule), {})
    ]
    assert missing == []


def test_operations_state_the_declared_roles(app, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for rule, method, _spec in api_routes(app):
        operation = paths[openapi_path(rule.rule)][method.lower()]
        access = declared_access(app, rule.endpoint)
        expected = ["public"] if access == PUBLIC else sorted(access)
        assert operation["x-roles"] == expected, rule.rule
        if access != PUBLIC:
            assert {"401", "403"} <= set(operation["responses"]), rule.rule


def test_models_are_described_with_their_constraints(client):
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    contact_in = schemas["ContactIn"]
    assert contact_in["required"] == ["email"] and contact_in["additionalProperties"] is False
    assert schemas["DealLineOut"]["properties"]["amount"]["type"] == "string"  # money is never float
    assert schemas["FamilyOut"]["required"] == ["id", "code", "name", "unit", "lead_time_days", "is_active"]
    listing = document["paths"]["/api/v1/contacts"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert {"q", "owner_id", "lifecycle_stage", "company_id", "sort", "page", "per_page"} <= set(params)
    assert params["per_page"]["schema"]["maximum"] == 200
    assert params["owner_id"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    assert params["lifecycle_stage"]["schema"]["enum"] == ["lead", "mql", "sql", "opportunity", "customer"]
    assert "custom.<key>=value" in listing["description"]
    patch = document["paths"]["/api/v1/deals/{deal_id}"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/DealPatch"}
    assert patch["parameters"] == [{"name": "deal_id", "in": "path", "required": True,
                                    "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}]


# --- issue 18: a document a client generator can use --------------------------------------

def _document(client):
    return client.get("/api/v1/openapi.json").get_json()


def test_raw_csv_and_multipart_bodies_and_csv_answers_are_declared(client):
    paths = _document(client)["paths"]
    inbound = paths["/api/v1/inbound-mail"]["post"]
    assert inbound["requestBody"]["content"] == {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}}
    assert inbound["security"] == [{"inboundSecret": []}]
    assert {"200", "400", "401", "413", "415", "429"} <= set(inbound["responses"])
    for kind in ("deals", "actuals"):
        content = paths[f"/api/v1/planning/imports/{kind}"]["post"]["requestBody"]["content"]
        assert content["multipart/form-data"]["schema"]["properties"]["file"] == {"type": "string", "format": "binary"}
        assert "text/csv" in content
    assert set(paths["/api/v1/planning/demand-input"]["get"]["responses"]["200"]["content"]) == {
        "application/json", "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    assert "text/csv" in paths["/api/v1/planning/snapshots/{snapshot_id}"]["get"]["responses"]["200"]["content"]


def test_security_scheme_for_the_inbound_secret(client):
    schemes = _document(client)["components"]["securitySchemes"]
    assert schemes["inboundSecret"] == {"type": "apiKey", "in": "header", "name": "X-Inbound-Secret",
                                        "description": schemes["inboundSecret"]["description"]}


def test_common_statuses_are_on_every_operation(app, client):
    document = _document(client)
    assert document["components"]["responses"]["TooManyRequests"]["headers"]["Retry-After"]["required"] is True
    for rule, method, spec in api_routes(app):
        responses = document["paths"][openapi_path(rule.rule)][method.lower()]["responses"]
        assert {"429", "503"} <= set(responses), rule.rule
        if spec.query is not None or spec.body is not None:
            assert {"400", "422"} <= set(responses), rule.rule
        if method in ("POST", "PATCH", "PUT", "DELETE") and declared_access(app, rule.endpoint) != PUBLIC:
            assert "422" in responses, rule.rule  # e.g. a template or sequence still in use


def test_statuses_named_in_issue_18(client):
    paths = _document(client)["paths"]
    assert "204" in paths["/api/v1/time-blocks/{block_id}"]["delete"]["responses"]
    assert "422" in paths["/api/v1/sequences/{sequence_id}"]["delete"]["responses"]
    assert "422" in paths["/api/v1/templates/{template_id}"]["delete"]["responses"]
    assert "404" in paths["/api/v1/activities"]["get"]["responses"]  # contact_id=<unknown>
    assert "413" in paths["/api/v1/templates"]["post"]["responses"]


def test_times_are_local_times_as_returned(app, client, alice, api_token):
    schemas = _document(client)["components"]["schemas"]
    end_time = schemas["BlockOut"]["properties"]["end_time"]
    assert "format" not in end_time
    import re

    block = client.post("/api/v1/time-blocks", headers=api_token(alice), json={
        "kind": "recurring", "title": "Calls", "start_time": "09:00", "end_time": "10:30", "weekdays": [0]})
    assert block.status_code == 201, block.get_json()
    assert re.fullmatch(end_time["pattern"], block.get_json()["end_time"])


def test_undeclared_methods_answer_405_with_allow(client):
    response = client.open("/api/v1/contacts", method="TRACE")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_the_real_429_sends_retry_after(app, alice, api_token):
    headers = api_token(alice)
    app.config["API_RATE_LIMIT"] = "1 per minute"
    try:
        app.test_client().get("/api/v1/contacts", headers=headers)
        response = app.test_client().get("/api/v1/contacts", headers=headers)
    finally:
        app.config["API_RATE_LIMIT"] = "600 per minute"
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
