"""Turn an outbox row into the ``EmailMessage`` that goes over SMTP.

Sequence emails carry the RFC 2369 / RFC 8058 unsubscribe headers (an https URL and a
mailto, plus ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``) and a visible link in
both parts. The HTML part goes through tracking (``instrument_html``) *before* the
unsubscribe link is added, so that link is never rewritten into a tracked redirect (link
scanners would otherwise register clicks on it). The plain-text part is never instrumented.
"""
from __future__ import annotations

import uuid
from email import charset as _charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr
from html import escape

from crm.mail.models import Mailbox, OutboundEmail
from crm.mail.unsubscribe import unsubscribe_mailto, unsubscribe_url

# The legacy (compat32) MIME classes build and flatten a message about four times faster
# than EmailMessage with the default policy, which matters at thousands of messages a tick.
# UTF-8 bodies as quoted-printable: readable in the raw source, 7-bit safe on any relay.
UTF8_QP = _charset.Charset("utf-8")
UTF8_QP.body_encoding = _charset.QP


class _WirePolicy(Compat32):
    """compat32 with CRLF line ends and a fast path for the common header: short, one line,
    ASCII. Such a header is written exactly as the ``Header`` folding algorithm would write
    it (there is nothing to fold or encode), without running that algorithm: it was a third
    of the cost of flattening a message. Anything else takes compat32's own path."""

    def fold_binary(self, name, value):
        if (isinstance(value, str) and value.isascii() and "\n" not in value and "\r" not in value
                and value == value.strip() and len(name) + 2 + len(value) <= (self.max_line_length or 78)):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


WIRE_POLICY = _WirePolicy(linesep="\r\n")


def build_message(email: OutboundEmail, mailbox: Mailbox, now) -> Message:
    text, html = email.text_body, email.html_body
    if html:
        html = _instrument(html, email)
    list_headers = {}
    if email.kind == "sequence":
        url = unsubscribe_url(email.id)
        mailto = unsubscribe_mailto(email.id, mailbox.domain)
        list_headers = {"List-Unsubscribe": f"<{url}>, <mailto:{mailto}?subject=unsubscribe>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        text = f"{text.rstrip()}\n\n--\nUnsubscribe: {url}\n"
        if html:
            html = _append_html_footer(html, url)
    if html:
        message: Message = MIMEMultipart("alternative", boundary=_boundary())
        message.attach(MIMEText(text, "plain", UTF8_QP))
        message.attach(MIMEText(html, "html", UTF8_QP))
    else:
        message = MIMEText(text, "plain", UTF8_QP)
    message["From"] = formataddr((mailbox.display_name or "", mailbox.from_address), charset="utf-8")
    message["To"] = _header(email.to_address)
    message["Subject"] = _header(email.subject)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = email.message_id
    if email.in_reply_to:
        message["In-Reply-To"] = email.in_reply_to
    references = email.references or email.in_reply_to
    if references:
        message["References"] = references
    for name, value in list_headers.items():
        message[name] = value
    return message


def _boundary() -> str:
    """A random MIME boundary chosen here: left to the generator, it compiles a new regular
    expression per message to check the boundary against the body, a quarter of the cost
    of flattening. No check is needed: "=_" never occurs in quoted-printable output (a
    literal "=" is written "=3D"), and both parts are quoted-printable."""
    return f"=_{uuid.uuid4().hex}"


def to_wire(message: Message) -> bytes:
    """The message as sent: CRLF line ends, long headers folded."""
    return message.as_bytes(policy=WIRE_POLICY)


def _header(value: str):
    return value if value.isascii() else Header(value, "utf-8")


def _instrument(html: str, email: OutboundEmail) -> str:
    from crm.tracking.email import instrument_html

    return instrument_html(html, outbound_email_id=email.id, contact_id=email.contact_id)


def _append_html_footer(html: str, url: str) -> str:
    footer = (f'<p class="unsubscribe"><small><a href="{escape(url, quote=True)}">'
              "Unsubscribe</a> from these emails.</small></p>")
    lower = html.lower()
    cut = lower.rfind("</body>")
    if cut == -1:
        return f"{html}\n{footer}"
    return f"{html[:cut]}{footer}\n{html[cut:]}"
