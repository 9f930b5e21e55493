"""JSON API of the mail feature (``routes``, mounted on /api/v1 from the manifest): the rep's outbox (list, one-off
"send later", cancel, retry a failed one), the inbound-mail webhook, and the signed-in rep's mailbox connection
(``/me/mailbox``)."""
from __future__ import annotations

import hmac
from typing import Literal

from flask import current_app, request
from pydantic import Field

from crm.api.auth import api_user
from crm.api.bounds import moment_within_days
from crm.api.endpoint import PayloadTooLarge, endpoint, page_args
from crm.api.routing import ApiRoutes
from crm.api.schemas import Id, OutModel, PageOut, QueryModel, StrictModel, Text, UtcDateTime, page_out
from crm.contacts.models import Contact
from crm.errors import NotFound, ServiceError, ValidationFailed
from crm.extensions import db, limiter
from crm.i18n import _
from crm.mail import imap_accounts
from crm.mail.inbound.process import process_inbound
from crm.mail.outbound import outbox
from crm.policy import require_edit
from crm.timeutil import utcnow
from crm.validation import get_by_id
from crm.web.access import SALES, public, roles

routes = ApiRoutes()


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class UnsupportedInbound(ServiceError):
    status = 415
    code = "unsupported_media_type"


# --- outbox -----------------------------------------------------------------------------------

class OutboxEmailOut(OutModel):
    id: int
    kind: str
    status: str
    user_id: int
    contact_id: int | None
    to_address: str
    subject: str
    text_body: str
    html_body: str | None
    due_at: UtcDateTime
    sent_at: UtcDateTime | None
    attempts: int
    last_error: str | None
    message_id: str
    in_reply_to: str | None
    enrollment_id: int | None
    step_id: int | None
    first_human_open_at: UtcDateTime | None
    first_human_click_at: UtcDateTime | None
    replied_at: UtcDateTime | None
    bounced_at: UtcDateTime | None
    created_at: UtcDateTime


class OutboxPage(PageOut[OutboxEmailOut]):
    pass


class OutboxQuery(QueryModel):
    box: Literal["scheduled", "sent", "failed"] = Field(
        "scheduled", description="scheduled (queued, drafts, sending), sent, or failed (and cancelled)")
    user_id: Id | None = Field(None, description="managers: a rep of their team; admins: anyone")


class OneOffIn(StrictModel):
    """A one-off email to a contact, sent now or at ``due_at`` through the outbox (same
    limits and sending as sequence emails)."""

    contact_id: Id
    subject: Text(998, 1)
    text_body: Text(100_000, 1)
    html_body: Text(100_000) | None = None
    due_at: moment_within_days(1, 5 * 366) | None = Field(
        None, description="ISO 8601 with a time zone, within the next 5 years; default: now")


@routes.get("/outbox")
@roles(*SALES)
@endpoint("List the outbox", query=OutboxQuery, response=OutboxPage)
def list_outbox(query: OutboxQuery):
    page = outbox.list_outbox(api_user(), box=query.box, user_id=query.user_id, **page_args(query))
    return page_out(OutboxPage, page, OutboxEmailOut.model_validate)


@routes.post("/outbox")
@roles(*SALES)
@endpoint("Send an email later", body=OneOffIn, response=OutboxEmailOut, status=201)
def send_later(body: OneOffIn):
    now = utcnow()
    contact = get_by_id(Contact, body.contact_id)
    if contact is None:
        raise NotFound(_("no such contact"))
    require_edit(api_user(), contact)
    due_at = body.due_at or now
    if due_at.tzinfo is None:
        raise ValidationFailed(_("invalid request body"), {"due_at": _("give a time zone (e.g. Z)")})
    email = outbox.send_later(actor=api_user(), contact=contact, subject=body.subject, text_body=body.text_body,
                              html_body=body.html_body, due_at=due_at, now=now)
    db.session.commit()
    return OutboxEmailOut.model_validate(email)


