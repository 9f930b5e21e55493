"""The send tick's fast path: the per-message mark (its own connection, settled before the
next message is accepted), the batched record of side effects, the prebuilt batch, the MIME
writer (byte for byte what the email package writes), and the ``MAIL_ASYNC_COMMIT`` knob."""
from __future__ import annotations

import threading
import time
from email import charset as email_charset
from email import message_from_bytes
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, text, update

from crm.contacts.models import Activity
from crm.extensions import db
from crm.mail.models import OutboundEmail, mailbox_for
from crm.mail.outbound import sender
from crm.mail.outbound.compose import WIRE_POLICY, _qp, build_wire, write_mime
from crm.mail.outbound.sender import record_sent, send_due
from crm.tracking.models import TrackingLink
from tests.conftest import NOW


def _reload(email):
    return db.session.get(OutboundEmail, email.id, populate_existing=True)


@pytest.fixture
def statements(app):
    """Every SQL statement the engine runs while the test does."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_mark_sent_changes_only_the_outcome_columns_and_writes_one_activity(
        app, smtp_sink, queue, alice, make_contact, make_company):
    company = make_company(name="Globex", domain="globex-industries.com")
    contact = make_contact(email="dana@globex-industries.com", company_id=company.id)
    email = queue(alice, contact, html_body="<p>Hi <a href=\"https://example.org/a\">a</a></p>")
    before = {c.key: getattr(email, c.key) for c in OutboundEmail.__table__.columns}

    assert send_due(NOW).sent == 1

    smtp_sink.wait_for(1)
    after = {c.key: getattr(_reload(email), c.key) for c in OutboundEmail.__table__.columns}
    changed = {key for key in after if after[key] != before[key]}
    assert changed == {"status", "sent_at", "attempts", "claimed_at", "claimed_by", "recorded_at"}
    assert (after["status"], after["sent_at"], after["attempts"], after["last_error"]) == ("sent", NOW, 1, None)
    [activity] = db.session.scalars(select(Activity).where(Activity.kind == "email_sent")).all()
    assert (activity.contact_id, activity.company_id, activity.user_id) == (contact.id, company.id, alice.id)
    assert activity.occurred_at == NOW and activity.created_at == NOW
    assert activity.details == {"outbound_email_id": email.id, "subject": "Quick question",
                                "message_id": email.message_id, "to": "dana@globex-industries.com",
                                "kind": "sequence", "enrollment_id": None, "step_id": None}


def test_tracking_links_of_a_sent_message_are_stored(app, smtp_sink, queue, alice, make_contact):
    """The batch is built before sending: the links each sent message carries must exist."""
    emails = [queue(alice, make_contact(), html_body='<p><a href="https://example.org/x">x</a></p>')
              for _ in range(3)]
    assert send_due(NOW).sent == 3
    for received in smtp_sink.wait_for(3):
        html = received.message.get_body(("html",)).get_content()
        token = html.split("/t/c/")[1].split('"')[0]
        link = db.session.scalar(select(TrackingLink).where(TrackingLink.token == token))
        assert (link.url if link else None) == "https://example.org/x"
        assert link.outbound_email_id in {e.id for e in emails}


def test_sending_more_messages_costs_no_more_sqlalchemy_statements(app, smtp_sink, queue, alice, make_contact,
                                                                   statements):
    """Per message, only the mark runs (straight through the driver, on its own connection):
    no per-message SELECT of the row, the contact or the mailbox, no per-message activity or
    enrollment write. A tick of 6 messages runs exactly the statements a tick of 2 does."""
    counts = []
    for size in (2, 6):
        emails = [queue(alice, make_contact(), html_body="<p>hi</p>") for _ in range(size)]
        statements.clear()
        assert send_due(NOW).sent == size
        counts.append(len(statements))
        assert {_reload(e).status for e in emails} == {"sent"}
        assert {_reload(e).recorded_at for e in emails} == {NOW}
    assert counts[0] == counts[1]
    assert len(db.session.scalars(select(Activity).where(Activity.kind == "email_sent")).all()) == 8


@pytest.mark.parametrize("async_commit", [False, True])
def test_async_commit_knob_only_touches_the_mark_on_postgresql(
        app, smtp_sink, queue, alice, make_contact, statements, async_commit, monkeypatch):
    app.config["MAIL_ASYNC_COMMIT"] = async_commit
    postgres = db.engine.dialect.name == "postgresql"
    real, seen_setting = sender.Marks._write, []

    def write(self, params):  # what the marks' own connection runs with
        if postgres:
            seen_setting.append(self._driver.execute("SHOW synchronous_commit").fetchone()[0])
        real(self, params)

    monkeypatch.setattr(sender.Marks, "_write", write)
    try:
        emails = [queue(alice, make_contact()) for _ in range(3)]
        statements.clear()
        assert send_due(NOW).sent == 3
    finally:
        app.config["MAIL_ASYNC_COMMIT"] = False
    assert len(smtp_sink.wait_for(3)) == 3
    assert {_reload(e).status for e in emails} == {"sent"}
    assert seen_setting == (["off"] * 3 if async_commit and postgres else ["on"] * 3 if postgres else [])
    switches = [s for s in statements if "synchronous_commit" in s]
    postgres = db.engine.dialect.name == "postgresql"
    # Once on the marks' own connection, and reset before it goes back to the pool.
    assert switches == (["SET synchronous_commit = off", "RESET synchronous_commit"]
                        if async_commit and postgres else [])


# --- the wire form ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, value", [
    ("Subject", "Quick question"),
    ("Message-ID", "<0123456789abcdef0123456789abcdef@acme-sales.com>"),
    ("Date", "Wed, 25 Nov 2026 13:00:00 +0000"),
    ("X-Exactly-78", "y" * (78 - len("X-Exactly-78: "))),
])
def test_wire_policy_writes_short_ascii_headers_as_compat32_would(name, value):
    expected = compat32.clone(linesep="\r\n").fold_binary(name, value)
    assert WIRE_POLICY.fold_binary(name, value) == expected


@pytest.mark.parametrize("value", [
    "z" * 200,                                    # folded
    "Réunion de suivi",                           # encoded
    Header("Grüße aus München", "utf-8"),         # a Header object
    " leading space",
])
def test_wire_policy_leaves_other_headers_to_compat32(value):
    expected = compat32.clone(linesep="\r\n").fold_binary("Subject", value)
    assert WIRE_POLICY.fold_binary("Subject", value) == expected


def test_boundary_cannot_collide_with_a_quoted_printable_body(app, queue, alice, make_contact):
    contact = make_contact()
    mailbox = mailbox_for(alice)
    mailbox.display_name = "Alice Müller"
    db.session.commit()
    tricky = "--=_0123\n--=_0123--\n=_ line\n"
    email = queue(alice, contact, subject="Grüße, a long subject " + "x" * 90, text_body=tricky,
                  html_body=f"<html><body><pre>{tricky}</pre></body></html>")
    wire = build_wire(email, mailbox, NOW)
    parsed = message_from_bytes(wire)
    boundary = parsed.get_boundary()
    assert boundary.startswith("=_")
    assert wire.count(f"--{boundary}".encode()) == 3  # two parts and the closing delimiter
    text, html = parsed.get_payload()
    assert text.get_payload(decode=True).decode().replace("\r\n", "\n").startswith(tricky)
    assert tricky in html.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert str(Header(parsed["Subject"])).startswith("=?utf-8?")  # encoded, not raw 8-bit
    assert all(len(line) <= 998 for line in wire.split(b"\r\n"))
    assert b"\n" not in wire.replace(b"\r\n", b"")


def test_quoted_printable_never_writes_equals_underscore():
    assert "=_" not in _qp("a=_b ==_ =\n" * 50 + "é" * 100)


# The MIME writer against the email package: the same bytes as compat32's generator writes
# for the same message built with the MIME classes (the way the outbox built it before).
_UTF8_QP = email_charset.Charset("utf-8")
_UTF8_QP.body_encoding = email_charset.QP


def _library_bytes(headers, text, html, boundary):
    if html is None:
        message = MIMEText(text, "plain", _UTF8_QP)
    else:
        message = MIMEMultipart("alternative", boundary=boundary)
        message.attach(MIMEText(text, "plain", _UTF8_QP))
        message.attach(MIMEText(html, "html", _UTF8_QP))
    for name, value in headers:
        message[name] = value
    return message.as_bytes(policy=compat32.clone(linesep="\r\n"))


_bodies = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=400)
_header_values = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=120).map(str.strip)
    .filter(bool),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60)
    .map(lambda v: Header(v, "utf-8")),
)


@settings(max_examples=150, deadline=None)
@given(text=_bodies, html=st.one_of(st.none(), _bodies), subject=_header_values)
def test_write_mime_writes_what_the_email_package_writes(text, html, subject):
    headers = [("From", "Rita Reyes <rita@acme-sales.com>"), ("To", "dana@globex-industries.com"),
               ("Subject", subject), ("Date", "Wed, 25 Nov 2026 13:00:00 +0000"),
               ("Message-ID", "<0123456789abcdef@acme-sales.com>")]
    boundary = "=_0123456789abcdef0123456789abcdef"
    html = html or None
    assert write_mime(headers, text, html, boundary=boundary if html else None) == \
        _library_bytes(headers, text, html, boundary)


def test_long_list_unsubscribe_is_folded_after_the_comma_and_reads_back_whole():
    value = ("<https://crm.acme-sales.com/u/" + "t" * 60 + ">, <mailto:unsubscribe+" + "t" * 60
             + "@acme-sales.com?subject=unsubscribe>")
    wire = write_mime([("List-Unsubscribe", value)], "hi\n", None, boundary=None)
    head = wire.split(b"\r\n\r\n")[0]
    assert b"List-Unsubscribe: <https://crm.acme-sales.com/u/" + b"t" * 60 + b">,\r\n <mailto:" in head
    assert message_from_bytes(wire)["List-Unsubscribe"].replace("\r\n", "") == value


# --- the mark's window and the batched record -------------------------------------------------

def test_a_failed_mark_stops_the_batch_before_the_next_message_leaves(
        app, smtp_sink, queue, alice, make_contact, monkeypatch):
    """The one-message window: message N+1 is not accepted unless N's mark is committed.
    When that mark cannot be written the tick fails loudly; N stays 'sending' (the one
    possible duplicate, after the claim timeout), the rest stays claimed and unsent."""
    emails = [queue(alice, make_contact()) for _ in range(3)]

    def fail_on_first(self, params):
        raise RuntimeError("database went away")

    monkeypatch.setattr(sender.Marks, "_write", fail_on_first)
    with pytest.raises(sender.MarkFailed, match="database went away"):
        send_due(NOW)
    received = smtp_sink.wait_for(1)
    assert [r.rcpt_tos for r in received] == [[emails[0].to_address]]
    assert len(smtp_sink.messages) == 1  # message 2 was never accepted (the tick is over)
    assert {_reload(e).status for e in emails} == {"sending"}
    assert db.session.scalar(select(Activity).where(Activity.kind == "email_sent")) is None


def _lock_row(engine, email_id: int):
    """Another connection holding ``FOR UPDATE`` on that outbox row, so a mark on it waits."""
    connection = engine.connect()
    connection.begin()
    connection.execute(select(OutboundEmail.id).where(OutboundEmail.id == email_id).with_for_update())
    return connection


def _release(lockers: list) -> None:
    for connection in lockers:
        connection.rollback()
        connection.close()


def test_a_mark_lost_on_the_database_server_drops_the_next_message_inside_data(
        app, smtp_sink, queue, alice, make_contact, monkeypatch):
    """PostgreSQL sends the mark without waiting and reads its outcome when message N+1 has
    reached the server's 354. Here mark N never commits (another transaction holds the row,
    then the mark's backend is terminated): N+1's content must never be completed, so the
    server discards it, and the tick fails loudly."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the mark is sent without waiting on PostgreSQL only; SQLite commits it in place")
    emails = [queue(alice, make_contact()) for _ in range(3)]
    engine, real, lockers = db.engine, sender.Marks._write, []

    def lose_the_first_mark(self, params):
        if params["email_id"] == emails[0].id:  # claimed by now: hold its row so the mark waits
            lockers.append(_lock_row(engine, emails[0].id))
        real(self, params)
        if params["email_id"] == emails[0].id:
            with engine.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": self._driver.pgconn.backend_pid})

    monkeypatch.setattr(sender.Marks, "_write", lose_the_first_mark)
    try:
        with pytest.raises(sender.MarkFailed, match="terminat"):
            send_due(NOW)
    finally:
        _release(lockers)
    assert [r.rcpt_tos for r in smtp_sink.wait_for(1)] == [[emails[0].to_address]]
    assert len(smtp_sink.messages) == 1
    assert {_reload(e).status for e in emails} == {"sending"}


