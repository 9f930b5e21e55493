"""Time blocks: wall-clock time across DST, busy intervals, the ICS feed."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from icalendar import Calendar

from crm.calls.blocks import blocked_minutes, busy_intervals, create_block
from crm.calls.settings import settings_for
from crm.errors import ValidationFailed
from crm.extensions import db

UTC = timezone.utc


def test_a_new_york_block_keeps_0900_local_across_the_march_dst_change(ny_rep):
    # DST starts Sunday 8 March 2026 in the US: 09:00 EST = 14:00 UTC, 09:00 EDT = 13:00 UTC.
    week = busy_intervals(ny_rep.id, datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC))
    assert week == [
        (datetime(2026, 3, 5, 14, 0, tzinfo=UTC), datetime(2026, 3, 5, 15, 30, tzinfo=UTC)),
        (datetime(2026, 3, 6, 14, 0, tzinfo=UTC), datetime(2026, 3, 6, 15, 30, tzinfo=UTC)),
        (datetime(2026, 3, 9, 13, 0, tzinfo=UTC), datetime(2026, 3, 9, 14, 30, tzinfo=UTC)),
        (datetime(2026, 3, 10, 13, 0, tzinfo=UTC), datetime(2026, 3, 10, 14, 30, tzinfo=UTC)),
    ]


def test_autumn_change_and_a_berlin_block(make_user):
    rep = make_user("rep", time_zone="Europe/Berlin")
    create_block(rep, {"kind": "recurring", "weekdays": [4], "start_time": time(9), "end_time": time(10)},
                 datetime(2026, 10, 1, tzinfo=UTC))
    db.session.commit()
    # Europe leaves summer time on Sunday 25 October 2026.
    found = busy_intervals(rep.id, datetime(2026, 10, 19, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    assert [a for a, _ in found] == [datetime(2026, 10, 23, 7, tzinfo=UTC), datetime(2026, 10, 30, 8, tzinfo=UTC)]


def test_one_off_blocks_validity_and_blocked_minutes(ny_rep):
    create_block(ny_rep, {"kind": "one_off", "on_date": date(2026, 3, 10), "start_time": time(14),
                          "end_time": time(15)}, datetime(2026, 3, 1, tzinfo=UTC))
    create_block(ny_rep, {"kind": "recurring", "weekdays": [1], "start_time": time(16), "end_time": time(17),
                          "valid_from": date(2026, 3, 17)}, datetime(2026, 3, 1, tzinfo=UTC))
    assert blocked_minutes(ny_rep, date(2026, 3, 10)) == 90 + 60
    assert blocked_minutes(ny_rep, date(2026, 3, 17)) == 90 + 60
    assert blocked_minutes(ny_rep, date(2026, 3, 14)) == 0  # Saturday


def test_overlapping_blocks_merge_into_one_busy_interval(ny_rep):
    create_block(ny_rep, {"kind": "one_off", "on_date": date(2026, 3, 10), "start_time": time(10),
                          "end_time": time(11)}, datetime(2026, 3, 1, tzinfo=UTC))
    day = busy_intervals(ny_rep.id, datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC))
    assert day == [(datetime(2026, 3, 10, 13, tzinfo=UTC), datetime(2026, 3, 10, 15, tzinfo=UTC))]


@pytest.mark.parametrize("data,field", [
    ({"kind": "recurring", "weekdays": [], "start_time": time(9), "end_time": time(10)}, "weekdays"),
    ({"kind": "recurring", "weekdays": [0], "start_time": time(10), "end_time": time(9)}, "end_time"),
    ({"kind": "one_off", "start_time": time(9), "end_time": time(10)}, "on_date"),
    ({"kind": "recurring", "weekdays": [9], "start_time": time(9), "end_time": time(10)}, "weekdays"),
    ({"kind": "recurring", "weekdays": [0], "start_time": time(9), "end_time": time(10), "time_zone": "Mars/Base"},
     "time_zone"),
])
def test_invalid_blocks_are_refused(alice, data, field):
    with pytest.raises(ValidationFailed) as caught:
        create_block(alice, data, datetime(2026, 3, 1, tzinfo=UTC))
    assert field in caught.value.fields


def test_ics_feed_has_the_rrule_in_the_reps_zone_and_the_token_can_be_regenerated(client, ny_rep):
    token = settings_for(ny_rep).feed_token
    db.session.commit()
    response = client.get(f"/calls/feed/{token}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 1
    event = events[0]
    assert event.decoded("dtstart").tzinfo.key == "America/New_York"
    assert event.decoded("dtstart").time() == time(9)
    rule = event["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["BYDAY"] == ["MO", "TU", "WE", "TH", "FR"]
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]
    assert calendar["METHOD"] == "PUBLISH" and event["UID"].startswith("call-block-")

    from crm.calls.settings import regenerate_feed_token
    regenerate_feed_token(ny_rep, datetime(2026, 3, 10, tzinfo=UTC))
    db.session.commit()
    assert client.get(f"/calls/feed/{token}.ics").status_code == 404
    assert client.get("/calls/feed/not-a-token.ics").status_code == 404


def test_ics_recurring_block_expands_to_local_0900_on_both_sides_of_dst(client, ny_rep):
    import recurring_ical_events

    from crm.calls.blocks import blocks_of
    blocks_of(ny_rep.id)[0].valid_from = date(2026, 3, 1)  # the series starts before the change
    token = settings_for(ny_rep).feed_token
    db.session.commit()
    calendar = Calendar.from_ical(client.get(f"/calls/feed/{token}.ics").data)
    found = recurring_ical_events.of(calendar).between(datetime(2026, 3, 5), datetime(2026, 3, 11))
    starts = sorted(e.decoded("dtstart").astimezone(UTC) for e in found)
    assert starts[0] == datetime(2026, 3, 5, 14, tzinfo=UTC) and starts[-1] == datetime(2026, 3, 10, 13, tzinfo=UTC)


def test_busy_intervals_is_the_contract_meetings_calls(ny_rep):
    from crm.calls import blocks

    assert blocks.busy_intervals(ny_rep.id, datetime(2026, 3, 14, tzinfo=UTC), datetime(2026, 3, 16, tzinfo=UTC)) == []
    assert len(blocks.busy_intervals(ny_rep.id, datetime(2026, 3, 9, tzinfo=UTC),
                                     datetime(2026, 3, 9, tzinfo=UTC) + timedelta(days=7))) == 5
