"""Pages of conversation review: the review queue, the player (``/recordings/<id>``: waveform,
transcript, tracker marks, comments, scorecard, share, clip), transcript search, trackers,
rubrics, the library (and the clip's audio), the rep's feedback. Views parse the request, call
the services and render; the player's behaviour is ``crm/static/reviews/player.js``."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from crm.errors import ServiceError, ValidationFailed
from crm.i18n import _ as gettext
from crm.reviews import clips, services
from crm.reviews.models import SAID_BY
from crm.reviews.transcripts import MAX_BYTES as TRANSCRIPT_MAX_BYTES
from crm.timeutil import utcnow
from crm.web.access import SALES, roles
from crm.web.formhelpers import CrmForm, abort_for, commit_or_abort, commit_or_refuse, int_arg, text_arg

bp = Blueprint("reviews", __name__)
REVIEWERS = ("manager", "admin")
QUEUE_FILTERS = ("rep_id", "outcome", "date_from", "date_to", "min_minutes", "max_minutes", "tracker_id",
                 "talk_min", "talk_max", "page")


def _form_data(*names: str) -> dict:
    return {name: request.form.get(name, "") for name in names}


def read_or_abort(action):
    """A read for a page: a service's not-found or refusal becomes its error page."""
    try:
        return action()
    except ServiceError as exc:
        abort_for(exc)


def expired_form() -> ValidationFailed:
    return ValidationFailed(gettext("The form expired; please reload the page and try again."))


def submit(action):
    """Run a form's service call and commit: ``(result, None)``, or ``(None, refusal)`` after a
    rollback for bad input (its page shows the fields); not found / forbidden become error pages."""
    if not CrmForm().validate_on_submit():
        return None, expired_form()
    try:
        return commit_or_refuse(action, refusals=(ValidationFailed,))
    except ServiceError as exc:
        abort_for(exc)


# --- the queue ---------------------------------------------------------------------------------

@bp.route("/reviews/queue")
@roles(*REVIEWERS)
def queue():
    data = {k: v for k, v in request.args.items() if k in QUEUE_FILTERS and v.strip()}
    try:
        page, _filters = services.review_queue(current_user, data)
        errors: dict[str, str] = {}
    except ValidationFailed as exc:
        page, _filters = services.review_queue(current_user, {"page": 1})
        errors = exc.fields or {"filters": exc.message}
    return render_template(
        "reviews/queue.html", page=page, errors=errors, args=data, hits=services.hit_counts([r.id for r in page.items]),
        reps=services.team_reps(current_user), trackers=services.list_trackers(current_user),
        outcomes=OUTCOME_CHOICES), 422 if errors else 200


OUTCOME_CHOICES = (("connected", "Connected"), ("meeting_booked", "Meeting booked"), ("callback", "Call back later"),
                   ("not_interested", "Not interested"), ("voicemail", "Left voicemail"))


# --- the player --------------------------------------------------------------------------------

def player_context(recording_id: int) -> dict:
    actor = current_user
    recording = services.recording_for(actor, recording_id)
    visible = services.review_visible(actor, recording)
    reviewer = services.is_reviewer(actor) and (recording.user_id != actor.id or actor.role == "admin")
    lines = services.transcript_lines(actor, recording.id)
    hits = services.tracker_hits(actor, recording.id)
    threads = services.comments(actor, recording.id) if visible else []
    data = {
        "duration": recording.duration_seconds or 0,
        "peaks": recording.waveform or [],
        "segments": recording.segments or {},
        "marks": [{"at": h.at_seconds, "label": f"{item.tracker.name}: {h.phrase}"}
                  for item in hits for h in item.marks],
        "comments": [{"at": t.comment.at_seconds, "id": t.comment.id} for t in threads],
    }
    return {
        "recording": recording, "visible": visible, "reviewer": reviewer, "lines": lines, "hits": hits,
        "threads": threads, "scorecards": services.scorecards(actor, recording.id) if visible else [],
        "review": services.review_state(actor, recording.id), "rubrics": services.list_rubrics(actor),
        "folders": services.list_folders(actor) if reviewer else [],
        "clips": services.clips_of_recording(actor, recording.id),
        "player_data": data, "form": CrmForm(formdata=None), "errors": {}, "values": {},
        "audio_url": audio_url(recording),
    }


def audio_url(recording) -> str | None:
    return url_for("recordings.audio", recording_id=recording.id) if recording.storage_key else None


