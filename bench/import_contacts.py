"""Benchmark: the real CSV contact import against a raw SQLAlchemy Core bulk insert.

    .venv/bin/python bench/import_contacts.py                      # SQLite (fresh temp files)
    .venv/bin/python bench/import_contacts.py --database-url postgresql://postgres@127.0.0.1:5432/bench

Generates the same 100,000 contact rows every time (seeded), writes them as a CSV file,
imports that file through ``crm.imports.services.import_file`` (validation, duplicate check,
companies, contacts, timeline rows, batch commits) into a fresh database, then inserts the same
rows with ``conn.execute(insert(contacts), batch)`` in batches of the same size into a fresh
database, and prints rows per second for both and the ratio import / raw. Target: >= 0.6 (issue #18).

Each side runs ``--repeat`` times (3 by default), alternating, so that a busy machine slows both
alike; the fastest run of each side counts (the others are printed, with each pair's ratio).

With --database-url the database's tables are DROPPED and recreated: point it at a scratch
database.
"""
from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST = ["Anna", "Ben", "Chloé", "David", "Elif", "Farid", "Grace", "Hiro", "Inès", "Jonas",
         "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara"]
LAST = ["Schmidt", "Dubois", "García", "Rossi", "Nowak", "Jensen", "Okafor", "Tanaka", "Silva",
        "Müller", "Smith", "Novak", "Kowalski", "Larsen", "Moreau", "Costa", "Ivanova", "Haddad"]
TITLES = ["Buyer", "Head of Procurement", "Plant Manager", "CFO", "Maintenance Lead", "Engineer"]
FREEMAIL = ["gmail.com", "yahoo.com", "outlook.com"]
HEADER = ["Email", "First Name", "Last Name", "Job Title", "Phone Number", "Company"]


def generate_rows(count: int, seed: int = 42):
    """Deterministic contact rows: unique emails at ~2,000 companies, one in ten on free-mail."""
    rng = random.Random(seed)
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company_no = rng.randrange(2000)
        domain = rng.choice(FREEMAIL) if rng.random() < 0.1 else f"company{company_no}.com"
        email = f"{first.lower()}.{last.lower()}.{n}@{domain}".encode("ascii", "ignore").decode()
        yield [email, first, last, rng.choice(TITLES), f"+49 30 {rng.randrange(10**7):07d}",
               f"Company {company_no}" if domain not in FREEMAIL else ""]


def write_csv(path: Path, count: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(generate_rows(count))


def make_app(url: str, batch_size: int):
    from config import TestConfig
    from crm.app import create_app

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = config._database_url(url)
    config.IMPORT_BATCH_SIZE = batch_size
    return create_app(config)


def fresh_schema(db) -> None:
    db.session.remove()
    db.drop_all()
    db.create_all()


def bench_import(url: str, csv_path: Path, batch_size: int) -> float:
    from crm.auth.services import create_user
    from crm.extensions import db
    from crm.imports.services import import_file

    app = make_app(url, batch_size)
    with app.app_context():
        fresh_schema(db)
        admin = create_user("bench-admin@acme-sales.com", "admin", "bench import password 1234", name="Bench")
        db.session.commit()
        started = time.perf_counter()
        outcome = import_file(csv_path, "contacts", actor=admin, now=datetime.now(timezone.utc))
        elapsed = time.perf_counter() - started
        tally = outcome.tally
        assert tally.created == tally.rows_seen, f"expected every row created, got {tally}"
        db.session.remove()
        db.engine.dispose()
    return elapsed


def bench_raw(url: str, csv_path: Path, batch_size: int) -> float:
    """The same contact rows, inserted with Core. Everything the import works out is prepared
    beforehand and not timed: rows parsed and lower-cased, and the same companies created, so
    the raw rows carry the same company links (and pay the same foreign-key checks)."""
    from sqlalchemy import insert

    from crm.contacts.emails import email_domain, is_freemail
    from crm.contacts.models import Company, Contact
    from crm.extensions import db

    app = make_app(url, batch_size)
    now = datetime.now(timezone.utc)
    with app.app_context():
        fresh_schema(db)
        with open(csv_path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            next(reader)
            records = [(email.lower(), first, last, title, phone, company)
                       for email, first, last, title, phone, company in reader]
        names = {}
        for email, *_rest, company in records:
            domain = email_domain(email)
            if not is_freemail(domain):
                names.setdefault(domain, company)
        with db.engine.begin() as conn:
            company_ids = dict(conn.execute(
                insert(Company.__table__).returning(Company.__table__.c.domain, Company.__table__.c.id),
                [{"name": name, "domain": domain, "custom": {}, "created_at": now, "updated_at": now}
                 for domain, name in names.items()],
            ).all())
        rows = [
            {"email": email, "first_name": first, "last_name": last, "title": title,
             "phone": phone, "company_id": company_ids.get(email_domain(email)), "owner_id": None,
             "time_zone": None, "lifecycle_stage": "lead", "do_not_contact": False,
             "unsubscribed": False, "linkedin_url": None, "x_url": None, "source": "import",
             "custom": {}, "created_at": now, "updated_at": now}
            for email, first, last, title, phone, _company in records
        ]
        table = Contact.__table__
        engine = db.engine
        started = time.perf_counter()
        for start in range(0, len(rows), batch_size):
            with engine.begin() as conn:
                conn.execute(insert(table), rows[start:start + batch_size])
        elapsed = time.perf_counter() - started
        db.session.remove()
        engine.dispose()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each side, alternated (the fastest of each counts)")
    parser.add_argument("--database-url",
                        help="a scratch database (its tables are dropped); default: SQLite temp files")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="crm-bench-") as tmp:
        tmp = Path(tmp)
        csv_path = tmp / "contacts.csv"
        write_csv(csv_path, args.rows)
        backend = "PostgreSQL" if (args.database_url or "").startswith("postgres") else "SQLite"
        print(f"benchmark: {args.rows:,} contact rows, batches of {args.batch_size:,}, {backend}, "
              f"{args.repeat} run(s) each, best run counts")
        print(f"csv file:  {csv_path.stat().st_size / 1e6:.1f} MB")
        import_times, raw_times = [], []
        for run in range(args.repeat):
            # Alternate, so a busy machine slows both sides alike.
            import_times.append(bench_import(
                args.database_url or f"sqlite:///{tmp / f'import{run}.sqlite3'}", csv_path, args.batch_size))
            raw_times.append(bench_raw(
                args.database_url or f"sqlite:///{tmp / f'raw{run}.sqlite3'}", csv_path, args.batch_size))
            print(f"  run {run + 1}: import {import_times[-1]:.2f} s, raw {raw_times[-1]:.2f} s, "
                  f"ratio {raw_times[-1] / import_times[-1]:.2f}")
    import_rate, raw_rate = args.rows / min(import_times), args.rows / min(raw_times)
    ratio = import_rate / raw_rate
    print(f"import (real path): {min(import_times):7.2f} s  {import_rate:10,.0f} rows/s")
    print(f"raw Core insert:    {min(raw_times):7.2f} s  {raw_rate:10,.0f} rows/s")
    print(f"ratio import/raw:   {ratio:.2f}  (target >= 0.6: {'met' if ratio >= 0.6 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
