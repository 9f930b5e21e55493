"""outbound mail robustness: meeting invites go through the outbox

Revision ID: 20261213_19_outbound_robust
Revises: 20261212_18_sales_targets
Create Date: 2026-12-13

OWNED BY MAIL (issue #24). ``outbound_emails`` takes a third kind, ``invite``: the booking,
reschedule and cancel of a meeting queue their invites in the booking's transaction, and the
send tick sends and retries them like any email. An invite carries its iCalendar object
(``calendar_ics``) and METHOD (``calendar_method``); every invite has one and no other kind
does. Existing rows are sequence or one-off emails: nothing to migrate.
"""
from alembic import op
import sqlalchemy as sa

revision = "20261213_19_outbound_robust"
down_revision = "20261212_18_sales_targets"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbound_emails") as batch:
        batch.add_column(sa.Column("calendar_ics", sa.Text(), nullable=True))
        batch.add_column(sa.Column("calendar_method", sa.String(16), nullable=True))
        batch.drop_constraint(op.f("ck_outbound_emails_kind"), type_="check")
        batch.create_check_constraint("kind", "kind IN ('sequence', 'one_off', 'invite')")
        batch.create_check_constraint("invite_calendar", "(kind = 'invite') = (calendar_ics IS NOT NULL)")


def downgrade():
    op.execute("DELETE FROM outbound_emails WHERE kind = 'invite'")
    with op.batch_alter_table("outbound_emails") as batch:
        batch.drop_constraint(op.f("ck_outbound_emails_invite_calendar"), type_="check")
        batch.drop_constraint(op.f("ck_outbound_emails_kind"), type_="check")
        batch.create_check_constraint("kind", "kind IN ('sequence', 'one_off')")
        batch.drop_column("calendar_method")
        batch.drop_column("calendar_ics")