@bp.route("/recordings/<int:recording_id>")
@roles(*SALES)
def player(recording_id: int):
    return render_template("reviews/player.html", **read_or_abort(lambda: player_context(recording_id)))


def _back(recording_id: int, anchor: str | None = None):
    return redirect(url_for(".player", recording_id=recording_id, _anchor=anchor))


def _refuse(recording_id: int, exc: ServiceError, section: str):
    """The player again with the section's errors and what was typed (422)."""
    context = read_or_abort(lambda: player_context(recording_id))
    context.update(errors={f"{section}.{k}": v for k, v in exc.fields.items()} | {section: exc.message},
                   values=request.form.to_dict())
    return render_template("reviews/player.html", **context), exc.status


def _act(recording_id: int, section: str, action, anchor, message: str):
    result, refusal = submit(action)
    if refusal is not None:
        return _refuse(recording_id, refusal, section)
    flash(message, "success")
    return _back(recording_id, anchor(result) if callable(anchor) else anchor)


@bp.route("/recordings/<int:recording_id>/comments", methods=["POST"])
@roles(*SALES)
def comment(recording_id: int):
    data = _form_data("at_seconds", "body", "parent_id")
    return _act(recording_id, "comment", lambda: services.add_comment(current_user, recording_id, data, now=utcnow()),
                lambda c: f"comment-{c.parent_id or c.id}", "Comment saved.")


@bp.route("/recordings/<int:recording_id>/scorecard", methods=["POST"])
@roles(*REVIEWERS)
def scorecard(recording_id: int):
    rubric_id = request.form.get("rubric_id", "")
    ratings = [{"criterion_id": key.removeprefix("rating-"), "rating": value,
                "note": request.form.get("note-" + key.removeprefix("rating-"), "")}
               for key, value in request.form.items() if key.startswith("rating-")]
    data = {"rubric_id": rubric_id, "ratings": ratings}
    return _act(recording_id, "scorecard",
                lambda: services.save_scorecard(current_user, recording_id, data, now=utcnow()),
                "scorecards", "Scorecard saved.")


@bp.route("/recordings/<int:recording_id>/reviewed", methods=["POST"])
@roles(*REVIEWERS)
def reviewed(recording_id: int):
    return _act(recording_id, "review", lambda: services.mark_reviewed(current_user, recording_id, now=utcnow()),
                "review", "Marked as reviewed.")


@bp.route("/recordings/<int:recording_id>/share", methods=["POST"])
@roles(*REVIEWERS)
def share(recording_id: int):
    data = _form_data("feedback")
    return _act(recording_id, "share",
                lambda: services.share_feedback(current_user, recording_id, data, now=utcnow()),
                "review", "Feedback shared with the rep.")


@bp.route("/recordings/<int:recording_id>/clips", methods=["POST"])
@roles(*REVIEWERS)
def add_clip(recording_id: int):
    data = _form_data("folder_id", "start_seconds", "end_seconds", "note")
    return _act(recording_id, "clip", lambda: services.add_clip(current_user, recording_id, data, now=utcnow()),
                "clips", "Clip added to the library.")


@bp.route("/recordings/<int:recording_id>/transcript", methods=["POST"])
@roles(*SALES)
def upload_transcript(recording_id: int):
    upload = request.files.get("transcript")

    def save():
        if upload is None or not upload.filename:
            raise ValidationFailed(
                gettext("choose a transcript file"), {"transcript": gettext("required: a .vtt, .srt or .json file")})
        raw = upload.stream.read(TRANSCRIPT_MAX_BYTES + 1)
        return services.save_transcript(current_user, recording_id, raw, now=utcnow(), filename=upload.filename)

    return _act(recording_id, "transcript", save, "transcript", "Transcript saved; trackers recounted.")


# --- search, trackers, rubrics -----------------------------------------------------------------

@bp.route("/reviews/search")
@roles(*SALES)
def search():
    query = text_arg("q", 200)
    page, error = None, None
    if query:
        try:
            page = services.search_transcripts(current_user, query, page=int_arg("page") or 1)
        except ValidationFailed as exc:
            error = exc.fields.get("q", exc.message)
    return render_template("reviews/search.html", q=query, page=page, error=error), 422 if error else 200


@bp.route("/reviews/trackers")
@roles(*SALES)
def trackers():
    return render_trackers({}, {}, 200)


