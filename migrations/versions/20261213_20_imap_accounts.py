"""imap_accounts: a rep's IMAP connection, password encrypted at rest

Revision ID: 20261213_20_imap_accounts
Revises: 20261213_19_outbound_robust
Create Date: 2026-12-13

OWNED BY THE MAIL FEATURE (issue #24, item 7). The IMAP settings move out of ``mailboxes``
(``imap_*`` columns, filled until now by a script, the password in clear) into
``imap_accounts``, one row per mailbox that had an ``imap_host``; the password is encrypted
with the app's credentials key (``MAIL_CREDENTIALS_KEY``'s first key, else the key derived from
``SECRET_KEY``: the same rule as ``crm/mail/credentials.py``, copied here so this revision keeps
doing what it did when that module changes). The old defaults carry over: security ``ssl``,
port 993 (143 without TLS), user name = the mailbox's address, folders ``["INBOX"]``.
Downgrading writes the passwords back in clear (those no key opens come back empty).
Needs SQLite 3.35 or later (ALTER TABLE ... DROP COLUMN) on SQLite.
"""
import base64

from alembic import op
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy.dialects import postgresql

import crm.timeutil

revision = "20261213_20_imap_accounts"
down_revision = "20261213_19_outbound_robust"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SECURITY = ("ssl", "starttls", "none")


def _dt(name, nullable=True):
    return sa.Column(name, crm.timeutil.UTCDateTime(timezone=True), nullable=nullable)


def _cipher():
    config = current_app.config
    keys = [part.strip().encode("ascii") for part in (config.get("MAIL_CREDENTIALS_KEY") or "").split(",")
            if part.strip()]
    if config.get("SECRET_KEY"):
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"crm mail credentials v1")
        keys.append(base64.urlsafe_b64encode(hkdf.derive(str(config["SECRET_KEY"]).encode("utf-8"))))
    return MultiFernet([Fernet(key) for key in keys])


mailboxes = sa.table(
    "mailboxes", sa.column("id", sa.Integer), sa.column("from_address", sa.String),
    sa.column("imap_host", sa.String), sa.column("imap_port", sa.Integer), sa.column("imap_security", sa.String),
    sa.column("imap_username", sa.String), sa.column("imap_password", sa.String),
    sa.column("imap_folders", JSON), sa.column("imap_last_error", sa.String),
)
accounts = sa.table(
    "imap_accounts", sa.column("mailbox_id", sa.Integer), sa.column("host", sa.String),
    sa.column("port", sa.Integer), sa.column("security", sa.String), sa.column("username", sa.String),
    sa.column("password_encrypted", sa.Text), sa.column("folders", JSON), sa.column("status", sa.String),
    sa.column("last_error", sa.String), sa.column("created_at", crm.timeutil.UTCDateTime(timezone=True)),
    sa.column("updated_at", crm.timeutil.UTCDateTime(timezone=True)),
)


def upgrade():
    op.create_table(
        "imap_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("security", sa.String(length=10), nullable=False),
        sa.Column("username", sa.String(length=254), nullable=False),
        sa.Column("password_encrypted", sa.Text(), nullable=False),
        sa.Column("folders", JSON, nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        _dt("last_polled_at"),
        _dt("last_ok_at"),
        _dt("created_at", False),
        _dt("updated_at", False),
        sa.CheckConstraint("security IN ('ssl', 'starttls', 'none')", name=op.f("ck_imap_accounts_security")),
        sa.CheckConstraint("status IN ('untested', 'ok', 'error', 'unreadable_password')",
                           name=op.f("ck_imap_accounts_status")),
        sa.ForeignKeyConstraint(["mailbox_id"], ["mailboxes.id"], name=op.f("fk_imap_accounts_mailbox_id_mailboxes"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imap_accounts")),
        sa.UniqueConstraint("mailbox_id", name=op.f("uq_imap_accounts_mailbox_id")),
    )
    _move_settings_to_accounts()
    # recreate="never": plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+). Batch mode's copy-and-
    # rename of ``mailboxes`` would drop the old table, and SQLite's ON DELETE actions would then
    # delete every imap_accounts and mailbox_cursors row and unlink the inbound log.
    with op.batch_alter_table("mailboxes", recreate="never") as batch:
        for column in ("imap_host", "imap_port", "imap_security", "imap_username", "imap_password", "imap_folders",
                       "imap_last_error"):
            batch.drop_column(column)


def _move_settings_to_accounts():
    bind = op.get_bind()
    rows = bind.execute(sa.select(mailboxes).where(mailboxes.c.imap_host.is_not(None))).mappings().all()
    if not rows:
        return
    cipher, now = _cipher(), crm.timeutil.utcnow()
    for row in rows:
        security = (row["imap_security"] or "ssl").strip().lower()
        security = security if security in SECURITY else "ssl"
        bind.execute(accounts.insert().values(
            mailbox_id=row["id"], host=row["imap_host"].strip(), port=row["imap_port"] or (993 if security == "ssl"
                                                                                          else 143),
            security=security, username=row["imap_username"] or row["from_address"],
            password_encrypted=cipher.encrypt((row["imap_password"] or "").encode("utf-8")).decode("ascii"),
            folders=list(row["imap_folders"] or ["INBOX"]), status="error" if row["imap_last_error"] else "untested",
            last_error=row["imap_last_error"], created_at=now, updated_at=now,
        ))


def downgrade():
    with op.batch_alter_table("mailboxes", recreate="never") as batch:  # see upgrade
        batch.add_column(sa.Column("imap_host", sa.String(length=253), nullable=True))
        batch.add_column(sa.Column("imap_port", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("imap_security", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("imap_username", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("imap_password", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("imap_folders", JSON, nullable=False, server_default='["INBOX"]'))
        batch.add_column(sa.Column("imap_last_error", sa.String(length=500), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(accounts)).mappings().all()
    cipher = _cipher() if rows else None
    for row in rows:
        try:
            password = cipher.decrypt(row["password_encrypted"].encode("ascii")).decode("utf-8")
        except InvalidToken:
            password = None
        bind.execute(mailboxes.update().where(mailboxes.c.id == row["mailbox_id"]).values(
            imap_host=row["host"], imap_port=row["port"], imap_security=row["security"],
            imap_username=row["username"], imap_password=password, imap_folders=row["folders"],
            imap_last_error=row["last_error"]))
    op.drop_table("imap_accounts")
