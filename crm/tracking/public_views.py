"""Public tracking endpoints (no login): open pixel, click redirect, the website snippet,
page-view intake and form capture. Each one parses the request, calls a service, commits."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Response, abort, current_app, jsonify, redirect, request

from crm.extensions import csrf, db, limiter
from crm.timeutil import utcnow
from crm.tracking import email as email_tracking
from crm.tracking import website
from crm.tracking.events import RequestFacts
from crm.tracking.inbox import accept_link_hit, process_all
from crm.tracking.origins import is_tracked_origin, origin_of
from crm.tracking.views import bp
from crm.web.access import public

# A transparent 1x1 GIF (43 bytes).
PIXEL = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
         b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
NO_CACHE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0, private",
            "Pragma": "no-cache", "Expires": "0"}
SNIPPET = Path(__file__).resolve().parent.parent / "static" / "tracking_snippet.js"


def _limit(key: str):
    return lambda: current_app.config[key]


def request_facts() -> RequestFacts:
    return RequestFacts(ip=request.remote_addr, user_agent=request.headers.get("User-Agent"),
                        method=request.method)


# --- email ------------------------------------------------------------------------------------

# merge_slashes=False: "/t/c//evil.example" must be a 404 here, not a slash-merging redirect.
@bp.route("/t/o/<path:token>.gif", methods=["GET", "HEAD"], merge_slashes=False)
@public
@limiter.limit(_limit("TRACKING_PIXEL_RATE_LIMIT"))
def open_pixel(token: str):
    if accept_link_hit("open", token, request_facts(), utcnow()) is None:
        db.session.rollback()
        abort(404)
    db.session.commit()
    process_inline()
    return Response(PIXEL, mimetype="image/gif", headers=NO_CACHE)


@bp.route("/t/c/<path:token>", methods=["GET", "HEAD"], merge_slashes=False)
@public
@limiter.limit(_limit("TRACKING_PIXEL_RATE_LIMIT"))
def click(token: str):
    """An unknown or tampered token is a 404 and never a redirect (no open redirect)."""
    found = accept_link_hit("click", token, request_facts(), utcnow())
    if found is None or not email_tracking.is_trackable_url(found[0]):
        db.session.rollback()
        abort(404)
    db.session.commit()
    destination = email_tracking.destination_to(found[0], found[1])
    process_inline()
    response = redirect(destination, code=302)
    response.headers.update(NO_CACHE)
    return response


def process_inline() -> None:
    """Tests and small installs turn queued hits into events within the request; production
    leaves that to the worker (``tracking-process-inbox``, every two seconds)."""
    if current_app.config.get("TRACKING_PROCESS_INLINE"):
        process_all()


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


@bp.route("/t/collect", methods=["POST", "OPTIONS"])
@public
@csrf.exempt
@limiter.limit(_limit("TRACKING_COLLECT_RATE_LIMIT"))
def collect():
    """Page views from the snippet. See ``crm.tracking.website`` for the batch answer."""
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
        db.session.rollback()
        return _error(400, exc.message, exc.fields, origin)
    if result.accepted:
        db.session.commit()
        process_inline()
    else:
        db.session.rollback()
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
        raise website.BadPayload("fields: an object", {"fields": "must be an object"})
    return fields, data.get("url"), data.get("visitor")


@bp.route("/t/form", methods=["POST", "OPTIONS"])
@public
@csrf.exempt
@limiter.limit(_limit("TRACKING_FORM_RATE_LIMIT"), exempt_when=lambda: request.method == "OPTIONS")
def capture_form():
    """Form capture: the snippet's beacon, or any HTML form posting here directly (its
    optional ``_next`` field, on a tracked site, is where the browser goes afterwards)."""
    if request.method == "OPTIONS":
        return _preflight()
    origin, refused = _allowed_origin_or_403()
    if refused:
        return refused
    try:
        fields, url, visitor = _form_input()
        result = website.capture_form(fields, page_url=url, visitor=visitor, origin=origin,
                                      request=request_facts(), now=utcnow())
    except website.BadPayload as exc:
        db.session.rollback()
        return _error(400, exc.message, exc.fields, origin)
    db.session.commit()
    next_url = request.form.get("_next") if request.mimetype == "application/x-www-form-urlencoded" else None
    if next_url and origin_of(next_url) == origin and urlsplit(next_url).scheme in ("http", "https"):
        return redirect(next_url, code=303)
    status = 200 if result.dropped or not result.created else 201
    return _cors(jsonify({"ok": True}), origin), status
