"""Benchmark: building one rep's daily call queue with 10,000 and with 1,000,000 contacts
(ten timeline events each) in the database. Target: the large build takes at most 3x the small.

    .venv/bin/python bench/call_queue.py                       # SQLite (fresh temp files)
    .venv/bin/python bench/call_queue.py --database-url postgresql://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/call_queue.py --quick               # 1,000 vs 100,000: a smoke run

The rep (New York, a Monday-Friday 09:00-10:30 block, 12 calls an hour: an 18-call queue)
owns the same 2,000 contacts in both runs - a rep's book does not grow with the company's
database; the other contacts belong to 200 other reps. Every contact has ten activities spread
over the past year (sent, opened, page views, calls, notes, form submissions and replies) and a
score row. The build is ``crm.calls.queue.build_queue`` (every source: live intent, due call
tasks, converted leads, callbacks, scores, exclusions, calling hours), timed as the median of
seven builds, each rolled back so every build sees the same data.

Rows are bulk-loaded with ``executemany`` (SQLite) or ``COPY`` (PostgreSQL). With
--database-url the database's tables are DROPPED and recreated: point it at a scratch database.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import time as clock
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 3, 10, 13, 30, tzinfo=timezone.utc)  # Tuesday 09:30 in New York
BOOK = 2_000
OTHER_REPS = 200
EVENTS = 10
ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London", "Europe/Berlin",
         "Asia/Tokyo", "Australia/Sydney", "America/Sao_Paulo"]
KINDS = (["email_sent"] * 30 + ["email_opened"] * 20 + ["page_viewed"] * 20 + ["call"] * 10
         + ["note"] * 10 + ["form_submitted"] * 5 + ["email_replied"] * 5)
BATCH = 50_000
DETAILS = json.dumps({"subject": "Pump sizing"})


def make_app(url: str):
    from config import TestConfig
    from crm.app import create_app

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = config._database_url(url)
    return create_app(config)


def _sql_value(value):
    """SQLite takes the text the ORM would write: UTC timestamps without a zone, JSON text."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _copy(conn, table, columns, rows) -> None:
    """PostgreSQL COPY; SQLite executemany on the raw connection (no per-value processing)."""
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in columns)
        raw.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})",
                        [tuple(_sql_value(v) for v in row) for row in rows])


def _big_indexes(db):
    names = ("contacts", "activities", "contact_scores")
    return [index for table in db.metadata.sorted_tables if table.name in names for index in table.indexes]


