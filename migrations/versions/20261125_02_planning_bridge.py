"""planning bridge tables

Revision ID: 20261125_02_planning
Revises: 65d837ec8ed3
Create Date: 2026-11-25

The planning bridge's own tables: deals imported from another CRM, actual orders, per-family
settings, outlier decisions, snapshots and their rows. No foreign keys into the CRM's tables.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import crm.timeutil  # noqa: F401

revision = "20261125_02_planning"
down_revision = "65d837ec8ed3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('planning_actuals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('family', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('units', sa.Double(), nullable=False),
    sa.Column('revenue', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('imported_at', crm.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('units >= 0', name=op.f('ck_planning_actuals_units_nonnegative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planning_actuals')),
    sa.UniqueConstraint('family', 'period', name=op.f('uq_planning_actuals_family'))
    )
    op.create_table('planning_family_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('family', sa.String(length=40), nullable=False),
    sa.Column('combine_rule', sa.String(length=30), nullable=False),
    sa.Column('commit_stage', sa.String(length=60), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', crm.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("combine_rule IN ('pipeline', 'baseline', 'baseline_plus_pipeline')", name=op.f('ck_planning_family_settings_combine_rule')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planning_family_settings')),
    sa.UniqueConstraint('family', name=op.f('uq_planning_family_settings_family'))
    )
    op.create_table('planning_imported_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.String(length=100), nullable=False),
    sa.Column('family', sa.String(length=40), nullable=False),
    sa.Column('quantity', sa.Double(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('stage', sa.String(length=60), nullable=False),
    sa.Column('probability', sa.Numeric(precision=6, scale=5), nullable=True),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('expected_close', sa.Date(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('won', sa.Boolean(), nullable=True),
    sa.Column('imported_at', crm.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(closed_on IS NULL) = (won IS NULL)', name=op.f('ck_planning_imported_lines_closed_has_outcome')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_planning_imported_lines_amount_nonnegative')),
    sa.CheckConstraint('probability IS NULL OR (probability >= 0 AND probability <= 1)', name=op.f('ck_planning_imported_lines_probability_range')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_planning_imported_lines_quantity_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planning_imported_lines'))
    )
    with op.batch_alter_table('planning_imported_lines', schema=None) as batch_op:
        batch_op.create_index('ix_planning_imported_lines_family', ['family'], unique=False)

    op.create_table('planning_outlier_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('family', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('original_units', sa.Double(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', crm.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planning_outlier_overrides')),
    sa.UniqueConstraint('family', 'period', name=op.f('uq_planning_outlier_overrides_family'))
    )
    op.create_table('planning_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('taken_at', crm.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('taken_by_id', sa.Integer(), nullable=True),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('start_period', sa.String(length=7), nullable=False),
    sa.Column('end_period', sa.String(length=7), nullable=False),
    sa.Column('probabilities', sa.String(length=12), nullable=False),
    sa.Column('probabilities_used', sa.String(length=12), nullable=False),
    sa.Column('model_version', sa.String(length=200), nullable=False),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('scheduled_month', sa.String(length=7), nullable=True),
    sa.CheckConstraint("probabilities IN ('stage', 'calibrated')", name=op.f('ck_planning_snapshots_probabilities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planning_snapshots')),
    sa.UniqueConstraint('scheduled_month', 'probabilities', name=op.f('uq_planning_snapshots_scheduled_month'))
    )
    with op.batch_alter_table('planning_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_planning_snapshots_taken_at'), ['taken_at'], unique=False)

    op.create_table('planning_snapshot_rows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('family', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('combine_rule', sa.String(length=30), nullable=False),
    sa.Column('baseline_units', sa.Double(), nullable=False),
    sa.Column('baseline_all_units', sa.Double(), nullable=False),
    sa.Column('baseline_other_units', sa.Double(), nullable=False),
    sa.Column('booked_units', sa.Double(), nullable=False),
    sa.Column('weighted_units', sa.Double(), nullable=False),
    sa.Column('weighted_revenue', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('best_case_units', sa.Double(), nullable=False),
    sa.Column('commit_units', sa.Double(), nullable=False),
    sa.Column('low_units', sa.Double(), nullable=False),
    sa.Column('high_units', sa.Double(), nullable=False),
    sa.Column('deal_count', sa.Integer(), nullable=False),
    sa.Column('demand_input_units', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['snapshot_id'], ['planning_snapshots.id'], name=op.f('fk_planning_snapshot_rows_snapshot_id_planning_snapshots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planning_snapshot_rows')),
    sa.UniqueConstraint('snapshot_id', 'family', 'period', name=op.f('uq_planning_snapshot_rows_snapshot_id'))
    )


def downgrade():
    op.drop_table('planning_snapshot_rows')
    with op.batch_alter_table('planning_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_planning_snapshots_taken_at'))

    op.drop_table('planning_snapshots')
    op.drop_table('planning_outlier_overrides')
    with op.batch_alter_table('planning_imported_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_planning_imported_lines_family')

    op.drop_table('planning_imported_lines')
    op.drop_table('planning_family_settings')
    op.drop_table('planning_actuals')
