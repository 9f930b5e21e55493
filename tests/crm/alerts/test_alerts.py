"""Alerts: notify() rows, the poll, the page with mark-read, the API."""
from __future__ import annotations

from datetime import timedelta

from crm.alerts.models import Alert
from crm.alerts.services import notify
from crm.extensions import db
from tests.conftest import NOW, csrf_from


def _alerts(user):
    return db.session.query(Alert).filter_by(user_id=user.id).order_by(Alert.id).all()


def test_notify_stores_an_alert_and_ignores_nobody(alice, make_contact):
    contact = make_contact(owner_id=alice.id)
    notify(alice.id, "reply", "Ana Ruiz replied", now=NOW, contact_id=contact.id, url=f"/contacts/{contact.id}")
    notify(None, "reply", "nobody to tell", now=NOW)
    db.session.commit()
    [alert] = _alerts(alice)
    assert (alert.kind, alert.message, alert.contact_id, alert.read_at) == (
        "reply", "Ana Ruiz replied", contact.id, None)
    assert db.session.query(Alert).count() == 1


def test_hot_lead_alerts_for_one_contact_collapse_for_a_while(alice, make_contact):
    contact = make_contact(owner_id=alice.id)
    for minutes in (0, 3, 10):
        notify(alice.id, "hot_lead", "Ana is reading Pricing now: call", now=NOW + timedelta(minutes=minutes),
               contact_id=contact.id)
    notify(alice.id, "hot_lead", "again, later", now=NOW + timedelta(minutes=40), contact_id=contact.id)
    notify(alice.id, "reply", "replies are never collapsed", now=NOW + timedelta(minutes=41), contact_id=contact.id)
    notify(alice.id, "reply", "replies are never collapsed", now=NOW + timedelta(minutes=42), contact_id=contact.id)
    db.session.commit()
    assert [a.message for a in _alerts(alice)] == [
        "Ana is reading Pricing now: call", "again, later", "replies are never collapsed",
        "replies are never collapsed"]


def test_poll_returns_only_my_new_alerts(client, login, alice, bob):
    login(client, alice)
    first = client.get("/alerts/poll").get_json()
    assert first["alerts"] == [] and first["unread"] == 0
    notify(alice.id, "reply", "for alice", now=NOW, url="/contacts/1")
    notify(bob.id, "reply", "for bob", now=NOW)
    notify(alice.id, "hot_lead", "alert with an outside link", now=NOW, url="https://evil.example/")
    db.session.commit()
    data = client.get(f"/alerts/poll?after={first['last_id']}").get_json()
    assert [a["message"] for a in data["alerts"]] == ["for alice", "alert with an outside link"]
    assert data["alerts"][0]["url"] == "/contacts/1"
    assert data["alerts"][1]["url"] is None  # never a link out of the app
    assert data["unread"] == 2
    again = client.get(f"/alerts/poll?after={data['last_id']}").get_json()
    assert again["alerts"] == [] and again["last_id"] == data["last_id"]
    for junk in ("abc", "-1", "99999999999999999999", ""):
        assert client.get(f"/alerts/poll?after={junk}").status_code == 200


def test_poll_needs_a_login(client):
    response = client.get("/alerts/poll")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_page_lists_and_marks_read(client, login, alice, bob):
    notify(alice.id, "reply", "Ana Ruiz replied <script>", now=NOW)
    notify(alice.id, "meeting_booked", "Ben booked a meeting", now=NOW)
    notify(bob.id, "reply", "not alice's", now=NOW)
    db.session.commit()
    login(client, alice)
    html = client.get("/alerts").get_data(as_text=True)
    assert "Ben booked a meeting" in html and "not alice&#39;s" not in html and "not alice's" not in html
    assert "&lt;script&gt;" in html
    first, second = _alerts(alice)
    token = csrf_from(html)
    assert client.post(f"/alerts/{first.id}/read", data={"csrf_token": token}).status_code == 302
    bobs = _alerts(bob)[0]
    assert client.post(f"/alerts/{bobs.id}/read", data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert _alerts(alice)[0].read_at is not None and _alerts(alice)[1].read_at is None
    assert client.get("/alerts/poll").get_json()["unread"] == 1
    client.post("/alerts/read-all", data={"csrf_token": token})
    db.session.expire_all()
    assert all(a.read_at for a in _alerts(alice)) and _alerts(bob)[0].read_at is None


def test_badge_and_script_on_every_page_for_signed_in_users(client, login, alice):
    assert "alerts.js" not in client.get("/login").get_data(as_text=True)
    login(client, alice)
    html = client.get("/alerts").get_data(as_text=True)
    assert 'id="alerts-badge"' in html and "/static/alerts.js" in html and 'data-poll-url="/alerts/poll"' in html


def test_api_lists_alerts_after_an_id(client, api_token, alice):
    notify(alice.id, "reply", "one", now=NOW)
    notify(alice.id, "reply", "two", now=NOW)
    db.session.commit()
    headers = api_token(alice)
    data = client.get("/api/v1/alerts", headers=headers).get_json()
    assert [a["message"] for a in data["items"]] == ["one", "two"]
    after = client.get(f"/api/v1/alerts?after={data['items'][0]['id']}", headers=headers).get_json()
    assert [a["message"] for a in after["items"]] == ["two"]
    assert client.get("/api/v1/alerts?after=-3", headers=headers).status_code == 422


def test_poll_treats_odd_after_values_as_absent(client, login, alice):
    login(client, alice)
    for after in ("²", "١٢", "-1", "1e3", "9" * 40):
        response = client.get(f"/alerts/poll?after={after}")
        assert response.status_code == 200, after
        assert response.get_json()["alerts"] == []
