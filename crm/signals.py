"""Blinker signals other packages may subscribe to. Each names its sender and kwargs.

Subscribers run inside the sender's transaction: they may flush, never commit.
"""
from blinker import Namespace

_signals = Namespace()

#: A deal's tracked fields changed, sent by ``crm.deals.services`` (create, update, close, reopen;
#: the importer and the demo go through them) once the change's ``DealChange`` rows are added,
#: and only when at least one field changed (a creation names all five).
#: sender: the deal id (int); kwargs: ``fields`` (tuple of the changed ``DealChange.field`` names,
#: in the order "stage", "expected_close", "amount", "lines", "status"), ``now`` (datetime, the
#: change's time). No subscriber yet.
deal_changed = _signals.signal("deal-changed")

#: A guest booked a meeting (the public booking page or the API), sent by
#: ``crm.meetings.services.book`` after the meeting and its ``meeting_booked`` activity are flushed.
#: sender: the meeting id (int); kwargs: ``contact`` (``crm.contacts.models.Contact``, the guest),
#: ``now`` (datetime). Subscribed by sequences (the contact's enrollments stop).
meeting_booked = _signals.signal("meeting-booked")

#: The booking page asks for a host's busy time kept by other features (the calls feature's
#: prospecting blocks); ``crm.meetings.services.busy_for`` adds every receiver's answer.
#: sender: the user id (int); kwargs: ``start``, ``end`` (aware UTC datetimes, the window).
#: Receivers return a list of aware UTC ``(start, end)`` pairs overlapping the window; they only read.
busy_time_requested = _signals.signal("busy-time-requested")

# --- mail's news (sent by crm.mail; sequences subscribes in crm.sequences.services.connect_signals) ---
# Receivers that stop or pause enrollments return the list of their ids: mail records them
# (``InboundResult.stopped`` / ``.paused``, the inbound log, the timeline details).

#: The send tick recorded a batch of messages the SMTP server accepted, each once, in the
#: transaction that writes their ``email_sent`` activities (``crm.mail.outbound.sender``).
#: sender: None; kwargs: ``emails`` (list of rows with ``id``, ``user_id``, ``message_id``,
#: ``enrollment_id``, ``step_id``, ``sent_at``: each was sent at its own ``sent_at``).
emails_sent = _signals.signal("emails-sent")

#: The outbox gave up on a message: a permanent refusal (5xx), or too many transient failures.
#: sender: the ``crm.mail.models.OutboundEmail`` (freshly loaded); kwargs: ``permanent`` (bool),
#: ``now`` (datetime).
email_failed = _signals.signal("email-failed")

#: A bounce of one of our messages came back and matched a contact (inbound mail). A hard bounce
#: has already marked the contact's address bounced. sender: the ``Contact``; kwargs:
#: ``bounce_type`` ("hard"; anything else is treated as soft), ``email`` (the bounced
#: ``OutboundEmail``, or None when only the recipient matched), ``now``. Returns stopped ids.
email_bounced = _signals.signal("email-bounced")

#: A contact, or a colleague at their company, replied to our email (inbound mail).
#: sender: the ``Contact``; kwargs: ``email`` (the ``OutboundEmail`` replied to, or None),
#: ``ends_outreach`` (bool: mail's rule that the reply ends automated outreach to the contact;
#: False for a colleague's reply when ``MAIL_COLLEAGUE_REPLY_STOPS`` is off), ``now``.
#: Returns stopped ids.
reply_received = _signals.signal("reply-received")

#: An out-of-office auto-reply from a contact (inbound mail). sender: the ``Contact``; kwargs:
#: ``until`` (aware UTC datetime the contact is back, None when the notice states no date; may be
#: in the past: back already), ``now``. Returns paused ids.
out_of_office_received = _signals.signal("out-of-office-received")

#: A contact unsubscribed (one-click, the confirmation page, or an unsubscribe request by mail),
#: sent every time, also when they already were (receivers must be idempotent). sender: the
#: ``Contact`` (already marked unsubscribed); kwargs: ``via`` (str), ``email`` (the
#: ``OutboundEmail`` whose link or address was used, or None), ``now``. Returns stopped ids.
contact_unsubscribed = _signals.signal("contact-unsubscribed")

#: A website form created a contact, or reached one nobody owns (tracking's form capture).
#: sender: the ``Contact``; kwargs: ``fields`` (the form's raw fields: ``time_zone`` from the
#: browser, ``country``...), ``now``. Receivers may set the owner and time zone (lead routing).
lead_captured = _signals.signal("lead-captured")


def receiver_ids(results) -> list[int]:
    """The ids the receivers of one ``send`` returned (lists, or None for nothing), in order:
    ``send`` gives ``(receiver, value)`` pairs."""
    return [i for _receiver, value in results for i in (value or ())]

# --- tracking asks mail about its emails (sent by crm.tracking; mail subscribes in
# crm.mail.engagement.connect_signals). Tracking never imports mail: mail calls tracking (it
# instruments the HTML it sends), so the answers come back through these. ---

#: Tracking needs what mail knows of one outbound email to judge an open or click on it.
#: sender: the outbound email id (int); no kwargs. A receiver returns an object with ``sent_at``
#: (aware UTC datetime, None while unsent) and ``subject`` attributes (mail's ``OutboundEmail``),
#: or None when it has no such email. Read only.
tracked_email_requested = _signals.signal("tracked-email-requested")

#: A person (verdict ``human``) opened or clicked a tracked email (``crm.tracking.events``).
#: sender: the outbound email id (int); kwargs: ``kind`` ("email_opened" or "email_clicked"),
#: ``occurred_at`` (aware UTC datetime). Mail keeps the email's first human open / click time;
#: its receiver returns True when this is the email's first human open (click), which is when
#: tracking alerts the owner.
email_engaged = _signals.signal("email-engaged")

#: Tracking re-judged the events of one email (``crm.tracking.recompute``): its first human open
#: and click are now ``first_open_at`` / ``first_click_at`` (aware UTC datetimes or None).
#: sender: the outbound email id (int). Mail overwrites what it kept.
email_engagement_recomputed = _signals.signal("email-engagement-recomputed")

#: The tracking demo asks for emails sent recently, to attach opens and clicks to.
#: sender: None; kwargs: ``since`` (aware UTC datetime), ``limit`` (int). A receiver returns a
#: list of ``(email id, contact id, subject, sent_at)`` rows of sent emails to a contact since
#: ``since``, oldest id first, at most ``limit``. Read only.
sent_emails_requested = _signals.signal("sent-emails-requested")
