"""No endpoint's work grows with a range the caller chooses (issue #19): every query parameter
and body field that sets a range, a horizon, an ``as_of`` day, a number of days, a page size,
a start or end, a date or a count is bounded, and a value outside its bounds is refused (4xx,
with the field named) before any work is done: never answered (200), never a crash (500).

One table, one row per parameter: the JSON API of every feature and the planning bridge.
Bounds are relative to the frozen ``NOW`` (2026-03-10)."""
from __future__ import annotations

from datetime import date

import pytest

from crm.extensions import db
from tests.conftest import NOW

FAR_FUTURE_DAY = "9711-02-11"   # the example: held a worker for 30 s
FIRST_DAY = "0001-01-01"
FAR_FUTURE_MOMENT = "9711-02-11T00:00:00+00:00"
FIRST_MOMENT = "0001-01-01T00:00:00+00:00"
HUGE = 10**9
MANY_LAGS = ",".join(["1"] * 50)


@pytest.fixture
def world(alice, pat, families, stages, make_contact):
    """What the routes need to exist: a deal of alice's, a contact, a sequence, a booking link."""
    from crm.deals.services import create_deal
    from crm.meetings.services import create_meeting_type
    from crm.sequences import library

    deal = create_deal(alice, {"name": "Pumps", "stage_id": stages[0].id, "expected_close": date(2026, 6, 1),
                               "lines": [{"family": "PUMP", "quantity": 1, "unit_price": "10.00"}]}, NOW)
    contact = make_contact(owner_id=alice.id, actor=alice)
    sequence = library.create_sequence(alice, {"name": "Bounds"}, NOW)
    library.add_step(alice, sequence.id, {"kind": "call", "task_note": "ring"}, NOW)
    meeting_type = create_meeting_type(alice, {
        "name": "Intro", "slug": "bounds-intro", "duration_minutes": 30, "time_zone": "UTC",
        "weekly_hours": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
        "min_notice_hours": 0, "horizon_days": 60, "increment_minutes": 30}, NOW)
    db.session.commit()
    return {"deal": deal.id, "contact": contact.id, "sequence": sequence.id, "slug": meeting_type.slug,
            "alice": alice.id}


def _block(**dates):
    return {"kind": "one_off", "start_time": "09:00", "end_time": "10:00", "on_date": "2026-03-11", **dates}


