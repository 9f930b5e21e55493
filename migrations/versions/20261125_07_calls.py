"""calls: time blocks, call queue, call outcomes, scripts

Revision ID: 20261125_07_calls
Revises: 20261125_06_meetings
Create Date: 2026-11-25

OWNED BY THE CALLS FEATURE: its tables go here (write them by hand or autogenerate
against a database at the previous revision, then check ``tests/test_migrations.py``).
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import crm.timeutil  # noqa: F401

revision = "20261125_07_calls"
down_revision = "20261125_06_meetings"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
