"""Inbound mail: what came back, and what it does.

Two layers. The classifier (``classify_message(raw, own_addresses=..., now=...)`` returning a
frozen ``InboundClassification``; the rules are listed in ``classify.py``, helped by
``parse``, ``decode``, ``text``, ``autoreply``, ``bounces``, ``ooo_dates``, ``unsubscribe``) is
pure: decided from the raw message alone, no database, no network, never raises. Then
``process.py`` (``process_inbound``) logs the message once, matches it to contacts and our
outbox in the database and acts, announcing replies, bounces, out-of-office notices and
unsubscribes through ``crm/signals.py``. Fed by the IMAP poller (``imap.py``, a worker job) and
the inbound-mail webhook (``crm.mail.api``).
"""
from crm.mail.inbound.classify import InboundClassification, classify_message

__all__ = ["InboundClassification", "classify_message"]