# (who, method, path, JSON body or None, the field the error names)
CASES = [
    # --- planning bridge ---------------------------------------------------------------------
    ("pat", "GET", f"/planning/calibration?as_of={FAR_FUTURE_DAY}", None, "as_of"),
    ("pat", "GET", f"/planning/calibration?as_of={FIRST_DAY}", None, "as_of"),
    ("pat", "GET", "/planning/calibration?as_of=2026-03-11", None, "as_of"),  # tomorrow
    ("pat", "GET", "/planning/calibration?as_of=2016-03-09", None, "as_of"),  # 10 years and a day
    ("pat", "GET", f"/planning/demand-input?as_of={FAR_FUTURE_DAY}", None, "as_of"),
    ("pat", "GET", f"/planning/demand-input?as_of={FIRST_DAY}", None, "as_of"),
    ("pat", "GET", "/planning/demand-input?from=1900-01&to=1900-12", None, "from"),
    ("pat", "GET", "/planning/demand-input?from=2999-01&to=2999-12", None, "from"),
    ("pat", "GET", "/planning/demand-input?to=2999-12", None, "to"),
    ("pat", "GET", "/planning/demand-input?to=2031-04", None, "to"),  # five years ahead and a month
    ("pat", "GET", "/planning/calibration?as_of=9999-12-31", None, "as_of"),  # once a 500
    ("pat", "GET", "/planning/demand-input?from=2026-01&to=2999-12", None, "to"),
    ("pat", "GET", f"/planning/demand-input/contributions?family=PUMP&period=2026-04&as_of={FAR_FUTURE_DAY}",
     None, "as_of"),
    ("pat", "GET", f"/planning/demand-input/contributions?family=PUMP&period=2026-04&as_of={FIRST_DAY}",
     None, "as_of"),
    ("pat", "GET", "/planning/demand-input/contributions?family=PUMP&period=1900-01", None, "period"),
    ("pat", "GET", "/planning/demand-input/contributions?family=PUMP&period=2999-12", None, "period"),
    ("pat", "GET", "/planning/actuals?from=1900-01&to=2999-12", None, "to"),
    ("pat", "GET", "/planning/actuals?from=2026-01&to=2025-01", None, "to"),
    ("pat", "POST", "/planning/snapshots", {"from": "1900-01", "to": "1900-12"}, "from"),
    ("pat", "POST", "/planning/snapshots", {"from": "2026-01", "to": "2999-12"}, "to"),
    ("pat", "GET", f"/planning/accuracy?months={HUGE}", None, "months"),
    ("pat", "GET", "/planning/accuracy?lags=100000", None, "lags"),
    ("pat", "GET", f"/planning/accuracy?lags={MANY_LAGS}", None, "lags"),
    ("pat", "POST", "/planning/families/PUMP/outliers", {"period": "0001-01", "accepted": True}, "period"),
    # --- pages of lists: per_page and page ------------------------------------------------------
    ("alice", "GET", f"/contacts?per_page={HUGE}", None, "per_page"),
    ("alice", "GET", f"/contacts?page={HUGE}", None, "page"),
    ("alice", "GET", f"/companies?per_page={HUGE}", None, "per_page"),
    ("alice", "GET", f"/deals?per_page={HUGE}", None, "per_page"),
    ("alice", "GET", f"/activities?per_page={HUGE}", None, "per_page"),
    ("alice", "GET", f"/product-families?per_page={HUGE}", None, "per_page"),
    ("alice", "GET", f"/templates?per_page={HUGE}", None, "per_page"),
    ("alice", "GET", f"/sequences?per_page={HUGE}", None, "per_page"),
    ("alice", "GET", f"/enrollments?per_page={HUGE}", None, "per_page"),
    ("alice", "GET", f"/outbox?per_page={HUGE}", None, "per_page"),
    ("alice", "GET", f"/meetings?per_page={HUGE}", None, "per_page"),
    ("alice", "GET", f"/scores?per_page={HUGE}", None, "per_page"),
    ("alice", "GET", f"/tracking/events?per_page={HUGE}", None, "per_page"),
    ("alice", "GET", f"/alerts?after={10**12}", None, "after"),
    # --- days and dates -------------------------------------------------------------------------
    ("alice", "GET", "/tracking/events?days=100000", None, "days"),
    ("alice", "GET", "/tracking/companies-visiting?days=100000", None, "days"),
    ("alice", "GET", f"/call-queue?date={FAR_FUTURE_DAY}", None, "date"),
    ("alice", "GET", f"/call-queue?date={FIRST_DAY}", None, "date"),
    ("alice", "POST", "/call-queue", {"date": FAR_FUTURE_DAY}, "date"),
    ("alice", "POST", "/call-queue", {"date": FIRST_DAY}, "date"),
    ("alice", "POST", "/time-blocks", _block(on_date="9999-12-31"), "on_date"),
    ("alice", "POST", "/time-blocks", _block(on_date=FIRST_DAY), "on_date"),
    ("alice", "POST", "/time-blocks", _block(valid_from=FIRST_DAY), "valid_from"),
    ("alice", "POST", "/time-blocks", _block(valid_until="9999-12-31"), "valid_until"),
    ("alice", "POST", "/calls", {"contact_id": "{contact}", "outcome": "callback",
                                 "callback_at": "9999-12-31T23:59:59+00:00"}, "callback_at"),
    ("alice", "POST", "/calls", {"contact_id": "{contact}", "outcome": "connected",
                                 "follow_up": {"title": "x", "due_at": FAR_FUTURE_MOMENT}}, "follow_up.due_at"),
    ("alice", "POST", "/outbox", {"contact_id": "{contact}", "subject": "s", "text_body": "b",
                                  "due_at": FAR_FUTURE_MOMENT}, "due_at"),
    ("alice", "POST", "/outbox", {"contact_id": "{contact}", "subject": "s", "text_body": "b",
                                  "due_at": FIRST_MOMENT}, "due_at"),
    ("alice", "POST", "/enrollments/holiday", {"user_id": "{alice}", "until": FAR_FUTURE_MOMENT}, "until"),
    ("alice", "POST", "/enrollments/holiday", {"user_id": "{alice}", "until": FIRST_MOMENT}, "until"),
    ("alice", "POST", "/deals", {"name": "d", "stage_id": "{stage}", "expected_close": FAR_FUTURE_DAY,
                                 "lines": []}, "expected_close"),
    ("alice", "POST", "/deals", {"name": "d", "stage_id": "{stage}", "expected_close": FIRST_DAY,
                                 "lines": []}, "expected_close"),
    ("alice", "PATCH", "/deals/{deal}", {"expected_close": FAR_FUTURE_DAY}, "expected_close"),
    ("alice", "POST", "/deals/{deal}/close", {"won": True, "closed_on": FAR_FUTURE_DAY}, "closed_on"),
    ("alice", "POST", "/deals/{deal}/close", {"won": True, "closed_on": FIRST_DAY}, "closed_on"),
    (None, "GET", f"/booking/{{slug}}/slots?start={FAR_FUTURE_DAY}", None, "start"),
    (None, "GET", f"/booking/{{slug}}/slots?start={FIRST_DAY}", None, "start"),
    (None, "GET", "/booking/{slug}/slots?days=100000", None, "days"),
    # --- counts ---------------------------------------------------------------------------------
    ("alice", "POST", "/enrollments/bulk", {"sequence_id": "{sequence}", "contact_ids": list(range(1, 2003))},
     "contact_ids"),
    ("alice", "POST", "/meeting-types", {"name": "x", "slug": "x-far", "duration_minutes": 30,
                                         "horizon_days": 100000}, "horizon_days"),
    ("alice", "POST", "/sequences/{sequence}/steps", {"kind": "call", "delay_days": 100000}, "delay_days"),
]


