"""sop_cycle: the S&OP cycle, its plan versions, and the finance role

Revision ID: 20261212_17_sop_cycle
Revises: 20261211_16_conversation_review
Create Date: 2026-12-12

OWNED BY THE S&OP CYCLE (issue #15, ``planning_bridge/sop``). Cycles with their five steps,
per-family supply facts and pre-meeting verdicts, capacity, demand overrides (kept, never
changed), executive decisions, the imported business plan, and consensus plan versions whose
published rows cannot be updated: triggers refuse it on PostgreSQL and SQLite (the same DDL
the models attach for ``create_all``). Users may now have the ``finance`` role.
"""
from alembic import op
import sqlalchemy as sa

from sqlalchemy.dialects import postgresql

import crm.timeutil  # noqa: F401
# The same trigger DDL the models attach for create_all: one statement of the rule.
from planning_bridge.sop.models import DROP_IMMUTABLE_PLAN_DDL, IMMUTABLE_PLAN_DDL

revision = "20261212_17_sop_cycle"
down_revision = "20261211_16_conversation_review"
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('rep', 'manager', 'planner', 'admin')"
NEW_ROLES = "role IN ('rep', 'manager', 'planner', 'finance', 'admin')"


def _roles(check: str) -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_role"), type_="check")
        batch.create_check_constraint(op.f("ck_users_role"), check)


