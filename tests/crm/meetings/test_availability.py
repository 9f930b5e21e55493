"""Slot computation as pure functions: daylight saving on both sides, far-away visitors,
notice, not-today, horizon, increments, stacked buffers, daily maximum, busy time."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from crm.meetings import availability as av

UTC = timezone.utc


def rules(zone="Europe/Berlin", hours=((0, "09:00", "17:00"),), duration=30, increment=30, **kw):
    weekly = av.weekly_ranges({"weekday": d, "start": s, "end": e} for d, s, e in hours)
    return av.Rules(time_zone=zone, weekly=weekly, duration=timedelta(minutes=duration),
                    increment=timedelta(minutes=increment), **kw)


def local_times(slots, zone):
    return [s.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %z") for s in slots]


def slots(r, now, start, end, **kw):
    return av.free_slots(r, now=now, window_start=start, window_end=end, **kw)


def test_spring_forward_night_skips_the_missing_hour():
    # Berlin, Sunday 29 March 2026: 02:00 CET jumps to 03:00 CEST.
    r = rules(hours=((6, "00:00", "04:00"),))
    found = av.candidate_starts(r, date(2026, 3, 29), date(2026, 3, 29))
    assert local_times(found, "Europe/Berlin") == [
        "2026-03-29 00:00 +0100", "2026-03-29 00:30 +0100", "2026-03-29 01:00 +0100",
        "2026-03-29 01:30 +0100", "2026-03-29 03:00 +0200", "2026-03-29 03:30 +0200"]
    # Each slot lasts 30 real minutes: 01:30 CET ends at 03:00 CEST.
    assert [s.strftime("%H:%M") for s in found] == ["23:00", "23:30", "00:00", "00:30", "01:00", "01:30"]


def test_fall_back_night_offers_the_repeated_hour_twice():
    # Berlin, Sunday 25 October 2026: 03:00 CEST falls back to 02:00 CET.
    r = rules(hours=((6, "01:00", "04:00"),))
    found = av.candidate_starts(r, date(2026, 10, 25), date(2026, 10, 25))
    assert [s.strftime("%H:%M") for s in found] == [
        "23:00", "23:30", "00:00", "00:30", "01:00", "01:30", "02:00", "02:30"]
    assert local_times(found, "Europe/Berlin")[2:6] == [
        "2026-10-25 02:00 +0200", "2026-10-25 02:30 +0200", "2026-10-25 02:00 +0100", "2026-10-25 02:30 +0100"]


def test_a_slot_crossing_the_change_keeps_its_real_length():
    r = rules(hours=((6, "01:00", "03:00"),), duration=60, increment=60)
    found = av.candidate_starts(r, date(2026, 3, 29), date(2026, 3, 29))
    # 01:00 CET -> ends 03:00 CEST (one real hour) which is the range end; 02:00 does not exist.
    assert local_times(found, "Europe/Berlin") == ["2026-03-29 01:00 +0100"]


def test_visitor_whose_clocks_change_on_another_date():
    # London changes on 29 March, New York on 8 March: 09:00 London is 04:00 then 05:00 in NY.
    r = rules(zone="Europe/London", hours=[(d, "09:00", "10:00") for d in range(5)], duration=60, increment=60,
              horizon_days=60)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    start, end = av.window_for_days(date(2026, 3, 5), 7, "America/New_York")
    found = slots(r, now, start, end)
    assert local_times(found, "America/New_York") == [
        "2026-03-05 04:00 -0500", "2026-03-06 04:00 -0500", "2026-03-09 05:00 -0400",
        "2026-03-10 05:00 -0400", "2026-03-11 05:00 -0400"]


def test_visitor_twelve_hours_away_sees_the_next_day():
    # Monday 14:00 in London (winter, UTC) is Tuesday 02:00 in Kamchatka (UTC+12).
    r = rules(zone="Europe/London", hours=((0, "14:00", "15:00"),), duration=60, increment=60)
    now = datetime(2026, 1, 5, tzinfo=UTC)
    monday = slots(r, now, *av.window_for_days(date(2026, 1, 12), 1, "Asia/Kamchatka"))
    tuesday = slots(r, now, *av.window_for_days(date(2026, 1, 13), 1, "Asia/Kamchatka"))
    assert monday == []
    assert local_times(tuesday, "Asia/Kamchatka") == ["2026-01-13 02:00 +1200"]
    days = av.group_by_local_day(tuesday, "Asia/Kamchatka")
    assert days[0][0] == date(2026, 1, 13)


MONDAY = date(2026, 3, 16)  # Berlin is UTC+1 that week


def day_window(day=MONDAY, days=1):
    return av.window_for_days(day, days, "Europe/Berlin")


def test_minimum_notice_counts_from_now():
    r = rules(min_notice=timedelta(hours=4))
    now = datetime(2026, 3, 16, 7, 10, tzinfo=UTC)  # 08:10 Berlin
    found = slots(r, now, *day_window())
    assert local_times(found, "Europe/Berlin")[0] == "2026-03-16 12:30 +0100"  # 08:10 + 4h -> 12:10 -> next grid 12:30


def test_not_today_and_horizon_in_local_dates():
    now = datetime(2026, 3, 16, 6, 0, tzinfo=UTC)
    r = rules(hours=[(d, "09:00", "10:00") for d in range(7)], duration=60, increment=60, not_today=True,
              horizon_days=3)
    found = slots(r, now, *day_window(days=10))
    assert [s.astimezone(ZoneInfo("Europe/Berlin")).date() for s in found] == [date(2026, 3, 17), date(2026, 3, 18)]


def test_increments_set_the_grid():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    r15 = rules(hours=((0, "09:00", "10:00"),), increment=15)
    r60 = rules(hours=((0, "09:00", "10:00"),), increment=60)
    assert [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") for s in slots(r15, now, *day_window())] == [
        "09:00", "09:15", "09:30"]
    assert [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M")
            for s in slots(r60, now, *day_window())] == ["09:00"]


def berlin(hh, mm, day=MONDAY):
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)


def test_buffers_stack_with_the_neighbouring_meetings_buffers():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    existing = av.BookedMeeting(berlin(10, 0), berlin(10, 30), timedelta(minutes=15), timedelta(minutes=15))
    r = rules(hours=((0, "09:00", "12:00"),), increment=15, buffer_before=timedelta(minutes=15),
              buffer_after=timedelta(minutes=15))
    found = [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M")
             for s in slots(r, now, *day_window(), meetings=[existing])]
    # Before: our slot + 15 after must end by 09:45 (their 15 before) -> last start 09:00.
    # After: their 10:30 + 15 + our 15 -> first start 11:00.
    assert found == ["09:00", "11:00", "11:15", "11:30"]
    # Without buffers on either side the neighbours touch.
    plain = rules(hours=((0, "09:00", "12:00"),), increment=15)
    bare = av.BookedMeeting(berlin(10, 0), berlin(10, 30))
    found = [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M")
             for s in slots(plain, now, *day_window(), meetings=[bare])]
    assert "09:30" in found and "10:30" in found and "09:45" not in found and "10:15" not in found


def test_daily_maximum_counts_meetings_on_the_reps_local_day():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    r = rules(hours=[(0, "09:00", "17:00"), (1, "09:00", "17:00")], daily_max=2)
    monday = [av.BookedMeeting(berlin(9, 0), berlin(9, 30)), av.BookedMeeting(berlin(16, 0), berlin(16, 30))]
    found = slots(r, now, *day_window(days=2), meetings=monday)
    assert {s.astimezone(ZoneInfo("Europe/Berlin")).date() for s in found} == {date(2026, 3, 17)}
    found = slots(r, now, *day_window(days=2), meetings=monday[:1])
    assert date(2026, 3, 16) in {s.astimezone(ZoneInfo("Europe/Berlin")).date() for s in found}


def test_busy_intervals_block_with_the_new_slots_buffers():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    r = rules(hours=((0, "09:00", "13:00"),))
    found = slots(r, now, *day_window(), busy=[(berlin(11, 0), berlin(12, 0))])
    assert [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") for s in found] == [
        "09:00", "09:30", "10:00", "10:30", "12:00", "12:30"]
    padded = rules(hours=((0, "09:00", "13:00"),), buffer_after=timedelta(minutes=10))
    found = slots(padded, now, *day_window(), busy=[(berlin(11, 0), berlin(12, 0))])
    assert "10:30" not in [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") for s in found]


def test_busy_index_merges_and_searches():
    index = av.BusyIndex([(berlin(9, 0), berlin(10, 0)), (berlin(9, 30), berlin(11, 0)),
                          (berlin(14, 0), berlin(15, 0))])
    assert index.starts == [berlin(9, 0), berlin(14, 0)]
    assert index.overlaps(berlin(10, 30), berlin(10, 45))
    assert not index.overlaps(berlin(11, 0), berlin(14, 0))
    assert index.overlaps(berlin(13, 59), berlin(14, 1))
    assert not index.overlaps(berlin(15, 0), berlin(16, 0))


def test_the_fast_path_agrees_with_careful_conversion_every_day_of_the_year():
    # Whole-day arithmetic is used only on days without a clock change; compare it with the
    # per-slot conversion for zones with hour, half-hour and midnight changes.
    for zone in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata"):
        r = rules(zone=zone, hours=[(d, "00:00", "24:00") for d in range(7)], duration=30, increment=60)
        day = date(2026, 1, 1)
        while day < date(2027, 1, 1):
            assert av.day_candidates(r, day) == av.careful_day_candidates(r, day), (zone, day)
            day += timedelta(days=1)
