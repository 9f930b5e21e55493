"""scoring and alerts: scoring rules, contact scores, models, alerts

Revision ID: 20261125_09_scoring
Revises: 20261125_08_tracking
Create Date: 2026-11-25

OWNED BY THE SCORING FEATURE.
"""
from alembic import op
import sqlalchemy as sa

import crm.timeutil
import crm.jsontype

revision = "20261125_09_scoring"
down_revision = "20261125_08_tracking"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "score_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("occurred_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_score_events_contact_time", "score_events", ["contact_id", "occurred_at"])
    op.create_table(
        "contact_scores",
        sa.Column("contact_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("engagement", sa.Double(), nullable=False),
        sa.Column("engagement_as_of", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fit", sa.Double(), nullable=False),
        sa.Column("predictive", sa.Double(), nullable=True),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("rank_key", sa.Double(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("contact_id"),
    )
    op.create_index("ix_contact_scores_rank", "contact_scores", ["rank_key", "contact_id"])
    op.create_index("ix_contact_scores_owner_rank", "contact_scores", ["owner_id", "rank_key", "contact_id"])
    op.create_table(
        "scoring_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("url_contains", sa.String(length=300), nullable=True),
        sa.Column("points", sa.Double(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "fit_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attribute", sa.String(length=20), nullable=False),
        sa.Column("match", sa.String(length=300), nullable=True),
        sa.Column("min_value", sa.Integer(), nullable=True),
        sa.Column("max_value", sa.Integer(), nullable=True),
        sa.Column("points", sa.Double(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.CheckConstraint("attribute IN ('title', 'company_size', 'industry')", name=op.f("ck_fit_rules_attribute")),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "scoring_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("half_life_days", sa.Double(), nullable=False),
        sa.Column("saturation_points", sa.Double(), nullable=False),
        sa.Column("needs_recompute", sa.Boolean(), nullable=False),
        sa.Column("fit_checked_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "scoring_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("metrics", crm.jsontype.JSONType, nullable=False),
        sa.Column("feature_names", crm.jsontype.JSONType, nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alerts_user_id_id", "alerts", ["user_id", "id"])


def downgrade():
    op.drop_index("ix_alerts_user_id_id", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("scoring_models")
    op.drop_table("scoring_settings")
    op.drop_table("fit_rules")
    op.drop_table("scoring_rules")
    op.drop_index("ix_contact_scores_owner_rank", table_name="contact_scores")
    op.drop_index("ix_contact_scores_rank", table_name="contact_scores")
    op.drop_table("contact_scores")
    op.drop_index("ix_score_events_contact_time", table_name="score_events")
    op.drop_table("score_events")
