"""The public face of the documents feature: the team library (folders, PDF documents, videos),
share links per contact, what a reader's browser did (beacons, the forward gate), the
``{{ video }}`` email token, and the analytics. Services flush, never commit."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import Select, false, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from crm.alerts.services import notify
from crm.auth.models import User
from crm.contacts.models import Activity, Company, Contact
from crm.contacts.services import record_activity
from crm.deals.models import Deal
from crm.documents import links as tokens
from crm.documents import storage
from crm.documents.inputs import Beacon, ContentCreate, ContentUpdate, FolderCreate, LinkCreate, ReaderIdentify
from crm.documents.models import (
    ContentFolder,
    ContentForward,
    ContentItem,
    ContentLink,
    ContentPage,
    ContentPageTime,
    ContentReader,
    ContentView,
)
from crm.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from crm.extensions import db
from crm.i18n import N_, _
from crm.policy import SALES_ROLES
from crm.scoring.services import record_event
from crm.tracking.services import judge_request
from crm.validation import as_id
from crm.web.pagination import Page, clamp_page

ACTIVITY_KIND = {"document": "document_viewed", "video": "video_watched"}
FORWARD_KIND = "document_forwarded"


class LinkGone(ServiceError):
    """The link was revoked or has expired (the public page says so; the API answers 410)."""

    status = 410
    code = "gone"


# --- the team library ------------------------------------------------------------------------

def require_sales(actor: User) -> None:
    if actor.role not in SALES_ROLES:
        raise PermissionDenied(_("documents and videos are for sales users"))


def team_of(actor: User) -> int:
    """A manager leads the team; a rep belongs to their manager's (or is a team of one)."""
    if actor.role == "rep" and actor.manager_id:
        return actor.manager_id
    return actor.id


def visible_items(actor: User, kind: str | None = None) -> Select:
    """``select(ContentItem)`` of the items ``actor`` may use: their team's library (admins:
    every library)."""
    query = select(ContentItem)
    if actor.role not in SALES_ROLES:
        query = query.where(false())
    elif actor.role != "admin":
        query = query.where(ContentItem.team_id == team_of(actor))
    if kind is not None:
        query = query.where(ContentItem.kind == kind)
    return query


def item_for(actor: User, item_id, kind: str | None = None) -> ContentItem:
    require_sales(actor)
    found = as_id(item_id)
    item = db.session.scalar(visible_items(actor, kind).where(ContentItem.id == found)) if found else None
    if item is None:
        raise NotFound(_("no such document or video"))
    return item


