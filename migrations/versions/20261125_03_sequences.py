"""sequences and mail tables

Revision ID: 20261125_03_sequences
Revises: 20261125_02_planning
Create Date: 2026-11-25

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import crm.timeutil  # noqa: F401

revision = "20261125_03_sequences"
down_revision = "20261125_02_planning"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
