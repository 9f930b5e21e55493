"""Pages of the tracking feature (blueprint ``bp``): companies on the site this week (sales),
tracked origins and IP ranges (admins), and the contact-page panel. The public endpoints (pixel,
redirect, snippet, intake) are ``public_views.bp``; the ``crm tracking`` CLI is ``cli.py``."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from crm.contacts.services import ContactPanel
from crm.i18n import _, _l
from crm.jobs.runner import open_job
from crm.timeutil import utcnow
from crm.tracking import background, ipranges, origins, queries
from crm.web.access import SALES, roles
from crm.web.formhelpers import CrmForm, commit_or_abort, commit_or_show_errors, int_arg

bp = Blueprint("tracking", __name__)


class OriginForm(CrmForm):
    origin = StringField(_l("Website origin"), validators=[DataRequired(), Length(max=300)],
                         render_kw={"placeholder": "https://www.example.com"})


class RangesForm(CrmForm):
    file = FileField(_l("CSV file"))


class ConfirmForm(CrmForm):
    pass


@bp.route("/tracking/companies")
@roles(*SALES)
def companies_visiting():
    days = min(int_arg("days") or 7, 90)
    visits = queries.companies_visiting(utcnow(), days=days)
    return render_template("tracking/companies.html", visits=visits, days=days)


@bp.route("/tracking/admin/origins", methods=["GET", "POST"])
@roles("admin")
def tracked_origins():
    form = OriginForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            row, status = commit_or_show_errors(
                form, lambda: origins.add_origin(current_user, form.origin.data, utcnow()))
            if row is not None:
                flash(_("%(origin)s is now tracked.", origin=row.origin), "success")
                return redirect(url_for(".tracked_origins"))
    base = request.host_url.rstrip("/")
    return render_template("tracking/origins.html", form=form, origins=origins.list_origins(),
                           delete_form=ConfirmForm(formdata=None), snippet_url=f"{base}/t/snippet.js",
                           recompute_job=open_job(background.KIND)), status


@bp.route("/tracking/admin/origins/<int:origin_id>/delete", methods=["POST"])
@roles("admin")
def delete_origin(origin_id: int):
    form = ConfirmForm()
    if form.validate_on_submit():
        commit_or_abort(lambda: origins.remove_origin(current_user, origin_id))
        flash(_("Origin removed."), "success")
    return redirect(url_for(".tracked_origins"))


@bp.route("/tracking/admin/ip-ranges", methods=["GET", "POST"])
@roles("admin")
def ip_ranges():
    form = RangesForm()
    status = 200
    if request.method == "POST":
        status = 422
        upload = request.files.get("file")
        if not form.validate_on_submit():
            pass
        elif upload is None or not upload.filename:
            form.file.errors = ["choose a CSV file"]
        else:
            raw = upload.read(ipranges.MAX_BYTES + 1)
            if len(raw) > ipranges.MAX_BYTES:
                form.file.errors = [f"at most {ipranges.MAX_BYTES // (1024 * 1024)} MB"]
            else:
                text = raw.decode("utf-8-sig", errors="replace")
                result, status = commit_or_show_errors(
                    form, lambda: ipranges.import_ranges(current_user, text, utcnow()),
                    apply_errors=lambda f, exc: _file_errors(f, exc))
                if result is not None:
                    flash(_("Imported %(imported)s ranges (%(ipv4)s IPv4, %(ipv6)s IPv6).",
                            imported=result.imported, ipv4=result.ipv4, ipv6=result.ipv6), "success")
                    return redirect(url_for(".ip_ranges"))
    return render_template("tracking/ip_ranges.html", form=form, count=ipranges.range_count(),
                           ranges=ipranges.sample_ranges()), status


def _file_errors(form, exc) -> None:
    form.form_errors.append(exc.message)
    form.file.errors = [f"{key}: {message}" for key, message in exc.fields.items()]


@bp.route("/tracking/admin/recompute", methods=["POST"])
@roles("admin")
def recompute():
    """Queue the recompute for the worker (it replays every event: far too long for a
    request) and follow it on its status page; a second click follows the first job."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for(".tracked_origins"))
    job, new = commit_or_abort(lambda: background.queue_recompute(current_user, utcnow()))
    flash(_("Recomputing every verdict in the background.") if new else _("Already queued: here is its progress."),
          "success")
    return redirect(url_for("jobs.show_job", job_id=job.id), 303)


# --- the contact page panel -------------------------------------------------------------------

def _panel(contact, viewer, now) -> dict:
    return {"events": queries.contact_events(contact.id), "counts": queries.human_counts(contact.id)}


CONTACT_PANEL = ContactPanel(key="tracking", template="tracking/_contact_panel.html",
                             load=_panel, column="main", order=30)