def list_items(actor: User, *, kind: str | None = None, folder_id: int | None = None, q: str = "",
               page: int = 1, per_page: int = 50) -> Page:
    """The library, newest first; ``q`` matches the name or, for documents, a page's text."""
    require_sales(actor)
    page, per_page = clamp_page(page, per_page)
    query = visible_items(actor, kind)
    if folder_id is not None:
        query = query.where(ContentItem.folder_id == folder_id)
    words = " ".join(q.split())[:200]
    if words:
        like = f"%{words.lower()}%"
        in_text = select(ContentPage.item_id).where(func.lower(ContentPage.text).like(like))
        query = query.where(or_(func.lower(ContentItem.name).like(like), ContentItem.id.in_(in_text)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = db.session.scalars(query.order_by(ContentItem.created_at.desc(), ContentItem.id.desc())
                               .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items, page, per_page, total)


def list_folders(actor: User) -> list[ContentFolder]:
    require_sales(actor)
    query = select(ContentFolder).order_by(ContentFolder.name, ContentFolder.id)
    if actor.role != "admin":
        query = query.where(ContentFolder.team_id == team_of(actor))
    return list(db.session.scalars(query))


def create_folder(actor: User, data: dict[str, Any], now: datetime) -> ContentFolder:
    require_sales(actor)
    name = FolderCreate.parse(data).name
    team = team_of(actor)
    if db.session.scalar(select(ContentFolder.id).where(ContentFolder.team_id == team, ContentFolder.name == name)):
        raise Conflict(_("this folder exists"), {"name": _("already exists")})
    folder = ContentFolder(team_id=team, name=name, created_at=now)
    db.session.add(folder)
    db.session.flush()
    return folder


def _folder_id(actor: User, folder_id: int | None) -> int | None:
    if folder_id is None:
        return None
    folder = db.session.get(ContentFolder, folder_id)
    if folder is None or (actor.role != "admin" and folder.team_id != team_of(actor)):
        raise ValidationFailed(_("invalid content"), {"folder_id": _("no such folder in your library")})
    return folder.id


def create_document(actor: User, data: dict[str, Any], upload, now: datetime) -> ContentItem:
    """A PDF upload (checked by content), queued for the worker to render its pages."""
    require_sales(actor)
    clean = ContentCreate.parse(data)
    folder_id = _folder_id(actor, clean.folder_id)
    if not _has_file(upload):
        raise ValidationFailed(_("choose a PDF file"), {"file": _("required")})
    stored = storage.store_upload(upload.stream, "document")
    item = ContentItem(kind="document", team_id=team_of(actor), owner_id=actor.id, folder_id=folder_id,
                       name=clean.name, status="queued", created_at=now,
                       original_filename=(upload.filename or "")[:255] or None, content_type=stored.content_type,
                       byte_size=stored.byte_size, sha256=stored.sha256, storage_key=stored.key,
                       page_count=stored.page_count)
    return _add_with_files(item, stored)


def create_video(actor: User, data: dict[str, Any], upload, thumbnail, now: datetime) -> ContentItem:
    """An MP4/WebM upload or an external https video URL (one of them), with an optional
    thumbnail image; queued for the worker (poster frame, email thumbnail)."""
    require_sales(actor)
    clean = ContentCreate.parse(data)
    folder_id = _folder_id(actor, clean.folder_id)
    has_file = _has_file(upload)
    if has_file == bool(clean.url):
        raise ValidationFailed(_("send a video file or a URL"),
                               {"file": _("a video file or a URL, one of them")})
    item = ContentItem(kind="video", team_id=team_of(actor), owner_id=actor.id, folder_id=folder_id,
                       name=clean.name, status="queued", created_at=now, use_in_emails=clean.use_in_emails)
    stored_files = []
    if has_file:
        stored = storage.store_upload(upload.stream, "video")
        item.source, item.storage_key, item.content_type = "upload", stored.key, stored.content_type
        item.original_filename = (upload.filename or "")[:255] or None
        item.byte_size, item.sha256, item.duration_seconds = stored.byte_size, stored.sha256, stored.duration_seconds
        stored_files.append(stored)
    else:
        item.source, item.external_url = "url", clean.url
    if _has_file(thumbnail):
        picture = storage.store_upload(thumbnail.stream, "image", field="thumbnail")
        item.thumbnail_key = picture.key
        stored_files.append(picture)
    if clean.use_in_emails:
        _only_email_video(actor.id)
    return _add_with_files(item, *stored_files)


def update_item(actor: User, item_id, data: dict[str, Any], kind: str | None = None) -> ContentItem:
    """Rename ``item_id`` and/or move it to a folder of the team's library (only what is sent)."""
    item = item_for(actor, item_id, kind)
    clean = ContentUpdate.parse(data)
    if "name" in clean.model_fields_set and clean.name is not None:
        item.name = clean.name
    if "folder_id" in clean.model_fields_set:
        item.folder_id = _folder_id(actor, clean.folder_id)
    db.session.flush()
    return item


def _has_file(upload: Any) -> bool:
    return upload is not None and bool(getattr(upload, "filename", None))


def _only_email_video(owner_id: int) -> None:
    db.session.execute(update(ContentItem).where(ContentItem.owner_id == owner_id, ContentItem.kind == "video")
                       .values(use_in_emails=False).execution_options(synchronize_session=False))


def set_email_video(actor: User, item_id, now: datetime) -> ContentItem:
    """Make this video the one ``{{ video }}`` inserts in ``actor``'s emails."""
    item = item_for(actor, item_id, "video")
    _only_email_video(actor.id)
    item.use_in_emails, item.owner_id = True, actor.id
    db.session.flush()
    return item


def _add_with_files(item: ContentItem, *stored: storage.StoredUpload) -> ContentItem:
    db.session.add(item)
    for file in stored:
        storage.register_pending(db.session(), file)
    db.session.flush()
    return item


def pages_of(item: ContentItem) -> list[ContentPage]:
    return list(db.session.scalars(select(ContentPage).where(ContentPage.item_id == item.id)
                                   .order_by(ContentPage.number)))


def retry_processing(actor: User, item_id) -> ContentItem:
    item = item_for(actor, item_id)
    if item.status != "failed":
        raise Conflict(_("only a failed upload can be processed again"), {"status": item.status})
    item.status, item.error, item.attempts, item.heartbeat_at, item.started_at = "queued", None, 0, None, None
    db.session.flush()
    return item


def pending_count() -> int:
    return db.session.scalar(select(func.count(ContentItem.id)).where(ContentItem.status == "queued")) or 0


# --- share links -------------------------------------------------------------------------------

def create_link(actor: User, item_id, data: dict[str, Any], now: datetime, *, source: str = "share") -> ContentLink:
    """A new link of the item for one contact (any number per contact: each can be revoked)."""
    item = item_for(actor, item_id)
    clean = LinkCreate.parse(data)
    contact = db.session.get(Contact, clean.contact_id)
    if contact is None:
        raise ValidationFailed(_("invalid share link"), {"contact_id": _("no such contact")})
    if clean.expires_at is not None and clean.expires_at <= now:
        raise ValidationFailed(_("invalid share link"), {"expires_at": _("must be in the future")})
    link = ContentLink(item_id=item.id, contact_id=contact.id, created_by_id=actor.id, source=source,
                       nonce=tokens.new_nonce(), allow_download=clean.allow_download and item.kind == "document",
                       created_at=now, expires_at=clean.expires_at)
    db.session.add(link)
    db.session.flush()
    return link


def link_for(actor: User, link_id) -> ContentLink:
    require_sales(actor)
    found = as_id(link_id)
    link = db.session.get(ContentLink, found) if found else None
    if link is None:
        raise NotFound(_("no such share link"))
    item_for(actor, link.item_id)  # NotFound outside the actor's library
    return link


def revoke_link(actor: User, link_id, now: datetime) -> ContentLink:
    link = link_for(actor, link_id)
    if link.revoked_at is None:
        link.revoked_at = now
        db.session.flush()
    return link


def link_url(link: ContentLink) -> str:
    return tokens.public_url(tokens.make_token(link.id, link.nonce))


def link_token(link: ContentLink) -> str:
    return tokens.make_token(link.id, link.nonce)


def links_of(item: ContentItem) -> list[ContentLink]:
    return list(db.session.scalars(select(ContentLink).where(ContentLink.item_id == item.id)
                                   .order_by(ContentLink.created_at.desc(), ContentLink.id.desc()).limit(200)))


def open_link(token: str, now: datetime) -> ContentLink:
    """The live link a public URL names: NotFound for a bad token, LinkGone once revoked or
    expired, NotFound while the item is not ready."""
    parsed = tokens.parse_token(token)
    link = db.session.get(ContentLink, parsed[0]) if parsed else None
    if link is None or parsed is None or not secrets.compare_digest(link.nonce, parsed[1]):
        raise NotFound(_("this link does not exist"))
    if link.revoked_at is not None:
        raise LinkGone(_("this link was turned off by its sender"))
    if link.expires_at is not None and link.expires_at <= now:
        raise LinkGone(_("this link has expired"))
    if link.item.status != "ready":
        raise NotFound(_("this content is not ready yet"))
    return link


def reader_of(link: ContentLink, reader_key: str | None) -> int | None:
    """The contact this browser reads as: the link's contact while nobody claimed the link
    or this browser did, a known forwarded reader, else None (ask for an email)."""
    if link.claimed_key is None or (reader_key and link.claimed_key == reader_key):
        return link.contact_id
    if not reader_key:
        return None
    return db.session.scalar(select(ContentReader.contact_id).where(ContentReader.link_id == link.id,
                                                                    ContentReader.reader_key == reader_key))


# --- what a reader's browser does ---------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    ip: str | None
    user_agent: str | None
    method: str = "POST"


def record_beacon(token: str, reader_key: str | None, data: dict[str, Any], request: Request,
                  now: datetime) -> ContentView | None:
    """One beacon of the viewer: add ``seconds`` to ``page`` (documents) or raise the watch
    depth to ``percent`` (videos) for the viewing session ``view``. The session is created by its
    first beacon with the tracking verdict of the request; only a human one claims the link and
    moves the timeline, the score and the rep's alerts. None when this browser has not said who
    it is (the forward gate comes first)."""
    link = open_link(token, now)
    beacon = Beacon.parse(data)
    if beacon.page is not None and link.item.page_count and beacon.page > link.item.page_count:
        raise ValidationFailed(_("invalid beacon"), {"page": _("no such page")})
    contact_id = reader_of(link, reader_key)
    if contact_id is None:
        return None
    view = db.session.scalar(select(ContentView).where(ContentView.view_key == beacon.view))
    if view is not None and view.link_id != link.id:
        raise ValidationFailed(_("invalid beacon"), {"view": _("belongs to another link")})
    if view is None:
        view = _start_view(link, contact_id, beacon.view, reader_key, request, now)
        if view is None:
            return None
    view.last_seen_at = now
    if view.verdict != "human":
        return view  # stored, visible, counted nowhere
    if beacon.page is not None and beacon.seconds > 0:
        _add_page_time(view.id, beacon.page, beacon.seconds)
        view.total_seconds = (view.total_seconds or 0) + beacon.seconds
    if beacon.percent is not None and beacon.percent > (view.watched_percent or 0):
        view.watched_percent = beacon.percent
    db.session.flush()
    _update_activity(view, link.item)
    return view


def _start_view(link: ContentLink, contact_id: int, view_key: str, reader_key: str | None, request: Request,
                now: datetime) -> ContentView | None:
    verdict, reason = judge_request("page_viewed", now, ip=request.ip, user_agent=request.user_agent,
                                    method=request.method)
    if verdict == "human" and link.claimed_key is None and reader_key:
        _claim(link, reader_key, now)
        if link.claimed_key != reader_key:  # another browser claimed it a moment ago
            return None
    view = ContentView(view_key=view_key, item_id=link.item_id, link_id=link.id, contact_id=contact_id,
                       started_at=now, last_seen_at=now, ip=(request.ip or "")[:45] or None,
                       user_agent=(request.user_agent or "")[:512] or None, verdict=verdict, reason=reason[:200])
    inserted = _inserted_id(_insert(ContentView).values(
        view_key=view_key, item_id=link.item_id, link_id=link.id, contact_id=contact_id, started_at=now,
        last_seen_at=now, ip=view.ip, user_agent=view.user_agent, verdict=verdict, reason=view.reason,
        total_seconds=0.0, watched_percent=0))
    stored = db.session.scalar(select(ContentView).where(ContentView.view_key == view_key)
                               .execution_options(populate_existing=True))
    if stored is not None and inserted is not None and verdict == "human":
        _on_human_view(stored, link, now)
    return stored


def _claim(link: ContentLink, reader_key: str, now: datetime) -> None:
    db.session.execute(update(ContentLink).where(ContentLink.id == link.id, ContentLink.claimed_key.is_(None))
                       .values(claimed_key=reader_key, claimed_at=now).execution_options(synchronize_session=False))
    db.session.refresh(link, ["claimed_key", "claimed_at"])


def _insert(model):
    """INSERT ... ON CONFLICT for ``model``'s table (Core, not the ORM's bulk path, so
    ``RETURNING`` tells reliably whether this statement inserted the row)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model.__table__)


def _inserted_id(statement) -> int | None:
    """The id of the row ``statement`` (an insert ... on conflict do nothing) inserted, or None."""
    table = statement.table
    return db.session.execute(statement.on_conflict_do_nothing().returning(table.c.id)).scalar()


def _add_page_time(view_id: int, page: int, seconds: float) -> None:
    inserted = _inserted_id(_insert(ContentPageTime).values(view_id=view_id, page=page, seconds=seconds))
    if inserted is None:
        db.session.execute(update(ContentPageTime).where(ContentPageTime.view_id == view_id,
                                                         ContentPageTime.page == page)
                           .values(seconds=ContentPageTime.seconds + seconds)
                           .execution_options(synchronize_session=False))


def _on_human_view(view: ContentView, link: ContentLink, now: datetime) -> None:
    """A person started reading or watching: the timeline, the score, the rep's alert."""
    item, contact = link.item, db.session.get(Contact, view.contact_id)
    if contact is None:
        return
    activity = record_activity(ACTIVITY_KIND[item.kind], now, contact_id=contact.id, company_id=contact.company_id,
                               details=_activity_details(view, item))
    view.activity_id = activity.id
    record_event(contact.id, ACTIVITY_KIND[item.kind], now, url=f"/content/{item.id}")
    rep_id = _rep_of(link, contact)
    message = (N_("%(name)s is watching your video '%(title)s' now: call") if item.kind == "video"
               else N_("%(name)s is reading '%(title)s' now: call"))
    notify(rep_id, "hot_lead", message, params={"name": contact.full_name, "title": item.name}, now=now,
           contact_id=contact.id, url=f"/contacts/{contact.id}")


def _rep_of(link: ContentLink, contact: Contact | None = None) -> int | None:
    """Who hears about a link's readers: the rep who shared it, else the contact's owner."""
    if link.created_by_id is not None:
        return link.created_by_id
    return contact.owner_id if contact is not None else None


def _activity_details(view: ContentView, item: ContentItem) -> dict[str, Any]:
    details: dict[str, Any] = {"content_id": item.id, "title": item.name, "seconds": round(view.total_seconds or 0)}
    if item.kind == "video":
        details["watched_percent"] = view.watched_percent or 0
    else:
        details["pages_read"] = db.session.scalar(
            select(func.count(ContentPageTime.id)).where(ContentPageTime.view_id == view.id)) or 0
        details["page_count"] = item.page_count or 0
    return details


def _update_activity(view: ContentView, item: ContentItem) -> None:
    if view.activity_id is None:
        return
    db.session.execute(update(Activity).where(Activity.id == view.activity_id)
                       .values(details=_activity_details(view, item)).execution_options(synchronize_session=False))


def identify_reader(token: str, reader_key: str, data: dict[str, Any], now: datetime) -> Contact:
    """The forward gate: the person reading a link shared with someone else gives their email.
    Finds or creates the contact (created at most once, whatever the concurrency: the unique
    email decides), attaches a new one to the sharing contact's company and owner, and, the
    first time this person reads this link, writes "forwarded by X" on their timeline and
    alerts the rep. Then this browser reads as them."""
    link = open_link(token, now)
    clean = ReaderIdentify.parse(data)
    sharer = link.contact
    contact, created = _find_or_create_contact(clean, sharer, now)
    if contact.company_id is None and sharer.company_id is not None:
        contact.company_id = sharer.company_id
    db.session.execute(_insert(ContentReader).values(link_id=link.id, reader_key=reader_key, contact_id=contact.id,
                                                     created_at=now).on_conflict_do_nothing())
    db.session.execute(update(ContentReader).where(ContentReader.link_id == link.id,
                                                   ContentReader.reader_key == reader_key)
                       .values(contact_id=contact.id).execution_options(synchronize_session=False))
    if contact.id != sharer.id:
        _record_forward(link, sharer, contact, now)
    db.session.flush()
    return contact


def _find_or_create_contact(clean: ReaderIdentify, sharer: Contact, now: datetime) -> tuple[Contact, bool]:
    inserted = _inserted_id(_insert(Contact).values(
        email=clean.email, first_name=clean.first_name, last_name=clean.last_name, company_id=sharer.company_id,
        owner_id=sharer.owner_id, lifecycle_stage="lead", do_not_contact=False, unsubscribed=False,
        source="document forward", custom={}, created_at=now, updated_at=now,
    ))
    contact = db.session.scalar(select(Contact).where(Contact.email == clean.email)
                                .execution_options(populate_existing=True))
    if contact is None:  # the row that conflicted was deleted meanwhile
        raise Conflict(_("please try again"), {"email": _("please try again")})
    created = inserted is not None
    if created:
        record_activity("contact_created", now, contact_id=contact.id, company_id=contact.company_id,
                        details={"source": "document forward"})
    return contact, created


def _record_forward(link: ContentLink, sharer: Contact, contact: Contact, now: datetime) -> None:
    inserted = _inserted_id(_insert(ContentForward).values(
        link_id=link.id, item_id=link.item_id, contact_id=contact.id, forwarded_by_id=sharer.id, created_at=now))
    if inserted is None:
        return  # this person was already recorded as a reader of this forward
    item = link.item
    record_activity(FORWARD_KIND, now, contact_id=contact.id, company_id=contact.company_id,
                    details={"content_id": item.id, "title": item.name, "forwarded_by": sharer.full_name,
                             "forwarded_by_id": sharer.id})
    where = f" ({contact.company.name})" if contact.company is not None else ""
    rep_id = _rep_of(link, sharer)
    notify(rep_id, "content_forwarded",
           N_("%(sharer)s forwarded '%(title)s' to %(reader)s%(where)s: a new contact on the account"),
           params={"sharer": sharer.full_name, "title": item.name, "reader": contact.full_name, "where": where},
           now=now, contact_id=contact.id, url=f"/contacts/{contact.id}")


# --- the {{ video }} email token -------------------------------------------------------------

class VideoToken(str):
    """``{{ video }}`` in a template: in the text part the watch page's URL; in the HTML part
    (autoescaped: Jinja asks ``__html__``) the thumbnail with its play button, linking there."""

    html: str = ""

    def __new__(cls, url: str, html: str) -> VideoToken:
        made = super().__new__(cls, url)
        made.html = html
        return made

    def __html__(self) -> str:
        return self.html


def email_video(sender_id: int) -> ContentItem | None:
    return db.session.scalar(select(ContentItem).where(
        ContentItem.owner_id == sender_id, ContentItem.kind == "video", ContentItem.use_in_emails.is_(True),
        ContentItem.status == "ready").order_by(ContentItem.created_at.desc()).limit(1))


def video_token(sender_id: int, contact_id: int, now: datetime, *, create: bool = True) -> str:
    """What ``{{ video }}`` renders to for this contact: a tracked watch link of the sender's
    email video (one link per contact and video, reused), or "" when the sender has none.
    ``create=False`` (a preview): a placeholder rather than a new link."""
    item = email_video(sender_id)
    if item is None:
        return ""
    link = db.session.scalar(select(ContentLink).where(
        ContentLink.item_id == item.id, ContentLink.contact_id == contact_id, ContentLink.source == "email",
        ContentLink.revoked_at.is_(None)).order_by(ContentLink.id.desc()).limit(1))
    if link is None and not create:
        label = _("[video: %(title)s, a tracked link is made when the email is sent]", title=item.name)
        return VideoToken(label, Markup("<p>{}</p>").format(label))
    if link is None:
        link = ContentLink(item_id=item.id, contact_id=contact_id, created_by_id=sender_id, source="email",
                           nonce=tokens.new_nonce(), allow_download=False, created_at=now)
        db.session.add(link)
        db.session.flush()
    token = link_token(link)
    url, image = tokens.public_url(token), tokens.public_url(token, "/email.jpg")
    html = Markup('<a href="{url}"><img src="{image}" alt="{alt}" width="480" style="max-width:100%;border:0">'
                  '</a>').format(url=url, image=image, alt=_("Play the video: %(title)s", title=item.name))
    return VideoToken(url, html)


# --- analytics ----------------------------------------------------------------------------------

def _human_views(item_id: int) -> Select:
    return select(ContentView).where(ContentView.item_id == item_id, ContentView.verdict == "human")


def item_analytics(actor: User, item_id) -> dict[str, Any]:
    """Views by people (machine views apart), unique viewers, accounts reached, seconds per
    page (documents) or watch depth (videos), forwards, and the deals of the readers."""
    item = item_for(actor, item_id)
    human = ContentView.verdict == "human"
    views = db.session.scalar(select(func.count(ContentView.id)).where(ContentView.item_id == item.id, human)) or 0
    machine = db.session.scalar(select(func.count(ContentView.id)).where(ContentView.item_id == item.id,
                                                                         ContentView.verdict != "human")) or 0
    viewer_ids: list[int] = list(db.session.scalars(select(ContentView.contact_id).where(
        ContentView.item_id == item.id, human, ContentView.contact_id.is_not(None)).distinct()))
    accounts = db.session.scalar(select(func.count(func.distinct(Contact.company_id))).where(
        Contact.id.in_(viewer_ids), Contact.company_id.is_not(None))) or 0 if viewer_ids else 0
    per_page = dict(db.session.execute(
        select(ContentPageTime.page, func.sum(ContentPageTime.seconds))
        .join(ContentView, ContentView.id == ContentPageTime.view_id)
        .where(ContentView.item_id == item.id, human).group_by(ContentPageTime.page)).all())
    depth = dict(db.session.execute(
        select(ContentView.watched_percent, func.count(ContentView.id))
        .where(ContentView.item_id == item.id, human).group_by(ContentView.watched_percent)).all())
    forwards = db.session.execute(
        select(ContentForward, Contact).join(Contact, Contact.id == ContentForward.contact_id)
        .where(ContentForward.item_id == item.id).order_by(ContentForward.created_at.desc()).limit(200)).all()
    sharers = {c.id: c.full_name for c in db.session.scalars(
        select(Contact).where(Contact.id.in_({f.forwarded_by_id for f, _c in forwards if f.forwarded_by_id})))}
    return {
        "item": item,
        "views": views, "machine_views": machine, "unique_viewers": len(viewer_ids), "accounts_reached": accounts,
        "seconds_per_page": [{"page": n, "seconds": round(float(per_page.get(n, 0.0)), 1)}
                             for n in range(1, (item.page_count or 0) + 1)] if item.kind == "document" else [],
        "watch_depth": [{"percent": p, "viewers": sum(c for d, c in depth.items() if d >= p)}
                        for p in (25, 50, 75, 100)] if item.kind == "video" else [],
        "forwards": [{"contact_id": c.id, "name": c.full_name, "email": c.email, "at": f.created_at,
                      "forwarded_by_id": f.forwarded_by_id, "forwarded_by": sharers.get(f.forwarded_by_id or 0)}
                     for f, c in forwards],
        "readers": _readers(item.id),
        "deals": _reader_deals(viewer_ids),
    }


def _readers(item_id: int) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Contact.id, Contact.first_name, Contact.last_name, Contact.email, Company.name,
               func.count(ContentView.id), func.sum(ContentView.total_seconds), func.max(ContentView.watched_percent),
               func.max(ContentView.last_seen_at))
        .join(Contact, Contact.id == ContentView.contact_id).outerjoin(Company, Company.id == Contact.company_id)
        .where(ContentView.item_id == item_id, ContentView.verdict == "human")
        .group_by(Contact.id, Contact.first_name, Contact.last_name, Contact.email, Company.name)
        .order_by(func.max(ContentView.last_seen_at).desc()).limit(200)).all()
    return [{"contact_id": cid, "name": f"{first} {last}".strip() or email, "company": company, "views": n,
             "seconds": round(float(seconds or 0), 1), "watched_percent": depth or 0, "last_seen_at": last_seen}
            for cid, first, last, email, company, n, seconds, depth, last_seen in rows]


