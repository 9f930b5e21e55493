"""Business days in the rep's calendar and the send window in the contact's zone, across
DST changes (pure functions, no database)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from crm.sequences.schedule import add_business_days, jitter_seconds, next_send_moment, send_moment_for

UTC = timezone.utc
NY, TOKYO, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo"), ZoneInfo("Europe/Berlin")
WEEKDAYS = [0, 1, 2, 3, 4]


def window(at, zone_name, days=WEEKDAYS, start=8 * 60, end=17 * 60):
    return next_send_moment(at, zone_name=zone_name, days=days, start_minute=start, end_minute=end)


def test_business_days_skip_the_weekend_in_the_reps_zone():
    friday_4pm_ny = datetime(2026, 3, 13, 16, 0, tzinfo=NY)
    assert add_business_days(friday_4pm_ny, 1, zone_name="America/New_York") == datetime(2026, 3, 16, 16, 0, tzinfo=NY)
    assert add_business_days(friday_4pm_ny, 3, zone_name="America/New_York") == datetime(2026, 3, 18, 16, 0, tzinfo=NY)
    assert add_business_days(friday_4pm_ny, 0, zone_name="America/New_York") == friday_4pm_ny
    # Friday 23:00 in New York is already Saturday in UTC: the rep's calendar decides.
    friday_late = datetime(2026, 3, 13, 23, 0, tzinfo=NY)
    assert add_business_days(friday_late, 1, zone_name="America/New_York") == datetime(2026, 3, 16, 23, 0, tzinfo=NY)
    saturday = datetime(2026, 3, 14, 10, 0, tzinfo=NY)
    assert add_business_days(saturday, 1, zone_name="America/New_York") == datetime(2026, 3, 16, 10, 0, tzinfo=NY)


def test_business_days_keep_the_wall_clock_across_dst():
    # New York springs forward on Sunday 8 March 2026: Friday 09:00 EST + 1 = Monday 09:00 EDT.
    friday = datetime(2026, 3, 6, 9, 0, tzinfo=NY)
    monday = add_business_days(friday, 1, zone_name="America/New_York")
    assert monday.astimezone(NY).hour == 9
    assert monday.astimezone(UTC) == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # was 14:00 UTC on Friday


def test_custom_working_days():
    thursday = datetime(2026, 3, 12, 9, 0, tzinfo=BERLIN)
    # A rep working Monday to Thursday: Thursday + 1 working day is Monday.
    monday = add_business_days(thursday, 1, zone_name="Europe/Berlin", workdays={0, 1, 2, 3})
    assert monday.date().isoformat() == "2026-03-16"


def test_window_in_the_contacts_zone_tokyo_contact_new_york_rep():
    # 10:00 in New York on Tuesday = 00:00 Wednesday in Tokyo: wait for 08:00 Tokyo.
    at = datetime(2026, 3, 10, 10, 0, tzinfo=NY)
    moment = window(at, "Asia/Tokyo")
    assert moment.astimezone(TOKYO) == datetime(2026, 3, 11, 8, 0, tzinfo=TOKYO)
    # Inside the window: now.
    inside = datetime(2026, 3, 11, 9, 30, tzinfo=TOKYO)
    assert window(inside, "Asia/Tokyo") == inside.astimezone(UTC)
    # After 17:00 Tokyo on Friday: the weekend is skipped, Monday 08:00 Tokyo.
    friday_evening = datetime(2026, 3, 13, 17, 0, tzinfo=TOKYO)
    assert window(friday_evening, "Asia/Tokyo").astimezone(TOKYO) == datetime(2026, 3, 16, 8, 0, tzinfo=TOKYO)


def test_window_spring_forward_and_fall_back_days():
    # Berlin springs forward on Sunday 29 March 2026; Monday 30 March 08:00 is CEST (06:00 UTC).
    saturday = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    assert window(saturday, "Europe/Berlin") == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    # A window open on Sundays: 08:00 on the spring-forward day itself is 06:00 UTC.
    assert window(saturday, "Europe/Berlin", days=[6]) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    # Fall back on Sunday 25 October 2026: 08:00 that day is CET again (07:00 UTC).
    assert window(datetime(2026, 10, 24, 20, 0, tzinfo=UTC), "Europe/Berlin", days=[6]) == \
        datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    # New York falls back on 1 November 2026: the window closes at 17:00 EST = 22:00 UTC.
    late = datetime(2026, 11, 2, 21, 30, tzinfo=UTC)  # Monday 16:30 EST: still inside
    assert window(late, "America/New_York") == late
    assert window(datetime(2026, 11, 2, 22, 0, tzinfo=UTC), "America/New_York") == \
        datetime(2026, 11, 3, 13, 0, tzinfo=UTC)


def test_a_window_starting_in_the_dst_gap():
    # 02:30 does not exist in New York on 8 March 2026: it resolves to 03:30 EDT (07:30 UTC).
    assert window(datetime(2026, 3, 8, 0, 0, tzinfo=UTC), "America/New_York", days=[6], start=150, end=300) == \
        datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_jitter_is_stable_per_enrollment_and_stays_inside_the_window():
    assert jitter_seconds(7, 3, 9 * 3600) == jitter_seconds(7, 3, 9 * 3600)
    values = {jitter_seconds(i, 1, 9 * 3600) for i in range(50)}
    assert len(values) > 10 and all(0 <= v < 900 for v in values)
    at = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # before the window in Berlin
    moment = send_moment_for(at, zone_name="Europe/Berlin", days=WEEKDAYS, start_minute=480, end_minute=1020,
                             enrollment_id=7, step_id=3)
    opens = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    assert opens <= moment < opens.replace(minute=15)
    inside = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # already inside: no delay added
    assert send_moment_for(inside, zone_name="Europe/Berlin", days=WEEKDAYS, start_minute=480, end_minute=1020,
                           enrollment_id=7, step_id=3) == inside