def _fill(value, ids):
    if isinstance(value, str):
        for key, id_ in ids.items():
            placeholder = "{" + key + "}"
            if value == placeholder:
                return id_
            value = value.replace(placeholder, str(id_))
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize("who, method, path, body, field", CASES,
                         ids=[f"{c[1]} {c[2][:70]} {c[4]}" for c in CASES])
def test_an_out_of_range_value_is_refused_before_any_work(client, api_token, world, stages, alice, pat,
                                                           who, method, path, body, field):
    ids = {**world, "stage": stages[0].id}
    headers = api_token({"alice": alice, "pat": pat}[who]) if who else {}
    response = client.open("/api/v1" + _fill(path, ids), method=method, headers=headers,
                           json=_fill(body, ids) if body is not None else None)
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    error = response.get_json()["error"]
    named = set(error["fields"]) | {key.split(".")[-1] for key in error["fields"]}
    assert field in named or field.split(".")[-1] in named, error


# --- pages ------------------------------------------------------------------------------------
# Pages keep their convention: a bad value in the query string gets a message and the default
# takes its place (200); a path naming no month of the plan is a 404; never a 500. Their bounds
# are the API's own (``crm.api.bounds.check_day``, ``planning_bridge.api_schemas``'
# ``as_of_in_range`` / ``period_in_range``), so a page and the API agree on what may be asked.

TOO_FAR_MONTH = "is too far from today"
OUT_OF_RANGE = "is out of range"

