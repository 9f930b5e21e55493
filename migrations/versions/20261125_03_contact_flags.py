"""contact flags: bounced address, invalid phone

Revision ID: 20261125_03_flags
Revises: 20261125_02_planning
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

import crm.timeutil

revision = "20261125_03_flags"
down_revision = "20261125_02_planning"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("email_bounced_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("phone_invalid_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("phone_invalid_at")
        batch.drop_column("email_bounced_at")
