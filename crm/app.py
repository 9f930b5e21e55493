"""The composition root: extensions, then everything the manifest (``crm/features.py``) names:
tables, blueprints, API routes, CLI groups, jobs, contact panels, timeline labels, signals."""
from __future__ import annotations

import copy
import logging
import os
from pathlib import Path

import click
from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface

from config import CONFIGS, ConfigError, ConfigWithoutSecrets
from crm import i18n
from crm.api.auth import authenticate_api_request
from crm.api.routes import build_api_blueprint
from crm.auth.passwords import configure_hasher
from crm.auth.services import user_for_session
from crm.cli import build_cli
from crm.contacts.panels import panels_in_order
from crm.extensions import csrf, db, limiter, login_manager, migrate
from crm.features import code_labels, load_all, timeline_labels, timeline_sentences
from crm.jobs.runner import register_kind
from crm.timeutil import utcnow
from crm.web import access, budget, readonly
from crm.web.access import enforce_declared_roles, is_api_request
from crm.web.errors import register_error_handlers
from crm.web.formatting import register_template_helpers

ROOT = Path(__file__).resolve().parent.parent


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except under the paths declared cookieless
    (``crm.web.access.cookieless_paths``: the public tracking endpoints). There the cookie is
    not read (every request starts with an empty session, so nothing can be done as the
    browser's logged-in user) and, unless a view wrote to the session (none does), not
    written. Why: those endpoints serve pixels and beacons at hundreds a second, and reading
    the cookie means building a signing serializer per request, up to a tenth of an open pixel's
    time for a session nobody there uses."""

    def open_session(self, app, request_):
        if request_.path.startswith(access.COOKIELESS_PATH_PREFIXES):
            return self.session_class()
        return super().open_session(app, request_)

    def save_session(self, app, session, response) -> None:
        if not session and not session.modified and request.path.startswith(access.COOKIELESS_PATH_PREFIXES):
            return  # nothing read, nothing to write (and no Vary: Cookie: the cookie was ignored)
        super().save_session(app, session, response)


def create_app(config: object | str | None = None) -> Flask:
    """Build the app. ``config`` is a config object, a name from ``config.CONFIGS``, or None to
    use ``CRM_CONFIG`` from the environment (default ``production``)."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "crm" / "static"),
        instance_path=str(ROOT / "instance"),
    )
    if config is None or isinstance(config, str):
        config = CONFIGS[config or os.environ.get("CRM_CONFIG", "production")]()
    app.config.from_object(config)
    _trust_proxies(app)
    app.session_interface = SessionInterface()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per tick is noise

    app.jinja_env.add_extension("jinja2.ext.do")
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    _register_hooks(app)
    _init_request_budget(app)
    _connect_signals()
    for setup in load_all("setup"):  # per-app wiring and startup checks of the features
        setup(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind a reverse proxy every request comes from the proxy's address over plain http:
    per-address rate limits would lump all clients together and ``request.is_secure`` would
    be false. ``TRUSTED_PROXY_COUNT`` (0 by default: nothing trusted, since a client could
    otherwise forge X-Forwarded-For) says how many proxies in front of the app to believe."""
    count = int(app.config.get("TRUSTED_PROXY_COUNT") or 0)
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count)


def _init_request_budget(app: Flask) -> None:
    """A statement timeout on every transaction a web request opens, and the background jobs
    requests queue instead of doing long work themselves (issue #19)."""
    budget.init_app(app)
    for kind in load_all("job_kinds"):
        register_kind(kind)


def create_help_app(error: ConfigError) -> Flask:
    """The app ``wsgi.py`` gives the ``flask`` command line when the environment lacks a
    setting the production config requires (``SECRET_KEY``), carrying that ``error``.

    Why it exists: ``flask --app wsgi crm --help`` (and ``flask --app wsgi --help``) must import
    the app to find its commands, and ``--help`` should work on a fresh checkout, without
    secrets or a database. So this is the real app, built from the production settings with
    the secret left empty (building it opens no database connection), and every command it
    registers keeps its name, options and help. What changes is running them: each of the
    app's own commands (``crm ...``, ``planning ...``) stops at once with ``error``'s one line
    (``Error: SECRET_KEY must be set ...``) instead of a traceback, and every request is
    answered with the same error, so nothing of the CRM runs without its secret. The commands
    of Flask and its extensions (``db upgrade``, ``routes``, ``shell``) need no secret and run
    as usual on the production settings.
    """
    app = create_app(ConfigWithoutSecrets())
    app.cli.commands = {name: _refusing(command, error) for name, command in app.cli.commands.items()}

    def refuse_request(environ, start_response):
        raise error

    app.wsgi_app = refuse_request
    return app


def _refusing(command: click.Command, error: ConfigError) -> click.Command:
    """A copy of ``command`` (for a group: of its whole tree) whose commands raise ``error`` as
    a click error when run. Copies, so the shared groups (``crm.cli.crm_cli``...) that other
    apps in the same process use are untouched; a group's own callback is kept, because click
    runs it before it parses the subcommand's ``--help``."""
    clone = copy.copy(command)
    if isinstance(command, click.Group):
        clone.commands = {name: _refusing(sub, error) for name, sub in command.commands.items()}
    else:
        def refuse(**_params):
            raise click.ClickException(str(error))

        clone.callback = refuse
    return clone


def _init_extensions(app: Flask) -> None:
    load_all("models")  # every table on the metadata before Alembic or create_all looks
    configure_hasher(app.config["PASSWORD_HASH_PROFILE"])

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(secret: str):
        user = user_for_session(secret, utcnow())
        if user is not None:
            user._session_secret = secret
        return user


def _register_blueprints(app: Flask) -> None:
    for bp in load_all("blueprints"):
        app.register_blueprint(bp)
    api_bp = build_api_blueprint(load_all("api"))
    csrf.exempt(api_bp)  # token-authenticated, no cookies: nothing for CSRF to forge
    app.register_blueprint(api_bp)
    register_error_handlers(app)
    register_template_helpers(app)
    app.extensions["crm_contact_panels"] = panels_in_order(load_all("contact_panels"))
    app.extensions["crm_timeline_labels"] = timeline_labels()
    app.extensions["crm_timeline_sentences"] = timeline_sentences()
    app.extensions["crm_code_labels"] = code_labels()
    app.extensions["crm_demo_seeders"] = load_all("demo")
    for init in load_all("setup"):  # per-app wiring the fields above do not cover
        init(app)


def _register_cli(app: Flask) -> None:
    app.cli.add_command(build_cli(load_all("cli")))
    for group in load_all("root_cli"):
        app.cli.add_command(group)


def _connect_signals() -> None:
    """Each feature's subscribers join the process-wide signals. Every ``connect`` is idempotent
    (blinker keeps a receiver once, however often it is connected), so building many apps in one
    process (tests do) never runs a subscriber twice."""
    for connect in load_all("signals"):
        connect()


def _register_hooks(app: Flask) -> None:
    readonly.register(app)  # first: HEAD can commit nothing, whatever runs after

    @app.before_request
    def authenticate_and_authorize():
        if is_api_request():
            authenticate_api_request()
        return enforce_declared_roles()

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        )
        hsts_seconds = app.config.get("HSTS_SECONDS") or 0
        if hsts_seconds and request.is_secure:  # browsers ignore it over http, and so do we
            response.headers.setdefault("Strict-Transport-Security", f"max-age={int(hsts_seconds)}; includeSubDomains")
        # A signed-in page must not be kept by the browser or a shared cache: after sign-out the
        # Back button would show it. g._login_user, not current_user: reading current_user would
        # load a user on hot public paths (tracking pixels) that never asked for one.
        user = g.get("_login_user")
        if (user is not None and user.is_authenticated) or g.get("api_user") is not None:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.context_processor
    def inject_now():
        return {"now_utc": utcnow()}

    @app.teardown_request
    def forget_api_user(_exc):
        g.pop("api_user", None)
