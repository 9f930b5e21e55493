"""Login, logout, the account page (password change), the forced reset's new-password page
and personal API tokens."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from flask_login.config import COOKIE_NAME as DEFAULT_REMEMBER_COOKIE

from crm.auth import messages, services
from crm.auth.forms import LoginForm, NewPasswordForm, PasswordChangeForm, ProfileForm, TokenForm
from crm.errors import ServiceError
from crm.extensions import db, limiter
from crm.i18n import LANGUAGE_CHOICES, _, force_language, normalize_language
from crm.timeutil import all_timezones, utcnow
from crm.validation import normalize_email
from crm.web.access import EVERYONE, PUBLIC, declared_access, is_api_request, public, roles
from crm.web.formhelpers import choice_list, commit_or_show_errors

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _address_key() -> str:
    return "login-address:" + get_remote_address()


def _account_key() -> str:
    """The account tried, spelled as ``services.authenticate`` looks it up, so that no other
    spelling of the same address ("Alice@Example.com ", an IDNA domain) gets attempts of its
    own. Checked before the form, so the field is clipped: any length can be posted."""
    typed = (request.form.get("email") or "")[:320]
    try:
        account = normalize_email(typed)
    except ValueError:
        account = typed.strip().lower()
    return "login-account:" + account


def safe_next(target: str | None) -> str:
    """Only same-site relative paths: never an open redirect through ?next=."""
    if not target:
        return url_for("web.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("web.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
# Every attempt counts, before the password is checked (counting only failures would need a
# check and a count apart, and two processes could both pass the check): per client address
# and per account, each exactly LOGIN_RATE_LIMIT whatever the number of web processes (the
# counters live in the shared store: crm.extensions.CrmLimiter).
@limiter.limit(_login_limit, methods=["POST"], key_func=_address_key)
@limiter.limit(_login_limit, methods=["POST"], key_func=_account_key)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            db.session.commit()
            flash(_("Wrong email or password."), "error")
            return render_template("auth/login.html", form=form), 401
        # A fresh session: nothing from before login survives (no session fixation).
        session.clear()
        lifetime = (current_app.config["REMEMBER_COOKIE_DURATION"] if form.remember.data
                    else current_app.config["PERMANENT_SESSION_LIFETIME"])
        user._session_secret = services.start_session(
            user, utcnow(), lifetime, request.headers.get("User-Agent", "")
        )
        login_user(user, remember=bool(form.remember.data))
        session.permanent = True
        db.session.commit()
        if user.must_change_password:
            return redirect(url_for("auth.new_password", next=request.args.get("next")))
        return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), (400 if request.method == "POST" else 200)


@bp.route("/logout", methods=["POST"])
@roles(*EVERYONE)
def logout():
    secret = current_user.get_id()
    if secret:
        services.end_session(secret, utcnow())
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("Signed out."), "info")
    response = redirect(url_for("auth.login"))
    # Whatever the browser kept of the signed-in pages goes with the session. Not "cookies":
    # the new session cookie carries the "Signed out." message.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.route("/account", methods=["GET", "POST"])
@roles(*EVERYONE)
def account():
    form = PasswordChangeForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            report, status = commit_or_show_errors(form, lambda: services.change_password(
                _signed_in_user(), form.current_password.data, form.new_password.data, utcnow(),
                session_secret=current_user.get_id()))
            if report is not None:
                _sign_in_again(report)
                flash(_signed_out_message(messages.PASSWORD_CHANGED, report), "info")
                return redirect(url_for("auth.account"))
    return _account_page(form, _profile_form()), status


def _profile_form(formdata=None) -> ProfileForm:
    user = _signed_in_user()
    form = ProfileForm(formdata=formdata, data={
        "language": normalize_language(user.language) or "en", "time_zone": user.time_zone,
        "signature": user.signature or ""})
    form.language.choices = choice_list(LANGUAGE_CHOICES)
    form.time_zone.choices = choice_list((zone, zone.replace("_", " ")) for zone in all_timezones())
    return form


def _account_page(password_form: PasswordChangeForm, profile_form: ProfileForm):
    return render_template("auth/account.html", form=password_form, profile_form=profile_form,
                           password_hint=_password_hint())


@bp.route("/account/profile", methods=["POST"])
@roles(*EVERYONE)
def update_profile():
    """Language, time zone and signature (issue #17): the next page is in the new language."""
    form = _profile_form(request.form)
    status = 422
    if form.validate_on_submit():
        user, status = commit_or_show_errors(form, lambda: services.update_profile(_signed_in_user(), {
            "language": form.language.data, "time_zone": form.time_zone.data,
            "signature": form.signature.data}))
        if user is not None:
            with force_language(user.language):
                flash(_("Settings saved."), "success")
            return redirect(url_for("auth.account"))
    return _account_page(PasswordChangeForm(formdata=None), form), status


@bp.route("/account/new-password", methods=["GET", "POST"])
@roles(*EVERYONE)
def new_password():
    """Where an administrator's forced reset leads after sign-in (``hold_until_new_password``)."""
    if not current_user.must_change_password:
        return redirect(url_for("auth.account"))
    form = NewPasswordForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            report, status = commit_or_show_errors(form, lambda: services.set_new_password(
                _signed_in_user(), form.new_password.data, utcnow(), session_secret=current_user.get_id()))
            if report is not None:
                _sign_in_again(report)
                flash(_signed_out_message(messages.NEW_PASSWORD_SET, report), "info")
                return redirect(safe_next(request.args.get("next")))
    return render_template("auth/new_password.html", form=form, password_hint=_password_hint()), status


# What a user with a pending forced reset may still reach: the page to set the new password,
# signing out, and the stylesheets those pages need.
_OPEN_DURING_RESET = frozenset({"auth.new_password", "auth.logout", "static"})


@bp.before_app_request
def hold_until_new_password():
    """While an administrator's forced reset is pending (``User.must_change_password``), every
    page a signed-in user asks for leads to the page to set a new password. Public pages are
    left alone: they need no login (and some never read the session cookie). The API has its
    own check: a pending reset refuses the user's tokens (``services.user_for_api_token``)."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in _OPEN_DURING_RESET or is_api_request():
        return None
    if declared_access(current_app, endpoint) == PUBLIC:
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("auth.new_password"))
    return None


def _signed_in_user():
    # The user object itself: the report carries it back to login_user, and a proxy to the
    # current user stored as the current user would point at itself.
    return current_user._get_current_object()


def _password_hint() -> str:
    return str(messages.PASSWORD_HINT).format(min_length=services.MIN_PASSWORD_LENGTH)


def _signed_out_message(first: str, report: services.SignOutReport) -> str:
    # Whole sentences side by side (crm.auth.messages): what changed, then what it ended.
    return " ".join((
        str(first),
        messages.plural(messages.OTHER_SESSIONS_ENDED, report.sessions_ended),
        messages.plural(messages.OWN_TOKENS_REVOKED, report.tokens_revoked),
    ))


def _sign_in_again(report: services.SignOutReport) -> None:
    """Point this browser at its re-keyed session (``services.change_password``): a fresh
    Flask session, so nothing in the old cookie (CSRF token included) carries over, and, if the
    login was remembered, a new remember-me cookie for the time the session had left (the old
    one names the revoked secret)."""
    if report.session_secret is None:
        return  # the session ended meanwhile: the next request goes to the login page
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", DEFAULT_REMEMBER_COOKIE)
    remembered = remember_cookie in request.cookies
    duration = None
    if remembered:
        expires_at = services.session_expires_at(report.session_secret)
        duration = max(expires_at - utcnow(), timedelta(0)) if expires_at else None
    user = report.user
    user._session_secret = report.session_secret
    session.clear()
    login_user(user, remember=remembered, duration=duration)
    session.permanent = True


@bp.route("/account/tokens", methods=["GET", "POST"])
@roles(*EVERYONE)
def tokens():
    form = TokenForm()
    new_secret = None
    if form.validate_on_submit():
        try:
            _token, new_secret = services.create_api_token(current_user, form.name.data, utcnow())
            db.session.commit()
            form = TokenForm(formdata=None)
        except ServiceError as exc:
            form.name.errors.append(exc.fields.get("name", exc.message))
    return render_template(
        "auth/tokens.html", form=form, tokens=services.list_api_tokens(current_user),
        new_secret=new_secret,
    )


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@roles(*EVERYONE)
def revoke_token(token_id: int):
    try:
        services.revoke_api_token(current_user, token_id, utcnow())
        db.session.commit()
        flash(_("Token revoked."), "info")
    except ServiceError as exc:
        flash(exc.message, "error")
    return redirect(url_for("auth.tokens"))
