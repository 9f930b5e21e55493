"""Pages of the recordings feature: attach a recording to a call (upload or URL), a recording's
status page (analysis progress, then the figures), and the audio for the page's <audio>
element (session auth, byte ranges). The review player is the reviews feature's. Views parse,
call the services, commit and render."""
from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.errors import ServiceError, ValidationFailed
from crm.extensions import csrf
from crm.i18n import _
from crm.recordings import services, storage
from crm.recordings.forms import AttachRecordingForm
from crm.recordings.serve import send_audio, upload_limit
from crm.timeutil import utcnow
from crm.web.access import SALES, roles
from crm.web.formhelpers import abort_for, apply_service_errors, commit_or_abort, commit_or_show_errors

bp = Blueprint("recordings", __name__)

# While the worker analyses, the status page reloads itself this often (seconds).
REFRESH_SECONDS = 3


@bp.route("/recordings/call/<int:activity_id>", methods=["GET", "POST"])
@roles(*SALES)
def attach(activity_id: int):
    """Exempt from the app-wide CSRF check only so the size limit can be raised before the
    body is read; the check runs right after (``csrf.protect``)."""
    if request.method == "POST":
        upload_limit()
        csrf.protect()
    try:
        activity = services.call_activity(current_user, activity_id)
    except ServiceError as exc:
        abort_for(exc)
    existing = services.recording_for_call(current_user, activity.id)
    form = AttachRecordingForm()
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        recording, status = commit_or_show_errors(form, lambda: _attach(activity.id, form),
                                                  apply_errors=_errors_on_form)
        if recording is not None:
            flash(_("Recording attached.") if recording.status == "linked" else
                  _("Recording uploaded: it is being analysed."), "success")
            return redirect(url_for(".detail", recording_id=recording.id))
    elif request.method == "POST":
        status = 422
    return render_template("recordings/attach.html", form=form, activity=activity, existing=existing,
                           max_mb=storage.max_bytes() // (1024 * 1024)), status


def _attach(activity_id: int, form: AttachRecordingForm):
    upload = form.file.data if getattr(form.file.data, "filename", "") else None
    url = (form.url.data or "").strip()
    if upload is None and not url:
        raise ValidationFailed(_("send a file or a URL"), {"file": _("choose an audio file (or give a URL)")})
    if upload is not None and url:
        raise ValidationFailed(_("send a file or a URL"), {"url": _("a file or a URL, not both")})
    if url:
        return services.attach_recording_url(current_user, activity_id, url, now=utcnow())
    return services.upload_recording(current_user, activity_id, upload, now=utcnow(),
                                     channels=form.channels.data or None)


def _errors_on_form(form, exc: ServiceError) -> None:
    apply_service_errors(form, exc, aliases={"call_id": "file"})


# /recordings/<id> is the review player (crm.reviews); this page is the file and its analysis status.
@bp.route("/recordings/<int:recording_id>/status")
@roles(*SALES)
def detail(recording_id: int):
    try:
        recording = services.recording_for(current_user, recording_id)
    except ServiceError as exc:
        abort_for(exc)
    working = recording.status in ("pending", "analysing")
    return render_template("recordings/detail.html", recording=recording,
                           analysis=services.analysis_summary(recording),
                           refresh=REFRESH_SECONDS if working else None)


@bp.route("/recordings/<int:recording_id>/audio")
@roles(*SALES)
def audio(recording_id: int):
    try:
        recording, path = services.audio_file(current_user, recording_id)
    except ServiceError as exc:
        abort_for(exc)
    return send_audio(recording, path)


@bp.route("/recordings/<int:recording_id>/retry", methods=["POST"])
@roles(*SALES)
def retry(recording_id: int):
    commit_or_abort(lambda: services.retry_analysis(current_user, recording_id, utcnow()))
    flash(_("The analysis will run again."), "success")
    return redirect(url_for(".detail", recording_id=recording_id))


def init(app: Flask) -> None:
    """The manifest's ``setup``: the upload page's CSRF check runs in the view (see ``attach``);
    stored files follow their transaction (``storage.init``)."""
    csrf.exempt(f"{attach.__module__}.{attach.__name__}")
    storage.init(app)
