"""scoring: rules_revision, the per-process rules cache key

Revision ID: 20261207_11_scoring_rules_rev
Revises: 20261125_10_outbox_recorded
Create Date: 2026-12-07

OWNED BY THE SCORING FEATURE. The cached ruleset was keyed on the settings' ``updated_at``,
which only changes when the clock moves: two changes in the same instant (a frozen test clock,
or two edits within the clock's resolution) left the old rules cached. A random token renewed
by every change cannot collide, not even with a database emptied and changed again.
"""
import uuid

from alembic import op
import sqlalchemy as sa

revision = "20261207_11_scoring_rules_rev"
down_revision = "20261125_10_outbox_recorded"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("scoring_settings") as batch:
        batch.add_column(sa.Column("rules_revision", sa.String(32), nullable=True))
    op.execute(sa.text("UPDATE scoring_settings SET rules_revision = :token").bindparams(token=uuid.uuid4().hex))
    with op.batch_alter_table("scoring_settings") as batch:
        batch.alter_column("rules_revision", existing_type=sa.String(32), nullable=False)


def downgrade():
    with op.batch_alter_table("scoring_settings") as batch:
        batch.drop_column("rules_revision")