def test_record_catches_up_what_a_crashed_worker_marked_but_did_not_record(
        app, smtp_sink, queue, alice, make_contact, monkeypatch):
    emails = [queue(alice, make_contact()) for _ in range(2)]
    monkeypatch.setattr(sender, "record_sent", lambda ids=None, **kw: 0)  # the worker dies before it
    assert send_due(NOW).sent == 2
    monkeypatch.undo()
    assert {_reload(e).status for e in emails} == {"sent"}
    assert {_reload(e).recorded_at for e in emails} == {None}
    assert db.session.scalar(select(Activity).where(Activity.kind == "email_sent")) is None

    send_due(NOW)  # the next tick, any worker: records first

    activities = db.session.scalars(select(Activity).where(Activity.kind == "email_sent")).all()
    assert sorted(a.details["outbound_email_id"] for a in activities) == sorted(e.id for e in emails)
    assert {_reload(e).recorded_at for e in emails} == {NOW}
    assert mailbox_for(alice).last_sent_at == NOW
    assert record_sent() == 0  # once each
    assert len(db.session.scalars(select(Activity).where(Activity.kind == "email_sent")).all()) == 2


def test_record_skips_rows_another_worker_recorded_meanwhile(app, smtp_sink, queue, alice, make_contact):
    emails = [queue(alice, make_contact()) for _ in range(2)]
    db.session.execute(update(OutboundEmail).where(OutboundEmail.id.in_([e.id for e in emails]))
                       .values(status="sent", sent_at=NOW))
    db.session.execute(update(OutboundEmail).where(OutboundEmail.id == emails[0].id).values(recorded_at=NOW))
    db.session.commit()

    assert record_sent([e.id for e in emails]) == 1

    [activity] = db.session.scalars(select(Activity).where(Activity.kind == "email_sent")).all()
    assert activity.details["outbound_email_id"] == emails[1].id


