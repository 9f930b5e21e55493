"""Raw messages for the inbound-mail tests: the hand-written fixtures and a small builder."""
from __future__ import annotations

from datetime import date, datetime, timezone
from email.utils import format_datetime
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
# The fixtures were written on Wednesday 25 November 2026 (their Date headers, 00:16 to 09:26
# in the senders' zones) and "received" just after; their return dates are read from that day.
RECEIVED = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
OWN = ("alice.martin@acme-sales.com",)
DEFAULT_DATE = "Wed, 25 Nov 2026 09:30:00 +0100"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_names() -> list[str]:
    return sorted(p.name for p in FIXTURES.glob("*.eml"))


def build(body: str = "Sounds good, call me on Thursday.", *, subject: str = "Re: Quick question",
          sender: str = "Bob Keller <bob.keller@globex-industries.com>",
          to: str = "Alice Martin <alice.martin@acme-sales.com>",
          date: datetime | str | None = DEFAULT_DATE, message_id: str = "<test.1@globex-industries.com>",
          **headers: str) -> bytes:
    """A minimal message; keyword headers use underscores for dashes (X_Autoreply="yes").
    ``date`` is the Date header: an aware datetime (written in its own offset), the header
    text as is, or None for no Date header at all."""
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}"]
    if date is not None:
        lines.append(f"Date: {format_datetime(date) if isinstance(date, datetime) else date}")
    lines += [
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\n".join(lines) + "\n\n" + body + "\n").encode("utf-8")


def out_of_office(body: str, written: datetime | str | None, **kwargs) -> bytes:
    """An RFC 3834 auto-reply (``Auto-Submitted: auto-replied``) written at ``written``."""
    kwargs.setdefault("subject", "Automatic reply: Quick question")
    return build(body, date=written, Auto_Submitted="auto-replied", **kwargs)


def day_month(day: date) -> str:
    """"3 December": a date the way an English out-of-office writes it, without the year."""
    return f"{day.day} {MONTHS[day.month - 1]}"
