"""DKIM signing of outgoing mail (RFC 6376, with ``dkimpy``), optional. Large mailbox providers
require it of anyone sending in bulk; a sequence is bulk to them.

Configured by three settings (``config.py``): ``MAIL_DKIM_KEY_PATH`` (a PEM RSA private key,
2048 bits), ``MAIL_DKIM_SELECTOR`` and ``MAIL_DKIM_DOMAIN`` (the ``d=`` of the signature: the
domain of the From addresses, or their organisational domain, for DMARC alignment). All three
or none; the key is read once per process and checked when the app starts
(``crm.mail.deliverability``), so a bad key stops the app instead of failing mail. The public
half is published as DNS TXT at ``<selector>._domainkey.<domain>`` (see the README).

Signed headers: those a reader sees and those RFC 8058 requires to be signed for one-click
unsubscribe (``List-Unsubscribe``, ``List-Unsubscribe-Post``). Canonicalisation relaxed/relaxed
survives relays that refold headers or touch whitespace.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dkim
from flask import current_app

SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"in-reply-to", b"references",
                  b"list-unsubscribe", b"list-unsubscribe-post", b"mime-version", b"content-type")


class DkimConfigError(ValueError):
    """The DKIM settings are incomplete or the key cannot be used."""


@dataclass(frozen=True)
class Signer:
    selector: bytes
    domain: bytes
    key: bytes

    def sign(self, wire: bytes) -> bytes:
        """``wire`` with its DKIM-Signature header in front (CRLF line ends, as sent)."""
        header = dkim.sign(wire, self.selector, self.domain, self.key, canonicalize=(b"relaxed", b"relaxed"),
                           include_headers=[h for h in SIGNED_HEADERS if _has_header(wire, h)], linesep=b"\r\n")
        return header + wire


def _has_header(wire: bytes, name: bytes) -> bool:
    head = wire.split(b"\r\n\r\n", 1)[0].lower()
    return head.startswith(name + b":") or (b"\r\n" + name + b":") in head


def signer(config=None) -> Signer | None:
    """The configured signer, None when DKIM is off. :raises DkimConfigError:"""
    config = config if config is not None else current_app.config
    path, selector, domain = (config.get("MAIL_DKIM_KEY_PATH") or "", config.get("MAIL_DKIM_SELECTOR") or "",
                              config.get("MAIL_DKIM_DOMAIN") or "")
    if not (path or selector or domain):
        return None
    if not (path and selector and domain):
        raise DkimConfigError("set MAIL_DKIM_KEY_PATH, MAIL_DKIM_SELECTOR and MAIL_DKIM_DOMAIN together")
    return _load(str(path), selector.strip(), domain.strip().lower())


@lru_cache(maxsize=4)
def _load(path: str, selector: str, domain: str) -> Signer:
    try:
        key = Path(path).read_bytes()
    except OSError as exc:
        raise DkimConfigError(f"MAIL_DKIM_KEY_PATH cannot be read: {exc.strerror or exc}") from None
    candidate = Signer(selector.encode("ascii"), domain.encode("ascii"), key)
    probe = (b"From: check@" + candidate.domain + b"\r\nSubject: key check\r\n\r\nok\r\n")
    try:
        candidate.sign(probe)
    except dkim.DKIMException as exc:
        raise DkimConfigError(f"MAIL_DKIM_KEY_PATH is not a usable private key: {exc}") from None
    return candidate


def sign(wire: bytes) -> bytes:
    """Sign when DKIM is configured; the message unchanged otherwise."""
    active = signer()
    return active.sign(wire) if active is not None else wire


def dns_record(public_key_der_b64: str) -> str:
    """The TXT record to publish at ``<selector>._domainkey.<domain>``."""
    return f"v=DKIM1; k=rsa; p={public_key_der_b64}"
