"""outbox: recorded_at, so a sent message's side effects are written once, after its mark

Revision ID: 20261125_10_outbox_recorded
Revises: 20261125_09_scoring
Create Date: 2026-11-25

OWNED BY THE MAIL FEATURE. The send tick commits only the ``sent`` mark per message (the
commit that closes the duplicate window) and writes the ``email_sent`` activity, the
sequences hook and the mailbox's last send for the whole batch afterwards; ``recorded_at``
says that second step is done (see crm/mail/outbound/sender.py).
"""
from alembic import op
import sqlalchemy as sa

import crm.timeutil

revision = "20261125_10_outbox_recorded"
down_revision = "20261125_09_scoring"
branch_labels = None
depends_on = None

UNRECORDED = "status = 'sent' AND recorded_at IS NULL"


def upgrade():
    with op.batch_alter_table("outbound_emails") as batch:
        batch.add_column(sa.Column("recorded_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True))
    # Messages sent before this revision had their side effects written with the mark.
    op.execute("UPDATE outbound_emails SET recorded_at = sent_at WHERE status = 'sent'")
    op.create_index("ix_outbound_emails_unrecorded", "outbound_emails", ["id"], unique=False,
                    postgresql_where=sa.text(UNRECORDED), sqlite_where=sa.text(UNRECORDED))


def downgrade():
    op.drop_index("ix_outbound_emails_unrecorded", table_name="outbound_emails")
    with op.batch_alter_table("outbound_emails") as batch:
        batch.drop_column("recorded_at")
