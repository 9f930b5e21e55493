"""A real SMTP server for the tests: aiosmtpd on a free loopback port, recording every
message that arrives (envelope and parsed message). ``SmtpSink(smtputf8=True)`` offers
SMTPUTF8 (RFC 6531) like most large providers; the default does not, like many relays."""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


@dataclass
class _Handler:
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    defer_data: set[str] = field(default_factory=set)  # messages to these answered 451 after DATA

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(address.lower() in self.defer_data for address in envelope.rcpt_tos):
            return "451 4.3.0 temporary local problem, try again later"
        raw = envelope.original_content or envelope.content
        parsed = message_from_bytes(raw, policy=policy.default)
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """Start with ``start()``; ``messages`` lists what arrived; ``wait_for(n)`` blocks until
    ``n`` messages arrived (or a timeout, returning what is there)."""

    def __init__(self, *, smtputf8: bool = False) -> None:
        self.handler = _Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     data_size_limit=50 * 1024 * 1024, enable_SMTPUTF8=smtputf8)

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    def clear(self) -> None:
        with self.handler.lock:
            self.handler.messages.clear()

    def refuse(self, address: str) -> None:
        self.handler.refuse.add(address.lower())

    def defer_data(self, address: str) -> None:
        self.handler.defer_data.add(address.lower())

    def reset_faults(self) -> None:
        self.handler.refuse.clear()
        self.handler.defer_data.clear()

    def received_by(self) -> dict[str, int]:
        """How many messages each recipient got: exactly-once checks read this."""
        counts: dict[str, int] = {}
        for received in self.messages:
            for address in received.rcpt_tos:
                counts[address] = counts.get(address, 0) + 1
        return counts

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                break
            time.sleep(0.02)
        return self.messages
