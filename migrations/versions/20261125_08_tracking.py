"""tracking: email tracking tokens, events, visitors, page views, IP ranges

Revision ID: 20261125_08_tracking
Revises: 20261125_07_calls
Create Date: 2026-11-25

OWNED BY THE TRACKING FEATURE: its tables go here (write them by hand or autogenerate
against a database at the previous revision, then check ``tests/test_migrations.py``).
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import crm.timeutil  # noqa: F401

revision = "20261125_08_tracking"
down_revision = "20261125_07_calls"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
