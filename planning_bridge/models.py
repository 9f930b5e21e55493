"""The bridge's own tables, on the CRM's metadata through the port (one ``create_all``, one
Alembic history: ``migrations/versions/20261125_02_planning_bridge.py``). They never point at
CRM tables with foreign keys: user ids are plain numbers, families are codes, so the bridge
stays usable with deals imported from another CRM.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planning_bridge.crm_port import JSONType, Model, UTCDateTime

MONEY = Numeric(14, 2)
TOTAL_MONEY = Numeric(18, 2)  # sums over many deals
PERIOD = String(7)  # "YYYY-MM"


class ImportedDealLine(Model):
    """One line of a deal exported by another CRM (``planning import-deals``). Each import
    replaces the previous set: the file is that CRM's full export."""

    __tablename__ = "planning_imported_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("amount >= 0", name="amount_nonnegative"),
        CheckConstraint("probability IS NULL OR (probability >= 0 AND probability <= 1)",
                        name="probability_range"),
        CheckConstraint("(closed_on IS NULL) = (won IS NULL)", name="closed_has_outcome"),
        Index("ix_planning_imported_lines_family", "family"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_number: Mapped[int]
    deal_id: Mapped[str] = mapped_column(String(100))
    family: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[float]
    amount: Mapped[Decimal] = mapped_column(MONEY)
    stage: Mapped[str] = mapped_column(String(60))
    probability: Mapped[Decimal | None] = mapped_column(Numeric(6, 5))
    created_on: Mapped[date]
    expected_close: Mapped[date]
    closed_on: Mapped[date | None]
    won: Mapped[bool | None]
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Actual(Model):
    """Actual orders of one family in one month, from the ERP (``planning import-actuals``),
    by the month the demand fell in."""

    __tablename__ = "planning_actuals"
    __table_args__ = (
        UniqueConstraint("family", "period"),
        CheckConstraint("units >= 0", name="units_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    family: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(PERIOD)
    units: Mapped[float]
    revenue: Mapped[Decimal | None] = mapped_column(MONEY)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FamilySetting(Model):
    """How one family's demand input is built. Families without a row use the defaults
    (``planning_bridge.settings``)."""

    __tablename__ = "planning_family_settings"
    __table_args__ = (
        CheckConstraint(
            "combine_rule IN ('pipeline', 'baseline', 'baseline_plus_pipeline')", name="combine_rule"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    family: Mapped[str] = mapped_column(String(40), unique=True)
    combine_rule: Mapped[str] = mapped_column(String(30))
    commit_stage: Mapped[str | None] = mapped_column(String(60))
    updated_by_id: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutlierOverride(Model):
    """A planner's decision on one month of one family's actuals. The actual itself is never
    changed: the baseline reads the history through these decisions."""

    __tablename__ = "planning_outlier_overrides"
    __table_args__ = (UniqueConstraint("family", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    family: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(PERIOD)
    accepted: Mapped[bool]
    value: Mapped[float | None]
    original_units: Mapped[float]
    decided_by_id: Mapped[int | None]
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Snapshot(Model):
    """A frozen demand input with its parameters and model version. ``scheduled_month`` is
    set for the month-end job's snapshots only; unique with the probability source, so a job
    that runs twice (two workers, a retry) keeps one."""

    __tablename__ = "planning_snapshots"
    __table_args__ = (
        UniqueConstraint("scheduled_month", "probabilities"),
        CheckConstraint("probabilities IN ('chosen', 'stage', 'calibrated')", name="probabilities"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    taken_by_id: Mapped[int | None]
    as_of: Mapped[date]
    start_period: Mapped[str] = mapped_column(PERIOD)
    end_period: Mapped[str] = mapped_column(PERIOD)
    probabilities: Mapped[str] = mapped_column(String(12))
    probabilities_used: Mapped[str] = mapped_column(String(12))
    model_version: Mapped[str] = mapped_column(String(200))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType)
    scheduled_month: Mapped[str | None] = mapped_column(PERIOD)

    rows: Mapped[list[SnapshotRow]] = relationship(
        back_populates="snapshot", cascade="all, delete-orphan", order_by="SnapshotRow.id"
    )


class SnapshotRow(Model):
    """One family and month of a snapshot: the published columns, plus the two baselines
    (from all actuals, and from the actuals that did not come from CRM deals) so accuracy can
    score "baseline alone" and "baseline + pipeline" from the same snapshot, and the units of
    deals already won by then that fall due that month (booked orders)."""

    __tablename__ = "planning_snapshot_rows"
    __table_args__ = (UniqueConstraint("snapshot_id", "family", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("planning_snapshots.id", ondelete="CASCADE"))
    family: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(PERIOD)
    combine_rule: Mapped[str] = mapped_column(String(30))
    baseline_units: Mapped[float]
    baseline_all_units: Mapped[float]
    baseline_other_units: Mapped[float]
    booked_units: Mapped[float]      # won deals' units due that month, closed by the as-of date
    weighted_units: Mapped[float]
    weighted_revenue: Mapped[Decimal] = mapped_column(TOTAL_MONEY)
    best_case_units: Mapped[float]
    commit_units: Mapped[float]
    low_units: Mapped[float]
    high_units: Mapped[float]
    deal_count: Mapped[int]
    demand_input_units: Mapped[float]

    snapshot: Mapped[Snapshot] = relationship(back_populates="rows")


class StoredFigures(Model):
    """Accuracy or calibration figures computed once (at month-end by the worker, or on demand
    in the worker) and read by the pages and the API, so no request recomputes a backtest.
    ``key`` names the parameters (``figures.accuracy_key``); one row per kind, key and as-of
    day, replaced when computed again."""

    __tablename__ = "planning_stored_figures"
    __table_args__ = (
        UniqueConstraint("kind", "key", "as_of"),
        CheckConstraint("kind IN ('accuracy', 'calibration')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(100))
    as_of: Mapped[date]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    seconds: Mapped[float]                 # how long the computation took
