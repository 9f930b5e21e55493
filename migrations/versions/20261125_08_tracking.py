"""tracking: email tracking tokens, events, visitors, page views, IP ranges

Revision ID: 20261125_08_tracking
Revises: 20261125_07_calls
Create Date: 2026-11-25

OWNED BY THE TRACKING FEATURE: its tables go here (write them by hand or autogenerate
against a database at the previous revision, then check ``tests/test_migrations.py``).
"""
from alembic import op
import sqlalchemy as sa

import crm.timeutil

revision = "20261125_08_tracking"
down_revision = "20261125_07_calls"
branch_labels = None
depends_on = None


def _dt(name, nullable=True):
    return sa.Column(name, crm.timeutil.UTCDateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "tracking_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("outbound_email_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        _dt("created_at", False),
        sa.CheckConstraint("kind IN ('open', 'click')", name=op.f("ck_tracking_links_kind")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_tracking_links_contact_id_contacts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_links")),
        sa.UniqueConstraint("token", name=op.f("uq_tracking_links_token")),
    )
    op.create_index(op.f("ix_tracking_links_outbound_email_id"), "tracking_links", ["outbound_email_id"])
    op.create_index(op.f("ix_tracking_links_contact_id"), "tracking_links", ["contact_id"])

    op.create_table(
        "tracking_visitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        _dt("first_seen_at", False),
        _dt("last_seen_at", False),
        _dt("identified_at"),
        sa.Column("identified_by", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_tracking_visitors_contact_id_contacts"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_visitors")),
        sa.UniqueConstraint("key", name=op.f("uq_tracking_visitors_key")),
    )
    op.create_index(op.f("ix_tracking_visitors_contact_id"), "tracking_visitors", ["contact_id"])

    op.create_table(
        "ip_company_ranges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("start_key", sa.String(length=32), nullable=False),
        sa.Column("end_key", sa.String(length=32), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=True),
        _dt("imported_at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ip_company_ranges")),
    )
    op.create_index(op.f("ix_ip_company_ranges_start_key"), "ip_company_ranges", ["start_key"])

    op.create_table(
        "tracked_origins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        _dt("created_at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracked_origins")),
        sa.UniqueConstraint("origin", name=op.f("uq_tracked_origins_origin")),
    )

    op.create_table(
        "tracking_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        _dt("occurred_at", False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("outbound_email_id", sa.Integer(), nullable=True),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("referrer", sa.String(length=2048), nullable=True),
        sa.Column("label", sa.String(length=300), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("company_domain", sa.String(length=253), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("high_value", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('email_opened', 'email_clicked', 'page_viewed', 'form_submitted')",
            name=op.f("ck_tracking_events_kind")),
        sa.CheckConstraint(
            "verdict IN ('human', 'privacy_proxy', 'scanner', 'duplicate')",
            name=op.f("ck_tracking_events_verdict")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_tracking_events_contact_id_contacts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["link_id"], ["tracking_links.id"],
                                name=op.f("fk_tracking_events_link_id_tracking_links"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["visitor_id"], ["tracking_visitors.id"],
                                name=op.f("fk_tracking_events_visitor_id_tracking_visitors"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["activity_id"], ["activities.id"],
                                name=op.f("fk_tracking_events_activity_id_activities"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_events")),
    )
    op.create_index("ix_tracking_events_contact_time", "tracking_events", ["contact_id", "occurred_at"])
    op.create_index("ix_tracking_events_email_time", "tracking_events", ["outbound_email_id", "occurred_at"])
    op.create_index("ix_tracking_events_visitor_time", "tracking_events", ["visitor_id", "occurred_at"])
    op.create_index("ix_tracking_events_kind_time", "tracking_events", ["kind", "occurred_at"])

    op.create_table(
        "tracking_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        _dt("received_at", False),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("visitor", sa.String(length=64), nullable=True),
        sa.Column("pc", sa.String(length=200), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("referrer", sa.String(length=2048), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.CheckConstraint("kind IN ('open', 'click', 'view')", name=op.f("ck_tracking_inbox_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_inbox")),
    )


def downgrade():
    op.drop_table("tracking_inbox")
    op.drop_table("tracking_events")
    op.drop_table("tracked_origins")
    op.drop_index(op.f("ix_ip_company_ranges_start_key"), table_name="ip_company_ranges")
    op.drop_table("ip_company_ranges")
    op.drop_index(op.f("ix_tracking_visitors_contact_id"), table_name="tracking_visitors")
    op.drop_table("tracking_visitors")
    op.drop_index(op.f("ix_tracking_links_contact_id"), table_name="tracking_links")
    op.drop_index(op.f("ix_tracking_links_outbound_email_id"), table_name="tracking_links")
    op.drop_table("tracking_links")
