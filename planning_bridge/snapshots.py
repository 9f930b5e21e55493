"""Snapshots: the demand input frozen with its parameters and model version, on demand and by
the month-end job. Accuracy (``accuracy.py``) scores them once the months they forecast have
actuals.

The month-end job runs on the 1st of each month (02:30 UTC) and takes two snapshots, ``stage``
and ``calibrated``, of the pipeline as it stood at the end of the month just closed, for the
18 months from the new month on. It is safe to run twice: a snapshot is unique per
``scheduled_month`` and probability source, and a second run finds it and skips.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from flask_babel import gettext as _  # the bridge reaches crm only by its port
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from planning_bridge import crm_port
from planning_bridge.contracts import PROBABILITY_SOURCES, DemandRow, SnapshotInfo
from planning_bridge.demand import demand_input
from planning_bridge.models import Snapshot, SnapshotRow
from planning_bridge.periods import DEFAULT_HORIZON, month_index, period_text
from planning_bridge.settings import settings_by_family
from planning_bridge.source_choice import SourceChoice

log = logging.getLogger(__name__)


def take_snapshot(
    *, actor_id: int | None, now: datetime, start: str, end: str, probabilities: str,
    as_of: date | None = None, slip_adjusted: bool = False, scheduled_month: str | None = None,
) -> int:
    """Freeze the demand input for ``start``..``end`` (as of ``as_of``, default the day of
    ``now``) and return the snapshot's id. Flushes; the caller commits."""
    rows = demand_input(start=start, end=end, probabilities=probabilities,
                        as_of=as_of or now.date(), slip_adjusted=slip_adjusted)
    settings = settings_by_family()
    snapshot = Snapshot(
        taken_at=now, taken_by_id=actor_id, as_of=rows.as_of, start_period=start, end_period=end,
        probabilities=probabilities, probabilities_used=rows.probability_source,
        model_version=rows.model_version[:200], scheduled_month=scheduled_month,
        parameters={
            "start": start, "end": end, "as_of": rows.as_of.isoformat(),
            "probabilities": probabilities, "probabilities_used": rows.probability_source,
            "probability_method": rows.probability_method, "model_version": rows.model_version,
            "slip_adjusted": slip_adjusted,
            "combine_rules": {code: s.combine_rule for code, s in settings.items()},
            "commit_stages": {code: s.commit_stage for code, s in settings.items()},
            "lead_time_days": {code: s.lead_time_days for code, s in settings.items()},
            "baseline_methods": {cell.row.family: cell.baseline_method for cell in rows.cells},
            "baseline_sources": rows.baseline_sources,
            # The reason as data (``source_choice.SourceChoice.why``), rendered where shown.
            "source_choice": {family: {"source": c.source, "why": c.why}
                              for family, c in rows.source_choice.items()},
        },
    )
    snapshot.rows = [
        SnapshotRow(
            family=cell.row.family, period=cell.row.period, combine_rule=cell.combine_rule,
            baseline_units=cell.row.baseline_units, baseline_all_units=cell.baseline_all_units,
            baseline_other_units=cell.baseline_other_units, booked_units=cell.booked_units,
            weighted_units=cell.row.weighted_units, weighted_revenue=cell.row.weighted_revenue,
            best_case_units=cell.row.best_case_units, commit_units=cell.row.commit_units,
            low_units=cell.row.low_units, high_units=cell.row.high_units,
            deal_count=cell.row.deal_count, demand_input_units=cell.row.demand_input_units,
        )
        for cell in rows.cells
    ]
    crm_port.db.session.add(snapshot)
    crm_port.db.session.flush()
    return snapshot.id


def list_snapshots() -> list[SnapshotInfo]:
    """Every snapshot, newest first."""
    counts = dict(crm_port.db.session.execute(
        select(SnapshotRow.snapshot_id, func.count()).group_by(SnapshotRow.snapshot_id)
    ).all())
    snapshots = list(crm_port.db.session.scalars(
        select(Snapshot).order_by(Snapshot.taken_at.desc(), Snapshot.id.desc())
    ))
    names = crm_port.user_names(s.taken_by_id for s in snapshots)
    return [_info(s, names, counts.get(s.id, 0)) for s in snapshots]


