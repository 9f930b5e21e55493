"""imports: detected delimiter and reading settings, claim tokens, footer notes, mapping presets

Revision ID: 20261214_26_imports
Revises: 20261214_28_rep_day
Create Date: 2026-12-14

OWNED BY THE IMPORTS FEATURE (issue #18). ``import_jobs`` keeps the delimiter and how cells are
read (day-first dates, a default product family), the token of the claim that runs it (a
worker whose claim was taken over cannot commit), and how many footer lines were skipped;
``import_rejections.kind`` tells rejected rows from notes; ``import_presets`` are saved mappings.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import crm.timeutil

revision = "20261214_26_imports"
down_revision = "20261214_28_rep_day"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    with op.batch_alter_table("import_jobs") as batch:
        batch.add_column(sa.Column("delimiter", sa.String(4), nullable=True))
        batch.add_column(sa.Column("settings", JSON, nullable=True))
        batch.add_column(sa.Column("noted_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("claim_token", sa.String(32), nullable=True))
    with op.batch_alter_table("import_rejections") as batch:
        batch.add_column(sa.Column("kind", sa.String(8), nullable=False, server_default="rejected"))
        batch.create_check_constraint(op.f("ck_import_rejections_kind"), "kind IN ('rejected', 'note')")
    op.create_table(
        "import_presets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("mapping", JSON, nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('contacts', 'deals')", name=op.f("ck_import_presets_kind")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_import_presets_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_presets")),
        sa.UniqueConstraint("user_id", "kind", "name", name="uq_import_presets_user_kind_name"),
    )
    with op.batch_alter_table("import_presets") as batch:
        batch.create_index(batch.f("ix_import_presets_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("import_presets") as batch:
        batch.drop_index(batch.f("ix_import_presets_user_id"))
    op.drop_table("import_presets")
    with op.batch_alter_table("import_rejections") as batch:
        batch.drop_constraint(op.f("ck_import_rejections_kind"), type_="check")
        batch.drop_column("kind")
    with op.batch_alter_table("import_jobs") as batch:
        batch.drop_column("claim_token")
        batch.drop_column("noted_count")
        batch.drop_column("settings")
        batch.drop_column("delimiter")
