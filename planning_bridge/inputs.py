"""The open pipeline as numpy rows, from the CRM (now, or rebuilt as of a past date) and from
deals imported from another CRM.

A row is one deal's lines of one family (``count`` 1), or, for large live pipelines read with
stage probabilities, a group of ``count`` deals sharing family, stage and expected close day,
aggregated in the database (``s1 = Σ Q``, ``s2 = Σ Q²``, ``s3 = Σ Q³`` over the group's deals).
Only open deals become rows: a closed deal is never pipeline, whatever its probability says.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache

import numpy as np
from sqlalchemy import func, select

from planning_bridge import crm_port
from planning_bridge.models import ImportedDealLine

#: Up to this many open (deal, family) rows a live pipeline whose database aggregate holds a
#: group of unequal deals is read deal by deal, so its bands stay exact; above it such groups'
#: cells use the approximation (``bands.py``).
AGGREGATE_ABOVE = 50_000
GROUP = -1  # deal key of an aggregated row


@dataclass(frozen=True)
class PipelineRows:
    family: np.ndarray       # int index into ``families``
    stage: np.ndarray        # int index into ``stages``
    close: np.ndarray        # datetime64[D]: expected close
    count: np.ndarray        # deals in the row
    s1: np.ndarray           # Σ Q
    s2: np.ndarray           # Σ Q²
    s3: np.ndarray           # Σ Q³
    amount: np.ndarray       # Σ amount (float: an expectation, quantised to cents at the end)
    stage_p: np.ndarray      # the stage probability (imports: their own probability column)
    deal: np.ndarray         # CRM deal id (>= 0), imported deal (<= -2), group (-1)
    families: tuple[str, ...]
    stages: tuple[str, ...]
    imported_ids: tuple[str, ...] = ()  # deal key -2 - i is imported_ids[i]

    def __len__(self) -> int:
        return int(self.family.size)

    def deal_label(self, key: int) -> str:
        if key >= 0:
            return str(key)
        return "ext:" + self.imported_ids[-2 - key] if key <= -2 else ""

    def take(self, mask: np.ndarray) -> PipelineRows:
        arrays = {name: getattr(self, name)[mask] for name in ARRAY_FIELDS}
        return replace(self, **arrays)


ARRAY_FIELDS = ("family", "stage", "close", "count", "s1", "s2", "s3", "amount", "stage_p", "deal")


def empty_rows(families, stages) -> PipelineRows:
    ints, floats = np.zeros(0, np.int64), np.zeros(0)
    return PipelineRows(ints, ints, np.zeros(0, "datetime64[D]"), ints, floats, floats, floats,
                        floats, floats, ints, tuple(families), tuple(stages))


def concat(parts: list[PipelineRows]) -> PipelineRows:
    """Rows of several sources on one family and stage vocabulary."""
    families = tuple(dict.fromkeys(code for part in parts for code in part.families))
    stages = tuple(dict.fromkeys(name for part in parts for name in part.stages))
    imported = tuple(i for part in parts for i in part.imported_ids)
    arrays: dict[str, list[np.ndarray]] = {name: [] for name in ARRAY_FIELDS}
    offset = 0
    for part in parts:
        fam_map = np.array([families.index(c) for c in part.families] or [0], np.int64)
        stage_map = np.array([stages.index(s) for s in part.stages] or [0], np.int64)
        for name in ARRAY_FIELDS:
            value = getattr(part, name)
            if name == "family":
                value = fam_map[value] if value.size else value
            elif name == "stage":
                value = stage_map[value] if value.size else value
            elif name == "deal" and part.imported_ids:
                value = np.where(value <= -2, value - offset, value)
            arrays[name].append(value)
        offset += len(part.imported_ids)
    if not parts:
        return empty_rows((), ())
    merged = {name: np.concatenate(values) for name, values in arrays.items()}
    return PipelineRows(**merged, families=families, stages=stages, imported_ids=imported)


def _single(family, stage, close, quantity, amount, stage_p, deal, families, stages, imported=()):
    q = np.asarray(quantity, float)
    return PipelineRows(
        family=np.asarray(family, np.int64), stage=np.asarray(stage, np.int64),
        close=np.asarray(close, "datetime64[D]"), count=np.ones(q.size, np.int64),
        s1=q, s2=q * q, s3=q ** 3, amount=np.asarray(amount, float),
        stage_p=np.asarray(stage_p, float), deal=np.asarray(deal, np.int64),
        families=tuple(families), stages=tuple(stages), imported_ids=tuple(imported),
    )


# --- the CRM now --------------------------------------------------------------------------

def stage_probabilities() -> dict[str, float]:
    return {s.name: float(s.probability) for s in crm_port.pipeline_stages()}


def crm_rows_now(*, aggregate: bool | None = None) -> PipelineRows:
    """Today's open CRM pipeline. By default aggregated in the database, then read again deal
    by deal when it is small and a group of several deals cannot be split exactly (unequal
    quantities), so small pipelines always get exact bands."""
    if aggregate is False:
        return crm_rows_per_deal()
    rows = crm_rows_aggregated()
    if aggregate is None and int(rows.count.sum()) <= AGGREGATE_ABOVE and _has_unsplittable_groups(rows):
        return crm_rows_per_deal()
    return rows


def _has_unsplittable_groups(rows: PipelineRows) -> bool:
    groups = rows.count > 1
    return bool(np.any(np.abs(rows.s2[groups] * rows.count[groups] - rows.s1[groups] ** 2)
                       > 1e-9 * np.maximum(rows.s1[groups] ** 2, 1.0)))


def crm_rows_aggregated() -> PipelineRows:
    cells = crm_port.open_pipeline_cells()
    probabilities = stage_probabilities()
    families = tuple(sorted({c.family for c in cells}))
    stages = tuple(probabilities) + tuple(sorted({c.stage for c in cells} - set(probabilities)))
    if not cells:
        return empty_rows(families, stages)
    fam = {code: i for i, code in enumerate(families)}
    stg = {name: i for i, name in enumerate(stages)}
    count = np.array([c.deals for c in cells], np.int64)
    return PipelineRows(
        family=np.array([fam[c.family] for c in cells], np.int64),
        stage=np.array([stg[c.stage] for c in cells], np.int64),
        close=np.array([c.expected_close for c in cells], "datetime64[D]"),
        count=count,
        s1=np.array([c.quantity for c in cells]), s2=np.array([c.quantity_squared for c in cells]),
        s3=np.array([c.quantity_cubed for c in cells]),
        amount=np.array([float(c.amount) for c in cells]),
        stage_p=np.array([probabilities.get(c.stage, 0.0) for c in cells]),
        deal=np.full(count.size, GROUP, np.int64),
        families=families, stages=stages,
    )


def crm_rows_per_deal() -> PipelineRows:
    return rows_from_columns(crm_port.open_line_columns())


def rows_from_columns(columns) -> PipelineRows:
    """Rows from ``LineColumns`` (one per open deal and family)."""
    probabilities = stage_probabilities()
    stage_p = np.array([probabilities.get(name, 0.0) for name in columns.stage_names] or [0.0])
    return _single(
        columns.family, columns.stage, columns.expected_close, columns.quantity, columns.amount,
        stage_p[columns.stage] if columns.stage.size else np.zeros(0), columns.deal_id,
        columns.family_codes, columns.stage_names,
    )


# --- the CRM as it stood ------------------------------------------------------------------

def deal_histories(*, closed_only: bool = False) -> tuple:
    """Every CRM deal's history (only today's closed deals with ``closed_only``), loaded once
    per state of the CRM: backtests replay the same histories to many dates."""
    return _histories(crm_port.history_fingerprint(), closed_only)


@lru_cache(maxsize=4)
def _histories(_fingerprint, closed_only: bool) -> tuple:
    return tuple(crm_port.deal_histories(closed_only=closed_only))


def clear_cache() -> None:
    _histories.cache_clear()


def open_states_as_of(as_of: date) -> list:
    """The CRM's deals open at the end of ``as_of``, replayed from their history
    (``DealState`` records)."""
    moment = crm_port.end_of_day(as_of)
    states = (history.state_at(moment) for history in deal_histories() if history.created_at < moment)
    return [state for state in states if state is not None and state.is_open]


def crm_rows_as_of(as_of: date) -> PipelineRows:
    """The CRM's open pipeline at the end of ``as_of``, rebuilt from the deal history."""
    return rows_from_states(open_states_as_of(as_of), stage_probabilities())


