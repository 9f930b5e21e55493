"""languages: users.language and users.signature, contacts.language

Revision ID: 20261214_21_languages
Revises: 20261213_20_imap_accounts
Create Date: 2026-12-14

OWNED BY THE I18N FEATURE (issue #17). A user's page language ('en' by default, so nothing
changes for existing users) and mail signature; a contact's language (empty: the owner's).
"""
from alembic import op
import sqlalchemy as sa

revision = "20261214_21_languages"
down_revision = "20261213_20_imap_accounts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=False, server_default="en"))
        batch.add_column(sa.Column("signature", sa.Text(), nullable=True))
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))


def downgrade():
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("signature")
        batch.drop_column("language")
