"""A booking from a sequence's signed meeting link (issue 20): the form greets the prospect
(name and email filled in), the answers to the booking questions reach the CRM's timeline and
the host's invite by their labels, and the host's alert is in the host's time zone."""
from __future__ import annotations

from sqlalchemy import select

from crm.alerts.models import Alert
from crm.contacts.models import Activity
from crm.extensions import db
from crm.meetings.invites import invite_text
from crm.meetings.links import meeting_link_for
from crm.meetings.models import Meeting
from tests.crm.meetings.helpers import berlin_at, future_weekday
from tests.crm.meetings.test_booking import book


def test_the_signed_link_prefills_the_prospect(client, app, rita, make_type, make_contact):
    meeting_type = make_type(rita)
    contact = make_contact(first_name="Grace", last_name="Hopper", email="grace@acmepumps.com")
    with app.test_request_context():
        link = meeting_link_for(rita.id, enrollment_id=7, step_id=3, contact_id=contact.id)
    src = link.split("src=", 1)[1]
    start = berlin_at(future_weekday(1), 10)
    page = client.get(f"/meet/{meeting_type.slug}/book?start={start.isoformat()}&src={src}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'value="Grace Hopper"' in html and 'value="grace@acmepumps.com"' in html
    plain = client.get(f"/meet/{meeting_type.slug}/book?start={start.isoformat()}&src=forged").get_data(as_text=True)
    assert "grace@acmepumps.com" not in plain


def test_answers_are_on_the_timeline_and_in_the_invite_by_label(client, rita, make_type):
    meeting_type = make_type(rita, questions=[{"label": "What do you pump?", "required": True}])
    response = book(client, meeting_type.slug, berlin_at(future_weekday(1), 10), answers={"q1": "Slurry"})
    assert response.status_code == 201, response.get_json()
    meeting = db.session.get(Meeting, response.get_json()["meeting_id"])
    booked = db.session.scalar(select(Activity).where(Activity.kind == "meeting_booked",
                                                      Activity.contact_id == meeting.contact_id))
    assert booked.details["answer"] == "What do you pump?: Slurry"
    subject, text = invite_text(meeting, "REQUEST", to_guest=False)
    assert "- What do you pump?: Slurry" in text and "q1" not in text
    alert = db.session.scalar(select(Alert).where(Alert.user_id == rita.id, Alert.kind == "meeting_booked"))
    assert "(Europe/Berlin)" in alert.message and "UTC" not in alert.message
