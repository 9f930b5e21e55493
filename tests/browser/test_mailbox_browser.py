"""In real headless Chromium: a rep connects their mailbox from the account page, tries the
settings against a real Dovecot (the server's answer is shown), saves them, and the page reads
well at phone width, without Content Security Policy errors."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.mail.credentials import decrypt
from crm.mail.models import ImapAccount
from tests.conftest import PASSWORD as LOGIN_PASSWORD
from tests.imapservers import PASSWORD, USER, start_dovecot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dovecot_port():
    server = start_dovecot()
    yield server.port
    server.stop()


def test_a_rep_tries_and_saves_their_mailbox_settings(page, make_user, dovecot_port):
    rep = make_user("rep", name="Rita Rep", email="rita@acme-sales.com")
    page.goto("/login")
    page.fill("input[name=email]", rep.email)
    page.fill("input[name=password]", LOGIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/contacts")
    page.goto("/account")
    page.click("text=Mailbox connection")
    page.wait_for_url("**/account/mailbox")

    page.fill("input[name=host]", "127.0.0.1")
    page.select_option("select[name=security]", "none")
    page.fill("input[name=port]", str(dovecot_port))
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[value=test]")
    report = page.locator("#connection-report")
    report.wait_for(state="visible")
    assert "Connection works." in report.inner_text() and f"as {USER}" in report.inner_text()
    assert page.input_value("input[name=password]") == ""  # never sent back to the browser

    page.fill("input[name=password]", PASSWORD)
    page.click("button[value=save]")
    page.wait_for_url("**/account/mailbox")
    assert "Not read yet" in page.inner_text("main")
    account = db.session.scalar(select(ImapAccount).execution_options(populate_existing=True))
    assert account.port == dovecot_port and decrypt(account.password_encrypted) == PASSWORD

    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    assert page.console_errors == []
