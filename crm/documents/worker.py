"""Processing uploads in the worker: the periodic job and ``flask crm documents process-pending``
both call ``process_pending``. An item is claimed the way every queue of the app is
(``crm.jobs.claims.claim_oldest``: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and committed at
once, so two workers never render the same PDF; the pages and poster are written to disk
first and their rows committed with the status, so a page is never listed before its image
exists.
"""
from __future__ import annotations

import logging
import shutil
import time
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import delete, update

from crm.documents import render, storage
from crm.documents.models import ContentItem, ContentPage
from crm.extensions import db
from crm.jobs.claims import claim_oldest, clock_from

log = logging.getLogger(__name__)

# A worker that has not beaten for this long is taken for dead: its item is claimed again.
STALE_AFTER = timedelta(minutes=10)
MAX_ATTEMPTS = 3


def process_pending(now: datetime, *, limit: int | None = None, budget_seconds: float | None = None) -> dict[str, int]:
    """Claim and process queued items until none is left, ``limit`` were done, or
    ``budget_seconds`` of real time passed. Returns counts for the log."""
    clock = clock_from(now)
    started = time.monotonic()
    counts = {"ready": 0, "failed": 0}
    while limit is None or sum(counts.values()) < limit:
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            break
        item = claim_oldest(ContentItem, clock(), STALE_AFTER)
        db.session.commit()
        if item is None:
            break
        counts[process_claimed(item, clock)] += 1
    return counts


def process_claimed(item: ContentItem, clock: Callable[[], datetime]) -> str:
    item_id, attempt = item.id, item.attempts
    try:
        if attempt > MAX_ATTEMPTS:
            raise render.Unprocessable(f"gave up after {MAX_ATTEMPTS} attempts")
        prepare(item, _heartbeat(item.id, clock))
    except render.Unprocessable as problem:
        return _fail(item_id, str(problem), clock())
    except Exception:
        log.exception("content item %s: processing crashed", item_id)
        return _fail(item_id, "processing crashed (see the worker's log)", clock())
    item.status, item.error, item.processed_at, item.heartbeat_at = "ready", None, clock(), clock()
    db.session.commit()
    return "ready"


def _fail(item_id: int, reason: str, now: datetime) -> str:
    db.session.rollback()
    item = db.session.get(ContentItem, item_id, populate_existing=True)
    if item is not None:
        item.status, item.error, item.processed_at = "failed", reason[:1000], now
        db.session.commit()
    return "failed"


def prepare(item: ContentItem, beat: Callable[[int, int], None] = lambda number, total: None) -> None:
    """Render the document's pages (``beat`` after each) or the video's pictures; flushes,
    the caller sets the status and commits."""
    if item.kind == "document":
        _render_document(item, beat)
    else:
        _prepare_video(item)
    db.session.flush()


def _heartbeat(item_id: int, clock: Callable[[], datetime]) -> Callable[[int, int], None]:
    def beat(number: int, total: int) -> None:
        db.session.execute(update(ContentItem).where(ContentItem.id == item_id).values(heartbeat_at=clock()))
        db.session.commit()
    return beat


def _render_document(item: ContentItem, beat: Callable[[int, int], None]) -> None:
    source = storage.settle(item.storage_key)
    if source is None:
        raise render.Unprocessable("the stored file is missing")
    folder = storage.derived_dir(item.id) / "pages"
    shutil.rmtree(folder, ignore_errors=True)  # an earlier attempt's pages
    pages = render.render_pdf(source, folder, beat)
    db.session.execute(delete(ContentPage).where(ContentPage.item_id == item.id))
    for page in pages:
        db.session.add(ContentPage(item_id=item.id, number=page.number, width=page.width, height=page.height,
                                   image_key=f"{item.id}/pages/{page.number}.png", text=page.text))
    item.page_count = len(pages)


def _prepare_video(item: ContentItem) -> None:
    folder = storage.derived_dir(item.id)
    poster = None
    if item.source == "upload":
        source = storage.settle(item.storage_key)
        if source is None:
            raise render.Unprocessable("the stored file is missing")
        render.extract_poster(source, folder / "poster.jpg", item.duration_seconds)
        item.poster_key, poster = f"{item.id}/poster.jpg", folder / "poster.jpg"
    thumbnail = storage.settle(item.thumbnail_key) if item.thumbnail_key else None
    render.email_image(thumbnail or poster, folder / "email.jpg")
    item.email_image_key = f"{item.id}/email.jpg"
