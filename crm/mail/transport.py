"""The one way mail leaves the app: SMTP with ``smtplib`` (host, port, none/STARTTLS/SSL,
login), or, in development, ``.eml`` files under ``instance/sent-mail/``.

Development writes files because the demo data holds real-looking addresses on real domains:
``make run`` must never deliver them anywhere. Production and the tests use SMTP
(``MAIL_TRANSPORT=smtp``; the tests run a real aiosmtpd server).
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

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


def send_bytes(from_address: str, to_addresses: list[str], data: bytes, *, client: smtplib.SMTP) -> None:
    """Send an already flattened message (CRLF line ends) over ``client``: the send tick
    flattens each message once instead of letting ``smtplib.send_message`` do it again."""
    client.sendmail(from_address, to_addresses, data)


def write_file(message) -> Path:
    """``MAIL_TRANSPORT=file``: the message as an .eml file under instance/sent-mail/."""
    return _write_file(message)


def _write_file(message: EmailMessage) -> Path:
    folder = Path(current_app.config["INSTANCE_DIR"]) / "sent-mail"
    folder.mkdir(parents=True, exist_ok=True)
    token = (message.get("Message-ID") or "message").strip("<>").replace("/", "_").replace("@", "_at_")
    path = folder / f"{token}.eml"
    path.write_bytes(message.as_bytes())
    log.info("mail written to %s (MAIL_TRANSPORT=file: nothing delivered)", path)
    return path
