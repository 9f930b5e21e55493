"""HEAD never changes anything (issue 24). Link checkers, mail scanners and previews send HEAD
to every link they see; Flask answers HEAD with the GET view, so a GET view that writes would
write for them too (``/u/<token>`` once unsubscribed on HEAD).

The test builds a small world with real tokens (an unsubscribe link, tracking pixel and click
links of a sent email, a meeting's manage link, the booking page, the rep's calendar feed),
then sends HEAD to EVERY rule of ``app.url_map`` (each argument filled with a real value where
one exists), anonymously, with a rep's session, an admin's session and a rep's API token, and
checks that no row of any table changed (a checksum of every table's rows; the rate limiter's
counters excepted, see ``NOT_DATA``)."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from crm.extensions import db, limiter
from crm.timeutil import utcnow
from tests.conftest import NOW

# Rules that never answer HEAD by design are still walked (a 405 changes nothing); nothing is
# skipped.


# The rate limiter's counters (in the database on PostgreSQL) count HEAD requests by design: a
# flood of HEAD is limited like a flood of GET. They are request accounting, not data.
NOT_DATA = {"rate_limit_counters"}


def table_checksums() -> dict[str, str]:
    """A digest of every row of every table (the session's view, fresh)."""
    db.session.rollback()
    sums = {}
    for table in db.metadata.sorted_tables:
        if table.name in NOT_DATA:
            continue
        rows = db.session.execute(select(table)).all()
        digest = hashlib.sha256()
        for row in sorted(repr(tuple(r)) for r in rows):
            digest.update(row.encode())
        sums[table.name] = f"{len(rows)}:{digest.hexdigest()[:16]}"
    db.session.rollback()
    return sums


@pytest.fixture
def world(app, client, alice, admin, mallory, make_contact, make_deal, families, smtp_sink):
    """Real objects and tokens for the walk; committed. Mailbox limits off for this fixture."""
    from crm.calls.settings import settings_for
    from crm.mail.models import mailbox_for
    from crm.mail.outbound.outbox import enqueue_email
    from crm.mail.outbound.sender import send_due
    from crm.meetings.services import create_meeting_type
    from crm.sequences import library
    from crm.sequences.services import enroll_contact, run_due_steps
    from crm.tracking.services import insert_links  # noqa: F401  (tracking runs through the tick)

    mailbox = mailbox_for(alice)
    mailbox.daily_cap = mailbox.min_gap_seconds = 0
    contact = make_contact(email="dana@globex-industries.com", owner_id=alice.id, actor=alice)
    deal = make_deal()
    sequence = library.create_sequence(alice, {"name": "Walk"}, NOW)
    step = library.add_step(alice, sequence.id, {"kind": "auto_email", "subject": "Hi", "text_body": "Hi"}, NOW)
    template = library.create_template(alice, {"name": "T", "subject": "S", "text_body": "B"}, NOW)
    enrollment = enroll_contact(alice, sequence.id, make_contact(owner_id=alice.id, actor=alice).id, NOW)
    run_due_steps(NOW)
    email = enqueue_email(sender=alice, contact=contact, to_address=contact.email, subject="Hello",
                          text_body="Hello", html_body='<p>Hi <a href="https://acme-sales.com/offer">offer</a></p>',
                          due_at=NOW, now=NOW)
    weekly = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(7)]
    meeting_type = create_meeting_type(alice, {
        "name": "Intro", "slug": "walk-intro", "duration_minutes": 30, "time_zone": "UTC", "weekly_hours": weekly,
        "min_notice_hours": 0, "horizon_days": 30, "increment_minutes": 30}, NOW)
    feed_token = settings_for(alice).feed_token
    db.session.commit()
    send_due(NOW)
    [mail] = [m for m in smtp_sink.wait_for(2) if m.rcpt_tos == [contact.email]]
    raw = mail.message.get_body(("html",)).get_content()
    opened = re.search(r'/t/o/([^"]+)\.gif', raw).group(1)
    clicked = re.search(r'/t/c/([^"]+)"', raw).group(1)
    unsubscribe = re.search(r'/u/([^"]+)"', raw).group(1)
    slots = client.get(f"/api/v1/booking/{meeting_type.slug}/slots?days=7&tz=UTC").get_json()["slots"]
    booked = client.post(f"/api/v1/booking/{meeting_type.slug}", json={
        "start": slots[0], "name": "Grace Hopper", "email": "grace@acmepumps.com", "tz": "UTC"}).get_json()
    manage = booked["manage_url"].rsplit("/", 1)[-1]
    send_due(utcnow() + timedelta(minutes=1))  # the invites
    db.session.commit()
    family = families[0]
    return {
        "values": {
            "contact_id": contact.id, "company_id": contact.company_id or 1, "deal_id": deal.id,
            "sequence_id": sequence.id, "step_id": step.id, "template_id": template.id,
            "enrollment_id": enrollment.id, "email_id": email.id, "outbound_email_id": email.id,
            "meeting_type_id": meeting_type.id, "meeting_id": booked["meeting_id"], "user_id": alice.id,
            "slug": meeting_type.slug, "filename": "app.css", "code": family.code, "family": family.code,
            "period": NOW.strftime("%Y-%m"),
        },
        "tokens": {"/u/": unsubscribe, "/t/o/": opened, "/t/c/": clicked, "/meet/m/": manage,
                   "/calls/feed/": feed_token},
        "extra": [f"/meet/{meeting_type.slug}/book?start={slots[1]}&tz=UTC",
                  f"/meet/{meeting_type.slug}?tz=UTC", f"/meet/m/{manage}/reschedule?tz=UTC",
                  f"/t/c/{clicked}?u=https://acme-sales.com/offer"],
    }


