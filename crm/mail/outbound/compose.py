"""Turn an outbox row into the bytes that go over SMTP.

Sequence emails carry the RFC 2369 / RFC 8058 unsubscribe headers (an https URL and a
mailto, plus ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``) and a visible link in
both parts. The HTML part goes through tracking (``instrument_html``) *before* the
unsubscribe link is added, so that link is never rewritten into a tracked redirect (link
scanners would otherwise register clicks on it). The plain-text part is never instrumented.

Why the message is written here and not by ``email.mime`` + ``Generator``: the outbox sends
one shape only (a UTF-8 text part, or text and HTML as ``multipart/alternative``, both
quoted-printable), and building that with the MIME classes and flattening it cost more than
sending it to a local relay. ``write_mime`` writes the same bytes the email package's
compat32 generator writes for that shape (a test compares them byte for byte over random
content); the pieces that need real work still come from the library: quoted-printable from
``email.quoprimime``, RFC 2047 encoding and folding from ``email.header`` (through
``WIRE_POLICY``), addresses from ``email.utils``.
"""
from __future__ import annotations

import uuid
from email import policy, quoprimime
from email.header import Header
from email.message import EmailMessage
from email.policy import Compat32
from email.utils import format_datetime, formataddr
from html import escape

from sqlalchemy import select
from sqlalchemy.orm import aliased

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.extensions import db
from crm.i18n import _, force_language, language_for_contact, normalize_language
from crm.mail.models import Mailbox, OutboundEmail
from crm.mail.outbound import dkim
from crm.mail.transport import ascii_domain, needs_smtputf8
from crm.mail.unsubscribe import make_token, unsubscribe_mailto, unsubscribe_url
from crm.tracking.services import instrument_html

CRLF = "\r\n"
MAX_LINE = 78


class _WirePolicy(Compat32):
    """compat32 with CRLF line ends and a fast path for the common header: short, one line,
    ASCII. Such a header is written exactly as the ``Header`` folding algorithm would write
    it (there is nothing to fold or encode), without running that algorithm. Anything else
    takes compat32's own path."""

    def fold_binary(self, name, value):
        if (isinstance(value, str) and value.isascii() and "\n" not in value and "\r" not in value
                and value == value.strip() and len(name) + 2 + len(value) <= (self.max_line_length or MAX_LINE)):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


WIRE_POLICY = _WirePolicy(linesep=CRLF)


_TRACK = object()


def tracked_html(email: OutboundEmail, links: list | None = None) -> str | None:
    """The HTML body with tracking (links rewritten to tracked ones, the open pixel), None for
    a text-only email. The new link rows go to ``links`` when given, else to the session."""
    return _instrument(_normalise(email.html_body), email, links) if email.html_body else None


