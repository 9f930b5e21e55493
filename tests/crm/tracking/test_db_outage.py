"""Tracking while the database is down: nothing answers 500. Pixels are still served, clicks
still redirect to the link's destination when this process has seen it, or get a page that
tries again by itself (503 + Retry-After); website beacons and forms answer 503 + Retry-After.

The outage is real, not a mock: the app's engine is swapped for one pointing at a database
that cannot be reached (a closed TCP port on PostgreSQL, a path that cannot exist on SQLite),
and the PostgreSQL intake engine is rebuilt from it, so every statement of the request fails
the way it does when the server is down."""
from __future__ import annotations

import json
import socket

import pytest
from sqlalchemy import create_engine, func, select

from crm.extensions import db
from crm.tracking.models import TrackingEvent
from crm.tracking.origins import forget_cache
from tests.crm.tracking.conftest import CHROME, SITE

INTAKE = "crm.tracking.intake"  # where crm.tracking.inbox keeps the app's intake engine


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again on leaving: nothing listens there


class Outage:
    """``start()``: every request from now on finds the database unreachable; ``stop()``: it
    is back. Flask-SQLAlchemy looks the engine up per session, so swapping the app's engine
    reaches every request; the intake engine (PostgreSQL) is rebuilt from the dead one."""

    def __init__(self, app):
        self.app = app
        self.engines = db._app_engines[app]  # the app's engines by bind key
        self.live = self.engines[None]
        self.dead = None
        self.saved_intake = None

    def start(self) -> None:
        if self.live.dialect.name == "postgresql":
            self.dead = create_engine(self.live.url.set(host="127.0.0.1", port=closed_port()))
        else:
            self.dead = create_engine("sqlite:////nonexistent-crm-outage-dir/crm.db")
        db.session.remove()  # the test's own session: no live connection kept for requests
        self.saved_intake = self.app.extensions.pop(INTAKE, None)
        self.engines[None] = self.dead
        forget_cache()  # the tracked-sites list is read again (and fails) like after its 5 s

    def stop(self) -> None:
        if self.dead is None:
            return
        self.engines[None] = self.live
        for intake in self.app.extensions.pop(INTAKE, {}).values():
            if intake is not None:
                intake.engine.dispose()
        if self.saved_intake is not None:
            self.app.extensions[INTAKE] = self.saved_intake
        self.dead.dispose()
        self.dead = None
        forget_cache()


@pytest.fixture
def outage(app):
    controller = Outage(app)
    yield controller
    controller.stop()


def page_view(client, origin=SITE):
    return client.post("/t/collect", data=json.dumps({"visitor": "v" * 20, "events": [
        {"type": "page_view", "url": SITE + "/pricing"}]}), content_type="text/plain;charset=UTF-8",
        headers={"Origin": origin, "User-Agent": CHROME})


def form_post(client, **data):
    return client.post("/t/form", data={"email": "new.lead@buyer-corp.example", "_url": SITE + "/contact", **data},
                       headers={"Origin": SITE, "User-Agent": CHROME})


