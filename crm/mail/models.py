"""Tables of the mail feature: the mailboxes (one per rep, with SMTP/IMAP settings and the
IMAP cursors), the outbox (``outbound_emails``: every message we send, scheduled or sent)
and the inbound log (``inbound_messages``: every message that came back, once)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.extensions import db
from crm.i18n import _l
from crm.jsontype import JSONType
from crm.timeutil import UTCDateTime, utcnow

OUTBOUND_KINDS = ("sequence", "one_off", "invite")
OUTBOUND_STATUSES = ("draft", "queued", "sending", "sent", "failed", "cancelled")
# How the codes read on pages (the manifest's ``code_labels``; ``crm.i18n.code_label``).
CODE_LABELS = {"email_status": {
    "draft": _l("Draft"), "queued": _l("Queued"), "sending": _l("Sending"), "sent": _l("Sent"),
    "failed": _l("Failed"), "cancelled": _l("Cancelled")}}
INBOUND_SOURCES = ("webhook", "imap")


class Mailbox(db.Model):
    """A rep's sending identity and limits. SMTP fields left empty use the app's ``SMTP_*``;
    IMAP polling runs only for a mailbox with an ``ImapAccount``. ``daily_cap`` / ``min_gap_seconds`` of
    0 or less switch that limit off (the benchmark does)."""

    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    from_address: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    signature: Mapped[str] = mapped_column(Text, default="")
    # Other addresses of the rep (aliases): their messages are never a prospect's reply.
    aliases: Mapped[list[str]] = mapped_column(JSONType, default=list)
    smtp_host: Mapped[str | None] = mapped_column(String(253))
    smtp_port: Mapped[int | None]
    smtp_security: Mapped[str | None] = mapped_column(String(10))  # none | starttls | ssl
    smtp_username: Mapped[str | None] = mapped_column(String(254))
    smtp_password: Mapped[str | None] = mapped_column(String(500))
    daily_cap: Mapped[int] = mapped_column(default=500)
    min_gap_seconds: Mapped[int] = mapped_column(default=30)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()
    imap_account: Mapped[ImapAccount | None] = relationship(back_populates="mailbox", uselist=False,
                                                            cascade="all, delete-orphan", passive_deletes=True)

    @property
    def own_addresses(self) -> list[str]:
        return [a for a in {self.from_address, self.user.email if self.user else None, *(self.aliases or [])} if a]

    @property
    def domain(self) -> str:
        return self.from_address.rpartition("@")[2] or current_app.config["MAIL_FROM_DOMAIN"]


IMAP_SECURITY = ("ssl", "starttls", "none")
IMAP_STATUSES = ("untested", "ok", "error", "unreadable_password")


class ImapAccount(db.Model):
    """Where a rep's mailbox is read from (IMAP), set on their account page or through the API.
    The password is stored encrypted (``crm/mail/credentials.py``), never returned. ``status``
    is what the last poll or connection test found: ``ok``, ``error`` (``last_error`` says the
    server's answer), ``unreadable_password`` (no configured key decrypts it: the rep must
    enter it again), ``untested`` until the first poll."""

    __tablename__ = "imap_accounts"
    __table_args__ = (
        CheckConstraint("security IN ('ssl', 'starttls', 'none')", name="security"),
        CheckConstraint("status IN ('untested', 'ok', 'error', 'unreadable_password')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"), unique=True)
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int]
    security: Mapped[str] = mapped_column(String(10), default="ssl")
    username: Mapped[str] = mapped_column(String(254))
    password_encrypted: Mapped[str] = mapped_column(Text)
    folders: Mapped[list[str]] = mapped_column(JSONType, default=lambda: ["INBOX"])
    status: Mapped[str] = mapped_column(String(24), default="untested")
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    mailbox: Mapped[Mailbox] = relationship(back_populates="imap_account")


class MailboxCursor(db.Model):
    """How far IMAP polling got in one folder: UIDs are only meaningful with their
    UIDVALIDITY, so a new UIDVALIDITY restarts the folder (the inbound log still refuses
    messages it has seen)."""

    __tablename__ = "mailbox_cursors"
    __table_args__ = (UniqueConstraint("mailbox_id", "folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


_UNRECORDED = "status = 'sent' AND recorded_at IS NULL"


class OutboundEmail(db.Model):
    """One message in the outbox (a sequence step, a one-off, a meeting invite), from queued to
    sent (or failed / cancelled). Stores the
    rendered content, so what was sent can be shown later, and the Message-ID given at
    enqueue, so follow-ups thread under it before it leaves. Tracking and inbound fill the
    ``first_human_*`` / ``replied_at`` / ``bounced_at`` columns statistics count from."""

    __tablename__ = "outbound_emails"
    __table_args__ = (
        Index("ix_outbound_emails_status_due", "status", "due_at"),
        Index("ix_outbound_emails_user_sent", "user_id", "sent_at"),
        Index("ix_outbound_emails_contact", "contact_id", "created_at"),
        # The sent messages whose side effects are not written yet (see recorded_at): a
        # handful at any time, found without scanning the outbox.
        Index("ix_outbound_emails_unrecorded", "id", postgresql_where=text(_UNRECORDED),
              sqlite_where=text(_UNRECORDED)),
        CheckConstraint("kind IN ('sequence', 'one_off', 'invite')", name="kind"),
        CheckConstraint("(kind = 'invite') = (calendar_ics IS NOT NULL)", name="invite_calendar"),
        CheckConstraint(
            "status IN ('draft', 'queued', 'sending', 'sent', 'failed', 'cancelled')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="sequence")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(998))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    # Meeting invites (kind 'invite'): the iCalendar object and its METHOD (REQUEST, CANCEL),
    # sent as a text/calendar part next to the text and as an .ics attachment.
    calendar_ics: Mapped[str | None] = mapped_column(Text)
    calendar_method: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(255))
    references: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the side effects of the send (email_sent activity, sequences hook, the mailbox's
    # last send) were written: after the sent mark, batched (crm/mail/outbound/sender.py).
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Sequences' rows; plain integers so the outbox does not depend on that feature's tables
    # (the sequences feature clears them when it deletes an enrollment).
    enrollment_id: Mapped[int | None] = mapped_column(index=True)
    step_id: Mapped[int | None] = mapped_column(index=True)
    template_id: Mapped[int | None] = mapped_column(index=True)
    first_human_open_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_human_click_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class InboundMessage(db.Model):
    """Every inbound message processed, once: ``dedupe_key`` is the Message-ID (or a hash of
    the raw bytes when there is none), unique, so the same message arriving by webhook and by
    IMAP acts once. Keeps the verdict and what it did."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        CheckConstraint("source IN ('webhook', 'imap')", name="source"),
        Index("ix_inbound_messages_contact", "contact_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(998))
    source: Mapped[str] = mapped_column(String(16))
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    classification: Mapped[str] = mapped_column(String(32))
    bounce_type: Mapped[str | None] = mapped_column(String(8))
    from_address: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(998), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    outbound_email_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_emails.id", ondelete="SET NULL"))
    matched_by: Mapped[str | None] = mapped_column(String(32))
    effects: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


def mailbox_for(user: User) -> Mailbox:
    """The user's mailbox, created with the app's default limits when missing. Flushes."""
    mailbox = db.session.scalar(select(Mailbox).where(Mailbox.user_id == user.id))
    if mailbox is None:
        config = current_app.config
        mailbox = Mailbox(
            user_id=user.id, from_address=user.email, display_name=user.name or "",
            signature=f"{user.name}" if user.name else "", aliases=[],
            daily_cap=int(config.get("MAIL_DAILY_CAP", 500)),
            min_gap_seconds=int(config.get("MAIL_MIN_GAP_SECONDS", 30)),
        )
        try:
            with db.session.begin_nested():  # two workers may create it at once
                db.session.add(mailbox)
        except IntegrityError:
            mailbox = db.session.scalar(select(Mailbox).where(Mailbox.user_id == user.id))
    return mailbox
