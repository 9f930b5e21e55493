"""target_allocations: a manager's split of their team's sales target

Revision ID: 20261212_18_sales_targets
Revises: 20261212_17_sop_cycle
Create Date: 2026-12-12

Issue #15 (back to sales). Targets are the published consensus plan split over reps when read
(``crm.targets``); what is stored is only what a manager decided: the units of their team's
target for one family and month given to one rep, with who set it and when.
"""
from alembic import op
import sqlalchemy as sa

import crm.timeutil  # noqa: F401

revision = "20261212_18_sales_targets"
down_revision = "20261212_17_sop_cycle"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "target_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("units", sa.Numeric(14, 3), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("set_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("units >= 0", name=op.f("ck_target_allocations_units_nonnegative")),
        sa.ForeignKeyConstraint(["manager_id"], ["users.id"], name=op.f("fk_target_allocations_manager_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_target_allocations_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["family_id"], ["product_families.id"],
                                name=op.f("fk_target_allocations_family_id_product_families"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["set_by_id"], ["users.id"], name=op.f("fk_target_allocations_set_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_allocations")),
        sa.UniqueConstraint("manager_id", "user_id", "family_id", "period", name="uq_target_allocation_cell"),
    )
    with op.batch_alter_table("target_allocations") as batch:
        batch.create_index("ix_target_allocations_manager_id", ["manager_id"], unique=False)


def downgrade():
    with op.batch_alter_table("target_allocations") as batch:
        batch.drop_index("ix_target_allocations_manager_id")
    op.drop_table("target_allocations")