def assert_retry_later(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert int(response.headers["Retry-After"]) > 0


# --- email: the prospect never sees an error --------------------------------------------------

def test_the_open_pixel_is_served_while_the_database_is_down(client, pixel_path, outage):
    outage.start()
    for response in (client.get(pixel_path, headers={"User-Agent": CHROME}), client.head(pixel_path)):
        assert response.status_code == 200 and response.mimetype == "image/gif"
        assert "no-store" in response.headers["Cache-Control"]
    assert client.get(pixel_path).data.startswith(b"GIF89a")


def test_a_click_seen_before_redirects_to_its_destination_during_the_outage(client, click_paths, outage):
    guide = click_paths[1]
    before = client.get(guide, headers={"User-Agent": CHROME})
    assert before.status_code == 302 and before.headers["Location"] == "https://docs.example.org/guide"
    outage.start()
    during = client.get(guide, headers={"User-Agent": CHROME})
    assert during.status_code == 302 and during.headers["Location"] == "https://docs.example.org/guide"
    assert "no-store" in during.headers["Cache-Control"]


def test_a_click_on_a_tracked_site_keeps_its_plain_destination_during_the_outage(client, click_paths, tracked_site,
                                                                                  outage):
    pricing = click_paths[0]
    before = client.get(pricing, headers={"User-Agent": CHROME}).headers["Location"]
    assert before.startswith(SITE + "/pricing?plan=pro&x=1&_pc=")  # stitched while all is well
    outage.start()
    during = client.get(pricing, headers={"User-Agent": CHROME})
    # The tracked-sites list cannot be read: the link's own address, without the stitch.
    assert during.status_code == 302 and during.headers["Location"] == SITE + "/pricing?plan=pro&x=1"


def test_a_click_never_seen_gets_a_page_that_tries_again(client, click_paths, outage):
    outage.start()
    response = client.get(click_paths[1], headers={"User-Agent": CHROME})
    assert_retry_later(response)
    html = response.get_data(as_text=True)
    assert response.mimetype == "text/html" and '<meta http-equiv="refresh"' in html and "Opening the link" in html
    assert "no-store" in response.headers["Cache-Control"]
    outage.stop()  # the page's retry, once the database is back, lands
    retried = client.get(click_paths[1], headers={"User-Agent": CHROME})
    assert retried.status_code == 302 and retried.headers["Location"] == "https://docs.example.org/guide"


def test_malformed_tokens_are_still_404_during_the_outage(client, sent_email, outage):
    outage.start()
    for path in ("/t/c/javascript:alert(1)", "/t/c/%2F%2Fevil.example", "/t/o/%2F%2Fevil.gif", "/t/c/"):
        assert client.get(path).status_code == 404, path


# --- website: the sender is told to come back -------------------------------------------------

def test_page_views_answer_503_with_retry_after(client, tracked_site, outage):
    outage.start()
    response = page_view(client)
    assert_retry_later(response)
    assert response.get_json()["error"]["code"] == "unavailable"
    preflight = client.options("/t/collect", headers={"Origin": SITE, "Access-Control-Request-Method": "POST"})
    assert_retry_later(preflight)


def test_forms_answer_503_with_retry_after(client, tracked_site, outage):
    outage.start()
    assert_retry_later(form_post(client))
    assert_retry_later(form_post(client, _next=SITE + "/thanks"))  # never a redirect that loses the lead
    snippet_form = client.post("/t/form", data=json.dumps({"fields": {"email": "x@buyer-corp.example"},
                                                           "url": SITE + "/contact", "visitor": "v" * 20}),
                               content_type="text/plain;charset=UTF-8", headers={"Origin": SITE})
    assert_retry_later(snippet_form)


def test_no_tracking_endpoint_answers_500_during_the_outage(client, pixel_path, click_paths, tracked_site, outage):
    outage.start()
    statuses = {
        "pixel": client.get(pixel_path).status_code,
        "click": client.get(click_paths[1]).status_code,
        "collect": page_view(client).status_code,
        "collect from an unknown site": page_view(client, origin="https://other.example").status_code,
        "form": form_post(client).status_code,
        "snippet": client.get("/t/snippet.js").status_code,
    }
    assert statuses == {"pixel": 200, "click": 503, "collect": 503, "collect from an unknown site": 503,
                        "form": 503, "snippet": 200}


def test_hits_are_recorded_again_once_the_database_is_back(client, pixel_path, click_paths, tracked_site, outage):
    outage.start()
    assert client.get(pixel_path, headers={"User-Agent": CHROME}).status_code == 200
    assert_retry_later(page_view(client))
    outage.stop()
    assert client.get(pixel_path, headers={"User-Agent": CHROME}).status_code == 200
    assert page_view(client).status_code == 200
    db.session.rollback()
    kinds = dict(db.session.execute(select(TrackingEvent.kind, func.count()).group_by(TrackingEvent.kind)).all())
    assert kinds == {"email_opened": 1, "page_viewed": 1}  # the outage's hits are lost, not half-written


def test_errors_that_are_not_an_outage_are_not_hidden(client, click_paths, monkeypatch):
    from crm.tracking import public_views

    def broken(*_args, **_kwargs):
        raise ValueError("a bug, not an outage")

    monkeypatch.setattr(public_views, "accept_link_hit", broken)
    assert client.get(click_paths[1]).status_code == 500  # logged with its traceback as a bug
