"""Administration pages: users and teams, product families, pipeline stages, custom fields.
Only admins get in; every change goes through a form with CSRF."""
from __future__ import annotations

from decimal import Decimal

import pytest

from crm.auth.models import User, UserSession
from crm.contacts.models import CustomField
from crm.deals.models import ProductFamily, Stage
from crm.extensions import db
from tests.conftest import PASSWORD, csrf_from


def csrf(client) -> str:
    return csrf_from(client.get("/account").get_data(as_text=True))


@pytest.fixture
def as_admin(client, admin, login):
    login(client, admin)
    return client


ADMIN_PAGES = ["/admin/users", "/admin/users/new", "/admin/families", "/admin/stages", "/admin/custom-fields"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_render_for_admins(as_admin, path):
    assert as_admin.get(path).status_code == 200


@pytest.mark.parametrize("role", ["rep", "manager", "planner"])
def test_admin_pages_are_refused_to_everyone_else(app, make_user, login, role):
    client = app.test_client()
    login(client, make_user(role))
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 403, path
    assert "/admin/users" not in client.get("/account").get_data(as_text=True)  # not in the nav either


# --- users --------------------------------------------------------------------------------

def test_create_a_rep_on_a_managers_team(as_admin, mallory):
    form = as_admin.get("/admin/users/new").get_data(as_text=True)
    response = as_admin.post("/admin/users/new", data={
        "csrf_token": csrf_from(form), "name": "Nina New", "email": "Nina@Acme-Sales.com", "role": "rep",
        "manager_id": str(mallory.id), "time_zone": "Europe/Berlin", "password": PASSWORD,
    })
    assert response.status_code == 302
    user = db.session.query(User).filter_by(email="nina@acme-sales.com").one()
    assert (user.role, user.manager_id, user.time_zone) == ("rep", mallory.id, "Europe/Berlin")
    assert "Nina New" in as_admin.get("/admin/users").get_data(as_text=True)


def test_user_form_explains_each_problem(as_admin, mallory, alice):
    response = as_admin.post("/admin/users/new", data={
        "csrf_token": csrf(as_admin), "name": "X", "email": "alice@acme-sales.com", "role": "planner",
        "manager_id": str(mallory.id), "time_zone": "Mars/Olympus", "password": "short",
    })
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="manager_id-error">only reps have a manager' in html
    response = as_admin.post("/admin/users/new", data={
        "csrf_token": csrf(as_admin), "name": "X", "email": "x@acme-sales.com", "role": "rep",
        "time_zone": "Mars/Olympus", "password": "short",
    })
    html = response.get_data(as_text=True)
    assert 'id="time_zone-error">unknown time zone' in html and 'id="password-error"' in html
    response = as_admin.post("/admin/users/new", data={
        "csrf_token": csrf(as_admin), "name": "X", "email": "ALICE@acme-sales.com", "role": "rep",
        "time_zone": "UTC", "password": PASSWORD,
    })
    assert response.status_code == 409 and 'id="email-error">already taken' in response.get_data(as_text=True)


def test_deactivate_signs_the_user_out_and_reactivate_lets_them_back(app, as_admin, alice, login):
    browser = app.test_client()
    login(browser, alice)
    assert browser.get("/contacts").status_code == 200
    response = as_admin.post(f"/admin/users/{alice.id}/deactivate", data={"csrf_token": csrf(as_admin)})
    assert response.status_code == 302
    assert browser.get("/contacts").status_code == 302  # session is dead
    assert db.session.query(UserSession).filter_by(user_id=alice.id).one().revoked_at is not None
    as_admin.post(f"/admin/users/{alice.id}/reactivate", data={"csrf_token": csrf(as_admin)})
    login(app.test_client(), alice)


def test_an_admin_cannot_deactivate_themselves(as_admin, admin):
    response = as_admin.post(f"/admin/users/{admin.id}/deactivate", data={"csrf_token": csrf(as_admin)},
                             follow_redirects=True)
    assert "cannot deactivate your own account" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).is_active