def test_the_next_message_is_not_accepted_before_the_previous_mark_is_committed(
        app, smtp_sink, queue, alice, make_contact, monkeypatch):
    """A slow mark, made slow the real way: another transaction holds a write lock on message
    1's row for 0.3 s (a row lock on PostgreSQL, the database's write lock on SQLite), so the
    mark's UPDATE waits for it. Message 2 may start meanwhile, but the server must not accept
    it before message 1's mark is committed."""
    emails = [queue(alice, make_contact()) for _ in range(3)]
    first_id, engine = emails[0].id, db.engine
    real = sender.Marks._write
    locked, seen_while_locked, holders = threading.Event(), [], []

    def hold_the_row():
        with engine.connect() as other:
            with other.begin():
                other.execute(update(OutboundEmail).where(OutboundEmail.id == first_id)
                              .values(last_error=None))
                locked.set()
                for _ in range(3):
                    time.sleep(0.1)  # the sender reaches message 2's gate long before this ends
                    seen_while_locked.append(len(smtp_sink.messages))

    def slow_first(self, params):
        if params["email_id"] == first_id:
            holders.append(threading.Thread(target=hold_the_row))
            holders[0].start()
            assert locked.wait(5)
        real(self, params)

    monkeypatch.setattr(sender.Marks, "_write", slow_first)
    assert send_due(NOW).sent == 3
    holders[0].join()
    assert seen_while_locked == [1, 1, 1]
    assert len(smtp_sink.wait_for(3)) == 3
    assert {_reload(e).status for e in emails} == {"sent"}


