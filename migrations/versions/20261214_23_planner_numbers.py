"""planner numbers: stored accuracy/calibration figures, and the evidence-chosen source

Revision ID: 20261214_23_planner_numbers
Revises: 20261214_25_money
Create Date: 2026-12-14

OWNED BY THE PLANNING BRIDGE (issue #23). ``planning_stored_figures`` holds the accuracy and
calibration figures the worker computes (at month-end and on demand), so the pages and the
API read them instead of recomputing a backtest per request. Snapshots may now be taken with
``probabilities = 'chosen'`` (per family, the source that won the backtest).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from crm.timeutil import UTCDateTime

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "20261214_23_planner_numbers"
down_revision = "20261214_25_money"
branch_labels = None
depends_on = None


def _sources(check: str) -> None:
    with op.batch_alter_table("planning_snapshots") as batch:
        batch.drop_constraint(op.f("ck_planning_snapshots_probabilities"), type_="check")
        batch.create_check_constraint("probabilities", check)


def upgrade():
    op.create_table(
        "planning_stored_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.CheckConstraint("kind IN ('accuracy', 'calibration')", name=op.f("ck_planning_stored_figures_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planning_stored_figures")),
        sa.UniqueConstraint("kind", "key", "as_of", name=op.f("uq_planning_stored_figures_kind")),
    )
    op.create_index(op.f("ix_planning_stored_figures_computed_at"), "planning_stored_figures", ["computed_at"])
    _sources("probabilities IN ('chosen', 'stage', 'calibrated')")


def downgrade():
    op.execute("DELETE FROM planning_snapshots WHERE probabilities = 'chosen'")
    _sources("probabilities IN ('stage', 'calibrated')")
    op.drop_index(op.f("ix_planning_stored_figures_computed_at"), table_name="planning_stored_figures")
    op.drop_table("planning_stored_figures")
