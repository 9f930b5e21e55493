"""sequences: templates, sequences, steps, enrollments, tasks

Revision ID: 20261125_04_sequences
Revises: 20261125_03_flags
Create Date: 2026-11-25

OWNED BY THE SEQUENCES FEATURE: its tables go here (write them by hand or autogenerate
against a database at the previous revision, then check ``tests/test_migrations.py``).
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import crm.timeutil  # noqa: F401

revision = "20261125_04_sequences"
down_revision = "20261125_03_flags"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
