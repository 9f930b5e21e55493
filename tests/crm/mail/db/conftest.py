"""Database tests of the mail feature. The parent folder's conftest makes the classifier
tests pure (no app context); these need the suite's real one back."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm.extensions import db, limiter
from tests.conftest import NOW, _empty_all_tables


@pytest.fixture(autouse=True)
def _app_context(app):
    with app.app_context():
        yield
        db.session.rollback()
        _empty_all_tables()
        db.session.remove()
    limiter.reset()


@pytest.fixture
def unlimited(app):
    """Mailbox limits off for new mailboxes (tests about limits set them explicitly)."""
    saved = app.config["MAIL_DAILY_CAP"], app.config["MAIL_MIN_GAP_SECONDS"]
    app.config.update(MAIL_DAILY_CAP=0, MAIL_MIN_GAP_SECONDS=0)
    yield
    app.config["MAIL_DAILY_CAP"], app.config["MAIL_MIN_GAP_SECONDS"] = saved


@pytest.fixture
def queue(unlimited):
    """queue(sender, contact, **fields) -> a committed queued OutboundEmail due at NOW."""
    from crm.mail.outbound.outbox import enqueue_email

    def make(sender, contact, **fields):
        values = {"subject": "Quick question", "text_body": "Hello there", "html_body": None,
                  "due_at": NOW, "to_address": contact.email if contact else "x@example-corp.com"}
        values.update(fields)
        email = enqueue_email(sender=sender, contact=contact, now=NOW - timedelta(minutes=1), **values)
        db.session.commit()
        return email

    return make
