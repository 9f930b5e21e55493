"""Pages of the documents feature: the team library (folders, upload a PDF or a video, search
in names and page text), a content page (status, pages, share links per contact, revoke, the
analytics), a preview for signed-in users that tracks nothing, and the contact page's panel.
Views parse, call the services, commit and render."""
from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from crm.contacts.services import ContactPanel, find_contact_by_email
from crm.documents import services, storage
from crm.documents.models import ContentLink
from crm.errors import ServiceError, ValidationFailed
from crm.extensions import csrf, db
from crm.i18n import _
from crm.timeutil import utcnow
from crm.validation import as_id
from crm.web.access import SALES, roles
from crm.web.formhelpers import abort_for, commit_or_abort
from crm.web.pagination import clamp_page

bp = Blueprint("documents", __name__)

REFRESH_SECONDS = 3
UPLOAD_OVERHEAD_BYTES = 64 * 1024


@bp.route("/content")
@roles(*SALES)
def library():
    folder_id = as_id(request.args.get("folder"))
    kind = request.args.get("kind") if request.args.get("kind") in ("document", "video") else None
    page, per_page = clamp_page(as_id(request.args.get("page")) or 1, 50)
    q = request.args.get("q", "")[:200]
    found = services.list_items(current_user, kind=kind, folder_id=folder_id, q=q, page=page, per_page=per_page)
    return render_template("documents/library.html", page=found, folders=services.list_folders(current_user),
                           folder_id=folder_id, kind=kind, q=q, errors={},
                           max_document_mb=storage.max_bytes("document") // (1024 * 1024),
                           max_video_mb=storage.max_bytes("video") // (1024 * 1024))


@bp.route("/content/folders", methods=["POST"])
@roles(*SALES)
def create_folder():
    try:
        folder = services.create_folder(current_user, {"name": request.form.get("name", "")}, utcnow())
        db.session.commit()
    except (ValidationFailed, ServiceError) as exc:
        db.session.rollback()
        flash(exc.fields.get("name") and f"{exc.message}: {exc.fields['name']}" or exc.message, "error")
        return redirect(url_for(".library"))
    flash(_("Folder created."), "success")
    return redirect(url_for(".library", folder=folder.id))


@bp.route("/content/upload", methods=["POST"])
@roles(*SALES)
def upload():
    """Exempt from the app-wide CSRF check only so the size limit can be raised before the body
    is read; the check runs right after (``csrf.protect``)."""
    kind = request.args.get("kind") if request.args.get("kind") in ("document", "video") else "document"
    request.max_content_length = storage.max_bytes(kind) + storage.max_bytes("image") + UPLOAD_OVERHEAD_BYTES
    csrf.protect()
    data = {name: request.form.get(name, "") for name in ("name", "folder_id", "url", "use_in_emails")}
    try:
        if kind == "document":
            item = services.create_document(current_user, data, request.files.get("file"), utcnow())
        else:
            item = services.create_video(current_user, data, request.files.get("file"), request.files.get("thumbnail"),
                                         utcnow())
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        if not isinstance(exc, ValidationFailed) and exc.status not in (409, 413):
            abort_for(exc)
        found = services.list_items(current_user, page=1, per_page=50)
        return render_template("documents/library.html", page=found, folders=services.list_folders(current_user),
                               folder_id=None, kind=None, q="", errors={**exc.fields, "_kind": kind},
                               error_message=exc.message,
                               max_document_mb=storage.max_bytes("document") // (1024 * 1024),
                               max_video_mb=storage.max_bytes("video") // (1024 * 1024)), 422
    flash(_("Uploaded: it is being processed.") if item.status == "queued" else _("Saved."), "success")
    return redirect(url_for(".detail", item_id=item.id))


@bp.route("/content/<int:item_id>")
@roles(*SALES)
def detail(item_id: int):
    try:
        found = services.item_analytics(current_user, item_id)
    except ServiceError as exc:
        abort_for(exc)
    item = found["item"]
    links = services.links_of(item)
    working = item.status in ("queued", "running")
    return render_template("documents/detail.html", item=item, analytics=found, links=links,
                           folders=services.list_folders(current_user),
                           urls={link.id: services.link_url(link) for link in links},
                           pages=services.pages_of(item) if item.kind == "document" else [],
                           refresh=REFRESH_SECONDS if working else None, now=utcnow(),
                           max_seconds=max([p["seconds"] for p in found["seconds_per_page"]] or [0]) or 1)


@bp.route("/content/<int:item_id>/edit", methods=["POST"])
@roles(*SALES)
def edit(item_id: int):
    data = {"name": request.form.get("name", ""), "folder_id": request.form.get("folder_id") or None}
    try:
        services.update_item(current_user, item_id, data)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        if not isinstance(exc, ValidationFailed):
            abort_for(exc)
        flash(_("Not saved: %(why)s", why="; ".join(exc.fields.values()) or exc.message), "error")
        return redirect(url_for(".detail", item_id=item_id))
    flash(_("Saved."), "success")
    return redirect(url_for(".detail", item_id=item_id))


@bp.route("/content/<int:item_id>/links", methods=["POST"])
@roles(*SALES)
def share(item_id: int):
    raw_contact = request.form.get("contact", "").strip()
    contact_id = as_id(raw_contact)
    if contact_id is None and "@" in raw_contact:
        found = find_contact_by_email(raw_contact)
        contact_id = found.id if found else None
    if contact_id is None:
        flash(_("The link was not created: no such contact (give their email or id)."), "error")
        return redirect(url_for(".detail", item_id=item_id))
    data = {"contact_id": contact_id, "expires_at": request.form.get("expires_at") or None,
            "allow_download": request.form.get("allow_download")}
    try:
        link = services.create_link(current_user, item_id, data, utcnow())
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        if not isinstance(exc, ValidationFailed):
            abort_for(exc)
        flash(_("The link was not created: %(why)s", why="; ".join(exc.fields.values()) or exc.message), "error")
        return redirect(url_for(".detail", item_id=item_id))
    flash(_("Share link created for %(name)s: copy it below.", name=link.contact.full_name), "success")
    return redirect(url_for(".detail", item_id=item_id, _anchor=f"link-{link.id}"))


@bp.route("/content/links/<int:link_id>/revoke", methods=["POST"])
@roles(*SALES)
def revoke(link_id: int):
    link: ContentLink = commit_or_abort(lambda: services.revoke_link(current_user, link_id, utcnow()))
    flash(_("Link revoked: it no longer opens."), "success")
    return redirect(url_for(".detail", item_id=link.item_id))


@bp.route("/content/<int:item_id>/email-video", methods=["POST"])
@roles(*SALES)
def use_in_emails(item_id: int):
    commit_or_abort(lambda: services.set_email_video(current_user, item_id, utcnow()))
    flash(_("Your email templates' {{ video }} now shows this video."), "success")
    return redirect(url_for(".detail", item_id=item_id))


@bp.route("/content/<int:item_id>/retry", methods=["POST"])
@roles(*SALES)
def retry(item_id: int):
    commit_or_abort(lambda: services.retry_processing(current_user, item_id))
    flash(_("It will be processed again."), "success")
    return redirect(url_for(".detail", item_id=item_id))


@bp.route("/content/<int:item_id>/preview/<int:number>.png")
@roles(*SALES)
def preview_page(item_id: int, number: int):
    """A page image for the rep's own pages (no link, no tracking)."""
    try:
        item = services.item_for(current_user, item_id, "document")
    except ServiceError as exc:
        abort_for(exc)
    page = next((p for p in services.pages_of(item) if p.number == number), None)
    found = storage.path_for(page.image_key) if page else None
    if found is None:
        abort(404)
    return send_file(found, mimetype="image/png", conditional=True, max_age=0)


def _panel(contact, viewer, now):
    return services.contact_content(contact.id)


CONTACT_PANEL = ContactPanel(key="documents", template="documents/_contact_panel.html", load=_panel,
                             column="main", order=35)


def init(app: Flask) -> None:
    """The manifest's ``setup``: the upload's CSRF check runs in the view (see ``upload``);
    stored files follow their transaction (``storage.init``)."""
    csrf.exempt(f"{upload.__module__}.{upload.__name__}")
    storage.init(app)
