"""calls: time blocks, call settings, call queue, callbacks and follow-ups, scripts, recordings

Revision ID: 20261125_07_calls
Revises: 20261125_06_meetings
Create Date: 2026-11-25

OWNED BY THE CALLS FEATURE.
"""
from alembic import op
import sqlalchemy as sa

import crm.jsontype
import crm.timeutil

revision = "20261125_07_calls"
down_revision = "20261125_06_meetings"
branch_labels = None
depends_on = None


def _ts(name, nullable=True):
    return sa.Column(name, crm.timeutil.UTCDateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_index("ix_activities_kind_time", "activities", ["kind", "occurred_at"])
    op.create_table(
        "call_time_blocks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("weekdays", sa.String(7), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        _ts("created_at", False),
        sa.CheckConstraint("kind IN ('recurring', 'one_off')", name=op.f("ck_call_time_blocks_kind")),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_call_time_blocks_ends_after_start")),
        sa.CheckConstraint("kind <> 'one_off' OR on_date IS NOT NULL", name=op.f("ck_call_time_blocks_one_off_has_date")),
    )
    op.create_index("ix_call_time_blocks_user_id", "call_time_blocks", ["user_id"])
    op.create_table(
        "call_settings",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("calls_per_hour", sa.Integer(), nullable=False),
        sa.Column("feed_token", sa.String(64), nullable=False),
        sa.UniqueConstraint("feed_token", name=op.f("uq_call_settings_feed_token")),
        _ts("feed_token_created_at", False),
        sa.Column("queue_built_on", sa.Date(), nullable=True),
    )
    op.create_table(
        "call_tasks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        _ts("due_at", False),
        _ts("done_at"),
        sa.Column("activity_id", sa.Integer(), sa.ForeignKey("activities.id", ondelete="SET NULL"), nullable=True),
        _ts("created_at", False),
        sa.CheckConstraint("kind IN ('callback', 'follow_up')", name=op.f("ck_call_tasks_kind")),
    )
    op.create_index("ix_call_tasks_user_open_due", "call_tasks", ["user_id", "done_at", "due_at"])
    op.create_index("ix_call_tasks_contact_id", "call_tasks", ["contact_id"])
    op.create_table(
        "call_queue_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("queue_date", sa.Date(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reason_code", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("priority", sa.Double(), nullable=False),
        _ts("due_at", False),
        _ts("held_until"),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("callback_id", sa.Integer(), sa.ForeignKey("call_tasks.id", ondelete="SET NULL"), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("activity_id", sa.Integer(), sa.ForeignKey("activities.id", ondelete="SET NULL"), nullable=True),
        _ts("logged_at"),
        _ts("created_at", False),
        sa.CheckConstraint("status IN ('queued', 'done', 'skipped')", name=op.f("ck_call_queue_entries_status")),
    )
    op.create_index("ix_call_queue_user_day_position", "call_queue_entries", ["user_id", "queue_date", "position"])
    op.create_index("uq_call_queue_open_contact", "call_queue_entries", ["user_id", "queue_date", "contact_id"],
                    unique=True, sqlite_where=sa.text("status = 'queued'"),
                    postgresql_where=sa.text("status = 'queued'"))
    op.create_index("ix_call_queue_entries_contact_id", "call_queue_entries", ["contact_id"])
    op.create_table(
        "call_scripts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.UniqueConstraint("name", name=op.f("uq_call_scripts_name")),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("objections", crm.jsontype.JSONType, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        _ts("updated_at", False),
    )
    op.create_table(
        "call_recordings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("activity_id", sa.Integer(), sa.ForeignKey("activities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("url", sa.String(2000), nullable=True),
        sa.Column("storage_path", sa.String(300), nullable=True),
        sa.Column("content_type", sa.String(100), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        _ts("created_at", False),
        sa.CheckConstraint("source IN ('upload', 'url')", name=op.f("ck_call_recordings_source")),
    )
    op.create_index("ix_call_recordings_activity_id", "call_recordings", ["activity_id"])


def downgrade():
    op.drop_table("call_recordings")
    op.drop_table("call_scripts")
    op.drop_table("call_queue_entries")
    op.drop_table("call_tasks")
    op.drop_table("call_settings")
    op.drop_table("call_time_blocks")
    op.drop_index("ix_activities_kind_time", table_name="activities")
