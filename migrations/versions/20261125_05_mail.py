"""mail: outbox, mailboxes, IMAP state, inbound log

Revision ID: 20261125_05_mail
Revises: 20261125_04_sequences
Create Date: 2026-11-25

OWNED BY THE MAIL FEATURE.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import crm.timeutil

revision = "20261125_05_mail"
down_revision = "20261125_04_sequences"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _dt(name, nullable=True):
    return sa.Column(name, crm.timeutil.UTCDateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "mailboxes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("from_address", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("aliases", JSON, nullable=False),
        sa.Column("smtp_host", sa.String(length=253), nullable=True),
        sa.Column("smtp_port", sa.Integer(), nullable=True),
        sa.Column("smtp_security", sa.String(length=10), nullable=True),
        sa.Column("smtp_username", sa.String(length=254), nullable=True),
        sa.Column("smtp_password", sa.String(length=500), nullable=True),
        sa.Column("daily_cap", sa.Integer(), nullable=False),
        sa.Column("min_gap_seconds", sa.Integer(), nullable=False),
        _dt("last_sent_at"),
        sa.Column("imap_host", sa.String(length=253), nullable=True),
        sa.Column("imap_port", sa.Integer(), nullable=True),
        sa.Column("imap_security", sa.String(length=10), nullable=True),
        sa.Column("imap_username", sa.String(length=254), nullable=True),
        sa.Column("imap_password", sa.String(length=500), nullable=True),
        sa.Column("imap_folders", JSON, nullable=False),
        sa.Column("imap_last_error", sa.String(length=500), nullable=True),
        _dt("created_at", False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_mailboxes_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailboxes")),
        sa.UniqueConstraint("user_id", name=op.f("uq_mailboxes_user_id")),
    )
    op.create_table(
        "mailbox_cursors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        _dt("updated_at", False),
        sa.ForeignKeyConstraint(["mailbox_id"], ["mailboxes.id"],
                                name=op.f("fk_mailbox_cursors_mailbox_id_mailboxes"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailbox_cursors")),
        sa.UniqueConstraint("mailbox_id", "folder", name=op.f("uq_mailbox_cursors_mailbox_id")),
    )
    op.create_table(
        "outbound_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _dt("due_at", False),
        _dt("claimed_at"),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("in_reply_to", sa.String(length=255), nullable=True),
        sa.Column("references", sa.Text(), nullable=True),
        _dt("sent_at"),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("step_id", sa.Integer(), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=True),
        _dt("first_human_open_at"),
        _dt("first_human_click_at"),
        _dt("replied_at"),
        _dt("bounced_at"),
        _dt("created_at", False),
        sa.CheckConstraint("kind IN ('sequence', 'one_off')", name=op.f("ck_outbound_emails_kind")),
        sa.CheckConstraint("status IN ('draft', 'queued', 'sending', 'sent', 'failed', 'cancelled')",
                           name=op.f("ck_outbound_emails_status")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_outbound_emails_contact_id_contacts"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_outbound_emails_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_emails")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbound_emails_message_id")),
    )
    with op.batch_alter_table("outbound_emails") as batch:
        batch.create_index("ix_outbound_emails_status_due", ["status", "due_at"], unique=False)
        batch.create_index("ix_outbound_emails_user_sent", ["user_id", "sent_at"], unique=False)
        batch.create_index("ix_outbound_emails_contact", ["contact_id", "created_at"], unique=False)
        batch.create_index(batch.f("ix_outbound_emails_claimed_by"), ["claimed_by"], unique=False)
        batch.create_index(batch.f("ix_outbound_emails_enrollment_id"), ["enrollment_id"], unique=False)
        batch.create_index(batch.f("ix_outbound_emails_step_id"), ["step_id"], unique=False)
        batch.create_index(batch.f("ix_outbound_emails_template_id"), ["template_id"], unique=False)
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=300), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("classification", sa.String(length=32), nullable=False),
        sa.Column("bounce_type", sa.String(length=8), nullable=True),
        sa.Column("from_address", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("outbound_email_id", sa.Integer(), nullable=True),
        sa.Column("matched_by", sa.String(length=32), nullable=True),
        sa.Column("effects", JSON, nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        _dt("received_at", False),
        sa.CheckConstraint("source IN ('webhook', 'imap')", name=op.f("ck_inbound_messages_source")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_inbound_messages_contact_id_contacts"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["mailbox_id"], ["mailboxes.id"],
                                name=op.f("fk_inbound_messages_mailbox_id_mailboxes"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["outbound_email_id"], ["outbound_emails.id"],
                                name=op.f("fk_inbound_messages_outbound_email_id_outbound_emails"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_inbound_messages_dedupe_key")),
    )
    with op.batch_alter_table("inbound_messages") as batch:
        batch.create_index("ix_inbound_messages_contact", ["contact_id", "received_at"], unique=False)


def downgrade():
    op.drop_table("inbound_messages")
    op.drop_table("outbound_emails")
    op.drop_table("mailbox_cursors")
    op.drop_table("mailboxes")
