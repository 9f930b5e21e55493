"""What the app checks about outgoing mail when it starts (the manifest's ``setup`` of the mail
feature): a DKIM configuration that cannot sign stops the app (``ConfigError``) rather than
failing every message later; settings that hurt deliverability are logged as warnings:

* ``PUBLIC_BASE_URL`` not https in production: every link in a message (unsubscribe, tracking,
  booking, the manage link of an invite) goes out over plain http;
* the ``List-Unsubscribe`` URL over http (any deployment but the tests): RFC 8058 one-click
  unsubscribe requires https, and large mailbox providers ignore the header otherwise.
"""
from __future__ import annotations

import logging

from flask import Flask

from config import ConfigError
from crm.mail.outbound.dkim import DkimConfigError, signer

log = logging.getLogger(__name__)


def warnings_for(config) -> list[str]:
    """The deliverability warnings of a configuration (empty when all is well)."""
    found = []
    base = str(config.get("PUBLIC_BASE_URL") or "")
    if not base.lower().startswith("https://"):
        if config.get("DEPLOYMENT", "production") == "production":
            found.append(f"PUBLIC_BASE_URL is {base or 'empty'}, not https: unsubscribe, tracking and meeting links "
                         "in every email go out over plain http")
        found.append(f"the List-Unsubscribe URL ({base or '?'}/u/...) is not https: RFC 8058 one-click unsubscribe "
                     "requires https, and large mailbox providers ignore it otherwise")
    if signer(config) is None and config.get("DEPLOYMENT", "production") == "production":
        found.append("outgoing mail is not DKIM-signed (MAIL_DKIM_KEY_PATH, MAIL_DKIM_SELECTOR, MAIL_DKIM_DOMAIN): "
                     "large mailbox providers require it of bulk senders")
    return found


def init(app: Flask) -> None:
    try:
        signer(app.config)
    except DkimConfigError as exc:
        raise ConfigError(f"DKIM: {exc}") from None
    if app.config.get("DEPLOYMENT") == "testing" or not app.config.get("SECRET_KEY"):
        return  # the tests; the help app of a machine without secrets (it sends nothing)
    for warning in warnings_for(app.config):
        log.warning("mail deliverability: %s", warning)
