"""Rep pages and API for meeting types, the public pages without JavaScript (tz query
argument), the booking form with CSRF, and the "just taken" page."""
from __future__ import annotations

from sqlalchemy import select

from crm.extensions import db
from crm.meetings.models import Meeting, MeetingType
from tests.conftest import csrf_from
from tests.crm.meetings.helpers import berlin_at, future_weekday

ISSUE_BODY = {
    "name": "Discovery call", "slug": "rita-discovery", "duration_minutes": 45, "time_zone": "Europe/Berlin",
    "weekly_hours": [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "14:00", "end": "17:00"},
                     {"weekday": 3, "start": "10:00", "end": "16:00"}],
    "buffer_before_minutes": 10, "buffer_after_minutes": 15, "min_notice_hours": 24, "horizon_days": 21,
    "increment_minutes": 15, "daily_max": 4,
}


def test_create_meeting_type_through_the_api(client, rita, bob, api_token):
    headers = api_token(rita)
    response = client.post("/api/v1/meeting-types", json=ISSUE_BODY, headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["owner_id"] == rita.id and body["url"] == "http://crm.example.com/meet/rita-discovery"
    for key, value in ISSUE_BODY.items():
        assert body[key] == value, key
    minimal = {k: ISSUE_BODY[k] for k in ("name", "duration_minutes", "time_zone", "weekly_hours")}
    created = client.post("/api/v1/meeting-types", json={**minimal, "slug": "rita-short"}, headers=headers)
    assert created.status_code == 201 and created.get_json()["increment_minutes"] == 30
    assert client.post("/api/v1/meeting-types", json=ISSUE_BODY, headers=headers).status_code == 409
    for bad in ({"time_zone": "Europe/Nowhere"}, {"weekly_hours": [{"weekday": 7, "start": "09:00", "end": "10:00"}]},
                {"weekly_hours": [{"weekday": 1, "start": "12:00", "end": "09:00"}]},
                {"weekly_hours": [{"weekday": 1, "start": "09:00", "end": "12:00"},
                                  {"weekday": 1, "start": "11:00", "end": "13:00"}]},
                {"slug": "Has Spaces"}, {"duration_minutes": 0}):
        response = client.post("/api/v1/meeting-types", json={**ISSUE_BODY, "slug": "other-link", **bad},
                               headers=headers)
        assert response.status_code == 422, (bad, response.get_json())
    type_id = body["id"]
    listed = client.get("/api/v1/meeting-types", headers=headers).get_json()["items"]
    assert {t["slug"] for t in listed} == {"rita-discovery", "rita-short"}
    assert client.get("/api/v1/meeting-types", headers=api_token(bob)).get_json()["items"] == []
    refused = client.patch(f"/api/v1/meeting-types/{type_id}", json={"name": "x"}, headers=api_token(bob))
    assert refused.status_code == 404
    patched = client.patch(f"/api/v1/meeting-types/{type_id}", json={"daily_max": None, "not_today": True},
                           headers=headers)
    assert patched.status_code == 200 and patched.get_json()["daily_max"] is None and patched.get_json()["not_today"]
    assert client.delete(f"/api/v1/meeting-types/{type_id}", headers=headers).status_code == 204
    assert db.session.get(MeetingType, type_id) is None


def test_openapi_lists_the_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/booking/{slug}/slots", "/api/v1/booking/{slug}", "/api/v1/meeting-types",
                 "/api/v1/meetings", "/api/v1/meetings/{meeting_id}/cancel"):
        assert any(p.endswith(path.removeprefix("/api/v1")) for p in paths), path


