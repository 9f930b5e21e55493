"""Pages of the mail feature: the rep's outbox (scheduled, sent, failed; cancel; a one-off
"send later" form; one email's content), the rep's mailbox connection (IMAP, a section of the
account page) and the public unsubscribe page.

Unsubscribe (RFC 8058): ``GET /u/<token>`` (and HEAD, which Flask routes to the same view)
only shows a confirmation page, because corporate link scanners fetch every link in a message
and must never unsubscribe anyone; ``POST`` unsubscribes. The POST is exempt from CSRF: mail
clients' one-click POST carries no form token, and the signed token in the URL is the proof (it
names one email we sent).
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateTimeLocalField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.contacts.models import Contact
from crm.contacts.services import ContactPanel
from crm.errors import Conflict, PermissionDenied, ServiceError
from crm.extensions import csrf, db, limiter
from crm.i18n import _ as gettext
from crm.i18n import _l, public_page_language
from crm.mail import imap_accounts
from crm.mail.models import InboundMessage, OutboundEmail
from crm.mail.outbound import outbox
from crm.mail.transport import needs_smtputf8
from crm.mail.unsubscribe import contact_for_token, unsubscribe_contact
from crm.policy import can_edit_owned
from crm.timeutil import is_valid_timezone, utcnow
from crm.validation import get_by_id
from crm.web.access import SALES, public, roles
from crm.web.formhelpers import apply_service_errors, choice_list, commit_or_flash, commit_or_show_errors, int_arg

bp = Blueprint("mail", __name__)

BOXES = (("scheduled", "Scheduled"), ("sent", "Sent"), ("failed", "Failed & cancelled"))


# --- outbox ---------------------------------------------------------------------------------

class SendLaterForm(FlaskForm):
    contact_id = SelectField(_l("To"), validators=[DataRequired()], choices=[])
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=998)])
    text_body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=100_000)])
    send_at = DateTimeLocalField(_l("Send at (your time zone; empty: now)"), validators=[Optional()],
                                 format="%Y-%m-%dT%H:%M")


def _zone() -> ZoneInfo:
    name = getattr(current_user, "time_zone", None)
    return ZoneInfo(name if is_valid_timezone(name) else "UTC")


def _my_contacts(limit: int = 500):
    query = select(Contact).where(Contact.do_not_contact.is_(False), Contact.unsubscribed.is_(False))
    if current_user.role != "admin":
        query = query.where(Contact.owner_id == current_user.id)
    return db.session.scalars(query.order_by(Contact.last_name, Contact.first_name).limit(limit)).all()


def _send_later_form() -> SendLaterForm:
    form = SendLaterForm()
    form.contact_id.choices = choice_list(
        [("", "Choose a contact")] + [(str(c.id), f"{c.full_name} <{c.email}>") for c in _my_contacts()])
    return form


@bp.route("/outbox")
@roles(*SALES)
def outbox_page():
    box = request.args.get("box", "scheduled")
    box = box if box in dict(BOXES) else "scheduled"
    try:
        page = outbox.list_outbox(current_user, box=box, user_id=int_arg("user"), page=int_arg("page") or 1)
    except ServiceError:
        abort(404)
    return render_template("mail/outbox.html", page=page, box=box, boxes=BOXES, form=_send_later_form(),
                           zone=_zone())


@bp.route("/outbox/send-later", methods=["POST"])
@roles(*SALES)
def send_later():
    form = _send_later_form()
    if not form.validate_on_submit():
        flash(gettext("Please fill in the contact, subject and message."), "error")
        return redirect(url_for("mail.outbox_page"))
    now = utcnow()
    contact = get_by_id(Contact, form.contact_id.data)
    if contact is None or not can_edit_owned(current_user, contact.owner_id,
                                             contact.owner.manager_id if contact.owner else None):
        abort(404)
    due_at = now
    if form.send_at.data:
        due_at = form.send_at.data.replace(tzinfo=_zone()).astimezone(timezone.utc)
    email, scheduled = commit_or_flash(
        lambda: outbox.send_later(actor=current_user, contact=contact, subject=form.subject.data,
                                  text_body=form.text_body.data, html_body=None, due_at=due_at, now=now),
        refusals=(ServiceError,),
        message=lambda exc: f"Not scheduled: {exc.message} ({'; '.join(exc.fields.values())})")
    if not scheduled:
        return redirect(url_for("mail.outbox_page"))
    flash(gettext("Scheduled for %(astimezone)s.",
                  astimezone=email.due_at.astimezone(_zone()).strftime('%d %b %Y %H:%M')), "success")
    return redirect(url_for("mail.outbox_page"))


@bp.route("/outbox/<int:email_id>")
@roles(*SALES)
def show_email(email_id: int):
    try:
        email = outbox.get_email(current_user, email_id)
    except ServiceError:
        abort(404)
    contact = db.session.get(Contact, email.contact_id) if email.contact_id else None
    return render_template("mail/email.html", email=email, contact=contact, zone=_zone())


@bp.route("/outbox/<int:email_id>/cancel", methods=["POST"])
@roles(*SALES)
def cancel_email(email_id: int):
    # Not found (or not theirs to see): a 404 page; any other refusal is flashed.
    _, cancelled = commit_or_flash(lambda: outbox.cancel_email(current_user, email_id, utcnow()),
                                   refusals=(Conflict, PermissionDenied))
    back = url_for("mail.outbox_page", box=request.form.get("box") if request.form.get("box") in dict(BOXES) else None)
    if not cancelled:
        return redirect(back)
    flash(gettext("Email cancelled."), "success")
    return redirect(back)


@bp.route("/outbox/<int:email_id>/retry", methods=["POST"])
@roles(*SALES)
def retry_email(email_id: int):
    _, queued = commit_or_flash(lambda: outbox.retry_email(current_user, email_id, utcnow()),
                                refusals=(Conflict, PermissionDenied))
    if queued:
        flash(gettext("Email queued again: it leaves with the next send."), "success")
    return redirect(url_for("mail.outbox_page", box="scheduled" if queued else "failed"))


# --- unsubscribe (public) ---------------------------------------------------------------------

def _unsubscribe_limit() -> str:
    return current_app.config["MAIL_UNSUBSCRIBE_RATE_LIMIT"]


@bp.route("/u/<token>", methods=["GET", "POST"])
@public
@csrf.exempt
@limiter.limit(_unsubscribe_limit)
def unsubscribe(token: str):
    contact, email = contact_for_token(token)
    if contact is None:
        return render_template("mail/unsubscribe.html", invalid=True), 404
    if request.method != "POST":  # GET and HEAD (link scanners) only show the confirmation
        with public_page_language(contact):  # the contact's language unless they switched
            return render_template("mail/unsubscribe.html", token=token, done=contact.unsubscribed,
                                   address=_masked(contact.email))
    unsubscribe_contact(contact, utcnow(), via="one_click" if request.form.get("List-Unsubscribe") else "page",
                        email=email)
    db.session.commit()
    with public_page_language(contact):
        return render_template("mail/unsubscribe.html", done=True, address=_masked(contact.email))


def _masked(address: str) -> str:
    """Show whose address it is without printing it whole to whoever holds the link."""
    local, _, domain = address.partition("@")
    return f"{local[:2]}{'•' * max(len(local) - 2, 1)}@{domain}"


# --- contact page panel -------------------------------------------------------------------------

def _emails_panel(contact, viewer, now: datetime) -> dict:
    emails = db.session.scalars(
        select(OutboundEmail).where(OutboundEmail.contact_id == contact.id)
        .order_by(OutboundEmail.created_at.desc(), OutboundEmail.id.desc()).limit(20)).all()
    inbound = db.session.scalars(
        select(InboundMessage).where(InboundMessage.contact_id == contact.id)
        .order_by(InboundMessage.received_at.desc()).limit(10)).all()
    return {"emails": emails, "inbound": inbound, "international": needs_smtputf8(contact.email or "")}


CONTACT_PANEL = ContactPanel(key="mail", template="mail/_contact_panel.html", load=_emails_panel,
                                    column="main", order=20)


# --- the rep's mailbox connection (a section of the account page) ------------------------------

class MailboxConnectionForm(FlaskForm):
    host = StringField(_l("IMAP server"), validators=[Length(max=253)], render_kw={"autocomplete": "off",
                                                                                "placeholder": "imap.example.com"})
    security = SelectField(_l("Security"), choices=choice_list([
        ("ssl", "SSL/TLS (port 993)"), ("starttls", "STARTTLS (port 143)"),
        ("none", "None (a server on this machine only)")]), default="ssl")
    port = StringField(_l("Port (empty: the usual one)"), validators=[Length(max=5)])
    username = StringField(_l("User name"), validators=[Length(max=254)], render_kw={"autocomplete": "off"})
    password = PasswordField(_l("Password or app password"), validators=[Length(max=500)],
                             render_kw={"autocomplete": "new-password"})
    folders = TextAreaField(_l("Folders to read (one per line)"), default="INBOX", validators=[Length(max=4500)],
                            render_kw={"rows": 3})

    def settings(self) -> dict:
        return {"host": self.host.data, "port": self.port.data, "security": self.security.data,
                "username": self.username.data, "password": self.password.data or None, "folders": self.folders.data}


def _mailbox_form(account) -> MailboxConnectionForm:
    form = MailboxConnectionForm()
    if account is not None and request.method == "GET":
        form.host.data, form.port.data, form.security.data = account.host, str(account.port), account.security
        form.username.data, form.folders.data = account.username, "\n".join(account.folders)
    return form


def _render_mailbox(form, account, report=None, status=200):
    return render_template("mail/mailbox.html", form=form, account=account, report=report, zone=_zone()), status


@bp.route("/account/mailbox", methods=["GET", "POST"])
@roles(*SALES)
def mailbox_settings():
    """Connect the rep's mailbox (IMAP): save the settings, or try them first ("Test connection"
    shows the server's answer and saves nothing)."""
    account = imap_accounts.get_imap_account(current_user)
    form = _mailbox_form(account)
    if request.method == "GET":
        return _render_mailbox(form, account)
    if not form.validate_on_submit():
        return _render_mailbox(form, account, status=422)
    if request.form.get("action") == "test":
        try:
            report = imap_accounts.check_imap_connection(current_user, form.settings())
        except ServiceError as exc:
            apply_service_errors(form, exc)
            return _render_mailbox(form, account, status=exc.status)
        return _render_mailbox(form, account, report=report)
    saved, status = commit_or_show_errors(
        form, lambda: imap_accounts.save_imap_account(current_user, form.settings(), utcnow()))
    if saved is None:
        return _render_mailbox(form, account, status=status)
    flash(gettext("Mailbox connected: replies, out-of-office notices and bounces are read from it every minute."),
          "info")
    return redirect(url_for("mail.mailbox_settings"))


@bp.route("/account/mailbox/disconnect", methods=["POST"])
@roles(*SALES)
def disconnect_mailbox():
    if imap_accounts.remove_imap_account(current_user):
        db.session.commit()
        flash(gettext("Mailbox disconnected; its settings and password were deleted."), "info")
    return redirect(url_for("mail.mailbox_settings"))
