"""rate_limit_counters: rate limits shared by every web process

Revision ID: 20261210_14_rate_limit_counters
Revises: 20261209_13_background_jobs
Create Date: 2026-12-10

OWNED BY RATE LIMITS (issue #19). Fixed-window counters of the limits that must hold exactly
across web processes when there is no Redis (``crm.ratelimits.storage.DatabaseStorage``): one
row per window of one limit for one client, keyed by the SHA-256 of the limit's key, ending at
``expires_at`` (seconds since the epoch). Nothing to migrate: counters start empty.
"""
from alembic import op
import sqlalchemy as sa

revision = "20261210_14_rate_limit_counters"
down_revision = "20261209_13_background_jobs"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rate_limit_counters",
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name="pk_rate_limit_counters"),
    )
    op.create_index("ix_rate_limit_counters_expires_at", "rate_limit_counters", ["expires_at"])


def downgrade():
    op.drop_index("ix_rate_limit_counters_expires_at", table_name="rate_limit_counters")
    op.drop_table("rate_limit_counters")
