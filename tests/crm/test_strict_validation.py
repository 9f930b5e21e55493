"""Time zones are IANA names (or UTC) and web addresses are http(s), wherever they are
accepted: one check each (``crm.timeutil.is_valid_timezone``, ``crm.validation.check_web_url``)
behind the API schemas, the page forms and the services. A table of bad values is refused with
a clear 4xx on the pages and the API; good values pass."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from crm.calls.models import TimeBlock
from crm.extensions import db
from crm.meetings.models import Meeting, MeetingType
from crm.timeutil import is_valid_timezone
from crm.validation import check_web_url, is_web_url
from tests.conftest import NOW, csrf_from

BAD_ZONES = ["localtime", "posixrules", "Factory", "../etc", "../../etc/passwd", "Europe/", "/etc/localtime",
             "posix/Europe/Berlin", "right/UTC", "America", "Europe/Nowhere", "", " ", "Europe/Berlin\x00",
             "Europe/" + "x" * 300]
GOOD_ZONES = ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Asia/Kolkata", "Etc/GMT+5", "Pacific/Chatham"]

BAD_URLS = ["javascript:alert(1)", "JavaScript:alert(document.cookie)", " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>", "file:///etc/passwd", "mailto:rita@acme-sales.com",
            "tel:+4930123456", "ftp://files.example.com/x", "http//x", "https://", "https:///path", "//evil.example/x",
            "https://evil example.com", "https://user:secret@meet.example.com/x", "https://meet.example.com:99999/",
            "https://meet.example.com\\@evil.example", "https://<script>/", "https://" + "a" * 64 + ".example/x",
            "https://" + "a" * 2000 + ".com"]
GOOD_URLS = ["https://meet.example.com/rita", "http://zoom.example/j/123?pwd=abc#x", "HTTPS://MEET.EXAMPLE.COM/R",
             "https://[2001:db8::1]/room", "https://127.0.0.1:8443/x", "https://bücher.example/raum"]

WEEKDAYS_9_TO_17 = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]
TYPE_BODY = {"name": "Intro call", "slug": "rita-intro", "duration_minutes": 30, "time_zone": "Europe/Berlin",
             "weekly_hours": WEEKDAYS_9_TO_17, "min_notice_hours": 0, "horizon_days": 60}


@pytest.fixture
def rita(make_user):
    return make_user("rep", name="Rita Rep", email="rita@acme-sales.com", time_zone="Europe/Berlin")


@pytest.fixture
def intro(rita):
    from crm.meetings.services import create_meeting_type

    meeting_type = create_meeting_type(rita, {**TYPE_BODY, "location_kind": "video",
                                              "location_value": "https://meet.example.com/rita"}, NOW)
    db.session.commit()
    return meeting_type


def next_monday() -> date:
    day = NOW.date() + timedelta(days=3)
    return day + timedelta(days=(7 - day.weekday()) % 7)


# --- the two checks -------------------------------------------------------------------------

@pytest.mark.parametrize("zone", BAD_ZONES + [None, 5])
def test_bad_zones_are_not_time_zones(zone):
    assert not is_valid_timezone(zone)


@pytest.mark.parametrize("zone", GOOD_ZONES)
def test_iana_names_are(zone):
    assert is_valid_timezone(zone)


@pytest.mark.parametrize("url", BAD_URLS + ["", None])
def test_bad_urls_are_refused_with_a_reason(url):
    with pytest.raises(ValueError) as refused:
        check_web_url(url)
    assert str(refused.value)
    assert not is_web_url(url)


@pytest.mark.parametrize("url", GOOD_URLS)
def test_web_urls_pass(url):
    assert check_web_url(f"  {url} ") == url


# --- time zones: API --------------------------------------------------------------------------

@pytest.mark.parametrize("zone", BAD_ZONES)
def test_api_refuses_bad_zones_everywhere(client, api_token, rita, intro, zone):
    headers = api_token(rita)
    checks = {
        "block": client.post("/api/v1/time-blocks", headers=headers, json={
            "weekdays": [0], "start_time": "09:00", "end_time": "10:00", "time_zone": zone}),
        "meeting type": client.post("/api/v1/meeting-types", headers=headers,
                                    json={**TYPE_BODY, "slug": "other-link", "time_zone": zone}),
        "meeting type patch": client.patch(f"/api/v1/meeting-types/{intro.id}", headers=headers,
                                           json={"time_zone": zone}),
        "slots": client.get(f"/api/v1/booking/{intro.slug}/slots", query_string={"tz": zone}),
        "booking": client.post(f"/api/v1/booking/{intro.slug}", json={
            "start": f"{next_monday()}T10:00:00+01:00", "name": "Gus", "email": "gus@guests.com", "tz": zone}),
    }
    if zone.strip():  # a contact's blank zone means "not known" (the company's zone applies)
        checks["contact"] = client.post("/api/v1/contacts", headers=headers, json={
            "email": "dana@globex.example", "first_name": "Dana", "time_zone": zone})
    for name, response in checks.items():
        assert response.status_code == 422, (name, response.get_json())
        error = response.get_json()["error"]
        field = "tz" if name in ("slots", "booking") else "time_zone"
        assert field in error["fields"], (name, error)
    db.session.rollback()
    assert db.session.scalars(select(TimeBlock)).all() == [] and db.session.scalars(select(Meeting)).all() == []
    assert db.session.get(MeetingType, intro.id).time_zone == "Europe/Berlin"


@pytest.mark.parametrize("zone", GOOD_ZONES)
def test_api_takes_iana_zones(client, api_token, rita, intro, zone):
    headers = api_token(rita)
    assert client.post("/api/v1/time-blocks", headers=headers, json={
        "weekdays": [0], "start_time": "09:00", "end_time": "10:00", "time_zone": zone}).status_code == 201
    assert client.get(f"/api/v1/booking/{intro.slug}/slots", query_string={"tz": zone}).status_code == 200
    assert client.patch(f"/api/v1/meeting-types/{intro.id}", headers=headers,
                        json={"time_zone": zone}).status_code == 200


def test_the_localtime_reported_in_the_issue_is_refused_by_booking(client, intro):
    response = client.get(f"/api/v1/booking/{intro.slug}/slots?tz=localtime")
    assert response.status_code == 422
    assert "IANA" in response.get_json()["error"]["fields"]["tz"]


# --- time zones: pages ------------------------------------------------------------------------

def type_form(page_html: str, **overrides) -> dict:
    return {"csrf_token": csrf_from(page_html), "name": "Demo", "slug": "rita-demo", "duration_minutes": "30",
            "time_zone": "Europe/Berlin", "hours_0": "09:00-12:00", "buffer_before_minutes": "0",
            "buffer_after_minutes": "0", "min_notice_hours": "0", "horizon_days": "14", "increment_minutes": "30",
            "location_kind": "video", "location_value": "https://meet.example.com/demo", "is_active": "y", **overrides}


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory", "../etc", "Europe/"])
def test_meeting_type_page_refuses_bad_zones(client, login, rita, zone):
    login(client, rita)
    page = client.get("/meetings/types/new").get_data(as_text=True)
    response = client.post("/meetings/types/new", data=type_form(page, time_zone=zone))
    assert response.status_code == 422
    assert "not a known time zone" in response.get_data(as_text=True)
    assert db.session.scalars(select(MeetingType)).all() == []


def test_booking_form_refuses_a_bad_zone_and_the_public_page_falls_back_to_utc(client, intro):
    start = f"{next_monday()}T10:00:00+01:00"
    page = client.get(f"/meet/{intro.slug}?tz=localtime")
    assert page.status_code == 200 and 'data-tz-given="0"' in page.get_data(as_text=True)  # shown in UTC
    form_page = client.get(f"/meet/{intro.slug}/book", query_string={"start": start, "tz": "Europe/Berlin"})
    data = {"csrf_token": csrf_from(form_page.get_data(as_text=True)), "start": start, "src": "",
            "name": "Grace Hopper", "email": "grace@acmepumps.com"}
    for zone in ("localtime", "Factory", "../etc"):
        refused = client.post(f"/meet/{intro.slug}/book", data={**data, "tz": zone})
        assert refused.status_code == 422, zone
        assert "Your time zone is not known" in refused.get_data(as_text=True)
    assert db.session.scalars(select(Meeting)).all() == []
    booked = client.post(f"/meet/{intro.slug}/book", data={**data, "tz": "America/New_York"})
    assert booked.status_code == 302
    assert db.session.scalar(select(Meeting.guest_time_zone)) == "America/New_York"


# --- web addresses: API -----------------------------------------------------------------------

@pytest.mark.parametrize("url", [u for u in BAD_URLS if len(u) <= 500])
def test_api_refuses_a_video_link_that_is_not_http(client, api_token, rita, intro, url):
    headers = api_token(rita)
    created = client.post("/api/v1/meeting-types", headers=headers, json={
        **TYPE_BODY, "slug": "other-link", "location_kind": "video", "location_value": url})
    patched = client.patch(f"/api/v1/meeting-types/{intro.id}", headers=headers, json={"location_value": url})
    for response in (created, patched):
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["error"]["fields"]["location_value"].startswith("the video link: ")
    db.session.rollback()
    assert db.session.get(MeetingType, intro.id).location_value == "https://meet.example.com/rita"
    assert db.session.scalar(select(MeetingType).where(MeetingType.slug == "other-link")) is None


def test_api_checks_the_pair_a_patch_leaves(client, api_token, rita, intro):
    """A phone number may look like anything; turning that type into a video call checks it."""
    headers = api_token(rita)
    phone = client.patch(f"/api/v1/meeting-types/{intro.id}", headers=headers,
                         json={"location_kind": "address", "location_value": "javascript:alert(1)"})
    assert phone.status_code == 200  # plain text of an address, never a link
    to_video = client.patch(f"/api/v1/meeting-types/{intro.id}", headers=headers, json={"location_kind": "video"})
    assert to_video.status_code == 422 and "location_value" in to_video.get_json()["error"]["fields"]
    fixed = client.patch(f"/api/v1/meeting-types/{intro.id}", headers=headers,
                         json={"location_kind": "video", "location_value": "https://meet.example.com/x"})
    assert fixed.status_code == 200
    assert client.patch(f"/api/v1/meeting-types/{intro.id}", headers=headers,
                        json={"location_value": ""}).status_code == 200  # no link yet: "Video call"


def test_a_very_long_video_link_is_refused_by_length(client, api_token, rita):
    response = client.post("/api/v1/meeting-types", headers=api_token(rita), json={
        **TYPE_BODY, "location_kind": "video", "location_value": "https://meet.example.com/" + "a" * 600})
    assert response.status_code == 422 and "location_value" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("url", GOOD_URLS)
def test_api_takes_http_video_links(client, api_token, rita, intro, url):
    response = client.patch(f"/api/v1/meeting-types/{intro.id}", headers=api_token(rita), json={"location_value": url})
    assert response.status_code == 200 and response.get_json()["location_value"] == url


# --- web addresses: pages ---------------------------------------------------------------------

@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd",
                                 "mailto:rita@acme-sales.com", "http//x", "https://meet.example.com/" + "a" * 500])
def test_meeting_type_page_refuses_a_video_link_that_is_not_http(client, login, rita, url):
    login(client, rita)
    page = client.get("/meetings/types/new").get_data(as_text=True)
    response = client.post("/meetings/types/new", data=type_form(page, location_value=url))
    assert response.status_code == 422
    assert "the video link: " in response.get_data(as_text=True)
    assert db.session.scalars(select(MeetingType)).all() == []


def test_meeting_type_page_takes_an_http_link_and_a_phone_number(client, login, rita):
    login(client, rita)
    page = client.get("/meetings/types/new").get_data(as_text=True)
    assert client.post("/meetings/types/new", data=type_form(page)).status_code == 302
    page = client.get("/meetings/types/new").get_data(as_text=True)
    phone = type_form(page, slug="rita-phone", location_kind="phone", location_value="+49 30 1234567")
    assert client.post("/meetings/types/new", data=phone).status_code == 302
    assert {t.location_value for t in db.session.scalars(select(MeetingType))} == {
        "https://meet.example.com/demo", "+49 30 1234567"}


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "data:text/calendar,x",
                                 "mailto:rita@acme-sales.com", "http//x", "https://"])
def test_calendar_feed_page_refuses_addresses_that_are_not_http(client, login, rita, url):
    login(client, rita)
    page = client.get("/meetings/calendars").get_data(as_text=True)
    response = client.post("/meetings/calendars", data={"csrf_token": csrf_from(page), "feed-name": "Work",
                                                        "feed-url": url})
    assert response.status_code == 422
    from crm.meetings.models import ExternalCalendar

    assert db.session.scalars(select(ExternalCalendar)).all() == []
