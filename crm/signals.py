"""Blinker signals other packages may subscribe to. Each names its sender and kwargs.

Subscribers run inside the sender's transaction: they may flush, never commit.
"""
from blinker import Namespace

_signals = Namespace()

#: A deal's tracked fields changed (stage, expected close, amount, lines, status).
#: sender: the deal id (int); kwargs: ``fields`` (tuple of field names), ``now`` (datetime).
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
