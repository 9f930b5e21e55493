"""Mailbox passwords encrypted at rest (``cryptography``'s Fernet: AES-128-CBC + HMAC-SHA256,
with the time it was written; a well-kept library rather than anything hand-made).

The keys, newest first:

* ``MAIL_CREDENTIALS_KEY``: one or more Fernet keys (``Fernet.generate_key()``), separated by
  commas. The first encrypts; every one decrypts, so rotating is: put the new key first, keep
  the old ones after it, run ``flask --app wsgi crm mail rotate-credentials``, then drop the
  old keys.
* Always last, as a decrypt-only fallback when ``MAIL_CREDENTIALS_KEY`` is set (and the only
  key when it is not): a key derived from ``SECRET_KEY`` with HKDF-SHA256 (info
  ``crm mail credentials v1``). An install that never set a key keeps working, and one that
  sets a key later still reads what was written before it, until rotated.

Why a separate key is recommended: with only the derived key, changing ``SECRET_KEY`` (which
also signs sessions) makes every stored mailbox password unreadable. A password no key opens
is not an error of the poll's making: the account is marked ``credentials_unreadable`` and the
rep is asked to enter the password again (page and API say so); nothing is guessed.
"""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

DERIVATION_INFO = b"crm mail credentials v1"


class UnreadableCredentials(Exception):
    """No configured key decrypts the stored password (the key changed or the value is damaged)."""


class BadCredentialsKey(ValueError):
    """``MAIL_CREDENTIALS_KEY`` holds something that is not a Fernet key."""


def derived_key(secret_key: str) -> bytes:
    """A Fernet key (urlsafe base64 of 32 bytes) derived from ``SECRET_KEY``."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=DERIVATION_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode("utf-8")))


def configured_keys(config) -> list[bytes]:
    """The keys, newest (the one that encrypts) first."""
    keys = [part.strip().encode("ascii") for part in (config.get("MAIL_CREDENTIALS_KEY") or "").split(",")
            if part.strip()]
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise BadCredentialsKey(
                "MAIL_CREDENTIALS_KEY must be Fernet keys (32 url-safe base64 bytes each, comma-separated)") from None
    secret = config.get("SECRET_KEY")
    if secret:
        keys.append(derived_key(str(secret)))
    if not keys:
        raise BadCredentialsKey("set MAIL_CREDENTIALS_KEY or SECRET_KEY to store mailbox passwords")
    return keys


def _cipher() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in configured_keys(current_app.config)])


def encrypt(password: str) -> str:
    return _cipher().encrypt(password.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """:raises UnreadableCredentials: when no configured key opens ``token``"""
    try:
        return _cipher().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise UnreadableCredentials(
            "the stored password cannot be decrypted with the configured keys (MAIL_CREDENTIALS_KEY or "
            "SECRET_KEY changed?): enter it again") from exc


def reencrypt(token: str) -> str:
    """``token`` encrypted again with the newest key (its original time kept).

    :raises UnreadableCredentials: when no configured key opens ``token``"""
    try:
        return _cipher().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as exc:
        raise UnreadableCredentials("the stored password cannot be decrypted with the configured keys") from exc
