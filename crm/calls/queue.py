"""The daily call queue: gather candidates from every source, drop the exclusions, hold those
outside their calling hours, order with ``crm.calls.priority.priority``, size to the rep's
blocked time, and store the result as ``CallQueueEntry`` rows.

Every read is bounded by the rep's own signals or an index range (``bench/call_queue.py``
checks the build time does not grow with the size of the database):

- live intent: ``crm.tracking.services.recent_human_intent`` (last 30 minutes);
- due call tasks: ``crm.sequences.services.due_call_tasks``;
- converted: ``form_submitted`` / ``email_replied`` activities of the rep's contacts since the
  start of the last working day;
- callbacks: the rep's open ``CallTask`` callbacks due today;
- scores: ``crm.scoring.services.top_scored_contacts`` (else the rep's book, by the owner index);
- spare capacity: ``crm.targets.services.capacity_boosts`` (the rep's deals in families the
  published plan has room for) boosts those contacts' candidates and adds the others.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, delete, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from crm.calls.blocks import blocked_minutes, day_bounds, local_to_utc
from crm.calls.models import CallQueueEntry, CallTask
from crm.calls.priority import CAPACITY_BOOST, LIVE_INTENT_MINUTES, Candidate, best_per_contact
from crm.calls.settings import settings_for, stored_settings
from crm.contacts.models import Activity, Contact
from crm.errors import Conflict
from crm.extensions import db
from crm.i18n import _, force_language
from crm.scoring.services import top_scored_contacts
from crm.sequences.services import due_call_tasks
from crm.targets.services import capacity_boosts
from crm.tracking.services import recent_human_intent
from crm.web.formatting import format_clock, format_day, format_number, format_when

CONVERSION_KINDS = ("form_submitted", "email_replied")
TOUCH_KINDS = ("call", "email_sent")
ALWAYS_JOIN = ("live_intent", "callback")  # time-bound: they join even past the capacity
ACTIVE_CALLERS = ("rep", "manager")
UNTOUCHED_ONLY = ("score", "capacity")  # not called if touched recently: nothing time-bound about them


@dataclass(frozen=True)
class Placed:
    candidate: Candidate
    priority: float
    due_at: datetime
    held_until: datetime | None


# --- time -------------------------------------------------------------------------------------

def rep_zone(user) -> str:
    return user.time_zone or "UTC"


def today_for(user, now: datetime) -> date:
    return now.astimezone(ZoneInfo(rep_zone(user))).date()


def last_working_day(day: date) -> date:
    back = {0: 3, 6: 2}.get(day.weekday(), 1)  # Monday -> Friday, Sunday -> Friday
    return day - timedelta(days=back)


def calling_hours() -> tuple[time, time]:
    start, end = current_app.config.get("CALLING_HOURS", ("09:00", "18:00"))
    return time.fromisoformat(start), time.fromisoformat(end)


def calling_window_start(zone: str, start: datetime, end: datetime, hours: tuple[time, time]) -> datetime | None:
    """The first moment in [start, end) inside the contact's local calling hours, or None."""
    tz = ZoneInfo(zone)
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    while day <= last:
        opens, closes = local_to_utc(day, hours[0], zone), local_to_utc(day, hours[1], zone)
        begin, finish = max(opens, start), min(closes, end)
        if begin < finish:
            return begin
        day += timedelta(days=1)
    return None


def _when(moment: datetime, zone: str, day: date) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    if local.date() == day:
        return _("today at %(time)s", time=format_clock(moment, zone))
    if local.date() == day - timedelta(days=1):
        return _("yesterday")
    if local.date() > day - timedelta(days=7):
        return _("on %(weekday)s", weekday=format_day(local.date(), "weekday"))
    return _("%(n)s days ago", n=(day - local.date()).days)


# --- candidates from each source -----------------------------------------------------------

