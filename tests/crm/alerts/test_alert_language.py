"""Alerts are stored as data (an N_-marked message and its values) and read in the language of
whoever looks at them: the page, the poll and the API (issue #17). An alert stored as plain
text (before) is shown as it was stored."""
from __future__ import annotations

from crm.alerts.models import Alert
from crm.alerts.services import notify
from crm.extensions import db
from crm.i18n import N_
from tests.conftest import NOW


def _alert(user_id: int) -> None:
    notify(user_id, "review_comment", N_("%(name)s commented on your call"), params={"name": "Mallory Manager"},
           now=NOW, url="/recordings/1")


def test_an_alert_reads_in_each_readers_language(app, client, login, api_token, alice, bob):
    bob.language = "es"
    db.session.commit()
    _alert(alice.id)
    _alert(bob.id)
    db.session.add(Alert(user_id=bob.id, kind="reply", message="Old text, stored as it was", created_at=NOW))
    db.session.commit()
    stored = db.session.query(Alert).filter_by(user_id=bob.id, kind="review_comment").one()
    assert stored.message == "Mallory Manager commented on your call"  # the English reading, kept too
    login(client, bob)
    page = client.get("/alerts").get_data(as_text=True)
    assert "Mallory Manager comentó tu llamada" in page and "commented on your call" not in page
    assert "Old text, stored as it was" in page
    polled = client.get("/alerts/poll?after=0").get_json()
    assert [a["message"] for a in polled["alerts"]] == [
        "Mallory Manager comentó tu llamada", "Old text, stored as it was"]
    api = client.get("/api/v1/alerts", headers=api_token(bob)).get_json()
    assert [a["message"] for a in api["items"]] == ["Mallory Manager comentó tu llamada", "Old text, stored as it was"]
    english = app.test_client()
    login(english, alice)
    assert "Mallory Manager commented on your call" in english.get("/alerts").get_data(as_text=True)
