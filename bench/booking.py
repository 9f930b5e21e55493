"""Benchmark: atomic booking under a real multi-process server, and the cost of slot computation.

    .venv/bin/python bench/booking.py --database-url postgresql://postgres@127.0.0.1:5432/bench

1. Race: gunicorn with 2 workers (separate processes, separate connection pools) serves the
   app on PostgreSQL; 200 threads fire booking requests at once against a link that offers
   exactly 10 slots (20 requests per slot). Expected: exactly 10 bookings (201), 190 conflicts
   (409), no other status, and in the database 10 confirmed meetings on 10 distinct starts with
   no two overlapping: none lost, none doubled.
2. Slots: a rep with 500 existing events (250 meetings, 250 external calendar events) over the
   next 60 days; the median time to compute 60 days of free slots (load + compute) next to the
   median time to only load those events, and the ratio.

The database's tables are DROPPED and recreated: point it at a scratch database.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ATTEMPTS = 200
SLOTS = 10
EVENTS = 500
DAYS = 60
UTC = timezone.utc


def normalise(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_app(url: str):
    os.environ["TEST_DATABASE_URL"] = url
    from config import TestConfig
    from crm.app import create_app

    return create_app(TestConfig())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def next_weekday(start: date, weekday: int) -> date:
    while start.weekday() != weekday:
        start += timedelta(days=1)
    return start


def setup_race(app) -> tuple[str, list[datetime]]:
    """A rep whose link offers exactly 10 half-hour slots: Wednesday 09:00-14:00 Berlin."""
    from crm.auth.services import create_user
    from crm.extensions import db
    from crm.meetings.services import create_meeting_type, slots_for_days
    from crm.timeutil import utcnow

    with app.app_context():
        db.drop_all()
        db.create_all()
        rep = create_user("bench-rep@acme-sales.com", "rep", "correct horse battery staple 42", name="Bench Rep",
                          time_zone="Europe/Berlin")
        db.session.flush()
        now = utcnow()
        create_meeting_type(rep, {
            "name": "Race", "slug": "race", "duration_minutes": 30, "time_zone": "Europe/Berlin",
            "weekly_hours": [{"weekday": 2, "start": "09:00", "end": "14:00"}], "min_notice_hours": 0,
            "horizon_days": 14, "increment_minutes": 30, "buffer_after_minutes": 0,
        }, now)
        db.session.commit()
        wednesday = next_weekday(now.date() + timedelta(days=2), 2)
        from crm.meetings.models import MeetingType

        meeting_type = db.session.query(MeetingType).one()
        slots = slots_for_days(meeting_type, now, wednesday, 1, "Europe/Berlin")
        assert len(slots) == SLOTS, slots
        return "race", slots


def start_gunicorn(url: str, port: int, instance: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://"),
           "SECRET_KEY": "bench-secret", "CRM_CONFIG": "production", "CRM_INSTANCE_DIR": instance,
           "MAIL_TRANSPORT": "file", "MEETING_BOOKING_RATE_LIMIT": "100000 per minute",
           "MEETING_SLOTS_RATE_LIMIT": "100000 per minute", "API_RATE_LIMIT": "100000 per minute",
           "COOKIE_SECURE": "0", "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", "2", "--threads", "50", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "--timeout", "120", "wsgi:app"],
        cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL, stderr=open(Path(instance) / "gunicorn.log", "w"),
        start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=5).read()
            return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError("gunicorn did not start; see gunicorn.log in " + instance)


def race(port: int, slug: str, slots: list[datetime]) -> tuple[Counter, float]:
    barrier = threading.Barrier(ATTEMPTS)
    statuses: list[int] = [0] * ATTEMPTS

    def attempt(i: int) -> None:
        start = slots[i % SLOTS].astimezone(ZoneInfo("America/New_York"))
        body = json.dumps({"start": start.isoformat(), "name": f"Racer {i}", "email": f"racer{i}@bench{i}.com",
                           "tz": "America/New_York"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/booking/{slug}", data=body,
                                         headers={"Content-Type": "application/json"}, method="POST")
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                statuses[i] = response.status
        except urllib.error.HTTPError as exc:
            statuses[i] = exc.code
        except OSError:
            statuses[i] = -1

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(ATTEMPTS)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Counter(statuses), time.perf_counter() - began


def check_database(app, slots: list[datetime]) -> tuple[int, int, bool]:
    from crm.extensions import db
    from crm.meetings.models import Meeting

    with app.app_context():
        rows = db.session.query(Meeting.start_at, Meeting.end_at).filter(Meeting.status == "confirmed").all()
        ordered = sorted(rows)
        no_overlap = all(a[1] <= b[0] for a, b in zip(ordered, ordered[1:]))
        return len(rows), len({r[0] for r in rows} & set(slots)), no_overlap


def setup_slots(app):
    """500 events over 60 days for one rep: 250 meetings (15:00-15:30 and 16:00-16:45 Berlin
    on many days, some weekends) and 250 external busy intervals."""
    from crm.auth.services import create_user
    from crm.extensions import db
    from crm.meetings.models import ExternalBusy, ExternalCalendar, Meeting
    from crm.meetings.services import create_meeting_type
    from crm.timeutil import utcnow

    with app.app_context():
        now = utcnow()
        rep = create_user("slots-rep@acme-sales.com", "rep", "correct horse battery staple 42", name="Slots Rep",
                          time_zone="Europe/Berlin")
        db.session.flush()
        meeting_type = create_meeting_type(rep, {
            "name": "Intro", "slug": "slots", "duration_minutes": 30, "time_zone": "Europe/Berlin",
            "weekly_hours": [{"weekday": d, "start": s, "end": e} for d in range(5)
                             for s, e in (("08:00", "12:00"), ("13:00", "18:00"))],
            "min_notice_hours": 0, "horizon_days": DAYS, "increment_minutes": 15,
            "buffer_before_minutes": 10, "buffer_after_minutes": 10,
        }, now)
        calendar = ExternalCalendar(user_id=rep.id, name="Work", kind="file", created_at=now)
        db.session.add(calendar)
        db.session.flush()
        berlin = ZoneInfo("Europe/Berlin")
        first = now.astimezone(berlin).date()
        for n in range(EVENTS // 2):
            day = first + timedelta(days=n % DAYS)
            slot = n // DAYS  # up to 5 events of each kind per day, at distinct hours
            start = datetime(day.year, day.month, day.day, 8 + 2 * slot, 0, tzinfo=berlin).astimezone(UTC)
            db.session.add(Meeting(
                meeting_type_id=meeting_type.id, host_id=rep.id, title="Existing", start_at=start,
                end_at=start + timedelta(minutes=30), status="confirmed", uid=f"bench-{n}@x", guest_name="G",
                guest_email=f"g{n}@x.com", answers={}, created_at=now, updated_at=now))
            busy = start + timedelta(hours=1)
            db.session.add(ExternalBusy(calendar_id=calendar.id, user_id=rep.id, start_at=busy,
                                        end_at=busy + timedelta(minutes=45)))
        db.session.commit()
        return meeting_type.id, rep.id


def time_slots(app, meeting_type_id: int, rep_id: int, runs: int) -> tuple[float, float, int, int]:
    from crm.extensions import db
    from crm.meetings.models import MeetingType
    from crm.meetings.services import booked_meetings, busy_for, host_free_slots
    from crm.timeutil import utcnow

    with app.app_context():
        meeting_type = db.session.get(MeetingType, meeting_type_id)
        now = utcnow()
        start, end = now, now + timedelta(days=DAYS)
        compute, load = [], []
        events = slots = 0
        for _ in range(runs):
            db.session.expire_all()
            began = time.perf_counter()
            events = len(booked_meetings(rep_id, start - timedelta(days=1), end + timedelta(days=1))) + len(
                busy_for(rep_id, start - timedelta(days=1), end + timedelta(days=1)))
            load.append(time.perf_counter() - began)
            db.session.expire_all()
            began = time.perf_counter()
            slots = len(host_free_slots(meeting_type, rep_id, now, start, end))
            compute.append(time.perf_counter() - began)
        return statistics.median(compute), statistics.median(load), events, slots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/bench"))
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    url = normalise(args.database_url)
    if not url.startswith("postgresql"):
        print("the race needs PostgreSQL (gunicorn workers are separate processes)")
        return 2
    app = make_app(url)
    slug, slots = setup_race(app)
    port = free_port()
    with tempfile.TemporaryDirectory() as instance:
        server = start_gunicorn(url, port, instance)
        try:
            statuses, elapsed = race(port, slug, slots)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    confirmed, distinct, no_overlap = check_database(app, slots)
    ok = statuses == Counter({201: SLOTS, 409: ATTEMPTS - SLOTS}) and confirmed == SLOTS and distinct == SLOTS \
        and no_overlap
    print(f"race: {ATTEMPTS} concurrent attempts on {SLOTS} slots via gunicorn -w 2 in {elapsed:.2f} s: "
          f"statuses {dict(sorted(statuses.items()))}; database: {confirmed} confirmed meetings on {distinct} "
          f"distinct slots, overlaps: {'none' if no_overlap else 'FOUND'} -> {'OK' if ok else 'FAILED'}")
    meeting_type_id, rep_id = setup_slots(app)
    compute, load, events, found = time_slots(app, meeting_type_id, rep_id, args.runs)
    print(f"slots: {DAYS} days, {events} existing events -> {found} free slots; median of {args.runs}: "
          f"compute (load + compute) {compute * 1000:.1f} ms, load only {load * 1000:.1f} ms, "
          f"ratio {compute / load:.2f}")
    with app.app_context():
        from crm.extensions import db

        db.session.remove()
        db.engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
