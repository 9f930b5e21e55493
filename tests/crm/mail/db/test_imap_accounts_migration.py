"""The IMAP settings a script stored in ``mailboxes`` (password in clear) move to
``imap_accounts`` with the password encrypted, the folders' cursors stay, and the settings come
back on a downgrade."""
from __future__ import annotations

import json

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from config import TestConfig
from crm.app import create_app
from crm.extensions import db
from crm.mail.credentials import decrypt
from tests.test_migrations import fresh_database_url  # noqa: F401 - a fixture

BEFORE = "20261210_14_rate_limit_counters"
REVISION = "20261213_20_imap_accounts"


def test_existing_imap_settings_move_to_encrypted_accounts_and_back(fresh_database_url, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TEST_DATABASE_URL", fresh_database_url)
    app = create_app(TestConfig())
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            for user_id, email in ((1, "alice@acme-sales.com"), (2, "bob@acme-sales.com")):
                conn.execute(text(
                    "INSERT INTO users (id, email, name, role, time_zone, is_active, created_at) "
                    "VALUES (:id, :email, 'x', 'rep', 'UTC', true, CURRENT_TIMESTAMP)"),
                    {"id": user_id, "email": email})
            conn.execute(text(
                "INSERT INTO mailboxes (id, user_id, from_address, display_name, signature, aliases, daily_cap, "
                "min_gap_seconds, created_at, imap_host, imap_port, imap_security, imap_username, imap_password, "
                "imap_folders) VALUES (1, 1, 'alice@acme-sales.com', '', '', '[]', 500, 30, CURRENT_TIMESTAMP, "
                "'imap.acme-sales.com', NULL, 'STARTTLS', NULL, 's3cret-app-pw', '[\"INBOX\", \"Rebotes\"]')"))
            conn.execute(text(  # no IMAP: stays without an account
                "INSERT INTO mailboxes (id, user_id, from_address, display_name, signature, aliases, daily_cap, "
                "min_gap_seconds, created_at, imap_folders) VALUES (2, 2, 'bob@acme-sales.com', '', '', '[]', 500, "
                "30, CURRENT_TIMESTAMP, '[\"INBOX\"]')"))

            conn.execute(text("INSERT INTO mailbox_cursors (mailbox_id, folder, uidvalidity, last_uid, updated_at) "
                              "VALUES (1, 'INBOX', 7, 41, CURRENT_TIMESTAMP)"))

        upgrade(revision=REVISION)

        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT mailbox_id, host, port, security, username, password_encrypted, "
                                     "folders, status FROM imap_accounts")).mappings().all()
            columns = {c["name"] for c in db.inspect(conn).get_columns("mailboxes")}
        assert len(rows) == 1
        row = dict(rows[0])
        assert (row["mailbox_id"], row["host"], row["port"], row["security"], row["username"], row["status"]) == (
            1, "imap.acme-sales.com", 143, "starttls", "alice@acme-sales.com", "untested")
        folders = row["folders"] if isinstance(row["folders"], list) else json.loads(row["folders"])
        assert folders == ["INBOX", "Rebotes"]
        assert "s3cret" not in row["password_encrypted"] and decrypt(row["password_encrypted"]) == "s3cret-app-pw"
        assert not {name for name in columns if name.startswith("imap_")}
        with db.engine.connect() as conn:  # the cursor survives: the next poll goes on where it was
            assert conn.execute(text("SELECT folder, last_uid FROM mailbox_cursors")).all() == [("INBOX", 41)]

        downgrade(revision=BEFORE)

        with db.engine.connect() as conn:
            back = conn.execute(text("SELECT imap_host, imap_password FROM mailboxes WHERE id = 1")).one()
        assert tuple(back) == ("imap.acme-sales.com", "s3cret-app-pw")
        downgrade(revision="base")
        db.engine.dispose()