# --- building each message while the server digests the one before it -----------------------

def test_each_message_is_built_while_the_previous_one_is_being_accepted(
        app, smtp_sink, queue, alice, make_contact, monkeypatch):
    """Message N+1 is built after message N's content went out and before N's reply is read
    (so before N's mark): the work overlaps the server's own handling of N."""
    emails = [queue(alice, make_contact()) for _ in range(3)]
    order = {e.id: n for n, e in enumerate(emails, start=1)}
    events = []
    real_build, real_submit = sender.build_wire, sender.Marks.submit

    def build(email, *args, **kwargs):
        events.append(f"build {order[email.id]}")
        return real_build(email, *args, **kwargs)

    def submit(self, email, now):
        events.append(f"mark {order[email.id]}")
        return real_submit(self, email, now)

    monkeypatch.setattr(sender, "build_wire", build)
    monkeypatch.setattr(sender.Marks, "submit", submit)
    assert send_due(NOW).sent == 3
    assert events == ["build 1", "build 2", "mark 1", "build 3", "mark 2", "mark 3"]
    assert len(smtp_sink.wait_for(3)) == 3


def test_a_message_that_fails_to_build_ahead_is_built_again_on_its_turn(
        app, smtp_sink, queue, alice, make_contact, monkeypatch):
    emails = [queue(alice, make_contact()) for _ in range(3)]
    real_build, failures = sender.build_wire, []

    def flaky(email, *args, **kwargs):
        if email.id == emails[1].id and not failures:
            failures.append(email.id)
            raise RuntimeError("transient")
        return real_build(email, *args, **kwargs)

    monkeypatch.setattr(sender, "build_wire", flaky)
    assert send_due(NOW).sent == 3
    assert failures == [emails[1].id]
    assert sorted(r.rcpt_tos[0] for r in smtp_sink.wait_for(3)) == sorted(e.to_address for e in emails)
    assert {_reload(e).status for e in emails} == {"sent"}


