"""The one way mail leaves the app: SMTP with ``smtplib`` (host, port, none/STARTTLS/SSL,
login), or, in development, ``.eml`` files under ``instance/sent-mail/``.

Development writes files because the demo data holds real-looking addresses on real domains:
``make run`` must never deliver them anywhere. Production and the tests use SMTP
(``MAIL_TRANSPORT=smtp``; the tests run a real aiosmtpd server).
"""
from __future__ import annotations

import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Callable, Protocol

from flask import current_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "none"  # none | starttls | ssl
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0


def settings_from_config(config=None) -> SmtpSettings:
    config = config or current_app.config
    return SmtpSettings(
        host=config["SMTP_HOST"], port=int(config["SMTP_PORT"]), security=config["SMTP_SECURITY"],
        username=config.get("SMTP_USERNAME"), password=config.get("SMTP_PASSWORD"),
        timeout=float(config.get("SMTP_TIMEOUT", 30)),
    )


def open_smtp(settings: SmtpSettings) -> smtplib.SMTP:
    """A connected, logged-in SMTP client; the caller quits it (use as a context manager)."""
    if settings.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if settings.username:
        client.login(settings.username, settings.password or "")
    return client


def send_message(message: EmailMessage, *, settings: SmtpSettings | None = None,
                 client: smtplib.SMTP | None = None) -> None:
    """Send one message: over ``client`` when given (connection reuse), else over a new
    connection, or to a file when ``MAIL_TRANSPORT`` is ``file``. Raises ``smtplib``
    exceptions on refusal; the caller decides whether to retry."""
    if client is None and current_app.config.get("MAIL_TRANSPORT", "smtp") == "file":
        _write_file(message)
        return
    if client is not None:
        client.send_message(message)
        return
    with open_smtp(settings or settings_from_config()) as fresh:
        fresh.send_message(message)


class InternationalAddressRefused(smtplib.SMTPNotSupportedError):
    """The message has an address whose local part is not ASCII (``sergio.díaz@...``) and the
    server does not offer SMTPUTF8 (RFC 6531): it cannot be sent through this server at all."""

    reason = "the server does not accept international addresses (no SMTPUTF8)"

    def __init__(self, address: str):
        super().__init__(f"{self.reason}: {address}")
        self.address = address


def needs_smtputf8(address: str) -> bool:
    """True when the address can only travel with SMTPUTF8: a non-ASCII local part. A
    non-ASCII domain alone is written in its IDNA (``xn--``) form and needs nothing."""
    local, _, _ = address.rpartition("@")
    return not (local or address).isascii()


