"""recordings: call recordings stored, served and analysed (takes over call_recordings)

Revision ID: 20261211_15_recordings
Revises: 20261210_14_rate_limit_counters
Create Date: 2026-12-11

OWNED BY THE RECORDINGS FEATURE (issue #14). One ``recordings`` row per call activity: the
stored file (under RECORDINGS_DIR), its analysis status and the analysis itself.

Data: every ``call_recordings`` row moves here, one per call activity (the new table keeps one
recording per call). Where a call had several, the newest upload wins, else the newest URL;
the others are dropped (uploads: their files stay on disk, unreferenced). Uploads keep their
file name as ``storage_key``: the files stay in instance/call-recordings/, which the storage
reads as a fallback (``crm.recordings.storage.path_for``), and become ``pending`` so the worker
checks and analyses them; URLs become ``linked`` (nothing stored, nothing analysed).
The downgrade copies the rows back to ``call_recordings``.
"""
from alembic import op
import sqlalchemy as sa

import crm.jsontype
import crm.timeutil

revision = "20261211_15_recordings"
down_revision = "20261210_14_rate_limit_counters"
branch_labels = None
depends_on = None

LEGACY_FORMATS = {"wav": "wav", "mp3": "mp3", "ogg": "ogg"}


def _ts(name, nullable=True):
    return sa.Column(name, crm.timeutil.UTCDateTime(timezone=True), nullable=nullable)


def _float(name):
    return sa.Column(name, sa.Float(), nullable=True)


def upgrade():
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("source_url", sa.String(2000), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("heartbeat_at"),
        sa.Column("channels", sa.String(10), nullable=False),
        sa.Column("original_filename", sa.String(255), nullable=True),
        sa.Column("content_type", sa.String(100), nullable=True),
        sa.Column("format", sa.String(10), nullable=True),
        sa.Column("byte_size", sa.BigInteger(), nullable=True),
        sa.Column("storage_key", sa.String(300), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("sample_rate", sa.Integer(), nullable=True),
        sa.Column("channel_count", sa.Integer(), nullable=True),
        _ts("created_at", False),
        _ts("analysed_at"),
        _float("duration_seconds"),
        _float("speech_share"),
        _float("silence_share"),
        _float("rep_speech_seconds"),
        _float("prospect_speech_seconds"),
        _float("talk_ratio_rep"),
        _float("longest_monologue_rep_seconds"),
        _float("longest_monologue_prospect_seconds"),
        _float("prospect_longest_story_seconds"),
        _float("switches_per_minute"),
        sa.Column("waveform", crm.jsontype.JSONType, nullable=True),
        sa.Column("segments", crm.jsontype.JSONType, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'analysing', 'ready', 'failed', 'linked')",
                           name=op.f("ck_recordings_status")),
        sa.CheckConstraint("channels IN ('rep-left', 'rep-right', 'mono')", name=op.f("ck_recordings_channels")),
        sa.CheckConstraint("source IN ('upload', 'url')", name=op.f("ck_recordings_source")),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_recordings_progress")),
        sa.ForeignKeyConstraint(["activity_id"], ["activities.id"], name=op.f("fk_recordings_activity_id_activities"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_recordings_user_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name=op.f("fk_recordings_uploaded_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("activity_id", name=op.f("uq_recordings_activity_id")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_recordings_storage_key")),
    )
    op.create_index("ix_recordings_status_created", "recordings", ["status", "created_at"])
    op.create_index("ix_recordings_user_created", "recordings", ["user_id", "created_at"])
    _move_call_recordings()
    op.drop_index("ix_call_recordings_activity_id", table_name="call_recordings")
    op.drop_table("call_recordings")


def _chosen_legacy_rows(conn) -> list:
    """One call_recordings row per activity: the newest upload, else the newest URL."""
    rows = conn.execute(sa.text(
        "SELECT r.id, r.activity_id, r.source, r.url, r.storage_path, r.content_type, r.size_bytes,"
        " r.created_by_id, r.created_at, a.user_id FROM call_recordings r JOIN activities a ON a.id = r.activity_id"
        " ORDER BY r.activity_id, CASE WHEN r.source = 'upload' THEN 0 ELSE 1 END, r.created_at DESC, r.id DESC"
    )).all()
    chosen, seen = [], set()
    for row in rows:
        if row.activity_id not in seen:
            seen.add(row.activity_id)
            chosen.append(row)
    return chosen


def _move_call_recordings():
    conn = op.get_bind()
    recordings = sa.table(
        "recordings", *(sa.column(name) for name in (
            "activity_id", "user_id", "uploaded_by_id", "source", "source_url", "status", "progress", "attempts",
            "channels", "original_filename", "content_type", "format", "byte_size", "storage_key", "created_at")),
    )
    values = []
    for row in _chosen_legacy_rows(conn):
        upload = row.source == "upload"
        extension = (row.storage_path or "").rsplit(".", 1)[-1].lower()
        values.append({
            "activity_id": row.activity_id, "user_id": row.user_id, "uploaded_by_id": row.created_by_id,
            "source": row.source, "source_url": None if upload else row.url,
            "status": "pending" if upload else "linked", "progress": 0, "attempts": 0,
            "channels": "rep-left", "original_filename": row.storage_path if upload else None,
            "content_type": row.content_type, "format": LEGACY_FORMATS.get(extension) if upload else None,
            "byte_size": row.size_bytes, "storage_key": row.storage_path if upload else None,
            "created_at": row.created_at,
        })
    if values:
        op.bulk_insert(recordings, values)


def downgrade():
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
    # Files uploaded since live under RECORDINGS_DIR, not instance/call-recordings/: their rows
    # come back with their key and the files must be moved by hand (README "Call recordings").
    op.execute(
        "INSERT INTO call_recordings (activity_id, source, url, storage_path, content_type, size_bytes,"
        " created_by_id, created_at) SELECT activity_id, source, source_url, storage_key, content_type, byte_size,"
        " uploaded_by_id, created_at FROM recordings"
    )
    op.drop_index("ix_recordings_user_created", table_name="recordings")
    op.drop_index("ix_recordings_status_created", table_name="recordings")
    op.drop_table("recordings")
