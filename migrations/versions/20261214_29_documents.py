"""documents: tracked documents and videos (issue #21)

Revision ID: 20261214_29_documents
Revises: 20261214_22_supply_scenarios
Create Date: 2026-12-14

OWNED BY THE DOCUMENTS FEATURE. The team library (content_folders, content_items), rendered
pages (content_pages), share links per contact (content_links), the browsers known to read a
link (content_readers), forwards (content_forwards), viewing sessions (content_views) and their
seconds per page (content_page_times). Installs that already have scoring rules get the two new
engagement rules (a shared document read, a shared video watched: 8 points each).
"""
from alembic import op
import sqlalchemy as sa

from crm.timeutil import UTCDateTime

revision = "20261214_29_documents"
down_revision = "20261214_22_supply_scenarios"
branch_labels = None
depends_on = None

NEW_RULES = (("document_viewed", 8.0, "shared documents"), ("video_watched", 8.0, "shared videos"))


def upgrade():
    op.create_table(
        "content_folders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("team_id", "name", name="uq_content_folders_team_name"),
    )
    op.create_table(
        "content_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("folder_id", sa.Integer(), sa.ForeignKey("content_folders.id", ondelete="SET NULL"), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.Column("source", sa.String(10), nullable=True),
        sa.Column("external_url", sa.String(2000), nullable=True),
        sa.Column("original_filename", sa.String(255), nullable=True),
        sa.Column("content_type", sa.String(100), nullable=True),
        sa.Column("byte_size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("storage_key", sa.String(300), nullable=True),
        sa.Column("thumbnail_key", sa.String(300), nullable=True),
        sa.Column("poster_key", sa.String(300), nullable=True),
        sa.Column("email_image_key", sa.String(300), nullable=True),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("use_in_emails", sa.Boolean(), nullable=False),
        sa.CheckConstraint("kind IN ('document', 'video')", name="ck_content_items_kind"),
        sa.CheckConstraint("status IN ('queued', 'running', 'ready', 'failed')", name="ck_content_items_status"),
        sa.CheckConstraint("source IS NULL OR source IN ('upload', 'url')", name="ck_content_items_source"),
    )
    op.create_index("ix_content_items_status_created", "content_items", ["status", "created_at"])
    op.create_index("ix_content_items_team_kind", "content_items", ["team_id", "kind", "created_at"])
    op.create_table(
        "content_pages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("content_items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("image_key", sa.String(300), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.UniqueConstraint("item_id", "number", name="uq_content_pages_item_number"),
    )
    op.create_table(
        "content_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("content_items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("nonce", sa.String(32), nullable=False, unique=True),
        sa.Column("allow_download", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_key", sa.String(64), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("source IN ('share', 'email')", name="ck_content_links_source"),
    )
    op.create_index("ix_content_links_item", "content_links", ["item_id", "created_at"])
    op.create_index("ix_content_links_contact", "content_links", ["contact_id", "created_at"])
    op.create_table(
        "content_readers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("link_id", sa.Integer(), sa.ForeignKey("content_links.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reader_key", sa.String(64), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("link_id", "reader_key", name="uq_content_readers_link_key"),
    )
    op.create_table(
        "content_forwards",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("link_id", sa.Integer(), sa.ForeignKey("content_links.id", ondelete="CASCADE"), nullable=False),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("content_items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("forwarded_by_id", sa.Integer(), sa.ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("link_id", "contact_id", name="uq_content_forwards_link_contact"),
    )
    op.create_index("ix_content_forwards_item_id", "content_forwards", ["item_id"])
    op.create_table(
        "content_views",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("view_key", sa.String(64), nullable=False, unique=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("content_items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("link_id", sa.Integer(), sa.ForeignKey("content_links.id", ondelete="CASCADE"), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=True),
        sa.Column("activity_id", sa.Integer(), sa.ForeignKey("activities.id", ondelete="SET NULL"), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("total_seconds", sa.Float(), nullable=False),
        sa.Column("watched_percent", sa.Integer(), nullable=False),
    )
    op.create_index("ix_content_views_item_time", "content_views", ["item_id", "started_at"])
    op.create_index("ix_content_views_contact_time", "content_views", ["contact_id", "started_at"])
    op.create_table(
        "content_page_times",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("view_id", sa.Integer(), sa.ForeignKey("content_views.id", ondelete="CASCADE"), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.UniqueConstraint("view_id", "page", name="uq_content_page_times_view_page"),
    )
    _add_scoring_rules()


def _add_scoring_rules():
    """Only where the scoring rules were installed already (else the defaults, which include
    these two, are installed on first use)."""
    bind = op.get_bind()
    if not bind.execute(sa.text("SELECT COUNT(*) FROM scoring_rules")).scalar():
        return
    position = bind.execute(sa.text("SELECT COALESCE(MAX(position), 0) FROM scoring_rules")).scalar()
    for offset, (kind, points, label) in enumerate(NEW_RULES, start=1):
        if bind.execute(sa.text("SELECT COUNT(*) FROM scoring_rules WHERE kind = :k"), {"k": kind}).scalar():
            continue
        bind.execute(sa.text("INSERT INTO scoring_rules (kind, url_contains, points, label, position) "
                             "VALUES (:k, NULL, :p, :l, :pos)"),
                     {"k": kind, "p": points, "l": label, "pos": position + offset})


def downgrade():
    op.get_bind().execute(sa.text("DELETE FROM scoring_rules WHERE kind IN ('document_viewed', 'video_watched')"))
    for table in ("content_page_times", "content_views", "content_forwards", "content_readers", "content_links",
                  "content_pages", "content_items", "content_folders"):
        op.drop_table(table)
