"""Public booking input that used to raise: zone names that are directories, dates at the
edges of the calendar. Each gets a 4xx, never a 500."""
import pytest

from crm.errors import ValidationFailed
from crm.meetings import services
from crm.timeutil import is_valid_timezone


@pytest.mark.parametrize("name", ["America", "Etc", "__pycache__", "../etc/passwd", "Europe/Berlin/x"])
def test_directory_and_bogus_zone_names_are_not_time_zones(name):
    assert not is_valid_timezone(name)


def test_real_zone_names_still_are():
    assert is_valid_timezone("America/New_York") and is_valid_timezone("UTC")


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00Z", "1800-01-01T10:00:00Z"])
def test_starts_at_the_edges_of_the_calendar_are_refused(value):
    with pytest.raises(ValidationFailed):
        services.parse_start(value)


def test_a_normal_start_parses_to_utc():
    start = services.parse_start("2026-03-10T09:00:00+01:00")
    assert start.isoformat() == "2026-03-10T08:00:00+00:00"


def test_public_routes_answer_bad_zones_and_far_dates_with_4xx(client, rita, make_type):
    slug = make_type(rita).slug
    api = f"/api/v1/booking/{slug}"
    for query in ("tz=America", "tz=Etc", "start=9999-12-31", "start=0001-01-01&tz=Asia/Tokyo"):
        assert client.get(f"{api}/slots?{query}").status_code == 422, query
    for start in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00Z"):
        body = {"start": start, "name": "Grace Hopper", "email": "grace@acmepumps.com", "tz": "UTC"}
        assert client.post(api, json=body).status_code == 422, start
    body = {"start": "2026-12-01T09:00:00Z", "name": "Grace Hopper", "email": "grace@acmepumps.com", "tz": "Etc"}
    assert client.post(api, json=body).status_code == 422
    for query in ("tz=America", "start=9999-12-31", "tz=Etc&start=0001-01-01"):
        assert client.get(f"/meet/{slug}?{query}").status_code < 500, query
    for query in ("start=0001-01-01T00:00:00%2B01:00", "start=9999-12-31T23:30:00Z", "tz=Etc"):
        assert client.get(f"/meet/{slug}/book?{query}").status_code < 500, query


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/feed.ics", "http://169.254.169.254/latest/meta-data",
                                 "http://[::1]/x.ics", "http://10.0.0.8/cal.ics", "ftp://example.com/x.ics",
                                 "https://example.com/a b.ics", "http://localhost/x.ics"])
def test_calendar_feeds_on_private_addresses_or_odd_urls_are_refused(app, url):
    from crm.meetings.calendars import CalendarError, fetch_ics

    app.config["CALENDAR_FEED_ALLOW_PRIVATE"] = False
    try:
        with pytest.raises(CalendarError):
            fetch_ics(url)
    finally:
        app.config["CALENDAR_FEED_ALLOW_PRIVATE"] = True


def test_a_feed_that_fails_oddly_is_recorded_and_does_not_raise(app, rita, now):
    from crm.extensions import db
    from crm.meetings.calendars import refresh_calendar
    from crm.meetings.models import ExternalCalendar

    calendar = ExternalCalendar(user_id=rita.id, kind="url", url="http://127.0.0.1:notaport/x.ics", name="Odd")
    db.session.add(calendar)
    db.session.flush()
    assert refresh_calendar(calendar, "UTC", now) is False
    assert calendar.last_error and calendar.last_fetched_at == now