def ascii_domain(address: str) -> str:
    """The address with its domain in IDNA form (``user@xn--bcher-kva.de``), unchanged when
    it is ASCII already or cannot be encoded (the server then says what it thinks)."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def envelope(client: smtplib.SMTP, from_address: str, to_addresses: list[str]) -> tuple[str, list[str], bool]:
    """The envelope as this server can take it: (from, to, whether to ask for SMTPUTF8).
    Raises ``InternationalAddressRefused`` for an address the server cannot take."""
    addresses = [from_address, *to_addresses]
    international = [a for a in addresses if needs_smtputf8(a)]
    if not international:
        converted = [ascii_domain(a) for a in addresses]
        return converted[0], converted[1:], False
    client.ehlo_or_helo_if_needed()
    if not (client.does_esmtp and client.has_extn("smtputf8")):
        raise InternationalAddressRefused(international[0])
    return from_address, list(to_addresses), True


class EndOfDataGate(Protocol):
    """What must hold before the server may accept a message (see ``send_bytes``)."""

    def settle(self) -> None:
        """Block until the message may be accepted; raise when it must not be."""


def send_bytes(from_address: str, to_addresses: list[str], data: bytes, *, client: smtplib.SMTP,
               gate: EndOfDataGate | None = None, meanwhile: Callable[[], None] | None = None) -> None:
    """Send an already flattened message (CRLF line ends) over ``client``: the send tick
    flattens each message once instead of letting ``smtplib.send_message`` do it again.

    ``gate`` is settled once the server has accepted the envelope and said to go ahead with
    the content (``354`` after ``DATA``), before the content and its final ``.`` go out in one
    write: the send tick waits there for the previous message's mark to be committed, so that
    commit overlaps this message's first round trips while no two accepted messages are ever
    unmarked at once. If the gate raises, the connection is closed with the transaction still
    open, which makes the server discard it (RFC 5321, 4.1.1.4), and the error propagates.
    ``meanwhile`` (with a gate) runs once the content is handed over, before the server's
    reply is read: work done there overlaps the server's own handling of the message. It
    must not raise.
    The steps and errors are otherwise ``smtplib.SMTP.sendmail``'s and ``data``'s own.
    (One write matters: content and ``.`` sent apart cost the server a second read per
    message, and Nagle's algorithm would hold the small second write for a delayed ACK.)"""
    from_address, to_addresses, smtputf8 = envelope(client, from_address, to_addresses)
    if gate is None:
        client.sendmail(from_address, to_addresses, data, mail_options=["SMTPUTF8"] if smtputf8 else ())
        return
    client.ehlo_or_helo_if_needed()
    options = [f"size={len(data)}"] if client.does_esmtp and client.has_extn("size") else []
    if smtputf8:
        options.append("SMTPUTF8")
        # What ``smtplib.SMTP.mail`` does for SMTPUTF8: the commands of this transaction
        # (MAIL, RCPT) go out as UTF-8. It stays so for the connection: harmless, because
        # every command after it is ASCII or belongs to another SMTPUTF8 transaction.
        client.command_encoding = "utf-8"
    client.putcmd("mail", f"FROM:{quote_address(from_address)}{''.join(' ' + o for o in options)}")
    code, response = client.getreply()
    if code != 250:
        _abort(client, code)
        raise smtplib.SMTPSenderRefused(code, response, from_address)
    refused = {}
    for address in to_addresses:
        client.putcmd("rcpt", f"TO:{quote_address(address)}")
        code, response = client.getreply()
        if code not in (250, 251):
            refused[address] = (code, response)
        if code == 421:
            client.close()
            raise smtplib.SMTPRecipientsRefused(refused)
    if len(refused) == len(to_addresses):
        _reset(client)
        raise smtplib.SMTPRecipientsRefused(refused)
    code, response = client.docmd("data")
    if code != 354:
        _abort(client, code)
        raise smtplib.SMTPDataError(code, response)
    content = _LINE_STARTING_WITH_DOT.sub(b"..", data)  # RFC 5321 4.5.2 transparency
    if not content.endswith(b"\r\n"):
        content += b"\r\n"
    try:
        gate.settle()
    except BaseException:
        client.close()
        raise
    client.send(content + b".\r\n")
    if meanwhile is not None:
        meanwhile()
    code, response = client.getreply()
    if code != 250:
        _abort(client, code)
        raise smtplib.SMTPDataError(code, response)


_LINE_STARTING_WITH_DOT = re.compile(rb"(?m)^\.")
_BARE_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+\Z")


def quote_address(address: str) -> str:
    """``smtplib.quoteaddr``, without parsing the plain ASCII addresses the app stores (they
    are validated when saved): that parse was a tenth of the client's CPU per message, only
    to wrap the address in ``<>``. Anything else goes through ``quoteaddr`` itself."""
    return f"<{address}>" if _BARE_ADDRESS.match(address) else smtplib.quoteaddr(address)


def _abort(client: smtplib.SMTP, code: int) -> None:
    """What ``sendmail`` does on a refusal: 421 means the server is closing, else RSET."""
    if code == 421:
        client.close()
    else:
        _reset(client)


def _reset(client: smtplib.SMTP) -> None:
    try:
        client.rset()
    except smtplib.SMTPServerDisconnected:
        pass


def write_file(message) -> Path:
    """``MAIL_TRANSPORT=file``: the message as an .eml file under instance/sent-mail/."""
    return _write_file(message)


def write_file_bytes(message_id: str | None, data: bytes) -> Path:
    """``MAIL_TRANSPORT=file`` for an already flattened message (the send tick's)."""
    folder = Path(current_app.config["INSTANCE_DIR"]) / "sent-mail"
    folder.mkdir(parents=True, exist_ok=True)
    token = (message_id or "message").strip("<>").replace("/", "_").replace("@", "_at_")
    path = folder / f"{token}.eml"
    path.write_bytes(data)
    log.info("mail written to %s (MAIL_TRANSPORT=file: nothing delivered)", path)
    return path


def _write_file(message: EmailMessage) -> Path:
    return write_file_bytes(message.get("Message-ID"), message.as_bytes())
