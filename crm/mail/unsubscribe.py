"""Unsubscribe tokens and the act of unsubscribing (RFC 8058 one-click, the confirmation
page, and ``unsubscribe_request`` mail). A token names the outbound email it came in, signed
with the app's secret key (itsdangerous), so it cannot be guessed or forged, and stays short
enough for the local part of the mailto address (at most 64 characters)."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from crm.contacts.models import Contact
from crm.contacts.services import record_activity
from crm.extensions import db
from crm.mail.models import OutboundEmail
from crm.signals import contact_unsubscribed, receiver_ids

SALT = "crm.mail.unsubscribe"


def _serializer() -> URLSafeSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"])


@lru_cache(maxsize=4)
def _serializer_for(secret_key) -> URLSafeSerializer:
    """One per key: building it costs more than signing a token, and every sequence email
    signs one."""
    return URLSafeSerializer(secret_key, salt=SALT)


def make_token(outbound_email_id: int) -> str:
    return _serializer().dumps(outbound_email_id)


def read_token(token: str) -> int | None:
    """The outbound email id, or None for a bad or tampered token."""
    if not token or len(token) > 200:
        return None
    try:
        value = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return value if isinstance(value, int) and value > 0 else None


def unsubscribe_url(outbound_email_id: int, *, token: str | None = None) -> str:
    """``token``: ``make_token(outbound_email_id)`` when the caller has it already."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/u/{token or make_token(outbound_email_id)}"


def unsubscribe_mailto(outbound_email_id: int, domain: str, *, token: str | None = None) -> str:
    return f"unsubscribe+{token or make_token(outbound_email_id)}@{domain}"


def token_from_address(address: str) -> str | None:
    """``unsubscribe+<token>@domain`` -> token (local part as written: the token is case-sensitive)."""
    local = (address or "").strip().strip("<>").rpartition("@")[0]
    prefix, plus, token = local.partition("+")
    return token if plus and prefix.lower() == "unsubscribe" and token else None


def contact_for_token(token: str) -> tuple[Contact | None, OutboundEmail | None]:
    email_id = read_token(token)
    email = db.session.get(OutboundEmail, email_id) if email_id else None
    contact = db.session.get(Contact, email.contact_id) if email and email.contact_id else None
    return contact, email


def unsubscribe_contact(contact: Contact, now: datetime, *, via: str,
                        email: OutboundEmail | None = None) -> list[int]:
    """Mark the contact unsubscribed and tell the features that write to them
    (``contact_unsubscribed``: sequences stop every enrollment at once). Idempotent: a second
    call stops nothing new and writes no second activity. Returns the stopped enrollment ids.
    Flushes, never commits."""
    first_time = not contact.unsubscribed
    contact.unsubscribed = True
    stopped = receiver_ids(contact_unsubscribed.send(contact, via=via, email=email, now=now))
    if first_time:
        record_activity("unsubscribed", now, contact_id=contact.id, company_id=contact.company_id,
                        details={"via": via, "outbound_email_id": email.id if email else None,
                                 "stopped_enrollments": stopped})
    db.session.flush()
    return stopped
