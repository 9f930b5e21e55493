"""Login, logout, the account page and personal API tokens."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from crm.auth import services
from crm.auth.forms import LoginForm, PasswordChangeForm, TokenForm
from crm.errors import ServiceError
from crm.extensions import db, limiter
from crm.timeutil import utcnow
from crm.web.access import EVERYONE, public, roles

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _email_key() -> str:
    return "login:" + (request.form.get("email") or "").strip().lower()


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
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_email_key)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            db.session.commit()
            flash("Wrong email or password.", "error")
            return render_template("auth/login.html", form=form), 401
        # A fresh session: nothing from before login survives (no session fixation).
        session.clear()
        lifetime = current_app.config["REMEMBER_COOKIE_DURATION"] if form.remember.data else current_app.config["PERMANENT_SESSION_LIFETIME"]
        user._session_secret = services.start_session(
            user, utcnow(), lifetime, request.headers.get("User-Agent", "")
        )
        login_user(user, remember=bool(form.remember.data))
        session.permanent = True
        db.session.commit()
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
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@roles(*EVERYONE)
def account():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if services.authenticate(current_user.email, form.current_password.data) is None:
            form.current_password.errors.append("Wrong password.")
        else:
            try:
                services.set_password(current_user, form.new_password.data)
                db.session.commit()
                flash("Password changed.", "info")
                return redirect(url_for("auth.account"))
            except ServiceError as exc:
                form.new_password.errors.append(exc.fields.get("password", exc.message))
    return render_template("auth/account.html", form=form)


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
        flash("Token revoked.", "info")
    except ServiceError as exc:
        flash(exc.message, "error")
    return redirect(url_for("auth.tokens"))
