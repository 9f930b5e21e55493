"""mail: outbox, mailboxes, IMAP state, inbound log

Revision ID: 20261125_05_mail
Revises: 20261125_04_sequences
Create Date: 2026-11-25

OWNED BY THE MAIL FEATURE: its tables go here (write them by hand or autogenerate
against a database at the previous revision, then check ``tests/test_migrations.py``).
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import crm.timeutil  # noqa: F401

revision = "20261125_05_mail"
down_revision = "20261125_04_sequences"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