def build_wire(email: OutboundEmail, mailbox: Mailbox, now, *, links: list | None = None, html=_TRACK,
               language: str | None = None) -> bytes:
    """The message as sent (CRLF line ends, long headers folded, DKIM-signed when configured). ``html``: what
    ``tracked_html`` gave when the caller tracked the body already (the send tick does it for
    a whole batch first, so the batch's link rows are stored before any message leaves);
    else it is tracked here, its link rows going to ``links`` or the session."""
    if email.kind == "invite":
        return dkim.sign(invite_wire(email, mailbox, now))
    text = _normalise(email.text_body)
    if html is _TRACK:
        html = tracked_html(email, links)
    list_headers = []
    if email.kind == "sequence":
        token = make_token(email.id)
        url = unsubscribe_url(email.id, token=token)
        mailto = unsubscribe_mailto(email.id, mailbox.domain, token=token)
        list_headers = [("List-Unsubscribe", f"<{url}>, <mailto:{mailto}?subject=unsubscribe>"),
                        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
        with force_language(language or _reader_language(email)):
            footer = _("Unsubscribe: %(url)s", url=url)
            text = f"{text.rstrip()}\n\n--\n{footer}\n"
            if html:
                html = _append_html_footer(html, url)
    headers = [
        ("From", formataddr((mailbox.display_name or "", mailbox.from_address), charset="utf-8")),
        ("To", _address_header(email.to_address)),
        ("Subject", _header(email.subject)),
        ("Date", format_datetime(now)),
        ("Message-ID", email.message_id),
    ]
    if email.in_reply_to:
        headers.append(("In-Reply-To", email.in_reply_to))
    references = email.references or email.in_reply_to
    if references:
        headers.append(("References", references))
    headers.extend(list_headers)
    return dkim.sign(write_mime(headers, text, html, boundary=_boundary() if html else None))


def invite_wire(email, mailbox: Mailbox, now) -> bytes:
    """A meeting invite as calendar clients expect it (RFC 6047): ``multipart/mixed`` holding
    ``multipart/alternative`` (the text, and the iCalendar object as ``text/calendar;
    method=...``) and the same object as an ``invite.ics`` attachment for clients that only
    look at attachments. Rare enough to be built by the email package itself."""
    international = needs_smtputf8(email.to_address)
    wire_policy = (policy.SMTPUTF8 if international else policy.SMTP).clone(max_line_length=MAX_LINE)
    message = EmailMessage(policy=wire_policy)
    message["From"] = formataddr((mailbox.display_name or "", mailbox.from_address), charset="utf-8")
    message["To"] = email.to_address if international else ascii_domain(email.to_address)
    message["Subject"] = email.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = email.message_id
    message.set_content(_normalise(email.text_body))
    message.add_alternative(email.calendar_ics, subtype="calendar", params={"method": email.calendar_method})
    message.add_attachment(email.calendar_ics.encode("utf-8"), maintype="application", subtype="ics",
                           filename="invite.ics")
    return message.as_bytes(policy=wire_policy)


def write_mime(headers: list[tuple[str, object]], text: str, html: str | None, *, boundary: str | None) -> bytes:
    """A UTF-8 quoted-printable text part, or ``multipart/alternative`` with text and HTML,
    byte for byte as compat32's generator writes it with ``WIRE_POLICY``. Bodies use "\\n"
    line ends (see ``_normalise``)."""
    out = []
    if html is None:
        out.append(_PART_HEADERS.format(subtype="plain"))
        out.extend(_fold(name, value) for name, value in headers)
        out.append(CRLF)
        out.append(_qp(text))
    else:
        out.append(_fold("Content-Type", f'multipart/alternative; boundary="{boundary}"'))
        out.append(f"MIME-Version: 1.0{CRLF}")
        out.extend(_fold(name, value) for name, value in headers)
        out.append(f"{CRLF}--{boundary}{CRLF}")
        out.append(_PART_HEADERS.format(subtype="plain") + CRLF + _qp(text))
        out.append(f"{CRLF}--{boundary}{CRLF}")
        out.append(_PART_HEADERS.format(subtype="html") + CRLF + _qp(html))
        out.append(f"{CRLF}--{boundary}--{CRLF}")
    # UTF-8 only ever matters for a raw international address (``_Utf8Address``): all the
    # rest is ASCII by construction (quoted-printable bodies, encoded headers).
    return "".join(out).encode("utf-8")


_PART_HEADERS = ('Content-Type: text/{subtype}; charset="utf-8"' + CRLF + "MIME-Version: 1.0" + CRLF
                 + "Content-Transfer-Encoding: quoted-printable" + CRLF)


def _qp(body: str) -> str:
    """What ``Charset('utf-8')`` with QP body encoding does (UTF-8 bytes, each as a latin-1
    character, through ``quoprimime``), with CRLF line ends as the generator writes them."""
    if not body:
        return body
    return quoprimime.body_encode(body.encode("utf-8").decode("latin-1"), eol=CRLF)


def _fold(name: str, value) -> str:
    if isinstance(value, _Utf8Address):
        return f"{name}: {value}{CRLF}"
    if name == "Content-Type" and len(name) + 2 + len(value) > MAX_LINE and value.count("; ") == 1:
        # Our multipart type with its long random boundary: folded where compat32 folds it.
        kind, _, parameter = value.partition("; ")
        return f"{name}: {kind};{CRLF} {parameter}{CRLF}"
    if name == "List-Unsubscribe" and isinstance(value, str) and len(name) + 2 + len(value) > MAX_LINE:
        # Two addresses: fold after the comma (RFC 5322 folding white space), which is
        # what a reader unfolds back to the same value, without the general algorithm.
        first, sep, rest = value.partition(", ")
        if sep and value.isascii():
            return f"{name}: {first},{CRLF} {rest}{CRLF}"
    return WIRE_POLICY.fold_binary(name, value).decode("ascii")


def _normalise(body: str | None) -> str:
    """One line end ("\\n") in bodies, as the generator would make of any of them."""
    if not body:
        return body or ""
    return body.replace("\r\n", "\n").replace("\r", "\n")


def _boundary() -> str:
    """A random MIME boundary. No check against the bodies is needed: "=_" never occurs in
    quoted-printable output (a literal "=" is written "=3D"), and both parts are QP."""
    return f"=_{uuid.uuid4().hex}"


class _Utf8Address(str):
    """An address with a non-ASCII local part: written raw in UTF-8 (RFC 6532), which only an
    SMTPUTF8 transaction may carry; RFC 2047 encoded words are not allowed in an address."""


def _address_header(address: str):
    if needs_smtputf8(address):
        return _Utf8Address(address)
    return ascii_domain(address)


def _header(value: str):
    return value if value.isascii() else Header(value, "utf-8")


def _instrument(html: str, email: OutboundEmail, links: list | None) -> str:
    return instrument_html(html, outbound_email_id=email.id, contact_id=email.contact_id, links=links)


def reader_languages(emails: list) -> dict[int, str]:
    """The footer language of each email of a send batch, in one query (the send tick must
    not query per message): the contact's, else the contact's owner's, else the sender's."""
    contact_ids = {e.contact_id for e in emails if e.contact_id}
    user_ids = {e.user_id for e in emails if e.user_id}
    owner = aliased(User)
    contacts = {row.id: normalize_language(row.language) or normalize_language(row.owner_language)
                for row in db.session.execute(
                    select(Contact.id, Contact.language, owner.language.label("owner_language"))
                    .outerjoin(owner, owner.id == Contact.owner_id).where(Contact.id.in_(contact_ids)))
                } if contact_ids else {}
    senders = dict(db.session.execute(select(User.id, User.language).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    return {e.id: contacts.get(e.contact_id) or normalize_language(senders.get(e.user_id)) or "en" for e in emails}


def _reader_language(email: OutboundEmail) -> str:
    """The footer speaks the contact's language (else their owner's, else the sender's)."""
    contact = db.session.get(Contact, email.contact_id) if email.contact_id else None
    if contact is not None:
        return language_for_contact(contact)
    sender = db.session.get(User, email.user_id) if email.user_id else None
    return getattr(sender, "language", None) or "en"


def _append_html_footer(html: str, url: str) -> str:
    link = _('<a href="%(url)s">Unsubscribe</a> from these emails.', url=escape(url, quote=True))
    footer = f'<p class="unsubscribe"><small>{link}</small></p>'
    lower = html.lower()
    cut = lower.rfind("</body>")
    if cut == -1:
        return f"{html}\n{footer}"
    return f"{html[:cut]}{footer}\n{html[cut:]}"
