"""Website tracking: page views from the snippet, form capture, and visitor-to-contact stitching.

A visitor is anonymous (a random first-party id the snippet keeps) until they arrive through a
tracked email link (a signed ``_pc`` parameter) or submit a form with an email address; at that
moment every earlier anonymous page view is attached to the contact and lands on the timeline
(one ``page_viewed`` activity per view, at the time it happened).

Batches (``collect``): each item is checked on its own; good ones are stored, bad ones come
back in ``results`` with status 400 and a reason. The overall answer is 200 when at least one
item was stored and 400 when none was (or the envelope itself is malformed).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import crm.contacts.services as contacts
from crm.contacts.models import Contact
from crm.errors import ServiceError, ValidationFailed
from crm.i18n import _ as gettext
from crm.i18n import browser_language
from crm.signals import lead_captured
from crm.tracking.events import RequestFacts, store_event
from crm.tracking.inbox import accept_views
from crm.tracking.models import TrackingEvent
from crm.tracking.origins import origin_of
from crm.tracking.visitors import find_or_create_visitor, identify, page_path

VISITOR_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_BATCH = 50
MAX_BODY_BYTES = 64 * 1024
FORM_FIELDS = ("email", "first_name", "last_name", "title", "phone")
HONEYPOT_FIELDS = ("_hp", "hp", "website_url_confirm")


class BadPayload(ServiceError):
    status = 400


@dataclass
class BatchResult:
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(1 for r in self.results if r["status"] == 201)

    @property
    def status(self) -> int:
        return 200 if self.accepted else 400

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"accepted": self.accepted, "rejected": len(self.results) - self.accepted,
                                "results": self.results}
        if not self.accepted:  # the usual error shape too, so every 400 reads the same
            body["error"] = {"code": "bad_request", "message": "no event was valid", "fields": {
                f"events.{r['index']}": r["error"] for r in self.results if r["status"] != 201}}
        return body


def parse_json_body(raw: bytes) -> dict[str, Any]:
    """A JSON object from a beacon (sent as text/plain to avoid a CORS preflight)."""
    if len(raw) > MAX_BODY_BYTES:
        raise BadPayload(gettext("at most %(MAX_BODY_BYTES)s bytes", MAX_BODY_BYTES=MAX_BODY_BYTES))
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadPayload(gettext("malformed JSON")) from None
    if not isinstance(data, dict):
        raise BadPayload(gettext("send a JSON object"))
    return data


def _clean_text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(gettext("must be text"))
    text = "".join(ch for ch in value if ch >= " " or ch == "\t").strip()
    return text[:limit] or None


def _page_url(value: Any, origin: str | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(gettext("url: required"))
    url = value.strip()
    if len(url) > 2048:
        raise ValueError(gettext("url: at most 2048 characters"))
    url_origin = origin_of(url)
    if url_origin is None:
        raise ValueError(gettext("url: not an http(s) URL"))
    if origin is not None and url_origin != origin:
        raise ValueError(gettext("url: not on the site that sent it"))
    return url


# --- visitors ---------------------------------------------------------------------------------

def visitor_key(value: Any) -> str:
    if not isinstance(value, str) or not VISITOR_RE.match(value):
        raise BadPayload(gettext("visitor: 16-64 letters, digits, - or _"), {"visitor": "invalid"})
    return value


# --- page views -------------------------------------------------------------------------------

def collect(data: dict[str, Any], *, origin: str | None, request: RequestFacts, now: datetime) -> BatchResult:
    """Validate a batch of page views of one visitor and queue the good ones (see
    ``crm.tracking.inbox``). Flushes.

    :raises BadPayload: the envelope (visitor id, events list) is unusable
    """
    key = visitor_key(data.get("visitor"))
    items = data.get("events", [data] if "type" in data else None)
    if not isinstance(items, list) or not items:
        raise BadPayload(gettext("events: a non-empty list"), {"events": "required"})
    if len(items) > MAX_BATCH:
        raise BadPayload(gettext("events: at most %(MAX_BATCH)s per batch",
                                 MAX_BATCH=MAX_BATCH), {"events": gettext("too many")})
    pc = data.get("pc") if isinstance(data.get("pc"), str) else None
    result, views = BatchResult(), []
    for index, item in enumerate(items):
        try:
            views.append(validate_view(item, origin))
        except ValueError as exc:
            result.results.append({"index": index, "status": 400, "error": str(exc)})
            continue
        result.results.append({"index": index, "status": 201})
    if views:
        accept_views(views, visitor=key, pc=pc, request=request, now=now)
    return result


def validate_view(item: Any, origin: str | None) -> dict[str, Any]:
    """One page view from a batch: ``{"type": "page_view", "url", "title"?, "referrer"?}``.

    :raises ValueError: with the reason, for the per-item result
    """
    if not isinstance(item, dict):
        raise ValueError(gettext("event: must be an object"))
    if item.get("type") != "page_view":
        raise ValueError(gettext("type: must be page_view"))
    url = _page_url(item.get("url"), origin)
    try:
        title = _clean_text(item.get("title"), 300)
    except ValueError:
        raise ValueError(gettext("title: must be text")) from None
    referrer = item.get("referrer")
    referrer = referrer.strip()[:2048] if isinstance(referrer, str) and origin_of(referrer) else None
    return {"url": url, "title": title, "referrer": referrer}


# --- forms ------------------------------------------------------------------------------------

class _FormCapture:
    """The actor behind contacts created by a website form: allowed to create and to fill
    in blanks, owned by nobody."""

    id = None
    role = "admin"
    manager_id = None


FORM_ACTOR = _FormCapture()


@dataclass(frozen=True)
class FormResult:
    contact_id: int | None
    created: bool
    dropped: bool = False  # the honeypot was filled: answered like a success, nothing stored


def capture_form(fields: dict[str, Any], *, page_url: Any, visitor: Any, origin: str | None,
                 request: RequestFacts, now: datetime) -> FormResult:
    """Create or update the contact behind a form, record ``form_submitted`` and identify the
    visitor. Flushes.

    :raises BadPayload: bad input (nothing has changed)
    """
    if any(str(fields.get(name) or "").strip() for name in HONEYPOT_FIELDS):
        return FormResult(None, False, dropped=True)
    try:
        url = _page_url(page_url, origin) if page_url else None
    except ValueError as exc:
        raise BadPayload(str(exc), {"url": str(exc)}) from None
    key = visitor_key(visitor) if visitor else None
    data = _contact_data(fields)
    language = browser_language()  # mail to this person is then written in it (issue #17)
    if language and "language" not in data:
        data["language"] = language
    contact, created = _upsert_contact(data, url, now)
    visitor_row = find_or_create_visitor(key, now) if key else None
    event = TrackingEvent(
        kind="form_submitted", occurred_at=now, contact_id=contact.id,
        visitor_id=visitor_row.id if visitor_row else None, url=url, label=page_path(url),
        ip=(request.ip or "")[:45] or None, user_agent=(request.user_agent or "")[:512] or None,
        method=request.method, high_value=True,
    )
    store_event(event, contact=contact)
    if visitor_row is not None:
        identify(visitor_row, contact, "form", now)
    if created or contact.owner_id is None:
        # Routing (another feature) picks the owner and time zone, and alerts the owner.
        lead_captured.send(contact, fields=fields, now=now)
    return FormResult(contact.id, created)


def _contact_data(fields: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in FORM_FIELDS:
        value = fields.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise BadPayload(gettext("%(value)s: must be text", value=name), {name: gettext("must be text")})
        data[name] = value.strip()
    if "first_name" not in data and isinstance(fields.get("name"), str) and fields["name"].strip():
        first, _, last = fields["name"].strip().partition(" ")
        data["first_name"], data["last_name"] = first, last
    if not data.get("email"):
        raise BadPayload(gettext("email: required"), {"email": "required"})
    try:
        data["email"] = contacts.normalize_email(data["email"])
    except ValueError as exc:
        raise BadPayload(gettext("email: %(exc)s", exc=exc), {"email": str(exc)}) from None
    return data


def _upsert_contact(data: dict[str, Any], url: str | None, now: datetime) -> tuple[Contact, bool]:
    """A new contact, or the existing one with its blank fields filled (a form never
    overwrites what a rep typed)."""
    try:
        existing = contacts.find_contact_by_email(data["email"])
        if existing is None:
            source = f"web form {page_path(url) or ''}".strip()[:100]
            return contacts.create_contact(FORM_ACTOR, {**data, "source": source}, now), True
        blanks = {k: v for k, v in data.items() if k != "email" and not getattr(existing, k)}
        if blanks:
            contacts.update_contact(FORM_ACTOR, existing.id, blanks, now)
        return existing, False
    except ValidationFailed as exc:
        message = "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message
        raise BadPayload(message, exc.fields) from None
    except ServiceError as exc:  # a concurrent form created the same address first
        raise BadPayload(exc.message, exc.fields) from None
