"""Public tracking endpoints (no login): open pixel, click redirect, the website snippet,
page-view intake and form capture, on their own blueprint ``bp`` ("tracking_public", declared
in the manifest next to ``crm.tracking.views:bp``). Each one parses the request, calls a
service, commits.

Opens, clicks and page views come in at hundreds a second, so their path is kept short (see
``bench/tracking_ingest.py``): one INSERT into the intake queue (``crm.tracking.inbox``), no
login session (``cookieless_paths``), rate limits checked once per request (the blueprints
below).

While the database cannot be reached, none of them answers 500. A prospect must not see an
error for opening or clicking an email: the pixel is served anyway, and a click still
redirects when this process knows the destination (``email.recent_destinations``, filled by
every successful click); otherwise it answers 503 with ``Retry-After`` and a page that tries
again by itself. The website's beacons and forms answer 503 with ``Retry-After`` (and CORS, so
the snippet can read it): their data cannot be kept, so the sender is told to come back. The
hits of an outage are not recorded (there is nowhere to write them)."""
from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from crm.extensions import csrf, db, limiter
from crm.i18n import _
from crm.timeutil import utcnow
from crm.tracking import email as email_tracking
from crm.tracking import website
from crm.tracking.events import RequestFacts
from crm.tracking.inbox import accept_link_hit, end_intake, forget_failed_transaction, peek_link, process_all
from crm.tracking.origins import is_tracked_origin, origin_of
from crm.web.access import cookieless_paths, public
from crm.web.formhelpers import commit_or_refuse

bp = Blueprint("tracking_public", __name__)

# Everything under /t/ is public and never uses the login session: its cookie is neither read
# nor written there (see crm.app.SessionInterface). Declared when the blueprint is registered.
bp.record_once(lambda _state: cookieless_paths("/t/"))

# A transparent 1x1 GIF (43 bytes).
PIXEL = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
         b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
NO_CACHE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0, private",
            "Pragma": "no-cache", "Expires": "0"}
SNIPPET = Path(__file__).resolve().parent.parent / "static" / "tracking_snippet.js"
RETRY_AFTER_SECONDS = 10
# A click whose destination this process does not know, during an outage: a page (not an
# error) that asks the browser to load the same link again in a few seconds.
RETRY_PAGE = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
              f"<meta http-equiv=\"refresh\" content=\"{RETRY_AFTER_SECONDS // 2}\">"
              "<meta name=\"robots\" content=\"noindex\"><title>Opening the link…</title></head>"
              "<body><p>Opening the link… one moment, this page tries again by itself.</p></body></html>")

log = logging.getLogger(__name__)


def _limit(key: str):
    return lambda: current_app.config[key]


# The hot endpoints' rate limits (per client address, a separate count per endpoint) are set
# on two child blueprints of ``bp`` rather than with ``@limiter.limit`` on each view. Same
# limits, same Flask-Limiter storage, key and 429; but a decorated view is checked twice per
# request (Flask-Limiter's before-request hook resolves its limits, then the decorator checks
# again), a blueprint's limits once, in that hook: about an eighth of an open pixel's time.
email_hits = Blueprint("email_hits", __name__)  # open pixel, click redirect
site_hits = Blueprint("site_hits", __name__)  # page-view beacons
limiter.limit(_limit("TRACKING_PIXEL_RATE_LIMIT"))(email_hits)
limiter.limit(_limit("TRACKING_COLLECT_RATE_LIMIT"))(site_hits)


