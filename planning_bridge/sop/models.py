"""The S&OP cycle's tables (migration ``20261212_17_sop_cycle``). Like the rest of the bridge
they point at no CRM table: families are codes, users plain ids.

Kept, never overwritten: demand overrides (each one remembers the number it replaced, the
latest per family and month is the one in force), decisions, and published plan versions —
a published version's cells and the version itself cannot be updated (the services have no
such path, and database triggers refuse an UPDATE; see ``IMMUTABLE_PLAN_DDL``).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l  # the bridge reaches crm only by its port
from sqlalchemy import DDL, CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planning_bridge.crm_port import JSONType, Model, UTCDateTime

UNITS = Numeric(16, 3)
MONEY = Numeric(16, 2)
PERIOD = String(7)  # "YYYY-MM"

STEPS = ("data_gathering", "demand_review", "supply_review", "pre_meeting", "executive_meeting")
STEP_STATUSES = ("pending", "in_progress", "done")
STRATEGIES = ("make_to_stock", "make_to_order", "assemble_to_order")
REVIEW_STATUSES = ("open", "agreed", "escalated")
VERSION_SOURCES = ("cycle", "import")
# How the codes read on pages and in sentences (the manifest's ``code_labels``).
CODE_LABELS = {
    "sop_step_status": {"pending": _l("Pending"), "in_progress": _l("In progress"), "done": _l("Done")},
    "sop_review_status": {"open": _l("Open"), "agreed": _l("Agreed"), "escalated": _l("Escalated")},
    "production_strategy": {"make_to_stock": _l("Make to stock"), "make_to_order": _l("Make to order"),
                            "assemble_to_order": _l("Assemble to order")},
    "plan_version_source": {"cycle": _l("made in the cycle"), "import": _l("imported")},
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Cycle(Model):
    """One month's S&OP cycle. ``month`` is the month just ended when it opens; the plan it
    makes covers the months after it (``horizon`` of them)."""

    __tablename__ = "sop_cycles"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(PERIOD, unique=True)
    horizon: Mapped[int]
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int | None]
    snapshot_id: Mapped[int | None]        # the demand input frozen by data gathering
    gathered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gathering: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # accuracy and actuals summary

    steps: Mapped[list[CycleStep]] = relationship(back_populates="cycle", order_by="CycleStep.position",
                                                  cascade="all, delete-orphan")


class CycleStep(Model):
    __tablename__ = "sop_cycle_steps"
    __table_args__ = (
        UniqueConstraint("cycle_id", "step"),
        CheckConstraint(_in("step", STEPS), name="step"),
        CheckConstraint(_in("status", STEP_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("sop_cycles.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(24))
    position: Mapped[int]
    owner_role: Mapped[str] = mapped_column(String(60))   # who is responsible, in words
    owner_id: Mapped[int | None]                           # the person, when named
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(12))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)

    cycle: Mapped[Cycle] = relationship(back_populates="steps")


class CycleFamily(Model):
    """A family's supply facts and pre-meeting verdict within one cycle (copied forward from the
    previous cycle when a cycle opens). ``unit_price`` is the entered average price; without it
    the price is derived from won deals (see ``review.family_prices``)."""

    __tablename__ = "sop_cycle_families"
    __table_args__ = (
        UniqueConstraint("cycle_id", "family"),
        CheckConstraint(_in("strategy", STRATEGIES), name="strategy"),
        CheckConstraint(_in("review_status", REVIEW_STATUSES), name="review_status"),
        CheckConstraint("target_inventory IS NULL OR target_inventory >= 0", name="target_inventory"),
        CheckConstraint("opening_inventory >= 0", name="opening_inventory"),
        CheckConstraint("unit_price IS NULL OR unit_price >= 0", name="unit_price"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("sop_cycles.id", ondelete="CASCADE"))
    family: Mapped[str] = mapped_column(String(40))
    strategy: Mapped[str] = mapped_column(String(20))
    target_inventory: Mapped[Decimal | None] = mapped_column(UNITS)
    opening_inventory: Mapped[Decimal] = mapped_column(UNITS)
    unit_price: Mapped[Decimal | None] = mapped_column(MONEY)
    review_status: Mapped[str] = mapped_column(String(12))
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None]
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Capacity(Model):
    """Units operations can make of one family in one month, as entered in a cycle."""

    __tablename__ = "sop_capacity"
    __table_args__ = (
        UniqueConstraint("cycle_id", "family", "period"),
        CheckConstraint("units >= 0", name="units_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("sop_cycles.id", ondelete="CASCADE"))
    family: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(PERIOD)
    units: Mapped[Decimal] = mapped_column(UNITS)
    entered_by_id: Mapped[int | None]
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DemandOverride(Model):
    """One change to the demand of a family and month in a cycle, with its assumption. Never
    updated nor deleted: the latest per family and month is in force, the earlier ones are the
    history, and each remembers the number it replaced."""

    __tablename__ = "sop_demand_overrides"
    __table_args__ = (
        CheckConstraint("units >= 0", name="units_nonnegative"),
        CheckConstraint("length(reason) > 0", name="reason_given"),
        Index("ix_sop_demand_overrides_cell", "cycle_id", "family", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("sop_cycles.id", ondelete="CASCADE"))
    family: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(PERIOD)
    units: Mapped[Decimal] = mapped_column(UNITS)
    replaced_units: Mapped[Decimal] = mapped_column(UNITS)
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Decision(Model):
    """A decision of the executive meeting (on one family, or ``family`` None: on the plan)."""

    __tablename__ = "sop_decisions"
    __table_args__ = (CheckConstraint("length(text) > 0", name="text_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("sop_cycles.id", ondelete="CASCADE"), index=True)
    family: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None]
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BusinessPlanCell(Model):
    """Finance's business plan: revenue of one family in one month (imported; each row
    replaces its family-month)."""

    __tablename__ = "sop_business_plan"
    __table_args__ = (
        UniqueConstraint("family", "period"),
        CheckConstraint("revenue >= 0", name="revenue_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    family: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(PERIOD)
    revenue: Mapped[Decimal] = mapped_column(MONEY)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PlanVersion(Model):
    """One version of a cycle's consensus plan: a draft until ``published_at`` is set, then
    frozen. The plan in force is the latest published version (of any cycle)."""

    __tablename__ = "sop_plan_versions"
    __table_args__ = (
        UniqueConstraint("cycle_id", "version"),
        CheckConstraint("source IN ('cycle', 'import')", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("sop_cycles.id", ondelete="CASCADE"))
    version: Mapped[int]
    source: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None]
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    published_by_id: Mapped[int | None]

    cells: Mapped[list[PlanVersionCell]] = relationship(
        back_populates="plan", order_by="PlanVersionCell.id", cascade="all, delete-orphan")
    cycle: Mapped[Cycle] = relationship()


class PlanVersionCell(Model):
    __tablename__ = "sop_plan_cells"
    __table_args__ = (
        UniqueConstraint("plan_id", "family", "period"),
        CheckConstraint("demand_units >= 0", name="demand_nonnegative"),
        CheckConstraint("capacity_units IS NULL OR capacity_units >= 0", name="capacity_nonnegative"),
        CheckConstraint("revenue IS NULL OR revenue >= 0", name="revenue_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("sop_plan_versions.id", ondelete="CASCADE"))
    family: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(PERIOD)
    demand_units: Mapped[Decimal] = mapped_column(UNITS)
    capacity_units: Mapped[Decimal | None] = mapped_column(UNITS)
    revenue: Mapped[Decimal | None] = mapped_column(MONEY)

    plan: Mapped[PlanVersion] = relationship(back_populates="cells")


# --- a published plan cannot change, whoever tries -----------------------------------------
# Triggers refuse an UPDATE of a published version (publishing itself sets published_at on a
# draft, which is allowed) and any UPDATE of, or INSERT into, a published version's cells.
# DELETE stays possible (a cycle removed by an administrator, test clean-up), never an edit.

IMMUTABLE_PLAN_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        """CREATE TRIGGER sop_plan_versions_frozen BEFORE UPDATE ON sop_plan_versions
           WHEN OLD.published_at IS NOT NULL
           BEGIN SELECT RAISE(ABORT, 'a published plan version cannot change'); END""",
        """CREATE TRIGGER sop_plan_cells_frozen BEFORE UPDATE ON sop_plan_cells
           WHEN (SELECT published_at FROM sop_plan_versions WHERE id = OLD.plan_id) IS NOT NULL
             OR (SELECT published_at FROM sop_plan_versions WHERE id = NEW.plan_id) IS NOT NULL
           BEGIN SELECT RAISE(ABORT, 'a published plan cannot change'); END""",
        """CREATE TRIGGER sop_plan_cells_closed BEFORE INSERT ON sop_plan_cells
           WHEN (SELECT published_at FROM sop_plan_versions WHERE id = NEW.plan_id) IS NOT NULL
           BEGIN SELECT RAISE(ABORT, 'a published plan cannot change'); END""",
    ),
    "postgresql": (
        """CREATE OR REPLACE FUNCTION sop_refuse_published_change() RETURNS trigger AS $$
           BEGIN
             IF TG_TABLE_NAME = 'sop_plan_versions' THEN
               IF OLD.published_at IS NOT NULL THEN
                 RAISE EXCEPTION 'a published plan version cannot change'
                   USING ERRCODE = 'integrity_constraint_violation';
               END IF;
               RETURN NEW;
             END IF;
             IF (TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM sop_plan_versions
                                              WHERE id = OLD.plan_id AND published_at IS NOT NULL))
                OR EXISTS (SELECT 1 FROM sop_plan_versions WHERE id = NEW.plan_id AND published_at IS NOT NULL) THEN
               RAISE EXCEPTION 'a published plan cannot change' USING ERRCODE = 'integrity_constraint_violation';
             END IF;
             RETURN NEW;
           END $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER sop_plan_versions_frozen BEFORE UPDATE ON sop_plan_versions
           FOR EACH ROW EXECUTE FUNCTION sop_refuse_published_change()""",
        """CREATE TRIGGER sop_plan_cells_frozen BEFORE INSERT OR UPDATE ON sop_plan_cells
           FOR EACH ROW EXECUTE FUNCTION sop_refuse_published_change()""",
    ),
}
DROP_IMMUTABLE_PLAN_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": ("DROP TRIGGER IF EXISTS sop_plan_cells_closed", "DROP TRIGGER IF EXISTS sop_plan_cells_frozen",
               "DROP TRIGGER IF EXISTS sop_plan_versions_frozen"),
    "postgresql": ("DROP TRIGGER IF EXISTS sop_plan_cells_frozen ON sop_plan_cells",
                   "DROP TRIGGER IF EXISTS sop_plan_versions_frozen ON sop_plan_versions",
                   "DROP FUNCTION IF EXISTS sop_refuse_published_change()"),
}

for _dialect, _statements in IMMUTABLE_PLAN_DDL.items():
    for _statement in _statements:
        # After the cells table exists (it is created after the versions table it refers to).
        event.listen(PlanVersionCell.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))