@routes.get("/outbox/<int:outbound_email_id>")
@roles(*SALES)
@endpoint("Read an outbox email", response=OutboxEmailOut)
def get_outbox_email(outbound_email_id: int):
    return OutboxEmailOut.model_validate(outbox.get_email(api_user(), outbound_email_id))


@routes.delete("/outbox/<int:outbound_email_id>")
@roles(*SALES)
@endpoint("Cancel a scheduled or failed email", response=OutboxEmailOut,
          description="Queued, draft or failed emails can be cancelled (409 otherwise: one being sent or sent); "
                      "the row stays, with status `cancelled`.")
def cancel_outbox_email(outbound_email_id: int):
    email = outbox.cancel_email(api_user(), outbound_email_id, utcnow())
    db.session.commit()
    return OutboxEmailOut.model_validate(email)


@routes.post("/outbox/<int:outbound_email_id>/retry")
@roles(*SALES)
@endpoint("Retry a failed email", response=OutboxEmailOut,
          description="Queues a failed one-off email or meeting invite again, due now, with a fresh attempt count "
                      "(409 for any other status, and for sequence emails: their sequence retries them). "
                      "Cancel it instead with DELETE.")
def retry_outbox_email(outbound_email_id: int):
    email = outbox.retry_email(api_user(), outbound_email_id, utcnow())
    db.session.commit()
    return OutboxEmailOut.model_validate(email)


# --- inbound webhook ----------------------------------------------------------------------------

class InboundOut(OutModel):
    classification: Literal["reply", "auto_reply", "bounce", "unsubscribe_request", "other"]
    bounce_type: Literal["hard", "soft"] | None
    contact_id: int | None = Field(description="null when no contact matched")
    stopped: list[int] = Field(description="enrollment ids stopped")
    paused: list[int] = Field(description="enrollment ids paused")


def _inbound_limit() -> str:
    return current_app.config["MAIL_INBOUND_RATE_LIMIT"]


def check_inbound_secret() -> None:
    expected = current_app.config.get("INBOUND_MAIL_SECRET") or ""
    given = request.headers.get("X-Inbound-Secret", "")
    # Constant-time compare; with no secret configured the webhook is closed.
    if not expected or not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8")):
        raise Unauthorized(_("a valid X-Inbound-Secret header is required"))


def read_raw_message() -> bytes:
    limit = int(current_app.config["MAIL_INBOUND_MAX_BYTES"])
    if (request.content_length or 0) > limit:
        raise PayloadTooLarge(_("a message may be at most %(limit)s bytes", limit=limit))
    if request.mimetype != "message/rfc822":
        raise UnsupportedInbound(_("send the raw message with Content-Type: message/rfc822"))
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(_("a message may be at most %(limit)s bytes", limit=limit))
    if not raw.strip():
        raise ServiceError(_("the message is empty"))
    return raw


@routes.post("/inbound-mail")
@public
@limiter.limit(_inbound_limit)
@endpoint(
    "Receive an inbound email", response=InboundOut, raw_body=("message/rfc822",), security="inboundSecret",
    description="The raw RFC 822 message as the body (`Content-Type: message/rfc822`), authenticated by "
                "the shared secret in `X-Inbound-Secret` (401 when wrong or missing; no bearer token). "
                "Classified from the message itself; matched to a contact by In-Reply-To/References, "
                "sender address or colleague domain; replies stop the contact's enrollments, "
                "auto-replies pause them, hard bounces mark the address and stop, unsubscribe requests "
                "unsubscribe. The same message (by Message-ID) is acted on once, also across IMAP.",
)
def inbound_mail():
    check_inbound_secret()
    raw = read_raw_message()
    result = process_inbound(raw, utcnow(), "webhook")
    db.session.commit()
    return InboundOut(**result.as_json())


# --- the rep's own mailbox (IMAP connection) -------------------------------------------------------

