"""Benchmark: the planning bridge's demand input on 1,000,000 open deal lines against a plain
SQL ``GROUP BY family, month`` of quantity x probability, on the same database in one run.

    .venv/bin/python bench/planning.py                     # SQLite, a fresh temp file
    .venv/bin/python bench/planning.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

With ``--database-url`` (PostgreSQL) a scratch database is created on that server for the run
and dropped afterwards; the database named in the URL is only used to connect.

1. Build the schema and generate, with Core bulk inserts and a fixed seed, 5 product families,
   5 stages, ``--lines`` open deal lines (1 to 4 per deal, expected closes spread over the
   next 18 months) and ``--closed`` closed deals with their creation and close recorded as
   deal history, so the calibrated model has something to learn from.
2. Time, alternately, ``--repeat`` times each: ``demand_input`` with ``stage`` probabilities
   over 18 months (weighted units and revenue, best case, commit, bands, deal counts,
   baselines, combine rules), and the plain query, fetched to the last row.
3. Time ``demand_input`` with ``calibrated`` probabilities (first run: learns the model).
4. Print the best times, the ratio (target: at most 3) and the calibrated time.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAMILIES = [("PUMP", 30), ("VALVE", 14), ("SENSOR", 7), ("CTRL", 45), ("DRIVE", 21)]
STAGES = [("Prospecting", "0.050"), ("Qualified", "0.150"), ("Discovery", "0.300"),
          ("Proposal", "0.500"), ("Negotiation", "0.750")]
BATCH = 50_000


def make_app(url: str):
    from config import TestConfig
    from crm.app import create_app

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = config._database_url(url)
    return create_app(config)


def generate(db, lines: int, closed: int, today: date, seed: int = 7) -> None:
    """Core bulk inserts of the families, stages, open deals with ``lines`` lines, and closed
    deals with their history."""
    from sqlalchemy import insert

    from crm.auth.models import User
    from crm.deals.models import Deal, DealLine, ProductFamily, Stage

    rng = np.random.default_rng(seed)
    now = datetime.combine(today, datetime.min.time(), tzinfo=timezone.utc)
    with db.engine.begin() as conn:
        conn.execute(insert(User.__table__), [{
            "email": "bench@acme-sales.com", "name": "Bench Rep", "role": "rep", "password_hash": None,
            "time_zone": "UTC", "is_active": True, "created_at": now}])
        conn.execute(insert(ProductFamily.__table__), [
            {"code": code, "name": code.title(), "unit": "unit", "lead_time_days": lead, "is_active": True}
            for code, lead in FAMILIES])
        conn.execute(insert(Stage.__table__), [
            {"name": name, "position": i, "probability": p, "is_active": True} for i, (name, p) in enumerate(STAGES)])
    per_deal = rng.integers(1, 5, lines)  # 1-4 lines per deal: cut where the lines run out
    deal_of_line = np.repeat(np.arange(lines), per_deal)[:lines]
    n_deals = int(deal_of_line[-1]) + 1
    stage = rng.integers(1, len(STAGES) + 1, n_deals)
    close_offset = rng.integers(0, 540, n_deals)
    created_offset = rng.integers(1, 200, n_deals)
    family = rng.integers(1, len(FAMILIES) + 1, lines)
    quantity = rng.integers(1, 50, lines).astype(float)
    price = rng.integers(10, 5000, lines)
    amount = quantity * price
    deal_amount = np.bincount(deal_of_line, weights=amount, minlength=n_deals)
    _insert(db, Deal.__table__, n_deals, lambda i: {
        "id": i + 1, "name": f"Deal {i + 1}", "owner_id": 1, "stage_id": int(stage[i]), "status": "open",
        "amount": f"{deal_amount[i]:.2f}", "currency": "EUR",
        "expected_close": today + timedelta(days=int(close_offset[i])),
        "created_at": now - timedelta(days=int(created_offset[i])),
        "stage_entered_at": now - timedelta(days=int(created_offset[i]) // 2)})
    _insert(db, DealLine.__table__, lines, lambda j: {
        "deal_id": int(deal_of_line[j]) + 1, "family_id": int(family[j]), "quantity": float(quantity[j]),
        "unit_price": f"{price[j]:.2f}", "amount": f"{amount[j]:.2f}"})
    _closed_history(db, rng, closed, n_deals, today, now)


def _closed_history(db, rng, closed: int, first_id: int, today: date, now: datetime) -> None:
    """Closed deals over the past two years: created, then won (more often from later stages)
    or lost, each with the creation and the close recorded as deal changes."""
    from crm.deals.models import Deal, DealChange, DealLine

    stage = rng.integers(1, len(STAGES) + 1, closed)
    won = rng.random(closed) < np.array([0.05, 0.15, 0.3, 0.5, 0.75])[stage - 1] * 1.1
    created = rng.integers(60, 730, closed)
    duration = rng.integers(10, 120, closed)
    ids = first_id + 1 + np.arange(closed)

    def created_at(i):
        return now - timedelta(days=int(created[i]))

    def closed_at(i):
        return created_at(i) + timedelta(days=int(duration[i]))

    _insert(db, Deal.__table__, closed, lambda i: {
        "id": int(ids[i]), "name": f"Closed {i}", "owner_id": 1, "stage_id": int(stage[i]),
        "status": "won" if won[i] else "lost", "amount": "1000.00", "currency": "EUR",
        "expected_close": closed_at(i).date(), "created_at": created_at(i),
        "stage_entered_at": created_at(i), "closed_on": closed_at(i).date()})
    _insert(db, DealLine.__table__, closed, lambda i: {
        "deal_id": int(ids[i]), "family_id": int(i % len(FAMILIES)) + 1, "quantity": 10.0,
        "unit_price": "100.00", "amount": "1000.00"})
    _insert(db, DealChange.__table__, closed * 2, lambda k: {
        "deal_id": int(ids[k // 2]), "field": "status", "old_value": None if k % 2 == 0 else "open",
        "new_value": "open" if k % 2 == 0 else ("won" if won[k // 2] else "lost"),
        "changed_at": created_at(k // 2) if k % 2 == 0 else closed_at(k // 2)})


def _insert(db, table, count: int, row) -> None:
    from sqlalchemy import insert

    for start in range(0, count, BATCH):
        with db.engine.begin() as conn:
            conn.execute(insert(table), [row(i) for i in range(start, min(count, start + BATCH))])


def plain_query(db) -> list:
    """What a report writer would type: open lines' quantity x stage probability per family
    and month of expected close."""
    from sqlalchemy import text

    month = ("to_char(d.expected_close, 'YYYY-MM')" if db.engine.dialect.name == "postgresql"
             else "strftime('%Y-%m', d.expected_close)")
    sql = text(f"""
        SELECT f.code, {month} AS month, SUM(l.quantity * s.probability) AS weighted
        FROM deal_lines l
        JOIN deals d ON d.id = l.deal_id
        JOIN pipeline_stages s ON s.id = d.stage_id
        JOIN product_families f ON f.id = l.family_id
        WHERE d.status = 'open'
        GROUP BY f.code, {month}""")
    with db.engine.connect() as conn:
        return conn.execute(sql).all()


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def run(url: str, args) -> None:
    from crm.extensions import db
    from planning_bridge.periods import default_range
    from planning_bridge.services import demand_input

    app = make_app(url)
    today = datetime.now(timezone.utc).date()
    first, last = default_range(today)
    with app.app_context():
        db.drop_all()
        db.create_all()
        seconds, _ = timed(lambda: generate(db, args.lines, args.closed, today))
        print(f"generated {args.lines:,} open lines and {args.closed:,} closed deals in {seconds:.1f} s")

        def bridge(probabilities):
            rows = demand_input(start=first, end=last, probabilities=probabilities)
            db.session.remove()
            return rows

        bridge_times, plain_times = [], []
        for attempt in range(args.repeat):
            seconds, rows = timed(lambda: bridge("stage"))
            bridge_times.append(seconds)
            seconds, plain = timed(lambda: plain_query(db))
            plain_times.append(seconds)
            print(f"  run {attempt + 1}: demand input (stage) {bridge_times[-1]:.2f} s, "
                  f"plain GROUP BY {plain_times[-1]:.2f} s")
        total = sum(r.weighted_units for r in rows)
        plain_total = sum(float(r[2]) for r in plain)
        print(f"  check: weighted units {total:,.1f} (bridge, horizon only) vs {plain_total:,.1f} (plain, all months)")
        learn_seconds, calibrated = timed(lambda: bridge("calibrated"))
        seconds, calibrated = timed(lambda: bridge("calibrated"))
        best_bridge, best_plain = min(bridge_times), min(plain_times)
        ratio = best_bridge / best_plain
        print(f"demand input, stage:      {best_bridge:7.2f} s  ({len(rows)} rows)")
        print(f"plain SQL GROUP BY:       {best_plain:7.2f} s  ({len(plain)} rows)")
        print(f"ratio bridge/plain:       {ratio:7.2f}  (target <= 3: {'met' if ratio <= 3 else 'NOT met'})")
        print(f"demand input, calibrated: {seconds:7.2f} s  (first run, learning the model: {learn_seconds:.2f} s; "
              f"source used: {calibrated.probability_source}, {calibrated.probability_method})")
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def scratch_postgres(url: str):
    """Create a scratch database on the server of ``url``; return its URL and a cleanup."""
    from sqlalchemy import create_engine, make_url, text

    from config import TestConfig

    base = make_url(TestConfig()._database_url(url))
    name = f"bench_planning_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--closed", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (best counts)")
    parser.add_argument("--database-url", help="a PostgreSQL server to create a scratch database on")
    args = parser.parse_args()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"benchmark: planning demand input, {backend}, best of {args.repeat}")
    if args.database_url:
        url, drop = scratch_postgres(args.database_url)
        try:
            run(url, args)
        finally:
            drop()
        return 0
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as tmp:
        run(f"sqlite:///{Path(tmp) / 'planning.sqlite3'}", args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
