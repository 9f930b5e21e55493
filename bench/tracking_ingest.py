"""Benchmark: tracking ingest (open pixel, page-view beacon) against a bare 204 endpoint.

    .venv/bin/python bench/tracking_ingest.py --database-url postgresql://postgres@127.0.0.1:5432/test_track
    .venv/bin/python bench/tracking_ingest.py                  # SQLite in a temp file (writers queue up)

Serves the real app with gunicorn (2 sync workers) on a free loopback port, with one extra
route, ``/bench/bare``, a plain Flask view returning 204 (same app, same hooks, no database).
A load generator in another process (threads, one connection per request, as gunicorn's sync
workers close them) drives three phases: the bare endpoint, open-pixel fetches (100 sent
emails' pixels, a browser user agent) and page-view beacons (text/plain JSON from a tracked
origin, 500 visitors). The phases run in ``--rounds`` rounds, their order rotated each round,
so that a burst of load from another process on the machine falls on one short phase of one
round instead of on a whole endpoint: each round gives its own ratio of each tracking
endpoint's requests per second to that round's bare endpoint, and the bench prints every
round, the median ratio (the figure compared with the target) and the ratio of the totals.
The endpoints only queue hits (one INSERT each, see ``crm/tracking/inbox.py``); the bench then
runs the worker's processing itself (timed: verdicts, timeline, scores) and checks that the
stored event count equals the requests sent (every request answered 2xx, nothing lost); it
exits 1 if anything was lost. Target: ratio >= 0.5.

On PostgreSQL the tables live in a scratch schema (``bench_tracking``) that is dropped and
recreated on every run; nothing else in the database is touched.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCHEMA = "bench_tracking"
ORIGIN = "http://site.bench.example"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")


# --- the served app -----------------------------------------------------------------------------

def make_app():
    """gunicorn factory: the real app plus the bare 204 endpoint."""
    from flask import Response

    from crm.app import create_app
    from crm.web.access import public

    app = create_app("production")

    @public
    def bare():
        return Response(status=204)

    app.add_url_rule("/bench/bare", "bench_bare", bare)
    return app


def server_env(database_url: str, port: int) -> dict[str, str]:
    return {
        **os.environ, "CRM_CONFIG": "production", "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(16), "COOKIE_SECURE": "false",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TRACKING_PIXEL_RATE_LIMIT": "10000000 per minute", "TRACKING_COLLECT_RATE_LIMIT": "10000000 per minute",
        "CRM_INSTANCE_DIR": tempfile.mkdtemp(prefix="crm-bench-"),
    }


def scratch_url(base: str) -> str:
    """PostgreSQL: the same database with the scratch schema first on the search path."""
    if not base.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
        return base
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{SCHEMA}"


def prepare_database(base_url: str, port: int) -> tuple[str, list[str]]:
    """Fresh tables, a rep, a contact, 100 sent emails with their pixels, a tracked origin."""
    from sqlalchemy import create_engine, text

    if base_url.startswith(("postgres://", "postgresql")):
        admin = create_engine(base_url.replace("postgresql://", "postgresql+psycopg://", 1)
                              .replace("postgres://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
        admin.dispose()
    url = scratch_url(base_url)
    os.environ.update(server_env(url, port))
    from crm.app import create_app
    from crm.auth.services import create_user
    from crm.contacts.services import create_contact
    from crm.extensions import db
    from crm.mail.outbound.outbox import enqueue_email
    from crm.timeutil import utcnow
    from crm.tracking.email import PIXEL_PATH_RE, instrument_html
    from crm.tracking.models import TrackedOrigin

    app = create_app("production")
    # Set-up and the inbox drain are the worker's kind of work, not a web request's: no budget.
    app.config["REQUEST_STATEMENT_TIMEOUT_MS"] = 0
    with app.app_context(), app.test_request_context():
        db.drop_all()
        db.create_all()
        now = utcnow()
        rep = create_user("rep@bench.example", "rep", "bench-password-1234567", name="Bench Rep")
        contact = create_contact(rep, {"email": "ana@buyer.example", "first_name": "Ana", "last_name": "Ruiz",
                                       "owner_id": rep.id}, now)
        pixels = []
        for n in range(100):
            email = enqueue_email(sender=rep, contact=contact, to_address=contact.email, subject=f"Follow-up {n}",
                                  text_body="x", html_body="<p>Hi</p>", due_at=now, now=now)
            html = instrument_html(email.html_body, outbound_email_id=email.id, contact_id=contact.id)
            email.status, email.sent_at = "sent", now - timedelta(days=1)
            pixels.append(PIXEL_PATH_RE.search(html).group(0))
        db.session.add(TrackedOrigin(origin=ORIGIN, created_at=now))
        db.session.commit()
        db.engine.dispose()
    return url, pixels


def drain_and_count(url: str) -> tuple[dict[str, int], dict[str, int], float, int]:
    """Queued hits by kind, then the worker's processing (timed), then events by kind."""
    from sqlalchemy import func, select

    from crm.app import create_app
    from crm.extensions import db
    from crm.tracking.inbox import process_all
    from crm.tracking.models import TrackingEvent, TrackingInbox

    app = create_app("production")
    # Set-up and the inbox drain are the worker's kind of work, not a web request's: no budget.
    app.config["REQUEST_STATEMENT_TIMEOUT_MS"] = 0
    with app.app_context(), app.test_request_context():
        queued = dict(db.session.execute(
            select(TrackingInbox.kind, func.count()).group_by(TrackingInbox.kind)).all())
        started = time.perf_counter()
        processed = process_all(limit_batches=10_000)
        seconds = time.perf_counter() - started
        events = dict(db.session.execute(
            select(TrackingEvent.kind, func.count()).group_by(TrackingEvent.kind)).all())
        db.engine.dispose()
    return queued, events, seconds, processed


