"""Pages: My day, the working page, blocks, scripts, plan vs actual; the queue
page's query count does not grow with the queue."""
from __future__ import annotations

from datetime import date, time, timedelta, timezone

import pytest

from crm.calls.models import CallScript, TimeBlock
from crm.calls.outcomes import log_call
from crm.calls.plan import plan_vs_actual
from crm.calls.queue import build_queue
from crm.contacts.timeline import record_activity
from crm.extensions import db
from tests.conftest import csrf_from
from tests.crm.calls.conftest import NY_8AM

UTC = timezone.utc
TODAY_NY = NY_8AM + timedelta(hours=1)  # 09:00 in New York, inside the block


@pytest.fixture
def frozen(clock):
    clock.freeze(TODAY_NY)


def _queue_page_queries(client, count_queries):
    with count_queries() as counter:
        response = client.get("/calls")
    assert response.status_code == 200
    return counter.count, response.get_data(as_text=True)


def test_queue_page_query_count_does_not_grow_with_the_queue(client, login, ny_rep, callee, count_queries, frozen,
                                                             make_company):
    login(client, ny_rep)
    company = make_company()
    for _ in range(2):
        callee(company_id=company.id)
    build_queue(ny_rep, NY_8AM)
    db.session.commit()
    small, html = _queue_page_queries(client, count_queries)
    assert html.count('data-entry-id="') == 2
    for _ in range(12):
        callee(company_id=make_company().id)
    build_queue(ny_rep, NY_8AM)
    db.session.commit()
    large, html = _queue_page_queries(client, count_queries)
    assert html.count('data-entry-id="') == 14
    assert large == small


def test_my_day_shows_reasons_blocks_and_held_entries(client, login, ny_rep, callee, frozen):
    tokyo = callee("Asia/Tokyo", first_name="Kenji", last_name="Sato")
    build_queue(ny_rep, NY_8AM)
    db.session.commit()
    login(client, ny_rep)
    html = client.get("/calls").get_data(as_text=True)
    assert "Prospecting 9:00 AM–10:30 AM" in html and "18 calls left at 12 an hour" in html  # en-US clock
    assert "Kenji Sato" in html and "held until 8:00 PM" in html
    assert tokyo.id


def test_a_manager_sees_a_team_reps_day_but_a_rep_does_not(client, login, ny_rep, bob, mallory, frozen):
    login(client, bob)
    assert client.get(f"/calls?user_id={ny_rep.id}").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/calls").get_data(as_text=True))})
    login(client, mallory)
    response = client.get(f"/calls?user_id={ny_rep.id}")
    assert response.status_code == 200 and "Alice Rep's day" in response.get_data(as_text=True)


