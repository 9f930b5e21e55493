"""meetings: meeting types, availability, external calendars, meetings

Revision ID: 20261125_06_meetings
Revises: 20261125_05_mail
Create Date: 2026-11-25

OWNED BY THE MEETINGS FEATURE: its tables go here (write them by hand or autogenerate
against a database at the previous revision, then check ``tests/test_migrations.py``).
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

from sqlalchemy.dialects import postgresql
import crm.timeutil  # noqa: F401

revision = "20261125_06_meetings"
down_revision = "20261125_05_mail"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "meeting_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("weekly_hours", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("buffer_before_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_after_minutes", sa.Integer(), nullable=False),
        sa.Column("min_notice_hours", sa.Integer(), nullable=False),
        sa.Column("not_today", sa.Boolean(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("increment_minutes", sa.Integer(), nullable=False),
        sa.Column("daily_max", sa.Integer(), nullable=True),
        sa.Column("location_kind", sa.String(length=16), nullable=False),
        sa.Column("location_value", sa.String(length=500), nullable=False),
        sa.Column("questions", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("duration_minutes > 0 AND duration_minutes <= 720", name=op.f("ck_meeting_types_duration")),
        sa.CheckConstraint("location_kind IN ('video', 'phone', 'address', 'none')",
                           name=op.f("ck_meeting_types_location_kind")),
        sa.CheckConstraint("slug = lower(slug)", name=op.f("ck_meeting_types_slug_lower")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_meeting_types_owner_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_types")),
        sa.UniqueConstraint("slug", name=op.f("uq_meeting_types_slug")),
    )
    op.create_index(op.f("ix_meeting_types_owner_id"), "meeting_types", ["owner_id"], unique=False)
    op.create_table(
        "meeting_type_members",
        sa.Column("meeting_type_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_type_id"], ["meeting_types.id"],
                                name=op.f("fk_meeting_type_members_meeting_type_id_meeting_types"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_meeting_type_members_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("meeting_type_id", "user_id", name=op.f("pk_meeting_type_members")),
    )
    op.create_table(
        "meeting_host_locks",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_meeting_host_locks_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_meeting_host_locks")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_type_id", sa.Integer(), nullable=True),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("start_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("buffer_before_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_after_minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("uid", sa.String(length=120), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("guest_name", sa.String(length=200), nullable=False),
        sa.Column("guest_email", sa.String(length=254), nullable=False),
        sa.Column("guest_time_zone", sa.String(length=64), nullable=False),
        sa.Column("answers", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("location_kind", sa.String(length=16), nullable=False),
        sa.Column("location_value", sa.String(length=500), nullable=False),
        sa.Column("source_enrollment_id", sa.Integer(), nullable=True),
        sa.Column("source_step_id", sa.Integer(), nullable=True),
        sa.Column("cancelled_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_meetings_time_order")),
        sa.CheckConstraint("status IN ('confirmed', 'cancelled')", name=op.f("ck_meetings_status")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_meetings_contact_id_contacts"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["host_id"], ["users.id"], name=op.f("fk_meetings_host_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["meeting_type_id"], ["meeting_types.id"],
                                name=op.f("fk_meetings_meeting_type_id_meeting_types"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        sa.UniqueConstraint("uid", name=op.f("uq_meetings_uid")),
    )
    op.create_index(op.f("ix_meetings_contact_id"), "meetings", ["contact_id"], unique=False)
    op.create_index("ix_meetings_host_start", "meetings", ["host_id", "start_at"], unique=False)
    op.create_index("ix_meetings_type_created", "meetings", ["meeting_type_id", "created_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # No two confirmed meetings of one host may overlap: the database's last word on
        # double booking, whatever the application does.
        op.execute(
            "ALTER TABLE meetings ADD CONSTRAINT meetings_no_overlap EXCLUDE USING gist "
            "(host_id WITH =, tstzrange(start_at, end_at) WITH &&) WHERE (status = 'confirmed')"
        )
    op.create_table(
        "external_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("last_fetched_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('url', 'file')", name=op.f("ck_external_calendars_kind")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_external_calendars_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_calendars")),
    )
    op.create_index(op.f("ix_external_calendars_user_id"), "external_calendars", ["user_id"], unique=False)
    op.create_table(
        "external_busy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("start_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["external_calendars.id"],
                                name=op.f("fk_external_busy_calendar_id_external_calendars"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_external_busy_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_busy")),
    )
    op.create_index(op.f("ix_external_busy_calendar_id"), "external_busy", ["calendar_id"], unique=False)
    op.create_index("ix_external_busy_user_start", "external_busy", ["user_id", "start_at"], unique=False)


def downgrade():
    op.drop_table("external_busy")
    op.drop_table("external_calendars")
    op.drop_table("meetings")
    op.drop_table("meeting_host_locks")
    op.drop_table("meeting_type_members")
    op.drop_table("meeting_types")
