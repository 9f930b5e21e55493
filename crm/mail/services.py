"""The mail feature's public face: what other features call. Re-exported from the submodules
that implement it:

* the outbox (``outbound/outbox.py``): ``enqueue_email`` (a rendered message from a rep to a
  contact, queued or as a draft), ``enqueue_invite`` (a meeting invite, in the booking's
  transaction), ``cancel_queued_for_enrollment``, ``send_later``,
  ``cancel_email`` (a scheduled or failed one), ``retry_email`` (a failed one), ``get_email``,
  ``list_outbox``;
* the transport (``transport.py``): ``send_message`` for a one-off ``EmailMessage`` that
  does not go through the outbox (nothing in the app any more: meeting invites are queued),
  and ``SmtpSettings``;
* inbound mail (``inbound/process.py``): ``process_inbound``;
* unsubscribing (``unsubscribe.py``): ``unsubscribe_contact``;
* ``mailbox_signature``: the rep's signature, for templates (its line breaks kept in HTML);
* the rep's IMAP connection (``imap_accounts.py``): ``get_imap_account``, ``save_imap_account``,
  ``remove_imap_account``, ``check_imap_connection``, ``rotate_credentials``; polling itself is
  ``inbound/imap.py``'s ``poll_all`` (the worker's job and ``crm mail poll``).

What mail's news does elsewhere (a sequence email sent, failed or bounced, a reply, an
out-of-office notice, an unsubscribe) is not called from here: mail sends the signals in
``crm/signals.py`` and the features concerned subscribe to them.

Services flush and never commit (the send tick and the IMAP poll commit as they go: they are
jobs, see ``outbound/sender.py``).
"""
from __future__ import annotations

from markupsafe import escape
from sqlalchemy import select

from crm.auth.models import User
from crm.extensions import db
from crm.mail.imap_accounts import (
    check_imap_connection,
    get_imap_account,
    remove_imap_account,
    rotate_credentials,
    save_imap_account,
)
from crm.mail.inbound.process import InboundResult, process_inbound
from crm.mail.models import Mailbox, OutboundEmail, mailbox_for
from crm.mail.outbound.outbox import (
    cancel_email,
    cancel_queued_for_enrollment,
    enqueue_email,
    enqueue_invite,
    get_email,
    list_outbox,
    retry_email,
    send_later,
)
from crm.mail.transport import SmtpSettings, send_message
from crm.mail.unsubscribe import unsubscribe_contact

__all__ = [
    "InboundResult", "Mailbox", "OutboundEmail", "SmtpSettings", "cancel_email", "cancel_queued_for_enrollment",
    "check_imap_connection", "enqueue_email", "enqueue_invite", "get_email", "get_imap_account", "list_outbox",
    "mailbox_for", "mailbox_signature", "process_inbound", "remove_imap_account", "retry_email",
    "rotate_credentials", "save_imap_account", "send_later", "send_message", "unsubscribe_contact",
]


class Signature(str):
    """A signature as templates see it: plain text in the text part, and in the HTML part
    (where Jinja calls ``__html__``) escaped with its line breaks kept as ``<br>``."""

    def __html__(self) -> str:
        return str(escape(str(self))).replace("\r\n", "\n").replace("\n", "<br>\n")


def mailbox_signature(user_id: int) -> Signature:
    """The rep's signature: the one they set on their account page (issue #17), else their
    mailbox's, "" when they have neither."""
    own = db.session.scalar(select(User.signature).where(User.id == user_id))
    if own:
        return Signature(own)
    return Signature(db.session.scalar(select(Mailbox.signature).where(Mailbox.user_id == user_id)) or "")
