"""Schemathesis over the whole OpenAPI document: every operation, generated valid and invalid
requests, all standard checks (no 5xx, every status / content type / header / body as
declared, invalid data rejected, valid data accepted, auth not ignored, undeclared methods
405 with Allow), each request sent with a token of each role on a seeded database.

Runs on SQLite (the suite's default database); the document and the handlers do not depend
on the database, and PostgreSQL-only behaviour is proven elsewhere. ``SCHEMATHESIS_EXAMPLES``
sets the examples per operation (default 3), ``SCHEMATHESIS_PATHS`` a regular expression of
the paths to run (default: all). Each operation is a subtest named "METHOD /path"; a failure
says which role's token it was sent with and prints a curl line to reproduce it.
"""
from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from crm.extensions import db, limiter

ROLES = ("rep", "manager", "planner", "admin", "finance")
pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="Schemathesis runs in the SQLite pass of make test (see the module docstring)")
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "3"))
ONLY = re.compile(os.environ.get("SCHEMATHESIS_PATHS", ""))  # e.g. "inbound|planning/imports"


INBOUND_SECRET = "schemathesis-inbound-secret"
# Valid data may still be refused for reasons no JSON Schema can state: a referenced record
# that does not exist (404), a rule across fields or the database (422: `from` after `to`,
# an unknown time zone, a month 00), a state that forbids it (409). Each of these statuses
# must still be documented on the operation (status_code_conformance), and invalid data must
# still be rejected (negative_data_rejection).
CONFIG = {
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422"]},
    },
}


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", app, config=schemathesis.config.SchemathesisConfig.from_dict(CONFIG))


schema = schemathesis.pytest.from_fixture("api_schema")
# A raw message is bytes like any file: generate and send it as such.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")


@pytest.fixture
def role_tokens(make_user, api_token, make_company, make_contact, make_deal):
    """One user of each role, and records for ids 1 and 2 to land on (tables restart at 1 in
    every test): companies, contacts owned by the rep, a deal with a line, stages, families."""
    users = {role: make_user(role) for role in ROLES}
    company = make_company()
    make_company()
    contact = make_contact(owner_id=users["rep"].id, company_id=company.id)
    make_contact(owner_id=users["rep"].id)
    make_deal(actor=users["rep"], contact_id=contact.id, company_id=company.id)
    db.session.commit()
    return {role: api_token(user)["Authorization"] for role, user in users.items()}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_documented(case, role_tokens, app, monkeypatch):
    if not ONLY.search(case.operation.path):
        return
    monkeypatch.setitem(app.config, "INBOUND_MAIL_SECRET", INBOUND_SECRET)
    limiter.reset()  # the per-token limit is the one check this run must not trip
    for role, token in role_tokens.items():
        try:
            case.call_and_validate(headers={"Authorization": token, "X-Inbound-Secret": INBOUND_SECRET})
        except Exception as failure:
            failure.add_note(f"(sent with the {role}'s token)")
            raise
