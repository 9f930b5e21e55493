"""What keeps the public intake endpoints cheap (``bench/tracking_ingest.py``), each kept
honest: limits still enforced, the login session left alone, hits still stored. No timings:
each test checks the mechanism (calls made, threads started, connections used)."""
from __future__ import annotations

import json
import threading
import time

import pytest
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import event, func, select, text

from crm.extensions import SweptMemoryStorage, db, limiter
from crm.tracking.models import TrackingInbox
from tests.crm.tracking.conftest import CHROME, SITE


@pytest.fixture
def queued(app):
    app.config["TRACKING_PROCESS_INLINE"] = False
    yield
    app.config["TRACKING_PROCESS_INLINE"] = True


@pytest.fixture
def limits(app):
    """Set tracking rate limits for one test."""
    saved = {}

    def set_limits(**values):
        for key, value in values.items():
            saved.setdefault(key, app.config[key])
            app.config[key] = value

    yield set_limits
    app.config.update(saved)


def inbox_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(TrackingInbox))


def page_view(client, ip="198.51.100.20", path="/pricing"):
    return client.post("/t/collect", data=json.dumps({"visitor": "v" * 20, "events": [
        {"type": "page_view", "url": SITE + path}]}), content_type="text/plain;charset=UTF-8",
        headers={"Origin": SITE, "User-Agent": CHROME}, environ_base={"REMOTE_ADDR": ip})


# --- rate limits: blueprint limits, one Flask-Limiter check per request ----------------------

def test_click_limit_is_per_address_and_apart_from_the_pixel(client, limits, pixel_path, click_paths):
    limits(TRACKING_PIXEL_RATE_LIMIT="2 per minute")
    pixel = [client.get(pixel_path).status_code for _ in range(3)]
    click = [client.get(click_paths[0]).status_code for _ in range(3)]
    other_address = client.get(click_paths[0], environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code
    assert (pixel, click, other_address) == ([200, 200, 429], [302, 302, 429], 302)


def test_page_view_limit_per_address(client, limits, tracked_site):
    limits(TRACKING_COLLECT_RATE_LIMIT="2 per minute")
    codes = [page_view(client).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert page_view(client, ip="203.0.113.9").status_code == 200
    assert inbox_count() == 0  # processed inline: 3 stored, the refused one never queued


def test_a_refused_hit_queues_nothing(client, queued, limits, pixel_path):
    limits(TRACKING_PIXEL_RATE_LIMIT="1 per minute")
    assert [client.get(pixel_path).status_code for _ in range(3)] == [200, 429, 429]
    assert inbox_count() == 1


def test_the_limits_follow_ratelimit_enabled(client, limits, pixel_path):
    limits(TRACKING_PIXEL_RATE_LIMIT="1 per minute")
    limiter.enabled = False
    try:
        codes = [client.get(pixel_path).status_code for _ in range(3)]
    finally:
        limiter.enabled = True
    assert codes == [200, 200, 200]


@pytest.mark.parametrize("hit", ["pixel", "click", "page_view"])
def test_one_flask_limiter_check_per_hit(client, monkeypatch, hit, pixel_path, click_paths, tracked_site):
    """Limits set on the blueprint are checked in Flask-Limiter's before-request hook only; a
    ``@limiter.limit`` on the view would check a second time (an eighth of a pixel's CPU)."""
    calls = []
    real = limiter.limit_manager.resolve_limits
    monkeypatch.setattr(limiter.limit_manager, "resolve_limits", lambda *a, **k: calls.append(1) or real(*a, **k))
    response = {"pixel": lambda: client.get(pixel_path), "click": lambda: client.get(click_paths[0]),
                "page_view": lambda: page_view(client)}[hit]()
    assert response.status_code in (200, 302)
    assert len(calls) == 1


# --- rate-limit storage: memory without a timer thread per hit -----------------------------------

def test_the_default_rate_limit_storage_is_the_swept_memory_one(app):
    assert app.config["RATELIMIT_STORAGE_URI"] == "crm-memory://"
    assert type(limiter.storage) is SweptMemoryStorage


def test_hits_start_no_thread(client, monkeypatch, pixel_path):
    """limits' MemoryStorage started a 10 ms Timer thread on nearly every hit."""
    started = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self) or real_start(self))
    for _ in range(5):
        assert client.get(pixel_path).status_code == 200
        time.sleep(0.02)  # the old timer would have finished: the next hit started another
    assert started == []


