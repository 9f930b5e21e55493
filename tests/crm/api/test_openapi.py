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
