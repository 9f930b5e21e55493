"""Keeping ``contact_scores`` current: the decay arithmetic, recording one human event
(``record_event``, offered to other features through ``crm.scoring.services``), refreshing fit,
storing predictions and the exact full recomputation.

Engagement decays exponentially: an event worth ``p`` points at time ``t`` is worth
``p * 2^-((now - t) / h)`` at ``now`` (``h`` the half-life). The sum of such terms is kept per
contact as (``engagement``, ``engagement_as_of``) and updated in O(1):

- an event at or after the as-of time: decay the stored value to the event's time, add ``p``,
  move the as-of time to the event;
- an older event (arriving late): decay the *new points* to the stored as-of time and add them.

Both are exact (the same sum as recomputing from every stored event), whatever the order.

The 0-100 score blends the three parts multiplicatively (documented in README, "Scoring"):

    x     = engagement_now * (0.5 + fit / 100) * (0.5 + predictive)      # predictive 0..1, 0.5 if no model
    score = 100 * (1 - 2^(-x / saturation))                              # saturation: 30 points -> 50

Fit and the model's likelihood scale current interest (by 0.5x to 1.5x each) rather than add
to it: a perfect-fit contact who shows no interest is not "in the market". Because the blend is
a product, ``log2(x)`` = ``log2(engagement * m) + as_of/h - now/h``, so

    rank_key = log2(engagement * m) + as_of / h       (hours since EPOCH)

does not depend on ``now`` but orders contacts exactly as their score now: "best now" is an
index scan on ``rank_key``.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone

from sqlalchemy import String, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.util import identity_key

from crm.contacts.models import Company, Contact
from crm.extensions import db
from crm.scoring.models import ContactScore, ScoreEvent
from crm.scoring.rules import Ruleset, fit_of, get_settings, load_ruleset
from crm.timeutil import utcnow

EPOCH = datetime(2020, 1, 1, tzinfo=timezone.utc)
ZERO_KEY = -1e12  # rank_key of a contact with no engagement (log2(0) is -inf)
MAX_URL = 2000


# --- the arithmetic (pure) --------------------------------------------------------------

def hours(moment: datetime) -> float:
    return (moment - EPOCH).total_seconds() / 3600.0


def decay(value: float, since: datetime, until: datetime, half_life_hours: float) -> float:
    return value * 2.0 ** (-(hours(until) - hours(since)) / half_life_hours)


def add_event(engagement: float, as_of: datetime | None, points: float, at: datetime,
              half_life_hours: float) -> tuple[float, datetime]:
    """The exact incremental step; returns the new (engagement, as_of)."""
    if as_of is None:
        return points, at
    if at >= as_of:
        return decay(engagement, as_of, at, half_life_hours) + points, at
    return engagement + decay(points, at, as_of, half_life_hours), as_of


def engagement_from_scratch(events, half_life_hours: float) -> tuple[float, datetime | None]:
    """``events``: (points, at) pairs in any order; the reference the incremental step matches."""
    events = list(events)
    if not events:
        return 0.0, None
    as_of = max(at for _, at in events)
    return sum(decay(p, at, as_of, half_life_hours) for p, at in events), as_of


def engagement_at(engagement: float, as_of: datetime | None, now: datetime, half_life_hours: float) -> float:
    if as_of is None or engagement <= 0:
        return 0.0
    return decay(engagement, as_of, max(now, as_of), half_life_hours)


def multiplier(fit: float, predictive: float | None) -> float:
    return (0.5 + fit / 100.0) * (0.5 + (0.5 if predictive is None else predictive))


def blended_score(engagement_now: float, fit: float, predictive: float | None, saturation: float) -> float:
    x = engagement_now * multiplier(fit, predictive)
    return round(100.0 * (1.0 - 2.0 ** (-x / saturation)), 4) if x > 0 else 0.0


def rank_key(engagement: float, as_of: datetime | None, fit: float, predictive: float | None,
             half_life_hours: float) -> float:
    if engagement <= 0 or as_of is None:
        return ZERO_KEY
    return math.log2(engagement * multiplier(fit, predictive)) + hours(as_of) / half_life_hours


def score_now(row: ContactScore, now: datetime, ruleset: Ruleset) -> float:
    current = engagement_at(row.engagement, row.engagement_as_of, now, ruleset.half_life_hours)
    return blended_score(current, row.fit, row.predictive, ruleset.saturation)


def refresh_derived(row: ContactScore, ruleset: Ruleset, now: datetime) -> None:
    """``score`` (as of the as-of time) and ``rank_key`` after any stored part changed."""
    at = row.engagement_as_of or now
    row.score = blended_score(engagement_at(row.engagement, row.engagement_as_of, at, ruleset.half_life_hours),
                              row.fit, row.predictive, ruleset.saturation)
    row.rank_key = rank_key(row.engagement, row.engagement_as_of, row.fit, row.predictive,
                            ruleset.half_life_hours)
    row.updated_at = now


# --- recording events ----------------------------------------------------------------------------

def _insert(model):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def locked_score_row(contact_id: int, ruleset: Ruleset) -> ContactScore:
    """The contact's row, locked (SELECT ... FOR UPDATE on PostgreSQL) so concurrent events for
    one contact serialise; created once if missing (ON CONFLICT DO NOTHING)."""
    query = select(ContactScore).where(ContactScore.contact_id == contact_id).with_for_update()
    row = db.session.scalars(query.execution_options(populate_existing=True)).first()
    if row is not None:
        return row
    fit, owner_id = fit_for_contact(contact_id, ruleset)
    db.session.execute(_insert(ContactScore).values(
        contact_id=contact_id, engagement=0.0, engagement_as_of=None, fit=fit.points, owner_id=owner_id,
        predictive=None,
        score=0.0, rank_key=ZERO_KEY, updated_at=utcnow(),
    ).on_conflict_do_nothing())
    return db.session.scalars(query.execution_options(populate_existing=True)).one()


def record_event(contact_id: int, kind: str, occurred_at: datetime, *, url: str | None = None) -> None:
    """Add one human event (``email_opened``, ``email_clicked``, ``page_viewed``,
    ``form_submitted``, ``email_replied``, ``meeting_booked``...) to the contact's engagement
    score, O(1). Machine events (non-human verdicts) must not be passed. Flushes.

    The hot path runs four Core statements (insert the event, read the settings row, lock and
    read the score row, update it): ORM bookkeeping cost more than the database work."""
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    url = url[:MAX_URL] if url else None
    db.session.flush()
    connection = db.session.connection()
    # Write first: on SQLite this takes the write lock before any read.
    connection.execute(_EVENTS.insert().values(contact_id=contact_id, kind=kind[:40], url=url,
                                               occurred_at=occurred_at))
    ruleset = load_ruleset()
    points = ruleset.points_for(kind, url)
    stored = _locked_score(connection, contact_id, ruleset)
    engagement, as_of = stored.engagement, stored.engagement_as_of
    if points:
        engagement, as_of = add_event(engagement, as_of, points, occurred_at, ruleset.half_life_hours)
    current = engagement_at(engagement, as_of, as_of or occurred_at, ruleset.half_life_hours)
    connection.execute(_SCORES.update().where(_SCORES.c.contact_id == contact_id).values(
        engagement=engagement, engagement_as_of=as_of, updated_at=utcnow(),
        score=blended_score(current, stored.fit, stored.predictive, ruleset.saturation),
        rank_key=rank_key(engagement, as_of, stored.fit, stored.predictive, ruleset.half_life_hours)))
    _forget_loaded(contact_id)


_EVENTS = ScoreEvent.__table__
_SCORES = ContactScore.__table__


def _locked_score(connection, contact_id: int, ruleset: Ruleset):
    query = (select(_SCORES.c.engagement, _SCORES.c.engagement_as_of, _SCORES.c.fit, _SCORES.c.predictive)
             .where(_SCORES.c.contact_id == contact_id).with_for_update())
    row = connection.execute(query).first()
    if row is None:
        fit, owner_id = fit_for_contact(contact_id, ruleset)
        connection.execute(_insert(_SCORES).values(
            contact_id=contact_id, engagement=0.0, engagement_as_of=None, fit=fit.points, owner_id=owner_id,
            predictive=None, score=0.0, rank_key=ZERO_KEY, updated_at=utcnow()).on_conflict_do_nothing())
        row = connection.execute(query).one()
    return row


def _forget_loaded(contact_id: int) -> None:
    """A ContactScore this session loaded earlier is now stale: expire it."""
    loaded = db.session.identity_map.get(identity_key(ContactScore, contact_id))
    if loaded is not None:
        db.session.expire(loaded)


# --- fit ------------------------------------------------------------------------------------

def fit_for_contact(contact_id: int, ruleset: Ruleset):
    """(fit, owner id) of one contact."""
    row = db.session.execute(
        select(Contact.title, Company.employee_count, Company.industry, Contact.owner_id)
        .outerjoin(Company, Company.id == Contact.company_id).where(Contact.id == contact_id)
    ).first()
    title, employees, industry, owner_id = row if row else (None, None, None, None)
    return fit_of(ruleset.fit_rules, title, employees, industry), owner_id


def refresh_fit(now: datetime) -> int:
    """Recompute fit and the owner copy for contacts (or their companies) changed since the
    last run; the contacts feature does not call scoring when a title, company or owner
    changes."""
    settings = get_settings()
    since = settings.fit_checked_at
    ruleset = load_ruleset()
    query = (select(Contact.id, Contact.title, Company.employee_count, Company.industry, Contact.owner_id)
             .outerjoin(Company, Company.id == Contact.company_id))
    if since is not None:
        # ">=": a change stamped in the same instant as the last run is looked at again (harmless:
        # only a different fit or owner counts) rather than missed for good.
        query = query.where((Contact.updated_at >= since) | (Company.updated_at >= since))
    changed = 0
    for contact_id, title, employees, industry, owner_id in db.session.execute(query).all():
        fit = fit_of(ruleset.fit_rules, title, employees, industry).points
        row = db.session.get(ContactScore, contact_id)
        if row is None:
            row = locked_score_row(contact_id, ruleset)
        if abs(row.fit - fit) > 1e-9 or row.owner_id != owner_id:
            row.fit, row.owner_id = fit, owner_id
            refresh_derived(row, ruleset, now)
            changed += 1
    settings.fit_checked_at = now
    db.session.flush()
    return changed


# --- full recomputation -------------------------------------------------------------------

RECOMPUTE_CHUNK = 2000


def recompute_all(now: datetime | None = None) -> dict[str, int]:
    """Rebuild every contact's score exactly from the stored events, fit rules and the last
    predictions (after a rule or half-life change). Streams the events once, in contact
    order; writes with batched upserts. On PostgreSQL the table is locked against concurrent
    ``record_event`` calls, which wait and then apply on top of the rebuilt value."""
    now = now or utcnow()
    ruleset = load_ruleset()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(db.text("LOCK TABLE contact_scores IN EXCLUSIVE MODE"))
    predictions = dict(db.session.execute(
        select(ContactScore.contact_id, ContactScore.predictive).where(ContactScore.predictive.is_not(None))
    ).all())
    engagement = _engagement_by_contact(ruleset)
    rows, written = [], 0
    contacts = db.session.execute(
        select(Contact.id, Contact.title, Company.employee_count, Company.industry, Contact.owner_id)
        .outerjoin(Company, Company.id == Contact.company_id).order_by(Contact.id)
    )
    for contact_id, title, employees, industry, owner_id in contacts:
        value, as_of = engagement.get(contact_id, (0.0, None))
        fit = fit_of(ruleset.fit_rules, title, employees, industry).points
        predictive = predictions.get(contact_id)
        rows.append({
            "contact_id": contact_id, "engagement": value, "engagement_as_of": as_of, "fit": fit,
            "owner_id": owner_id,
            "predictive": predictive, "updated_at": now,
            "score": blended_score(value, fit, predictive, ruleset.saturation),
            "rank_key": rank_key(value, as_of, fit, predictive, ruleset.half_life_hours),
        })
        if len(rows) >= RECOMPUTE_CHUNK:
            written += _upsert_scores(rows)
            rows = []
    written += _upsert_scores(rows)
    settings = get_settings()
    settings.needs_recompute = False
    settings.fit_checked_at = now
    db.session.flush()
    db.session.expire_all()
    return {"contacts": written, "events": _event_count()}


def _event_count() -> int:
    return db.session.scalar(select(db.func.count(ScoreEvent.id))) or 0


def _engagement_by_contact(ruleset: Ruleset) -> dict[int, tuple[float, datetime]]:
    """One pass over the events in storage order (no sort): the same O(1) step as
    ``add_event`` per event, which is exact in any order. On SQLite the timestamps are read
    as text and parsed with ``datetime.fromisoformat``: SQLAlchemy's generic parsing of a
    million values cost more than all the arithmetic."""
    h = ruleset.half_life_hours
    points_cache: dict[tuple[str, str | None], float] = {}
    sqlite_text = db.session.get_bind().dialect.name == "sqlite"
    when = type_coerce(ScoreEvent.occurred_at, String) if sqlite_text else ScoreEvent.occurred_at
    # yield_per on the statement: on the connection it would stick (SQLAlchemy 2 changes the
    # connection in place) and the upserts after it would run as server-side cursors.
    stream = db.session.connection().execute(
        select(ScoreEvent.contact_id, ScoreEvent.kind, ScoreEvent.url, when).execution_options(yield_per=50000))
    state: dict[int, list] = {}  # contact -> [value, as_of hours, as_of datetime]
    for contact_id, kind, url, at in stream:
        key = (kind, url)
        points = points_cache.get(key)
        if points is None:
            points = points_cache[key] = ruleset.points_for(kind, url)
        if not points:
            continue
        if sqlite_text:
            at = datetime.fromisoformat(at).replace(tzinfo=timezone.utc)
        at_h = (at - EPOCH).total_seconds() / 3600.0
        current = state.get(contact_id)
        if current is None:
            state[contact_id] = [points, at_h, at]
        elif at_h >= current[1]:
            current[0] = current[0] * 2.0 ** (-(at_h - current[1]) / h) + points
            current[1], current[2] = at_h, at
        else:
            current[0] += points * 2.0 ** (-(current[1] - at_h) / h)
    return {cid: (value, as_of) for cid, (value, _hours, as_of) in state.items()}


def _upsert_scores(rows: list[dict]) -> int:
    if not rows:
        return 0
    # One statement compiled once, run with many parameter sets (executemany): compiling a
    # 2,000-row VALUES list cost more than the scoring itself.
    statement = _insert(ContactScore.__table__)
    columns = ("engagement", "engagement_as_of", "fit", "owner_id", "predictive", "score", "rank_key",
               "updated_at")
    statement = statement.on_conflict_do_update(
        index_elements=["contact_id"], set_={name: getattr(statement.excluded, name) for name in columns})
    db.session.connection().execute(statement, rows)
    return len(rows)


def store_predictions(predictions: dict[int, float], now: datetime) -> int:
    """Save the model's probabilities and re-derive the affected ranks."""
    ruleset = load_ruleset()
    count = 0
    for contact_id, probability in predictions.items():
        row = db.session.get(ContactScore, contact_id) or locked_score_row(contact_id, ruleset)
        row.predictive = float(probability)
        refresh_derived(row, ruleset, now)
        count += 1
    db.session.flush()
    return count