def test_swept_storage_counts_windows_and_forgets_them(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    storage = SweptMemoryStorage("crm-memory://")
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3 and storage.get_expiry("k") == 1060.0
    clock[0] = 1061.0
    assert storage.incr("k", 60) == 1  # a new window
    storage.incr("other", 1)
    clock[0] = 1061.0 + SweptMemoryStorage.SWEEP_SECONDS + 2
    storage.incr("k", 60)  # sweeps: "other"'s window is over
    assert "other" not in storage.storage and "other" not in storage.expirations
    assert storage.decr("k") == 1


# --- the login session is not touched under /t/ ----------------------------------------------

def test_tracking_paths_neither_read_nor_write_the_session_cookie(client, login, rep, pixel_path, monkeypatch,
                                                                 tracked_site):
    login(client, rep)
    serializers = []
    real = SecureCookieSessionInterface.get_signing_serializer
    monkeypatch.setattr(SecureCookieSessionInterface, "get_signing_serializer",
                        lambda self, app: serializers.append(1) or real(self, app))
    for response in (client.get(pixel_path), page_view(client), client.get("/t/snippet.js")):
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")
    assert serializers == []
    assert client.get("/contacts").status_code == 200  # still logged in elsewhere
    assert serializers  # pages outside /t/ read the session as before


def test_cookieless_prefixes_must_be_whole_path_segments():
    from crm.web.access import cookieless_paths

    for bad in ("/t", "t/", ""):
        with pytest.raises(ValueError):
            cookieless_paths(bad)


# --- PostgreSQL: the intake connection ----------------------------------------------------------

@pytest.fixture
def postgres_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the intake engine exists on PostgreSQL only")


def test_a_hit_uses_no_session_connection_on_postgresql(app, client, queued, postgres_only, pixel_path,
                                                        click_paths, tracked_site):
    from crm.tracking.origins import forget_cache

    app.config["TRACKING_ORIGIN_CACHE_SECONDS"] = 60  # the tests' 0 reads the origins every time
    try:
        page_view(client)  # fills the origin cache (in production a session query every 5 s)
        _count_session_checkouts(client, pixel_path, click_paths)
    finally:
        app.config["TRACKING_ORIGIN_CACHE_SECONDS"] = 0
        forget_cache()
    assert inbox_count() == 4  # page views, opens, clicks (not the unknown token)


def _count_session_checkouts(client, pixel_path, click_paths):
    checkouts = []
    listener = lambda *_: checkouts.append(1)  # noqa: E731
    event.listen(db.engine, "checkout", listener)
    try:
        assert client.get(pixel_path).status_code == 200
        assert client.get(click_paths[0]).status_code == 302
        assert page_view(client).status_code == 200
        assert client.get("/t/o/AAAAAAAAAAAAAAAAAAAAAA.gif").status_code == 404
    finally:
        event.remove(db.engine, "checkout", listener)
    assert checkouts == []  # not even pool_pre_ping's SELECT 1


def test_intake_commits_without_waiting_for_the_wal_flush(app, postgres_only):
    from crm.tracking.inbox import intake_engine

    with intake_engine().connect() as conn:
        assert conn.execute(text("SHOW synchronous_commit")).scalar() == "off"
    app.config["TRACKING_ASYNC_COMMIT"] = False
    try:
        with intake_engine().connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
    finally:
        app.config["TRACKING_ASYNC_COMMIT"] = True


def test_a_dead_pooled_intake_connection_is_replaced_and_the_hit_kept(client, queued, postgres_only, pixel_path):
    from crm.tracking.inbox import intake_engine

    assert client.get(pixel_path).status_code == 200  # one connection now waits in the pool
    engine = intake_engine()
    raw = engine.raw_connection()
    pid = raw.driver_connection.info.backend_pid
    raw.close()
    db.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    db.session.commit()
    time.sleep(0.2)  # the backend is gone; the pooled connection does not know yet
    assert client.get(pixel_path).status_code == 200
    assert inbox_count() == 2
    raw = engine.raw_connection()
    assert raw.driver_connection.info.backend_pid != pid
    raw.close()


def test_a_batch_of_page_views_is_queued_in_one_go(client, queued, tracked_site):
    events = [{"type": "page_view", "url": f"{SITE}/p{n}"} for n in range(5)] + [{"type": "nope"}]
    response = client.post("/t/collect", data=json.dumps({"visitor": "w" * 20, "events": events}),
                           content_type="text/plain", headers={"Origin": SITE, "User-Agent": CHROME})
    assert response.status_code == 200 and response.get_json()["accepted"] == 5
    rows = db.session.execute(select(TrackingInbox.kind, TrackingInbox.url, TrackingInbox.visitor,
                                     TrackingInbox.user_agent).order_by(TrackingInbox.id)).all()
    assert rows == [("view", f"{SITE}/p{n}", "w" * 20, CHROME) for n in range(5)]
