"""Fixtures of the tracking tests: a sent email with its tracked HTML, a tracked website."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from crm.extensions import db
from tests.conftest import NOW

SITE = "https://www.acme-pumps.example"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
APPLE_MPP = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
SENT_AT = NOW - timedelta(hours=2)

HTML = ('<html><body><p>Hi Ana,</p><p>See <a href="https://www.acme-pumps.example/pricing?plan=pro&amp;x=1">our '
        'pricing</a> and <a href=\'https://docs.example.org/guide\'>the guide</a>, or '
        '<a href="mailto:sales@acme.example">write</a> / <a href="javascript:alert(1)">nope</a> / '
        '<a href="http://crm.example.com/u/abc">unsubscribe</a>.</p></body></html>')

TOKEN_RE = re.compile(r"/t/c/([A-Za-z0-9_-]+)")
PIXEL_RE = re.compile(r"/t/o/([A-Za-z0-9_-]+)\.gif")


@pytest.fixture
def rep(alice):
    return alice


@pytest.fixture
def ana(make_contact, rep):
    return make_contact(first_name="Ana", last_name="Ruiz", email="ana.ruiz@buyer-corp.example",
                        owner_id=rep.id)


@pytest.fixture
def sent_email(rep, ana):
    """An email mail has sent to Ana two hours ago, its HTML instrumented."""
    from crm.mail.outbound.outbox import enqueue_email
    from crm.tracking.email import instrument_html

    email = enqueue_email(sender=rep, contact=ana, to_address=ana.email, subject="Pricing follow-up",
                          text_body="Hi Ana", html_body=HTML, due_at=SENT_AT, now=SENT_AT)
    email.html_body = instrument_html(HTML, outbound_email_id=email.id, contact_id=ana.id)
    email.status, email.sent_at = "sent", SENT_AT
    db.session.commit()
    return email


@pytest.fixture
def pixel_path(sent_email):
    return "/t/o/" + PIXEL_RE.search(sent_email.html_body).group(1) + ".gif"


@pytest.fixture
def click_paths(sent_email):
    return ["/t/c/" + token for token in TOKEN_RE.findall(sent_email.html_body)]


@pytest.fixture
def at(clock):
    """Move the app's clock to ``moment`` for the tracking endpoints: ``at(moment)``."""
    return clock.freeze


@pytest.fixture
def tracked_site(admin):
    from crm.tracking.origins import add_origin

    add_origin(admin, SITE, NOW)
    db.session.commit()
    return SITE
