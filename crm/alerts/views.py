"""Pages of the alerts feature: the alerts list with mark-read, and the cheap poll the
browser script (``crm/static/alerts.js``) calls every few seconds."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from crm.alerts import services
from crm.i18n import ngettext
from crm.timeutil import utcnow
from crm.web.access import EVERYONE, roles
from crm.web.formhelpers import CrmForm, commit_or_abort, int_arg

bp = Blueprint("alerts", __name__)


def alert_json(alert) -> dict:
    return {"id": alert.id, "kind": alert.kind, "message": alert.text, "url": safe_url(alert.url),
            "contact_id": alert.contact_id, "created_at": alert.created_at.isoformat()}


def safe_url(url: str | None) -> str | None:
    """Only links inside the app (a path): an alert must never send a rep elsewhere."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return None


@bp.route("/alerts/poll")
@roles(*EVERYONE)
def poll():
    """``after``: the last alert id the page has seen (0 or absent: only the current state)."""
    after = request.args.get("after", "")
    user_id = current_user.id
    if not re.fullmatch(r"[0-9]{1,10}", after) or int(after) > 2**31 - 1:  # isdigit() accepts "²"
        new, last_id = [], services.latest_alert_id(user_id)
    else:
        new = services.alerts_after(user_id, int(after))
        last_id = new[-1].id if new else int(after)
    response = jsonify({
        "alerts": [alert_json(a) for a in new], "last_id": last_id,
        "unread": services.unread_count(user_id),
        "interval_ms": current_app.config.get("ALERTS_POLL_INTERVAL_MS", 4000),
    })
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/alerts")
@roles(*EVERYONE)
def list_alerts():
    unread_only = request.args.get("show") == "unread"
    page = services.list_alerts(current_user.id, unread_only=unread_only, page=int_arg("page") or 1)
    return render_template("alerts/list.html", page=page, unread_only=unread_only, form=CrmForm(formdata=None),
                           safe_url=safe_url)


@bp.route("/alerts/<int:alert_id>/read", methods=["POST"])
@roles(*EVERYONE)
def mark_read(alert_id: int):
    if CrmForm().validate_on_submit():
        alert = commit_or_abort(lambda: services.mark_read(current_user.id, alert_id, utcnow()))
        target = safe_url(alert.url)
        if request.form.get("open") and target:
            return redirect(target)
    return redirect(url_for(".list_alerts"))


@bp.route("/alerts/read-all", methods=["POST"])
@roles(*EVERYONE)
def mark_all_read():
    if CrmForm().validate_on_submit():
        count = commit_or_abort(lambda: services.mark_all_read(current_user.id, utcnow()))
        flash(ngettext("%(num)s alert marked as read.", "%(num)s alerts marked as read.", count), "success")
    return redirect(url_for(".list_alerts"))