def upgrade():
    _roles(NEW_ROLES)
    op.create_table(
        "sop_cycles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("opened_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.Column("gathered_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("gathering", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sop_cycles")),
        sa.UniqueConstraint("month", name=op.f("uq_sop_cycles_month")),
    )
    op.create_table(
        "sop_cycle_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(24), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("owner_role", sa.String(60), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("started_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("step IN ('data_gathering', 'demand_review', 'supply_review', 'pre_meeting', "
                           "'executive_meeting')", name=op.f("ck_sop_cycle_steps_step")),
        sa.CheckConstraint("status IN ('pending', 'in_progress', 'done')", name=op.f("ck_sop_cycle_steps_status")),
        sa.ForeignKeyConstraint(["cycle_id"], ["sop_cycles.id"], name=op.f("fk_sop_cycle_steps_cycle_id_sop_cycles"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sop_cycle_steps")),
        sa.UniqueConstraint("cycle_id", "step", name=op.f("uq_sop_cycle_steps_cycle_id")),
    )
    op.create_table(
        "sop_cycle_families",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(40), nullable=False),
        sa.Column("strategy", sa.String(20), nullable=False),
        sa.Column("target_inventory", sa.Numeric(16, 3), nullable=True),
        sa.Column("opening_inventory", sa.Numeric(16, 3), nullable=False),
        sa.Column("unit_price", sa.Numeric(16, 2), nullable=True),
        sa.Column("review_status", sa.String(12), nullable=False),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("strategy IN ('make_to_stock', 'make_to_order', 'assemble_to_order')",
                           name=op.f("ck_sop_cycle_families_strategy")),
        sa.CheckConstraint("review_status IN ('open', 'agreed', 'escalated')",
                           name=op.f("ck_sop_cycle_families_review_status")),
        sa.CheckConstraint("target_inventory IS NULL OR target_inventory >= 0",
                           name=op.f("ck_sop_cycle_families_target_inventory")),
        sa.CheckConstraint("opening_inventory >= 0", name=op.f("ck_sop_cycle_families_opening_inventory")),
        sa.CheckConstraint("unit_price IS NULL OR unit_price >= 0", name=op.f("ck_sop_cycle_families_unit_price")),
        sa.ForeignKeyConstraint(["cycle_id"], ["sop_cycles.id"], name=op.f("fk_sop_cycle_families_cycle_id_sop_cycles"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sop_cycle_families")),
        sa.UniqueConstraint("cycle_id", "family", name=op.f("uq_sop_cycle_families_cycle_id")),
    )
    op.create_table(
        "sop_capacity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(40), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("units", sa.Numeric(16, 3), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("units >= 0", name=op.f("ck_sop_capacity_units_nonnegative")),
        sa.ForeignKeyConstraint(["cycle_id"], ["sop_cycles.id"], name=op.f("fk_sop_capacity_cycle_id_sop_cycles"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sop_capacity")),
        sa.UniqueConstraint("cycle_id", "family", "period", name=op.f("uq_sop_capacity_cycle_id")),
    )
    op.create_table(
        "sop_demand_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(40), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("units", sa.Numeric(16, 3), nullable=False),
        sa.Column("replaced_units", sa.Numeric(16, 3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("units >= 0", name=op.f("ck_sop_demand_overrides_units_nonnegative")),
        sa.CheckConstraint("length(reason) > 0", name=op.f("ck_sop_demand_overrides_reason_given")),
        sa.ForeignKeyConstraint(["cycle_id"], ["sop_cycles.id"],
                                name=op.f("fk_sop_demand_overrides_cycle_id_sop_cycles"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sop_demand_overrides")),
    )
    op.create_index("ix_sop_demand_overrides_cell", "sop_demand_overrides", ["cycle_id", "family", "period"])
    op.create_table(
        "sop_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(40), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(text) > 0", name=op.f("ck_sop_decisions_text_given")),
        sa.ForeignKeyConstraint(["cycle_id"], ["sop_cycles.id"], name=op.f("fk_sop_decisions_cycle_id_sop_cycles"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sop_decisions")),
    )
    op.create_index("ix_sop_decisions_cycle_id", "sop_decisions", ["cycle_id"])
    op.create_table(
        "sop_business_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(40), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("revenue", sa.Numeric(16, 2), nullable=False),
        sa.Column("imported_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("revenue >= 0", name=op.f("ck_sop_business_plan_revenue_nonnegative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sop_business_plan")),
        sa.UniqueConstraint("family", "period", name=op.f("uq_sop_business_plan_family")),
    )
    op.create_table(
        "sop_plan_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("source IN ('cycle', 'import')", name=op.f("ck_sop_plan_versions_source")),
        sa.ForeignKeyConstraint(["cycle_id"], ["sop_cycles.id"], name=op.f("fk_sop_plan_versions_cycle_id_sop_cycles"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sop_plan_versions")),
        sa.UniqueConstraint("cycle_id", "version", name=op.f("uq_sop_plan_versions_cycle_id")),
    )
    op.create_index("ix_sop_plan_versions_published_at", "sop_plan_versions", ["published_at"])
    op.create_table(
        "sop_plan_cells",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(40), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("demand_units", sa.Numeric(16, 3), nullable=False),
        sa.Column("capacity_units", sa.Numeric(16, 3), nullable=True),
        sa.Column("revenue", sa.Numeric(16, 2), nullable=True),
        sa.CheckConstraint("demand_units >= 0", name=op.f("ck_sop_plan_cells_demand_nonnegative")),
        sa.CheckConstraint("capacity_units IS NULL OR capacity_units >= 0", name=op.f("ck_sop_plan_cells_capacity_nonnegative")),
        sa.CheckConstraint("revenue IS NULL OR revenue >= 0", name=op.f("ck_sop_plan_cells_revenue_nonnegative")),
        sa.ForeignKeyConstraint(["plan_id"], ["sop_plan_versions.id"], name=op.f("fk_sop_plan_cells_plan_id_sop_plan_versions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sop_plan_cells")),
        sa.UniqueConstraint("plan_id", "family", "period", name=op.f("uq_sop_plan_cells_plan_id")),
    )
    for statement in IMMUTABLE_PLAN_DDL.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade():
    for statement in DROP_IMMUTABLE_PLAN_DDL.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    for table in ("sop_plan_cells", "sop_plan_versions", "sop_business_plan", "sop_decisions",
                  "sop_demand_overrides", "sop_capacity", "sop_cycle_families", "sop_cycle_steps", "sop_cycles"):
        op.drop_table(table)
    op.execute("UPDATE users SET role = 'planner' WHERE role = 'finance'")
    _roles(OLD_ROLES)