@bp.route("/reviews/trackers", methods=["POST"])
@roles(*REVIEWERS)
def create_tracker():
    values = _form_data("name", "phrases", "said_by")
    _, refusal = submit(lambda: services.create_tracker(current_user, values, now=utcnow()))
    if refusal is None:
        flash(gettext("Tracker saved; every transcript was recounted."), "success")
        return redirect(url_for(".trackers"))
    return render_trackers(refusal.fields or {"form": refusal.message}, values, refusal.status)


def render_trackers(errors: dict, values: dict, status: int):
    return render_template("reviews/trackers.html", trackers=services.list_trackers(current_user),
                           form=CrmForm(formdata=None), errors=errors, values=values, said_by=SAID_BY,
                           can_edit=services.is_reviewer(current_user)), status


@bp.route("/reviews/trackers/<int:tracker_id>/delete", methods=["POST"])
@roles(*REVIEWERS)
def delete_tracker(tracker_id: int):
    if CrmForm().validate_on_submit():
        commit_or_abort(lambda: services.delete_tracker(current_user, tracker_id))
        flash(gettext("Tracker deleted."), "success")
    return redirect(url_for(".trackers"))


@bp.route("/reviews/rubrics")
@roles(*SALES)
def rubrics():
    return render_rubrics({}, {}, 200)


@bp.route("/reviews/rubrics", methods=["POST"])
@roles(*REVIEWERS)
def create_rubric():
    values = request.form.to_dict()
    names = request.form.getlist("criterion_name")
    weights = request.form.getlist("criterion_weight")
    criteria = [{"name": n, "weight": weights[i] if i < len(weights) else ""}
                for i, n in enumerate(names) if n.strip()]
    data = {"name": values.get("name", ""), "description": values.get("description", ""),
            "scoring": values.get("scoring", "mean"), "criteria": criteria}
    _, refusal = submit(lambda: services.create_rubric(current_user, data, now=utcnow()))
    if refusal is None:
        flash(gettext("Rubric saved."), "success")
        return redirect(url_for(".rubrics"))
    return render_rubrics(refusal.fields or {"form": refusal.message}, values, refusal.status)


def render_rubrics(errors: dict, values: dict, status: int):
    return render_template("reviews/rubrics.html", rubrics=services.list_rubrics(current_user),
                           form=CrmForm(formdata=None), errors=errors, values=values,
                           can_edit=services.is_reviewer(current_user)), status


# --- the library ---------------------------------------------------------------------------------

@bp.route("/library")
@roles(*SALES)
def library():
    return render_library({}, {}, 200)


@bp.route("/library", methods=["POST"])
@roles(*REVIEWERS)
def create_folder():
    values = _form_data("name", "description")
    _, refusal = submit(lambda: services.create_folder(current_user, values, now=utcnow()))
    if refusal is None:
        flash(gettext("Folder created."), "success")
        return redirect(url_for(".library"))
    return render_library(refusal.fields or {"form": refusal.message}, values, refusal.status)


def render_library(errors: dict, values: dict, status: int):
    return render_template("reviews/library.html", folders=services.list_folders(current_user),
                           form=CrmForm(formdata=None), errors=errors, values=values,
                           can_edit=services.is_reviewer(current_user)), status


@bp.route("/library/clips/<int:clip_id>/audio")
@roles(*SALES)
def clip_audio(clip_id: int):
    """The clip's span as a WAV (cut once, then served from the cache with range support)."""
    found = read_or_abort(lambda: services.clip(current_user, clip_id))
    path = clips.clip_file(found)
    response: Response = send_file(path, mimetype="audio/wav", conditional=True, max_age=0,
                                   download_name=f"clip-{found.id}.wav")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/library/clips/<int:clip_id>/delete", methods=["POST"])
@roles(*REVIEWERS)
def delete_clip(clip_id: int):
    if CrmForm().validate_on_submit():
        commit_or_abort(lambda: services.delete_clip(current_user, clip_id))
        flash(gettext("Clip removed."), "success")
    return redirect(url_for(".library"))


# --- the rep's side ------------------------------------------------------------------------------

@bp.route("/reviews/mine")
@roles(*SALES)
def mine():
    own, team = read_or_abort(lambda: services.talk_figures(current_user))
    return render_template("reviews/mine.html", page=services.my_reviews(current_user, page=int_arg("page") or 1),
                           own=own, team=team)