class MailboxConnectionIn(StrictModel):
    """The IMAP connection of the signed-in user's mailbox. ``password`` may be left out when a
    connection is stored (the stored one is kept); it is stored encrypted and never returned."""

    host: Text(253, 1)
    port: int | None = Field(None, ge=1, le=65535, description="default: 993 for ssl, 143 otherwise")
    security: Literal["ssl", "starttls", "none"] = Field(
        "ssl", description="ssl (IMAPS), starttls, or none (only for a server on this machine)")
    username: Text(254, 1)
    password: Text(500) | None = Field(None, description="the password or an app password; write-only")
    folders: list[Text(200, 1)] = Field(["INBOX"], min_length=1, max_length=20)


class MailboxTestIn(StrictModel):
    """Settings to try before saving; leave the body empty (``{}``) to try the stored ones."""

    host: Text(253, 1) | None = None
    port: int | None = Field(None, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "ssl"
    username: Text(254, 1) | None = None
    password: Text(500) | None = None
    folders: list[Text(200, 1)] = Field(["INBOX"], min_length=1, max_length=20)


class MailboxConnectionOut(OutModel):
    connected: bool
    host: str | None = None
    port: int | None = None
    security: str | None = None
    username: str | None = None
    folders: list[str] = []
    password_stored: bool = Field(False, description="the password itself is never returned")
    status: Literal["untested", "ok", "error", "unreadable_password"] | None = Field(
        None, description="unreadable_password: no configured key decrypts it; send the password again")
    last_error: str | None = None
    last_polled_at: UtcDateTime | None = None
    last_ok_at: UtcDateTime | None = None


class MailboxTestOut(OutModel):
    ok: bool
    message: str = Field(description="the server's answer: logged in and the folders, or the error")
    folders: list[str]
    missing_folders: list[str]


def mailbox_connection_out(account) -> MailboxConnectionOut:
    if account is None:
        return MailboxConnectionOut(connected=False)
    return MailboxConnectionOut(
        connected=True, host=account.host, port=account.port, security=account.security, username=account.username,
        folders=list(account.folders), password_stored=bool(account.password_encrypted), status=account.status,
        last_error=account.last_error, last_polled_at=account.last_polled_at, last_ok_at=account.last_ok_at)


@routes.get("/me/mailbox")
@roles(*SALES)
@endpoint("Read your mailbox connection", response=MailboxConnectionOut)
def get_my_mailbox():
    return mailbox_connection_out(imap_accounts.get_imap_account(api_user()))


@routes.put("/me/mailbox")
@roles(*SALES)
@endpoint("Connect or change your mailbox", body=MailboxConnectionIn, response=MailboxConnectionOut,
          description="Replies, out-of-office notices and bounces are then read from these IMAP folders every "
                      "minute. Changing the server or the user starts over with a first poll (only the last "
                      "`MAIL_IMAP_FIRST_POLL_DAYS` days are read). 422 with the field for bad settings.")
def put_my_mailbox(body: MailboxConnectionIn):
    account = imap_accounts.save_imap_account(api_user(), body.model_dump(), utcnow())
    db.session.commit()
    return mailbox_connection_out(account)


@routes.delete("/me/mailbox")
@roles(*SALES)
@endpoint("Disconnect your mailbox", response=MailboxConnectionOut,
          description="The settings and the stored password are deleted; 404 when none was connected.")
def delete_my_mailbox():
    if not imap_accounts.remove_imap_account(api_user()):
        raise NotFound(_("no mailbox connected"))
    db.session.commit()
    return MailboxConnectionOut(connected=False)


@routes.post("/me/mailbox/test")
@roles(*SALES)
@endpoint("Test a mailbox connection", body=MailboxTestIn, response=MailboxTestOut,
          description="Logs in and lists the folders, with the settings sent (a password left out: the stored "
                      "one) or, with an empty body, the stored settings. Saves nothing. 200 either way: `ok` "
                      "and `message` give the server's answer.")
def test_my_mailbox(body: MailboxTestIn):
    sent = body.model_dump(exclude_unset=True)
    report = imap_accounts.check_imap_connection(api_user(), body.model_dump() if sent else None)
    return MailboxTestOut(ok=report.ok, message=report.message, folders=report.folders,
                          missing_folders=report.missing_folders)
