"""money: the company's base currency and dated exchange rates (issue #17)

Revision ID: 20261214_25_money
Revises: 20261214_29_documents
Create Date: 2026-12-14

OWNED BY THE MONEY FEATURE. Existing installs get EUR as their base currency (every deal so
far defaulted to EUR), so no total changes on upgrade.
"""
from alembic import op
import sqlalchemy as sa

import crm.timeutil

revision = "20261214_25_money"
down_revision = "20261214_29_documents"
branch_labels = None
depends_on = None


def upgrade():
    settings = op.create_table(
        "company_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("base_currency", sa.String(3), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_company_settings_single_row")),
    )
    op.bulk_insert(settings, [{"id": 1, "base_currency": "EUR"}])
    op.create_table(
        "exchange_rates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("base", sa.String(3), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("rate", sa.Numeric(18, 8), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.UniqueConstraint("base", "currency", "valid_from", name=op.f("uq_exchange_rates_base")),
        sa.CheckConstraint("rate > 0", name=op.f("ck_exchange_rates_rate_positive")),
        sa.CheckConstraint("currency <> base", name=op.f("ck_exchange_rates_not_the_base")),
    )


def downgrade():
    op.drop_table("exchange_rates")
    op.drop_table("company_settings")
