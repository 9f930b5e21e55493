"""rep's day: lead_routing_rules (who owns a contact a website form creates)

Revision ID: 20261214_28_rep_day
Revises: 20261214_23_planner_numbers
Create Date: 2026-12-14

OWNED BY THE ROUTING FEATURE (issue #20).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "20261214_28_rep_day"
down_revision = "20261214_23_planner_numbers"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "lead_routing_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("match", sa.String(200), nullable=True),
        sa.Column("rep_ids", JSON, nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('company_owner', 'country', 'time_zone', 'round_robin')",
                           name="ck_lead_routing_rules_kind"),
    )


def downgrade():
    op.drop_table("lead_routing_rules")
