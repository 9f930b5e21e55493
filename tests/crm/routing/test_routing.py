"""Lead routing (issue 20): a website form's contact gets an owner by the admin's rules, a time
zone from the browser or the company, and the owner is alerted at once."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.alerts.models import Alert
from crm.contacts.models import Contact
from crm.extensions import db
from crm.routing import services
from tests.conftest import NOW, csrf_from
from tests.crm.tracking.conftest import SITE
from tests.crm.tracking.test_website import beacon


@pytest.fixture
def site(admin):
    from crm.tracking.origins import add_origin

    add_origin(admin, SITE, NOW)
    db.session.commit()
    return SITE


def _form(client, email, **fields):
    response = beacon(client, "/t/form", {"url": SITE + "/contact", "fields": {"email": email, **fields}})
    assert response.status_code in (200, 201), response.get_json()
    return db.session.scalar(select(Contact).where(Contact.email == email))


def test_territories_then_round_robin_and_the_owner_is_alerted(client, site, admin, alice, bob, charlie):
    services.add_rule(admin, {"kind": "country", "match": "de, at", "rep_ids": [alice.id]}, NOW)
    services.add_rule(admin, {"kind": "time_zone", "match": "America/", "rep_ids": [charlie.id]}, NOW)
    services.add_rule(admin, {"kind": "round_robin", "rep_ids": [bob.id, charlie.id]}, NOW)
    db.session.commit()

    german = _form(client, "hans@werk.de", first_name="Hans")
    assert german.owner_id == alice.id
    assert db.session.scalar(select(Alert).where(Alert.user_id == alice.id, Alert.contact_id == german.id)) is not None

    mexican = _form(client, "ana@planta.com", time_zone="America/Mexico_City")
    assert (mexican.owner_id, mexican.time_zone) == (charlie.id, "America/Mexico_City")

    first, second, third = (_form(client, f"p{n}@example.com", country="FR") for n in range(3))
    assert [first.owner_id, second.owner_id, third.owner_id] == [bob.id, charlie.id, bob.id]


def test_the_company_owner_wins_and_the_company_time_zone_fills_in(client, site, admin, alice, bob,
                                                                    make_company):
    make_company(name="Buyer Corp", domain="buyer.example", owner_id=bob.id, time_zone="Europe/Madrid")
    services.add_rule(admin, {"kind": "company_owner"}, NOW)
    services.add_rule(admin, {"kind": "round_robin", "rep_ids": [alice.id]}, NOW)
    db.session.commit()
    contact = _form(client, "eva@buyer.example", time_zone="Not/AZone")
    assert (contact.owner_id, contact.time_zone) == (bob.id, "Europe/Madrid")


def test_no_rule_leaves_the_lead_unowned_and_an_owner_is_kept(client, site, alice, make_contact, admin):
    assert _form(client, "nobody@example.com").owner_id is None
    services.add_rule(admin, {"kind": "round_robin", "rep_ids": [alice.id]}, NOW)
    db.session.commit()
    kept = make_contact(email="kept@example.com", owner_id=admin.id)
    assert _form(client, "kept@example.com").owner_id == kept.owner_id == admin.id


@pytest.mark.parametrize("data, field", [
    ({"kind": "teleport"}, "kind"),
    ({"kind": "country", "match": "Germany", "rep_ids": []}, "match"),
    ({"kind": "time_zone", "match": "Moon", "rep_ids": []}, "match"),
    ({"kind": "round_robin", "rep_ids": []}, "rep_ids"),
    ({"kind": "round_robin", "rep_ids": ["x"]}, "rep_ids"),
])
def test_bad_rules_name_the_field(admin, data, field):
    with pytest.raises(services.ValidationFailed) as caught:
        services.add_rule(admin, data, NOW)
    assert field in caught.value.fields


def test_only_admins_edit_rules_on_the_page(app, client, login, admin, alice, mallory):
    manager = app.test_client()
    login(manager, mallory)
    assert manager.get("/admin/lead-routing").status_code == 403
    login(client, admin)
    page = client.get("/admin/lead-routing").get_data(as_text=True)
    response = client.post("/admin/lead-routing", data={"csrf_token": csrf_from(page), "kind": "round_robin",
                                                        "rep_ids": [str(alice.id)]})
    assert response.status_code == 302
    assert "Round robin" in client.get("/admin/lead-routing").get_data(as_text=True)
    response = client.post("/admin/lead-routing", data={"csrf_token": csrf_from(page), "kind": "country",
                                                        "match": "nowhere"})
    assert response.status_code == 422 and 'id="match-error"' in response.get_data(as_text=True)
