"""Bytes to text for inbound mail: charsets that lie, RFC 2047 headers, stray 8-bit bytes,
transfer encodings. Everything here returns text and never raises on bad input."""
from __future__ import annotations

import codecs
import re
from email.header import decode_header
from email.message import Message

MAX_BODY_BYTES = 200 * 1024
MAX_IDS = 100

# Charset labels that promise nothing: guess UTF-8, then Windows-1252.
_UNDECLARED = frozenset({"", "us-ascii", "ascii", "unknown-8bit", "unknown", "x-unknown", "default"})
# Mail that says Latin-1 is nearly always Windows-1252 (the WHATWG encoding standard maps it so).
_CP1252_ALIASES = frozenset({"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "cp819"})
_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MSG_ID = re.compile(r"<[^<>\s]{1,250}>")
_FOLD = re.compile(r"\r?\n[ \t]*")


def clean_text(text: str) -> str:
    """Turn stray surrogate-escaped bytes back into characters and drop control characters,
    C1 included (PostgreSQL refuses NUL in text, and logs should not carry terminal escapes)."""
    if not text:
        return ""
    if _SURROGATES.search(text):
        try:
            text = decode_bytes(text.encode("utf-8", "surrogateescape"), None)
        except UnicodeEncodeError:  # a lone surrogate that was never a byte
            text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL_CHARS.sub("", text)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset if Python knows it, else UTF-8, else Windows-1252."""
    label = (charset or "").strip().strip('"').lower()
    if label in _CP1252_ALIASES:
        return data.decode("cp1252", "replace")
    if label not in _UNDECLARED:
        try:
            return data.decode(codecs.lookup(label).name, "replace")
        except (LookupError, ValueError):  # unknown label, or a non-text codec
            pass
    try:
        # incremental, so a multi-byte character cut by MAX_BODY_BYTES is dropped, not fatal
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def decode_header_value(raw: str) -> str:
    """Decode a raw header value: unfold, decode RFC 2047 words, recover 8-bit bytes."""
    value = clean_text(_FOLD.sub(" ", raw or ""))
    if "=?" not in value:
        return clean_text(value).strip()
    try:
        chunks = decode_header(value)
    except Exception:  # noqa: BLE001 - a malformed encoded word keeps the raw text
        return clean_text(value).strip()
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:  # decode_header returns unencoded runs this way
            out.append(chunk.decode("raw-unicode-escape", "replace"))
        else:
            out.append(decode_bytes(chunk, charset))
    return clean_text("".join(out)).strip()


def normalize_message_ids(value: str) -> list[str]:
    """Message-IDs in angle brackets, in order, without duplicates; bare tokens with an @
    are accepted from clients that forget the brackets."""
    ids = _MSG_ID.findall(value or "")
    if not ids:
        ids = [f"<{tok.strip('<>')}>" for tok in (value or "").split() if "@" in tok]
    seen: dict[str, None] = {}
    for msg_id in ids:
        seen.setdefault(msg_id, None)
    return list(seen)[:MAX_IDS]


def payload_text(part: Message) -> str:
    """The part's body as text: transfer-decoded, charset-decoded, at most MAX_BODY_BYTES."""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - undecodable transfer encoding: read it raw
        data = None
    if data is None:
        raw = part.get_payload()
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001 - a mangled Content-Type: guess the charset
        charset = None
    return clean_text(decode_bytes(data[:MAX_BODY_BYTES], charset))
