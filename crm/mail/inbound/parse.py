"""Read a raw RFC 822 message into the few things the classifier looks at, never raising.

Inbound mail is hostile input: broken MIME, lying charsets, binary in headers, 50 MB
attachments, 100,000 tiny parts. So this module

1. bounds the work up front: only the first ``MAX_PARSE_BYTES`` are parsed and parsing stops
   at the ``MAX_BOUNDARY_LINES``-th MIME boundary (the stdlib parser costs ~0.3 ms per part
   under ``policy.default``, so 100,000 parts would take half a minute);
2. parses with ``email.policy.default`` and re-parses with ``compat32`` when that raises;
3. reads every header from its raw bytes when the policy cannot (the default policy raises
   ``IndexError`` on some malformed address and Message-ID headers), decoding RFC 2047 words
   and stray 8-bit bytes (UTF-8 first, then Windows-1252);
4. decodes bodies with the declared charset when Python knows it, else UTF-8, else
   Windows-1252, always with replacement, and reads at most ``MAX_BODY_BYTES`` of each.
"""
from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import Message
from email.policy import EmailPolicy
from email.utils import getaddresses

from crm.mail.inbound.decode import (
    MAX_BODY_BYTES,
    clean_text,
    decode_header_value,
    normalize_message_ids,
    payload_text,
)
from crm.mail.inbound.text import html_to_text, split_quoted, tidy

MAX_PARSE_BYTES = 4 * 1024 * 1024
MAX_BOUNDARY_LINES = 120
MAX_HEADER_CHARS = 16 * 1024
MAX_HEADERS = 1000
MAX_PARTS = 200
MAX_DEPTH = 12

# Report bodies are lists of header blocks, not MIME parts: never walk into them.
REPORT_BODY_TYPES = frozenset({
    "message/delivery-status", "message/global-delivery-status",
    "message/disposition-notification", "message/global-disposition-notification",
})
_BOUNDARY_LINE = re.compile(rb"^--", re.M)
_LEADING_BLANK_LINES = re.compile(rb"\A(?:[ \t]*\r?\n)+(?=[\w-]+:)")
_FOLD = re.compile(r"\r?\n[ \t]*")
_LOOSE_ADDRESS = re.compile(r"[^\s@<>(),;:\"]{1,64}@[^\s@<>(),;:\"]{1,255}")
_ADDR_SPEC = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")


@dataclass
class ParsedMail:
    """What the classifier reads: headers on demand, a plain-text body, report parts."""

    message: Message | None
    notes: list[str] = field(default_factory=list)
    content_type: str = "text/plain"
    report_type: str = ""
    plain: str | None = None
    html: str | None = None
    part_types: list[str] = field(default_factory=list)
    delivery_status: list[dict[str, str]] = field(default_factory=list)
    has_delivery_status_part: bool = False
    returned_headers: Message | None = None
    has_calendar: bool = False
    has_disposition_notification: bool = False
    _raw_headers: dict[str, list[str]] = field(default_factory=dict)
    defects: list[str] = field(default_factory=list)
    _texts: BodyTexts | None = None

    def header(self, name: str) -> str:
        """The first header of that name as decoded text ("" when absent)."""
        values = self._raw_headers.get(name.lower())
        if not values:
            return ""
        raw = values[0]
        use_policy = (
            self.message is not None
            and isinstance(self.message.policy, EmailPolicy)
            and len(raw) <= MAX_HEADER_CHARS
            and raw.isascii()  # 8-bit bytes: our UTF-8/1252 guess beats U+FFFD
            and "=?" not in raw  # encoded words: ours read "iso-8859-1" as Windows-1252
        )
        if use_policy:
            try:
                return clean_text(_FOLD.sub(" ", str(self.message.get(name)))).strip()
            except Exception:  # noqa: BLE001 - the policy raises on some malformed headers
                pass
        return decode_header_value(raw[:MAX_HEADER_CHARS])

    def headers(self, name: str) -> list[str]:
        return [decode_header_value(v[:MAX_HEADER_CHARS]) for v in self._raw_headers.get(name.lower(), [])]

    def has_header(self, name: str) -> bool:
        return name.lower() in self._raw_headers

    def address(self, name: str) -> tuple[str, str]:
        """(display name, address) of the first address in the header; ("", "") if none.

        Parsed from the raw value with the permissive ``getaddresses`` so a display name
        full of encoded words or commas cannot hide the address."""
        values = self._raw_headers.get(name.lower())
        if not values:
            return "", ""
        raw = _FOLD.sub(" ", values[0][:MAX_HEADER_CHARS])
        try:
            pairs = getaddresses([raw])
        except Exception:  # noqa: BLE001
            pairs = []
        for display, addr in pairs:
            if _LOOSE_ADDRESS.fullmatch(clean_text(addr).strip()):
                return decode_header_value(display).strip('"\' '), clean_text(addr).strip()
        found = _ADDR_SPEC.search(clean_text(raw))
        if found:
            return "", found.group(0)
        # "Mail Delivery Subsystem <MAILER-DAEMON>": no domain, still worth knowing
        bare = next((addr for _, addr in pairs if re.fullmatch(r"[\w.+-]{1,64}", addr)), "")
        return (decode_header_value(pairs[0][0]).strip('"\' ') if bare else ""), bare

    def addresses(self, name: str) -> list[str]:
        out = []
        for value in self._raw_headers.get(name.lower(), []):
            try:
                out.extend(addr for _, addr in getaddresses([_FOLD.sub(" ", value[:MAX_HEADER_CHARS])]) if "@" in addr)
            except Exception:  # noqa: BLE001
                out.extend(_ADDR_SPEC.findall(clean_text(value[:MAX_HEADER_CHARS])))
        return [clean_text(a).strip() for a in out]

    def message_ids(self, name: str) -> list[str]:
        values = self._raw_headers.get(name.lower(), [])
        return normalize_message_ids(" ".join(clean_text(v[:MAX_HEADER_CHARS]) for v in values))

    def texts(self) -> BodyTexts:
        """The body as plain text (the text/plain part, else the HTML part), in full and
        without the quoted history."""
        if self._texts is None:
            self._texts = _body_texts(self.plain, self.html)
        return self._texts