def _reader_deals(contact_ids: list[int]) -> dict[str, list[dict[str, Any]]]:
    """The readers' deals, open and won (by the deal's contact)."""
    found: dict[str, list[dict[str, Any]]] = {"open": [], "won": []}
    if not contact_ids:
        return found
    for deal in db.session.scalars(select(Deal).where(Deal.contact_id.in_(contact_ids))
                                   .order_by(Deal.id.desc()).limit(200)):
        status = getattr(deal, "status", "open")
        if status in found:
            found[status].append({"id": deal.id, "name": deal.name, "amount": deal.amount,
                                  "currency": getattr(deal, "currency", None), "contact_id": deal.contact_id})
    return found


def contact_content(contact_id: int, limit: int = 20) -> dict[str, Any]:
    """What one contact read and watched (human views, grouped by item) and the links shared
    with them: the contact page's panel."""
    reads = db.session.execute(
        select(ContentItem.id, ContentItem.kind, ContentItem.name, func.count(ContentView.id),
               func.sum(ContentView.total_seconds), func.max(ContentView.watched_percent),
               func.max(ContentView.last_seen_at))
        .join(ContentItem, ContentItem.id == ContentView.item_id)
        .where(ContentView.contact_id == contact_id, ContentView.verdict == "human")
        .group_by(ContentItem.id, ContentItem.kind, ContentItem.name)
        .order_by(func.max(ContentView.last_seen_at).desc()).limit(limit)).all()
    shared = db.session.scalars(select(ContentLink).where(ContentLink.contact_id == contact_id)
                                .order_by(ContentLink.created_at.desc()).limit(limit)).all()
    return {
        "reads": [{"id": i, "kind": k, "name": n, "views": c, "seconds": round(float(s or 0)),
                   "watched_percent": p or 0,
                   "last_seen_at": at} for i, k, n, c, s, p, at in reads],
        "shared": shared,
    }


def page_seconds_of_view(view_id: int) -> dict[int, float]:
    return dict(db.session.execute(select(ContentPageTime.page, ContentPageTime.seconds)
                                   .where(ContentPageTime.view_id == view_id)).all())