def intent_candidates(user, now: datetime) -> list[Candidate]:
    found = []
    for intent in recent_human_intent(user.id, now - timedelta(minutes=LIVE_INTENT_MINUTES)):
        minutes = max(0, int((now - intent.occurred_at).total_seconds() // 60))
        found.append(Candidate(intent.contact_id, "live_intent",
                               _("%(what)s %(n)s min ago", what=intent.label, n=minutes)[:300],
                               intent.occurred_at))
    return found


def task_candidates(user, day: date, day_end: datetime) -> list[Candidate]:
    zone = rep_zone(user)
    found = []
    for task in due_call_tasks(user.id, day_end):
        reason = _("step %(n)s of '%(sequence)s', due %(when)s", n=task.step_position, sequence=task.sequence_name,
                   when=_when(task.due_at, zone, day))
        found.append(Candidate(task.contact_id, "call_task", reason[:300], task.due_at, task_id=task.task_id))
    return found


def _conversions_query(owner_id: int, since: datetime, now: datetime):
    """The owner's contacts' conversions in [since, now]. Driven by the rep's book (owner index,
    then each contact's (contact_id, occurred_at) range), never by the company-wide range of
    conversions, which grows with the database. PostgreSQL would flatten a plain join into the
    company-wide range, so there it is a LATERAL subquery (its LIMIT keeps it from being
    pulled up); SQLite plans the join from the owner index by itself."""
    if db.engine.dialect.name != "postgresql":
        return (select(Activity.contact_id, Activity.kind, Activity.occurred_at, Activity.details)
                .join(Contact, Contact.id == Activity.contact_id)
                .where(Contact.owner_id == owner_id, Activity.kind.in_(CONVERSION_KINDS),
                       Activity.occurred_at >= since, Activity.occurred_at <= now))
    recent = (select(Activity.contact_id, Activity.kind, Activity.occurred_at, Activity.details)
              .where(Activity.contact_id == Contact.id, Activity.kind.in_(CONVERSION_KINDS),
                     Activity.occurred_at >= since, Activity.occurred_at <= now)
              .order_by(Activity.occurred_at.desc()).limit(20).lateral("recent"))
    return (select(recent.c.contact_id, recent.c.kind, recent.c.occurred_at, recent.c.details)
            .select_from(Contact).join(recent, true()).where(Contact.owner_id == owner_id))


def converted_candidates(user, day: date, now: datetime) -> list[Candidate]:
    since, _until = day_bounds(last_working_day(day), rep_zone(user))
    query = _conversions_query(user.id, since, now).subquery()
    rows = db.session.execute(select(query).order_by(query.c.occurred_at.desc()).limit(500)).all()
    found = []
    for contact_id, kind, occurred_at, details in rows:
        details = details or {}
        when = _when(occurred_at, rep_zone(user), day)
        if kind == "form_submitted":
            what = details.get("form") or details.get("form_name") or _("a form")
            reason = _("submitted %(what)s %(when)s", what=what, when=when)
        else:
            subject = details.get("subject")
            reason = (_("replied to '%(subject)s' %(when)s", subject=subject, when=when) if subject
                      else _("replied to an email %(when)s", when=when))
        found.append(Candidate(contact_id, "converted", str(reason)[:300], occurred_at))
    return found


def callback_candidates(user, day_end: datetime) -> list[Candidate]:
    rows = db.session.scalars(
        select(CallTask).where(CallTask.user_id == user.id, CallTask.kind == "callback",
                               CallTask.done_at.is_(None), CallTask.due_at < day_end)
        .order_by(CallTask.due_at).limit(200)
    ).all()
    zone = rep_zone(user)
    return [Candidate(task.contact_id, "callback",
                      _("promised for %(when)s (%(title)s)", title=task.title,
                        when=format_when(task.due_at, "EEE", zone=zone))[:300],
                      task.due_at, callback_id=task.id) for task in rows]


def score_candidates(user, now: datetime, limit: int, exclude: set[int]) -> list[Candidate]:
    scored = top_scored_contacts(user.id, now, limit, frozenset(exclude))
    found = [Candidate(cid, "score", _("score %(score)s; not contacted in the last %(n)s days",
                                       score=format_number(score, 0), n=recent_days()),
                       now, score=float(score)) for cid, score in scored]
    if len(found) < limit:  # scoring not there (or thin): the rep's open book, by the owner index
        have = exclude | {c.contact_id for c in found}
        rows = db.session.scalars(
            select(Contact.id).where(Contact.owner_id == user.id,
                                     Contact.lifecycle_stage.in_(("lead", "mql", "sql", "opportunity")))
            .order_by(Contact.owner_id, Contact.lifecycle_stage, Contact.id).limit(limit + len(have))
        ).all()
        found += [Candidate(cid, "score", _("in your book, not contacted in the last %(n)s days", n=recent_days()),
                            now, score=0.0) for cid in rows if cid not in have][: limit - len(found)]
    return found


def with_capacity_boosts(user, now: datetime, candidates: list[Candidate]) -> list[Candidate]:
    """Candidates whose contact buys a family with spare capacity get the boost and the reason;
    the rep's other such contacts join as ``capacity`` candidates."""
    boosts = capacity_boosts(user, now)
    if not boosts:
        return candidates
    boosted = [replace(c, boost=CAPACITY_BOOST, reason=f"{c.reason}; {boosts[c.contact_id].reason}"[:300])
               if c.contact_id in boosts else c for c in candidates]
    have = {c.contact_id for c in candidates}
    return boosted + [Candidate(cid, "capacity", boost.reason[:300], now, boost=CAPACITY_BOOST)
                      for cid, boost in boosts.items() if cid not in have]


def recent_days() -> int:
    return int(current_app.config.get("CALL_RECENT_CONTACT_DAYS", 7))


# --- exclusions and calling hours -----------------------------------------------------------

def _contacts(ids) -> dict[int, Contact]:
    if not ids:
        return {}
    rows = db.session.scalars(
        select(Contact).options(joinedload(Contact.company)).where(Contact.id.in_(list(ids)))
    ).all()
    return {c.id: c for c in rows}


def _touched(ids, kinds, since: datetime) -> set[int]:
    if not ids:
        return set()
    return set(db.session.scalars(
        select(Activity.contact_id).where(Activity.contact_id.in_(list(ids)), Activity.kind.in_(kinds),
                                          Activity.occurred_at >= since).distinct()
    ))


def callable_phone(contact: Contact) -> bool:
    return bool((contact.phone or "").strip()) and contact.phone_invalid_at is None


def place(candidates, contacts: dict[int, Contact], *, now: datetime, day_start: datetime,
          day_end: datetime, called_today: set[int], recently_touched: set[int],
          hours: tuple[time, time]) -> list[Placed]:
    """Exclusions, calling hours and order (pure apart from the inputs it is given)."""
    placed = []
    for candidate, value in best_per_contact(candidates, now):
        contact = contacts.get(candidate.contact_id)
        if contact is None or contact.do_not_contact or not callable_phone(contact):
            continue
        if candidate.reason_code != "callback" and candidate.contact_id in called_today:
            continue
        if candidate.reason_code in UNTOUCHED_ONLY and candidate.contact_id in recently_touched:
            continue
        earliest = max(now, day_start)
        if candidate.reason_code == "callback":
            earliest = max(earliest, candidate.signal_at)
        opens = calling_window_start(contact.effective_time_zone, earliest, day_end, hours)
        if opens is None:  # not reachable in their hours before the rep's day ends
            continue
        held = opens if opens > now else None
        due = candidate.signal_at if candidate.reason_code in ("call_task", "callback") else opens
        placed.append(Placed(candidate, value, due, held))
    return placed


def select_for_capacity(placed: list[Placed], capacity: int) -> list[Placed]:
    """Fill the blocked time in priority order; live intent and promised callbacks always join."""
    chosen = []
    for item in placed:
        if item.candidate.reason_code in ALWAYS_JOIN or len(chosen) < capacity:
            chosen.append(item)
    return chosen


def capacity_for(user, day: date, now: datetime | None = None) -> int:
    """How many calls fit in the rep's blocks on ``day``: with ``now``, only the blocked time
    still ahead today (a block that has passed is no room for calls any more)."""
    per_hour = stored_settings(user).calls_per_hour
    return blocked_minutes(user, day, since=now) * per_hour // 60


# --- building and storing ----------------------------------------------------------------------

def plan_queue(user, now: datetime, day: date) -> list[Placed]:
    """The selection a build of the rep's queue for ``day`` would store, in priority order.
    Reads only."""
    day_start, day_end = day_bounds(day, rep_zone(user))
    capacity = capacity_for(user, day, now)
    with force_language(user.language):  # the reasons are read by the rep, in their language
        candidates = (intent_candidates(user, now) + task_candidates(user, day, day_end)
                      + converted_candidates(user, day, now) + callback_candidates(user, day_end))
    taken = {c.contact_id for c in candidates}
    with force_language(user.language):
        candidates += score_candidates(user, now, capacity * 2 + 10, taken)
    candidates = with_capacity_boosts(user, now, candidates)
    return _place_all(user, candidates, now, day_start, day_end, capacity, day)


@dataclass(frozen=True)
class PlannedEntry:
    """A queue entry not stored yet (``id`` None): what My day shows before the queue is built."""
    id: None
    position: int
    contact: Contact
    contact_id: int
    reason_code: str
    reason: str
    held_until: datetime | None
    status: str = "queued"


def preview_queue(user, now: datetime, day: date) -> list[PlannedEntry]:
    """The queue a build would store for ``day``, ordered as it would be numbered. Reads only."""
    chosen = sorted(plan_queue(user, now, day), key=lambda p: (-p.priority, p.candidate.contact_id))
    contacts = _contacts({p.candidate.contact_id for p in chosen})
    return [PlannedEntry(None, position, contacts[p.candidate.contact_id], p.candidate.contact_id,
                         p.candidate.reason_code, p.candidate.reason, p.held_until)
            for position, p in enumerate(chosen, start=1)]


def queue_built(user, now: datetime) -> bool:
    """Was the rep's queue for their today built (by the morning job or the rep)?"""
    return stored_settings(user).queue_built_on == today_for(user, now)


class QueueRaced(Conflict):
    """Another request (or the morning job) stored the same queue at the same moment; its
    queue stands. The build's writes are already undone (a savepoint): the caller's session
    stays usable."""


def build_queue(user, now: datetime, day: date | None = None) -> list[CallQueueEntry]:
    """(Re)build the rep's queue for ``day`` (default: the rep's today). Entries already
    logged stay; open entries are replaced by the new selection. Flushes.
    :raises QueueRaced: a concurrent build stored it first"""
    day = day or today_for(user, now)
    chosen = plan_queue(user, now, day)
    try:
        with db.session.begin_nested():
            _store(user, day, chosen, now, prune=True)
            settings_for(user, now).queue_built_on = day
            db.session.flush()
    except IntegrityError:
        raise QueueRaced("the queue is being built by another request; read it again") from None
    return queue_entries(user.id, day)


def resize_after_change(user, now: datetime) -> bool:
    """The rep's blocks or calls per hour changed: a queue already built today is rebuilt to the
    new size at once (logged entries stay), so the header and the list agree without a
    "Rebuild queue". Returns whether it was rebuilt. Flushes."""
    if not queue_built(user, now):
        return False
    try:
        build_queue(user, now)
    except QueueRaced:  # a concurrent build read the same blocks: its queue stands
        return False
    return True


def refresh_live_intent(user, now: datetime) -> int:
    """Let contacts showing live intent join (or jump up) today's queue. Returns how many
    entries joined or moved up. Flushes."""
    candidates = intent_candidates(user, now)
    if not candidates:
        return 0
    day = today_for(user, now)
    day_start, day_end = day_bounds(day, rep_zone(user))
    chosen = _place_all(user, candidates, now, day_start, day_end, 0, day)
    try:
        with db.session.begin_nested():
            return _store(user, day, chosen, now, prune=False)
    except IntegrityError:  # another request let the same contacts join at the same moment
        return 0


def _worked_today(user_id: int, day: date, ids) -> set[int]:
    """Contacts whose entry today was already logged or skipped."""
    if not ids:
        return set()
    return set(db.session.scalars(select(CallQueueEntry.contact_id).where(
        CallQueueEntry.user_id == user_id, CallQueueEntry.queue_date == day,
        CallQueueEntry.status != "queued", CallQueueEntry.contact_id.in_(list(ids)))))


def _place_all(user, candidates, now, day_start, day_end, capacity, day) -> list[Placed]:
    ids = {c.contact_id for c in candidates}
    contacts = _contacts(ids)
    score_ids = {c.contact_id for c in candidates if c.reason_code in UNTOUCHED_ONLY}
    placed = place(
        candidates, contacts, now=now, day_start=day_start, day_end=day_end,
        called_today=_touched(ids, ("call",), day_start) | _worked_today(user.id, day, ids),
        recently_touched=_touched(score_ids, TOUCH_KINDS, now - timedelta(days=recent_days())),
        hours=calling_hours(),
    )
    return select_for_capacity(placed, capacity)


def _store(user, day: date, chosen: list[Placed], now: datetime, *, prune: bool) -> int:
    open_entries = {e.contact_id: e for e in db.session.scalars(
        select(CallQueueEntry).where(CallQueueEntry.user_id == user.id, CallQueueEntry.queue_date == day,
                                     CallQueueEntry.status == "queued"))}
    changed = 0
    for item in chosen:
        entry = open_entries.pop(item.candidate.contact_id, None)
        if entry is not None and not prune and entry.priority >= item.priority:
            continue
        if entry is None:
            entry = CallQueueEntry(user_id=user.id, queue_date=day, contact_id=item.candidate.contact_id,
                                   position=0, status="queued", created_at=now)
            db.session.add(entry)
        c = item.candidate
        entry.reason_code, entry.reason, entry.priority = c.reason_code, c.reason, item.priority
        entry.due_at, entry.held_until = item.due_at, item.held_until
        entry.task_id, entry.callback_id = c.task_id, c.callback_id
        changed += 1
    if prune and open_entries:
        db.session.execute(delete(CallQueueEntry).where(
            CallQueueEntry.id.in_([e.id for e in open_entries.values()]), CallQueueEntry.status == "queued"))
    db.session.flush()
    _renumber(user.id, day)
    return changed


def _renumber(user_id: int, day: date) -> None:
    entries = db.session.scalars(
        select(CallQueueEntry).where(CallQueueEntry.user_id == user_id, CallQueueEntry.queue_date == day,
                                     CallQueueEntry.status == "queued")
        .order_by(CallQueueEntry.priority.desc(), CallQueueEntry.contact_id)
    ).all()
    for position, entry in enumerate(entries, start=1):
        entry.position = position
    db.session.flush()


# --- reading ---------------------------------------------------------------------------------

def queue_entries(user_id: int, day: date, *, include_done: bool = False) -> list[CallQueueEntry]:
    """Today's entries in order (open ones by position, then the logged ones), contacts and
    their companies loaded in the same query."""
    query = (select(CallQueueEntry)
             .options(joinedload(CallQueueEntry.contact).joinedload(Contact.company))
             .where(CallQueueEntry.user_id == user_id, CallQueueEntry.queue_date == day))
    if not include_done:
        query = query.where(CallQueueEntry.status == "queued")
    entries = db.session.scalars(query.order_by(CallQueueEntry.position, CallQueueEntry.id)).all()
    return sorted(entries, key=lambda e: (e.status != "queued", e.position if e.status == "queued" else 0,
                                          e.logged_at or e.created_at))


def next_entry(user, now: datetime) -> CallQueueEntry | None:
    """The first open entry of the rep's today that is not held for later."""
    return db.session.scalar(
        select(CallQueueEntry).where(
            CallQueueEntry.user_id == user.id, CallQueueEntry.queue_date == today_for(user, now),
            CallQueueEntry.status == "queued",
            or_(CallQueueEntry.held_until.is_(None), CallQueueEntry.held_until <= now))
        .order_by(CallQueueEntry.position, CallQueueEntry.id).limit(1)
    )


def skip_entry(user, entry_id: int, now: datetime) -> bool:
    """Put an entry aside for today (conditional: an entry already logged stays logged)."""
    result = db.session.execute(
        CallQueueEntry.__table__.update()
        .where(and_(CallQueueEntry.id == entry_id, CallQueueEntry.user_id == user.id,
                    CallQueueEntry.status == "queued"))
        .values(status="skipped", logged_at=now)
    )
    return result.rowcount == 1
