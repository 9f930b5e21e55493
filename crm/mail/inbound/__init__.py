"""Inbound mail: what came back, decided from the raw message alone.

Exposes ``classify_message(raw, own_addresses=..., now=...)`` returning a frozen
``InboundClassification`` (the rules are listed in ``classify.py``). Pure: no database, no
network, never raises. Called by the IMAP poller and the inbound-mail webhook, which then
match the result to contacts and enrollments.
"""
from crm.mail.inbound.classify import InboundClassification, classify_message

__all__ = ["InboundClassification", "classify_message"]
