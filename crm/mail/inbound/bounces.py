"""Bounces: RFC 3464 delivery status notifications and the non-standard ones.

A DSN (``multipart/report; report-type=delivery-status``) carries one block per recipient
with ``Final-Recipient`` / ``Original-Recipient``, ``Action`` and ``Status``; it is read
field by field. Many real bounces are plain text (qmail, Exim's and old Exchange's notices,
Yahoo's "failure notice"): those are recognised by their sender, subject and wording, and
their recipients and status codes are read from the text above the returned copy.

Hard or soft, in order (first rule that applies):

1. enhanced status X.2.2 (mailbox full), X.4.7 (delivery time expired) and X.7.x
   (policy or security refusal) are soft even in class 5: none of them says the address
   is wrong (RFC 3463 calls mailbox full a "persistent transient" condition; X.7.x is a
   refusal of *our* message, often our sending IP), and a soft bounce still stops the
   sequence after three strikes;
2. "mailbox full" / "over quota" wording is soft (Yahoo answers it with a 552);
3. the enhanced status class: 5.x.x hard, 4.x.x soft (RFC 3463); ``Action: delayed`` soft;
4. the basic SMTP reply code: 5xx hard, 4xx soft (RFC 5321 §4.2.1);
5. wording: "user unknown", "does not exist", "no such user"... hard; "try again later",
   "temporarily", "delayed"... soft;
6. nothing to go on: soft, so an address is only marked invalid on evidence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from crm.mail.inbound.decode import normalize_message_ids
from crm.mail.inbound.parse import ParsedMail

MAX_DIAGNOSTIC_CHARS = 20_000
MAX_RECIPIENTS = 20

HARD, SOFT = "hard", "soft"
FAILED_ACTIONS = frozenset({"failed", "delayed"})
DELIVERED_ACTIONS = frozenset({"delivered", "relayed", "expanded"})

DAEMON_LOCAL_PARTS = frozenset({
    "mailer-daemon", "mailerdaemon", "mail-daemon", "maildaemon", "postmaster", "mdaemon",
    "bounce", "bounces", "mail.delivery.subsystem",
})
_DAEMON_DISPLAY = re.compile(r"mail ?delivery (?:sub)?system|mail delivery service|mailer-daemon|postmaster", re.I)
# Exchange sends NDRs from its system mailbox "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@...".
_EXCHANGE_SYSTEM = re.compile(r"^microsoftexchange[0-9a-f]{32}$")
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliver(?:able|ed)|undelivered mail returned to sender|mail delivery failed|"
    r"delivery status notification \((?:failure|delay)\)|returned mail|failure notice|"
    r"delivery (?:failure|failed|delayed|has failed)|(?:mail |message )?delivery failure|"
    r"non[- ]?deliver(?:y|able)|nondeliverable|could not send message|warning: could not send|"
    r"delayed mail|delivery delayed|message (?:not delivered|delivery has been delayed)|"
    r"mail system error|unzustellbar|nicht zustellbar|non remis|non distribuable|"
    r"no se puede entregar|no entregado|onbestelbaar|non recapitabile|não entregue)",
    re.I,
)
_BOUNCE_BODY = re.compile(
    r"this is the qmail-send program|created automatically by mail delivery software|"
    r"i'm sorry to have to inform you that your message could not|"
    r"delivery has failed to these recipients or groups|your message (?:couldn't|could not|wasn't|was not) "
    r"(?:be )?delivered|the following addresses had permanent fatal errors|"
    r"could not be delivered to one or more|sorry, we were unable to deliver your message|"
    r"message could not be delivered|delivery to the following recipients? (?:failed|has been delayed)|"
    r"has not yet been delivered|could not send message for past|address not found|"
    r"undeliverable|permanent (?:error|failure)|unable to deliver",
    re.I,
)
# Where the returned copy of our message starts inside a text bounce.
_COPY_MARKER = re.compile(
    r"^-*\s*(?:below this line is a copy of the message|this is a copy of the message|"
    r"original message headers|the original message was received|undelivered message attached|"
    r"(?:-{3,}\s*)?original message)|^(?:return-path|received|dkim-signature):",
    re.I | re.M,
)
_ENHANCED_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
_SMTP_CODE = re.compile(r"(?<![\d.#-])([45][0-5]\d)(?=[ -]|$)", re.M)
_MAILBOX_FULL = re.compile(
    r"mailbox (?:is )?full|over (?:the )?quota|quota exceeded|exceeded (?:its|their|the) "
    r"(?:storage|quota)|insufficient (?:system )?storage|mailbox has exceeded",
    re.I,
)
_HARD_WORDS = re.compile(
    r"user unknown|unknown user|no such (?:user|mailbox|recipient)|does ?n[o']t exist|"
    r"address not found|(?:couldn't|could not|can't|cannot) be found|invalid (?:recipient|address|mailbox)|"
    r"recipient (?:address )?rejected|mailbox (?:unavailable|not found|does not exist)|"
    r"account (?:has been )?(?:disabled|deactivated|closed|suspended)|unrouteable|"
    r"does not like recipient|bad destination|no mailbox here|not a valid|doesn't have a \S+ account",
    re.I,
)
_SOFT_WORDS = re.compile(
    r"try again later|temporar(?:y|ily)|will (?:be )?retr(?:y|ied)|still (?:trying|being retried)|"
    r"delayed|greylist|not yet been delivered|could not send message for past",
    re.I,
)
_RECIPIENT_PATTERNS = (
    re.compile(r"^\s*<([^<>\s]+@[^<>\s]+)>:", re.M),                       # qmail, Postfix, Yahoo
    re.compile(r"RCPT TO:\s*<([^<>\s]+@[^<>\s]+)>", re.I),                 # Exim, sendmail
    re.compile(r"(?:wasn't|was not|couldn't be|could not be) delivered to\s+<?([^<>\s]+@[^<>\s,]+?)>?[\s.,]", re.I),
    re.compile(r"following (?:address\(es\)|addresses|recipients?(?: or groups)?)[^:\n]*:\s*\n\s*<?"
               r"([^<>\s()]+@[^<>\s()]+?)>?[\s(]", re.I),
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
    for block in parsed.delivery_status:
        recipients = _block_recipients(block)
        action = block.get("action", "").strip().lower()
        if not recipients and not action:
            continue  # the per-message block (Reporting-MTA, Arrival-Date)
        if action in DELIVERED_ACTIONS:
            delivered += 1
            continue
        status = _status_in(block.get("status", ""))
        diagnostic = block.get("diagnostic-code", "")
        kind, why = classify_failure(status, diagnostic, delayed=action == "delayed")
        failed.append((kind, status or _status_in(diagnostic), recipients, why))
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


def looks_like_text_bounce(sender: str, display_name: str, subject: str, text: str) -> str | None:
    """Why this non-DSN message is a bounce, or None. Needs two signals: a mailer-daemon
    sender with a bounce subject or wording, or a bounce subject with bounce wording."""
    local = sender.split("@", 1)[0].lower()
    daemon = local in DAEMON_LOCAL_PARTS or bool(_EXCHANGE_SYSTEM.match(local)) \
        or bool(_DAEMON_DISPLAY.search(display_name or ""))
    subject_hit = bool(_BOUNCE_SUBJECT.match(subject or ""))
    body_hit = bool(_BOUNCE_BODY.search(text[:MAX_DIAGNOSTIC_CHARS]))
    if daemon and (subject_hit or body_hit):
        return "sent by a mail system (MAILER-DAEMON/postmaster) with bounce wording"
    if subject_hit and body_hit:
        return "bounce subject and bounce wording (non-standard bounce)"
    return None


def read_text_bounce(text: str, excluded: set[str], original_to: Iterable[str] = ()) -> Bounce:
    diagnostic = diagnostic_section(text)
    recipients = _text_recipients(diagnostic, excluded) or _unique(
        a.lower() for a in original_to if a.lower() not in excluded
    )
    status = _status_in(diagnostic)
    kind, why = classify_failure(status, diagnostic, delayed=False)
    return Bounce(kind, recipients, status, _message_id_in_copy(text), (f"bounce text: {kind} ({why})",))


def classify_failure(status: str | None, text: str, *, delayed: bool) -> tuple[str, str]:
    """(hard|soft, why) for one failure: the ordered rules in the module docstring."""
    status = status or _status_in(text)
    if status:
        _cls, subject, detail = status.split(".")
        if (subject, detail) in (("2", "2"), ("4", "7")) or subject == "7":
            return SOFT, f"status {status}: mailbox full, expired or policy refusal"
    if _MAILBOX_FULL.search(text or ""):
        return SOFT, "mailbox full"
    if delayed:
        return SOFT, "action delayed"
    if status:
        return (HARD if status[0] == "5" else SOFT), f"status {status}"
    code = _SMTP_CODE.search(text or "")
    if code:
        return (HARD if code.group(1)[0] == "5" else SOFT), f"SMTP reply {code.group(1)}"
    if _HARD_WORDS.search(text or ""):
        return HARD, "permanent failure wording"
    if _SOFT_WORDS.search(text or ""):
        return SOFT, "temporary failure wording"
    return SOFT, "no code or wording to go on"


def diagnostic_section(text: str) -> str:
    """The bounce's own explanation: the text above the returned copy of our message."""
    text = (text or "")[:MAX_DIAGNOSTIC_CHARS]
    marker = _COPY_MARKER.search(text)
    return text[: marker.start()] if marker and marker.start() > 0 else text


def _status_in(text: str) -> str | None:
    match = _ENHANCED_STATUS.search(text or "")
    return ".".join(match.groups()) if match else None


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
