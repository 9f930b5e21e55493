"""The public side of a share link (no login; blueprint ``documents_public``, under ``/d/``):
the viewer (a document's pages as images, or the watch page of a video), its beacons, the
forward gate asking a new reader for their email, and the files the page shows.

A browser is told apart by a random reader key in a first-party cookie (``crm_reader``, on
``/d/`` only, HttpOnly, SameSite=Lax). The login session is never read here (``/d/`` is
cookieless): a prospect's browser has none, and a rep opening a link must not become its reader
by their account. The forward form checks its hidden reader key against the cookie (a double
submit: a cross-site form can neither read nor, with SameSite=Lax, send the cookie).
"""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, send_file

from crm.documents import services, storage
from crm.documents.models import ContentItem, ContentLink
from crm.errors import NotFound, ServiceError, ValidationFailed
from crm.extensions import csrf, db, limiter
from crm.i18n import _
from crm.timeutil import utcnow
from crm.web.access import cookieless_paths, public

bp = Blueprint("documents_public", __name__)
bp.record_once(lambda _state: cookieless_paths("/d/"))

READER_COOKIE = "crm_reader"
READER_COOKIE_DAYS = 400
PRIVATE = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex, nofollow",
           "Referrer-Policy": "no-referrer"}


def _viewer_limit() -> str:
    return current_app.config.get("DOCUMENTS_VIEWER_RATE_LIMIT", "600 per minute")


def _forward_limit() -> str:
    return current_app.config.get("DOCUMENTS_FORWARD_RATE_LIMIT", "10 per minute;100 per day")


limiter.limit(_viewer_limit)(bp)


def _reader_key() -> str | None:
    value = request.cookies.get(READER_COOKIE, "")
    return value if 20 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum() else None


def _with_reader_cookie(response: Response, key: str) -> Response:
    response.set_cookie(READER_COOKIE, key, max_age=READER_COOKIE_DAYS * 86400, path="/d/", httponly=True,
                        samesite="Lax", secure=request.is_secure)
    return response


def _headers(response: Response) -> Response:
    for name, value in PRIVATE.items():
        response.headers[name] = value
    return response


def _gone(exc: ServiceError):
    status = 410 if isinstance(exc, services.LinkGone) else 404
    return _headers(Response(render_template("documents/public_gone.html", message=exc.message), status=status))


def _link(token: str) -> ContentLink:
    try:
        return services.open_link(token, utcnow())
    except ServiceError as exc:
        abort(_gone(exc))


@bp.route("/d/<token>", methods=["GET"])
@public
def viewer(token: str):
    """The document's pages or the video, for the link's reader; the forward gate for a new browser."""
    link = _link(token)
    key = _reader_key() or secrets.token_urlsafe(24)
    reader = services.reader_of(link, key)
    if reader is None:
        response = Response(render_template("documents/public_gate.html", link=link, item=link.item, token=token,
                                            reader_key=key, errors={}, values={}))
        return _headers(_with_reader_cookie(response, key))
    return _headers(_with_reader_cookie(_viewer_page(link, token), key))


def _viewer_page(link: ContentLink, token: str) -> Response:
    item = link.item
    view_key = secrets.token_urlsafe(18)
    if item.kind == "document":
        body = render_template("documents/public_viewer.html", item=item, token=token, link=link,
                               pages=services.pages_of(item), view_key=view_key)
        return Response(body)
    body = render_template("documents/public_watch.html", item=item, token=token, link=link, view_key=view_key)
    response = Response(body)
    if item.source == "url" and item.external_url:
        # The player plays the file where it is: allow that origin for media, nothing else.
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(item.external_url))
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"media-src 'self' {origin}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
            "form-action 'self'")
    return response


@bp.route("/d/<token>/who", methods=["POST"])
@public
@csrf.exempt  # the double-submitted reader key (see the module docstring) stands in for the token
@limiter.limit(_forward_limit)
def identify(token: str):
    link = _link(token)
    key = _reader_key()
    if key is None or not secrets.compare_digest(request.form.get("reader", ""), key):
        abort(_headers(Response(render_template("documents/public_gone.html",
                                                message=_("Please enable cookies for this site and try again.")),
                                status=400)))
    values = {name: request.form.get(name, "")[:300] for name in ("email", "first_name", "last_name")}
    try:
        services.identify_reader(token, key, values, utcnow())
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        response = Response(render_template("documents/public_gate.html", link=link, item=link.item, token=token,
                                            reader_key=key, errors=exc.fields, values=values), status=422)
        return _headers(response)
    return redirect(f"/d/{token}", code=303)


@bp.route("/d/<token>/beacon", methods=["POST"])
@public
@csrf.exempt  # sent by navigator.sendBeacon; changes nothing but this reader's own counts
def beacon(token: str):
    data = request.get_json(silent=True, force=True)
    if not isinstance(data, dict):
        return _headers(Response(status=422))
    try:
        services.record_beacon(token, _reader_key(), data, services.Request(
            ip=request.remote_addr, user_agent=request.headers.get("User-Agent"), method=request.method), utcnow())
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        return _headers(Response(status=exc.status))
    return _headers(Response(status=204))


def _readable_link(token: str) -> ContentLink:
    """A link whose files this browser may fetch (its reader, or nobody claimed it yet)."""
    link = _link(token)
    if services.reader_of(link, _reader_key()) is None:
        abort(403)
    return link


def _send(key: str | None, mimetype: str, *, download_name: str | None = None) -> Response:
    found = storage.path_for(key)
    if found is None:
        abort(404)
    response = send_file(found, mimetype=mimetype, conditional=True, max_age=0,
                         as_attachment=download_name is not None, download_name=download_name or found.name)
    response.headers["Accept-Ranges"] = "bytes"
    return _headers(response)


@bp.route("/d/<token>/p/<int:number>.png", methods=["GET"])
@public
def page_image(token: str, number: int):
    link = _readable_link(token)
    page = next((p for p in services.pages_of(link.item) if p.number == number), None)
    if page is None:
        abort(404)
    return _send(page.image_key, "image/png")


@bp.route("/d/<token>/media", methods=["GET"])
@public
def media(token: str):
    link = _readable_link(token)
    item: ContentItem = link.item
    if item.kind != "video" or item.source != "upload":
        abort(404)
    return _send(item.storage_key, item.content_type or "video/mp4")


@bp.route("/d/<token>/poster.jpg", methods=["GET"])
@public
def poster(token: str):
    item = _readable_link(token).item
    key = item.thumbnail_key or item.poster_key
    if item.kind != "video" or not key:
        abort(404)
    return _send(key, "image/png" if key.endswith(".png") else "image/jpeg")


@bp.route("/d/<token>/email.jpg", methods=["GET"])
@public
def email_image(token: str):
    """The thumbnail an email shows: fetched by mail clients and their image proxies, so it
    needs no reader and records nothing."""
    item = _link(token).item
    if item.kind != "video":
        abort(404)
    return _send(item.email_image_key, "image/jpeg")


@bp.route("/d/<token>/download", methods=["GET"])
@public
def download(token: str):
    link = _readable_link(token)
    if not link.allow_download or link.item.kind != "document":
        raise_not_found = NotFound(_("downloading is not allowed for this link"))
        abort(_gone(raise_not_found))
    name = (link.item.name or "document").replace("/", "-")[:150]
    return _send(link.item.storage_key, "application/pdf", download_name=f"{name}.pdf")