# --- the load generator (another process) -------------------------------------------------------

def _one(port: int, method: str, path: str, body: bytes | None, headers: dict) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _requests(kind: str, count: int, pixels: list[str]):
    for n in range(count):
        if kind == "bare":
            yield "GET", "/bench/bare", None, {"User-Agent": CHROME}
        elif kind == "pixel":
            yield "GET", pixels[n % len(pixels)], None, {"User-Agent": CHROME}
        else:
            body = json.dumps({"visitor": f"benchvisitor{n % 500:08d}", "events": [
                {"type": "page_view", "url": f"{ORIGIN}/products/p{n % 40}", "title": "Product", "referrer": ""}]})
            yield "POST", "/t/collect", body.encode(), {"User-Agent": CHROME, "Origin": ORIGIN,
                                                         "Content-Type": "text/plain;charset=UTF-8"}


def drive(port: int, kind: str, count: int, concurrency: int, pixels: list[str], results) -> None:
    """Runs in the load-generator process: ``count`` requests over ``concurrency`` threads."""
    work = list(_requests(kind, count, pixels))
    lock = threading.Lock()
    statuses: dict[int, int] = {}

    def worker():
        while True:
            with lock:
                if not work:
                    return
                item = work.pop()
            status = _one(port, *item)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put({"kind": kind, "seconds": time.perf_counter() - started, "statuses": statuses})


def run_phase(ctx, port, kind, count, concurrency, pixels) -> dict:
    results = ctx.Queue()
    process = ctx.Process(target=drive, args=(port, kind, count, concurrency, pixels, results))
    process.start()
    outcome = results.get()
    process.join()
    outcome["rps"] = count / outcome["seconds"]
    return outcome


# --- main -------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_server(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _one(port, "GET", "/bench/bare", None, {}) == 204:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


KINDS = ("bare", "pixel", "pageview")
WARM_UP = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL base URL (a scratch schema is used)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per phase and round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the three phases (order rotated)")
    parser.add_argument("--concurrency", type=int, default=8, help="load-generator threads")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    base = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='crm-bench-')}/bench.sqlite3"
    port = free_port()
    url, pixels = prepare_database(base, port)
    gunicorn = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
         "--pythonpath", f"{ROOT},{ROOT / 'bench'}", "--log-level", "warning", "tracking_ingest:make_app()"],
        env=server_env(url, port), cwd=str(ROOT))
    rounds: list[dict[str, dict]] = []
    try:
        wait_for_server(port)
        ctx = multiprocessing.get_context("spawn")
        # warm-up (imports, pools, prepared statements): not timed, but its hits are counted
        warm_up = {kind: run_phase(ctx, port, kind, WARM_UP, args.concurrency, pixels) for kind in KINDS}
        for n in range(args.rounds):
            order = KINDS[n % 3:] + KINDS[:n % 3]
            rounds.append({kind: run_phase(ctx, port, kind, args.requests, args.concurrency, pixels)
                           for kind in order})
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
    queued, stored, seconds, processed = drain_and_count(url)
    timed = args.requests * args.rounds
    sent = timed + WARM_UP
    print(f"database: {url.split('@')[-1]}  gunicorn workers: {args.workers}  "
          f"requests/phase: {args.requests}  rounds: {args.rounds}  concurrency: {args.concurrency}")
    for n, phases in enumerate(rounds, 1):
        bare = phases["bare"]["rps"]
        print(f"  round {n}: bare {bare:6.0f} req/s  " + "  ".join(
            f"{kind} {phases[kind]['rps']:6.0f} req/s ({phases[kind]['rps'] / bare:.2f})" for kind in KINDS[1:]))
    total = {kind: timed / sum(r[kind]["seconds"] for r in rounds) for kind in KINDS}
    ok = True
    for kind, inbox_kind, event_kind in (("pixel", "open", "email_opened"), ("pageview", "view", "page_viewed")):
        ratios = sorted(r[kind]["rps"] / r["bare"]["rps"] for r in rounds)
        statuses: dict[int, int] = {}
        for r in [*rounds, warm_up]:
            for status, count in r[kind]["statuses"].items():
                statuses[status] = statuses.get(status, 0) + count
        good = sum(n for status, n in statuses.items() if 200 <= status < 300)
        count = stored.get(event_kind, 0)
        lost = sent - count
        print(f"  {kind:<9} ratio to bare: median {statistics.median(ratios):.2f} (rounds {ratios[0]:.2f}-"
              f"{ratios[-1]:.2f}; totals {total[kind]:.0f}/{total['bare']:.0f} req/s = "
              f"{total[kind] / total['bare']:.2f})"
              f"\n            statuses {statuses}  queued {queued.get(inbox_kind, 0)}, events stored {count} of {sent} "
              f"sent (warm-up included) "
              f"({'nothing lost' if lost == 0 and good == sent else f'{lost} LOST'})")
        ok = ok and lost == 0 and good == sent
    print(f"  worker: {processed} queued hits turned into events in {seconds:.1f} s "
          f"({processed / max(seconds, 1e-9):.0f} events/s, one process)")
    print("  target: each median ratio >= 0.50")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
