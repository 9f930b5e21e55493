"""Tracking inside outgoing email. CONTRACT (called by mail.outbound when it renders)."""
from __future__ import annotations


def instrument_html(html: str, *, outbound_email_id: int, contact_id: int | None) -> str:
    """Return ``html`` with an open pixel appended and its links rewritten to signed
    ``/t/c/<token>`` redirects. The plain-text part is never rewritten."""
    return html
