"""The status page of a background job: progress while it runs (the page reloads itself every
few seconds, no script needed), then the result the job's kind shows, or why it failed."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from crm.errors import ServiceError
from crm.jobs.runner import KINDS, get_job_for
from crm.web.access import EVERYONE, roles
from crm.web.formhelpers import abort_for

bp = Blueprint("jobs", __name__)

REFRESH_SECONDS = 2


@bp.route("/jobs/<int:job_id>")
@roles(*EVERYONE)
def show_job(job_id: int):
    try:
        job = get_job_for(current_user, job_id)
    except ServiceError as exc:
        abort_for(exc)
    return render_template("jobs/status.html", job=job, kind=KINDS.get(job.kind),
                           refresh=REFRESH_SECONDS if job.is_open else None)
