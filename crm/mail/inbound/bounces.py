"""Bounces: RFC 3464 delivery status notifications and the non-standard ones.

A DSN (``multipart/report; report-type=delivery-status``) carries one block per recipient
with ``Final-Recipient`` / ``Original-Recipient``, ``Action`` and ``Status``; it is read
field by field. Many real bounces are plain text (qmail, Exim's and old Exchange's notices,
Yahoo's "failure notice"): those are recognised by their sender, subject and wording, and
their recipients and status codes are read from the text above the returned copy.

Recognising a text bounce takes two signals: a mail-system sender (MAILER-DAEMON,
postmaster, "Mail Delivery System", Exchange's system mailbox, even written without an
address) with a bounce subject or wording; a bounce subject with bounce wording; or a bounce
subject on a message with a null envelope sender. "Fwd:"/"Re:" subjects are a person passing
a bounce on, not the bounce. Amazon SES notifications (JSON) and mailing-list managers'
refusals of our post are bounces too.

Several recipients in one text (qmail, Postfix, Exim, GMX list them one after another) are
judged one by one and the worst decides; a DSN's recipient blocks likewise, each read with
the part of the human-readable text about that recipient. Hard or soft: ``bounce_reasons.py``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from crm.mail.inbound.bounce_reasons import HARD, SOFT, failure_wording, judge_failure, status_in
from crm.mail.inbound.decode import normalize_message_ids
from crm.mail.inbound.parse import ParsedMail

MAX_DIAGNOSTIC_CHARS = 20_000
MAX_RECIPIENTS = 20
MAX_NOTIFICATION_CHARS = 64_000  # an SES notification is a few KB of JSON

DELIVERED_ACTIONS = frozenset({"delivered", "relayed", "expanded"})

DAEMON_LOCAL_PARTS = frozenset({
    "mailer-daemon", "mailerdaemon", "mail-daemon", "maildaemon", "postmaster", "mdaemon",
    "bounce", "bounces", "mail.delivery.subsystem", "mail.delivery.system", "double-bounce",
})
# A mail system writing, in the whole From header (the address may be missing: "MAILER-DAEMON <>").
_DAEMON_FROM = re.compile(
    r"mailer[-_. ]?daemon|\bmail[-_. ]?daemon|post[-_.]?master|mail[-_. ]?delivery[-_. ]?(?:sub)?system|"
    r"mail delivery service|\bmdaemon\b|double-bounce|mail administrator|\bmail ?router|"
    r"microsoftexchange[0-9a-f]{32}",
    re.I,
)
# Exchange sends NDRs from its system mailbox "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@...".
_EXCHANGE_SYSTEM = re.compile(r"^microsoftexchange[0-9a-f]{32}$")
_BOUNCE_SUBJECT = re.compile(
    r"undeliver(?:able|ed)|mail delivery (?:failed|failure|problem|status|notification)|"
    r"delivery status notification|delivery notification|returned mail|return(?:ed|ing) to sender|"
    r"failure notice|delivery (?:failure|failed|delayed|has failed|problem|error|report)|mail failed|"
    r"non[- ]?deliver(?:y|able|ed)|could not send message|warning: could not send|could not be delivered|"
    r"delayed mail|message (?:not delivered|delivery has been delayed|you sent)|mail system error|"
    r"email bounce|bounced? (?:mail|message|notification)|failed delivery|errors from .*\[[\d.]+\]|"
    r"permanent (?:error|failure)|unzustellbar|nicht zustellbar|non remis|non distribuable|"
    r"no se (?:puede|pudo) entregar|no entregado|onbestelbaar|non recapitabile|n[aã]o entregue|"
    r"falha na entrega|erreur de distribution|fallo en la entrega|unable to deliver|mail failure|"
    r"エラー通知|配信エラー|送信エラー",
    re.I,
)
_FORWARD_OR_REPLY = re.compile(r"\s*(?:re|fwd?|aw|wg|tr|rv|enc|res|sv|vs|antw)\s*(?:\[\d+\])?\s*:", re.I)
_BOUNCE_BODY = re.compile(
    r"this is the qmail-send program|created automatically by mail delivery software|"
    r"i'm sorry to have to inform you that your message could not|"
    r"delivery has failed to these recipients or groups|your message (?:couldn't|could not|wasn't|was not|"
    r"did not|cannot) (?:be )?(?:delivered|reach)|the following addresses had permanent fatal errors|"
    r"could not be delivered|sorry, we were unable to deliver your message|"
    r"delivery to the following recipients? (?:failed|has been delayed)|failed recipient|"
    r"has not yet been delivered|could not send message for past|address not found|"
    r"undeliverable|undelivered|permanent (?:error|failure)|unable to deliver|failed to deliver|"
    r"smtp error from remote|remote (?:host|server|mta) (?:said|replied|returned)|host \S+ said:|"
    r"delivery status notification|was not delivered|were not delivered|not delivered to|"
    r"delivery (?:to|of) (?:the following|this message|your message)|the mail system|"
    r"mail delivery failed|returned mail|delivery failure|non-?delivery|"
    r"in reply to (?:end of )?(?:rcpt to|data|mail from)|\b[45]\.\d{1,3}\.\d{1,3}\b|did not reach|"
    r"送信できませんでした|配信できませんでした|届きませんでした",
    re.I,
)
# Where the returned copy of our message starts inside a text bounce.
_COPY_MARKER = re.compile(
    r"^-*\s*(?:below this line is a copy of the message|this is a copy of the message|"
    r"original message headers|the original message was received|undelivered message attached|"
    r"(?:-{3,}\s*)?original message)|^(?:return-path|received|dkim-signature):",
    re.I | re.M,
)
_RECIPIENT_PATTERNS = (
    re.compile(r"^\s*<([^<>\s]+@[^<>\s]+)>:", re.M),                       # qmail, Postfix, Yahoo
    re.compile(r"RCPT TO:\s*<([^<>\s]+@[^<>\s]+)>", re.I),                 # Exim, sendmail
    re.compile(r"(?:wasn't|was not|couldn't be|could not be) delivered to\s+<?([^<>\s]+@[^<>\s,]+?)>?[\s.,]", re.I),
    re.compile(r"following (?:address\(es\)|addresses|recipients?(?: or groups)?)[^:\n]*:\s*\n\s*<?"
               r"([^<>\s()]+@[^<>\s()]+?)>?[\s(]", re.I),
)
_LIST_MANAGER = re.compile(r"(?:^|[-_.])(?:admin|owner|bounces?|request)(?:$|[-_.])|^owner-")
_LIST_REFUSAL = re.compile(
    r"not (?:a )?member|are not member|non-?member|rejected|refused|not allowed to post|held for moderat|"
    r"moderator|loop alert|duplicated message-id|could not be delivered|undeliverable",
    re.I,
)
# The JSON may itself be a string inside SNS's envelope, its quotes escaped (\").
_SES_BOUNCE = re.compile(r'\\?"notificationType\\?"\s*:\s*\\?"Bounce\\?".*?\\?"bounceType\\?"\s*:\s*\\?"(\w+)\\?"'
                         r'\s*,\s*\\?"bounceSubType\\?"\s*:\s*\\?"(\w+)', re.S)
_SES_RECIPIENT = re.compile(r'\\?"emailAddress\\?"\s*:\s*\\?"([^"\\@\s]+@[^"\\\s]+)')
_RECIPIENT_LINE = re.compile(
    r"^[ \t]*[<\"]?([\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+)[>\"]?", re.M
)
_ANY_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")


@dataclass(frozen=True)
class Bounce:
    bounce_type: str | None
    recipients: tuple[str, ...]
    status: str | None
    original_message_id: str | None
    reasons: tuple[str, ...]
    delivered_only: bool = False


def is_dsn(parsed: ParsedMail) -> bool:
    return (parsed.content_type == "multipart/report" and parsed.report_type == "delivery-status") \
        or parsed.has_delivery_status_part


def read_dsn(parsed: ParsedMail, text: str, excluded: set[str]) -> Bounce:
    """Read an RFC 3464 report: one verdict from all per-recipient blocks."""
    failed: list[tuple[str, str | None, list[str], str]] = []  # (type, status, recipients, why)
    delivered = 0
    explanation = diagnostic_section(text)
    for block in parsed.delivery_status:
        recipients = _block_recipients(block)
        action = block.get("action", "").strip().lower()
        if not recipients and not action:
            continue  # the per-message block (Reporting-MTA, Arrival-Date)
        status = status_in(block.get("status", ""))
        if action in DELIVERED_ACTIONS or (status or "").startswith("2."):
            delivered += 1
            continue
        diagnostic = block.get("diagnostic-code", "")
        about = _explanation_for(recipients[0], explanation) if recipients else explanation
        kind, why = _vendor_category(block) or classify_failure(
            status, diagnostic, delayed=action == "delayed", fallback_text=about, fallback_permanent=False)
        failed.append((kind, status or status_in(diagnostic), recipients, why))
    original = _original_message_id(parsed, text)
    if not failed and delivered:
        return Bounce(None, (), None, original, ("RFC 3464 report: delivered, not a failure",), delivered_only=True)
    if not failed:  # a report without readable blocks: fall back to its text
        text_bounce = read_text_bounce(text, excluded, original_to=_returned_to(parsed))
        reasons = ("RFC 3464 report without per-recipient fields; read its text",) + text_bounce.reasons
        return Bounce(text_bounce.bounce_type, text_bounce.recipients, text_bounce.status, original, reasons)
    worst = HARD if any(f[0] == HARD for f in failed) else SOFT
    _kind, status, _addrs, why = next(f for f in failed if f[0] == worst)
    recipients = _unique(addr for f in failed for addr in f[2])
    reasons = (f"RFC 3464 delivery-status report: {worst} bounce ({why})",)
    return Bounce(worst, recipients, status, original, reasons)


def is_mail_system(from_header: str, sender: str) -> bool:
    """The From is a mail system (MAILER-DAEMON, postmaster, "Mail Delivery System",
    Exchange's system mailbox), even written without an address ("MAILER-DAEMON <>")."""
    local = sender.split("@", 1)[0].lower()
    return local in DAEMON_LOCAL_PARTS or bool(_EXCHANGE_SYSTEM.match(local)) or bool(_DAEMON_FROM.search(from_header))


def _vendor_category(block: dict[str, str]) -> tuple[str, str] | None:
    """A bounce category the reporting MTA states: PowerMTA's ``X-PowerMTA-BounceCategory``
    (bad-mailbox and bad-domain are about the address; quota, spam, policy... are not)."""
    category = block.get("x-powermta-bouncecategory", "").strip().lower()
    if not category:
        return None
    kind = HARD if category in ("bad-mailbox", "bad-domain") else SOFT
    return kind, f"PowerMTA bounce category {category}"


def looks_like_text_bounce(from_header: str, sender: str, subject: str, text: str, *,
                           null_return_path: bool = False) -> str | None:
    """Why this non-DSN message is a bounce, or None. Needs two signals: a mail-system
    sender with a bounce subject or wording; a bounce subject with bounce wording; or a
    bounce subject on a message with a null envelope sender (``Return-Path: <>``, RFC 5321
    §4.5.5: what every bounce is sent with)."""
    daemon = is_mail_system(from_header, sender) or (not sender and null_return_path)
    # "Fwd: Undeliverable: ..." is a person passing a bounce on, not the bounce itself
    subject_hit = bool(_BOUNCE_SUBJECT.search(subject or "")) and not _FORWARD_OR_REPLY.match(subject or "")
    body_hit = bool(_BOUNCE_BODY.search(text[:MAX_DIAGNOSTIC_CHARS])) \
        or (daemon and failure_wording(diagnostic_section(text)[:2000]) is not None)
    if daemon and (subject_hit or body_hit):
        return "sent by a mail system (MAILER-DAEMON/postmaster) with bounce wording"
    if subject_hit and body_hit:
        return "bounce subject and bounce wording (non-standard bounce)"
    if subject_hit and null_return_path:
        return "bounce subject with a null envelope sender (Return-Path: <>)"
    return None


def list_refusal(parsed: ParsedMail, sender: str, subject: str, text: str) -> str | None:
    """Why this is a mailing list's refusal of our message, or None: a list manager (fml's
    ``X-MLServer``, Mailman's ``-owner``/``-admin``/``-bounces`` addresses, ``List-*``
    headers) saying we are not a member, the post was rejected, held or looped. Our message
    did not reach the list: a soft bounce."""
    local = sender.split("@", 1)[0].lower()
    list_manager = parsed.has_header("X-MLServer") or parsed.has_header("X-ML-Name") \
        or bool(_LIST_MANAGER.search(local))
    if list_manager and _LIST_REFUSAL.search(f"{subject}\n{text[:3000]}"):
        return "a mailing list refused our message (not a member, rejected, held or looped)"
    return None


def read_ses_notification(text: str, excluded: set[str]) -> Bounce | None:
    """An Amazon SES bounce notification delivered by SNS as email (JSON in the body,
    ``"notificationType":"Bounce"``): hard for ``bounceType`` Permanent with the subtypes
    that mean the address is dead (General, NoEmail), else soft (AWS SES developer guide,
    "Amazon SES notification contents")."""
    text = (text or "")[:MAX_NOTIFICATION_CHARS]
    if "notificationType" not in text:
        return None
    found = _SES_BOUNCE.search(text)
    if found is None:
        return None
    bounce_type, subtype = found.group(1), found.group(2)
    hard = bounce_type == "Permanent" and subtype in ("General", "NoEmail")
    recipients = _unique(a.lower() for a in _SES_RECIPIENT.findall(text) if a.lower() not in excluded)
    status = status_in(text)
    kind = HARD if hard else SOFT
    why = f"Amazon SES bounce notification: {bounce_type}/{subtype} -> {kind}"
    return Bounce(kind, recipients, status, None, (why,))


def read_text_bounce(text: str, excluded: set[str], original_to: Iterable[str] = (), subject: str = "") -> Bounce:
    diagnostic = diagnostic_section(text)
    recipients = _text_recipients(diagnostic, excluded) or _unique(
        a.lower() for a in original_to if a.lower() not in excluded
    )
    # One explanation per recipient when the text lists several: the worst decides.
    chunks = [chunk for address, chunk in recipient_chunks(diagnostic) if address.lower() not in excluded]
    verdicts = [(status_in(chunk), *classify_failure(status_in(chunk), chunk, delayed=False,
                                                     fallback_text=f"{diagnostic}\n{subject}"))
                for chunk in chunks or [diagnostic]]
    status, kind, why = next((v for v in verdicts if v[1] == HARD), verdicts[0])
    return Bounce(kind, recipients, status or status_in(diagnostic), _message_id_in_copy(text),
                  (f"bounce text: {kind} ({why})",))


def recipient_chunks(diagnostic: str) -> list[tuple[str, str]]:
    """(address, the text about it) for each line that starts with an address, when the
    text has two or more (qmail and Postfix "<a@b>:", Exim's indented list)."""
    starts = []
    for match in _RECIPIENT_LINE.finditer(diagnostic):  # a repeated address continues its chunk
        if not starts or starts[-1].group(1).lower() != match.group(1).lower():
            starts.append(match)
    if len(starts) < 2:
        return []
    ends = [m.start() for m in starts[1:]] + [len(diagnostic)]
    return [(m.group(1), diagnostic[m.start(): end]) for m, end in zip(starts, ends)]


def _explanation_for(address: str, explanation: str) -> str:
    """The part of a DSN's human-readable text about one recipient, else all of it."""
    chunks = recipient_chunks(explanation)
    if not chunks:
        return explanation
    mine = [chunk for chunk_address, chunk in chunks if chunk_address.lower() == address]
    return "\n".join(mine) or explanation


def classify_failure(status: str | None, text: str, *, delayed: bool, fallback_text: str = "",
                     fallback_permanent: bool = True) -> tuple[str, str]:
    """(hard|soft, why) for one failure: the rules in ``bounce_reasons.py``."""
    failure = judge_failure(status, text, delayed=delayed, fallback_text=fallback_text,
                            fallback_permanent=fallback_permanent)
    return failure.kind, failure.why


def diagnostic_section(text: str) -> str:
    """The bounce's own explanation: the text above the returned copy of our message."""
    text = (text or "")[:MAX_DIAGNOSTIC_CHARS]
    marker = _COPY_MARKER.search(text)
    return text[: marker.start()] if marker and marker.start() > 0 else text


def _block_recipients(block: dict[str, str]) -> list[str]:
    """Original-Recipient first (the address we wrote to), then Final-Recipient (after any
    forwarding), each "address-type; address" (RFC 3464 §2.3.1-2.3.2)."""
    found = []
    for name in ("original-recipient", "final-recipient"):
        value = block.get(name, "")
        address = value.split(";", 1)[-1].strip().strip("<>").strip()
        if "@" in address:
            found.append(address.lower())
    return _unique(found)


def _text_recipients(diagnostic: str, excluded: set[str]) -> tuple[str, ...]:
    for pattern in _RECIPIENT_PATTERNS:
        found = [a.lower().rstrip(".") for a in pattern.findall(diagnostic)]
        found = [a for a in found if a not in excluded and not _is_daemon(a)]
        if found:
            return _unique(found)
    return _unique(a.lower() for a in _ANY_ADDRESS.findall(diagnostic)
                   if a.lower() not in excluded and not _is_daemon(a))


def _is_daemon(address: str) -> bool:
    return address.split("@", 1)[0].lower() in DAEMON_LOCAL_PARTS


def _original_message_id(parsed: ParsedMail, text: str) -> str | None:
    if parsed.returned_headers is not None:
        try:
            ids = normalize_message_ids(str(parsed.returned_headers.get("Message-ID", "")))
        except Exception:  # noqa: BLE001 - a mangled returned header is no reason to fail
            ids = []
        if ids:
            return ids[0]
    return _message_id_in_copy(text)


def _returned_to(parsed: ParsedMail) -> list[str]:
    if parsed.returned_headers is None:
        return []
    try:
        return _ANY_ADDRESS.findall(str(parsed.returned_headers.get("To", "")))
    except Exception:  # noqa: BLE001
        return []


def _message_id_in_copy(text: str) -> str | None:
    match = re.search(r"^Message-ID:\s*(<[^<>\s]+>)", text or "", re.I | re.M)
    return normalize_message_ids(match.group(1))[0] if match else None


def _unique(items) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return tuple(seen)[:MAX_RECIPIENTS]
