"""A rep's IMAP connection: connect, change, test, disconnect (re-exported by ``services.py``;
the account page and ``/api/v1/me/mailbox`` call these). Services flush, never commit.

Changing the server or the user points the account at another mailbox: its cursors go, so
the next poll is a first poll again (only ``MAIL_IMAP_FIRST_POLL_DAYS`` back, then the newest
UID; see ``inbound/imap.py``). A folder dropped from the list loses its cursor too.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from crm.auth.models import User
from crm.errors import ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.mail.credentials import UnreadableCredentials, decrypt, encrypt, reencrypt
from crm.mail.inbound.imap import ConnectionReport, ImapSettings, try_connection
from crm.mail.inputs import ImapAccountInput
from crm.mail.models import ImapAccount, Mailbox, MailboxCursor, mailbox_for

PASSWORD_REQUIRED = "required to connect a mailbox"
PASSWORD_AGAIN = "the stored password can no longer be read: enter it again"


def get_imap_account(user: User) -> ImapAccount | None:
    return db.session.scalar(select(ImapAccount).join(ImapAccount.mailbox).where(Mailbox.user_id == user.id))


def save_imap_account(user: User, data: dict[str, Any], now: datetime) -> ImapAccount:
    """Connect the user's mailbox, or change its settings (a password left out keeps the stored
    one, unless that one can no longer be decrypted). Flushes.

    :raises ValidationFailed: with every bad field"""
    values = ImapAccountInput.parse(data)
    mailbox = mailbox_for(user)
    account = get_imap_account(user)
    _require_usable_password(account, values.password)
    if account is None:
        account = ImapAccount(mailbox_id=mailbox.id, created_at=now)
        db.session.add(account)
    elif (account.host.lower(), account.username) != (values.host.lower(), values.username):
        _forget_cursors(mailbox.id)  # another mailbox altogether: start with a first poll
    else:
        _forget_cursors(mailbox.id, keep=values.folders)
    account.host, account.port, account.security = values.host, values.port, values.security
    account.username, account.folders = values.username, list(values.folders)
    if values.password:
        account.password_encrypted = encrypt(values.password)
    account.status, account.last_error, account.updated_at = "untested", None, now
    db.session.flush()
    return account


def remove_imap_account(user: User) -> bool:
    """Disconnect: the settings, the password and the cursors go. False when there was none."""
    account = get_imap_account(user)
    if account is None:
        return False
    _forget_cursors(account.mailbox_id)
    db.session.delete(account)
    db.session.flush()
    return True


def check_imap_connection(user: User, data: dict[str, Any] | None = None) -> ConnectionReport:
    """Log in with ``data`` (the settings being typed; a password left out uses the stored one)
    or, without ``data``, with the stored settings, and report the server's answer. Writes
    nothing.

    :raises ValidationFailed: bad settings, or no password to try"""
    account = get_imap_account(user)
    if data is None:
        if account is None:
            raise ValidationFailed(_("no mailbox connected"), {"host": _("required")})
        data = {"host": account.host, "port": account.port, "security": account.security,
                "username": account.username, "folders": account.folders}
    values = ImapAccountInput.parse(data)
    password = values.password or _stored_password(account)
    return try_connection(ImapSettings(values.host, values.port or 0, values.security, values.username, password,
                                        tuple(values.folders)))


def _stored_password(account: ImapAccount | None) -> str:
    if account is None:
        raise ValidationFailed(_("check the mailbox settings"), {"password": PASSWORD_REQUIRED})
    try:
        return decrypt(account.password_encrypted)
    except UnreadableCredentials:
        raise ValidationFailed(_("check the mailbox settings"), {"password": PASSWORD_AGAIN}) from None


def _require_usable_password(account: ImapAccount | None, password: str | None) -> None:
    if password:
        return
    _stored_password(account)


def _forget_cursors(mailbox_id: int, keep: list[str] | None = None) -> None:
    query = delete(MailboxCursor).where(MailboxCursor.mailbox_id == mailbox_id)
    if keep is not None:
        query = query.where(MailboxCursor.folder.not_in(keep))
    db.session.execute(query)


@dataclass
class RotationReport:
    rotated: int = 0
    unreadable: int = 0


def rotate_credentials(now: datetime) -> RotationReport:
    """Encrypt every stored password again with the newest key (``MAIL_CREDENTIALS_KEY``'s
    first); a password no key opens marks its account ``unreadable_password``. Flushes."""
    report = RotationReport()
    for account in db.session.scalars(select(ImapAccount).order_by(ImapAccount.id)):
        try:
            account.password_encrypted = reencrypt(account.password_encrypted)
            report.rotated += 1
        except UnreadableCredentials as exc:
            account.status, account.last_error, account.updated_at = "unreadable_password", str(exc)[:500], now
            report.unreadable += 1
    db.session.flush()
    return report
