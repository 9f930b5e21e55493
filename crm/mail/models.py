"""Tables of the mail feature: the outbox and the mailboxes."""
from __future__ import annotations
