"""A send worker in its own process, for the concurrency tests: the app on TEST_DATABASE_URL,
SMTP to the test sink, ticking ``send_due`` until no queued or sending row is left.

    python -m tests.crm.mail.db.send_worker   (env: SINK_PORT, GO_FILE, MAIL_SEND_BATCH,
                                               MAIL_CLAIM_TIMEOUT_SECONDS, WORKER_DEADLINE)
Prints "ready" once the app is built, waits for GO_FILE to exist (so two workers start
together), then prints one line per tick with work and "done <sent>" at the end.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from config import TestConfig
from crm.app import create_app
from crm.extensions import db
from crm.mail.models import OutboundEmail
from crm.mail.outbound.sender import send_due
from crm.timeutil import utcnow


def main() -> None:
    app = create_app(TestConfig())
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=int(os.environ["SINK_PORT"]), SMTP_SECURITY="none", MAIL_TRANSPORT="smtp",
        MAIL_SEND_BATCH=int(os.environ.get("MAIL_SEND_BATCH", 50)),
        MAIL_CLAIM_TIMEOUT_SECONDS=int(os.environ.get("MAIL_CLAIM_TIMEOUT_SECONDS", 300)))
    print("ready", flush=True)
    go = Path(os.environ["GO_FILE"])
    while not go.exists():
        time.sleep(0.01)
    deadline = time.monotonic() + float(os.environ.get("WORKER_DEADLINE", 120))
    sent = 0
    with app.app_context():
        while time.monotonic() < deadline:
            result = send_due(utcnow())
            sent += result.sent
            if result:
                print(f"tick sent={result.sent} reclaimed={result.reclaimed}", flush=True)
            left = db.session.scalar(select(func.count()).select_from(OutboundEmail).where(
                OutboundEmail.status.in_(("queued", "sending"))))
            db.session.commit()
            if not left:
                break
            if not result.sent:
                time.sleep(0.05)
    print(f"done {sent}", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