def rows_from_states(states, probabilities: dict[str, float]) -> PipelineRows:
    """Open deal states' lines summed per deal and family."""
    summed: dict[tuple[str, str], list] = {}
    for state in states:
        for line in state.lines:
            entry = summed.setdefault((state.deal_id, line.family), [state, line.family, 0.0, 0.0])
            entry[2] += line.quantity
            entry[3] += float(line.amount)
    entries = list(summed.values())
    families = tuple(sorted({e[1] for e in entries}))
    stages = tuple(probabilities) + tuple(sorted({e[0].stage for e in entries} - set(probabilities)))
    fam = {code: i for i, code in enumerate(families)}
    stg = {name: i for i, name in enumerate(stages)}
    return _single(
        [fam[e[1]] for e in entries], [stg[e[0].stage] for e in entries],
        [e[0].expected_close for e in entries], [e[2] for e in entries], [e[3] for e in entries],
        [probabilities.get(e[0].stage, 0.0) for e in entries],
        [int(e[0].deal_id) for e in entries], families, stages,
    )


# --- imported deals -----------------------------------------------------------------------

def imported_rows(as_of: date | None) -> PipelineRows:
    """Deals imported from another CRM that were open at the end of ``as_of`` (today's state
    of each imported deal: another CRM's history is not known)."""
    query = select(ImportedDealLine).order_by(ImportedDealLine.id)
    probabilities = stage_probabilities()
    summed: dict[tuple[str, str], list] = defaultdict(lambda: [None, 0.0, 0.0])
    for line in crm_port.db.session.scalars(query):
        if as_of is not None and line.created_on > as_of:
            continue
        closed = line.closed_on is not None and (as_of is None or line.closed_on <= as_of)
        if closed:
            continue
        entry = summed[(line.deal_id, line.family)]
        entry[0] = entry[0] or line
        entry[1] += line.quantity
        entry[2] += float(line.amount)
    if not summed:
        return empty_rows((), ())
    entries = list(summed.values())
    families = tuple(sorted({e[0].family for e in entries}))
    stages = tuple(sorted({e[0].stage for e in entries}))
    deal_ids = tuple(dict.fromkeys(e[0].deal_id for e in entries))
    position = {d: i for i, d in enumerate(deal_ids)}
    return _single(
        [families.index(e[0].family) for e in entries], [stages.index(e[0].stage) for e in entries],
        [e[0].expected_close for e in entries], [e[1] for e in entries], [e[2] for e in entries],
        [float(e[0].probability) if e[0].probability is not None else probabilities.get(e[0].stage, 0.0)
         for e in entries],
        [-2 - position[e[0].deal_id] for e in entries], families, stages, deal_ids,
    )


def imported_line_count() -> int:
    return crm_port.db.session.scalar(select(func.count(ImportedDealLine.id))) or 0
