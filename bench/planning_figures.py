"""Accuracy and calibration pages: reading the stored figures against recomputing them (issue #23).

Seeds the demo company into a fresh SQLite file (or uses --database-file, already seeded),
then in one run: the worker's computation of the figures (calibration, accuracy backtest and
the per-family source choice), the accuracy page and API and the calibration page reading
them, and, for comparison, the accuracy report recomputed with cold caches as every request
did before. Prints seconds and the ratio; asserts nothing (no wall-clock assertions in tests).

    .venv/bin/python bench/planning_figures.py [--database-file /tmp/demo.db] [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-file", help="an SQLite file with the demo company already seeded")
    parser.add_argument("--repeat", type=int, default=5, help="page reads (best counts)")
    args = parser.parse_args()
    path = args.database_file or os.path.join(tempfile.mkdtemp(prefix="bench-figures-"), "demo.db")
    os.environ.update(CRM_CONFIG="development", DATABASE_URL=f"sqlite:///{path}", SCHEDULER_IN_PROCESS="0")

    from crm.app import create_app
    from crm.extensions import db

    app = create_app()
    with app.app_context():
        from crm.auth.models import User
        from crm.demo.catalog import DEMO_PASSWORD
        from crm.demo.seed import DEFAULT_SEED, seed_demo
        from crm.demo.timing import reference_today
        from crm.timeutil import utcnow
        from planning_bridge import services

        if not args.database_file:
            db.create_all()
            seconds, _ = timed(lambda: seed_demo(seed=DEFAULT_SEED, today=reference_today(utcnow()),
                                                 commit=db.session.commit))
            print(f"seeded the demo company in {seconds:.1f} s ({path})")
        services.clear_caches()
        worker, _ = timed(lambda: services.compute_default_figures(utcnow()))
        db.session.commit()
        print(f"worker: calibration + accuracy backtest + source choice   {worker:7.2f} s")

        client = app.test_client()
        app.config["WTF_CSRF_ENABLED"] = False
        planner = db.session.query(User).filter_by(role="planner").first()
        client.post("/login", data={"email": planner.email, "password": DEMO_PASSWORD})
        reads = {}
        for page in ("/planning/accuracy", "/planning/calibration"):
            times = []
            for _ in range(args.repeat):
                seconds, response = timed(lambda: client.get(page))
                assert response.status_code == 200, (page, response.status_code)
                times.append(seconds)
            reads[page] = min(times)
            print(f"page {page:<24} reads stored figures             {reads[page]:7.3f} s (best of {args.repeat})")

        services.clear_caches()
        recomputed, _ = timed(lambda: services.accuracy_report(lags=(1, 2, 3)))
        print(f"accuracy report recomputed (cold caches), as before     {recomputed:7.2f} s")
        ratio = recomputed / reads["/planning/accuracy"]
        print(f"ratio recomputed / stored page read:                    {ratio:7.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
