"""JSON API of the mail feature (``routes``, mounted on /api/v1 from the manifest): the rep's outbox (list, one-off
"send later", cancel, retry a failed one) and the inbound-mail webhook."""
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
        raise NotFound("no such contact")
    require_edit(api_user(), contact)
    due_at = body.due_at or now
    if due_at.tzinfo is None:
        raise ValidationFailed("invalid request body", {"due_at": "give a time zone (e.g. Z)"})
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
        raise Unauthorized("a valid X-Inbound-Secret header is required")


def read_raw_message() -> bytes:
    limit = int(current_app.config["MAIL_INBOUND_MAX_BYTES"])
    if (request.content_length or 0) > limit:
        raise PayloadTooLarge(f"a message may be at most {limit} bytes")
    if request.mimetype != "message/rfc822":
        raise UnsupportedInbound("send the raw message with Content-Type: message/rfc822")
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"a message may be at most {limit} bytes")
    if not raw.strip():
        raise ServiceError("the message is empty")
    return raw


@routes.post("/inbound-mail")
@public
@limiter.limit(_inbound_limit)
@endpoint(
    "Receive an inbound email", response=InboundOut,
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