def get_snapshot(snapshot_id: int) -> SnapshotInfo:
    snapshot = _snapshot(snapshot_id)
    names = crm_port.user_names([snapshot.taken_by_id])
    return _info(snapshot, names, len(snapshot.rows))


def snapshot_rows(snapshot_id: int) -> list[DemandRow]:
    """The frozen rows, in the order they were computed (family, then month)."""
    snapshot = _snapshot(snapshot_id)
    currency = crm_port.base_currency_code()  # not frozen with the rows: today's base currency
    return [
        DemandRow(
            family=r.family, period=r.period, baseline_units=r.baseline_units,
            weighted_units=r.weighted_units, weighted_revenue=r.weighted_revenue,
            best_case_units=r.best_case_units, commit_units=r.commit_units, low_units=r.low_units,
            high_units=r.high_units, deal_count=r.deal_count,
            demand_input_units=r.demand_input_units, snapshot_id=snapshot.id, currency=currency,
        )
        for r in snapshot.rows
    ]


def snapshot_source_choice(snapshot_id) -> dict[str, SourceChoice]:
    """The per-family probability source a snapshot was taken with (``chosen`` only; empty
    otherwise), with its reason: as data, or as the English sentence snapshots stored before."""
    raw = (_snapshot(snapshot_id).parameters or {}).get("source_choice") or {}
    return {family: SourceChoice.from_stored({"family": family, **value})
            for family, value in sorted(raw.items()) if isinstance(value, dict)}


def _snapshot(snapshot_id) -> Snapshot:
    try:
        snapshot_id = int(snapshot_id)
    except (TypeError, ValueError):
        raise crm_port.NotFound(_("no such snapshot")) from None
    snapshot = crm_port.db.session.get(Snapshot, snapshot_id) if 0 < snapshot_id < 2**31 else None
    if snapshot is None:
        raise crm_port.NotFound(_("no such snapshot"))
    return snapshot


def _info(snapshot: Snapshot, names: dict[int, str], row_count: int) -> SnapshotInfo:
    return SnapshotInfo(
        id=snapshot.id, taken_at=snapshot.taken_at,
        taken_by=names.get(snapshot.taken_by_id) if snapshot.taken_by_id else None,
        as_of=snapshot.as_of, start=snapshot.start_period, end=snapshot.end_period,
        probabilities=snapshot.probabilities, probabilities_used=snapshot.probabilities_used,
        model_version=snapshot.model_version, scheduled=snapshot.scheduled_month is not None,
        row_count=row_count,
    )


def take_month_end_snapshots(now: datetime) -> list[int]:
    """The scheduled job: every probability source (the chosen one per family, stage,
    calibrated), as of the last day of the month before
    ``now``, for ``DEFAULT_HORIZON`` months from ``now``'s month. Skips what exists."""
    month_end = now.date().replace(day=1) - timedelta(days=1)
    closed_month = period_text(month_index(month_end))
    start = month_index(now.date())
    taken = []
    for probabilities in PROBABILITY_SOURCES:
        exists = crm_port.db.session.scalar(select(Snapshot.id).where(
            Snapshot.scheduled_month == closed_month, Snapshot.probabilities == probabilities))
        if exists:
            continue
        savepoint = crm_port.db.session.begin_nested()
        try:
            taken.append(take_snapshot(
                actor_id=None, now=now, start=period_text(start),
                end=period_text(start + DEFAULT_HORIZON - 1), probabilities=probabilities,
                as_of=month_end, scheduled_month=closed_month,
            ))
            savepoint.commit()
        except IntegrityError:  # another worker took it between our check and our insert
            savepoint.rollback()
            log.info("month-end %s snapshot for %s already taken", probabilities, closed_month)
    return taken
