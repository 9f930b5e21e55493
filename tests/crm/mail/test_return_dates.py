"""Return dates read from out-of-office texts, relative to a fixed "today" (the day the
message was written: ``message_day`` reads it from the Date header, tested at the end)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from crm.mail.inbound.ooo_dates import find_return_date, message_day

TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize("text, expected", [
    # English
    ("I will be back on 3 December.", date(2026, 12, 3)),
    ("I'll be back on December 3rd.", date(2026, 12, 3)),
    ("Returning Monday 12/07/2026.", date(2026, 12, 7)),  # the weekday says month first
    ("returning on Tuesday, December 8th", date(2026, 12, 8)),
    ("I will return to the office on 2026-12-09.", date(2026, 12, 9)),
    ("I am out of the office until Friday 4 December.", date(2026, 12, 5)),
    ("Out of office through Dec 4th, 2026", date(2026, 12, 5)),
    ("I am out until 4 December and back on 7 December.", date(2026, 12, 7)),
    ("On leave 20/11 - 03/12.", date(2026, 12, 4)),
    ("Back on 25/12.", date(2026, 12, 25)),  # a number above 12 is the day, whichever side
    ("Back on 12/25.", date(2026, 12, 25)),
    ("Back on 13/12/2026.", date(2026, 12, 13)),
    ("Out of office until 12/13/2026.", date(2026, 12, 14)),
    ("I will not return until 03.12.2026.", date(2026, 12, 3)),
    ("I won't be back until Monday.", date(2026, 11, 30)),
    ("I will be out of the office starting 20.11.2026 and will not return until 03.12.2026.", date(2026, 12, 3)),
    ("I'll be back on Monday.", date(2026, 11, 30)),
    ("Back tomorrow.", date(2026, 11, 26)),
    ("Back next week.", date(2026, 11, 30)),
    # German
    ("Ich bin ab dem 03.12.2026 wieder im Büro.", date(2026, 12, 3)),
    ("Zurück am 03.12.2026.", date(2026, 12, 3)),
    ("Ich bin bis einschließlich 02.12.2026 nicht im Büro.", date(2026, 12, 3)),
    ("Vom 20.11. bis 02.12. bin ich im Urlaub.", date(2026, 12, 3)),
    ("Ab Montag, 7. Dezember 2026 bin ich wieder erreichbar.", date(2026, 12, 7)),
    ("Ab dem 03.12. bin ich wieder da.", date(2026, 12, 3)),
    # French
    ("Je serai de retour le 3 décembre.", date(2026, 12, 3)),
    ("Absente jusqu'au 2 décembre inclus.", date(2026, 12, 3)),
    ("Je suis absent jusqu’au lundi 7 décembre 2026.", date(2026, 12, 8)),
    ("De retour le 1er décembre", date(2026, 12, 1)),
    # Spanish
    ("Regreso el 3 de diciembre.", date(2026, 12, 3)),
    ("Estaré fuera hasta el 2 de diciembre de 2026.", date(2026, 12, 3)),
    ("Volveré el lunes 7 de diciembre.", date(2026, 12, 7)),
    ("Hasta el 02/12/2026.", date(2026, 12, 3)),
    ("No regresaré hasta el 3 de diciembre.", date(2026, 12, 3)),
    # Italian, Dutch, Portuguese
    ("Rientrerò in ufficio il 9 dicembre.", date(2026, 12, 9)),
    ("Sarò fuori sede fino al 4 dicembre.", date(2026, 12, 5)),
    ("Ik ben afwezig tot en met 4 december.", date(2026, 12, 5)),
    ("Vanaf 7 december ben ik weer op kantoor.", date(2026, 12, 7)),
    ("Estarei de volta; retorno em 3 de dezembro.", date(2026, 12, 3)),
])
def test_return_date_is_read(text, expected):
    assert find_return_date(text, TODAY).value == expected


@pytest.mark.parametrize("text", [
    "I am out of the office with limited access to email.",
    "Please see our release notes for version 3.5 and call me at 10.30.",
    "Our board meeting on 3 December went well.",  # a date, but not a return
    "Back on 24 November.",  # yesterday: a stale notice
    "I will return on 3 December 2025.",  # explicitly past
    "I will be back on 1 January 2030.",  # implausibly far
    "Back on 31/02/2027.",  # no such day
    "",
])
def test_no_return_date(text):
    assert find_return_date(text, TODAY).value is None


@pytest.mark.parametrize("today, text, expected", [
    # read in late December, "3 January" is next year
    (date(2026, 12, 20), "I will be back on 3 January.", date(2027, 1, 3)),
    (date(2026, 12, 20), "Zurück am 04.01.", date(2027, 1, 4)),
    # read in early January, "28 December" is a stale notice from last year, not next December
    (date(2027, 1, 5), "I will be back on 28 December.", None),
    # a long leave: September read in March is this September
    (date(2026, 3, 1), "Back on 1 September after parental leave.", date(2026, 9, 1)),
    # 29 February only exists in leap years
    (date(2028, 2, 10), "Back on 29 February.", date(2028, 2, 29)),
    # Monday read on a Monday is next Monday
    (date(2026, 11, 30), "Back on Monday.", date(2026, 12, 7)),
    # the message's own day is a return date (back today)
    (date(2026, 11, 25), "Back on 25 November.", date(2026, 11, 25)),
    # a stale notice: at most 31 days back is that past day (dropped), further back next year
    (date(2026, 11, 25), "Back on 25 October.", None),
    (date(2026, 11, 25), "Back on 24 October.", date(2027, 10, 24)),
    # an ambiguous 10/11 read on 25 November: the stale 10 November (dropped), not 11 October 2027
    (date(2026, 11, 25), "Back on 10/11.", None),
    # 29 February with no leap day in the coming year is no date
    (date(2027, 2, 20), "Back on 29 February.", None),
    (date(2027, 3, 1), "Back on 29 February.", date(2028, 2, 29)),
])
def test_missing_year_is_the_sensible_one(today, text, expected):
    assert find_return_date(text, today).value == expected


def test_reason_explains_the_result():
    assert "2026-12-03" in find_return_date("Back on 3 December.", TODAY).reason
    assert "past" in find_return_date("Back on 24 November.", TODAY).reason
    assert find_return_date("Nothing here.", TODAY).reason == "no return date stated"


@pytest.mark.parametrize("header, expected", [
    ("Wed, 25 Nov 2026 00:16:39 -0800", date(2026, 11, 25)),  # 08:16 UTC: the local date counts
    ("Tue, 24 Nov 2026 23:50:00 -0500", date(2026, 11, 24)),  # 04:50 UTC on the 25th
    ("Wed, 25 Nov 2026 09:18:41 +0100 (CET)", date(2026, 11, 25)),
    ("25 Nov 2026 09:18:41 CET", date(2026, 11, 25)),  # unknown zone name: the date as written
    ("Thu, 26 Nov 2026 09:00:00 +0100", date(2026, 11, 26)),  # within a day after now: believed
    ("Fri, 27 Nov 2026 12:00:00 +0000", date(2026, 11, 25)),  # more than a day after: now
    ("Wed, 25 Nov 1998 09:00:00 +0000", date(2026, 11, 25)),  # before 2000: now
    ("Sun, 10 Mar 2024 09:00:00 +0000", date(2024, 3, 10)),  # an old backlog: its own day
    ("", date(2026, 11, 25)),
    ("not a date", date(2026, 11, 25)),
    (None, date(2026, 11, 25)),
])
def test_message_day(header, expected):
    now = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
    assert message_day(header, now).value == expected


def test_message_day_falls_back_to_the_utc_date_of_now():
    late = datetime(2026, 11, 25, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # 04:30 UTC on the 26th
    assert message_day(None, late).value == date(2026, 11, 26)
    assert message_day(None, date(2026, 11, 25)).value == date(2026, 11, 25)
