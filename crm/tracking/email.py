"""Tracking inside outgoing email (mail.outbound calls ``instrument_html`` / ``insert_links``
through ``crm.tracking.services`` when it renders and sends).

``instrument_html`` gives each email a random open-pixel token and each http(s) link its own
random click token; the destination stays in ``tracking_links`` and a token is all the URL
carries (no ``?url=`` parameter, so nothing to tamper with: an unknown token is a 404).
"""
from __future__ import annotations

import html as htmllib
import re
import secrets
import threading
from collections import OrderedDict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from crm.extensions import db
from crm.tracking.models import TrackingLink
from crm.tracking.origins import is_tracked_origin, origin_of

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,32}$")
HREF_RE = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
PIXEL_PATH_RE = re.compile(r"/t/o/[A-Za-z0-9_-]+\.gif")
BODY_END_RE = re.compile(r"</body\s*>", re.IGNORECASE)
STITCH_PARAM = "_pc"
STITCH_MAX_AGE = 30 * 24 * 3600


# --- click destinations remembered in the process (for database outages) ---------------------

class RecentDestinations:
    """The last ``size`` click destinations this process redirected to, token -> (url,
    contact_id), least recently used dropped first. Read only while the database cannot be
    reached, so a prospect clicking a link again (or a link a scanner or colleague clicked
    before) still lands where the email pointed: the stored URL is the only source of truth,
    this is its copy from the last successful click. Thread-safe: the web server's threads
    share one instance."""

    def __init__(self, size: int = 20_000):
        self.size = size
        self._items: OrderedDict[str, tuple[str, int | None]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, token: str, url: str, contact_id: int | None) -> None:
        with self._lock:
            self._items[token] = (url, contact_id)
            self._items.move_to_end(token)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def get(self, token: str) -> tuple[str, int | None] | None:
        with self._lock:
            found = self._items.get(token)
            if found is not None:
                self._items.move_to_end(token)
            return found

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


recent_destinations = RecentDestinations()


def new_token() -> str:
    return secrets.token_urlsafe(16)  # 22 characters, 128 bits


def is_trackable_url(url: str) -> bool:
    """Only absolute http(s) URLs with a host are ever rewritten or redirected to."""
    if not url or any(ch in url for ch in "\\\r\n\t\x00") or len(url) > 2048:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def instrument_html(html: str, *, outbound_email_id: int, contact_id: int | None,
                    links: list[dict] | None = None) -> str:
    """Return ``html`` with an open pixel appended and its links rewritten to
    ``/t/c/<token>`` redirects. The plain-text part is never rewritten. Links back into the
    app itself (unsubscribe, booking) are left alone: scanners must not "click" them for us.
    The new token rows are added to the session, or, when ``links`` is given, appended to it
    as plain rows for the caller to insert: the send tick builds a whole batch and writes
    its rows with one INSERT (an ORM object per link was a large part of building a message)."""
    if not html:
        return html
    base = _base_url()

    def rewrite(match: re.Match) -> str:
        url = htmllib.unescape(match.group(3)).strip()
        if not is_trackable_url(url) or url.startswith(base + "/"):
            return match.group(0)
        token = _new_link("click", outbound_email_id, contact_id, url, links)
        return f"{match.group(1)}{match.group(2)}{base}/t/c/{token}{match.group(2)}"

    rewritten = HREF_RE.sub(rewrite, html)
    pixel = _new_link("open", outbound_email_id, contact_id, None, links)
    img = (f'<img src="{base}/t/o/{pixel}.gif" width="1" height="1" alt="" '
           'style="display:block;width:1px;height:1px;border:0" />')
    if BODY_END_RE.search(rewritten):
        return BODY_END_RE.sub(lambda m: img + m.group(0), rewritten, count=1)
    return rewritten + img


def _new_link(kind: str, email_id: int, contact_id: int | None, url: str | None,
              links: list[dict] | None) -> str:
    row = {"token": new_token(), "kind": kind, "outbound_email_id": email_id, "contact_id": contact_id, "url": url}
    if links is None:
        db.session.add(TrackingLink(**row))
    else:
        links.append(row)
    return row["token"]


def insert_links(links: list[dict]) -> None:
    """Write rows collected by ``instrument_html(..., links=...)`` (one executemany)."""
    if links:
        db.session.execute(TrackingLink.__table__.insert(), links)


# --- visitor stitching through a tracked click ------------------------------------------------

def _stitch_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="tracking-stitch")


def stitch_token(contact_id: int) -> str:
    return _stitch_serializer().dumps(contact_id)


def contact_from_stitch_token(token: str | None) -> int | None:
    """The contact a signed ``_pc`` value names, or None when missing, forged or expired."""
    if not token or len(token) > 200:
        return None
    try:
        value = _stitch_serializer().loads(token, max_age=STITCH_MAX_AGE)
    except BadSignature:
        return None
    return value if isinstance(value, int) and value > 0 else None


def destination_to(url: str, contact_id: int | None) -> str:
    """The stored URL; on a tracked website it also carries a signed ``_pc`` the snippet
    reads to attach the visitor to the contact (never leaked to third-party sites)."""
    if contact_id is None or not is_tracked_origin(origin_of(url)):
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in query if k != STITCH_PARAM] + [(STITCH_PARAM, stitch_token(contact_id))]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
