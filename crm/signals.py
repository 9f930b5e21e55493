"""Blinker signals other packages may subscribe to. Each names its sender and kwargs.

Subscribers run inside the sender's transaction: they may flush, never commit.
"""
from blinker import Namespace

_signals = Namespace()

#: A deal's tracked fields changed (stage, expected close, amount, lines, status).
#: sender: the deal id (int); kwargs: ``fields`` (tuple of field names), ``now`` (datetime).
deal_changed = _signals.signal("deal-changed")
