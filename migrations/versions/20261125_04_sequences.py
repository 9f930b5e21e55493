"""sequences: templates, sequences, steps, enrollments, tasks

Revision ID: 20261125_04_sequences
Revises: 20261125_03_flags
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import crm.timeutil

revision = "20261125_04_sequences"
down_revision = "20261125_03_flags"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
LIVE = sa.text("status IN ('active', 'paused')")


def _ts(name, nullable=False):
    return sa.Column(name, crm.timeutil.UTCDateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "email_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        _ts("created_at"), _ts("updated_at"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="fk_email_templates_owner_id_users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_email_templates"),
    )
    op.create_table(
        "sequences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("send_days", JSON, nullable=False),
        sa.Column("window_start_minute", sa.Integer(), nullable=False),
        sa.Column("window_end_minute", sa.Integer(), nullable=False),
        sa.Column("colleague_reply_stops", sa.Boolean(), nullable=False),
        _ts("created_at"), _ts("updated_at"),
        sa.CheckConstraint("window_start_minute >= 0 AND window_start_minute < window_end_minute "
                           "AND window_end_minute <= 1440", name="ck_sequences_send_window"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="fk_sequences_owner_id_users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_sequences"),
    )
    op.create_table(
        "sequence_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sequence_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("delay_days", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(500), nullable=True),
        sa.Column("text_body", sa.Text(), nullable=True),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("new_thread", sa.Boolean(), nullable=False),
        sa.Column("task_note", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('auto_email', 'manual_email', 'call', 'social')", name="ck_sequence_steps_step_kind"),
        sa.CheckConstraint("delay_days >= 0 AND delay_days <= 365", name="ck_sequence_steps_delay_days"),
        sa.ForeignKeyConstraint(["sequence_id"], ["sequences.id"], name="fk_sequence_steps_sequence_id_sequences",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["template_id"], ["email_templates.id"],
                                name="fk_sequence_steps_template_id_email_templates", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_sequence_steps"),
    )
    op.create_index("ix_sequence_steps_sequence_position", "sequence_steps", ["sequence_id", "position"])
    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sequence_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stop_reason", sa.String(32), nullable=True),
        sa.Column("pause_reason", sa.String(32), nullable=True),
        _ts("paused_at", True), _ts("paused_until", True),
        sa.Column("current_step_id", sa.Integer(), nullable=True),
        sa.Column("completed_step_ids", JSON, nullable=False),
        _ts("next_due_at", True),
        sa.Column("awaiting", sa.String(16), nullable=True),
        sa.Column("pending_email_id", sa.Integer(), nullable=True),
        sa.Column("thread_message_id", sa.String(300), nullable=True),
        sa.Column("thread_subject", sa.String(500), nullable=True),
        sa.Column("soft_bounce_count", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("enrolled_by_id", sa.Integer(), nullable=True),
        _ts("created_at"), _ts("updated_at"), _ts("ended_at", True),
        sa.CheckConstraint("status IN ('active', 'paused', 'finished', 'stopped')", name="ck_enrollments_enrollment_status"),
        sa.ForeignKeyConstraint(["sequence_id"], ["sequences.id"], name="fk_enrollments_sequence_id_sequences", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name="fk_enrollments_contact_id_contacts", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_enrollments_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["current_step_id"], ["sequence_steps.id"],
                                name="fk_enrollments_current_step_id_sequence_steps", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["enrolled_by_id"], ["users.id"], name="fk_enrollments_enrolled_by_id_users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_enrollments"),
    )
    op.create_index("ix_enrollments_one_live_per_contact", "enrollments", ["contact_id"], unique=True,
                    postgresql_where=LIVE, sqlite_where=LIVE)
    op.create_index("ix_enrollments_status_due", "enrollments", ["status", "next_due_at"])
    op.create_index("ix_enrollments_user_status", "enrollments", ["user_id", "status"])
    op.create_index("ix_enrollments_sequence_status", "enrollments", ["sequence_id", "status"])
    op.create_index("ix_enrollments_paused_until", "enrollments", ["paused_until"])
    op.create_table(
        "sequence_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _ts("due_at"), _ts("done_at", True),
        sa.Column("outcome", sa.String(40), nullable=True),
        sa.Column("outbound_email_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.CheckConstraint("kind IN ('call', 'social', 'manual_email')", name="ck_sequence_tasks_task_kind"),
        sa.UniqueConstraint("enrollment_id", "step_id", name="uq_sequence_tasks_enrollment_step"),
        sa.ForeignKeyConstraint(["enrollment_id"], ["enrollments.id"], name="fk_sequence_tasks_enrollment_id_enrollments",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["step_id"], ["sequence_steps.id"], name="fk_sequence_tasks_step_id_sequence_steps",
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name="fk_sequence_tasks_contact_id_contacts",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="fk_sequence_tasks_owner_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_sequence_tasks"),
    )
    op.create_index("ix_sequence_tasks_contact_id", "sequence_tasks", ["contact_id"])
    op.create_index("ix_sequence_tasks_owner_open", "sequence_tasks", ["owner_id", "done_at", "due_at"])


def downgrade():
    op.drop_table("sequence_tasks")
    op.drop_table("enrollments")
    op.drop_table("sequence_steps")
    op.drop_table("sequences")
    op.drop_table("email_templates")
