"""An admin edits an existing user's name, role, manager and time zone (issue 20)."""
from __future__ import annotations

from crm.extensions import db
from tests.conftest import csrf_from


def _post(client, user_id, **data):
    token = csrf_from(client.get(f"/admin/users/{user_id}/edit").get_data(as_text=True))
    return client.post(f"/admin/users/{user_id}/edit", data={"csrf_token": token, **data})


def test_an_admin_edits_a_reps_name_manager_and_time_zone(client, login, admin, alice, make_user):
    other = make_user("manager", name="Otto Manager")
    login(client, admin)
    page = client.get(f"/admin/users/{alice.id}/edit").get_data(as_text=True)
    assert 'value="Alice Rep"' in page and "America/New_York" in page
    assert f'href="/admin/users/{alice.id}/edit"' in client.get("/admin/users").get_data(as_text=True)
    response = _post(client, alice.id, name="Alice Ruiz", role="rep", manager_id=str(other.id),
                     time_zone="America/Mexico_City")
    assert response.status_code == 302
    db.session.refresh(alice)
    assert (alice.name, alice.role, alice.manager_id, alice.time_zone) == (
        "Alice Ruiz", "rep", other.id, "America/Mexico_City")


def test_a_rep_promoted_to_manager_leaves_their_team(client, login, admin, alice):
    login(client, admin)
    assert _post(client, alice.id, name="Alice Rep", role="manager", manager_id="", time_zone="UTC").status_code == 302
    db.session.refresh(alice)
    assert (alice.role, alice.manager_id) == ("manager", None)


def test_bad_fields_are_named(client, login, admin, alice, mallory):
    login(client, admin)
    response = _post(client, alice.id, name="", role="wizard", manager_id=str(alice.id), time_zone="Mars/Olympus")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("name", "role", "time_zone"):
        assert f'id="{field}-error"' in html, field
    db.session.refresh(alice)
    assert (alice.name, alice.role, alice.manager_id) == ("Alice Rep", "rep", mallory.id)


def test_a_manager_with_a_team_keeps_the_role_and_admins_keep_theirs(client, login, admin, alice, mallory):
    login(client, admin)
    response = _post(client, mallory.id, name=mallory.name, role="rep", manager_id="", time_zone="UTC")
    assert response.status_code == 409 and "move this manager" in response.get_data(as_text=True)
    response = _post(client, admin.id, name=admin.name, role="rep", manager_id="", time_zone="UTC")
    assert response.status_code == 409
    db.session.refresh(mallory)
    db.session.refresh(admin)
    assert (mallory.role, admin.role) == ("manager", "admin")


def test_only_admins_edit_users(client, login, mallory, alice):
    login(client, mallory)
    assert client.get(f"/admin/users/{alice.id}/edit").status_code == 403
    login_admin_missing = client.get("/admin/users/999999/edit").status_code
    assert login_admin_missing == 403


def test_a_missing_user_is_404(client, login, admin):
    login(client, admin)
    assert client.get("/admin/users/999999/edit").status_code == 404
