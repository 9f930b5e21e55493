"""JSON API of the documents feature (``routes``, mounted on /api/v1 from the manifest):
upload documents and videos, read them once processed, share links per contact (and revoke
them), the analytics. Thin callers of ``crm.documents.services``."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from flask import request
from pydantic import BaseModel, ConfigDict, Field

from crm.api.auth import api_user
from crm.api.endpoint import endpoint, page_args
from crm.api.routing import ApiRoutes
from crm.api.schemas import Id, OutModel, QueryModel, Text, UtcDateTime
from crm.documents import services, storage
from crm.documents.models import STATUSES
from crm.errors import NotFound
from crm.extensions import db
from crm.i18n import _
from crm.timeutil import utcnow
from crm.web.access import SALES, roles

routes = ApiRoutes()

Status = Literal[STATUSES]  # type: ignore[valid-type]
FORM_OVERHEAD_BYTES = 64 * 1024


def _document_limit() -> int:
    return storage.max_bytes("document") + FORM_OVERHEAD_BYTES


def _video_limit() -> int:
    return storage.max_bytes("video") + storage.max_bytes("image") + FORM_OVERHEAD_BYTES


class DocumentForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text(200, 1) = Field(description="shown to readers and in the library")  # type: ignore[valid-type]
    folder_id: Id | None = Field(None, description="a folder of your team's library")


class VideoForm(DocumentForm):
    url: Text(2000) | None = Field(None, description="an https:// MP4/WebM file played where it is, "  # type: ignore
                                                     "instead of an uploaded file")
    use_in_emails: bool = Field(False, description="the video {{ video }} inserts in your email templates")


class ContentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text(200, 1) | None = Field(None, description="a new name")  # type: ignore[valid-type]
    folder_id: Id | None = Field(None, description="a folder of your team's library; null: no folder")


class CreatedOut(OutModel):
    id: int
    status: Status


class ContentOut(OutModel):
    id: int
    kind: Literal["document", "video"]
    name: str
    status: Status
    error: str | None
    folder_id: int | None
    owner_id: int | None
    page_count: int | None = Field(description="documents, once processed")
    duration_seconds: float | None = Field(description="uploaded videos")
    source: str | None = Field(description="videos: upload or url")
    external_url: str | None
    use_in_emails: bool
    original_filename: str | None
    byte_size: int | None
    sha256: str | None
    created_at: UtcDateTime
    processed_at: UtcDateTime | None


class ContentQuery(QueryModel):
    folder_id: Id | None = None
    q: Text(200) | None = Field(None, description="in the name or a page's text")  # type: ignore[valid-type]


class ContentPage(OutModel):
    items: list[ContentOut]
    page: int
    per_page: int
    total: int
    pages: int


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_id: Id
    expires_at: datetime | None = Field(None, description="the link stops working then (ISO 8601, future)")
    allow_download: bool = Field(False, description="documents: the reader may download the PDF")


class LinkOut(OutModel):
    id: int
    url: str = Field(description="the public viewer's absolute URL, for this contact")
    contact_id: int
    source: Literal["share", "email"]
    allow_download: bool
    created_at: UtcDateTime
    expires_at: UtcDateTime | None
    revoked_at: UtcDateTime | None
    claimed_at: UtcDateTime | None = Field(description="when the first reader's browser opened it")


class LinkList(OutModel):
    items: list[LinkOut]


class PageSeconds(OutModel):
    page: int
    seconds: float


class Depth(OutModel):
    percent: int
    viewers: int = Field(description="views by people that reached at least this far")


class ForwardOut(OutModel):
    contact_id: int
    name: str
    email: str
    forwarded_by_id: int | None
    forwarded_by: str | None
    at: UtcDateTime


class ReaderOut(OutModel):
    contact_id: int
    name: str
    company: str | None
    views: int
    seconds: float
    watched_percent: int
    last_seen_at: UtcDateTime | None


class DealOut(OutModel):
    id: int
    name: str
    amount: Decimal
    currency: str | None
    contact_id: int | None


class DealsOut(OutModel):
    open: list[DealOut]
    won: list[DealOut]


class AnalyticsOut(OutModel):
    id: int
    views: int = Field(description="viewing sessions by people")
    machine_views: int = Field(description="sessions whose requests were a scanner's (counted nowhere)")
    unique_viewers: int
    accounts_reached: int = Field(description="distinct companies of the viewers")
    seconds_per_page: list[PageSeconds] = Field(description="documents: seconds read, summed over people")
    watch_depth: list[Depth] = Field(description="videos: viewers reaching 25/50/75/100%")
    forwards: list[ForwardOut]
    readers: list[ReaderOut]
    deals: DealsOut = Field(description="the readers' deals, open and won")


def content_out(item) -> ContentOut:
    return ContentOut(
        id=item.id, kind=item.kind, name=item.name, status=item.status, error=item.error, folder_id=item.folder_id,
        owner_id=item.owner_id, page_count=item.page_count if item.status == "ready" else None,
        duration_seconds=item.duration_seconds, source=item.source, external_url=item.external_url,
        use_in_emails=bool(item.use_in_emails), original_filename=item.original_filename, byte_size=item.byte_size,
        sha256=item.sha256, created_at=item.created_at, processed_at=item.processed_at)


def link_out(link) -> LinkOut:
    return LinkOut(id=link.id, url=services.link_url(link), contact_id=link.contact_id, source=link.source,
                   allow_download=link.allow_download, created_at=link.created_at, expires_at=link.expires_at,
                   revoked_at=link.revoked_at, claimed_at=link.claimed_at)


def analytics_out(found: dict) -> AnalyticsOut:
    return AnalyticsOut(
        id=found["item"].id, views=found["views"], machine_views=found["machine_views"],
        unique_viewers=found["unique_viewers"], accounts_reached=found["accounts_reached"],
        seconds_per_page=[PageSeconds(**p) for p in found["seconds_per_page"]],
        watch_depth=[Depth(**d) for d in found["watch_depth"]],
        forwards=[ForwardOut(**f) for f in found["forwards"]],
        readers=[ReaderOut(**r) for r in found["readers"]],
        deals=DealsOut(open=[DealOut(**d) for d in found["deals"]["open"]],
                       won=[DealOut(**d) for d in found["deals"]["won"]]))


def _list(kind: str, query: ContentQuery) -> ContentPage:
    page = services.list_items(api_user(), kind=kind, folder_id=query.folder_id, q=query.q or "", **page_args(query))
    return ContentPage(items=[content_out(i) for i in page.items], page=page.page, per_page=page.per_page,
                       total=page.total, pages=page.pages)


def _links(item_id: int, kind: str) -> LinkList:
    item = services.item_for(api_user(), item_id, kind)
    return LinkList(items=[link_out(link) for link in services.links_of(item)])


def _share(item_id: int, kind: str, body: LinkIn) -> LinkOut:
    services.item_for(api_user(), item_id, kind)
    link = services.create_link(api_user(), item_id, body.model_dump(), utcnow())
    db.session.commit()
    return link_out(link)


def _revoke(link_id: int, kind: str) -> None:
    link = services.link_for(api_user(), link_id)
    if link.item.kind != kind:
        raise NotFound(_("no such share link"))
    services.revoke_link(api_user(), link_id, utcnow())
    db.session.commit()


SHARE_NOTE = ("Opening it from another browser than the first reader's (a forward) asks for an email first; the "
              "reader becomes a contact of the shared contact's company.")


# --- documents -----------------------------------------------------------------------------------

@routes.post("/documents")
@roles(*SALES)
@endpoint("Upload a PDF document", form=DocumentForm, files=("file",), form_limit=_document_limit,
          response=CreatedOut, status=201,
          description="Checked by content (a PDF pdfium opens, no password); at most DOCUMENT_MAX_BYTES (413 beyond). "
                      "Its pages are rendered by the worker: poll GET /documents/{id} until status is ready.")
def upload_document(form: DocumentForm):
    item = services.create_document(api_user(), form.model_dump(), request.files.get("file"), utcnow())
    db.session.commit()
    return CreatedOut(id=item.id, status=item.status)


@routes.get("/documents")
@roles(*SALES)
@endpoint("List my team's documents", query=ContentQuery, response=ContentPage)
def list_documents(query: ContentQuery):
    return _list("document", query)


@routes.get("/documents/<int:item_id>")
@roles(*SALES)
@endpoint("Read a document", response=ContentOut)
def get_document(item_id: int):
    return content_out(services.item_for(api_user(), item_id, "document"))


@routes.patch("/documents/<int:item_id>")
@roles(*SALES)
@endpoint("Rename a document or move it to a folder", body=ContentPatch, response=ContentOut)
def update_document(item_id: int, body: ContentPatch):
    item = services.update_item(api_user(), item_id, body.model_dump(exclude_unset=True), "document")
    db.session.commit()
    return content_out(item)


@routes.get("/documents/<int:item_id>/links")
@roles(*SALES)
@endpoint("List a document's share links", response=LinkList)
def list_document_links(item_id: int):
    return _links(item_id, "document")


@routes.post("/documents/<int:item_id>/links")
@roles(*SALES)
@endpoint("Share a document with a contact", body=LinkIn, response=LinkOut, status=201,
          description="A signed link for one contact, revocable, with an optional expiry. " + SHARE_NOTE)
def share_document(item_id: int, body: LinkIn):
    return _share(item_id, "document", body)


@routes.delete("/document-links/<int:link_id>")
@roles(*SALES)
@endpoint("Revoke a document's share link", status=204,
          description="The link answers 410 from now on; what was read stays. Revoking twice is harmless.")
def revoke_document_link(link_id: int):
    _revoke(link_id, "document")


@routes.get("/documents/<int:item_id>/analytics")
@roles(*SALES)
@endpoint("A document's readers, time per page and forwards", response=AnalyticsOut)
def document_analytics(item_id: int):
    services.item_for(api_user(), item_id, "document")
    return analytics_out(services.item_analytics(api_user(), item_id))


# --- videos ----------------------------------------------------------------------------------

@routes.post("/videos")
@roles(*SALES)
@endpoint("Upload a video or register its URL", form=VideoForm, files=("file?", "thumbnail?"),
          form_limit=_video_limit, response=CreatedOut, status=201,
          description="Either `file` (MP4 or WebM, checked by ffprobe, at most VIDEO_MAX_BYTES) or `url` (an https "
                      "video file). `thumbnail` (PNG/JPEG) replaces the poster frame the worker extracts.")
def upload_video(form: VideoForm):
    item = services.create_video(api_user(), form.model_dump(), request.files.get("file"),
                                 request.files.get("thumbnail"), utcnow())
    db.session.commit()
    return CreatedOut(id=item.id, status=item.status)


@routes.get("/videos")
@roles(*SALES)
@endpoint("List my team's videos", query=ContentQuery, response=ContentPage)
def list_videos(query: ContentQuery):
    return _list("video", query)


@routes.get("/videos/<int:item_id>")
@roles(*SALES)
@endpoint("Read a video", response=ContentOut)
def get_video(item_id: int):
    return content_out(services.item_for(api_user(), item_id, "video"))


@routes.patch("/videos/<int:item_id>")
@roles(*SALES)
@endpoint("Rename a video or move it to a folder", body=ContentPatch, response=ContentOut)
def update_video(item_id: int, body: ContentPatch):
    item = services.update_item(api_user(), item_id, body.model_dump(exclude_unset=True), "video")
    db.session.commit()
    return content_out(item)


@routes.get("/videos/<int:item_id>/links")
@roles(*SALES)
@endpoint("List a video's share links", response=LinkList)
def list_video_links(item_id: int):
    return _links(item_id, "video")


@routes.post("/videos/<int:item_id>/links")
@roles(*SALES)
@endpoint("Share a video with a contact", body=LinkIn, response=LinkOut, status=201,
          description="A signed link to the watch page for one contact, revocable, optional expiry. " + SHARE_NOTE)
def share_video(item_id: int, body: LinkIn):
    return _share(item_id, "video", body)


@routes.delete("/video-links/<int:link_id>")
@roles(*SALES)
@endpoint("Revoke a video's share link", status=204)
def revoke_video_link(link_id: int):
    _revoke(link_id, "video")


@routes.get("/videos/<int:item_id>/analytics")
@roles(*SALES)
@endpoint("A video's viewers, watch depth and forwards", response=AnalyticsOut)
def video_analytics(item_id: int):
    services.item_for(api_user(), item_id, "video")
    return analytics_out(services.item_analytics(api_user(), item_id))
