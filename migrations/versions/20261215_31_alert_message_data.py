"""alerts: the message as data (an N_-marked message and its values), read in the reader's language

Revision ID: 20261215_31_alert_message_data
Revises: 20261214_26_imports
Create Date: 2026-12-15

OWNED BY THE ALERTS FEATURE (issue #17). ``alerts.message_data`` holds {"msgid", "params"}:
the page, the poll and the API translate it for whoever reads; ``alerts.message`` keeps the
English text (old alerts have only that and are shown as stored).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "20261215_31_alert_message_data"
down_revision = "20261214_26_imports"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("message_data", JSON, nullable=True))


def downgrade():
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("message_data")