def test_the_working_page_logs_and_moves_to_the_next(client, login, ny_rep, callee, frozen, make_company):
    acme = make_company(name="Acme Pumps")
    first = callee(first_name="Grace", last_name="Hopper", company_id=acme.id,
                   linkedin_url="https://www.linkedin.com/in/grace")
    second = callee(first_name="Alan", last_name="Turing")
    record_activity("email_opened", NY_8AM - timedelta(days=1), contact_id=first.id,
                    details={"subject": "Pricing follow-up"})
    db.session.add(CallScript(name="Opener", body="Hi there",
                              objections=[{"objection": "No budget", "answer": "When?"}]))
    db.session.commit()
    entries = build_queue(ny_rep, NY_8AM)
    db.session.commit()
    login(client, ny_rep)
    start = client.get("/calls/work")
    assert start.status_code == 302
    page = client.get(start.headers["Location"])
    html = page.get_data(as_text=True)
    name = entries[0].contact.full_name
    assert name in html and 'href="tel:+12125550100"' in html
    assert "No budget" in html and "data-key=\"c\"" in html
    assert "Content-Security-Policy" in page.headers and "<script>" not in html
    entry_id = entries[0].id
    done = client.post(f"/calls/work/{entry_id}/log", data={"csrf_token": csrf_from(html), "outcome": "connected",
                                                             "notes": "Quote next week", "duration_seconds": "95"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/calls/work")
    nxt = client.get("/calls/work")
    assert nxt.headers["Location"].endswith(f"/calls/work/{entries[1].id}")
    assert {first.id, second.id} == {e.contact_id for e in entries}


def test_dialer_template(app, client, login, ny_rep, callee, frozen):
    callee()
    entry = build_queue(ny_rep, NY_8AM)[0]
    db.session.commit()
    app.config["CALL_DIALER_URL_TEMPLATE"] = "https://dialer.example.com/call?to={phone}"
    try:
        login(client, ny_rep)
        html = client.get(f"/calls/work/{entry.id}").get_data(as_text=True)
        assert 'href="https://dialer.example.com/call?to=+1%20212%20555%200100"' in html
    finally:
        app.config["CALL_DIALER_URL_TEMPLATE"] = ""


def test_blocks_page_creates_a_block(client, login, alice):
    login(client, alice)
    html = client.get("/calls/blocks").get_data(as_text=True)
    response = client.post("/calls/blocks", data={"csrf_token": csrf_from(html), "title": "Calls", "kind": "recurring",
                                                  "weekdays": ["0", "1", "2", "3", "4"], "start_time": "09:00",
                                                  "end_time": "10:30"})
    assert response.status_code == 302
    block = db.session.query(TimeBlock).one()
    assert (block.weekdays, block.start_time, block.end_time) == ("01234", time(9), time(10, 30))
    bad = client.post("/calls/blocks", data={"csrf_token": csrf_from(html), "kind": "recurring", "weekdays": ["0"],
                                             "start_time": "11:00", "end_time": "10:00"})
    assert bad.status_code == 422


def test_scripts_are_edited_by_managers_only(client, login, alice, mallory):
    login(client, alice)
    assert client.get("/calls/scripts/new").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/calls/scripts").get_data(as_text=True))})
    login(client, mallory)
    html = client.get("/calls/scripts/new").get_data(as_text=True)
    response = client.post("/calls/scripts/new", data={
        "csrf_token": csrf_from(html), "name": "Opener", "body": "Hello",
        "objections": "We have a supplier | What would you change?\nNo time | Two minutes?"})
    assert response.status_code == 302
    script = db.session.query(CallScript).one()
    assert script.objections == [{"objection": "We have a supplier", "answer": "What would you change?"},
                                 {"objection": "No time", "answer": "Two minutes?"}]


def test_plan_vs_actual_counts_calls_inside_and_outside_blocks(ny_rep, callee, client, login, mallory):
    contact = callee()
    for minutes, outcome in ((70, "connected"), (80, "no_answer"), (95, "meeting_booked"), (400, "voicemail")):
        log_call(ny_rep, contact_id=contact.id, outcome=outcome, now=NY_8AM + timedelta(minutes=minutes))
    db.session.commit()
    day = plan_vs_actual(ny_rep, date(2026, 3, 10))
    assert (day.blocked_minutes, day.calls_in_blocks, day.calls_outside_blocks, day.connects, day.meetings_booked) == (
        90, 3, 1, 2, 1)
    week = plan_vs_actual(ny_rep, date(2026, 3, 9), days=7)
    assert week.blocked_minutes == 5 * 90 and week.calls == 4
    login(client, mallory)
    html = client.get("/calls/plan?period=week&date=2026-03-10").get_data(as_text=True)
    assert f'data-user-id="{ny_rep.id}"' in html and "7.5" in html


def test_poll_lets_live_intent_join(client, login, ny_rep, callee, live_intent, frozen):
    calm, hot = callee(), callee(first_name="Hot", last_name="Lead")
    build_queue(ny_rep, NY_8AM)
    db.session.commit()
    live_intent(hot.id, TODAY_NY - timedelta(minutes=1))
    login(client, ny_rep)
    body = client.get("/calls/poll").get_json()
    assert body["joined"] == 1 and body["live"][0]["name"] == "Hot Lead" and body["live"][0]["position"] == 1
    assert calm.id


def test_contact_page_panel_shows_calls_and_open_callbacks(client, login, ny_rep, callee):
    contact = callee()
    log_call(ny_rep, contact_id=contact.id, outcome="callback", now=TODAY_NY,
             callback_at=TODAY_NY + timedelta(days=1), duration_seconds=125)
    db.session.commit()
    login(client, ny_rep)
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert 'id="calls-panel"' in html and "Call back later" in html and "2m 05s" in html
    assert "Call back " + contact.full_name in html


def test_my_day_shows_the_queue_before_the_job_built_it_and_start_calling_builds_it(client, login, ny_rep,
                                                                                      callee, frozen):
    """Issue 13: opening My day (a GET) writes nothing; "Start calling" (a POST) builds the
    queue the page showed, once a day, and goes on to the first call."""
    from crm.calls.models import CallQueueEntry, CallSettings

    callee(first_name="Early", last_name="Bird")
    login(client, ny_rep)
    html = client.get("/calls").get_data(as_text=True)
    assert "Early Bird" in html
    assert db.session.get(CallSettings, ny_rep.id) is None and db.session.query(CallQueueEntry).count() == 0
    started = client.post("/calls/queue/build", data={"csrf_token": csrf_from(html), "then": "work"})
    assert started.status_code == 302 and started.headers["Location"].endswith("/calls/work")
    assert db.session.get(CallSettings, ny_rep.id).queue_built_on == date(2026, 3, 10)
    assert "Early Bird" in client.get("/calls").get_data(as_text=True)