def test_the_mark_stores_sent_at_as_sqlalchemy_stores_any_timestamp(app, smtp_sink, queue, alice, make_contact):
    """The mark bypasses SQLAlchemy's execution but not its bind processing: the raw stored
    value of ``sent_at`` is what SQLAlchemy wrote for ``claimed_at`` (the same instant)."""
    email = queue(alice, make_contact())
    assert send_due(NOW).sent == 1
    sent_at, claimed_at = db.session.execute(
        text("SELECT sent_at, claimed_at FROM outbound_emails WHERE id = :id"), {"id": email.id}).one()
    assert sent_at == claimed_at and type(sent_at) is type(claimed_at)


def test_a_mark_refused_by_the_database_stops_the_batch_and_the_next_tick_sends_the_rest(
        app, smtp_sink, queue, alice, make_contact, monkeypatch):
    """PostgreSQL: an error *result* (a lock timeout) rather than a lost connection. The tick
    fails loudly with message 1 accepted and unmarked; its connection is thrown away, not
    pooled with a result unread; the next tick sends the others."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the mark is sent without waiting on PostgreSQL only")
    emails = [queue(alice, make_contact()) for _ in range(3)]
    engine, real, lockers = db.engine, sender.Marks._write, []

    def time_out_the_first(self, params):
        if params["email_id"] == emails[0].id:
            self._driver.execute("SET lock_timeout = '50ms'")
            lockers.append(_lock_row(engine, emails[0].id))
        real(self, params)

    monkeypatch.setattr(sender.Marks, "_write", time_out_the_first)
    try:
        with pytest.raises(sender.MarkFailed, match="lock timeout"):
            send_due(NOW)
    finally:
        _release(lockers)
    assert len(smtp_sink.wait_for(1)) == 1 and len(smtp_sink.messages) == 1
    monkeypatch.undo()

    db.session.execute(update(OutboundEmail).where(OutboundEmail.id != emails[0].id)
                       .values(status="queued", claimed_by=None))  # as the claim timeout would
    db.session.commit()
    assert send_due(NOW).sent == 2
    assert len(smtp_sink.wait_for(3)) == 3
    assert [_reload(e).status for e in emails] == ["sending", "sent", "sent"]
    with engine.connect() as pooled:  # whatever the pool hands out now works
        assert pooled.execute(text("SELECT 1")).scalar() == 1
