"""Tables of the alerts feature."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.i18n import _, _l
from crm.jsontype import JSONType
from crm.timeutil import UTCDateTime, utcnow

# The kinds of alert the features raise (``services.notify``) and how each reads on the alerts
# page (the manifest's ``code_labels``; ``crm.i18n.code_label``).
CODE_LABELS = {"alert_kind": {
    "new_lead": _l("New lead"), "meeting_booked": _l("Meeting booked"), "reply": _l("Reply received"),
    "hot_lead": _l("Hot lead"), "content_forwarded": _l("Content forwarded"), "review_shared": _l("Review shared"),
    "review_comment": _l("Review comment"), "review_reply": _l("Review reply")}}
ALERT_KINDS = tuple(CODE_LABELS["alert_kind"])


class Alert(db.Model):
    __tablename__ = "alerts"
    # The poll asks "anything newer than id N for me?": one index range scan.
    __table_args__ = (Index("ix_alerts_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    # What the alert says, in English: the text itself for alerts stored before issue #17, else
    # the English reading of ``message_data`` ({"msgid": an N_-marked message, "params": its
    # values}), which ``text`` reads in whoever looks at it's language.
    message: Mapped[str] = mapped_column(String(500))
    message_data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def text(self) -> str:
        """The alert in the current reader's language: its message translated with its values;
        an old alert's stored text as it is."""
        data = self.message_data or {}
        msgid, params = data.get("msgid"), data.get("params")
        if not isinstance(msgid, str) or not isinstance(params, dict):
            return self.message
        try:
            return _(msgid, **params)[:500]
        except (KeyError, ValueError, TypeError):  # a catalogue entry that lost a placeholder
            return self.message
