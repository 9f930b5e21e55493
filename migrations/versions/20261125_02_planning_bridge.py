"""planning bridge tables

Revision ID: 20261125_02_planning
Revises: 65d837ec8ed3
Create Date: 2026-11-25

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import crm.timeutil  # noqa: F401

revision = "20261125_02_planning"
down_revision = "65d837ec8ed3"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