def load(db, contacts: int, seed: int = 7) -> int:
    """Users, companies, contacts, activities and scores; returns the bench rep's id."""
    from crm.auth.models import User
    from crm.contacts.models import Activity, Company, Contact
    from crm.scoring.models import ContactScore

    rng = random.Random(seed)
    engine = db.engine
    dialect = engine.dialect.name
    now = NOW
    indexes = _big_indexes(db)
    with engine.begin() as conn:  # loading is faster without them; they are rebuilt below
        if dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
        for index in indexes:
            index.drop(conn)
    with engine.begin() as conn:
        users = [(1, "rep@bench.example", "Bench Rep", "rep", "America/New_York", True, now)]
        users += [(2 + n, f"rep{n}@bench.example", f"Rep {n}", "rep", rng.choice(ZONES), True, now)
                  for n in range(OTHER_REPS)]
        _copy(conn, User.__table__, ["id", "email", "name", "role", "time_zone", "is_active", "created_at"], users)
        companies = max(1, contacts // 50)
        _copy(conn, Company.__table__, ["id", "name", "domain", "time_zone", "custom", "created_at", "updated_at"],
              [(n + 1, f"Company {n}", f"company{n}.example", rng.choice(ZONES), "{}", now, now)
               for n in range(companies)])
    for first in range(0, contacts, BATCH):
        ids = range(first + 1, min(contacts, first + BATCH) + 1)
        contact_rows, activity_rows, score_rows = [], [], []
        for cid in ids:
            owner = 1 if cid % (contacts // BOOK) == 0 else 2 + cid % OTHER_REPS
            phone = None if rng.random() < 0.05 else f"+1 212 555 {cid % 10000:04d}"
            contact_rows.append((cid, f"person{cid}@company{cid % companies}.example", "First", f"Last{cid}", phone,
                                 1 + cid % companies, owner, rng.choice(ZONES), "lead", rng.random() < 0.02,
                                 False, "{}", now, now))
            for _ in range(EVENTS):
                at = NOW - timedelta(minutes=rng.randrange(1, 365 * 24 * 60))
                activity_rows.append((cid, 1 + cid % companies, owner, rng.choice(KINDS), at, DETAILS, now))
            engagement = rng.random() * 50
            score_rows.append((cid, engagement, now, rng.random() * 30, None, min(100.0, engagement * 2),
                               math.log2(engagement + 1e-6) + rng.random(), now, owner))
        with engine.begin() as conn:
            if dialect == "sqlite":
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
            _copy(conn, Contact.__table__, ["id", "email", "first_name", "last_name", "phone", "company_id", "owner_id",
                                            "time_zone", "lifecycle_stage", "do_not_contact", "unsubscribed", "custom",
                                            "created_at", "updated_at"], contact_rows)
            _copy(conn, Activity.__table__, ["contact_id", "company_id", "user_id", "kind", "occurred_at", "details",
                                             "created_at"], activity_rows)
            _copy(conn, ContactScore.__table__, ["contact_id", "engagement", "engagement_as_of", "fit", "predictive",
                                                 "score", "rank_key", "updated_at", "owner_id"], score_rows)
        print(f"  loaded {ids[-1]:,} contacts", end="\r", flush=True)
    print()
    with engine.begin() as conn:
        for index in indexes:
            index.create(conn)
    if dialect == "postgresql":
        with engine.begin() as conn:
            from sqlalchemy import text

            for table in ("users", "companies", "contacts", "activities", "contact_scores"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))") if table != "contact_scores" else text("SELECT 1"))
            conn.execute(text("ANALYZE"))
    else:
        with engine.begin() as conn:
            from sqlalchemy import text

            conn.execute(text("ANALYZE"))
    return 1


def build_time(db, rep_id: int, runs: int = 7) -> tuple[float, int]:
    from crm.auth.models import User
    from crm.calls.blocks import create_block
    from crm.calls.queue import build_queue

    rep = db.session.get(User, rep_id)
    create_block(rep, {"kind": "recurring", "weekdays": [0, 1, 2, 3, 4], "start_time": time(9),
                       "end_time": time(10, 30), "valid_from": NOW.date() - timedelta(days=30)}, NOW)
    db.session.commit()
    timings, size = [], 0
    for _ in range(runs):
        rep = db.session.get(User, rep_id)
        started = clock.perf_counter()
        size = len(build_queue(rep, NOW))
        timings.append(clock.perf_counter() - started)
        db.session.rollback()
    print(f"  builds: {', '.join(f'{t * 1000:.0f}' for t in timings)} ms (median and min below)")
    return statistics.median(timings), min(timings), size


def run(url: str, contacts: int) -> tuple[float, float, int]:
    from crm.extensions import db

    app = make_app(url)
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.create_all()
        started = clock.perf_counter()
        rep_id = load(db, contacts)
        print(f"  load: {clock.perf_counter() - started:.0f} s")
        result = build_time(db, rep_id)
        db.session.remove()
        db.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a scratch PostgreSQL database (its tables are dropped)")
    parser.add_argument("--quick", action="store_true", help="1,000 vs 100,000 contacts")
    args = parser.parse_args()
    small, large = (1_000, 100_000) if args.quick else (10_000, 1_000_000)
    global BOOK
    BOOK = min(BOOK, small // 5)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for count in (small, large):
            url = args.database_url or f"sqlite:///{Path(folder) / f'queue-{count}.sqlite3'}"
            print(f"{count:,} contacts ({count * EVENTS:,} activities) on {url.split(':', 1)[0]}")
            results[count] = run(url, count)
            print(f"  build: median {results[count][0] * 1000:.1f} ms, min {results[count][1] * 1000:.1f} ms "
                  f"({results[count][2]} entries)")
    ratio = results[large][0] / results[small][0]
    print(f"\nqueue build with {small:,} contacts: {results[small][0] * 1000:.1f} ms "
          f"(median; min {results[small][1] * 1000:.1f})")
    print(f"queue build with {large:,} contacts: {results[large][0] * 1000:.1f} ms "
          f"(median; min {results[large][1] * 1000:.1f})")
    print(f"ratio: {ratio:.2f} (target <= 3; of the minimums {results[large][1] / results[small][1]:.2f})")


if __name__ == "__main__":
    main()