# (who, path, status, what the page says about the value: None when the default is silent)
PAGE_CASES = [
    ("alice", "/sequences/enrollments?page=99999999999", 200, None),
    ("alice", "/sequences/enroll-bulk?q=" + "x" * 5000, 200, None),
    ("alice", "/scoring/in-market?page=2147483647", 200, None),
    ("alice", "/contacts?page=2147483647", 200, None),
    ("alice", "/tracking/companies?days=100000", 200, None),
    ("alice", "/imports?page=-5", 200, None),
    ("alice", f"/meet/{{slug}}?start={FAR_FUTURE_DAY}", 200, None),
    ("alice", f"/meet/{{slug}}?start={FIRST_DAY}", 200, None),
    # the demand page and its drill-down: months as the API bounds them (2016-03 .. 2031-03: from
    # where history begins, at most 10 years back, to five years ahead; issue #23)
    ("pat", "/planning/?from=1900-01&to=1900-12", 200, f"1900-01 {TOO_FAR_MONTH}"),
    ("pat", "/planning/?from=2999-01", 200, f"2999-01 {TOO_FAR_MONTH}"),
    ("pat", "/planning/?to=2999-12", 200, f"2999-12 {TOO_FAR_MONTH}"),
    ("pat", "/planning/?from=2016-02", 200, f"2016-02 {TOO_FAR_MONTH}"),
    ("pat", "/planning/?from=2031-04", 200, f"2031-04 {TOO_FAR_MONTH}"),
    ("pat", "/planning/demand.csv?from=1900-01&to=1900-12", 200, None),
    ("pat", "/planning/snapshots?from=1900-01&to=2999-12", 200, None),
    ("pat", "/planning/demand/PUMP/1900-01", 404, None),
    ("pat", "/planning/demand/PUMP/2999-12", 404, None),
    ("pat", "/planning/demand/PUMP/2031-04", 404, None),
    ("pat", "/planning/demand/PUMP/2026-04?from=1900-01&to=2999-12", 200, None),
    # the calibration page: as_of from where history begins (at most 10 years back) to today
    ("pat", f"/planning/calibration?as_of={FAR_FUTURE_DAY}", 200, f"{FAR_FUTURE_DAY} {OUT_OF_RANGE}"),
    ("pat", f"/planning/calibration?as_of={FIRST_DAY}", 200, f"{FIRST_DAY} {OUT_OF_RANGE}"),
    ("pat", "/planning/calibration?as_of=2026-03-11", 200, f"2026-03-11 {OUT_OF_RANGE}"),  # tomorrow
    ("pat", "/planning/calibration?as_of=2016-03-09", 200, f"2016-03-09 {OUT_OF_RANGE}"),  # 10 years and a day
    # the calls calendar and plan: ?date= within 20 years of today, as the call queue's API
    ("alice", "/calls/calendar?date=9999-12-31", 200, f"9999-12-31 {OUT_OF_RANGE}"),
    ("alice", f"/calls/calendar?date={FIRST_DAY}", 200, f"{FIRST_DAY} {OUT_OF_RANGE}"),
    ("alice", "/calls/calendar?date=9999-12-31&view=day", 200, f"9999-12-31 {OUT_OF_RANGE}"),
    ("alice", "/calls/calendar?date=2046-03-11", 200, f"2046-03-11 {OUT_OF_RANGE}"),
    ("alice", "/calls/plan?date=9999-12-31", 200, f"9999-12-31 {OUT_OF_RANGE}"),
    ("alice", f"/calls/plan?date={FIRST_DAY}", 200, f"{FIRST_DAY} {OUT_OF_RANGE}"),
    ("alice", f"/calls/plan?date={FIRST_DAY}&period=day", 200, f"{FIRST_DAY} {OUT_OF_RANGE}"),
    ("alice", "/calls/plan?date=2006-03-09", 200, f"2006-03-09 {OUT_OF_RANGE}"),
]


