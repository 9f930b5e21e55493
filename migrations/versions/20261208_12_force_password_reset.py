"""users.must_change_password: an administrator's forced password reset

Revision ID: 20261208_12_force_password_reset
Revises: 20261207_11_scoring_rules_rev
Create Date: 2026-12-08

OWNED BY AUTH (issue #19). Set by ``crm.auth.services.force_password_reset``; while it is set the
user can reach nothing but the page to choose a new password. Existing users start without it
(the server default fills the rows already there).
"""
from alembic import op
import sqlalchemy as sa

revision = "20261208_12_force_password_reset"
down_revision = "20261207_11_scoring_rules_rev"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
