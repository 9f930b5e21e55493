"""Raw messages for the inbound-mail tests: the hand-written fixtures and a small builder."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
# The fixtures were "received" on Wednesday 25 November 2026; return dates are read from here.
RECEIVED = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
OWN = ("alice.martin@acme-sales.com",)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_names() -> list[str]:
    return sorted(p.name for p in FIXTURES.glob("*.eml"))


def build(body: str = "Sounds good, call me on Thursday.", *, subject: str = "Re: Quick question",
          sender: str = "Bob Keller <bob.keller@globex-industries.com>",
          to: str = "Alice Martin <alice.martin@acme-sales.com>", **headers: str) -> bytes:
    """A minimal message; keyword headers use underscores for dashes (X_Autoreply="yes")."""
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        "Date: Wed, 25 Nov 2026 09:30:00 +0100",
        "Message-ID: <test.1@globex-industries.com>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\n".join(lines) + "\n\n" + body + "\n").encode("utf-8")
