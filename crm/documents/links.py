"""Share-link tokens: ``<link id>.<nonce>.<signature>``, signed with the app's secret key
(itsdangerous), so a guessed or altered token is refused before the database is asked. The
row holds what can change after the link was sent: revocation, expiry, the claim."""
from __future__ import annotations

import secrets

from flask import current_app
from itsdangerous import BadSignature, Signer

SALT = "crm.documents.share-link"


def _signer() -> Signer:
    return Signer(current_app.config["SECRET_KEY"], salt=SALT)


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


def make_token(link_id: int, nonce: str) -> str:
    return _signer().sign(f"{link_id}.{nonce}".encode()).decode()


def parse_token(token: str) -> tuple[int, str] | None:
    """(link id, nonce) of a well-signed token, else None."""
    if not token or len(token) > 200:
        return None
    try:
        value = _signer().unsign(token.encode()).decode()
    except (BadSignature, UnicodeError):
        return None
    link_id, _, nonce = value.partition(".")
    if not link_id.isdigit() or not nonce or len(link_id) > 18:
        return None
    return int(link_id), nonce


def public_url(token: str, suffix: str = "") -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/d/{token}{suffix}"
