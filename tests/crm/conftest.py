"""Fixtures shared by the CRM's feature tests."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server


@pytest.fixture
def server(app):
    """The test app on a loopback port with a thread per request, for races between real
    concurrent requests; the booking limit raised so one address can send a crowd."""
    saved = app.config["MEETING_BOOKING_RATE_LIMIT"]
    app.config["MEETING_BOOKING_RATE_LIMIT"] = "1000 per minute"
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(timeout=10)
        srv.server_close()
        app.config["MEETING_BOOKING_RATE_LIMIT"] = saved
