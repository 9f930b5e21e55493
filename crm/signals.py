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