def database_unavailable(exc: BaseException) -> bool:
    """Is ``exc`` the database being out of reach (down, restarting, refusing connections, the
    pool exhausted, SQLite locked past its timeout) rather than a bug? SQLAlchemy wraps the
    driver's errors for the session; the PostgreSQL intake runs straight through the driver
    (``inbox._execute``), so the driver's own classes count too."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, HTTPException):  # abort(404) and friends pass through the same except
        return False
    dbapi = db.engine.dialect.loaded_dbapi
    return isinstance(exc, (dbapi.OperationalError, dbapi.InterfaceError))


def _outage(what: str, error: BaseException) -> None:
    # One line per refused hit, without a traceback: an outage is not a bug, and a thousand
    # tracebacks a second would bury the log.
    log.warning("tracking %s while the database is unavailable: %s", what, error.__class__.__name__)
    forget_failed_transaction()


def _link_hit(kind: str, token: str):
    """Record the hit of a GET; a HEAD only looks the link up (HEAD never changes anything:
    link checkers and scanners send it, people's mail clients and browsers GET)."""
    if request.method == "HEAD":
        return peek_link(kind, token, request_facts(), utcnow())
    return accept_link_hit(kind, token, request_facts(), utcnow())


def request_facts() -> RequestFacts:
    return RequestFacts(ip=request.remote_addr, user_agent=request.headers.get("User-Agent"),
                        method=request.method)


# --- email ------------------------------------------------------------------------------------

# merge_slashes=False: "/t/c//evil.example" must be a 404 here, not a slash-merging redirect.
@email_hits.route("/t/o/<path:token>.gif", methods=["GET", "HEAD"], merge_slashes=False)
@public
def open_pixel(token: str):
    try:
        if _link_hit("open", token) is None:
            end_intake(commit=False)
            abort(404)
        end_intake(commit=True)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        _outage("open", exc)  # the image anyway: the open is lost, the email looks right
        return _pixel()
    process_inline()
    return _pixel()


def _pixel() -> Response:
    return Response(PIXEL, mimetype="image/gif", headers=NO_CACHE)


@email_hits.route("/t/c/<path:token>", methods=["GET", "HEAD"], merge_slashes=False)
@public
def click(token: str):
    """An unknown or tampered token is a 404 and never a redirect (no open redirect)."""
    try:
        found = _link_hit("click", token)
        if found is None or not email_tracking.is_trackable_url(found[0]):
            end_intake(commit=False)
            abort(404)
        end_intake(commit=True)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        _outage("click", exc)
        return _click_during_outage(token)
    email_tracking.recent_destinations.remember(token, found[0], found[1])
    destination = _destination(found[0], found[1])
    process_inline()
    return _redirect(destination)


def _destination(url: str, contact_id: int | None) -> str:
    """The stored URL, with the visitor-stitching parameter when it goes to a tracked site;
    the plain URL when the list of tracked sites cannot be read (the stitch is a nicety)."""
    try:
        return email_tracking.destination_to(url, contact_id)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        forget_failed_transaction()
        return url


def _redirect(destination: str) -> Response:
    response = redirect(destination, code=302)
    response.headers.update(NO_CACHE)
    return response


def _click_during_outage(token: str) -> Response:
    """Where the link goes, from the last successful click on it in this process; without it,
    a page that loads the link again shortly (503 + Retry-After for machines)."""
    known = email_tracking.recent_destinations.get(token)
    if known is not None:
        return _redirect(_destination(*known))
    response = Response(RETRY_PAGE, status=503, mimetype="text/html",
                        headers={**NO_CACHE, "Retry-After": str(RETRY_AFTER_SECONDS)})
    return response


def process_inline() -> None:
    """Tests and small installs turn queued hits into events within the request; production
    leaves that to the worker (``tracking-process-inbox``, every two seconds). The hit is
    queued already: a failure here is the worker's to retry, not the visitor's to see."""
    if current_app.config.get("TRACKING_PROCESS_INLINE"):
        try:
            process_all()
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            _outage("inline processing", exc)


def _unavailable(origin: str | None) -> Response:
    """503 for a beacon or form the database cannot take now: come back in a while."""
    response = jsonify({"error": {"code": "unavailable", "message": "tracking is unavailable for a moment; "
                                  f"send again in {RETRY_AFTER_SECONDS} seconds", "fields": {}}})
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return _cors(response, origin) if origin else response


# --- website ----------------------------------------------------------------------------------

@bp.route("/t/snippet.js")
@public
def snippet():
    response = Response(SNIPPET.read_bytes(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"  # a public script, no credentials
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def request_origin() -> str | None:
    """The page's origin from ``Origin`` (browsers send it on every POST), else ``Referer``."""
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return origin_of(origin)
    return origin_of(request.headers.get("Referer"))


def _cors(response: Response, origin: str) -> Response:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "600"
    response.headers["Vary"] = "Origin"
    return response


def _error(status: int, message: str, fields: dict | None = None, origin: str | None = None) -> Response:
    response = jsonify({"error": {"code": "forbidden" if status == 403 else "bad_request",
                                  "message": message, "fields": fields or {}}})
    response.status_code = status
    return _cors(response, origin) if origin else response


def _allowed_origin_or_403():
    """A request naming no page at all (no Origin, no Referer) did not come from a browser on
    a site: 400. One from a site the admin did not list: 403, without CORS headers."""
    if not request.headers.get("Origin") and not request.headers.get("Referer"):
        return None, _error(400, "send the page's Origin (browsers do)")
    origin = request_origin()
    if not is_tracked_origin(origin):
        return None, _error(403, "this site is not tracked (ask the CRM admin to add its origin)")
    return origin, None


def _preflight():
    origin, refused = _allowed_origin_or_403()
    return refused or _cors(Response(status=204), origin)


@site_hits.route("/t/collect", methods=["POST", "OPTIONS"])
@public
@csrf.exempt
def collect():
    """Page views from the snippet. See ``crm.tracking.website`` for the batch answer."""
    return _unless_database_down("page view", _collect)


def _unless_database_down(what: str, handle):
    """``handle()``, or 503 + Retry-After when the database cannot be reached (with CORS for
    a page of a tracked site, when the allow-list could still be read)."""
    try:
        return handle()
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        _outage(what, exc)
        return _unavailable(_known_origin())


def _known_origin() -> str | None:
    try:
        origin = request_origin()
        return origin if is_tracked_origin(origin) else None
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        forget_failed_transaction()
        return None


def _collect():
    if request.method == "OPTIONS":
        return _preflight()
    origin, refused = _allowed_origin_or_403()
    if refused:
        return refused
    try:
        # read at most one byte past the limit: a 50 MB beacon is refused without buffering it
        raw = request.stream.read(website.MAX_BODY_BYTES + 1)
        data = website.parse_json_body(raw)
        result = website.collect(data, origin=origin, request=request_facts(), now=utcnow())
    except website.BadPayload as exc:
        end_intake(commit=False)
        return _error(400, exc.message, exc.fields, origin)
    end_intake(commit=bool(result.accepted))
    if result.accepted:
        process_inline()
    response = jsonify(result.as_json())
    response.status_code = result.status
    return _cors(response, origin)


def _form_input() -> tuple[dict, object, object]:
    """(fields, page url, visitor id) from the snippet's JSON or a plain HTML form post."""
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = request.form
        fields = {k: form.get(k) for k in form.keys() if not k.startswith("_") or k == "_hp"}
        return fields, form.get("_url") or request.headers.get("Referer"), form.get("_visitor")
    data = website.parse_json_body(request.get_data(cache=False))
    fields = data.get("fields", {})
    if not isinstance(fields, dict):
        raise website.BadPayload(_("fields: an object"), {"fields": _("must be an object")})
    return fields, data.get("url"), data.get("visitor")


@bp.route("/t/form", methods=["POST", "OPTIONS"])
@public
@csrf.exempt
@limiter.limit(_limit("TRACKING_FORM_RATE_LIMIT"), exempt_when=lambda: request.method == "OPTIONS")
def capture_form():
    """Form capture: the snippet's beacon, or any HTML form posting here directly (its
    optional ``_next`` field, on a tracked site, is where the browser goes afterwards)."""
    return _unless_database_down("form", _capture_form)


def _capture_form():
    if request.method == "OPTIONS":
        return _preflight()
    origin, refused = _allowed_origin_or_403()
    if refused:
        return refused
    result, refused_payload = commit_or_refuse(_store_form(origin), refusals=(website.BadPayload,))
    if refused_payload is not None:
        return _error(400, refused_payload.message, refused_payload.fields, origin)
    next_url = request.form.get("_next") if request.mimetype == "application/x-www-form-urlencoded" else None
    if next_url and origin_of(next_url) == origin and urlsplit(next_url).scheme in ("http", "https"):
        return redirect(next_url, code=303)
    status = 200 if result.dropped or not result.created else 201
    return _cors(jsonify({"ok": True}), origin), status


def _store_form(origin: str):
    def store():
        fields, url, visitor = _form_input()
        return website.capture_form(fields, page_url=url, visitor=visitor, origin=origin,
                                    request=request_facts(), now=utcnow())
    return store


# Endpoints "tracking_public.email_hits.open_pixel", ... (nested: they register with ``bp``).
bp.register_blueprint(email_hits)
bp.register_blueprint(site_hits)