def test_rep_creates_a_type_with_the_weekly_hours_editor(client, rita, login):
    login(client, rita)
    page = client.get("/meetings/types/new")
    assert page.status_code == 200
    form = {"csrf_token": csrf_from(page.get_data(as_text=True)), "name": "Demo", "slug": "rita-demo",
            "duration_minutes": "30", "time_zone": "Europe/Berlin", "hours_0": "09:00-12:00, 13:00-17:00",
            "hours_2": "08:00-10:00", "buffer_before_minutes": "0", "buffer_after_minutes": "5",
            "min_notice_hours": "2", "horizon_days": "14", "increment_minutes": "30", "location_kind": "phone",
            "location_value": "+49 30 1234567", "questions": "Company size?\nWhat brings you here? *", "is_active": "y"}
    response = client.post("/meetings/types/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    created = db.session.scalars(select(MeetingType)).one()
    assert created.weekly_hours == [{"weekday": 0, "start": "09:00", "end": "12:00"},
                                    {"weekday": 0, "start": "13:00", "end": "17:00"},
                                    {"weekday": 2, "start": "08:00", "end": "10:00"}]
    assert created.questions[1] == {"key": "q2", "label": "What brings you here?", "required": True}
    bad = client.post("/meetings/types/new", data={**form, "slug": "rita-demo-2", "hours_1": "9-5"})
    assert bad.status_code == 422 and "HH:MM" in bad.get_data(as_text=True)
    edit = client.get(f"/meetings/types/{created.id}/edit")
    assert "09:00-12:00, 13:00-17:00" in edit.get_data(as_text=True)
    listing = client.get("/meetings/types").get_data(as_text=True)
    assert "http://crm.example.com/meet/rita-demo" in listing
    assert client.get("/meetings").status_code == 200
    assert 'href="/meetings"' in client.get("/contacts").get_data(as_text=True)  # the nav link


def test_public_page_without_javascript_and_the_booking_form(client, rita, make_type):
    meeting_type = make_type(rita, questions=[{"label": "What do you pump?", "required": True}])
    day = future_weekday(1)
    page = client.get(f"/meet/{meeting_type.slug}?tz=America/New_York&start={day}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Rita Rep" in html and 'data-tz-given="1"' in html
    assert "04:00" in html or "03:00" in html  # 09:00 Berlin in New York
    assert "<script" in html and "meetings.js" in html and "<script>" not in html  # no inline scripts
    unknown = client.get(f"/meet/{meeting_type.slug}?tz=Not/AZone").get_data(as_text=True)
    assert 'data-tz-given="0"' in unknown
    start = berlin_at(day, 10)
    form_page = client.get(f"/meet/{meeting_type.slug}/book?start={start.isoformat()}&tz=America/New_York")
    assert form_page.status_code == 200 and "What do you pump?" in form_page.get_data(as_text=True)
    token = csrf_from(form_page.get_data(as_text=True))
    data = {"csrf_token": token, "start": start.isoformat(), "tz": "America/New_York", "src": "",
            "name": "Grace Hopper", "email": "grace@acmepumps.com"}
    missing = client.post(f"/meet/{meeting_type.slug}/book", data=data)
    assert missing.status_code == 422  # the required answer
    done = client.post(f"/meet/{meeting_type.slug}/book", data={**data, "answer_q1": "Slurry"})
    assert done.status_code == 302 and "/meet/m/" in done.headers["Location"]
    confirmation = client.get(done.headers["Location"])
    assert "You are booked" in confirmation.get_data(as_text=True)
    second = client.post(f"/meet/{meeting_type.slug}/book",
                         data={**data, "answer_q1": "Water", "email": "alan@bletchley-park.com"})
    assert second.status_code == 409
    text = second.get_data(as_text=True)
    assert "just taken" in text and 'class="slot"' in text
    assert db.session.scalar(select(db.func.count(Meeting.id))) == 1
    assert client.post(f"/meet/{meeting_type.slug}/book", data={**data, "csrf_token": "x"}).status_code in (400, 422)


def test_inactive_or_unknown_links_are_404(client, rita, make_type):
    meeting_type = make_type(rita, is_active=False)
    assert client.get(f"/meet/{meeting_type.slug}").status_code == 404
    assert client.get("/meet/nothing-here").status_code == 404


def test_contact_page_shows_meetings(client, rita, make_type, login):
    meeting_type = make_type(rita)
    start = berlin_at(future_weekday(2), 11)
    response = client.post(f"/api/v1/booking/{meeting_type.slug}", json={
        "start": start.isoformat(), "name": "Grace Hopper", "email": "grace@acmepumps.com", "tz": "UTC"})
    contact_id = db.session.get(Meeting, response.get_json()["meeting_id"]).contact_id
    login(client, rita)
    html = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert 'id="meetings-panel"' in html and "Intro call: Grace Hopper" in html