@pytest.mark.parametrize("who, path, status, shown", PAGE_CASES, ids=[c[1][:70] for c in PAGE_CASES])
def test_pages_never_fail_on_an_extreme_value(client, login, world, alice, pat, families, who, path, status,
                                              shown):
    login(client, {"alice": alice, "pat": pat}[who])
    response = client.get(_fill(path, world))
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if shown is not None:
        assert shown in response.get_data(as_text=True)


@pytest.mark.parametrize("who, path, absent", [
    ("pat", "/planning/?from=2016-03&to=2016-12", TOO_FAR_MONTH),
    ("pat", "/planning/?from=2031-03", TOO_FAR_MONTH),
    ("pat", "/planning/demand/PUMP/2031-03", None),
    ("pat", "/planning/calibration?as_of=2016-03-10", OUT_OF_RANGE),
    ("pat", "/planning/calibration?as_of=2026-03-10", OUT_OF_RANGE),
    ("alice", "/calls/calendar?date=2046-03-10", OUT_OF_RANGE),
    ("alice", "/calls/plan?date=2006-03-10&period=day", OUT_OF_RANGE),
])
def test_the_ends_of_each_page_range_are_still_shown(client, login, alice, pat, families, who, path, absent):
    login(client, {"alice": alice, "pat": pat}[who])
    response = client.get(path)
    assert response.status_code == 200
    if absent is not None:
        assert absent not in response.get_data(as_text=True)


def test_the_calendar_shows_the_last_day_of_the_range_and_today_past_it(client, login, alice):
    login(client, alice)
    assert "day of Mar 10, 2046" in client.get("/calls/calendar?date=2046-03-10&view=day").get_data(as_text=True)
    past = client.get("/calls/calendar?date=2046-03-11&view=day").get_data(as_text=True)
    assert "day of Mar 10, 2026" in past and "2046-03-11 is out of range" in past


@pytest.mark.parametrize("dates", [
    {"kind": "one_off", "on_date": "9999-12-31"},
    {"kind": "one_off", "on_date": FIRST_DAY},
    {"kind": "recurring", "weekdays": ["0"], "valid_from": FIRST_DAY},
    {"kind": "recurring", "weekdays": ["0"], "valid_until": "9999-12-31"},
])
def test_the_blocks_page_refuses_days_the_api_refuses(client, login, alice, dates):
    from crm.calls.models import TimeBlock
    from tests.conftest import csrf_from

    login(client, alice)
    token = csrf_from(client.get("/calls/blocks").get_data(as_text=True))
    response = client.post("/calls/blocks", data={"csrf_token": token, "title": "Calls", "start_time": "09:00",
                                                  "end_time": "10:00", **dates})
    assert response.status_code == 422
    assert "must be between 2006-03-10 and 2046-03-10" in response.get_data(as_text=True)
    assert db.session.query(TimeBlock).count() == 0


def test_a_snapshot_of_months_the_api_refuses_is_not_taken(client, login, pat, families):
    from planning_bridge.models import Snapshot
    from tests.conftest import csrf_from

    login(client, pat)
    token = csrf_from(client.get("/planning/snapshots").get_data(as_text=True))
    response = client.post("/planning/snapshots", data={"csrf_token": token, "from": "1900-01", "to": "1900-12",
                                                        "probabilities": "stage"})
    assert response.status_code == 302
    assert f"1900-01 {TOO_FAR_MONTH}" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.query(Snapshot).count() == 0


@pytest.mark.parametrize("path", [
    "/planning/calibration?as_of=2026-03-10", "/planning/calibration?as_of=2016-03-10",
    "/planning/demand-input?from=2016-03&to=2016-12&as_of=2016-03-10",
    "/planning/demand-input?from=2031-01&to=2031-03",
    "/planning/actuals?from=2016-03&to=2031-03",
])
def test_the_ends_of_each_range_are_still_answered(client, api_token, pat, families, path):
    assert client.get("/api/v1" + path, headers=api_token(pat)).status_code == 200
