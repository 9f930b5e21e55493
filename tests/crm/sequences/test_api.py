"""The sequences API: templates with preview and refusals, sequences and steps, enrollments
(single, bulk with per-contact refusals, pause / resume / stop), and garbage never a 500
against real records."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm.api.openapi import api_routes
from crm.errors import ValidationFailed
from crm.extensions import db
from crm.sequences import library, services
from crm.timeutil import utcnow
from tests.conftest import NOW
from tests.crm.api.conftest import PREFIX, ApiClient, error_of
from tests.crm.api.test_api_errors import NASTY_BODIES, NASTY_QUERIES


@pytest.fixture
def api(client, api_token):
    return lambda user: ApiClient(client, api_token(user))


def test_template_crud_preview_and_refusals(api, rep, tokyo_contact):
    client = api(rep)
    refused = client.post("/templates", json={"name": "x", "subject": "Hi", "text_body": "{{ ''.__class__ }}"})
    assert refused.status_code == 422 and "text_body" in error_of(refused)["fields"]
    created = client.post("/templates", json={"name": "Intro", "subject": "For {{ company.name }}",
                                              "text_body": "Hi {{ contact.first_name }}"})
    assert created.status_code == 201, created.get_json()
    template = created.get_json()
    assert template["stats"] == {"sent": 0, "opened": 0, "clicked": 0, "replied": 0,
                                 "open_rate": None, "click_rate": None, "reply_rate": None}
    preview = client.post(f"/templates/{template['id']}/preview", json={"contact_id": tokyo_contact.id})
    assert preview.get_json() == {"subject": "For Nippon Pumps", "text_body": "Hi Yuki", "html_body": None}
    patched = client.patch(f"/templates/{template['id']}", json={"subject": "{{ contact.nope }}"})
    assert patched.status_code == 422 and "contact.nope" in error_of(patched)["fields"]["subject"]
    assert client.get("/templates").get_json()["total"] == 1
    assert client.delete(f"/templates/{template['id']}").status_code == 204


def test_sequences_steps_and_enrollments(api, rep, bob, tokyo_contact, template, make_contact):
    client = api(rep)
    created = client.post("/sequences", json={"name": "API seq", "window_start": "09:00", "window_end": "12:00"})
    assert created.status_code == 201, created.get_json()
    seq = created.get_json()
    assert (seq["window_start"], seq["window_end"], seq["send_days"]) == ("09:00", "12:00", [0, 1, 2, 3, 4])
    sid = seq["id"]
    client.post(f"/sequences/{sid}/steps", json={"kind": "auto_email", "template_id": template.id})
    client.post(f"/sequences/{sid}/steps", json={"kind": "social", "delay_days": 1, "task_note": "Connect"})
    body = client.post(f"/sequences/{sid}/steps", json={"kind": "call", "delay_days": 2}).get_json()
    ids = [s["id"] for s in body["steps"]]
    reordered = client.post(f"/sequences/{sid}/steps/order", json={"step_ids": [ids[2], ids[0], ids[1]]}).get_json()
    assert [s["kind"] for s in reordered["steps"]] == ["call", "auto_email", "social"]
    bad_step = client.post(f"/sequences/{sid}/steps", json={"kind": "auto_email"})
    assert bad_step.status_code == 422

    enrolled = client.post("/enrollments", json={"sequence_id": sid, "contact_id": tokyo_contact.id})
    assert enrolled.status_code == 201 and enrolled.get_json()["status"] == "active"
    eid = enrolled.get_json()["id"]
    again = client.post("/enrollments", json={"sequence_id": sid, "contact_id": tokyo_contact.id})
    assert again.status_code == 409
    dnc = make_contact(owner_id=rep.id, actor=rep, do_not_contact=True)
    ok = make_contact(owner_id=rep.id, actor=rep)
    bulk = client.post("/enrollments/bulk", json={"sequence_id": sid, "contact_ids": [ok.id, dnc.id, tokyo_contact.id]})
    report = bulk.get_json()
    assert len(report["enrolled"]) == 1
    assert {r["contact_id"]: r["reason"] for r in report["refused"]} == {dnc.id: "do_not_contact",
                                                                         tokyo_contact.id: "already_active"}
    until = (utcnow() + timedelta(days=3)).isoformat()
    paused = client.post(f"/enrollments/{eid}/pause", json={"until": until}).get_json()
    assert paused["status"] == "paused" and paused["pause_reason"] == "manual"
    assert client.post(f"/enrollments/{eid}/resume", json={}).get_json()["status"] == "active"
    assert api(bob).post(f"/enrollments/{eid}/stop", json={}).status_code == 403
    stopped = client.post(f"/enrollments/{eid}/stop", json={"reason": "meeting_booked"}).get_json()
    assert (stopped["status"], stopped["stop_reason"]) == ("stopped", "meeting_booked")
    listed = client.get("/enrollments?status=stopped&reason=meeting_booked").get_json()
    assert [e["id"] for e in listed["items"]] == [eid]
    assert client.delete(f"/sequences/{sid}").status_code == 422  # one live enrollment left
    holiday = client.post("/enrollments/holiday", json={"user_id": rep.id}).get_json()
    assert len(holiday["ids"]) == 1


def test_steps_are_checked_by_one_input_model_for_api_and_services(api, rep, sequence, template):
    """The API's step body and the services parse through the same rules (``StepInput``): the
    same field names and messages either way, an update read over the step it changes."""
    client = api(rep)
    bare = client.post(f"/sequences/{sequence.id}/steps", json={"kind": "manual_email", "subject": "  "})
    assert bare.status_code == 422
    assert error_of(bare)["message"] == "an email step needs a template or its own subject and text"
    assert error_of(bare)["fields"] == {"template_id": "choose a template, or write a subject and text below"}
    with pytest.raises(ValidationFailed) as refused:
        library.add_step(rep, sequence.id, {"kind": "mail", "delay_days": True, "template_id": 10**6,
                                            "subject": "a\x01", "new_thread": "y"}, NOW)
    assert refused.value.message == "invalid step"
    assert refused.value.fields == {
        "kind": "one of auto_email, manual_email, call, social", "delay_days": "whole business days, 0 to 365",
        "template_id": "no such template", "subject": "must not contain control characters",
        "new_thread": "true or false"}
    with pytest.raises(ValidationFailed) as missing:
        library.add_step(rep, sequence.id, {"delay_days": 1}, NOW)
    assert missing.value.fields == {"kind": "one of auto_email, manual_email, call, social"}
    first = sequence.steps[0]  # an automatic email using the template, no own content
    with pytest.raises(ValidationFailed) as untemplated:
        library.update_step(rep, sequence.id, first.id, {"template_id": ""}, NOW)
    assert set(untemplated.value.fields) == {"template_id"}
    changed = library.update_step(rep, sequence.id, first.id, {"template_id": None, "subject": "Hello",
                                                                "text_body": "Hi {{ contact.first_name }}",
                                                                "html_body": " "}, NOW)
    assert (changed.kind, changed.template_id, changed.subject, changed.html_body, changed.delay_days) == \
        ("auto_email", None, "Hello", None, 0)


def test_garbage_against_real_records_is_never_a_500(app, api, admin, tokyo_contact, caplog):
    template = library.create_template(admin, {"name": "n", "subject": "s", "text_body": "b"}, NOW)
    sequence = library.create_sequence(admin, {"name": "n"}, NOW)
    step = library.add_step(admin, sequence.id, {"kind": "call"}, NOW)
    enrollment = services.enroll_contact(admin, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    ids = {"template_id": template.id, "sequence_id": sequence.id, "step_id": step.id,
           "enrollment_id": enrollment.id, "task_id": 1}
    client = api(admin)
    mine = [(r, m, s) for r, m, s in api_routes(app)
            if any(k in r.rule for k in ("/templates", "/sequence", "/enrollments"))]
    assert len(mine) >= 20
    for rule, method, spec in mine:
        path = rule.rule.removeprefix(PREFIX)
        for key, value in ids.items():
            path = path.replace(f"<int:{key}>", str(value))
        if method in ("POST", "PATCH"):
            for body in NASTY_BODIES:
                response = client.request(method, path, json=body)
                assert response.status_code < 500, (method, path, body, response.get_json())
        elif method == "GET":
            for query in NASTY_QUERIES:
                assert client.get(f"{path}?{query}").status_code < 500, (path, query)
    assert [r for r in caplog.records if r.name == "crm.api.errors" and r.levelname == "WARNING"] == []
