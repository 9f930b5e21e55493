"""background_jobs: work a request queues and the worker runs

Revision ID: 20261209_13_background_jobs
Revises: 20261208_12_force_password_reset
Create Date: 2026-12-09

Issue #19 (expensive requests tie up workers). One row per queued job (``crm.jobs``): who asked,
which kind of work with which parameters, and the progress the worker commits with each
chunk. Bulk enrollment of many contacts and the scoring admin's recompute / train run here.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import crm.timeutil  # noqa: F401

revision = "20261209_13_background_jobs"
down_revision = "20261208_12_force_password_reset"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.create_table(
        "background_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("params", JSON, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("result", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')",
                           name=op.f("ck_background_jobs_status")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_background_jobs_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_background_jobs")),
    )
    with op.batch_alter_table("background_jobs") as batch:
        batch.create_index("ix_background_jobs_status_created", ["status", "created_at"], unique=False)
        batch.create_index("ix_background_jobs_user_kind", ["user_id", "kind", "created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("background_jobs") as batch:
        batch.drop_index("ix_background_jobs_user_kind")
        batch.drop_index("ix_background_jobs_status_created")
    op.drop_table("background_jobs")
