"""Shared fixtures: one app per session, a clean database per test, factories and personas.

The database comes from ``TEST_DATABASE_URL`` (PostgreSQL) or is a SQLite file. Tests commit
for real (concurrency tests need it), so isolation is by emptying every table after each test.
"""
from __future__ import annotations

import itertools
import os
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import event, text

from config import TestConfig
from crm.app import create_app
from crm.extensions import db, limiter
from crm.timeutil import CLOCK

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=timezone.utc)
# The command line speaks the operator's language (CRM_LANGUAGE, else LC_ALL/LC_MESSAGES/LANG):
# tests read English whatever the machine's locale, and a test wanting Spanish says so.
os.environ["CRM_LANGUAGE"] = "en"
PASSWORD = "correct horse battery staple 42"


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (own ``g`` and database session), as in
    production, even though the test itself runs inside an app context."""

    def open(self, *args, **kwargs):
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


@pytest.fixture(scope="session")
def app():
    app = create_app(TestConfig())
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        try:
            os.remove(url.removeprefix("sqlite:///"))
        except FileNotFoundError:
            pass


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        # Not TRUNCATE: it makes new files for every table it names and, with CASCADE, for every
        # table referencing them (users: nearly all), about 0.4 s on every test. Most tests
        # touch a handful of small tables: those are emptied, children first, and their id
        # sequences restarted.
        touched = set(_touched_tables(tables))
        statements = [f'DELETE FROM "{t.name}"' for t in tables if t.name in touched]
        statements += [_restart_ids(t) for t in tables if t.name in touched and t.autoincrement_column is not None]
        if statements:
            db.session.execute(text("; ".join(statements)))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


def _restart_ids(table) -> str:
    sequence = f"""pg_get_serial_sequence('"{table.name}"', '{table.autoincrement_column.name}')"""
    return f"SELECT setval({sequence}, 1, false)"


def _touched_tables(tables) -> list[str]:
    """Tables holding a row, or whose id sequence moved (rows added then removed), in one query:
    what TRUNCATE ... RESTART IDENTITY must reset so the next test starts from nothing."""
    checks = []
    for table in tables:
        touched = f'EXISTS (SELECT 1 FROM "{table.name}")'
        serial = table.autoincrement_column
        if serial is not None:
            sequence = f"""pg_get_serial_sequence('"{table.name}"', '{serial.name}')"""
            touched += f" OR pg_sequence_last_value({sequence}) IS NOT NULL"
        checks.append(f"SELECT '{table.name}' WHERE {touched}")
    return list(db.session.scalars(text(" UNION ALL ".join(checks))))


@pytest.fixture(autouse=True)
def _app_context(app):
    with app.app_context():
        yield
        db.session.rollback()
        _empty_all_tables()
        db.session.remove()
    limiter.reset()


@pytest.fixture(autouse=True)
def clock():
    """The app's one clock (``crm.timeutil.CLOCK``), frozen at ``NOW`` for every test, in every
    thread: pages, API, jobs, CLI and model defaults all read it. Move it with
    ``clock.freeze(moment)`` or ``clock.advance(delta)``; write every date relative to ``NOW``."""
    CLOCK.freeze(NOW)
    yield CLOCK
    CLOCK.freeze(NOW)


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def client(app):
    return app.test_client()


# --- factories --------------------------------------------------------------------------

_seq = itertools.count(1)


@pytest.fixture
def make_user():
    from crm.auth.services import create_user

    def make(role="rep", **overrides):
        n = next(_seq)
        email = overrides.pop("email", f"{role}{n}@acme-sales.com")
        password = overrides.pop("password", PASSWORD)
        user = create_user(email, role, password, name=overrides.pop("name", f"{role.title()} {n}"), **overrides)
        db.session.commit()
        return user

    return make


@pytest.fixture
def admin(make_user):
    return make_user("admin", name="Ada Admin")


@pytest.fixture
def make_company(admin):
    from crm.contacts.services import create_company

    def make(**overrides):
        n = next(_seq)
        data = {"name": f"Company {n}", "domain": f"company{n}.com", **overrides}
        company = create_company(admin, data, NOW)
        db.session.commit()
        return company

    return make


@pytest.fixture
def make_contact(admin):
    from crm.contacts.services import create_contact

    def make(**overrides):
        n = next(_seq)
        actor = overrides.pop("actor", None) or admin
        data = {"email": f"person{n}@example-corp{n % 7}.com", "first_name": f"First{n}",
                "last_name": f"Last{n}", **overrides}
        contact = create_contact(actor, data, NOW)
        db.session.commit()
        return contact

    return make


@pytest.fixture
def stages(admin):
    from crm.deals.services import save_stage

    created = [
        save_stage(admin, name=name, probability=p, position=i)
        for i, (name, p) in enumerate(
            [("Prospecting", "0.1"), ("Qualified", "0.25"), ("Proposal", "0.5"), ("Negotiation", "0.75")]
        )
    ]
    db.session.commit()
    return created


@pytest.fixture
def families(admin):
    from crm.deals.services import create_family

    created = [
        create_family(admin, {"code": code, "name": name, "unit": unit, "lead_time_days": lead})
        for code, name, unit, lead in [("PUMP", "Pumps", "unit", 30), ("VALVE", "Valves", "unit", 14)]
    ]
    db.session.commit()
    return created


@pytest.fixture
def make_deal(admin, stages, families):
    from crm.deals.services import create_deal

    def make(**overrides):
        n = next(_seq)
        actor = overrides.pop("actor", None) or admin
        data = {
            "name": f"Deal {n}", "stage_id": stages[0].id, "expected_close": date(2026, 5, 1),
            "lines": [{"family": "PUMP", "quantity": 10, "unit_price": "100.00"}], **overrides,
        }
        deal = create_deal(actor, data, NOW)
        db.session.commit()
        return deal

    return make


# --- personas (healthchecks-style): alice and bob are reps on mallory's team, charlie is a
# rep elsewhere, pat plans, ada administers.

@pytest.fixture
def mallory(make_user):
    return make_user("manager", name="Mallory Manager", email="mallory@acme-sales.com")


@pytest.fixture
def alice(make_user, mallory):
    return make_user("rep", name="Alice Rep", email="alice@acme-sales.com", manager_id=mallory.id)


@pytest.fixture
def bob(make_user, mallory):
    return make_user("rep", name="Bob Rep", email="bob@acme-sales.com", manager_id=mallory.id)


@pytest.fixture
def charlie(make_user):
    return make_user("rep", name="Charlie Rep", email="charlie@acme-sales.com")


@pytest.fixture
def pat(make_user):
    return make_user("planner", name="Pat Planner", email="pat@acme-sales.com")


# --- web helpers ------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in page"
    return match.group(1) or match.group(2)


@pytest.fixture
def login():
    def do_login(client, user, password=PASSWORD):
        page = client.get("/login")
        token = csrf_from(page.get_data(as_text=True))
        response = client.post(
            "/login", data={"email": user.email, "password": password, "csrf_token": token}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return do_login


@pytest.fixture
def api_token():
    from crm.auth.services import create_api_token

    def make(user):
        _token, secret = create_api_token(user, "test", NOW)
        db.session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def _count(self, *_args, **_kwargs):
        self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


@pytest.fixture
def count_queries():
    return lambda: QueryCounter(db.engine)


__all__ = ["NOW", "PASSWORD", "csrf_from", "Decimal", "timedelta"]


@pytest.fixture(scope="session")
def _smtp_server():
    from tests.mailsink import SmtpSink

    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_sink(app, _smtp_server):
    """A real SMTP server (aiosmtpd) the app sends to during this test; ``.messages`` holds
    what arrived, ``.wait_for(n)`` waits for n messages."""
    _smtp_server.clear()
    _smtp_server.reset_faults()
    saved = {key: app.config[key] for key in ("SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "MAIL_TRANSPORT")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_smtp_server.port, SMTP_SECURITY="none",
                      MAIL_TRANSPORT="smtp")
    yield _smtp_server
    app.config.update(saved)