def test_move_a_rep_to_another_manager(as_admin, alice, make_user):
    other = make_user("manager", name="Otto Manager")
    response = as_admin.post(f"/admin/users/{alice.id}/manager",
                             data={"csrf_token": csrf(as_admin), "manager_id": str(other.id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, alice.id).manager_id == other.id
    response = as_admin.post(f"/admin/users/{alice.id}/manager",
                             data={"csrf_token": csrf(as_admin), "manager_id": str(alice.id)}, follow_redirects=True)
    assert "must be a manager" in response.get_data(as_text=True)


def test_user_changes_need_csrf(as_admin, alice):
    assert as_admin.post(f"/admin/users/{alice.id}/deactivate").status_code == 400
    assert as_admin.post("/admin/users/new", data={"email": "x@example.com"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(User, alice.id).is_active


# --- product families -------------------------------------------------------------------

def test_create_edit_deactivate_and_delete_a_family(as_admin):
    response = as_admin.post("/admin/families", data={
        "csrf_token": csrf(as_admin), "code": "MOTOR", "name": "Motors", "unit": "unit", "lead_time_days": "45"})
    assert response.status_code == 302
    family = db.session.query(ProductFamily).one()
    assert (family.code, family.lead_time_days) == ("MOTOR", 45)
    response = as_admin.post(f"/admin/families/{family.id}/edit", data={
        "csrf_token": csrf(as_admin), "code": "MOTOR", "name": "Electric motors", "unit": "pc", "lead_time_days": "60"})
    assert response.status_code == 302
    as_admin.post(f"/admin/families/{family.id}/active", data={"csrf_token": csrf(as_admin), "active": "0"})
    db.session.expire_all()
    family = db.session.get(ProductFamily, family.id)
    assert (family.name, family.unit, family.lead_time_days, family.is_active) == ("Electric motors", "pc", 60, False)
    as_admin.post(f"/admin/families/{family.id}/delete", data={"csrf_token": csrf(as_admin)})
    assert db.session.query(ProductFamily).count() == 0


def test_family_errors_and_a_used_family_cannot_be_deleted(as_admin, families, make_deal):
    response = as_admin.post("/admin/families", data={
        "csrf_token": csrf(as_admin), "code": "PUMP", "name": "", "lead_time_days": "-1"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="name-error">required' in html and 'id="lead_time_days-error">whole days between 0 and 3650' in html
    make_deal()  # a PUMP line
    pump = families[0]
    response = as_admin.post(f"/admin/families/{pump.id}/delete", data={"csrf_token": csrf(as_admin)},
                             follow_redirects=True)
    assert "deactivate it instead" in response.get_data(as_text=True)
    assert db.session.get(ProductFamily, pump.id) is not None


# --- pipeline stages ----------------------------------------------------------------------

def test_create_and_edit_a_stage_in_percent(as_admin):
    response = as_admin.post("/admin/stages",
                             data={"csrf_token": csrf(as_admin), "name": "Discovery", "probability": "20"})
    assert response.status_code == 302
    stage = db.session.query(Stage).one()
    assert stage.probability == Decimal("0.200")
    form = as_admin.get(f"/admin/stages/{stage.id}/edit").get_data(as_text=True)
    assert 'value="20"' in form
    as_admin.post(f"/admin/stages/{stage.id}/edit", data={"csrf_token": csrf_from(form), "name": "Discovery call",
                                                         "probability": "15", "position": "3"})
    db.session.expire_all()
    stage = db.session.get(Stage, stage.id)
    assert (stage.name, stage.probability, stage.position) == ("Discovery call", Decimal("0.150"), 3)


def test_stage_errors_speak_in_percent(as_admin, stages):
    response = as_admin.post("/admin/stages",
                             data={"csrf_token": csrf(as_admin), "name": "Too sure", "probability": "150"})
    assert response.status_code == 422
    assert 'id="probability-error">a percentage between 0 and 100' in response.get_data(as_text=True)
    response = as_admin.post("/admin/stages",
                             data={"csrf_token": csrf(as_admin), "name": "Qualified", "probability": "30"})
    assert response.status_code == 409 and 'id="name-error">already taken' in response.get_data(as_text=True)


def test_a_stage_holding_open_deals_stays_active(as_admin, stages, make_deal):
    make_deal(stage_id=stages[1].id)
    response = as_admin.post(f"/admin/stages/{stages[1].id}/active", data={"csrf_token": csrf(as_admin), "active": "0"},
                             follow_redirects=True)
    assert "1 open deal is in this stage; move it first" in response.get_data(as_text=True)
    as_admin.post(f"/admin/stages/{stages[2].id}/active", data={"csrf_token": csrf(as_admin), "active": "0"})
    db.session.expire_all()
    assert db.session.get(Stage, stages[1].id).is_active and not db.session.get(Stage, stages[2].id).is_active
    board = as_admin.get("/deals/board").get_data(as_text=True)
    assert f'id="stage-{stages[1].id}"' in board and f'id="stage-{stages[2].id}"' not in board


# --- custom fields ------------------------------------------------------------------------

def test_define_a_choice_field_and_see_it_on_the_contact_form(app, as_admin, alice, login):
    response = as_admin.post("/admin/custom-fields", data={
        "csrf_token": csrf(as_admin), "entity": "contact", "label": "Buying role", "key": "buying_role",
        "field_type": "choice", "choices": "Decision maker\nInfluencer\n\n"})
    assert response.status_code == 302
    field = db.session.query(CustomField).one()
    assert field.choices == ["Decision maker", "Influencer"]
    rep = app.test_client()
    login(rep, alice)
    form = rep.get("/contacts/new").get_data(as_text=True)
    assert "Buying role" in form and "Influencer" in form
    assert 'name="cf_buying_role"' in rep.get("/contacts").get_data(as_text=True)  # and as a list filter
    as_admin.post(f"/admin/custom-fields/{field.id}/delete", data={"csrf_token": csrf(as_admin)})
    assert db.session.query(CustomField).count() == 0


def test_custom_field_errors_are_shown(as_admin):
    response = as_admin.post("/admin/custom-fields", data={
        "csrf_token": csrf(as_admin), "entity": "contact", "label": "", "key": "Bad Key", "field_type": "choice",
        "choices": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="key-error">lower-case letters' in html
    assert 'id="label-error">required' in html
    assert 'id="choices-error">a choice field needs at least one choice' in html
