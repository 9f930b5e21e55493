"""The sequence pages: builder, steps, templates with preview, enrollments, enrolling from the
contact page and in bulk with the refusal report, the manual email task, the contact panel."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.mail.models import OutboundEmail
from crm.sequences import services
from crm.sequences.models import Enrollment, Sequence, SequenceStep, SequenceTask
from crm.sequences.services import run_due_steps
from tests.conftest import NOW, csrf_from


def _logged_in(client, login, user):
    login(client, user)
    return client


def _post(client, page_url, url, data):
    token = csrf_from(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def test_a_rep_builds_a_sequence_with_plain_forms(client, login, rep, template):
    _logged_in(client, login, rep)
    response = _post(client, "/sequences/new", "/sequences/new", {
        "name": "Trade fair follow-up", "send_days": ["0", "1", "2", "3", "4"], "window_start": "09:00",
        "window_end": "16:30", "colleague_reply_stops": "y"})
    assert response.status_code == 302
    sequence = db.session.scalar(select(Sequence))
    assert (sequence.window_start_minute, sequence.window_end_minute) == (540, 990)
    builder = f"/sequences/{sequence.id}"
    assert _post(client, builder, f"{builder}/steps", {"kind": "auto_email", "delay_days": "0",
                                                       "template_id": str(template.id)}).status_code == 302
    assert _post(client, builder, f"{builder}/steps", {"kind": "auto_email", "delay_days": "3", "template_id": "",
                                                       "subject": "Follow-up",
                                                       "text_body": "Hi {{ contact.first_name }}"}).status_code == 302
    assert _post(client, builder, f"{builder}/steps", {"kind": "call", "delay_days": "2", "template_id": "",
                                                       "task_note": "Call the plant"}).status_code == 302
    # A bad token is refused with the reason, on the form, nothing saved.
    bad = _post(client, builder, f"{builder}/steps", {"kind": "auto_email", "delay_days": "1", "template_id": "",
                                                      "subject": "x", "text_body": "{{ config }}"})
    assert bad.status_code == 422 and "unknown token" in bad.get_data(as_text=True)
    steps = db.session.scalars(select(SequenceStep).order_by(SequenceStep.position)).all()
    assert [s.kind for s in steps] == ["auto_email", "auto_email", "call"]
    # Move the call up; the page works without JavaScript.
    assert _post(client, builder, f"{builder}/steps/{steps[2].id}/move", {"direction": "up"}).status_code == 302
    db.session.expire_all()
    assert [s.kind for s in db.session.scalars(select(SequenceStep).order_by(SequenceStep.position))] == \
        ["auto_email", "call", "auto_email"]
    page = client.get(builder).get_data(as_text=True)
    assert "Call the plant" in page and "threads as “Re:”" in page


def test_builder_warns_that_sent_steps_are_not_changed(client, login, rep, sequence, tokyo_contact):
    services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    _logged_in(client, login, rep)
    page = client.get(f"/sequences/{sequence.id}").get_data(as_text=True)
    assert "1 active enrollment; sent steps are not changed" in page


def test_template_editor_refuses_unknown_tokens_and_previews_for_a_real_contact(client, login, rep, tokyo_contact):
    _logged_in(client, login, rep)
    bad = _post(client, "/sequences/templates/new", "/sequences/templates/new", {
        "name": "Bad", "subject": "Hi", "text_body": "line\n{{ contact.shoe_size }}", "action": "save"})
    assert bad.status_code == 422
    assert "line 2: unknown token &#39;contact.shoe_size&#39;" in bad.get_data(as_text=True)
    preview = _post(client, "/sequences/templates/new", "/sequences/templates/new", {
        "name": "Good", "subject": "For {{ company.name }}", "text_body": "Hi {{ contact.first_name }}",
        "preview_email": "yuki@nippon-pumps.jp", "action": "preview"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "For Nippon Pumps" in html and "Hi Yuki" in html
    saved = _post(client, "/sequences/templates/new", "/sequences/templates/new", {
        "name": "Good", "subject": "For {{ company.name }}", "text_body": "Hi {{ contact.first_name }}",
        "action": "save"})
    assert saved.status_code == 302
    assert "Good" in client.get("/sequences/templates").get_data(as_text=True)


def test_enroll_from_the_contact_page_and_see_the_thread(client, login, rep, sequence, tokyo_contact):
    _logged_in(client, login, rep)
    contact_url = f"/contacts/{tokyo_contact.id}"
    page = client.get(contact_url).get_data(as_text=True)
    assert 'id="sequence-panel"' in page and "Outbound Q2" in page
    response = _post(client, contact_url, "/sequences/enroll", {"sequence_id": str(sequence.id),
                                                                "contact_id": str(tokyo_contact.id)})
    assert response.status_code == 302
    enrollment = db.session.scalar(select(Enrollment))
    run_due_steps(enrollment.next_due_at)
    db.session.commit()
    page = client.get(contact_url).get_data(as_text=True)
    assert "Pumps for Nippon Pumps" in page and "Active" in page
    # A second enroll is refused with the reason.
    again = _post(client, contact_url, "/sequences/enroll", {"sequence_id": str(sequence.id),
                                                             "contact_id": str(tokyo_contact.id)})
    assert again.status_code == 302
    assert "already active in a sequence" in client.get(contact_url).get_data(as_text=True)


def test_bulk_enroll_reports_refusals(client, login, rep, sequence, make_contact):
    ok = make_contact(owner_id=rep.id, actor=rep, first_name="Okay", lifecycle_stage="mql")
    make_contact(owner_id=rep.id, actor=rep, first_name="Nope", lifecycle_stage="mql", do_not_contact=True)
    _logged_in(client, login, rep)
    url = "/sequences/enroll-bulk?owner=me&stage=mql"
    assert "2</strong> contacts match" in client.get(url).get_data(as_text=True)
    response = _post(client, url, url, {"sequence_id": str(sequence.id), "q": "", "owner": "me", "stage": "mql"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "1 enrolled, 1 refused" in html and "marked do-not-contact" in html
    assert db.session.scalar(select(Enrollment.contact_id)) == ok.id


def test_enrollments_page_filters_and_pause_resume_stop(client, login, rep, sequence, tokyo_contact):
    enrollment = services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    _logged_in(client, login, rep)
    page = "/sequences/enrollments?status=active"
    assert "Yuki Tanaka" in client.get(page).get_data(as_text=True)
    assert "Yuki Tanaka" not in client.get("/sequences/enrollments?status=stopped").get_data(as_text=True)
    base = f"/sequences/enrollments/{enrollment.id}"
    assert _post(client, page, f"{base}/pause", {"until": ""}).status_code == 302
    db.session.refresh(enrollment)
    assert enrollment.status == "paused"
    assert _post(client, page, f"{base}/resume", {}).status_code == 302
    assert _post(client, page, f"{base}/stop", {}).status_code == 302
    db.session.refresh(enrollment)
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "manual")
    assert "Stopped: by hand" in client.get("/sequences/enrollments?reason=manual").get_data(as_text=True)


def test_another_rep_cannot_stop_my_enrollment(client, login, rep, bob, sequence, tokyo_contact):
    enrollment = services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    _logged_in(client, login, bob)
    response = _post(client, "/sequences/enrollments", f"/sequences/enrollments/{enrollment.id}/stop", {})
    assert response.status_code == 403
    db.session.refresh(enrollment)
    assert enrollment.status == "active"


def test_manual_email_task_page_edits_and_sends_the_draft(client, login, rep, tokyo_contact, template):
    from crm.sequences import library

    seq = library.create_sequence(rep, {"name": "Personal"}, NOW)
    library.add_step(rep, seq.id, {"kind": "manual_email", "template_id": template.id}, NOW)
    db.session.commit()
    enrollment = services.enroll_contact(rep, seq.id, tokyo_contact.id, NOW)
    db.session.commit()
    run_due_steps(enrollment.next_due_at + timedelta(seconds=1))
    db.session.commit()
    task = db.session.scalar(select(SequenceTask))
    _logged_in(client, login, rep)
    assert "Email to edit and send" in client.get("/sequences/tasks").get_data(as_text=True)
    url = f"/sequences/tasks/{task.id}"
    assert "Pumps for Nippon Pumps" in client.get(url).get_data(as_text=True)
    response = _post(client, url, url, {"subject": "Pumps for Nippon Pumps", "text_body": "Yuki, a personal note."})
    assert response.status_code == 302
    email = db.session.scalar(select(OutboundEmail))
    db.session.refresh(email)
    assert (email.status, email.text_body) == ("queued", "Yuki, a personal note.")


@pytest.mark.parametrize("until", ["0001-01-01", "9999-12-31", "2026-02-30", "yesterday"])
def test_pausing_until_an_impossible_day_is_a_clear_refusal(client, login, make_user, sequence, tokyo_contact, until):
    """East of UTC, midnight of 0001-01-01 is before datetime's first moment: it was a 500."""
    tokyo_rep = make_user("rep", time_zone="Asia/Tokyo")
    tokyo_contact.owner_id = tokyo_rep.id
    db.session.commit()
    enrollment = services.enroll_contact(tokyo_rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    _logged_in(client, login, tokyo_rep)
    response = _post(client, "/sequences/enrollments", f"/sequences/enrollments/{enrollment.id}/pause",
                     {"until": until})
    assert response.status_code == 302  # back to the list, the reason flashed there
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "a date such as 2026-04-20, within a year" in shown or "a future date within a year" in shown
    db.session.refresh(enrollment)
    assert enrollment.status == "active"


def test_import_pages_survive_a_page_number_too_large_for_the_database(client, login, rep):
    _logged_in(client, login, rep)
    assert client.get("/imports?page=99999999999999999999").status_code == 200


def test_the_builders_counts_are_plural_in_both_languages(client, login, rep, sequence, tokyo_contact):
    services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    _logged_in(client, login, rep)
    page = client.get(f"/sequences/{sequence.id}").get_data(as_text=True)
    assert "after 2 business days" in page and "after 1 business day<" in page
    assert "1 active enrollments" not in page
    rep.language = "es"
    db.session.commit()
    page = client.get(f"/sequences/{sequence.id}").get_data(as_text=True)
    assert "1 inscripción activa; los pasos enviados no cambian" in page
    assert "después de 2 días hábiles" in page and "después de 1 día hábil<" in page