def urls(app, world) -> list[str]:
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        values = {}
        for argument in rule.arguments:
            if argument == "token":
                prefix = next((p for p in world["tokens"] if rule.rule.startswith(p)), None)
                values[argument] = world["tokens"][prefix] if prefix else "not-a-token"
            else:
                value = world["values"].get(argument, 1)
                values[argument] = value
        with app.test_request_context():
            try:
                found.append(app.url_for(rule.endpoint, **values, _method=None))
            except Exception:  # noqa: BLE001 - a converter refusing our value: build by hand
                path = rule.rule
                for key, value in values.items():
                    path = re.sub(rf"<(?:[^:>]+:)?{key}>", str(value), path)
                found.append(path)
    assert len(found) == len(list(app.url_map.iter_rules()))  # one URL for every rule, none skipped
    return sorted(set(found)) + world["extra"]


def _sessions(client, login, alice, admin, api_token):
    def anonymous():
        client.delete_cookie("session")
        return {}

    def as_rep():
        anonymous()
        login(client, alice)
        return {}

    def as_admin():
        anonymous()
        login(client, admin)
        return {}

    def with_token():
        anonymous()
        return api_token(alice)

    return {"anonymous": anonymous, "rep": as_rep, "admin": as_admin, "api": with_token}


def test_head_on_every_route_changes_nothing(app, client, login, alice, admin, api_token, world):
    walked = urls(app, world)
    changed, statuses = [], {}
    for name, start in _sessions(client, login, alice, admin, api_token).items():
        headers = start()
        limiter.reset()
        before = table_checksums()
        for url in walked:
            response = client.open(url, method="HEAD", headers=headers)
            statuses[(name, url)] = response.status_code
            assert response.status_code < 500, (name, url, response.status_code)
            assert response.get_data() == b"", (name, url)
            response.close()  # a file response (static) holds its file until closed
            after = table_checksums()
            if after != before:
                changed.append((name, url, sorted(t for t in after if after[t] != before[t])))
                before = after
    assert changed == [], "\n".join(map(str, changed))
    # The walk reached the pages behind the real tokens, not only their 404s.
    tokens = world["tokens"]
    for url in (f"/u/{tokens['/u/']}", f"/meet/m/{tokens['/meet/m/']}", f"/calls/feed/{tokens['/calls/feed/']}.ics",
                f"/t/o/{tokens['/t/o/']}.gif"):
        assert statuses[("anonymous", url)] == 200, (url, statuses[("anonymous", url)])
    assert statuses[("anonymous", f"/t/c/{tokens['/t/c/']}")] == 302
    assert statuses[("rep", "/outbox")] == 200 and statuses[("admin", "/admin/users")] == 200


def test_get_still_does_what_get_does(app, client, world):
    """The counterpart: the GETs that record something still do (a tracking pixel's open),
    and the unsubscribe GET shows its confirmation without unsubscribing."""
    from crm.contacts.models import Contact

    before = table_checksums()
    response = client.get(f"/u/{world['tokens']['/u/']}")
    assert response.status_code == 200 and b"Unsubscribe" in response.data
    assert table_checksums() == before
    assert db.session.get(Contact, world["values"]["contact_id"]).unsubscribed is False
    count = db.session.execute(text("SELECT COUNT(*) FROM tracking_events")).scalar() \
        if "tracking_events" in db.metadata.tables else None
    client.get(f"/t/o/{world['tokens']['/t/o/']}.gif")
    if count is not None:
        assert db.session.execute(text("SELECT COUNT(*) FROM tracking_events")).scalar() == count + 1
