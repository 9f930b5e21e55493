"""Migration 20261211_15_recordings moves call_recordings into recordings: one per call (the
newest upload, else the newest URL), uploads pending with their file key (read from the old
folder), URLs linked; the downgrade brings the rows back."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask_migrate import downgrade, upgrade
from sqlalchemy import MetaData, Table, text

from config import TestConfig
from crm.app import create_app
from crm.contacts.models import Activity
from crm.extensions import db
from tests.test_migrations import fresh_database_url  # noqa: F401  (the fixture)

BEFORE = "20261210_14_rate_limit_counters"
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def test_call_recordings_move_to_recordings_and_back(fresh_database_url, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TEST_DATABASE_URL", fresh_database_url)
    app = create_app(TestConfig())
    with app.app_context():
        upgrade(revision=BEFORE)
        # users as it was at BEFORE (the model has columns added since).
        users = Table("users", MetaData(), autoload_with=db.engine)
        rep = db.session.execute(users.insert().values(
            email="rep@acme-sales.com", name="Rep", role="rep", time_zone="UTC", is_active=True,
            must_change_password=False, created_at=T0).returning(users.c.id)).scalar_one()
        calls = [db.session.execute(Activity.__table__.insert().values(
            kind="call", occurred_at=T0, user_id=rep, details={}).returning(Activity.__table__.c.id)).scalar_one()
            for _ in range(3)]
        rows = [  # (activity, source, url, storage_path, created minutes after T0)
            (calls[0], "url", "https://pbx.example.com/a.mp3", None, 0),
            (calls[0], "upload", None, "old-a.wav", 1),
            (calls[0], "upload", None, "new-a.mp3", 2),   # the newest upload wins
            (calls[1], "url", "https://pbx.example.com/b.mp3", None, 0),
            (calls[1], "url", "https://pbx.example.com/b2.mp3", None, 5),  # the newest URL wins
            (calls[2], "upload", None, "c.webm", 0),
        ]
        for activity, source, url, path, minutes in rows:
            db.session.execute(text(
                "INSERT INTO call_recordings (activity_id, source, url, storage_path, content_type, size_bytes,"
                " created_by_id, created_at) VALUES (:a, :s, :u, :p, 'audio/x', 10, :by, :at)"),
                {"a": activity, "s": source, "u": url, "p": path, "by": rep, "at": T0 + timedelta(minutes=minutes)})
        db.session.commit()
        upgrade()
        moved = db.session.execute(text(
            "SELECT activity_id, source, source_url, status, storage_key, format, user_id, uploaded_by_id"
            " FROM recordings ORDER BY activity_id")).all()
        assert [tuple(row) for row in moved] == [
            (calls[0], "upload", None, "pending", "new-a.mp3", "mp3", rep, rep),
            (calls[1], "url", "https://pbx.example.com/b2.mp3", "linked", None, None, rep, rep),
            (calls[2], "upload", None, "pending", "c.webm", None, rep, rep),
        ]
        db.session.commit()  # let go of the read: on PostgreSQL the downgrade's DROPs wait for it
        downgrade(revision=BEFORE)
        back = db.session.execute(text(
            "SELECT activity_id, source, url, storage_path FROM call_recordings ORDER BY activity_id")).all()
        assert [tuple(row) for row in back] == [
            (calls[0], "upload", None, "new-a.mp3"), (calls[1], "url", "https://pbx.example.com/b2.mp3", None),
            (calls[2], "upload", None, "c.webm")]
        db.session.remove()
        downgrade(revision="base")
        db.engine.dispose()