@dataclass(frozen=True)
class BodyTexts:
    full: str
    fresh: str
    had_quote: bool


def _body_texts(plain: str | None, html: str | None) -> BodyTexts:
    if plain and plain.strip():
        full = tidy(plain)
        fresh, had_quote = split_quoted(plain)
        return BodyTexts(full, fresh, had_quote)
    if html:
        converted = html_to_text(html)
        fresh, had_quote = split_quoted(converted.fresh)
        return BodyTexts(converted.full, fresh, had_quote or converted.had_quote)
    return BodyTexts("", "", False)


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse ``raw`` within the bounds above. Raises nothing for any bytes."""
    notes: list[str] = []
    raw = _bounded(raw, notes)
    if _LEADING_BLANK_LINES.match(raw):  # else the headers would be read as the body
        raw = _LEADING_BLANK_LINES.sub(b"", raw, count=1)
        notes.append("blank lines before the headers removed")
    try:
        parsed = _extract(email.message_from_bytes(raw, policy=email_policy.default), notes)
    except Exception as exc:  # noqa: BLE001 - retry with the forgiving legacy policy
        notes.append(f"policy.default failed ({type(exc).__name__}); parsed with compat32")
        parsed = _extract(email.message_from_bytes(raw, policy=email_policy.compat32), notes)
    return parsed


def _bounded(raw: bytes, notes: list[str]) -> bytes:
    if len(raw) > MAX_PARSE_BYTES:
        raw = raw[:MAX_PARSE_BYTES]
        notes.append(f"message cut to its first {MAX_PARSE_BYTES // (1024 * 1024)} MB")
    for count, match in enumerate(_BOUNDARY_LINE.finditer(raw), start=1):
        if count > MAX_BOUNDARY_LINES:
            notes.append(f"message cut after {MAX_BOUNDARY_LINES} MIME boundaries")
            return raw[: match.start()]
    return raw


def _extract(message: Message, notes: list[str]) -> ParsedMail:
    parsed = ParsedMail(message=message, notes=notes)
    for count, (name, value) in enumerate(message.raw_items()):
        if count >= MAX_HEADERS:
            notes.append(f"only the first {MAX_HEADERS} headers read")
            break
        parsed._raw_headers.setdefault(str(name).strip().lower(), []).append(str(value))
    parsed.content_type = content_type(message)
    parsed.report_type = _param(message, "report-type").lower()
    for part, attached in _walk(message, notes):
        _take_part(parsed, part, attached)
    return parsed


def _take_part(parsed: ParsedMail, part: Message, attached: bool) -> None:
    for defect in getattr(part, "defects", ())[:10]:
        note = f"malformed MIME: {type(defect).__name__}"
        if note not in parsed.defects:
            parsed.defects.append(note)
    ctype = content_type(part)
    parsed.part_types.append(ctype)
    # Reports and invitations count only in the message itself, not in one it forwards.
    if ctype in ("message/delivery-status", "message/global-delivery-status") and not attached:
        parsed.has_delivery_status_part = True
        parsed.delivery_status.extend(_report_blocks(part))
    elif ctype in ("message/disposition-notification", "message/global-disposition-notification") and not attached:
        parsed.has_disposition_notification = True
    elif ctype in ("text/calendar", "application/ics") and not attached and not _is_attachment(part):
        parsed.has_calendar = True
    elif ctype in ("message/rfc822", "message/global") and parsed.returned_headers is None:
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            parsed.returned_headers = inner[0]
    elif ctype in ("text/rfc822-headers", "text/global-headers") and parsed.returned_headers is None:
        parsed.returned_headers = email.message_from_string(
            payload_text(part)[:MAX_HEADER_CHARS * 4] + "\n\n", policy=email_policy.compat32
        )
    elif ctype.startswith("multipart/") and isinstance(part.get_payload(), str) and not attached:
        _salvage_broken_multipart(parsed, part.get_payload())
    elif ctype == "text/plain" and not attached and parsed.plain is None and not _is_attachment(part):
        parsed.plain = payload_text(part)
    elif ctype == "text/html" and not attached and parsed.html is None and not _is_attachment(part):
        parsed.html = payload_text(part)


def _salvage_broken_multipart(parsed: ParsedMail, body: str) -> None:
    """A multipart whose boundary never appears (a gateway rewrote it, or it was cut) leaves
    its parts as one string: split it at boundary-looking lines and read the text parts."""
    parsed.notes.append("multipart body without its boundary: parts recovered by hand")
    for chunk in re.split(r"(?m)^--\S*[ \t]*$", body[: MAX_BODY_BYTES * 2])[:MAX_PARTS]:
        chunk = chunk.lstrip("\r\n")
        if not re.match(r"(?i)content-", chunk):
            continue  # the preamble, or text that is not a part
        part = email.message_from_string(chunk, policy=email_policy.compat32)
        ctype = content_type(part)
        if ctype == "text/plain" and parsed.plain is None:
            parsed.plain = payload_text(part)
        elif ctype == "text/html" and parsed.html is None:
            parsed.html = payload_text(part)
    if parsed.plain is None and parsed.html is None:
        # no part survived at all (a report whose parts lost their headers): its text is
        # still the best evidence there is
        parsed.plain = clean_text(body[:MAX_BODY_BYTES])


def _walk(message: Message, notes: list[str]):
    """Depth-first over MIME parts, iteratively, at most MAX_PARTS parts and MAX_DEPTH deep.
    Yields (part, attached) where ``attached`` marks parts inside an attached message."""
    stack = [(message, 0, False)]
    seen = 0
    while stack:
        part, depth, attached = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            notes.append(f"only the first {MAX_PARTS} MIME parts read")
            return
        yield part, attached
        ctype = content_type(part)
        payload = part.get_payload() if ctype not in REPORT_BODY_TYPES else None
        if not isinstance(payload, list):
            continue
        if depth >= MAX_DEPTH:
            notes.append(f"MIME nesting deeper than {MAX_DEPTH} ignored")
            continue
        inside = attached or ctype.startswith("message/")
        stack.extend((child, depth + 1, inside) for child in reversed(payload) if isinstance(child, Message))


def content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # noqa: BLE001 - an unparsable Content-Type is text/plain (RFC 2045 §5.2)
        return "text/plain"


def _param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
    except Exception:  # noqa: BLE001
        return ""
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value)
        value = value[2]
    return str(value or "")


def _is_attachment(part: Message) -> bool:
    try:
        return part.get_content_disposition() == "attachment"
    except Exception:  # noqa: BLE001
        return False


def _report_blocks(part: Message) -> list[dict[str, str]]:
    """The header blocks of a delivery-status body: the per-message block, then one block
    per recipient. The parser usually hands them over as messages; when the part was
    mangled they arrive as text and are split on blank lines here."""
    payload = part.get_payload()
    blocks: list[dict[str, str]] = []
    if isinstance(payload, list):
        for block in payload[:MAX_PARTS]:
            if isinstance(block, Message):
                blocks.append({str(k).lower(): decode_header_value(str(v)[:MAX_HEADER_CHARS])
                               for k, v in block.raw_items()})
        return blocks
    text = payload_text(part)
    for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))[:MAX_PARTS]:
        fields: dict[str, str] = {}
        last = None
        for line in chunk.split("\n"):
            if line[:1] in (" ", "\t") and last:
                fields[last] += " " + line.strip()
            elif ":" in line:
                last, _, value = line.partition(":")
                last = last.strip().lower()
                fields[last] = value.strip()
        if fields:
            blocks.append(fields)
    return blocks
