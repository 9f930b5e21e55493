"""supply_scenarios: each family's cost settings and the plan chosen in a cycle's supply review

Revision ID: 20261214_22_supply_scenarios
Revises: 20261214_21_languages
Create Date: 2026-12-14

OWNED BY SUPPLY SCENARIOS (issue #16, ``planning_bridge/supply``). ``supply_family_costs``:
one row per family a planner has given costs (money in the base currency); the others plan
with the defaults. ``supply_cycle_plans``: the scenarios chosen with "use this plan", kept
(the latest per cycle and family is in use).
"""
from alembic import op
import sqlalchemy as sa

from sqlalchemy.dialects import postgresql

import crm.timeutil  # noqa: F401

revision = "20261214_22_supply_scenarios"
down_revision = "20261214_21_languages"
branch_labels = None
depends_on = None

RATE = sa.Numeric(14, 4)
QUANTITY = sa.Numeric(16, 3)
MONEY = sa.Numeric(16, 2)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
COSTS = ("material", "holding", "backlog", "hiring", "layoff", "regular_hourly", "overtime_hourly", "subcontract")


def upgrade():
    op.create_table(
        "supply_family_costs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(40), nullable=False),
        sa.Column("price", MONEY, nullable=True),
        *[sa.Column(name, RATE, nullable=False) for name in COSTS],
        sa.Column("labour_hours_per_unit", RATE, nullable=False),
        sa.Column("hours_per_worker_month", RATE, nullable=False),
        sa.Column("max_overtime_hours_per_worker", RATE, nullable=False),
        sa.Column("start_workers", QUANTITY, nullable=False),
        sa.Column("max_workforce", QUANTITY, nullable=True),
        sa.Column("max_subcontract", QUANTITY, nullable=True),
        sa.Column("max_inventory", QUANTITY, nullable=True),
        sa.Column("integer_workers", sa.Boolean(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        *[sa.CheckConstraint(f"{name} >= 0", name=op.f(f"ck_supply_family_costs_{name}_nonnegative"))
          for name in COSTS + ("start_workers", "max_overtime_hours_per_worker")],
        sa.CheckConstraint("labour_hours_per_unit > 0", name=op.f("ck_supply_family_costs_labour_hours_positive")),
        sa.CheckConstraint("hours_per_worker_month > 0", name=op.f("ck_supply_family_costs_hours_positive")),
        sa.CheckConstraint("price IS NULL OR price >= 0", name=op.f("ck_supply_family_costs_price_nonnegative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_family_costs")),
        sa.UniqueConstraint("family", name=op.f("uq_supply_family_costs_family")),
    )
    op.create_table(
        "supply_cycle_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(40), nullable=False),
        sa.Column("strategy", sa.String(12), nullable=False),
        sa.Column("promotion_period", sa.String(7), nullable=True),
        sa.Column("scenario", JSON, nullable=False),
        sa.Column("plan", JSON, nullable=False),
        sa.Column("total_cost", MONEY, nullable=False),
        sa.Column("revenue", MONEY, nullable=False),
        sa.Column("profit", MONEY, nullable=False),
        sa.Column("chosen_by_id", sa.Integer(), nullable=True),
        sa.Column("chosen_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("strategy IN ('optimal', 'chase', 'level', 'planner')",
                           name=op.f("ck_supply_cycle_plans_strategy")),
        sa.ForeignKeyConstraint(["cycle_id"], ["sop_cycles.id"], name=op.f("fk_supply_cycle_plans_cycle_id_sop_cycles"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_cycle_plans")),
    )
    op.create_index("ix_supply_cycle_plans_cycle_family", "supply_cycle_plans", ["cycle_id", "family"])


def downgrade():
    op.drop_index("ix_supply_cycle_plans_cycle_family", table_name="supply_cycle_plans")
    op.drop_table("supply_cycle_plans")
    op.drop_table("supply_family_costs")
