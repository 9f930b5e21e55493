"""Benchmark: lead scoring at 100,000 contacts and 1,000,000 human events.

    .venv/bin/python bench/scoring.py                                  # SQLite file in /tmp
    .venv/bin/python bench/scoring.py --contacts 10000 --events 100000
    .venv/bin/python bench/scoring.py --database-url postgresql://postgres@127.0.0.1:5432/bench_scoring

Builds a fresh schema, inserts the contacts (with companies, titles and owners, so fit rules
have work) and the events (random kinds, a share on the pricing page, spread over a year),
then measures:

1. the full recomputation (``recompute_all``: one ordered pass over the events, batched
   upserts), and checks a sample of contacts against a from-scratch sum;
2. the incremental cost per event (``record_event``: insert the event, lock the score row,
   decay and add) for random contacts and times, with and without a commit per event;
3. "best now" for one owner (``top_scored_contacts``: an index scan on ``rank_key``).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = (("page_viewed", 55), ("email_opened", 30), ("email_clicked", 10), ("form_submitted", 3),
         ("email_replied", 2))
URLS = ("https://www.example.com/pricing", "https://www.example.com/blog/post", "https://www.example.com/",
        "https://www.example.com/products/pumps")
TITLES = ("VP Operations", "Plant Manager", "Buyer", "Process Engineer", "Chief Executive Officer", None)
NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)


def make_app(url: str):
    from config import TestConfig
    from crm.app import create_app

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = config._database_url(url)
    return create_app(config)


def populate(db, contacts: int, events: int, rng: random.Random) -> float:
    from sqlalchemy import insert

    from crm.auth.models import User
    from crm.contacts.models import Company, Contact
    from crm.scoring.models import ScoreEvent

    started = time.perf_counter()
    owners = []
    for i in range(3):
        user = User(email=f"rep{i}@bench.example", name=f"Rep {i}", role="rep", password_hash="x")
        db.session.add(user)
        owners.append(user)
    db.session.flush()
    owner_ids = [u.id for u in owners]
    companies = max(1, contacts // 10)
    db.session.execute(insert(Company), [
        {"name": f"Company {i}", "domain": f"company{i}.example", "employee_count": rng.choice((8, 60, 400, 9000)),
         "industry": rng.choice(("Food", "Chemicals", "Water")), "custom": {}, "created_at": NOW, "updated_at": NOW}
        for i in range(companies)])
    for start in range(0, contacts, 20000):
        db.session.execute(insert(Contact), [
            {"email": f"person{i}@bench.example", "first_name": "P", "last_name": str(i),
             "title": rng.choice(TITLES), "company_id": 1 + i % companies, "owner_id": owner_ids[i % 3],
             "lifecycle_stage": "lead", "do_not_contact": False, "unsubscribed": False, "custom": {},
             "created_at": NOW, "updated_at": NOW}
            for i in range(start, min(contacts, start + 20000))])
    kinds, weights = zip(*KINDS)
    year = 365 * 24 * 3600
    for start in range(0, events, 50000):
        batch = []
        for _ in range(min(50000, events - start)):
            kind = rng.choices(kinds, weights)[0]
            batch.append({"contact_id": rng.randint(1, contacts), "kind": kind,
                          "url": rng.choice(URLS) if kind == "page_viewed" else None,
                          "occurred_at": NOW - timedelta(seconds=rng.randint(0, year))})
        db.session.connection().execute(ScoreEvent.__table__.insert(), batch)  # Core executemany
    db.session.commit()
    return time.perf_counter() - started


def check_sample(db, rng: random.Random, contacts: int, samples: int = 50) -> float:
    """Largest relative difference between stored scores and a from-scratch sum."""
    from sqlalchemy import select

    from crm.scoring.models import ContactScore, ScoreEvent
    from crm.scoring.rules import load_ruleset
    from crm.scoring.scores import engagement_from_scratch

    ruleset = load_ruleset()
    worst = 0.0
    for contact_id in rng.sample(range(1, contacts + 1), min(samples, contacts)):
        events = db.session.execute(select(ScoreEvent.kind, ScoreEvent.url, ScoreEvent.occurred_at)
                                    .where(ScoreEvent.contact_id == contact_id)).all()
        expected, _ = engagement_from_scratch(
            [(ruleset.points_for(k, u), at) for k, u, at in events if ruleset.points_for(k, u)],
            ruleset.half_life_hours)
        stored = db.session.get(ContactScore, contact_id).engagement
        if expected:
            worst = max(worst, abs(stored - expected) / expected)
    return worst


def time_incremental(db, rng: random.Random, contacts: int, count: int, commit_each: bool) -> list[float]:
    from crm.scoring.scores import record_event

    kinds, weights = zip(*KINDS)
    costs = []
    for _ in range(count):
        contact_id = rng.randint(1, contacts)
        kind = rng.choices(kinds, weights)[0]
        at = NOW - timedelta(seconds=rng.randint(0, 30 * 24 * 3600))  # many arrive "late"
        started = time.perf_counter()
        record_event(contact_id, kind, at, url=rng.choice(URLS) if kind == "page_viewed" else None)
        if commit_each:
            db.session.commit()
        costs.append(time.perf_counter() - started)
    db.session.commit()
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--incremental", type=int, default=2000, help="events timed one by one")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in /tmp")
    args = parser.parse_args()
    rng = random.Random(20261125)
    tmp = None
    url = args.database_url
    if url is None:
        tmp = tempfile.NamedTemporaryFile(prefix="bench-scoring-", suffix=".sqlite3", delete=False)
        url = f"sqlite:///{tmp.name}"
    app = make_app(url)
    from crm.extensions import db
    from crm.scoring.rules import get_settings
    from crm.scoring.scores import recompute_all
    from crm.scoring.services import top_scored_contacts

    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.create_all()
        get_settings()
        db.session.commit()
        dialect = db.engine.dialect.name
        print(f"database: {dialect}; {args.contacts:,} contacts, {args.events:,} events")
        print(f"populate: {populate(db, args.contacts, args.events, rng):.1f} s (not part of scoring)")

        started = time.perf_counter()
        result = recompute_all(NOW)
        db.session.commit()
        full = time.perf_counter() - started
        print(f"full recompute: {full:.1f} s for {result['contacts']:,} contacts and {result['events']:,} events "
              f"({full / max(1, result['events']) * 1e6:.1f} µs per event)")
        print(f"  sample check (50 contacts vs from-scratch sum): max relative difference "
              f"{check_sample(db, rng, args.contacts):.2e}")

        for commit_each in (False, True):
            costs = time_incremental(db, rng, args.contacts, args.incremental, commit_each)
            label = "with a commit per event" if commit_each else "in one transaction"
            print(f"incremental record_event ({label}): median {statistics.median(costs) * 1e3:.2f} ms, "
                  f"p95 {sorted(costs)[int(len(costs) * 0.95)] * 1e3:.2f} ms, "
                  f"{len(costs) / sum(costs):,.0f} events/s")

        owner_id = 1
        started = time.perf_counter()
        for _ in range(100):
            top = top_scored_contacts(owner_id, NOW, 50)
        print(f"top_scored_contacts(owner, limit 50): {(time.perf_counter() - started) * 10:.2f} ms per call "
              f"(best score now {top[0][1]:.1f})")
        db.session.remove()
        if dialect == "postgresql":
            db.drop_all()
        db.engine.dispose()
    if tmp is not None:
        Path(tmp.name).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
